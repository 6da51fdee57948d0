/* error.c - one formatter for library errors. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(struct kestrel_error *err, enum kestrel_error_class cls, int e, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->err = e;
		err->cls = cls;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return e;
}

const char *error_path(const char *path, char *buf, size_t len)
{
	size_t pl = strlen(path), head, tail;

	if (pl < len)
		return path;
	/* A quarter for the start, the rest for the end, where the name is. */
	head = (len - 4) / 4;
	tail = len - 4 - head;
	snprintf(buf, len, "%.*s...%s", (int)head, path, path + pl - tail);
	return buf;
}

void error_prefix(struct kestrel_error *err, const char *prefix)
{
	char msg[sizeof(err->msg)], shown[sizeof(err->msg)];
	size_t room;

	if (!err)
		return;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	/* What is left for the prefix once ": " and the whole message fit. */
	room = sizeof(err->msg) - 2 - strlen(msg);
	if (room > sizeof(shown))
		room = sizeof(shown);
	if (room < 16) /* a message of ~500 bytes: no prefix at all beats a cut one */
		return;
	error_set(err, err->cls, err->err, "%s: %s", error_path(prefix, shown, room), msg);
}

const char *error_name(const char *(*fn)(const char *), const char *field)
{
	const char *n = fn ? fn(field) : NULL;

	return n ? n : field;
}
