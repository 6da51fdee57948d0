/* unpack.c - decompress a bzImage payload on the host: gzip (zlib), xz/lzma (liblzma), lz4 legacy,
 * zstd; bounded. */
#include "load/unpack.h"

#include <errno.h>
#include <inttypes.h>
#include <lz4.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "load/linux.h"

#define MIB (1ull << 20)
/* The kernel's lz4 -l writes blocks of at most 8 MiB of output (LZ4 legacy format). */
#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)
/* liblzma's memory limit: the kernel's xz uses a 32 MiB dictionary. */
#define XZ_MEMLIMIT (256ull << 20)

__attribute__((format(printf, 4, 5))) static int unpack_fail(int err, char *why, size_t whylen,
							     const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* The output buffer: grows by doubling up to max bytes. */
struct unpack_buf {
	uint8_t *p;
	size_t len, cap, max;
};

/* Make room for `want` more bytes, or as many as the bound leaves (at least
 * one); the capacity doubles. -E2BIG when the bound is reached, -ENOMEM. */
static int unpack_reserve(struct unpack_buf *b, size_t want)
{
	size_t need, cap = b->cap;
	uint8_t *p;

	if (b->len >= b->max)
		return -E2BIG;
	if (want > b->max - b->len)
		want = b->max - b->len;
	need = b->len + want;
	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int unpack_room_fail(int err, const struct unpack_buf *b, const char *name, char *why,
			    size_t whylen)
{
	if (err == -E2BIG)
		return unpack_fail(
		    err, why, whylen,
		    "%s payload decompresses to more than %zu bytes (a decompression "
		    "bomb, or raise the bound)",
		    name, b->max);
	return unpack_fail(err, why, whylen, "out of memory growing the %zu-byte %s output buffer",
			   b->cap, name);
}

static int unpack_gzip(const uint8_t *in, size_t len, struct unpack_buf *b, char *why,
		       size_t whylen)
{
	z_stream zs = {0};
	size_t fed = 0;
	int r, err = 0;

	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) /* 16: gzip wrapper only */
		return unpack_fail(-ENOMEM, why, whylen, "zlib: inflateInit2 failed");
	for (;;) {
		size_t room;

		if (zs.avail_in == 0 && fed < len) {
			size_t n = len - fed < (1u << 30) ? len - fed : (1u << 30);
			zs.next_in = (Bytef *)(uintptr_t)(in + fed);
			zs.avail_in = (uInt)n;
			fed += n;
		}
		err = unpack_reserve(b, 1);
		if (err) {
			err = unpack_room_fail(err, b, "gzip", why, whylen);
			break;
		}
		room = b->cap - b->len < (1u << 30) ? b->cap - b->len : (1u << 30);
		zs.next_out = b->p + b->len;
		zs.avail_out = (uInt)room;
		r = inflate(&zs, Z_NO_FLUSH);
		b->len += room - zs.avail_out;
		if (r == Z_STREAM_END)
			break;
		if (r == Z_BUF_ERROR && zs.avail_out == 0)
			continue; /* wants more room */
		if (r == Z_OK)
			continue;
		if (r == Z_BUF_ERROR && zs.avail_in == 0 && fed == len)
			err = unpack_fail(-ENOEXEC, why, whylen,
					  "gzip payload is truncated (%zu bytes in, %zu out)", len,
					  b->len);
		else
			err = unpack_fail(-ENOEXEC, why, whylen, "gzip payload is corrupt: %s",
					  zs.msg ? zs.msg : "inflate error");
		break;
	}
	inflateEnd(&zs);
	return err;
}

static const char *unpack_lzma_msg(lzma_ret r)
{
	switch (r) {
	case LZMA_FORMAT_ERROR:
		return "not an xz/lzma stream";
	case LZMA_OPTIONS_ERROR:
		return "unsupported options";
	case LZMA_DATA_ERROR:
		return "corrupt data";
	case LZMA_BUF_ERROR:
		return "truncated";
	case LZMA_MEMLIMIT_ERROR:
		return "needs more than 256 MiB of decoder memory";
	case LZMA_MEM_ERROR:
		return "out of memory";
	default:
		return "decoder error";
	}
}

static int unpack_xz(enum unpack_format f, const uint8_t *in, size_t len, struct unpack_buf *b,
		     char *why, size_t whylen)
{
	const char *name = f == UNPACK_XZ ? "xz" : "lzma";
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;
	int err = 0;

	/* No LZMA_CONCATENATED: stop after the first stream, before the appended size. */
	r = f == UNPACK_XZ ? lzma_stream_decoder(&s, XZ_MEMLIMIT, 0)
			   : lzma_alone_decoder(&s, XZ_MEMLIMIT);
	if (r != LZMA_OK)
		return unpack_fail(-ENOMEM, why, whylen, "liblzma: decoder init failed (%d)",
				   (int)r);
	s.next_in = in;
	s.avail_in = len;
	for (;;) {
		size_t room;

		err = unpack_reserve(b, 1);
		if (err) {
			err = unpack_room_fail(err, b, name, why, whylen);
			break;
		}
		room = b->cap - b->len;
		s.next_out = b->p + b->len;
		s.avail_out = room;
		r = lzma_code(&s, LZMA_FINISH);
		b->len += room - s.avail_out;
		if (r == LZMA_STREAM_END)
			break;
		if (r == LZMA_OK && s.avail_out == 0)
			continue;
		if (r == LZMA_OK)
			continue;
		err = unpack_fail(-ENOEXEC, why, whylen, "%s payload: %s (%zu bytes in, %zu out)",
				  name, unpack_lzma_msg(r), len, b->len);
		break;
	}
	lzma_end(&s);
	return err;
}

static int unpack_zstd(const uint8_t *in, size_t len, struct unpack_buf *b, char *why,
		       size_t whylen)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer ib = {in, len, 0};
	int err = 0;

	if (!dc)
		return unpack_fail(-ENOMEM, why, whylen, "zstd: out of memory for a context");
	/* The default window limit (2^27, what zstd -22 --ultra uses) bounds the
	 * decoder's own allocation whatever the frame header claims. */
	for (;;) {
		ZSTD_outBuffer ob;
		size_t r;

		err = unpack_reserve(b, 1);
		if (err) {
			err = unpack_room_fail(err, b, "zstd", why, whylen);
			break;
		}
		ob = (ZSTD_outBuffer){b->p + b->len, b->cap - b->len, 0};
		r = ZSTD_decompressStream(dc, &ob, &ib);
		b->len += ob.pos;
		if (ZSTD_isError(r)) {
			err = unpack_fail(-ENOEXEC, why, whylen, "zstd payload is corrupt: %s",
					  ZSTD_getErrorName(r));
			break;
		}
		if (r == 0)
			break; /* the first frame is complete and flushed */
		if (ib.pos == ib.size && ob.pos < ob.size) {
			err = unpack_fail(-ENOEXEC, why, whylen,
					  "zstd payload is truncated (%zu bytes in, %zu out)", len,
					  b->len);
			break;
		}
	}
	ZSTD_freeDCtx(dc);
	return err;
}

