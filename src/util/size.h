/* size.h - parsing of sizes and counts given on the command line (pure code). */
#ifndef KESTREL_UTIL_SIZE_H
#define KESTREL_UTIL_SIZE_H

#include <stdint.h>

/*
 * parse_size - parse "<digits>[K|M|G|T]" (case-insensitive suffix, optional
 * trailing "B" or "iB": 64M, 64MiB, 1g, 65536) into bytes; no suffix means bytes.
 * Returns 0, or -EINVAL (empty, junk, unknown suffix, negative, fraction)
 * or -ERANGE (overflows 64 bits).
 */
int parse_size(const char *s, uint64_t *out);

/* parse_uint - parse a decimal unsigned integer in [min, max]; -EINVAL / -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* format_size - "64 MiB", "1.5 GiB" into buf; returns buf. */
const char *format_size(uint64_t bytes, char *buf, unsigned buflen);

#endif
