/* printf.c - a small printf core shared by serial printf and snprintf. */
#include "guest.h"

struct sink {
	void (*put)(struct sink *k, char c);
	char *buf; /* snprintf: destination, size and bytes stored */
	size_t size;
	size_t pos;
	size_t count; /* every character produced, stored or not */
};

static void emit(struct sink *k, char c)
{
	k->put(k, c);
	k->count++;
}

static void emit_pad(struct sink *k, char c, int n)
{
	while (n-- > 0)
		emit(k, c);
}

/* Unsigned value in base 10 or 16 with optional sign, width and padding. */
static void emit_num(struct sink *k, uint64_t v, unsigned base, bool upper, bool neg, int width,
		     bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + (neg ? 1 : 0);
	if (!left && !zero)
		emit_pad(k, ' ', width - len);
	if (neg)
		emit(k, '-');
	if (!left && zero)
		emit_pad(k, '0', width - len);
	while (n)
		emit(k, tmp[--n]);
	if (left)
		emit_pad(k, ' ', width - len);
}

static void format(struct sink *k, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool left = false, zero = false;
		int width = 0, prec = -1, lng = 0;
		char c = *fmt;

		if (c != '%') {
			emit(k, c);
			continue;
		}
		c = *++fmt;
		for (;; c = *++fmt) {
			if (c == '-')
				left = true;
			else if (c == '0')
				zero = true;
			else
				break;
		}
		if (c == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				width = -width;
			}
			c = *++fmt;
		} else {
			while (c >= '0' && c <= '9') {
				width = width * 10 + (c - '0');
				c = *++fmt;
			}
		}
		if (c == '.') {
			c = *++fmt;
			prec = 0;
			if (c == '*') {
				prec = va_arg(ap, int);
				c = *++fmt;
			} else {
				while (c >= '0' && c <= '9') {
					prec = prec * 10 + (c - '0');
					c = *++fmt;
				}
			}
		}
		for (;; c = *++fmt) {
			if (c == 'l' || c == 'z')
				lng++;
			else if (c != 'h')
				break;
		}

		switch (c) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

			emit_num(k, u, 10, false, v < 0, width, left, zero);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);

			emit_num(k, v, c == 'u' ? 10 : 16, c == 'X', false, width, left, zero);
			break;
		}
		case 'p':
			emit(k, '0');
			emit(k, 'x');
			emit_num(k, (uintptr_t)va_arg(ap, void *), 16, false, false,
				 width > 2 ? width - 2 : 0, left, zero);
			break;
		case 'c':
			if (!left)
				emit_pad(k, ' ', width - 1);
			emit(k, (char)va_arg(ap, int));
			if (left)
				emit_pad(k, ' ', width - 1);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len = 0;

			if (!s)
				s = "(null)";
			while (s[len] && (prec < 0 || len < prec))
				len++;
			if (!left)
				emit_pad(k, ' ', width - len);
			for (int i = 0; i < len; i++)
				emit(k, s[i]);
			if (left)
				emit_pad(k, ' ', width - len);
			break;
		}
		case '%':
			emit(k, '%');
			break;
		case '\0':
			/* A lone '%' at the end: print it and stop. */
			emit(k, '%');
			return;
		default:
			/* Unknown conversion: show it verbatim. */
			emit(k, '%');
			emit(k, c);
			break;
		}
	}
}

static void put_serial(struct sink *k, char c)
{
	(void)k;
	serial_putc(c);
}

static void put_buf(struct sink *k, char c)
{
	if (k->pos + 1 < k->size)
		k->buf[k->pos++] = c;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink k = {.put = put_serial};

	format(&k, fmt, ap);
	return (int)k.count;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink k = {.put = put_buf, .buf = buf, .size = size};

	format(&k, fmt, ap);
	if (size)
		buf[k.pos] = '\0';
	return (int)k.count;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