static uint32_t unpack_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * LZ4 legacy frame: the magic, then blocks of (le32 compressed size, data),
 * each decompressing to at most 8 MiB; another magic may start a new frame.
 * The kernel's appended size is the last 4 bytes: when exactly 4 bytes are
 * left, they are that, not a block size.
 */
static int unpack_lz4(const uint8_t *in, size_t len, struct unpack_buf *b, char *why, size_t whylen)
{
	const size_t bound = (size_t)LZ4_compressBound(LZ4_LEGACY_BLOCK);
	size_t pos = 4;
	unsigned blocks = 0;

	while (len - pos >= 4) {
		uint32_t chunk = unpack_le32(in + pos);
		size_t room;
		int n, err;

		if (chunk == LZ4_LEGACY_MAGIC) {
			pos += 4;
			continue;
		}
		if (len - pos == 4 && blocks > 0)
			break;
		pos += 4;
		if (chunk == 0 || chunk > bound || chunk > len - pos)
			return unpack_fail(-ENOEXEC, why, whylen,
					   "lz4 payload: block %u at offset %zu claims %" PRIu32
					   " bytes (%zu left, at most %zu allowed)",
					   blocks, pos - 4, chunk, len - pos, bound);
		/* Room for a whole block, or up to the bound. */
		err = unpack_reserve(b, LZ4_LEGACY_BLOCK);
		if (err)
			return unpack_room_fail(err, b, "lz4", why, whylen);
		room = b->cap - b->len;
		if (room > LZ4_LEGACY_BLOCK)
			room = LZ4_LEGACY_BLOCK;
		n = LZ4_decompress_safe((const char *)in + pos, (char *)b->p + b->len, (int)chunk,
					(int)room);
		if (n < 0) {
			if (room < LZ4_LEGACY_BLOCK)
				return unpack_fail(
				    -E2BIG, why, whylen,
				    "lz4 payload: block %u decompresses to more than "
				    "the %zu-byte bound (a decompression bomb) or is "
				    "corrupt",
				    blocks, b->max);
			return unpack_fail(-ENOEXEC, why, whylen,
					   "lz4 payload: block %u at offset %zu is corrupt", blocks,
					   pos - 4);
		}
		b->len += (size_t)n;
		pos += chunk;
		blocks++;
	}
	if (blocks == 0)
		return unpack_fail(-ENOEXEC, why, whylen, "lz4 payload has no data block");
	return 0;
}

