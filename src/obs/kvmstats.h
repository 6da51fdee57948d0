/* kvmstats.h - KVM's binary statistics (KVM_GET_STATS_FD): a checked parser and a reader. */
#ifndef KESTREL_KVMSTATS_H
#define KESTREL_KVMSTATS_H

/*
 * A stats fd (per VM or per vCPU, Linux 5.14+, KVM_CAP_BINARY_STATS_FD) reads
 * as one file: struct kvm_stats_header, an id string, num_desc descriptors
 * (struct kvm_stats_desc + name_size bytes of name each), then the data block
 * of u64s that each descriptor points into. The kernel is trusted here, but
 * every offset is still checked: a truncated or odd file is -EINVAL, never a
 * read out of bounds.
 */

#include <stddef.h>
#include <stdint.h>

#define KVMSTATS_NAME_MAX 64   /* longer names are cut (KVM's are < 48) */
#define KVMSTATS_MAX_DESC 4096 /* sanity bound on num_desc */

struct kvmstat {
	char name[KVMSTATS_NAME_MAX];
	uint32_t flags;		/* KVM_STATS_TYPE_* | KVM_STATS_UNIT_* | KVM_STATS_BASE_* */
	int16_t exponent;	/* value * base^exponent is in the unit (ns: -9) */
	uint16_t size;		/* u64 values: 1 for counters, the bucket count for histograms */
	uint32_t bucket_size;	/* linear histograms */
	const uint64_t *values; /* size of them, into struct kvmstats' copy of the data */
};

struct kvmstats {
	char id[KVMSTATS_NAME_MAX]; /* "kvm-1234" or "kvm-1234/vcpu-0" */
	unsigned n;
	struct kvmstat *stat; /* n of them */
	uint64_t *data;	      /* the data block */
};

/* kvmstats_parse - the contents of a stats fd, buf[0..len), into *out
 * (allocated; kvmstats_free() it). Returns 0, -EINVAL, -ENOMEM. */
int kvmstats_parse(const void *buf, size_t len, struct kvmstats *out);

/* kvmstats_read_fd - read a stats fd from offset 0 to its end and parse it. */
int kvmstats_read_fd(int fd, struct kvmstats *out);

/* kvmstats_read - KVM_GET_STATS_FD on a VM or vCPU fd, read, close. -ENOTTY
 * (or the ioctl's errno) when this KVM has no binary stats. */
int kvmstats_read(int kvm_obj_fd, struct kvmstats *out);

void kvmstats_free(struct kvmstats *s);

/* kvmstats_get - the first value of stat `name`; *found false (and 0) if absent. */
uint64_t kvmstats_get(const struct kvmstats *s, const char *name, int *found);

/* kvmstats_type_name - "cumulative", "instant", "peak", "linear_hist", "log_hist". */
const char *kvmstats_type_name(uint32_t flags);

#endif
