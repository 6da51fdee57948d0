/* memory.c - how much memory the host can give a guest (the check behind mem_overcommit). */
#include "host/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

/* v1 writes "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages). */
#define HOST_NO_LIMIT (1ull << 62)

int host_meminfo_field(const char *text, const char *key, uint64_t *bytes)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l + kl;
		uint64_t v = 0;
		bool digits = false;

		/* "Key:" (meminfo) or "key " (a cgroup's memory.stat). */
		if (strncmp(l, key, kl) != 0 || (*p != ':' && *p != ' '))
			continue;
		if (*p == ':')
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		for (; *p >= '0' && *p <= '9'; p++, digits = true)
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
				return -EINVAL;
		if (!digits)
			return -EINVAL;
		if (!strncmp(p, " kB", 3) && __builtin_mul_overflow(v, 1024, &v))
			return -EINVAL;
		*bytes = v;
		return 0;
	}
	return -ENOENT;
}

int host_cgroup_memory_path(const char *text, bool *v2, char *path, size_t len)
{
	const char *v2_path = NULL;
	size_t v2_len = 0;

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *c = strchr(l, ':'), *e = strchr(l, '\n'), *p;
		size_t pl;

		if (!e)
			e = l + strlen(l);
		if (!c || c >= e || !(p = memchr(c + 1, ':', (size_t)(e - c - 1))))
			continue;
		p++;
		pl = (size_t)(e - p);
		if (c - l == 1 && l[0] == '0' && p - c == 2) { /* "0::PATH" */
			v2_path = p;
			v2_len = pl;
			continue;
		}
		/* "N:a,memory,b:PATH": look for "memory" as one of the list's items. */
		for (const char *k = c + 1; k < p - 1;) {
			const char *ke = memchr(k, ',', (size_t)(p - 1 - k));
			if (!ke)
				ke = p - 1;
			if (ke - k == 6 && !strncmp(k, "memory", 6)) {
				if (pl >= len)
					return -ENOENT;
				memcpy(path, p, pl);
				path[pl] = '\0';
				*v2 = false;
				return 0;
			}
			k = ke + 1;
		}
	}
	if (!v2_path || v2_len >= len)
		return -ENOENT;
	memcpy(path, v2_path, v2_len);
	path[v2_len] = '\0';
	*v2 = true;
	return 0;
}

uint64_t host_cgroup_room(uint64_t limit, uint64_t usage, uint64_t inactive_file)
{
	uint64_t used = usage > inactive_file ? usage - inactive_file : 0;

	if (limit >= HOST_NO_LIMIT)
		return UINT64_MAX;
	return limit > used ? limit - used : 0;
}

/* A file longer than this is not one of ours (a few KB at most). */
#define HOST_READ_MAX (1u << 20)

/* The memory cgroup's path (longer: none found), its directory under
 * /sys/fs/cgroup/memory (or /sys/fs/cgroup), a file in it (the longest
 * name is "/memory.usage_in_bytes"). No bigger: each stack page first
 * touched is a page fault. */
#define HOST_CGROUP_REL 2048
#define HOST_CGROUP_DIR (sizeof("/sys/fs/cgroup/memory") + HOST_CGROUP_REL)
#define HOST_CGROUP_FILE (HOST_CGROUP_DIR + sizeof("/memory.usage_in_bytes"))

int host_read_text(const char *path, char *buf, size_t len, char **text)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	char *t = buf;
	size_t got = 0, cap = len;

	*text = NULL;
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (got + 1 == cap) { /* full: on to the heap, twice the room */
			char *big = NULL;
			if (cap < HOST_READ_MAX)
				big = t == buf ? malloc(cap * 2) : realloc(t, cap * 2);
			if (!big) {
				r = cap < HOST_READ_MAX ? -ENOMEM : -EFBIG;
				break;
			}
			if (t == buf)
				memcpy(big, buf, got);
			t = big;
			cap *= 2;
		}
		n = read(fd, t + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -EIO;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		host_text_free(t, buf);
		return r;
	}
	t[got] = '\0';
	*text = t;
	return 0;
}

void host_text_free(char *text, const char *buf)
{
	if (text != buf)
		free(text);
}

/* A file holding one number ("max" for v2's no limit: UINT64_MAX). */
static int host_read_number(const char *dir, const char *name, uint64_t *v)
{
	char path[HOST_CGROUP_FILE], buf[64], *t;
	unsigned long long x;
	char *end;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (host_read_text(path, buf, sizeof(buf), &t) < 0)
		return -ENOENT;
	if (!strncmp(t, "max", 3)) {
		*v = UINT64_MAX;
	} else {
		errno = 0;
		x = strtoull(t, &end, 10);
		if (errno || end == t)
			r = -EINVAL;
		else
			*v = x;
	}
	host_text_free(t, buf);
	return r;
}

