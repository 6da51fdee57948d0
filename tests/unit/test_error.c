/* test_error.c - the library's one error formatter: a long path never cuts off the reason. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "util/error.h"

static void test_path(void)
{
	char buf[32], longp[6200];
	const char *s;

	TAP_EQ_STR(error_path("/tmp/x.elf", buf, sizeof(buf)), "/tmp/x.elf", "a short path: whole");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	memcpy(longp, "/start/", 7);
	memcpy(longp + sizeof(longp) - 1 - 10, "/guest.elf", 10);
	s = error_path(longp, buf, sizeof(buf));
	TAP_EQ_U64(strlen(s), sizeof(buf) - 1, "a 6 KB path: shortened to fill the buffer");
	TAP_OK(!strncmp(s, "/start", 6), "keeps its start (%s)", s);
	TAP_OK(strstr(s, "...") != NULL, "marks the cut with ...");
	TAP_OK(strlen(s) > 10 && !strcmp(s + strlen(s) - 10, "/guest.elf"),
	       "keeps its end, the file's name");
	/* Exactly len - 1 bytes still fit whole. */
	longp[sizeof(buf) - 1] = '\0';
	TAP_OK(error_path(longp, buf, sizeof(buf)) == longp, "len - 1 bytes: the path itself");
}

static void test_prefix(void)
{
	struct kestrel_error err = {0};
	char longp[6200];
	const char *reason = "not an ELF file (bad magic); kestrel boots ELF64, Linux, multiboot";
	size_t ml;

	error_set(&err, KESTREL_ERR_IMAGE, -ENOEXEC, "%s", reason);
	error_prefix(&err, "/tmp/guest.elf");
	TAP_EQ_STR(err.msg,
		   "/tmp/guest.elf: not an ELF file (bad magic); kestrel boots ELF64, Linux, "
		   "multiboot",
		   "a short prefix, then the reason");
	TAP_EQ_INT(err.cls, KESTREL_ERR_IMAGE, "class kept");
	TAP_EQ_INT(err.err, -ENOEXEC, "errno kept");

	memset(longp, 'd', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	memcpy(longp + sizeof(longp) - 1 - 10, "/guest.elf", 10);
	error_set(&err, KESTREL_ERR_IMAGE, -ENOEXEC, "%s", reason);
	error_prefix(&err, longp);
	ml = strlen(err.msg);
	TAP_OK(ml < sizeof(err.msg), "a 6 KB prefix: the message still fits (%zu bytes)", ml);
	TAP_OK(ml >= strlen(reason) && !strcmp(err.msg + ml - strlen(reason), reason),
	       "the reason survives whole, at the end (%s)", err.msg);
	TAP_OK(strstr(err.msg, "/guest.elf: not an ELF") != NULL,
	       "the file's name stays just before it");
	TAP_OK(strstr(err.msg, "...") != NULL, "the path is cut in its middle");

	/* A message that leaves almost no room: no prefix rather than a cut reason. */
	memset(longp, 'r', 505);
	longp[505] = '\0';
	error_set(&err, KESTREL_ERR_HOST, -EIO, "%s", longp);
	error_prefix(&err, "/some/path/that/does/not/fit");
	TAP_EQ_STR(err.msg, longp, "a 505-byte reason is left alone");
	error_prefix(NULL, "x"); /* must not crash */
	TAP_OK(1, "error_prefix(NULL, ...) is a no-op");
}

int main(void)
{
	test_path();
	test_prefix();
	return tap_done();
}
