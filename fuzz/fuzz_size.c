/* fuzz_size.c - libFuzzer target: parse_size / parse_uint against a 128-bit reference, format_size
 * round trips. */
#include <errno.h>

#include "fuzz.h"
#include "util/size.h"

typedef unsigned __int128 u128;

/*
 * The reference grammar, written independently of size.c from its header:
 * one or more ASCII digits; then optionally one multiplier letter
 * K/M/G/T/P/E (either case, 2^10 .. 2^60) which may be followed by "iB"
 * (i and B in either case); then optionally "B"/"b"; then the end.
 * A malformed string is -EINVAL even when its digits overflow; a
 * well-formed one whose value needs more than 64 bits is -ERANGE.
 */
static int ref_size(const char *s, uint64_t *out)
{
	static const char mult[] = "kmgtpe";
	u128 v = 0;
	int big = 0; /* the digits alone exceed 2^64 - 1 */
	unsigned shift = 0;
	size_t i = 0;

	if (!(s[0] >= '0' && s[0] <= '9'))
		return -EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > UINT64_MAX) {
			big = 1;
			v = (u128)UINT64_MAX + 1; /* stays "too big", never wraps */
		}
	}
	for (unsigned k = 0; k < 6 && s[i]; k++) {
		if (s[i] == mult[k] || s[i] == mult[k] - 'a' + 'A') {
			shift = 10 * (k + 1);
			i++;
			if (s[i] == 'i' || s[i] == 'I') {
				i++;
				if (s[i] != 'b' && s[i] != 'B')
					return -EINVAL;
			}
			break;
		}
	}
	if (s[i] == 'b' || s[i] == 'B')
		i++;
	if (s[i] != '\0')
		return -EINVAL;
	if (big || (v << shift) > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)(v << shift);
	return 0;
}

static int ref_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	u128 v = 0;
	size_t i;

	if (!(s[0] >= '0' && s[0] <= '9'))
		return -EINVAL;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > UINT64_MAX)
			v = (u128)UINT64_MAX + 1;
	}
	if (s[i] != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

/* format_size's text must name a value within half a printed digit of `bytes`. */
static void check_format(uint64_t bytes, size_t buflen)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	char *buf = malloc(buflen); /* exact size for ASan */
	unsigned long long whole = 0, tenths = 0;
	char unit[8];
	int n;

	FUZZ_ASSERT(format_size(bytes, buf, (unsigned)buflen) == buf, "return value");
	FUZZ_ASSERT(memchr(buf, '\0', buflen) != NULL, "not NUL-terminated in %zu bytes", buflen);
	if (buflen < 32) {
		free(buf);
		return;
	}
	if (sscanf(buf, "%llu.%llu %7s%n", &whole, &tenths, unit, &n) == 3) {
		unsigned u;
		for (u = 1; u < 7 && strcmp(unit, units[u]); u++)
			;
		FUZZ_ASSERT(u < 7, "'%s': unknown unit", buf);
		FUZZ_ASSERT(tenths < 10 && whole >= 1 && (whole < 1024 || u == 6), "'%s'", buf);
		/* |bytes - (whole + tenths/10) * 2^(10u)| <= 2^(10u) / 20 */
		u128 shown = ((u128)whole * 10 + tenths) << (10 * u), exact = (u128)bytes * 10;
		u128 diff = shown > exact ? shown - exact : exact - shown;
		FUZZ_ASSERT(2 * diff <= ((u128)1 << (10 * u)), "'%s' for %llu bytes", buf,
			    (unsigned long long)bytes);
	} else if (sscanf(buf, "%llu %7s%n", &whole, unit, &n) == 2) {
		unsigned u;
		for (u = 0; u < 7 && strcmp(unit, units[u]); u++)
			;
		FUZZ_ASSERT(u < 7, "'%s': unknown unit", buf);
		FUZZ_ASSERT(((u128)whole << (10 * u)) == bytes, "'%s' for %llu bytes", buf,
			    (unsigned long long)bytes);
	} else {
		FUZZ_ASSERT(0, "unparsable '%s'", buf);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint64_t bytes = fuzz_u64(&in), min = fuzz_u64(&in), max = fuzz_u64(&in);
	size_t buflen = 1 + fuzz_u8(&in) % 48;
	char *s = malloc(in.left + 1); /* exact size: no peeking past the NUL */
	uint64_t got = 0x5555, want = 0x5555;
	int r, rr;

	memcpy(s, in.p, in.left);
	s[in.left] = '\0';

	r = parse_size(s, &got);
	rr = ref_size(s, &want);
	FUZZ_ASSERT(r == rr && got == want, "parse_size(\"%s\") = %d/%llu, reference %d/%llu", s, r,
		    (unsigned long long)got, rr, (unsigned long long)want);

	got = want = 0x5555;
	if (min > max) {
		uint64_t t = min;
		min = max;
		max = t;
	}
	r = parse_uint(s, min, max, &got);
	rr = ref_uint(s, min, max, &want);
	FUZZ_ASSERT(r == rr && got == want,
		    "parse_uint(\"%s\", %llu, %llu) = %d/%llu, reference %d/%llu", s,
		    (unsigned long long)min, (unsigned long long)max, r, (unsigned long long)got,
		    rr, (unsigned long long)want);
	/* The ranges the CLI uses. */
	got = want = 0x5555;
	r = parse_uint(s, 1, UINT32_MAX, &got);
	rr = ref_uint(s, 1, UINT32_MAX, &want);
	FUZZ_ASSERT(r == rr && got == want, "parse_uint(\"%s\", 1, 2^32-1)", s);

	check_format(bytes, buflen);
	check_format(bytes, 64);
	free(s);
	return 0;
}
