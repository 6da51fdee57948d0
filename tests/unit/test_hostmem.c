/* test_hostmem.c - unit tests for src/host/memory.c: /proc/meminfo and /proc/self/cgroup
 * parsing, the cgroup's room, and the live reading against /proc/meminfo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/memory.h"
#include "tap.h"

static const char meminfo[] = "MemTotal:       24683568 kB\n"
			      "MemFree:        23726968 kB\n"
			      "MemAvailable:   24256476 kB\n"
			      "Buffers:            9588 kB\n"
			      "HugePages_Total:       0\n"
			      "Weird:  12x kB\n"
			      "Big:    99999999999999999999 kB\n"
			      "Empty:\n";

static void test_meminfo(void)
{
	uint64_t v = 7;

	TAP_EQ_INT(host_meminfo_field(meminfo, "MemAvailable", &v), 0, "MemAvailable found");
	TAP_EQ_U64(v, 24256476ull * 1024, "kB read as KiB, in bytes");
	TAP_EQ_INT(host_meminfo_field(meminfo, "MemTotal", &v), 0, "MemTotal found");
	TAP_EQ_U64(v, 24683568ull * 1024, "MemTotal in bytes");
	TAP_EQ_INT(host_meminfo_field(meminfo, "HugePages_Total", &v), 0, "a field with no unit");
	TAP_EQ_U64(v, 0, "... is a plain number");
	TAP_EQ_INT(host_meminfo_field(meminfo, "MemFre", &v), -ENOENT, "a prefix is not the key");
	TAP_EQ_INT(host_meminfo_field(meminfo, "Mem", &v), -ENOENT, "nor a shorter one");
	TAP_EQ_INT(host_meminfo_field(meminfo, "Swap", &v), -ENOENT, "a missing key: -ENOENT");
	TAP_EQ_INT(host_meminfo_field(meminfo, "Empty", &v), -EINVAL, "no number: -EINVAL");
	TAP_EQ_INT(host_meminfo_field(meminfo, "Big", &v), -EINVAL, "overflow: -EINVAL");
	TAP_EQ_INT(host_meminfo_field(meminfo, "Weird", &v), 0, "digits then junk: the digits");
	TAP_EQ_U64(v, 12, "... 12 (no ' kB' right after them)");
	TAP_EQ_INT(host_meminfo_field("", "MemTotal", &v), -ENOENT, "empty text");
	/* memory.stat lines: "key value". */
	TAP_EQ_INT(
	    host_meminfo_field("anon 5\ninactive_file 4096\nactive_file 1\n", "inactive_file", &v),
	    0, "memory.stat's inactive_file");
	TAP_EQ_U64(v, 4096, "... in bytes as written");
	TAP_EQ_INT(host_meminfo_field("total_inactive_file 3\n", "inactive_file", &v), -ENOENT,
		   "total_inactive_file is not inactive_file");
}

static void test_cgroup_path(void)
{
	char path[64];
	bool v2 = false;

	TAP_EQ_INT(
	    host_cgroup_memory_path("0::/user.slice/session-1.scope\n", &v2, path, sizeof(path)), 0,
	    "v2 only");
	TAP_OK(v2 && !strcmp(path, "/user.slice/session-1.scope"), "v2 path (%s)", path);
	TAP_EQ_INT(host_cgroup_memory_path("9:name=systemd:/\n4:memory:/process_api/beb8\n0::/\n",
					   &v2, path, sizeof(path)),
		   0, "v1 memory line beside a v2 line (this host)");
	TAP_OK(!v2 && !strcmp(path, "/process_api/beb8"), "v1 wins: it has the controller (%s)",
	       path);
	TAP_EQ_INT(host_cgroup_memory_path("7:cpu,memory,pids:/x\n", &v2, path, sizeof(path)), 0,
		   "memory in a list");
	TAP_OK(!v2 && !strcmp(path, "/x"), "... /x");
	TAP_EQ_INT(
	    host_cgroup_memory_path("7:cpu,memoryx:/x\n5:xmemory:/y\n", &v2, path, sizeof(path)),
	    -ENOENT, "memoryx and xmemory are not memory");
	TAP_EQ_INT(host_cgroup_memory_path("garbage\n1:\n::\n", &v2, path, sizeof(path)), -ENOENT,
		   "junk lines: none");
	TAP_EQ_INT(host_cgroup_memory_path("0::/a/very/long/path/indeed\n", &v2, path, 8), -ENOENT,
		   "a path that does not fit: none");
}

