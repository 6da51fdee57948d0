/* size.c - strict parsing and friendly printing of byte sizes and counts for the command line. */
#include "util/size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/*
 * Binary multiples, indexed by shift / 10: "K" = 2^10 ... "E" = 2^60.
 * P and E go beyond the K|M|G|T of size.h so that "16E" reports -ERANGE
 * (a real overflow) rather than -EINVAL.
 */
static const char size_suffixes[] = "KMGTPE";

/*
 * size_digits - parse a run of decimal digits at *s (at least one) into *out,
 * advancing *s past them. We do not use strtoull: it accepts leading spaces,
 * '+' and '-' (negating the result modulo 2^64), "0x" with base 0, and reports
 * overflow only through errno.
 */
static int size_digits(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v)) {
			/* Keep consuming so that "99999999999999999999x" is
			 * still -EINVAL (junk wins over range). */
			while (p[1] >= '0' && p[1] <= '9')
				p++;
			*s = p + 1;
			return -ERANGE;
		}
	}
	*s = p;
	*out = v;
	return 0;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	int err;

	if (!s)
		return -EINVAL;
	err = size_digits(&s, &v);
	if (err == -EINVAL || *s != '\0')
		return -EINVAL;
	if (err)
		return err;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const char *suf;
	char c;
	int err;

	if (!s)
		return -EINVAL;
	err = size_digits(&s, &v);
	if (err == -EINVAL)
		return err;

	/* Optional multiplier: one letter, either case. */
	if (*s >= 'a' && *s <= 'z')
		c = (char)(*s - 'a' + 'A');
	else
		c = *s;
	if (c != '\0' && (suf = strchr(size_suffixes, c)) != NULL) {
		shift = 10 * (unsigned)(suf - size_suffixes + 1);
		s++;
		/* "MiB" / "MB" / "M"; "iB" only after a multiplier. */
		if (*s == 'i' || *s == 'I') {
			s++;
			if (*s != 'B' && *s != 'b')
				return -EINVAL;
		}
	}
	if (*s == 'B' || *s == 'b')
		s++;
	if (*s != '\0')
		return -EINVAL;
	if (err)
		return err;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

const char *format_size(uint64_t bytes, char *buf, unsigned buflen)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	unsigned u = 0;
	uint64_t whole, rem, tenths;

	if (!buf || buflen == 0)
		return buf;
	/* Largest unit that keeps the whole part >= 1. */
	while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes >> (10 * (u + 1)))
		u++;
	if (u == 0) {
		snprintf(buf, buflen, "%" PRIu64 " B", bytes);
		return buf;
	}
	whole = bytes >> (10 * u);
	rem = bytes & ((1ull << (10 * u)) - 1);
	if (rem == 0) {
		snprintf(buf, buflen, "%" PRIu64 " %s", whole, units[u]);
		return buf;
	}
	/* One decimal, rounded to nearest; rem < 2^60, so rem * 10 fits. */
	tenths = (rem * 10 + (1ull << (10 * u - 1))) >> (10 * u);
	if (tenths == 10) {
		whole++;
		tenths = 0;
		if (whole == 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
			whole = 1;
			u++;
		}
	}
	snprintf(buf, buflen, "%" PRIu64 ".%" PRIu64 " %s", whole, tenths, units[u]);
	return buf;
}
