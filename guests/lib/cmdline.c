/* cmdline.c - reading numbers from the boot info command line. */
#include "guest.h"

const char *cmdline_str(const struct kestrel_boot_info *bi, size_t *len)
{
	size_t max = bi->cmdline_len;
	size_t n = 0;

	if (max > KESTREL_CMDLINE_MAX - 1)
		max = KESTREL_CMDLINE_MAX - 1;
	while (n < max && bi->cmdline[n] != '\0')
		n++;
	*len = n;
	return bi->cmdline;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool cmdline_uint(const struct kestrel_boot_info *bi, unsigned index, uint64_t *out)
{
	size_t len, i = 0;
	const char *s = cmdline_str(bi, &len);
	unsigned seen = 0;

	while (i < len) {
		bool starts = is_digit(s[i]) &&
			      (i == 0 || is_blank(s[i - 1]) || s[i - 1] == ',' || s[i - 1] == '=');
		uint64_t v = 0;
		bool overflow = false;
		size_t j = i;

		if (!starts) {
			i++;
			continue;
		}
		while (j < len && is_digit(s[j])) {
			unsigned d = (unsigned)(s[j] - '0');

			if (v > (UINT64_MAX - d) / 10)
				overflow = true;
			v = v * 10 + d;
			j++;
		}
		if (j == len || is_blank(s[j]) || s[j] == ',') {
			if (seen == index) {
				if (overflow)
					return false;
				*out = v;
				return true;
			}
			seen++;
		}
		i = j;
	}
	return false;
}

uint64_t cmdline_uint_or(const struct kestrel_boot_info *bi, uint64_t def)
{
	uint64_t v;

	return cmdline_uint(bi, 0, &v) ? v : def;
}

bool cmdline_has_word(const struct kestrel_boot_info *bi, const char *w)
{
	size_t len, wl = strlen(w);
	const char *s = cmdline_str(bi, &len);

	for (size_t i = 0; i + wl <= len; i++)
		if ((i == 0 || s[i - 1] == ' ') && !memcmp(s + i, w, wl) &&
		    (i + wl == len || s[i + wl] == ' '))
			return true;
	return false;
}
