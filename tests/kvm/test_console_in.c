/* test_console_in.c - guest console input through the library: kestrel_vm_console_input, its
 * bound and errors, console_in_fd with back-pressure and the escape, checked by the serial-echo
 * guest's count and checksum. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "kestrel/kestrel.h"

/* Usage: test_console_in [DIR]  (guests folder: default $GUESTS, else build/guests) */

static char guest[4096];
static char out[1 << 16];
static size_t out_len;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void capture(void *opaque, const void *buf, size_t len)
{
	(void)opaque;
	pthread_mutex_lock(&out_lock);
	if (out_len + len < sizeof(out)) {
		memcpy(out + out_len, buf, len);
		out_len += len;
		out[out_len] = '\0';
	}
	pthread_mutex_unlock(&out_lock);
}

static bool out_has(const char *s)
{
	pthread_mutex_lock(&out_lock);
	bool r = strstr(out, s) != NULL;
	pthread_mutex_unlock(&out_lock);
	return r;
}

/* The guest's checksum: FNV-1a 32. */
static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 0x811c9dc5u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* A VM running serial-echo with `args`; the console into out[]. */
static struct kestrel_vm *vm_new(const char *args, int in_fd, unsigned char escape)
{
	struct kestrel_config cfg;
	struct kestrel_error err = {0};
	struct kestrel_vm *vm;

	kestrel_config_init(&cfg);
	cfg.cmdline = args;
	cfg.console_cb = capture;
	cfg.console_in = in_fd >= 0;
	cfg.console_in_fd = in_fd;
	cfg.console_escape = escape;
	out_len = 0;
	out[0] = '\0';
	if (kestrel_vm_create(&cfg, &vm, &err) < 0 ||
	    kestrel_vm_load_elf_file(vm, guest, &err) < 0) {
		tap_diag("%s", err.msg);
		return NULL;
	}
	return vm;
}

static struct kestrel_exit run(struct kestrel_vm *vm)
{
	struct kestrel_exit ex = {0};
	struct kestrel_error err = {0};

	if (kestrel_vm_run(vm, 60000, &ex, &err) < 0)
		tap_diag("run: %s", err.msg);
	return ex;
}

/* Whether out[] has the guest's marker for n bytes with checksum h. */
static bool marker(size_t n, uint32_t h)
{
	char want[96];

	snprintf(want, sizeof(want), "bytes=%zu fnv=0x%08x", n, h);
	if (!strstr(out, want)) {
		tap_diag("wanted '%s' in: %.300s", want, out);
		return false;
	}
	return true;
}

static void test_api_before_run(void)
{
	struct kestrel_vm *vm = vm_new("n=5", -1, 0);
	struct kestrel_exit ex;

	if (!TAP_OK(vm, "a VM with serial-echo"))
		return;
	TAP_EQ_INT(kestrel_vm_console_input(NULL, "x", 1), -EINVAL, "NULL vm: -EINVAL");
	TAP_EQ_INT(kestrel_vm_console_input(vm, NULL, 1), -EINVAL, "NULL buf with len 1: -EINVAL");
	TAP_EQ_INT(kestrel_vm_console_input(vm, NULL, 0), 0, "len 0: takes nothing");
	TAP_EQ_INT(kestrel_vm_console_input(vm, "hel", 3), 3, "before the run: taken");
	TAP_EQ_INT(kestrel_vm_console_input(vm, "lo", 2), 2, "and more");
	ex = run(vm);
	TAP_OK(ex.kind == KESTREL_EXIT_GUEST && ex.status == 5,
	       "the guest read 5 bytes (kind %d, %d)", ex.kind, ex.status);
	TAP_OK(strstr(out, "HELLO") != NULL, "and echoed them in upper case");
	TAP_OK(marker(5, fnv((const uint8_t *)"hello", 5)), "in order, checksum right");
	TAP_EQ_INT(kestrel_vm_console_input(vm, "x", 1), -EPIPE, "after the run: -EPIPE");
	kestrel_vm_destroy(vm);
}

static uint8_t big[20000];

static void test_api_bound(void)
{
	struct kestrel_vm *vm = vm_new("n=4096 quiet", -1, 0);
	struct kestrel_exit ex;

	if (!TAP_OK(vm, "a VM for the bound"))
		return;
	TAP_EQ_INT(kestrel_vm_console_input(vm, big, 5000), (int)KESTREL_CONSOLE_IN_MAX,
		   "5000 bytes given: KESTREL_CONSOLE_IN_MAX (4096) taken");
	/* The UART's own FIFO (1 byte before the guest enables its FIFOs) took some. */
	int more = 0, r;
	while ((r = kestrel_vm_console_input(vm, big + 4096 + more, 1)) == 1 && more < 100)
		more++;
	TAP_OK(r == 0 && more <= 16, "then, past what the UART took (%d), 0: full, try later",
	       more);
	ex = run(vm);
	TAP_OK(ex.kind == KESTREL_EXIT_GUEST && ex.status == 96, "the guest read 4096 (status %d)",
	       ex.status);
	TAP_OK(marker(4096, fnv(big, 4096)), "exactly the first 4096 bytes");
	kestrel_vm_destroy(vm);
}

struct feeder {
	struct kestrel_vm *vm;
	size_t given;
	unsigned zeros; /* calls that found the buffer full */
};

static void *feed(void *arg)
{
	struct feeder *fd = arg;

	while (fd->given < sizeof(big)) {
		int r = kestrel_vm_console_input(fd->vm, big + fd->given, sizeof(big) - fd->given);
		if (r < 0)
			break;
		if (r == 0) {
			fd->zeros++;
			usleep(1000);
		}
		fd->given += (size_t)r;
	}
	return NULL;
}

