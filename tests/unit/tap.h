/* tap.h - a tiny header-only TAP producer for kestrel's unit tests (one test binary per file). */
#ifndef KESTREL_TESTS_TAP_H
#define KESTREL_TESTS_TAP_H

/*
 * Output is plan-less TAP: one "ok N - name" or
 * "not ok N - name # at file:line: expr" line per check, "# ..." diagnostics
 * under a failure, and "1..N" from tap_done() at the end (TAP allows the plan
 * last, so a binary that dies early is visibly missing it).
 *
 * Usage:
 *	TAP_OK(x > 0, "x is positive");
 *	TAP_EQ_U64(got, 42, "answer for %s", what);
 *	TAP_EQ_INT(rc, -EINVAL, "rejects junk");
 *	TAP_STR_CONTAINS(msg, "bad magic", "reason mentions the magic");
 *	return tap_done();
 * Every macro evaluates to the check's truth value (1 pass, 0 fail), so a
 * test can skip dependent checks after a failure.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_count_;
static unsigned tap_failed_;

__attribute__((format(printf, 5, 0))) static inline int
tap_vresult_(int pass, const char *file, int line, const char *expr, const char *fmt, va_list ap)
{
	char name[512];

	/* A newline in a name would start a bogus TAP line. */
	vsnprintf(name, sizeof(name), fmt, ap);
	for (char *p = name; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	tap_count_++;
	printf("%sok %u - %s", pass ? "" : "not ", tap_count_, name);
	if (!pass) {
		tap_failed_++;
		printf(" # at %s:%d: %s", file, line, expr);
	}
	putchar('\n');
	fflush(stdout);
	return pass;
}

__attribute__((format(printf, 5, 6))) static inline int
tap_ok_(int pass, const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tap_vresult_(pass, file, line, expr, fmt, ap);
	va_end(ap);
	return r;
}

/* A "# ..." diagnostic line; TAP consumers show it but don't count it. */
__attribute__((format(printf, 1, 2))) static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

__attribute__((format(printf, 6, 7))) static inline int tap_eq_u64_(uint64_t a, uint64_t b,
								    const char *file, int line,
								    const char *expr,
								    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tap_vresult_(a == b, file, line, expr, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("  got      %#" PRIx64 " (%" PRIu64 ")\n#   expected %#" PRIx64
			 " (%" PRIu64 ")",
			 a, a, b, b);
	return r;
}

__attribute__((format(printf, 6, 7))) static inline int tap_eq_int_(long long a, long long b,
								    const char *file, int line,
								    const char *expr,
								    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tap_vresult_(a == b, file, line, expr, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("  got      %lld\n#   expected %lld", a, b);
	return r;
}

/* mode 0: equal, 1: haystack contains needle. NULL strings never match. */
__attribute__((format(printf, 7, 8))) static inline int tap_str_(const char *a, const char *b,
								 const char *file, int line,
								 const char *expr, int mode,
								 const char *fmt, ...)
{
	va_list ap;
	int pass;
	int r;

	if (!a || !b)
		pass = 0;
	else if (mode == 0)
		pass = strcmp(a, b) == 0;
	else
		pass = strstr(a, b) != NULL;
	va_start(ap, fmt);
	r = tap_vresult_(pass, file, line, expr, fmt, ap);
	va_end(ap);
	if (!r)
		tap_diag("  got      \"%s\"\n#   %s \"%s\"", a ? a : "(null)",
			 mode == 0 ? "expected" : "lacks   ", b ? b : "(null)");
	return r;
}

/* Prints the trailing plan; returns the process exit status (1 if anything failed). */
static inline int tap_done(void)
{
	printf("1..%u\n", tap_count_);
	if (tap_failed_)
		printf("# %u of %u checks failed\n", tap_failed_, tap_count_);
	fflush(stdout);
	return tap_failed_ ? 1 : 0;
}

#define TAP_OK(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define TAP_EQ_U64(a, b, ...)                                                                      \
	tap_eq_u64_((uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, #a " == " #b, __VA_ARGS__)
#define TAP_EQ_INT(a, b, ...)                                                                      \
	tap_eq_int_((long long)(a), (long long)(b), __FILE__, __LINE__, #a " == " #b, __VA_ARGS__)
#define TAP_EQ_STR(a, b, ...) tap_str_((a), (b), __FILE__, __LINE__, #a " == " #b, 0, __VA_ARGS__)
#define TAP_STR_CONTAINS(hay, needle, ...)                                                         \
	tap_str_((hay), (needle), __FILE__, __LINE__, #hay " contains " #needle, 1, __VA_ARGS__)

#endif
