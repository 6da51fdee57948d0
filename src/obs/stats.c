/* stats.c - the after-run report: exit profiles, register and KVM counters, timeline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "obs/kvmstats.h"
#include "obs/profile.h"
#include "util/json.h"
#include "core/vm.h"

_Static_assert(BUS_MAX_MMIO <= PROFILE_MMIO_DEVS, "the profile needs a row per MMIO device");

static const char *stats_pio_name(const void *ctx, uint16_t port)
{
	const struct bus_dev *d = bus_find_pio(&((const struct kestrel_vm *)ctx)->bus, port);

	return d ? d->name : NULL;
}

static const char *stats_mmio_name(const void *ctx, unsigned i, uint64_t *base, uint64_t *len)
{
	const struct bus *b = &((const struct kestrel_vm *)ctx)->bus;

	if (i >= b->nmmio)
		return NULL;
	*base = b->mmio[i].base;
	*len = b->mmio[i].len;
	return b->mmio[i].name;
}

const char *kestrel_exit_kind_name(enum kestrel_exit_kind k)
{
	static const char *const names[] = {
	    [KESTREL_EXIT_NONE] = "none",
	    [KESTREL_EXIT_GUEST] = "guest",
	    [KESTREL_EXIT_DEBUG_EXIT] = "debug_exit",
	    [KESTREL_EXIT_POWEROFF] = "poweroff",
	    [KESTREL_EXIT_RESET] = "reset",
	    [KESTREL_EXIT_TRIPLE_FAULT] = "triple_fault",
	    [KESTREL_EXIT_GUEST_ERROR] = "guest_error",
	    [KESTREL_EXIT_STRICT] = "strict",
	    [KESTREL_EXIT_TIMEOUT] = "timeout",
	    [KESTREL_EXIT_STOPPED] = "stopped",
	    [KESTREL_EXIT_HOST_ERROR] = "host_error",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "unknown";
}

/* The whole VM's profile: every vCPU merged (heap: it is ~35 KiB). */
static struct profile_cpu *stats_merge(const struct kestrel_vm *vm)
{
	struct profile_cpu *all = malloc(sizeof(*all));

	if (!all)
		return NULL;
	profile_cpu_init(all, &vm->clock, !vm->cfg.no_profile);
	for (unsigned i = 0; i < vm->ncpus; i++)
		profile_merge(all, &vm->vcpus[i].prof);
	return all;
}

/* ---- KVM's own counters ---- */

/* Read once per report, after the run: they no longer change. */
struct stats_kvm {
	int err; /* 0, -ENOTSUP without KVM_CAP_BINARY_STATS_FD, or what a read failed with */
	struct kvmstats vm;
	struct kvmstats *cpu; /* one per vCPU */
};

static void stats_kvm_read(const struct kestrel_vm *vm, struct stats_kvm *k)
{
	memset(k, 0, sizeof(*k));
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) <= 0) {
		k->err = -ENOTSUP;
		return;
	}
	k->cpu = calloc(vm->ncpus, sizeof(*k->cpu));
	if (!k->cpu) {
		k->err = -ENOMEM;
		return;
	}
	k->err = kvmstats_read(vm->vm_fd, &k->vm);
	for (unsigned i = 0; i < vm->ncpus && k->err == 0; i++)
		k->err = kvmstats_read(vm->vcpus[i].fd, &k->cpu[i]);
}

static void stats_kvm_free(struct stats_kvm *k, unsigned ncpus)
{
	kvmstats_free(&k->vm);
	if (k->cpu)
		for (unsigned i = 0; i < ncpus; i++)
			kvmstats_free(&k->cpu[i]);
	free(k->cpu);
}

static uint64_t stats_kvm_total(const struct stats_kvm *k, unsigned ncpus, const char *name)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < ncpus; i++)
		t += kvmstats_get(&k->cpu[i], name, NULL);
	return t;
}

