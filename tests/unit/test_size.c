/* test_size.c - unit tests for parse_size, parse_uint and format_size. */
#include <errno.h>
#include <stdint.h>

#include "tap.h"
#include "util/size.h"

#define KIB 1024ull
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define TIB (GIB * 1024)

/* The input as a C literal body, so control characters don't break TAP lines. */
static const char *show(const char *s)
{
	static char buf[2][64];
	static unsigned n;
	char *b = buf[n++ % 2], *p = b;

	for (; *s && p < b + sizeof(buf[0]) - 5; s++) {
		if (*s == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if ((unsigned char)*s < 0x20) {
			p += snprintf(p, 5, "\\x%02x", (unsigned char)*s);
		} else {
			*p++ = *s;
		}
	}
	*p = '\0';
	return b;
}

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 0xdeadbeef;
	int rc = parse_size(s, &v);

	if (TAP_EQ_INT(rc, 0, "parse_size(\"%s\") succeeds", show(s)))
		TAP_EQ_U64(v, want, "parse_size(\"%s\") value", show(s));
}

/* A refusal must leave *out untouched. */
static void size_bad(const char *s, int err)
{
	uint64_t v = 0x5a5a;
	int rc = parse_size(s, &v);

	TAP_EQ_INT(rc, err, "parse_size(\"%s\") refused with %s", show(s),
		   err == -EINVAL ? "-EINVAL" : "-ERANGE");
	TAP_EQ_U64(v, 0x5a5a, "parse_size(\"%s\") leaves *out alone", show(s));
}

static void uint_ok(const char *s, uint64_t min, uint64_t max, uint64_t want)
{
	uint64_t v = 0xdeadbeef;
	int rc = parse_uint(s, min, max, &v);

	if (TAP_EQ_INT(rc, 0, "parse_uint(\"%s\", %" PRIu64 ", %" PRIu64 ") succeeds", show(s), min,
		       max))
		TAP_EQ_U64(v, want, "parse_uint(\"%s\") value", show(s));
}

static void uint_bad(const char *s, uint64_t min, uint64_t max, int err)
{
	uint64_t v = 0x5a5a;
	int rc = parse_uint(s, min, max, &v);

	TAP_EQ_INT(rc, err, "parse_uint(\"%s\", %" PRIu64 ", %" PRIu64 ") refused with %s", show(s),
		   min, max, err == -EINVAL ? "-EINVAL" : "-ERANGE");
	TAP_EQ_U64(v, 0x5a5a, "parse_uint(\"%s\") leaves *out alone", show(s));
}

static void fmt_is(uint64_t bytes, const char *want)
{
	char buf[32];

	TAP_EQ_STR(format_size(bytes, buf, sizeof(buf)), want, "format_size(%" PRIu64 ")", bytes);
}

int main(void)
{
	char small[4];

	/* parse_size: accepted forms. */
	size_ok("0", 0);
	size_ok("65536", 65536);
	size_ok("512B", 512);
	size_ok("1K", KIB);
	size_ok("4k", 4 * KIB);
	size_ok("64M", 64 * MIB);
	size_ok("64m", 64 * MIB);
	size_ok("64MiB", 64 * MIB);
	size_ok("64MB", 64 * MIB);
	size_ok("64mib", 64 * MIB);
	size_ok("1G", GIB);
	size_ok("1g", GIB);
	size_ok("3GiB", 3 * GIB);
	size_ok("1T", TIB);
	size_ok("2P", 2 * TIB * 1024);
	size_ok("15E", 15ull << 60);
	size_ok("007M", 7 * MIB);
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("16777215T", 16777215ull * TIB);

	/* parse_size: junk. */
	size_bad("", -EINVAL);
	size_bad("12Q", -EINVAL);
	size_bad("-1", -EINVAL);
	size_bad("+1", -EINVAL);
	size_bad(" 1", -EINVAL);
	size_bad("1 ", -EINVAL);
	size_bad("1 M", -EINVAL);
	size_bad("0x10", -EINVAL);
	size_bad("1.5G", -EINVAL);
	size_bad("M", -EINVAL);
	size_bad("MiB", -EINVAL);
	size_bad("64iB", -EINVAL);
	size_bad("64Mi", -EINVAL);
	size_bad("64MiBB", -EINVAL);
	size_bad("64MM", -EINVAL);
	size_bad("64M\n", -EINVAL);
	size_bad("64\tM", -EINVAL);
	size_bad("99999999999999999999x", -EINVAL);
	TAP_EQ_INT(parse_size(NULL, &(uint64_t){0}), -EINVAL, "parse_size(NULL) is -EINVAL");

	/* parse_size: overflow. */
	size_bad("18446744073709551616", -ERANGE);
	size_bad("99999999999999999999", -ERANGE);
	size_bad("16E", -ERANGE);
	size_bad("16777216T", -ERANGE);
	size_bad("17179869184G", -ERANGE);
	size_bad("99999999999999999999K", -ERANGE);

	/* parse_uint. */
	uint_ok("0", 0, 10, 0);
	uint_ok("10", 0, 10, 10);
	uint_ok("1", 1, 255, 1);
	uint_ok("18446744073709551615", 0, UINT64_MAX, UINT64_MAX);
	uint_bad("", 0, 10, -EINVAL);
	uint_bad("-1", 0, 10, -EINVAL);
	uint_bad("+1", 0, 10, -EINVAL);
	uint_bad(" 1", 0, 10, -EINVAL);
	uint_bad("0x1", 0, 10, -EINVAL);
	uint_bad("1K", 0, 2000, -EINVAL);
	uint_bad("4abc", 0, 10, -EINVAL);
	uint_bad("11", 0, 10, -ERANGE);
	uint_bad("0", 1, 10, -ERANGE);
	uint_bad("18446744073709551616", 0, UINT64_MAX, -ERANGE);

	/* format_size. */
	fmt_is(0, "0 B");
	fmt_is(1023, "1023 B");
	fmt_is(KIB, "1 KiB");
	fmt_is(64 * MIB, "64 MiB");
	fmt_is(GIB + GIB / 2, "1.5 GiB");
	fmt_is(3 * GIB, "3 GiB");
	fmt_is(TIB, "1 TiB");
	fmt_is(MIB - 1, "1.0 MiB"); /* 1023.999 KiB rounds up into the next unit */
	fmt_is(GIB + 1, "1.0 GiB"); /* inexact values keep a decimal */
	fmt_is(UINT64_MAX, "16.0 EiB");
	fmt_is(15ull << 60, "15 EiB");
	TAP_EQ_STR(format_size(64 * MIB, small, sizeof(small)), "64 ",
		   "format_size truncates to buflen");
	TAP_OK(format_size(1, NULL, 0) == NULL, "format_size(NULL, 0) is harmless");

	return tap_done();
}
