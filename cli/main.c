/* main.c - the kestrel command: parse options, build the VM, run it, turn the outcome into one exit status. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/kestrel.h"
#include "options.h"

static struct kestrel_vm *running_vm;

static void on_stop_signal(int sig)
{
	if (running_vm)
		kestrel_vm_stop(running_vm, sig);
}

/* Which documented status a library failure maps to. */
static int status_for_load_error(int err)
{
	return err == -ENOMEM ? KESTREL_STATUS_HOST : KESTREL_STATUS_IMAGE;
}

static void print_stats(struct kestrel_vm *vm, unsigned ncpus)
{
	struct kestrel_vcpu_stats t = { 0 }, s;

	fprintf(stderr, "kestrel: %-4s %10s %10s %8s %7s %9s %10s %11s %10s %10s %8s\n", "cpu",
		"exits", "io", "mmio", "other", "unhandled", "reg-ioctls", "ioctls/exit",
		"reg-reads", "reg-writes", "flushes");
	for (unsigned i = 0; i < ncpus && kestrel_vm_vcpu_stats(vm, i, &s) == 0; i++) {
		fprintf(stderr,
			"kestrel: %-4u %10llu %10llu %8llu %7llu %9llu %10llu %11.3f %10llu %10llu %8llu\n",
			i, (unsigned long long)s.exits, (unsigned long long)s.io_exits,
			(unsigned long long)s.mmio_exits, (unsigned long long)s.other_exits,
			(unsigned long long)s.unhandled, (unsigned long long)s.reg_ioctls,
			s.exits ? (double)s.reg_ioctls / (double)s.exits : 0.0,
			(unsigned long long)s.reg_reads, (unsigned long long)s.reg_writes,
			(unsigned long long)s.reg_flushes);
		t.exits += s.exits;
		t.reg_ioctls += s.reg_ioctls;
		t.sync_regs = s.sync_regs;
	}
	fprintf(stderr, "kestrel: registers via %s; %llu exits, %llu register ioctls in all\n",
		t.sync_regs ? "the shared kvm_run page (KVM_CAP_SYNC_REGS)" : "ioctls",
		(unsigned long long)t.exits, (unsigned long long)t.reg_ioctls);
}

static int run(const struct cli_options *o)
{
	struct kestrel_error err = { 0 };
	struct kestrel_exit ex = { 0 };
	struct kestrel_vm *vm;
	struct sigaction sa = { .sa_handler = on_stop_signal };
	int r, status;

	r = kestrel_vm_create(&o->cfg, &vm, &err);
	if (r < 0) {
		fprintf(stderr, "kestrel: %s\n", err.msg);
		/* Refusals of the configuration itself are usage errors. */
		return (r == -EINVAL || r == -E2BIG || (r == -ENOMEM && strstr(err.msg, "--mem")))
			       ? KESTREL_STATUS_USAGE
			       : KESTREL_STATUS_HOST;
	}
	r = kestrel_vm_load_elf_file(vm, o->guest, &err);
	if (r < 0) {
		fprintf(stderr, "kestrel: %s\n", err.msg);
		kestrel_vm_destroy(vm);
		return status_for_load_error(r);
	}
	running_vm = vm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = kestrel_vm_run(vm, o->timeout_ms, &ex, &err);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	running_vm = NULL;
	if (r < 0) {
		fprintf(stderr, "kestrel: %s\n", err.msg);
		kestrel_vm_destroy(vm);
		return KESTREL_STATUS_HOST;
	}
	if (o->stats)
		print_stats(vm, o->cfg.ncpus);
	status = kestrel_exit_status(&ex);
	if (status != 0) {
		fprintf(stderr, "kestrel: %s (exit status %d)\n", ex.reason, status);
		if (ex.report[0])
			fprintf(stderr, "%s", ex.report);
	}
	kestrel_vm_destroy(vm);
	return status;
}

int main(int argc, char **argv)
{
	struct cli_options o;
	char why[256];

	if (cli_parse(argc, argv, &o, why, sizeof(why)) < 0) {
		fprintf(stderr, "kestrel: %s\nTry 'kestrel --help' for more information.\n", why);
		return KESTREL_STATUS_USAGE;
	}
	switch (o.command) {
	case CLI_HELP:
		fputs(cli_usage, stdout);
		return 0;
	case CLI_VERSION:
		printf("kestrel %s\n", KESTREL_VERSION);
		return 0;
	case CLI_RUN:
	default:
		return run(&o);
	}
}
