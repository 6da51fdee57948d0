/* embed.c - the smallest libkestrel embedder: create a VM, load a guest, run it, read its status
 * and counters. */
/*
 * Builds as C and as C++ against an installed libkestrel:
 *
 *     cc  examples/embed.c $(pkg-config --cflags --libs kestrel) -o embed
 *     c++ -x c++ examples/embed.c $(pkg-config --cflags --libs kestrel) -o embed++
 *     ./embed build/guests/hello.elf "some guest arguments"
 *
 * The guest's console goes to a callback into memory (no pipe to juggle);
 * the program prints it afterwards with the exit status and a few counters.
 */
#include <stdio.h>
#include <string.h>

#include <kestrel/kestrel.h>

/* Guest console output, collected by console_cb. The callback runs on vCPU
 * threads under their seccomp filter: it copies memory and nothing else. */
struct console_buf {
	char text[16384];
	size_t len;
	size_t dropped;
};

static void on_console(void *opaque, const void *buf, size_t len)
{
	struct console_buf *c = (struct console_buf *)opaque;
	size_t room = sizeof(c->text) - 1 - c->len;
	size_t n = len < room ? len : room;

	memcpy(c->text + c->len, buf, n);
	c->len += n;
	c->dropped += len - n;
}

int main(int argc, char **argv)
{
	static struct console_buf console;
	static struct kestrel_exit ex; /* ~2 KiB of report: not on the stack */
	struct kestrel_config cfg;
	struct kestrel_error err;
	struct kestrel_vcpu_stats vs;
	struct kestrel_fastpath_stats fs;
	struct kestrel_vm *vm;

	if (argc < 2) {
		fprintf(stderr, "usage: %s GUEST [ARGS]\n", argv[0]);
		return 2;
	}
	if (strcmp(kestrel_version(), KESTREL_VERSION) != 0)
		fprintf(stderr, "embed: built against kestrel.h %s, running libkestrel %s\n",
			KESTREL_VERSION, kestrel_version());

	kestrel_config_init(&cfg); /* always: it sets cfg.size, which the library checks */
	cfg.mem_size = 32ull << 20;
	cfg.cmdline = argc > 2 ? argv[2] : "";
	cfg.console_cb = on_console;
	cfg.console_opaque = &console;
	cfg.verbosity = -1; /* the embedder reports; the library stays quiet */

	if (kestrel_vm_create(&cfg, &vm, &err) < 0) {
		fprintf(stderr, "embed: %s\n", err.msg);
		return 1;
	}
	if (kestrel_vm_load_file(vm, argv[1], &err) < 0 ||
	    kestrel_vm_run(vm, 10000 /* ms */, &ex, &err) < 0) {
		fprintf(stderr, "embed: %s\n", err.msg);
		kestrel_vm_destroy(vm);
		return 1;
	}
	kestrel_vm_vcpu_stats(vm, 0, &vs);
	kestrel_vm_fastpath_stats(vm, &fs);

	printf("embed: libkestrel %s\n", kestrel_version());
	printf("embed: console (%zu bytes%s):\n%.*s", console.len,
	       console.dropped ? ", truncated" : "", (int)console.len, console.text);
	printf("embed: exit kind %s, guest status %d, process status %d: %s\n",
	       kestrel_exit_kind_name(ex.kind), ex.status, kestrel_exit_status(&ex), ex.reason);
	printf("embed: vCPU 0: %llu exits (%llu port I/O), %llu console writes\n",
	       (unsigned long long)vs.exits, (unsigned long long)vs.io_exits,
	       (unsigned long long)fs.console_writes);
	kestrel_vm_destroy(vm);
	return kestrel_exit_status(&ex);
}
