/* unpack.h - host-side decompression of a bzImage's payload (gzip, xz, lzma, lz4 legacy, zstd) with
 * a bound. */
#ifndef KESTREL_LOAD_UNPACK_H
#define KESTREL_LOAD_UNPACK_H

/*
 * The kernel build compresses the stripped vmlinux ELF and appends its
 * uncompressed size as 4 little-endian bytes (scripts/Makefile.lib
 * size_append); payload_length includes those bytes. The decoders here stop
 * at the end of the first compressed stream and ignore what follows, and
 * never trust the appended size beyond a first guess of the buffer size.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum unpack_format {
	UNPACK_UNKNOWN,
	UNPACK_GZIP,  /* 1f 8b */
	UNPACK_XZ,    /* fd 37 7a 58 5a 00 */
	UNPACK_LZMA,  /* 5d 00 00 (.lzma "alone" format) */
	UNPACK_LZ4,   /* 02 21 4c 18 (legacy frame, as the kernel's lz4 -l) */
	UNPACK_ZSTD,  /* 28 b5 2f fd */
	UNPACK_BZIP2, /* "BZh": recognised, not decompressed here */
	UNPACK_LZO,   /* 89 4c 5a 4f: recognised, not decompressed here */
};

/* unpack_detect - the format of `p` by its magic bytes. Pure. */
enum unpack_format unpack_detect(const uint8_t *p, size_t len);

/* unpack_format_name - "gzip", "xz", ..., "unknown". */
const char *unpack_format_name(enum unpack_format f);

/* unpack_supported - kestrel can decompress `f` on the host. */
bool unpack_supported(enum unpack_format f);

/*
 * unpack - decompress the first `f` stream of `in` (`len` bytes, untrusted)
 * into a new malloc'd buffer *out of *outlen bytes (the caller frees it).
 * At most `max_out` bytes are produced. Returns 0, or a negative errno with
 * a one-line reason (why always ends NUL-terminated; *out is NULL):
 *   -ENOEXEC  corrupt or truncated stream, or an unsupported format
 *   -E2BIG    the output would exceed max_out (a decompression bomb)
 *   -ENOMEM   the host could not allocate the output
 */
int unpack(enum unpack_format f, const uint8_t *in, size_t len, uint64_t max_out, uint8_t **out,
	   size_t *outlen, char *why, size_t whylen);

/*
 * unpack_bzimage - find the payload of the bzImage `image` (its setup
 * header's payload_offset/payload_length, relative to the protected-mode
 * kernel), report its format in *fmt and decompress it as unpack() does.
 * -ENOEXEC also for a bad setup header; an unsupported format returns
 * -ENOEXEC with *fmt set, so a caller can fall back to the guest's own
 * decompressor.
 */
int unpack_bzimage(const uint8_t *image, size_t len, uint64_t max_out, enum unpack_format *fmt,
		   uint8_t **out, size_t *outlen, char *why, size_t whylen);

#endif