/* The vCPU counters the text report shows, and what each means. */
static const struct {
	const char *name, *meaning;
} stats_kvm_shown[] = {
    {"exits", "VM exits KVM handled, in the kernel or passed on to kestrel"},
    {"io_exits", "port I/O exits KVM passed on from a hardware I/O exit"},
    {"mmio_exits", "MMIO exits KVM passed on to userspace"},
    {"halt_exits", "HLT exits"},
    {"irq_exits", "exits for a host interrupt"},
    {"signal_exits", "KVM_RUN returns for a pending signal (stop requests)"},
    {"request_irq_exits", "exits to let userspace inject an interrupt"},
    {"irq_window_exits", "exits waiting for the guest to accept an interrupt"},
    {"insn_emulation", "guest instructions run by KVM's instruction emulator"},
    {"insn_emulation_fail", "instructions the emulator could not run"},
    {"hypercalls", "KVM's own (vmcall/vmmcall) hypercalls"},
    {"halt_wait_ns", "time halted, waiting for an event (ns)"},
    {"halt_successful_poll", "halts ended by polling"},
    {"pf_taken", "guest page faults KVM handled"},
    {"tlb_flush", "guest TLB flushes"},
    {"fpu_reload", "guest FPU state reloads"},
    {"irq_injections", "interrupts injected"},
};

/* Exits kestrel saw: the profile's count, or with --no-profile the run loop's own counter. */
static uint64_t stats_user_exits(const struct kestrel_vm *vm, const struct profile_cpu *all)
{
	uint64_t n = 0;

	if (!vm->cfg.no_profile && all)
		return profile_exits(all);
	for (unsigned i = 0; i < vm->ncpus; i++)
		n += vm->vcpus[i].stats.exits;
	return n;
}

static uint64_t stats_user_io(const struct kestrel_vm *vm, const struct profile_cpu *all)
{
	uint64_t n = 0;

	if (!vm->cfg.no_profile && all)
		return all->host[KVM_EXIT_IO].n;
	for (unsigned i = 0; i < vm->ncpus; i++)
		n += vm->vcpus[i].stats.io_exits;
	return n;
}

/* What KVM's counters mean next to kestrel's, on this host. */
static void stats_kvm_note(FILE *f, const struct stats_kvm *k, const struct kestrel_vm *vm,
			   const struct profile_cpu *all)
{
	unsigned ncpus = vm->ncpus;
	uint64_t kexits = stats_kvm_total(k, ncpus, "exits");
	uint64_t kio = stats_kvm_total(k, ncpus, "io_exits");
	uint64_t emul = stats_kvm_total(k, ncpus, "insn_emulation");
	uint64_t uio = stats_user_io(vm, all), uexits = stats_user_exits(vm, all);

	fprintf(f,
		"  kestrel saw %llu of KVM's %llu exits (%llu port I/O); "
		"KVM kept %llu in the kernel.\n",
		(unsigned long long)uexits, (unsigned long long)kexits, (unsigned long long)uio,
		(unsigned long long)(kexits > uexits ? kexits - uexits : 0));
	if (!emul || kio >= uio)
		return;
	fprintf(f,
		"  On this host KVM ran guest code in its instruction emulator\n"
		"  (insn_emulation %llu): port accesses made while emulating reach kestrel\n"
		"  with no hardware I/O exit, so io_exits (%llu) misses them, and those KVM\n"
		"  answers itself (in-kernel PIT, ...) show in no exit counter at all;\n"
		"  perf stat -e kvm:kvm_pio,kvm:kvm_mmio,kvm:kvm_userspace_exit counts exactly.\n",
		(unsigned long long)emul, (unsigned long long)kio);
}