static void test_room(void)
{
	const uint64_t G = 1ull << 30;

	TAP_EQ_U64(host_cgroup_room(4 * G, 1 * G, 0), 3 * G, "4 GiB limit, 1 used: 3");
	TAP_EQ_U64(host_cgroup_room(4 * G, 3 * G, 2 * G), 3 * G, "page cache counts as free");
	TAP_EQ_U64(host_cgroup_room(4 * G, 5 * G, 0), 0, "over the limit: 0");
	TAP_EQ_U64(host_cgroup_room(4 * G, 1 * G, 2 * G), 4 * G,
		   "more cache than usage: the limit");
	TAP_EQ_U64(host_cgroup_room(UINT64_MAX, 1 * G, 0), UINT64_MAX, "v2 'max': no limit");
	TAP_EQ_U64(host_cgroup_room(9223372036854771712ull, 1 * G, 0), UINT64_MAX,
		   "v1 'unlimited' (PAGE_COUNTER_MAX pages): no limit");
}

/* A file of n bytes ('a' + i % 26, a newline every 64) at path. */
static int write_file(const char *path, size_t n)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++)
		fputc(i % 64 == 63 ? '\n' : 'a' + (int)(i % 26), f);
	return fclose(f);
}

/* Whole files, whatever the buffer: in it when they fit, else on the heap. */
static void test_read_text(void)
{
	static const size_t sizes[] = {0, 1, 62, 63, 64, 65, 1500, 10000, 300000};
	char path[] = "/tmp/kestrel-test-hostmem-XXXXXX", buf[64], *t;
	int fd = mkstemp(path);
	bool ok = true;

	if (!TAP_OK(fd >= 0, "a scratch file"))
		return;
	close(fd);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		int r = write_file(path, n) ? -EIO : host_read_text(path, buf, sizeof(buf), &t);
		bool good = r == 0 && strlen(t) == n && (t == buf) == (n + 1 < sizeof(buf));
		for (size_t j = 0; good && j < n; j++)
			good = t[j] == (j % 64 == 63 ? '\n' : 'a' + (int)(j % 26));
		if (!good) {
			tap_diag("a %zu-byte file: %d, %zu bytes read", n, r,
				 r == 0 ? strlen(t) : 0);
			ok = false;
		}
		if (r == 0)
			host_text_free(t, buf);
	}
	TAP_OK(ok, "host_read_text reads 0 to 300000 bytes whole with a 64-byte buffer");
	TAP_EQ_INT(write_file(path, (1u << 20) + 1), 0, "a file over 1 MiB");
	TAP_EQ_INT(host_read_text(path, buf, sizeof(buf), &t), -EFBIG, "is refused: -EFBIG");
	TAP_OK(t == NULL, "with no text");
	unlink(path);
	TAP_EQ_INT(host_read_text(path, buf, sizeof(buf), &t), -ENOENT, "a missing file: -ENOENT");
	TAP_EQ_INT(host_read_text("/proc/meminfo", buf, sizeof(buf), &t), 0,
		   "/proc/meminfo, longer than the buffer");
	TAP_OK(t != buf && strstr(t, "MemTotal:") && strstr(t, "MemAvailable:"),
	       "read whole (%zu bytes)", strlen(t));
	host_text_free(t, buf);
}

/* The live reading: never above MemAvailable, and the source named. */
static void test_live(void)
{
	struct host_mem m;
	char buf[8192];
	uint64_t avail = 0;
	FILE *f = fopen("/proc/meminfo", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	host_mem_read(&m);
	if (!TAP_EQ_INT(host_meminfo_field(buf, "MemAvailable", &avail), 0,
			"this host's /proc/meminfo has MemAvailable"))
		return;
	TAP_OK(m.avail != UINT64_MAX && m.avail > 0, "host_mem_read found a bound");
	/* Read a moment apart: allow 256 MiB of drift either way. */
	TAP_OK(m.avail <= avail + (256ull << 20), "it is at most MemAvailable (%llu <= %llu)",
	       (unsigned long long)m.avail, (unsigned long long)avail);
	TAP_OK(m.total >= m.avail || !strcmp(m.source, "the memory cgroup's limit"),
	       "MemTotal read too");
	TAP_OK(m.source && (!strcmp(m.source, "MemAvailable in /proc/meminfo") ||
			    !strcmp(m.source, "the memory cgroup's limit")),
	       "the source is named (%s)", m.source);

	/* A small want: answered from sysinfo (when this host has that much free),
	 * a bound that is never above MemAvailable and still holds the want. */
	struct host_mem s;
	host_mem_read_for(&s, 1u << 20);
	TAP_OK(s.avail >= (1u << 20) && s.avail <= avail + (256ull << 20),
	       "host_mem_read_for(1 MiB): a bound between 1 MiB and MemAvailable (%llu, %s)",
	       (unsigned long long)s.avail, s.source);
	/* A want no free RAM holds: exactly host_mem_read's answer, MemAvailable named. */
	host_mem_read_for(&s, UINT64_MAX / 2);
	TAP_OK(!strcmp(s.source, m.source) && s.avail <= avail + (256ull << 20) &&
		   s.avail + (256ull << 20) >= m.avail,
	       "host_mem_read_for(huge): host_mem_read's answer (%s)", s.source);
}

int main(void)
{
	test_meminfo();
	test_cgroup_path();
	test_room();
	test_read_text();
	test_live();
	return tap_done();
}