static void test_api_thread(void)
{
	char args[32];
	struct feeder fdr;
	struct kestrel_exit ex;
	pthread_t t;

	snprintf(args, sizeof(args), "n=%zu quiet", sizeof(big));
	fdr = (struct feeder){.vm = vm_new(args, -1, 0)};
	if (!TAP_OK(fdr.vm, "a VM for a feeding thread"))
		return;
	pthread_create(&t, NULL, feed, &fdr);
	ex = run(fdr.vm);
	pthread_join(t, NULL);
	TAP_OK(ex.kind == KESTREL_EXIT_GUEST && fdr.given == sizeof(big),
	       "another thread fed 20000 bytes while it ran (kind %d, %zu given)", ex.kind,
	       fdr.given);
	TAP_OK(fdr.zeros > 0, "the 4 KiB bound pushed back (%u calls found it full)", fdr.zeros);
	TAP_OK(marker(sizeof(big), fnv(big, sizeof(big))), "no byte lost, doubled or reordered");
	kestrel_vm_destroy(fdr.vm);
}

/* console_in_fd: a pipe written ahead, larger than the bound: back-pressure, then EOF. */
static void test_fd(void)
{
	struct kestrel_vm *vm;
	struct kestrel_exit ex;
	int p[2];

	if (!TAP_OK(pipe(p) == 0, "pipe"))
		return;
	/* 20000 bytes fit the pipe (64 KiB on Linux): written ahead, then EOF. */
	if (!TAP_OK(write(p[1], big, sizeof(big)) == (ssize_t)sizeof(big), "input written ahead"))
		return;
	close(p[1]);
	vm = vm_new("n=20000 quiet", p[0], 0);
	if (!TAP_OK(vm, "a VM reading a pipe"))
		return;
	ex = run(vm);
	TAP_OK(ex.kind == KESTREL_EXIT_GUEST && ex.status == 0,
	       "console_in_fd: the guest read all 20000 bytes (kind %d)", ex.kind);
	TAP_OK(marker(sizeof(big), fnv(big, sizeof(big))), "through the 4 KiB bound, none lost");
	kestrel_vm_destroy(vm);
	close(p[0]);
}

struct runner {
	struct kestrel_vm *vm;
	struct kestrel_exit ex;
};

static void *run_thread(void *arg)
{
	struct runner *rn = arg;

	rn->ex = run(rn->vm);
	return NULL;
}

/* The escape: ESC ESC is one ESC for the guest, ESC x stops the VM. */
static void test_escape(void)
{
	static const char in[] = "a\x01\x01"
				 "b\x01zc";
	struct runner rn;
	struct kestrel_exit ex;
	pthread_t t;
	int p[2], i;

	if (!TAP_OK(pipe(p) == 0, "pipe") ||
	    !TAP_OK(write(p[1], in, sizeof(in) - 1) == (ssize_t)sizeof(in) - 1, "escapes written"))
		return;
	rn.vm = vm_new("", p[0], 0x01);
	if (!TAP_OK(rn.vm, "a VM with the escape Ctrl-A"))
		return;
	pthread_create(&t, NULL, run_thread, &rn);
	for (i = 0; i < 2000 && !out_has("A\x01"
					 "BC");
	     i++)
		usleep(10000);
	if (write(p[1], "\x01x", 2) != 2)
		tap_diag("write: %s", strerror(errno));
	pthread_join(t, NULL);
	ex = rn.ex;
	TAP_OK(ex.kind == KESTREL_EXIT_STOPPED && ex.status == SIGINT,
	       "ESC x: kind stopped, SIGINT (kind %d, status %d)", ex.kind, ex.status);
	TAP_OK(strstr(ex.reason, "Ctrl-A x") != NULL, "the reason names it: %s", ex.reason);
	TAP_OK(strstr(out, "A\x01"
			   "BC") != NULL,
	       "the guest got a, one Ctrl-A, b, c: ESC z was dropped (%.80s)", out);
	kestrel_vm_destroy(rn.vm);
	close(p[0]);
	close(p[1]);
}

static void test_config(void)
{
	struct kestrel_config cfg;
	struct kestrel_error err = {0};
	struct kestrel_vm *vm = NULL;

	kestrel_config_init(&cfg);
	TAP_OK(!cfg.console_in && !cfg.console_escape, "kestrel_config_init: no console input");
	cfg.console_in = true;
	cfg.console_in_fd = -1;
	TAP_EQ_INT(kestrel_vm_create(&cfg, &vm, &err), -EBADF, "console_in with fd -1: -EBADF");
	TAP_OK(err.cls == KESTREL_ERR_CONFIG && strstr(err.msg, "console_in_fd"),
	       "a config error that names the field: %s", err.msg);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("GUESTS");

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf(
		    "# !!!!!!!! no usable /dev/kvm: the console-input test is SKIPPED !!!!!!!!\n");
		printf("ok 1 - console input # SKIP no usable /dev/kvm\n1..1\n");
		return getenv("CI") && !strcmp(getenv("CI"), "true") ? 1 : 0;
	}
	snprintf(guest, sizeof(guest), "%s/serial-echo.elf", dir ? dir : "build/guests");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)((i * 2654435761u) >> 13);
	test_config();
	test_api_before_run();
	test_api_bound();
	test_api_thread();
	test_fd();
	test_escape();
	return tap_done();
}