static void stats_print_kvm(const struct kestrel_vm *vm, FILE *f, const struct profile_cpu *all)
{
	struct stats_kvm k;

	stats_kvm_read(vm, &k);
	if (k.err == -ENOTSUP) {
		fprintf(f, "kestrel: KVM's own counters: not available (this KVM lacks "
			   "KVM_CAP_BINARY_STATS_FD, added in Linux 5.14)\n");
		stats_kvm_free(&k, vm->ncpus);
		return;
	}
	if (k.err < 0) {
		fprintf(f, "kestrel: KVM's own counters: cannot read them: %s\n", strerror(-k.err));
		stats_kvm_free(&k, vm->ncpus);
		return;
	}
	fprintf(f, "kestrel: KVM's own counters (KVM_GET_STATS_FD, read after the run; %s)\n",
		k.vm.id);
	fprintf(f, "  %-22s", "counter");
	if (vm->ncpus > 1)
		for (unsigned i = 0; i < vm->ncpus; i++)
			fprintf(f, "       vCPU %-2u", i);
	fprintf(f, " %12s  %s\n", vm->ncpus > 1 ? "total" : "vCPU 0", "meaning");
	for (size_t s = 0; s < sizeof(stats_kvm_shown) / sizeof(stats_kvm_shown[0]); s++) {
		int found;
		kvmstats_get(&k.cpu[0], stats_kvm_shown[s].name, &found);
		if (!found)
			continue;
		fprintf(f, "  %-22s", stats_kvm_shown[s].name);
		if (vm->ncpus > 1)
			for (unsigned i = 0; i < vm->ncpus; i++)
				fprintf(f, " %12llu",
					(unsigned long long)kvmstats_get(
					    &k.cpu[i], stats_kvm_shown[s].name, NULL));
		fprintf(f, " %12llu  %s\n",
			(unsigned long long)stats_kvm_total(&k, vm->ncpus, stats_kvm_shown[s].name),
			stats_kvm_shown[s].meaning);
	}
	fprintf(f, "  VM:");
	for (unsigned i = 0; i < k.vm.n; i++)
		if (k.vm.stat[i].size == 1 && k.vm.stat[i].values[0])
			fprintf(f, " %s %llu", k.vm.stat[i].name,
				(unsigned long long)k.vm.stat[i].values[0]);
	fprintf(f, " (the rest 0)\n");
	stats_kvm_note(f, &k, vm, all);
	stats_kvm_free(&k, vm->ncpus);
}

static void stats_json_kvmstats(FILE *f, const struct kvmstats *s)
{
	fputs("{\"id\":", f);
	json_write_str(f, s->id);
	fputs(",\"stats\":{", f);
	for (unsigned i = 0; i < s->n; i++) {
		const struct kvmstat *st = &s->stat[i];
		fputs(i ? "," : "", f);
		json_write_str(f, st->name);
		if (st->size == 1) {
			fprintf(f, ":%llu", (unsigned long long)st->values[0]);
			continue;
		}
		fprintf(f, ":{\"type\":\"%s\",\"values\":[", kvmstats_type_name(st->flags));
		for (unsigned j = 0; j < st->size; j++)
			fprintf(f, "%s%llu", j ? "," : "", (unsigned long long)st->values[j]);
		fputs("]}", f);
	}
	fputs("}}", f);
}

static void stats_json_kvm(const struct kestrel_vm *vm, FILE *f, const struct profile_cpu *all)
{
	struct stats_kvm k;

	stats_kvm_read(vm, &k);
	if (k.err < 0) {
		fprintf(f, "{\"available\":false,\"why\":");
		json_write_str(f,
			       k.err == -ENOTSUP ? "no KVM_CAP_BINARY_STATS_FD" : strerror(-k.err));
		fputc('}', f);
		stats_kvm_free(&k, vm->ncpus);
		return;
	}
	uint64_t kexits = stats_kvm_total(&k, vm->ncpus, "exits"),
		 uexits = stats_user_exits(vm, all);
	fprintf(f,
		"{\"available\":true,\"kvm_exits\":%llu,\"userspace_exits\":%llu,"
		"\"in_kernel_exits\":%llu,\"vm\":",
		(unsigned long long)kexits, (unsigned long long)uexits,
		(unsigned long long)(kexits > uexits ? kexits - uexits : 0));
	stats_json_kvmstats(f, &k.vm);
	fputs(",\"vcpus\":[", f);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		fputs(i ? "," : "", f);
		stats_json_kvmstats(f, &k.cpu[i]);
	}
	fputs("],\"vcpu_total\":{", f);
	for (unsigned i = 0, first = 1; i < k.cpu[0].n; i++) {
		const struct kvmstat *st = &k.cpu[0].stat[i];
		if (st->size != 1 || (st->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE)
			continue;
		fputs(first ? "" : ",", f);
		json_write_str(f, st->name);
		fprintf(f, ":%llu", (unsigned long long)stats_kvm_total(&k, vm->ncpus, st->name));
		first = 0;
	}
	fputs("}}", f);
	stats_kvm_free(&k, vm->ncpus);
}