enum unpack_format unpack_detect(const uint8_t *p, size_t len)
{
	static const struct {
		enum unpack_format f;
		uint8_t n;
		uint8_t magic[6];
	} magics[] = {
	    {UNPACK_GZIP, 2, {0x1f, 0x8b}},
	    {UNPACK_XZ, 6, {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}},
	    {UNPACK_LZMA, 3, {0x5d, 0x00, 0x00}},
	    {UNPACK_LZ4, 4, {0x02, 0x21, 0x4c, 0x18}},
	    {UNPACK_ZSTD, 4, {0x28, 0xb5, 0x2f, 0xfd}},
	    {UNPACK_BZIP2, 3, {'B', 'Z', 'h'}},
	    {UNPACK_LZO, 4, {0x89, 0x4c, 0x5a, 0x4f}},
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (p && len >= magics[i].n && memcmp(p, magics[i].magic, magics[i].n) == 0)
			return magics[i].f;
	return UNPACK_UNKNOWN;
}

const char *unpack_format_name(enum unpack_format f)
{
	switch (f) {
	case UNPACK_GZIP:
		return "gzip";
	case UNPACK_XZ:
		return "xz";
	case UNPACK_LZMA:
		return "lzma";
	case UNPACK_LZ4:
		return "lz4";
	case UNPACK_ZSTD:
		return "zstd";
	case UNPACK_BZIP2:
		return "bzip2";
	case UNPACK_LZO:
		return "lzo";
	default:
		return "unknown";
	}
}

bool unpack_supported(enum unpack_format f)
{
	return f == UNPACK_GZIP || f == UNPACK_XZ || f == UNPACK_LZMA || f == UNPACK_LZ4 ||
	       f == UNPACK_ZSTD;
}

int unpack(enum unpack_format f, const uint8_t *in, size_t len, uint64_t max_out, uint8_t **out,
	   size_t *outlen, char *why, size_t whylen)
{
	struct unpack_buf b = {0};
	int err;

	*out = NULL;
	*outlen = 0;
	if (why && whylen)
		why[0] = '\0';
	if (!unpack_supported(f))
		return unpack_fail(-ENOEXEC, why, whylen,
				   "%s payloads are not decompressed by kestrel",
				   unpack_format_name(f));
	if (!in || len == 0 || unpack_detect(in, len) != f)
		return unpack_fail(-ENOEXEC, why, whylen,
				   "payload does not start with the %s magic",
				   unpack_format_name(f));
	if (max_out == 0)
		return unpack_fail(-E2BIG, why, whylen, "output bound is 0 bytes");
	b.max = max_out > SIZE_MAX ? SIZE_MAX : (size_t)max_out;
	/* First guess: 4x the input (kernels compress 3-4x), at least 1 MiB. */
	b.cap = len > b.max / 4 ? b.max : len * 4;
	if (b.cap < MIB)
		b.cap = b.max < MIB ? b.max : MIB;
	b.p = malloc(b.cap);
	if (!b.p)
		return unpack_fail(-ENOMEM, why, whylen, "out of memory for %zu bytes", b.cap);

	switch (f) {
	case UNPACK_GZIP:
		err = unpack_gzip(in, len, &b, why, whylen);
		break;
	case UNPACK_XZ:
	case UNPACK_LZMA:
		err = unpack_xz(f, in, len, &b, why, whylen);
		break;
	case UNPACK_LZ4:
		err = unpack_lz4(in, len, &b, why, whylen);
		break;
	default:
		err = unpack_zstd(in, len, &b, why, whylen);
		break;
	}
	if (err == 0 && b.len == 0)
		err = unpack_fail(-ENOEXEC, why, whylen, "%s payload decompresses to nothing",
				  unpack_format_name(f));
	if (err) {
		free(b.p);
		return err;
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}

int unpack_bzimage(const uint8_t *image, size_t len, uint64_t max_out, enum unpack_format *fmt,
		   uint8_t **out, size_t *outlen, char *why, size_t whylen)
{
	struct linux_header h;
	const uint8_t *payload;
	int err;

	*fmt = UNPACK_UNKNOWN;
	*out = NULL;
	*outlen = 0;
	err = linux_parse_header(image, len, &h, why, whylen);
	if (err)
		return err;
	if (h.payload_length == 0)
		return unpack_fail(-ENOEXEC, why, whylen,
				   "bzImage has no payload (payload_length 0)");
	/* linux_parse_header checked the payload lies inside the kernel part. */
	payload = image + h.setup_size + h.payload_offset;
	*fmt = unpack_detect(payload, h.payload_length);
	if (!unpack_supported(*fmt))
		return unpack_fail(
		    -ENOEXEC, why, whylen,
		    "bzImage payload format %s (starts %02x %02x %02x %02x) is not "
		    "decompressed by kestrel",
		    unpack_format_name(*fmt), payload[0], h.payload_length > 1 ? payload[1] : 0,
		    h.payload_length > 2 ? payload[2] : 0, h.payload_length > 3 ? payload[3] : 0);
	return unpack(*fmt, payload, h.payload_length, max_out, out, outlen, why, whylen);
}
