/* test_sealed.c - an embedder with its own parse_size, console_init and bus_init links
 * against the sealed libkestrel.a and runs a guest: the library exports only kestrel_*. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "kestrel/kestrel.h"

/* Names libkestrel uses inside. With an unsealed archive these would clash
 * (duplicate symbols) or, worse, be called by the library. */
static int ours;
int parse_size(const char *s, uint64_t *out);
void console_init(void *c);
void bus_init(void *b);
int parse_size(const char *s, uint64_t *out)
{
	ours++;
	*out = 7;
	return 0;
}
void console_init(void *c)
{
	ours++;
}
void bus_init(void *b)
{
	ours++;
}

int main(void)
{
	const char *env = getenv("GUESTS");
	char path[4096], out[4096];
	struct kestrel_config cfg;
	struct kestrel_error err = {0};
	struct kestrel_exit ex = {0};
	struct kestrel_vm *vm = NULL;
	int fds[2], r;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/hello.elf", env ? env : "build/guests");
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf(
		    "# !!!!!!!! no usable /dev/kvm: the sealed-library test is SKIPPED !!!!!!!!\n");
		printf("ok 1 - sealed library # SKIP no usable /dev/kvm\n1..1\n");
		return getenv("CI") && !strcmp(getenv("CI"), "true") ? 1 : 0;
	}
	TAP_OK(pipe(fds) == 0, "a pipe for the console");
	kestrel_config_init(&cfg);
	cfg.console_fd = fds[1];
	r = kestrel_vm_create(&cfg, &vm, &err);
	TAP_EQ_INT(r, 0, "kestrel_vm_create with our own bus_init/console_init defined (%s)",
		   err.msg);
	if (r == 0) {
		TAP_EQ_INT(kestrel_vm_load_file(vm, path, &err), 0, "load %s (%s)", path, err.msg);
		TAP_EQ_INT(kestrel_vm_run(vm, 30000, &ex, &err), 0, "run (%s)", err.msg);
		TAP_EQ_INT(kestrel_exit_status(&ex), 0, "hello exits 0 (%s)", ex.reason);
		kestrel_vm_destroy(vm);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	TAP_OK(strstr(out, "KESTREL-HELLO-OK") != NULL, "the guest's output came through");
	TAP_EQ_INT(ours, 0, "libkestrel called none of the embedder's functions");
	printf("1..%d\n", tap_count_);
	return tap_failed_ ? 1 : 0;
}
