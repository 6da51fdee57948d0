/* json.h - just enough JSON: a string writer, a strict validator, lookup by path (pure code). */
#ifndef KESTREL_UTIL_JSON_H
#define KESTREL_UTIL_JSON_H

#include <stddef.h>
#include <stdio.h>

/* json_write_str - s as a JSON string literal (quotes, escapes, control bytes as \u00XX). */
void json_write_str(FILE *f, const char *s);

/*
 * json_validate - is text[0..len) exactly one RFC 8259 JSON value (whitespace
 * around it allowed)? Returns 0, or -EINVAL with a reason and byte offset in
 * `why`. Nesting deeper than JSON_MAX_DEPTH is refused.
 */
#define JSON_MAX_DEPTH 64
int json_validate(const char *text, size_t len, char *why, size_t whylen);

/*
 * json_get_number - the number at `path` in a valid document: dot-separated
 * object keys and array indices ("timeline_us.first_entry", "vcpus.0.exits").
 * Returns 0, -ENOENT (no such member/index), -EINVAL (not a number there, or
 * a malformed document).
 */
int json_get_number(const char *text, size_t len, const char *path, double *out);

/* json_get_string - the same for a string value, unescaped (ASCII escapes only;
 * \uXXXX above 0x7f becomes '?') into buf; -ENOSPC if it does not fit. */
int json_get_string(const char *text, size_t len, const char *path, char *buf, size_t buflen);

#endif
