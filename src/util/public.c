/* public.c - the util helpers exported as kestrel_* (include/kestrel/util.h); the library's own
 * names stay hidden. */
#include "kestrel/util.h"

#include "util/json.h"
#include "util/size.h"

int kestrel_parse_size(const char *s, uint64_t *out)
{
	return parse_size(s, out);
}

int kestrel_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_uint(s, min, max, out);
}

const char *kestrel_format_size(uint64_t bytes, char *buf, unsigned buflen)
{
	return format_size(bytes, buf, buflen);
}

void kestrel_json_write_str(FILE *f, const char *s)
{
	json_write_str(f, s);
}

int kestrel_json_validate(const char *text, size_t len, char *why, size_t whylen)
{
	return json_validate(text, len, why, whylen);
}

int kestrel_json_get_number(const char *text, size_t len, const char *path, double *out)
{
	return json_get_number(text, len, path, out);
}

int kestrel_json_get_string(const char *text, size_t len, const char *path, char *buf,
			    size_t buflen)
{
	return json_get_string(text, len, path, buf, buflen);
}
