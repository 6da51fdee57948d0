/* json.c - JSON string writer, strict validator and path lookup (see json.h); no allocation. */
#include "util/json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void json_write_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

struct jp {
	const char *s;
	size_t len, pos;
	int depth;
	const char *err; /* first error, NULL if none */
};

static int jp_fail(struct jp *p, const char *why)
{
	if (!p->err)
		p->err = why;
	return -EINVAL;
}

static int jp_peek(const struct jp *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void jp_ws(struct jp *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int jp_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A string at pos (the opening quote); its unescaped text into out (may be
 * NULL) as far as it fits. *n gets the unescaped length. */
static int jp_string(struct jp *p, char *out, size_t outlen, size_t *n)
{
	size_t k = 0;

	if (jp_peek(p) != '"')
		return jp_fail(p, "expected a string");
	p->pos++;
	for (;;) {
		int c = jp_peek(p);
		if (c < 0)
			return jp_fail(p, "unterminated string");
		p->pos++;
		if (c == '"')
			break;
		if (c < 0x20)
			return jp_fail(p, "control character in a string");
		if (c == '\\') {
			c = jp_peek(p);
			p->pos++;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u': {
				unsigned v = 0;
				for (int i = 0; i < 4; i++) {
					int h = jp_hex(jp_peek(p));
					if (h < 0)
						return jp_fail(p, "bad \\u escape");
					v = v << 4 | (unsigned)h;
					p->pos++;
				}
				c = v < 0x80 ? (int)v : '?';
				break;
			}
			default:
				return jp_fail(p, "bad escape in a string");
			}
		}
		if (out && k + 1 < outlen)
			out[k] = (char)c;
		k++;
	}
	if (out && outlen)
		out[k < outlen ? k : outlen - 1] = '\0';
	if (n)
		*n = k;
	return 0;
}

static bool jp_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int jp_number(struct jp *p, double *out)
{
	size_t start = p->pos;
	char buf[64];

	if (jp_peek(p) == '-')
		p->pos++;
	if (jp_peek(p) == '0') {
		p->pos++;
	} else if (jp_digit(jp_peek(p))) {
		while (jp_digit(jp_peek(p)))
			p->pos++;
	} else {
		return jp_fail(p, "bad number");
	}
	if (jp_peek(p) == '.') {
		p->pos++;
		if (!jp_digit(jp_peek(p)))
			return jp_fail(p, "bad number: no digit after '.'");
		while (jp_digit(jp_peek(p)))
			p->pos++;
	}
	if (jp_peek(p) == 'e' || jp_peek(p) == 'E') {
		p->pos++;
		if (jp_peek(p) == '+' || jp_peek(p) == '-')
			p->pos++;
		if (!jp_digit(jp_peek(p)))
			return jp_fail(p, "bad number: no digit in the exponent");
		while (jp_digit(jp_peek(p)))
			p->pos++;
	}
	if (out) {
		size_t l = p->pos - start;
		if (l >= sizeof(buf))
			return jp_fail(p, "number too long");
		memcpy(buf, p->s + start, l);
		buf[l] = '\0';
		*out = strtod(buf, NULL);
	}
	return 0;
}

static int jp_literal(struct jp *p, const char *word)
{
	size_t l = strlen(word);

	if (p->len - p->pos < l || memcmp(p->s + p->pos, word, l) != 0)
		return jp_fail(p, "unexpected character");
	p->pos += l;
	return 0;
}

static int jp_value(struct jp *p);

