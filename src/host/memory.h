/* memory.h - how much memory the host can give a guest: MemAvailable, capped by the memory
 * cgroup kestrel runs in. */
#ifndef KESTREL_HOST_MEMORY_H
#define KESTREL_HOST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct host_mem {
	uint64_t avail;	    /* bytes a guest may count on; UINT64_MAX when nothing could be read */
	uint64_t total;	    /* MemTotal (0: unknown) */
	const char *source; /* what bounds avail, for messages: "MemAvailable in /proc/meminfo",
			     * "the memory cgroup's limit" */
};

/*
 * host_meminfo_field - the value of `key` ("MemAvailable") in /proc/meminfo
 * text ("MemAvailable:   123456 kB" lines), in bytes. Pure. 0, -ENOENT (no
 * such line) or -EINVAL (a line that does not parse, or overflows).
 */
int host_meminfo_field(const char *text, const char *key, uint64_t *bytes);

/*
 * host_cgroup_memory_path - the cgroup path of the memory controller in
 * /proc/self/cgroup text: the v1 line whose controllers include "memory"
 * ("4:memory:/a/b", "7:cpu,memory:/x"), else the v2 line ("0::/a/b"), with
 * *v2 saying which. Pure. 0, or -ENOENT when there is none.
 */
int host_cgroup_memory_path(const char *text, bool *v2, char *path, size_t len);

/*
 * host_cgroup_room - what a cgroup's files leave: limit - (usage -
 * inactive_file), the page cache it can drop counted as free, 0 when
 * usage is above the limit. Pure. UINT64_MAX for no limit ("max", or v1's
 * huge page-aligned "unlimited").
 */
uint64_t host_cgroup_room(uint64_t limit, uint64_t usage, uint64_t inactive_file);

/*
 * host_read_text - a small file (a /proc or cgroup file) read whole and
 * NUL-terminated into *text: buf (len >= 1 bytes) when the file is shorter
 * than len - 1, else memory from malloc grown as it reads (-EFBIG past
 * 1 MiB). 0 or -errno (*text NULL). Give *text back with
 * host_text_free(*text, buf).
 */
int host_read_text(const char *path, char *buf, size_t len, char **text);
void host_text_free(char *text, const char *buf);

/* The stack buffer for host_read_text here: /proc/meminfo is ~1.5 KB, a
 * memory.stat ~1-2 KB, /proc/self/cgroup ~0.2 KB; a longer one goes to the
 * heap. Small on purpose: each stack page first touched is a page fault. */
#define HOST_TEXT_SMALL 2048

/* host_mem_read - *m for this process now: MemAvailable, capped by the
 * memory cgroup's room (v2: every ancestor's memory.max; v1: its
 * hierarchical_memory_limit), or MemTotal / sysinfo when that is all there is. */
void host_mem_read(struct host_mem *m);

/*
 * host_mem_read_for - the same for a caller that only asks whether `want`
 * bytes fit. When sysinfo's free RAM less a sixteenth of all RAM holds them,
 * /proc/meminfo is not read (its ~10-25 us are a tenth of what kestrel adds
 * to a cold start beyond KVM's own work): MemAvailable is at least free RAM
 * less the kernel's reserves (watermarks, a few percent at most), so the
 * answer would be "fits" anyway; avail is then that lower bound and source
 * says so. The memory cgroup is read either way; any other `want` (and
 * sysinfo failing) gives exactly host_mem_read's answer.
 */
void host_mem_read_for(struct host_mem *m, uint64_t want);

#endif