/* ---- the boot timeline ---- */

enum {
	TL_KVM_READY,
	TL_LOADED,
	TL_RUN_START,
	TL_FIRST_ENTRY,
	TL_CONSOLE,
	TL_EXIT,
	TL_RUN_END,
	TL_N
};

static const struct {
	const char *key, *label, *meaning;
} stats_tl_names[TL_N] = {
    [TL_KVM_READY] = {"kvm_ready", "KVM ready",
		      "/dev/kvm open; VM, RAM, devices, CPUID table created"},
    [TL_LOADED] = {"guest_loaded", "guest memory loaded",
		   "image copied into guest RAM; irqchip, PIT, vCPUs its plan asks for created"},
    [TL_RUN_START] = {"run_start", "run start", "kestrel_vm_run() called"},
    [TL_FIRST_ENTRY] = {"first_entry", "first guest entry",
			"first KVM_RUN (threads started, start registers set)"},
    [TL_CONSOLE] = {"first_console_byte", "first console byte",
		    "the guest's first output reached kestrel"},
    [TL_EXIT] = {"guest_exit", "guest exit",
		 "the event that ended the run (exit hypercall, crash, signal)"},
    [TL_RUN_END] = {"run_end", "run end", "vCPU threads joined"},
};

/* Milestones in CLOCK_MONOTONIC ns (0: did not happen). */
static void stats_timeline(const struct kestrel_vm *vm, uint64_t t[TL_N])
{
	uint64_t first = 0;

	for (unsigned i = 0; i < vm->ncpus; i++) {
		uint64_t f = vm->vcpus[i].prof.first_entry;
		if (f && (!first || f < first))
			first = f;
	}
	t[TL_KVM_READY] = vm->tl.kvm_ready;
	t[TL_LOADED] = vm->tl.loaded;
	t[TL_RUN_START] = vm->tl.run_start;
	/* The TSC of the first entry, placed on CLOCK_MONOTONIC through the
	 * pair the clock took at VM creation. */
	t[TL_FIRST_ENTRY] =
	    first ? vm->clock.mono0_ns +
			profile_ticks_to_ns(vm->clock.mult, profile_delta(vm->clock.tsc0, first))
		  : 0;
	t[TL_CONSOLE] = atomic_load(&vm->tl.console);
	t[TL_EXIT] = vm->tl.stop;
	t[TL_RUN_END] = vm->tl.run_end;
}

static double stats_us_since(const struct kestrel_vm *vm, uint64_t t)
{
	return t >= vm->tl.start ? (double)(t - vm->tl.start) / 1e3
				 : -(double)(vm->tl.start - t) / 1e3;
}

/* Memory at the report: guest RAM the guest (or kestrel) touched, by
 * mincore() over every region (a page read but never written counts too),
 * and the process's resident set and its peak (/proc/self/status, kB). */
struct stats_mem {
	uint64_t guest_kib, rss_kib, hwm_kib;
};

static void stats_memory(const struct kestrel_vm *vm, struct stats_mem *m)
{
	long page = sysconf(_SC_PAGESIZE);
	char line[128];
	FILE *st;

	*m = (struct stats_mem){0};
	for (unsigned i = 0; page > 0 && i < vm->mem.nregions; i++) {
		const struct guest_mem_region *r = &vm->mem.r[i];
		size_t n = (size_t)((r->size + (uint64_t)page - 1) / (uint64_t)page);
		unsigned char *vec = r->host ? malloc(n) : NULL;

		if (vec && mincore(r->host, r->size, vec) == 0)
			for (size_t j = 0; j < n; j++)
				m->guest_kib += (vec[j] & 1) ? (uint64_t)page / 1024 : 0;
		free(vec);
	}
	/* Under confine_caller this thread cannot open: kestrel_vm_run opened it. */
	if (vm->proc_status_fd >= 0) {
		char buf[4096];
		ssize_t n = pread(vm->proc_status_fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			return;
		buf[n] = '\0';
		for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			unsigned long long v;
			if (sscanf(l, "VmRSS: %llu", &v) == 1)
				m->rss_kib = v;
			else if (sscanf(l, "VmHWM: %llu", &v) == 1)
				m->hwm_kib = v;
		}
		return;
	}
	if (!(st = fopen("/proc/self/status", "re")))
		return;
	while (fgets(line, sizeof(line), st)) {
		unsigned long long v;
		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			m->rss_kib = v;
		else if (sscanf(line, "VmHWM: %llu", &v) == 1)
			m->hwm_kib = v;
	}
	fclose(st);
}

