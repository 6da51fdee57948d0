/* guest-decompress.c - boot a Linux bzImage with its own decompressor in the guest (libkestrel's
 * no_host_decompress), for A/B runs. */

/*
 * usage: guest-decompress [-t SECS] [-m MIB] [-c CPUS] [-i INITRD] [-p CMDLINE] [-H] BZIMAGE
 *
 * `kestrel run` has no option for kestrel_config.no_host_decompress (2026-12-01), so
 * this is the same boot as `kestrel run --stats --timeout SECS -m MIB --cpus CPUS
 * --initrd INITRD --cmdline CMDLINE BZIMAGE` with that one field set (-H: left clear,
 * the host decompresses, so the two can be compared through the same program). The
 * console is stdout, kestrel's messages and the --stats report go to stderr, and the
 * exit status is kestrel's (kestrel_exit_status; 124 timeout; 2 bad usage, 1 when the VM
 * could not be built or loaded).
 *
 * Build: cc -O2 -Iinclude -o build/bench/guest-decompress bench/guest-decompress.c \
 *            build/libkestrel.a -llzma -llz4 -lzstd -lz -pthread
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kestrel/kestrel.h"

#define USAGE                                                                                      \
	"usage: guest-decompress [-t SECS] [-m MIB] [-c CPUS] [-i INITRD] [-p CMDLINE] [-H] "      \
	"BZIMAGE\n"

static struct kestrel_vm *running;

static void on_signal(int signo)
{
	if (running)
		kestrel_vm_stop(running, signo);
}

int main(int argc, char **argv)
{
	struct kestrel_config cfg;
	struct kestrel_error err = {0};
	struct kestrel_exit ex = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	struct kestrel_vm *vm;
	struct timespec ts;
	uint64_t timeout_ms = 240000;
	int c;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	kestrel_config_init(&cfg);
	cfg.t0_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	cfg.mem_size = 256ull << 20;
	cfg.no_host_decompress = true;
	while ((c = getopt(argc, argv, "t:m:c:i:p:H")) != -1) {
		switch (c) {
		case 't':
			timeout_ms = strtoull(optarg, NULL, 10) * 1000u;
			break;
		case 'm':
			cfg.mem_size = strtoull(optarg, NULL, 10) << 20;
			break;
		case 'c':
			cfg.ncpus = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			cfg.initrd = optarg;
			break;
		case 'p':
			cfg.cmdline = optarg;
			break;
		case 'H':
			cfg.no_host_decompress = false;
			break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !timeout_ms || !cfg.mem_size || !cfg.ncpus) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (kestrel_vm_create(&cfg, &vm, &err) < 0 ||
	    kestrel_vm_load_file(vm, argv[optind], &err) < 0) {
		fprintf(stderr, "guest-decompress: %s\n", err.msg);
		return 1;
	}
	running = vm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (kestrel_vm_run(vm, timeout_ms, &ex, &err) < 0) {
		fprintf(stderr, "guest-decompress: %s\n", err.msg);
		return 1;
	}
	running = NULL;
	fprintf(stderr, "guest-decompress: %s: %s\n", kestrel_exit_kind_name(ex.kind), ex.reason);
	if (ex.report[0])
		fprintf(stderr, "%s\n", ex.report);
	kestrel_vm_print_stats(vm, stderr);
	c = kestrel_exit_status(&ex);
	kestrel_vm_destroy(vm);
	return c;
}
