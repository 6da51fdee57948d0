/* error.h - the one way the library fills a struct kestrel_error. */
#ifndef KESTREL_UTIL_ERROR_H
#define KESTREL_UTIL_ERROR_H

#include "kestrel/kestrel.h"

/* error_set - fill *err (when not NULL) with class, `e` and a printf-style
 * one-line message; returns e (a negative errno). */
int error_set(struct kestrel_error *err, enum kestrel_error_class cls, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* error_prefix - put "prefix: " before err's message (a file name, say). A
 * prefix too long for both is shortened in its middle (error_path), never
 * the message: the reason always survives whole. */
void error_prefix(struct kestrel_error *err, const char *prefix);

/* The longest path a message shows whole (struct kestrel_error holds 512 bytes). */
#define ERROR_PATH_MAX 200

/* error_path - `path` as a message shows it: itself when shorter than len,
 * else its start and its end (the file's own name) around "...", in buf
 * (len >= 16). */
const char *error_path(const char *path, char *buf, size_t len);

/* error_name - how a message names `field` (a struct kestrel_config field or a
 * libkestrel call): what the caller's kestrel_config.field_name says, else the
 * name itself. `fn` may be NULL. */
const char *error_name(const char *(*fn)(const char *), const char *field);

#endif
