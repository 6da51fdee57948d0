/* test_kvmstats.c - KVM binary-stats parser tests: a synthetic stats file, ways to break it. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obs/kvmstats.h"
#include "tap.h"

#define NAME_SIZE 48
#define DESC_SIZE (sizeof(struct kvm_stats_desc) + NAME_SIZE)

/* A stats file as KVM lays it out: header, id, 3 descriptors, data. */
struct fake {
	uint8_t buf[1024];
	size_t len;
	struct kvm_stats_header h;
};

static void put_desc(struct fake *f, unsigned i, const char *name, uint32_t flags, int16_t exp,
		     uint16_t size, uint32_t offset)
{
	struct kvm_stats_desc d = {.flags = flags, .exponent = exp, .size = size, .offset = offset};
	uint8_t *p = f->buf + f->h.desc_offset + DESC_SIZE * i;

	memcpy(p, &d, sizeof(d));
	strncpy((char *)p + sizeof(d), name, NAME_SIZE);
}

static void make_fake(struct fake *f)
{
	uint64_t data[6] = {1234, 0, 10, 20, 30, 40};

	memset(f, 0, sizeof(*f));
	f->h = (struct kvm_stats_header){
	    .name_size = NAME_SIZE,
	    .num_desc = 3,
	    .id_offset = sizeof(struct kvm_stats_header),
	};
	f->h.desc_offset = f->h.id_offset + NAME_SIZE;
	f->h.data_offset = f->h.desc_offset + 3 * DESC_SIZE;
	memcpy(f->buf, &f->h, sizeof(f->h));
	strcpy((char *)f->buf + f->h.id_offset, "kvm-42/vcpu-0");
	put_desc(f, 0, "exits", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 0);
	put_desc(f, 1, "halt_wait_ns", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS, -9, 1,
		 8);
	put_desc(f, 2, "halt_wait_hist", KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS, -9, 4,
		 16);
	memcpy(f->buf + f->h.data_offset, data, sizeof(data));
	f->len = f->h.data_offset + sizeof(data);
}

static void rewrite_header(struct fake *f)
{
	memcpy(f->buf, &f->h, sizeof(f->h));
}

static void test_good(void)
{
	struct fake f;
	struct kvmstats s;
	int found;

	make_fake(&f);
	if (!TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), 0, "a well-formed stats file parses"))
		return;
	TAP_EQ_STR(s.id, "kvm-42/vcpu-0", "id string");
	TAP_EQ_INT(s.n, 3, "3 stats");
	TAP_EQ_STR(s.stat[0].name, "exits", "first name");
	TAP_EQ_U64(kvmstats_get(&s, "exits", &found), 1234, "exits = 1234");
	TAP_OK(found, "exits found");
	TAP_EQ_U64(kvmstats_get(&s, "halt_wait_ns", NULL), 0, "halt_wait_ns = 0");
	TAP_EQ_INT(s.stat[1].exponent, -9, "ns exponent");
	TAP_EQ_INT(s.stat[2].size, 4, "histogram has 4 buckets");
	TAP_EQ_U64(s.stat[2].values[3], 40, "last bucket value");
	TAP_EQ_STR(kvmstats_type_name(s.stat[2].flags), "log_hist", "histogram type");
	TAP_EQ_U64(kvmstats_get(&s, "nonexistent", &found), 0, "a missing stat reads 0");
	TAP_OK(!found, "and is reported missing");
	kvmstats_free(&s);
	TAP_OK(s.stat == NULL && s.n == 0, "free empties the struct");
}

static void test_bad(void)
{
	struct fake f;
	struct kvmstats s;
	unsigned bad = 0;

	make_fake(&f);
	/* Every truncation fails cleanly (run under ASan to catch overreads). */
	for (size_t l = 0; l < f.len; l++) {
		uint8_t *copy = malloc(l ? l : 1);
		memcpy(copy, f.buf, l);
		if (kvmstats_parse(copy, l, &s) != -EINVAL)
			bad++;
		free(copy);
	}
	TAP_EQ_INT(bad, 0, "all %zu truncations are -EINVAL", f.len);

	make_fake(&f);
	f.h.num_desc = KVMSTATS_MAX_DESC + 1;
	rewrite_header(&f);
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "absurd num_desc refused");

	make_fake(&f);
	f.h.name_size = 0;
	rewrite_header(&f);
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "name_size 0 refused");

	make_fake(&f);
	f.h.desc_offset = 0xfffffff0u;
	rewrite_header(&f);
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "descriptors past the end refused");

	make_fake(&f);
	f.h.data_offset = (uint32_t)f.len + 8;
	rewrite_header(&f);
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "data block past the end refused");

	make_fake(&f);
	put_desc(&f, 2, "halt_wait_hist", KVM_STATS_TYPE_LOG_HIST, 0, 5,
		 16); /* one bucket too many */
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "values past the data end refused");

	make_fake(&f);
	put_desc(&f, 1, "halt_wait_ns", 0, 0, 1, 4);
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "misaligned value offset refused");

	make_fake(&f);
	put_desc(&f, 0, "exits", 0, 0, 0, 0);
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "a stat with no values refused");

	make_fake(&f);
	memset(f.buf + f.h.desc_offset + sizeof(struct kvm_stats_desc), 'x', NAME_SIZE);
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "an unterminated name refused");

	make_fake(&f);
	memset(f.buf + f.h.id_offset, 'x', NAME_SIZE);
	TAP_EQ_INT(kvmstats_parse(f.buf, f.len, &s), -EINVAL, "an unterminated id refused");
}

int main(void)
{
	test_good();
	test_bad();
	return tap_done();
}
