/* hypercall.c - exit and console hypercalls. */
#include "guest.h"

GUEST_NORETURN void exit(int status)
{
	hypercall1(KESTREL_HC_EXIT, (uint64_t)(unsigned)status & 0xff);
	/* KESTREL_HC_EXIT never returns; if it does, stop here. */
	halt_forever();
}

int64_t puts_hc(const void *s, size_t len)
{
	const char *p = s;
	size_t done = 0;

	while (done < len) {
		size_t chunk = len - done;
		uint64_t ret;

		if (chunk > KESTREL_PUTS_MAX)
			chunk = KESTREL_PUTS_MAX;
		ret = hypercall2(KESTREL_HC_PUTS, (uintptr_t)(p + done), chunk);
		if (hc_is_error(ret))
			return (int64_t)ret;
		if (ret != chunk)
			return done + ret;
		done += chunk;
	}
	return (int64_t)done;
}

int hc_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;
	size_t len;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	return (int)puts_hc(buf, len);
}