static void stats_print_timeline(const struct kestrel_vm *vm, FILE *f)
{
	uint64_t t[TL_N], prev = vm->tl.start;

	stats_timeline(vm, t);
	fprintf(f, "kestrel: boot timeline, us since %s\n",
		vm->cfg.t0_ns ? "main() began (exec and dynamic loading before it are not counted)"
			      : "kestrel_vm_create() began");
	fprintf(f, "  %-20s %10s %10s  %s\n", "milestone", "at us", "+us", "what");
	for (unsigned i = 0; i < TL_N; i++) {
		if (!t[i]) {
			fprintf(f, "  %-20s %10s %10s  %s (did not happen)\n",
				stats_tl_names[i].label, "-", "-", stats_tl_names[i].meaning);
			continue;
		}
		fprintf(f, "  %-20s %10.1f %10.1f  %s\n", stats_tl_names[i].label,
			stats_us_since(vm, t[i]), (double)((int64_t)(t[i] - prev)) / 1e3,
			stats_tl_names[i].meaning);
		prev = t[i];
	}
}

static void stats_json_timeline(const struct kestrel_vm *vm, FILE *f)
{
	uint64_t t[TL_N];

	stats_timeline(vm, t);
	fprintf(f, "{\"origin\":\"%s\",\"t0_monotonic_ns\":%llu",
		vm->cfg.t0_ns ? "main" : "kestrel_vm_create", (unsigned long long)vm->tl.start);
	for (unsigned i = 0; i < TL_N; i++) {
		fprintf(f, ",\"%s\":", stats_tl_names[i].key);
		if (t[i])
			fprintf(f, "%.1f", stats_us_since(vm, t[i]));
		else
			fputs("null", f);
	}
	fputc('}', f);
}

/* ---- text ---- */

/* The register-cache table, columns as before the profiler (bench/regcache.sh reads them). */
static void stats_print_regs(const struct kestrel_vm *vm, FILE *f)
{
	struct kestrel_vcpu_stats s;
	uint64_t exits = 0, ioctls = 0;
	bool page = false;

	fprintf(f, "kestrel: %-4s %10s %10s %8s %7s %9s %10s %11s %10s %10s %8s %10s %11s\n", "cpu",
		"exits", "io", "mmio", "other", "unhandled", "reg-ioctls", "ioctls/exit",
		"reg-reads", "reg-writes", "flushes", "reads/exit", "writes/exit");
	for (unsigned i = 0; i < vm->ncpus && kestrel_vm_vcpu_stats(vm, i, &s) == 0; i++) {
		double e = s.exits ? (double)s.exits : 1.0;
		fprintf(f,
			"kestrel: %-4u %10llu %10llu %8llu %7llu %9llu %10llu %11.3f %10llu %10llu "
			"%8llu %10.3f %11.3f\n",
			i, (unsigned long long)s.exits, (unsigned long long)s.io_exits,
			(unsigned long long)s.mmio_exits, (unsigned long long)s.other_exits,
			(unsigned long long)s.unhandled, (unsigned long long)s.reg_ioctls,
			s.exits ? (double)s.reg_ioctls / e : 0.0, (unsigned long long)s.reg_reads,
			(unsigned long long)s.reg_writes, (unsigned long long)s.reg_flushes,
			s.exits ? (double)s.reg_reads / e : 0.0,
			s.exits ? (double)s.reg_writes / e : 0.0);
		exits += s.exits;
		ioctls += s.reg_ioctls;
		page = s.sync_regs;
	}
	fprintf(f, "kestrel: registers via %s; %llu exits, %llu register ioctls in all\n",
		page ? "the shared kvm_run page (KVM_CAP_SYNC_REGS)" : "ioctls",
		(unsigned long long)exits, (unsigned long long)ioctls);
}