static int jp_container(struct jp *p, int open)
{
	int close = open == '{' ? '}' : ']';

	if (++p->depth > JSON_MAX_DEPTH)
		return jp_fail(p, "nested too deep");
	p->pos++;
	jp_ws(p);
	if (jp_peek(p) == close) {
		p->pos++;
		p->depth--;
		return 0;
	}
	for (;;) {
		jp_ws(p);
		if (open == '{') {
			if (jp_string(p, NULL, 0, NULL) < 0)
				return -EINVAL;
			jp_ws(p);
			if (jp_peek(p) != ':')
				return jp_fail(p, "expected ':' after a key");
			p->pos++;
		}
		if (jp_value(p) < 0)
			return -EINVAL;
		jp_ws(p);
		if (jp_peek(p) == ',') {
			p->pos++;
			continue;
		}
		if (jp_peek(p) == close) {
			p->pos++;
			p->depth--;
			return 0;
		}
		return jp_fail(p, open == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

/* Skips (and checks) one value, surrounding whitespace included. */
static int jp_value(struct jp *p)
{
	int c, r;

	jp_ws(p);
	c = jp_peek(p);
	if (c == '{' || c == '[')
		r = jp_container(p, c);
	else if (c == '"')
		r = jp_string(p, NULL, 0, NULL);
	else if (c == 't')
		r = jp_literal(p, "true");
	else if (c == 'f')
		r = jp_literal(p, "false");
	else if (c == 'n')
		r = jp_literal(p, "null");
	else if (c == '-' || jp_digit(c))
		r = jp_number(p, NULL);
	else
		r = jp_fail(p, c < 0 ? "unexpected end of input" : "unexpected character");
	jp_ws(p);
	return r;
}

int json_validate(const char *text, size_t len, char *why, size_t whylen)
{
	struct jp p = {.s = text, .len = len};
	int r = jp_value(&p);

	if (r == 0 && p.pos != p.len)
		r = jp_fail(&p, "trailing characters after the value");
	if (r < 0 && why && whylen)
		snprintf(why, whylen, "%s at byte %zu", p.err, p.pos);
	return r;
}

/* Positions p at the value named by path (relative to the value at p->pos). */
static int jp_find(struct jp *p, const char *path)
{
	const char *dot;
	size_t clen;
	char key[128];
	int c;

	jp_ws(p);
	if (!*path)
		return 0;
	dot = strchr(path, '.');
	clen = dot ? (size_t)(dot - path) : strlen(path);
	c = jp_peek(p);
	if (c == '{') {
		p->pos++;
		jp_ws(p);
		if (jp_peek(p) == '}')
			return -ENOENT;
		for (;;) {
			size_t kl;
			jp_ws(p);
			if (jp_string(p, key, sizeof(key), &kl) < 0)
				return -EINVAL;
			jp_ws(p);
			if (jp_peek(p) != ':')
				return -EINVAL;
			p->pos++;
			if (kl == clen && kl < sizeof(key) && memcmp(key, path, clen) == 0)
				return jp_find(p, dot ? dot + 1 : "");
			if (jp_value(p) < 0)
				return -EINVAL;
			if (jp_peek(p) == ',') {
				p->pos++;
				continue;
			}
			return jp_peek(p) == '}' ? -ENOENT : -EINVAL;
		}
	}
	if (c == '[') {
		unsigned long idx = 0;
		if (clen == 0 || clen > 9)
			return -ENOENT;
		for (size_t i = 0; i < clen; i++) {
			if (!jp_digit((unsigned char)path[i]))
				return -ENOENT;
			idx = idx * 10 + (unsigned long)(path[i] - '0');
		}
		p->pos++;
		jp_ws(p);
		if (jp_peek(p) == ']')
			return -ENOENT;
		for (unsigned long i = 0;; i++) {
			if (i == idx)
				return jp_find(p, dot ? dot + 1 : "");
			if (jp_value(p) < 0)
				return -EINVAL;
			if (jp_peek(p) == ',') {
				p->pos++;
				continue;
			}
			return jp_peek(p) == ']' ? -ENOENT : -EINVAL;
		}
	}
	return -ENOENT; /* a scalar has no members */
}

int json_get_number(const char *text, size_t len, const char *path, double *out)
{
	struct jp p = {.s = text, .len = len};
	int r = jp_find(&p, path);
	int c;

	if (r < 0)
		return r;
	c = jp_peek(&p);
	if (c != '-' && !jp_digit(c))
		return -EINVAL;
	return jp_number(&p, out);
}

int json_get_string(const char *text, size_t len, const char *path, char *buf, size_t buflen)
{
	struct jp p = {.s = text, .len = len};
	size_t n;
	int r = jp_find(&p, path);

	if (r < 0)
		return r;
	if (jp_peek(&p) != '"')
		return -EINVAL;
	if (jp_string(&p, buf, buflen, &n) < 0)
		return -EINVAL;
	return n < buflen ? 0 : -ENOSPC;
}
