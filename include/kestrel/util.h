/* util.h - the small helpers libkestrel shares with its users: sizes as people type them, JSON
 * strings, the report's reader. */
#ifndef KESTREL_UTIL_H
#define KESTREL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* kestrel_parse_size - "<digits>[K|M|G|T][i][B]" (64M, 64MiB, 1g, 65536) into
 * bytes; no suffix means bytes. 0, -EINVAL (junk, negative, fraction) or -ERANGE. */
int kestrel_parse_size(const char *s, uint64_t *out);

/* kestrel_parse_uint - a decimal unsigned integer in [min, max]; -EINVAL / -ERANGE. */
int kestrel_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* kestrel_format_size - "64 MiB", "1.5 GiB" into buf; returns buf. */
const char *kestrel_format_size(uint64_t bytes, char *buf, unsigned buflen);

/* kestrel_json_write_str - s as a JSON string literal. */
void kestrel_json_write_str(FILE *f, const char *s);

/* kestrel_json_validate - is text[0..len) exactly one JSON value? 0 or -EINVAL with why. */
int kestrel_json_validate(const char *text, size_t len, char *why, size_t whylen);

/* kestrel_json_get_number / _string - the value at a dotted path ("vm.exits",
 * "vcpus.0.exits") of a valid document; 0, -ENOENT, -EINVAL, -ENOSPC. */
int kestrel_json_get_number(const char *text, size_t len, const char *path, double *out);
int kestrel_json_get_string(const char *text, size_t len, const char *path, char *buf,
			    size_t buflen);

#ifdef __cplusplus
}
#endif

#endif