/* Instructions the host-quirk fallback carried out and user-mode syscalls it
 * finished (arch/x86/quirk.h), whole VM. */
static uint64_t stats_quirk_total(const struct kestrel_vm *vm, unsigned id)
{
	uint64_t n = 0;

	for (unsigned c = 0; c < vm->ncpus; c++)
		n += vm->vcpus[c].quirk_done[id];
	return n;
}

static void stats_print_quirks(const struct kestrel_vm *vm, FILE *f)
{
	bool any = false;

	for (unsigned id = 1; id < X86_QUIRK_SLOTS; id++) {
		uint64_t n = stats_quirk_total(vm, id);
		if (!n)
			continue;
		if (!any)
			fprintf(f, "kestrel: host quirk: instructions KVM could not emulate, "
				   "carried out by kestrel:");
		fprintf(f, " %s %llu", x86_quirk_name(id), (unsigned long long)n);
		any = true;
	}
	if (any)
		fputc('\n', f);
}

static void stats_json_quirks(const struct kestrel_vm *vm, FILE *f)
{
	bool first = true;

	fputc('{', f);
	for (unsigned id = 1; id < X86_QUIRK_SLOTS; id++) {
		uint64_t n = stats_quirk_total(vm, id);
		if (!n)
			continue;
		fprintf(f, "%s\"%s\":%llu", first ? "" : ",", x86_quirk_name(id),
			(unsigned long long)n);
		first = false;
	}
	fputc('}', f);
}

void kestrel_vm_print_stats(struct kestrel_vm *vm, FILE *f)
{
	const struct profile_names names = {stats_pio_name, stats_mmio_name, vm};
	struct profile_cpu *all = stats_merge(vm);
	struct stats_mem mem;

	if (vm->cfg.no_profile) {
		fprintf(f, "kestrel: exit profile: off (%s)\n", vm_name(vm, "no_profile"));
	} else if (!all) {
		fprintf(f, "kestrel: exit profile: out of memory\n");
	} else {
		if (vm->ncpus > 1)
			for (unsigned i = 0; i < vm->ncpus; i++) {
				fprintf(f,
					"kestrel: exit profile, vCPU %u: %llu exits to kestrel\n",
					i, (unsigned long long)profile_exits(&vm->vcpus[i].prof));
				profile_print(f, &vm->vcpus[i].prof, &names, "  ");
			}
		fprintf(f,
			"kestrel: exit profile, whole VM (%u vCPU%s): %llu exits to kestrel; "
			"time = host time from KVM_RUN returning to the next KVM_RUN\n",
			vm->ncpus, vm->ncpus == 1 ? "" : "s",
			(unsigned long long)profile_exits(all));
		profile_print(f, all, &names, "  ");
	}
	fprintf(f, "kestrel: register cache\n");
	stats_print_regs(vm, f);
	stats_print_kvm(vm, f, all);
	stats_print_quirks(vm, f);
	stats_print_timeline(vm, f);
	fprintf(f, "kestrel: platform: %s, %s\n",
		vm->has_irqchip	    ? "full in-kernel irqchip (PIC, IOAPIC, LAPIC)"
		: vm->split_irqchip ? "split irqchip (LAPIC in KVM, no PIC or IOAPIC)"
				    : "no irqchip",
		vm->has_pit ? "PIT" : "no PIT");
	stats_memory(vm, &mem);
	fprintf(
	    f,
	    "kestrel: memory: guest RAM touched %llu KiB of %llu MiB; kestrel resident %llu KiB "
	    "(peak %llu KiB), %llu KiB of it beyond guest RAM\n",
	    (unsigned long long)mem.guest_kib, (unsigned long long)(vm->mem.total >> 20),
	    (unsigned long long)mem.rss_kib, (unsigned long long)mem.hwm_kib,
	    (unsigned long long)(mem.rss_kib > mem.guest_kib ? mem.rss_kib - mem.guest_kib : 0));
	free(all);
}

/* ---- JSON ---- */

