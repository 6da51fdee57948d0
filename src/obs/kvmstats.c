/* kvmstats.c - parse and read KVM's binary stats file descriptors (see kvmstats.h). */
#include "obs/kvmstats.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* a + b <= limit, without overflow. */
static int kvmstats_fits(uint64_t a, uint64_t b, uint64_t limit)
{
	uint64_t end;

	return !__builtin_add_overflow(a, b, &end) && end <= limit;
}

int kvmstats_parse(const void *buf, size_t len, struct kvmstats *out)
{
	const uint8_t *b = buf;
	struct kvm_stats_header h;
	uint64_t desc_sz, data_end = 0;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, b, sizeof(h));
	if (h.num_desc > KVMSTATS_MAX_DESC || h.name_size == 0 || h.name_size > 1024)
		return -EINVAL;
	desc_sz = sizeof(struct kvm_stats_desc) + (uint64_t)h.name_size;
	if (!kvmstats_fits(h.id_offset, h.name_size, len) ||
	    !kvmstats_fits(h.desc_offset, desc_sz * h.num_desc, len) || h.data_offset > len)
		return -EINVAL;
	/* The id is a NUL-terminated string inside its name_size bytes. */
	if (!memchr(b + h.id_offset, '\0', h.name_size))
		return -EINVAL;
	snprintf(out->id, sizeof(out->id), "%s", (const char *)(b + h.id_offset));

	/* First pass: check every descriptor and find the end of the data. */
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc d;
		const uint8_t *p = b + h.desc_offset + desc_sz * i;
		uint64_t end;

		memcpy(&d, p, sizeof(d));
		if (!memchr(p + sizeof(d), '\0', h.name_size) || d.size == 0)
			return -EINVAL;
		end = (uint64_t)d.offset + (uint64_t)d.size * 8;
		if (!kvmstats_fits(h.data_offset, end, len))
			return -EINVAL;
		if (end > data_end)
			data_end = end;
	}
	out->stat = calloc(h.num_desc ? h.num_desc : 1, sizeof(*out->stat));
	out->data = malloc(data_end ? data_end : 8);
	if (!out->stat || !out->data) {
		kvmstats_free(out);
		return -ENOMEM;
	}
	memcpy(out->data, b + h.data_offset, data_end);
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc d;
		const uint8_t *p = b + h.desc_offset + desc_sz * i;
		struct kvmstat *s = &out->stat[i];

		memcpy(&d, p, sizeof(d));
		snprintf(s->name, sizeof(s->name), "%s", (const char *)(p + sizeof(d)));
		s->flags = d.flags;
		s->exponent = d.exponent;
		s->size = d.size;
		s->bucket_size = d.bucket_size;
		/* Offsets are multiples of 8 in practice; the copy makes that safe
		 * to rely on only if it holds, so check it. */
		if (d.offset % 8) {
			kvmstats_free(out);
			return -EINVAL;
		}
		s->values = out->data + d.offset / 8;
	}
	out->n = h.num_desc;
	return 0;
}

int kvmstats_read_fd(int fd, struct kvmstats *out)
{
	size_t cap = 16384, len = 0;
	uint8_t *buf = malloc(cap);
	int r;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		if (len == cap) {
			uint8_t *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = kvmstats_parse(buf, len, out);
	free(buf);
	return r;
}

int kvmstats_read(int kvm_obj_fd, struct kvmstats *out)
{
	int fd = ioctl(kvm_obj_fd, KVM_GET_STATS_FD, 0);
	int r;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -errno;
	r = kvmstats_read_fd(fd, out);
	close(fd);
	return r;
}

void kvmstats_free(struct kvmstats *s)
{
	free(s->stat);
	free(s->data);
	s->stat = NULL;
	s->data = NULL;
	s->n = 0;
}

uint64_t kvmstats_get(const struct kvmstats *s, const char *name, int *found)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->stat[i].name, name)) {
			if (found)
				*found = 1;
			return s->stat[i].values[0];
		}
	if (found)
		*found = 0;
	return 0;
}

const char *kvmstats_type_name(uint32_t flags)
{
	switch (flags & KVM_STATS_TYPE_MASK) {
	case KVM_STATS_TYPE_CUMULATIVE:
		return "cumulative";
	case KVM_STATS_TYPE_INSTANT:
		return "instant";
	case KVM_STATS_TYPE_PEAK:
		return "peak";
	case KVM_STATS_TYPE_LINEAR_HIST:
		return "linear_hist";
	case KVM_STATS_TYPE_LOG_HIST:
		return "log_hist";
	default:
		return "unknown";
	}
}
