/* test_json.c - unit tests for the JSON validator, path lookup and string writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/json.h"

static int valid(const char *s)
{
	return json_validate(s, strlen(s), NULL, 0) == 0;
}

static void test_validate(void)
{
	static const char *const good[] = {
	    "0",
	    "-0",
	    "1.5e+10",
	    "-12.25E-3",
	    "\"\"",
	    "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"",
	    "true",
	    "false",
	    "null",
	    "[]",
	    "{}",
	    " [ 1 , 2 , {\"a\" : [null]} ] ",
	    "{\"a\":{\"b\":{\"c\":[1,2,3]}},\"d\":\"e\"}",
	};
	static const char *const bad[] = {
	    "",		" ",	   "01",	  "1.",		".5",	     "-",     "1e",
	    "+1",	"[1,]",	   "[,1]",	  "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "\"abc",
	    "\"a\nb\"", "\"\\x\"", "\"\\u12g4\"", "tru",	"nul",	     "[1 2]", "{\"a\":1} x",
	    "[1]]",	"'a'",	   "NaN",	  "Infinity",
	};
	char why[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		TAP_OK(valid(good[i]), "valid: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TAP_OK(!valid(bad[i]), "invalid: '%s'", bad[i]);

	/* Depth limit: 64 nested arrays pass, 65 do not. */
	char deep[200];
	memset(deep, '[', JSON_MAX_DEPTH);
	memset(deep + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	deep[2 * JSON_MAX_DEPTH] = '\0';
	TAP_OK(valid(deep), "%d nested arrays are fine", JSON_MAX_DEPTH);
	memset(deep, '[', JSON_MAX_DEPTH + 1);
	memset(deep + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	deep[2 * JSON_MAX_DEPTH + 2] = '\0';
	TAP_OK(!valid(deep), "%d nested arrays are refused", JSON_MAX_DEPTH + 1);

	TAP_EQ_INT(json_validate("[1,]", 4, why, sizeof(why)), -EINVAL, "error code is -EINVAL");
	TAP_STR_CONTAINS(why, "at byte", "the reason gives an offset");
	/* The length bounds the text: a valid prefix of a longer buffer. */
	TAP_OK(json_validate("[1]garbage", 3, NULL, 0) == 0, "only len bytes are read");
}

static void test_lookup(void)
{
	const char *doc = "{\"a\":1,\"b\":{\"c\":[10,{\"d\":-2.5e1},\"x\"],\"e\":\"s\\\"t\"},"
			  "\"key.dot\":3,\"t\":true}";
	size_t len = strlen(doc);
	char s[16];
	double v = 0;

	TAP_OK(json_get_number(doc, len, "a", &v) == 0 && v == 1, "a = 1");
	TAP_OK(json_get_number(doc, len, "b.c.0", &v) == 0 && v == 10, "b.c.0 = 10");
	TAP_OK(json_get_number(doc, len, "b.c.1.d", &v) == 0 && v == -25, "b.c.1.d = -25");
	TAP_EQ_INT(json_get_number(doc, len, "b.c.3", &v), -ENOENT, "index past the end: -ENOENT");
	TAP_EQ_INT(json_get_number(doc, len, "zz", &v), -ENOENT, "missing key: -ENOENT");
	TAP_EQ_INT(json_get_number(doc, len, "a.b", &v), -ENOENT, "member of a number: -ENOENT");
	TAP_EQ_INT(json_get_number(doc, len, "b.c.x", &v), -ENOENT, "non-numeric index: -ENOENT");
	TAP_EQ_INT(json_get_number(doc, len, "b.c.2", &v), -EINVAL, "a string is not a number");
	TAP_EQ_INT(json_get_number(doc, len, "t", &v), -EINVAL, "true is not a number");
	TAP_OK(json_get_string(doc, len, "b.e", s, sizeof(s)) == 0 && !strcmp(s, "s\"t"),
	       "string with an escape: s\"t");
	TAP_EQ_INT(json_get_string(doc, len, "b.e", s, 3), -ENOSPC, "too small a buffer: -ENOSPC");
	TAP_EQ_INT(json_get_number(doc, len, "", &v), -EINVAL,
		   "empty path names the object itself");
	TAP_EQ_INT(json_get_number("{\"a\":", 5, "a", &v), -EINVAL, "truncated document: -EINVAL");
}

static void test_writer(void)
{
	const char *nasty = "quote\" backslash\\ nl\n tab\t cr\r bell\a e\xc3\xa9";
	char *buf = NULL, back[128];
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	json_write_str(f, nasty);
	fclose(f);
	TAP_OK(json_validate(buf, len, NULL, 0) == 0, "written string is valid JSON: %s", buf);
	TAP_STR_CONTAINS(buf, "\\u0007", "control characters as \\u00XX");
	/* Wrap it in an object to read it back through the path lookup. */
	char doc[256];
	snprintf(doc, sizeof(doc), "{\"s\":%s}", buf);
	TAP_OK(json_get_string(doc, strlen(doc), "s", back, sizeof(back)) == 0 &&
		   !strcmp(back, nasty),
	       "string round-trips through writer and reader");
	free(buf);
}

int main(void)
{
	test_validate();
	test_lookup();
	test_writer();
	return tap_done();
}