static void stats_json_regs(FILE *f, const struct kestrel_vcpu_stats *s)
{
	fprintf(f,
		"{\"sync_regs\":%s,\"exits\":%llu,\"ioctls\":%llu,\"reads\":%llu,\"writes\":%llu,"
		"\"flushes\":%llu,\"ioctls_per_exit\":%.4f,\"reads_per_exit\":%.4f,\"writes_per_"
		"exit\":%.4f}",
		s->sync_regs ? "true" : "false", (unsigned long long)s->exits,
		(unsigned long long)s->reg_ioctls, (unsigned long long)s->reg_reads,
		(unsigned long long)s->reg_writes, (unsigned long long)s->reg_flushes,
		s->exits ? (double)s->reg_ioctls / (double)s->exits : 0.0,
		s->exits ? (double)s->reg_reads / (double)s->exits : 0.0,
		s->exits ? (double)s->reg_writes / (double)s->exits : 0.0);
}

int kestrel_vm_write_stats_json(struct kestrel_vm *vm, FILE *f)
{
	const struct profile_names names = {stats_pio_name, stats_mmio_name, vm};
	struct profile_cpu *all = stats_merge(vm);
	struct kestrel_vcpu_stats s, t = {0};
	struct stats_mem mem;

	if (!all)
		return -ENOMEM;
	fprintf(f,
		"{\"schema\":%d,\"kestrel\":\"%s\",\"exit\":{\"kind\":\"%s\",\"status\":%d,\"cpu\":"
		"%d,\"reason\":",
		KESTREL_STATS_SCHEMA, KESTREL_VERSION, kestrel_exit_kind_name(vm->exit.kind),
		kestrel_exit_status(&vm->exit), vm->exit.cpu);
	json_write_str(f, vm->exit.reason);
	fprintf(
	    f, "},\"vcpus\":%u,\"profiling\":%s,\"clock\":{\"tsc_khz\":%llu,\"source\":\"%s\"}",
	    vm->ncpus, vm->cfg.no_profile ? "false" : "true", (unsigned long long)vm->clock.tsc_khz,
	    vm->clock.calibrated ? "calibrated against CLOCK_MONOTONIC_RAW" : "KVM_GET_TSC_KHZ");
	fprintf(f, ",\"platform\":{\"irqchip\":\"%s\",\"pit\":%s}",
		vm->has_irqchip	    ? "full"
		: vm->split_irqchip ? "split"
				    : "none",
		vm->has_pit ? "true" : "false");
	stats_memory(vm, &mem);
	fprintf(f,
		",\"memory\":{\"guest_ram_kib\":%llu,\"guest_touched_kib\":%llu,"
		"\"rss_kib\":%llu,\"rss_peak_kib\":%llu}",
		(unsigned long long)(vm->mem.total >> 10), (unsigned long long)mem.guest_kib,
		(unsigned long long)mem.rss_kib, (unsigned long long)mem.hwm_kib);
	fputs(",\"vm\":", f);
	profile_print_json(f, all, &names);
	fputs(",\"per_vcpu\":[", f);
	for (unsigned i = 0; i < vm->ncpus && kestrel_vm_vcpu_stats(vm, i, &s) == 0; i++) {
		fprintf(f, "%s{\"cpu\":%u,\"profile\":", i ? "," : "", i);
		profile_print_json(f, &vm->vcpus[i].prof, &names);
		fputs(",\"registers\":", f);
		stats_json_regs(f, &s);
		fputc('}', f);
		t.exits += s.exits;
		t.reg_ioctls += s.reg_ioctls;
		t.reg_reads += s.reg_reads;
		t.reg_writes += s.reg_writes;
		t.reg_flushes += s.reg_flushes;
		t.sync_regs = s.sync_regs;
	}
	fputs("],\"registers\":", f);
	stats_json_regs(f, &t);
	fputs(",\"kvm_stats\":", f);
	stats_json_kvm(vm, f, all);
	fputs(",\"host_quirks\":", f);
	stats_json_quirks(vm, f);
	fputs(",\"timeline_us\":", f);
	stats_json_timeline(vm, f);
	fputs("}\n", f);
	free(all);
	return ferror(f) ? -EIO : 0;
}