/* inactive_file (v2) or total_inactive_file (v1) from dir's memory.stat; 0 if absent.
 * Not inlined, nor host_cgroup_avail: their buffers stay out of the callers'
 * stack frames (v1 never calls this one), which then span fewer pages. */
__attribute__((noinline)) static uint64_t host_inactive_file(const char *dir, const char *key)
{
	char path[HOST_CGROUP_FILE], buf[HOST_TEXT_SMALL], *t;
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	if (host_read_text(path, buf, sizeof(buf), &t) < 0)
		return 0;
	if (host_meminfo_field(t, key, &v) < 0)
		v = 0;
	host_text_free(t, buf);
	return v;
}

/* The room the memory cgroup leaves (UINT64_MAX: no limit found). */
__attribute__((noinline)) static uint64_t host_cgroup_avail(void)
{
	char buf[HOST_TEXT_SMALL], rel[HOST_CGROUP_REL], dir[HOST_CGROUP_DIR], *t;
	uint64_t room = UINT64_MAX, limit, usage;
	bool v2;
	int e;

	if (host_read_text("/proc/self/cgroup", buf, sizeof(buf), &t) < 0)
		return UINT64_MAX;
	e = host_cgroup_memory_path(t, &v2, rel, sizeof(rel));
	host_text_free(t, buf);
	if (e < 0)
		return UINT64_MAX;
	if (!v2) {
		/* Inside a cgroup namespace the mount's root is kestrel's own cgroup. */
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory%s", rel);
		if (access(dir, F_OK) != 0)
			snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory");
		char path[HOST_CGROUP_FILE];
		uint64_t inactive = 0;
		snprintf(path, sizeof(path), "%s/memory.stat", dir);
		if (host_read_text(path, buf, sizeof(buf), &t) < 0)
			return UINT64_MAX;
		/* The same memory.stat gives the reclaimable page cache: one read
		 * (each costs ~15-45 us here; it was read twice). */
		e = host_meminfo_field(t, "hierarchical_memory_limit", &limit);
		if (e == 0 && host_meminfo_field(t, "total_inactive_file", &inactive) < 0)
			inactive = 0;
		host_text_free(t, buf);
		if (e < 0 || host_read_number(dir, "memory.usage_in_bytes", &usage) < 0)
			return UINT64_MAX;
		return host_cgroup_room(limit, usage, inactive);
	}
	/* v2: a limit on any ancestor binds too; walk up to the mount. */
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", strcmp(rel, "/") ? rel : "");
	if (access(dir, F_OK) != 0)
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup");
	for (;;) {
		if (host_read_number(dir, "memory.max", &limit) == 0 &&
		    host_read_number(dir, "memory.current", &usage) == 0) {
			uint64_t r = host_cgroup_room(limit, usage,
						      host_inactive_file(dir, "inactive_file"));
			if (r < room)
				room = r;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || strcmp(dir, "/sys/fs/cgroup") == 0)
			break;
		*slash = '\0';
	}
	return room;
}

static void host_mem_cap_cgroup(struct host_mem *m)
{
	uint64_t cg = host_cgroup_avail();

	if (cg < m->avail) {
		m->avail = cg;
		m->source = "the memory cgroup's limit";
	}
}

void host_mem_read_for(struct host_mem *m, uint64_t want)
{
	struct sysinfo si;

	if (sysinfo(&si) == 0 && si.mem_unit) {
		uint64_t unit = si.mem_unit, total = (uint64_t)si.totalram * unit;
		uint64_t free_ = (uint64_t)si.freeram * unit, margin = total / 16;
		if (free_ > margin && want <= free_ - margin) {
			*m = (struct host_mem){
			    .avail = free_ - margin,
			    .total = total,
			    .source = "free RAM from sysinfo less 1/16 of RAM, a lower "
				      "bound; MemAvailable not read"};
			host_mem_cap_cgroup(m);
			return;
		}
	}
	host_mem_read(m);
}

void host_mem_read(struct host_mem *m)
{
	char buf[HOST_TEXT_SMALL], *t;
	struct sysinfo si;

	*m = (struct host_mem){.avail = UINT64_MAX, .source = "MemAvailable in /proc/meminfo"};
	if (host_read_text("/proc/meminfo", buf, sizeof(buf), &t) == 0) {
		host_meminfo_field(t, "MemTotal", &m->total);
		if (host_meminfo_field(t, "MemAvailable", &m->avail) < 0)
			m->avail = UINT64_MAX;
		host_text_free(t, buf);
	}
	if (m->avail == UINT64_MAX && sysinfo(&si) == 0) {
		/* No MemAvailable (very old kernels, no /proc): the old bound, all RAM. */
		m->total = (uint64_t)si.totalram * si.mem_unit;
		m->avail = m->total;
		m->source = "the host's RAM, from sysinfo";
	}
	host_mem_cap_cgroup(m);
}
