/* error.c - one formatter for library errors. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

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

void error_prefix(struct kestrel_error *err, const char *prefix)
{
	char msg[sizeof(err->msg)];

	if (!err)
		return;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	error_set(err, err->cls, err->err, "%s: %s", prefix, msg);
}

const char *error_name(const char *(*fn)(const char *), const char *field)
{
	const char *n = fn ? fn(field) : NULL;

	return n ? n : field;
}
