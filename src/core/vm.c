/* vm.c - VM lifetime: /dev/kvm and its capabilities, guest RAM, devices, loading with the platform
 * its plan asks for (irqchip, PIT, vCPUs), teardown. */
#include "core/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "arch/x86/arch.h"
#include "arch/x86/boot.h"
#include "host/dedicated.h"
#include "host/memory.h"
#include "arch/x86/acpi.h"
#include "arch/x86/entry.h"
#include "arch/x86/quirk.h"
#include "load/load.h"
#include "util/size.h"
#include "core/hypercall.h"
#include "core/vcpu.h"

/* The largest image, initrd or module kestrel reads (a guest's RAM bounds
 * what it can load anyway; this bounds the host memory a bad path costs). */
static const uint64_t vm_max_file = 4ull << 30;

/* The page KVM maps guest RAM in: mem_size must be a multiple. */
#define VM_PAGE 4096u

/* <sys/mman.h> of older libcs lacks it (Linux 5.14's value). */
#ifdef MADV_POPULATE_WRITE
#define VM_MADV_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define VM_MADV_POPULATE_WRITE 23
#endif

void kestrel_config_init(struct kestrel_config *cfg)
{
	*cfg = (struct kestrel_config){
	    .size = sizeof(struct kestrel_config),
	    .mem_size = KESTREL_DEFAULT_MEM,
	    .ncpus = 1,
	    .console_fd = 1,
	    .log_fd = 2,
	};
}

const char *kestrel_version(void)
{
	return KESTREL_VERSION;
}

static void vm_vlog(const struct kestrel_vm *vm, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vm_vlog(const struct kestrel_vm *vm, const char *fmt, va_list ap)
{
	char line[512];
	int n;

	if (vm->cfg.log_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "kestrel: ");
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(vm->cfg.log_fd, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void vm_log(const struct kestrel_vm *vm, const char *fmt, ...)
{
	va_list ap;

	if (vm->cfg.verbosity < 0)
		return;
	va_start(ap, fmt);
	vm_vlog(vm, fmt, ap);
	va_end(ap);
}

void vm_info(const struct kestrel_vm *vm, const char *fmt, ...)
{
	va_list ap;

	if (vm->cfg.verbosity < 1)
		return;
	va_start(ap, fmt);
	vm_vlog(vm, fmt, ap);
	va_end(ap);
}

/* ---- creation ---- */

struct vm_cap {
	long cap;
	const char *name;
};

/* Capabilities kestrel cannot run without. */
static const struct vm_cap vm_required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel interrupt controller)"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2 (in-kernel PIT)"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

static int vm_open_kvm(struct kestrel_vm *vm, struct kestrel_error *err)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return vm_err(
			    err, -e,
			    "/dev/kvm does not exist: this host has no KVM "
			    "(load kvm_intel or kvm_amd, or enable nested virtualization)");
		if (e == EACCES || e == EPERM)
			return vm_err(err, -e,
				      "/dev/kvm: permission denied (add your user to the "
				      "'kvm' group or run as root)");
		return vm_err(err, -e, "cannot open /dev/kvm: %s", strerror(e));
	}
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api < 0)
		return vm_err(err, -ENOTSUP,
			      "/dev/kvm is not a KVM device (KVM_GET_API_VERSION: %s)",
			      strerror(errno));
	if (api != KVM_API_VERSION)
		return vm_err(err, -ENOTSUP, "/dev/kvm speaks API version %d, kestrel needs %d",
			      api, KVM_API_VERSION);
	for (size_t i = 0; i < sizeof(vm_required_caps) / sizeof(vm_required_caps[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, vm_required_caps[i].cap) <= 0)
			return vm_err(err, -ENOTSUP, "this KVM lacks %s, which kestrel needs",
				      vm_required_caps[i].name);
	int sync = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	vm->sync_caps = (sync > 0 && !vm->cfg.no_sync_regs) ? (uint32_t)sync : 0;
	vm->cap_tsc_deadline =
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	vm->cap_split_irqchip = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP) > 0;
	vm->cap_enforce_pv =
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ENFORCE_PV_FEATURE_CPUID) > 0;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return vm_err(err, -ENOTSUP, "KVM_GET_VCPU_MMAP_SIZE returned %d", vm->run_size);
	vm_info(vm,
		"/dev/kvm: API %d, the %zu required capabilities present; sync regs %s, "
		"TSC-deadline timer %s, enforced PV CPUID %s",
		api, sizeof(vm_required_caps) / sizeof(vm_required_caps[0]),
		vm->sync_caps ? "on" : "off", vm->cap_tsc_deadline ? "yes" : "no",
		vm->cap_enforce_pv ? "yes" : "no");
	return 0;
}

static int vm_check_config(struct kestrel_vm *vm, struct kestrel_error *err)
{
	char a[32], b[32], c[32];
	struct host_mem hm;

	if (vm->cfg.mem_size < KESTREL_MIN_MEM)
		return vm_cfg_err(err, -EINVAL, "%s %s is too small: kestrel needs at least %s",
				  vm_name(vm, "mem_size"),
				  format_size(vm->cfg.mem_size, a, sizeof(a)),
				  format_size(KESTREL_MIN_MEM, b, sizeof(b)));
	/* KVM maps guest RAM in pages (KVM_SET_USER_MEMORY_REGION says only
	 * EINVAL): refused, not rounded, so the guest gets exactly what was asked. */
	if (vm->cfg.mem_size & (VM_PAGE - 1)) {
		uint64_t down = vm->cfg.mem_size & ~(uint64_t)(VM_PAGE - 1);
		return vm_cfg_err(err, -EINVAL,
				  "%s is %llu bytes, not a whole number of 4 KiB pages; use %llu "
				  "KiB or %llu KiB",
				  vm_name(vm, "mem_size"), (unsigned long long)vm->cfg.mem_size,
				  (unsigned long long)(down >> 10),
				  (unsigned long long)((down + VM_PAGE) >> 10));
	}
	/* Guest RAM is MAP_NORESERVE: the host gives each page when the guest
	 * first touches it, and one that has run out answers with the OOM
	 * killer, mid-run. So ask for no more than it has available now, unless
	 * the caller takes that risk (docs/robustness.md). */
	host_mem_read_for(&hm, vm->cfg.mem_size);
	if (!vm->cfg.mem_overcommit && hm.avail != UINT64_MAX && vm->cfg.mem_size > hm.avail)
		return vm_cfg_err(
		    err, -ENOMEM,
		    "%s %s is more than this host has available: %s (%s%s%s); choose less, or "
		    "allow it with %s (guest RAM is then given as the guest touches it, and a "
		    "host that runs out kills a process: the OOM killer)",
		    vm_name(vm, "mem_size"), format_size(vm->cfg.mem_size, a, sizeof(a)),
		    format_size(hm.avail, b, sizeof(b)), hm.source, hm.total ? ", of " : "",
		    hm.total ? format_size(hm.total, c, sizeof(c)) : "",
		    vm_name(vm, "mem_overcommit"));
	vm_info(vm, "host memory: %s available (%s); guest RAM %s%s",
		hm.avail == UINT64_MAX ? "unknown" : format_size(hm.avail, b, sizeof(b)), hm.source,
		format_size(vm->cfg.mem_size, a, sizeof(a)),
		vm->cfg.mem_prefault	 ? ", allocated up front"
		: vm->cfg.mem_overcommit ? ", overcommitted"
					 : "");
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 1;
	if (vm->cfg.ncpus < 1 || vm->cfg.ncpus > (unsigned)max)
		return vm_cfg_err(err, -EINVAL, "%s %u: this KVM allows 1 to %d vCPUs",
				  vm_name(vm, "ncpus"), vm->cfg.ncpus, max);
	/* The CPUs this process may run on (its affinity: a container's or
	 * taskset's share), one system call; sysconf's online count read a
	 * sysfs file, ~30 us of a cold start here. */
	cpu_set_t cpus;
	long nproc = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 0;
	if (nproc > 0 && vm->cfg.ncpus > (unsigned long)nproc)
		vm_log(vm,
		       "warning: %u vCPUs on %ld host CPU%s: they will take turns, and "
		       "timing inside the guest suffers",
		       vm->cfg.ncpus, nproc, nproc == 1 ? "" : "s");
	uint64_t low = vm->mem.r[0].size, stacks = (uint64_t)vm->cfg.ncpus * KESTREL_STACK_SIZE;
	if (stacks + KESTREL_LOW_RESERVED >= low)
		return vm_cfg_err(err, -EINVAL,
				  "%s %s leaves no room for %u vCPU stacks; give more memory",
				  vm_name(vm, "mem_size"),
				  format_size(vm->cfg.mem_size, a, sizeof(a)), vm->cfg.ncpus);
	if (x86_map_end(guest_mem_end(&vm->mem)) > (uint64_t)KESTREL_PD_MAX_PAGES << 30)
		return vm_cfg_err(err, -E2BIG, "%s %s is more than kestrel's page tables can map",
				  vm_name(vm, "mem_size"),
				  format_size(vm->cfg.mem_size, a, sizeof(a)));
	return 0;
}

static int vm_setup_memory(struct kestrel_vm *vm, struct kestrel_error *err)
{
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		struct guest_mem_region *r = &vm->mem.r[i];
		vm_info(vm, "guest RAM slot %u: 0x%llx-0x%llx (%llu MiB)", i,
			(unsigned long long)r->gpa, (unsigned long long)(r->gpa + r->size - 1),
			(unsigned long long)(r->size >> 20));
		void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return vm_err(err, -errno, "cannot map %llu MiB of guest RAM: %s",
				      (unsigned long long)(r->size >> 20), strerror(errno));
		r->host = p;
		/* mem_prefault: the host gives every page now, so running out is
		 * this error (or the OOM killer) before the guest runs, never in the
		 * middle of it. MADV_POPULATE_WRITE: Linux 5.14. */
		if (vm->cfg.mem_prefault && madvise(p, r->size, VM_MADV_POPULATE_WRITE) < 0) {
			int e = errno;
			return vm_err(
			    err, -e,
			    "%s: cannot allocate the %llu MiB of guest RAM slot %u up front: "
			    "%s",
			    vm_name(vm, "mem_prefault"), (unsigned long long)(r->size >> 20), i,
			    e == EINVAL ? "this kernel lacks MADV_POPULATE_WRITE (Linux 5.14+)"
					: strerror(e));
		}
		struct kvm_userspace_memory_region slot = {
		    .slot = i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uintptr_t)p,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return vm_err(err, -errno, "KVM_SET_USER_MEMORY_REGION (slot %u): %s", i,
				      strerror(errno));
	}
	return 0;
}

/* The platform the plan asks for (arch code), then the vCPUs (KVM takes the
 * irqchip kind only before the first vCPU exists). */
static int vm_setup_platform(struct kestrel_vm *vm, struct kestrel_error *err)
{
	int r = arch_vm_platform(vm, err);
	char ring[80];

	for (unsigned i = 0; i < vm->ncpus && r == 0; i++)
		r = vcpu_init(vm, &vm->vcpus[i], i, err);
	if (r < 0)
		return r;
	console_setup_ring(vm);
	snprintf(ring, sizeof(ring), "ready (coalesced PIO, armed on the UART's %uth THR write)",
		 VM_FAST_COALESCE_AFTER);
	vm_info(vm, "platform: %s, %s; %u vCPU%s; console ring %s",
		vm->has_irqchip ? "full in-kernel irqchip (PIC, IOAPIC, LAPIC)"
				: "split irqchip (LAPIC in KVM, no PIC or IOAPIC)",
		vm->has_pit ? "PIT" : "no PIT", vm->ncpus, vm->ncpus == 1 ? "" : "s",
		vm->cons.ring ? ring : "off");
	return 0;
}

static int vm_setup_hypercalls(struct kestrel_vm *vm, struct kestrel_error *err)
{
	int r = hypercall_register(vm);

	return r < 0 ? vm_err(err, r, "cannot claim the hypercall ports: %s", strerror(-r)) : 0;
}

/* Zeroed memory for the VM's and the vCPUs' big structs (~95 KB and ~40 KB
 * each, mostly tables a short run never touches): straight from mmap, whose
 * pages are zero and given only when touched. From the heap, calloc zeroed
 * them all: ~35 page faults of a ~180-fault cold start. NULL on failure. */
void *vm_zalloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void vm_zfree(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

int kestrel_vm_create(const struct kestrel_config *cfg, struct kestrel_vm **out,
		      struct kestrel_error *err)
{
	struct kestrel_vm *vm;
	uint64_t t0 = cfg->t0_ns ? cfg->t0_ns : vm_now_ns();
	int r;

	*out = NULL;
	/* Before any other field is read: a struct from another kestrel.h
	 * has its fields elsewhere. */
	if (cfg->size != sizeof(struct kestrel_config))
		return vm_cfg_err(
		    err, -EINVAL,
		    "struct kestrel_config is %zu bytes here but libkestrel %s expects %zu: "
		    "build against this library's kestrel.h and start from kestrel_config_init()",
		    cfg->size, KESTREL_VERSION, sizeof(struct kestrel_config));
	if (cfg->kick_signal && (cfg->kick_signal < SIGRTMIN || cfg->kick_signal > SIGRTMAX))
		return vm_cfg_err(err, -EINVAL,
				  "kick_signal %d is not a real-time signal (%d to %d)",
				  cfg->kick_signal, SIGRTMIN, SIGRTMAX);
	if (cfg->console_in && cfg->console_in_fd < 0)
		return vm_cfg_err(err, -EBADF,
				  "console_in is set but console_in_fd is %d: give the fd to read "
				  "the guest's console input from",
				  cfg->console_in_fd);
	if (cfg->cmdline && strlen(cfg->cmdline) >= KESTREL_CMDLINE_MAX)
		return vm_cfg_err(err, -E2BIG, "guest arguments are %zu bytes; the limit is %u",
				  strlen(cfg->cmdline), KESTREL_CMDLINE_MAX - 1);
	vm = vm_zalloc(sizeof(*vm));
	if (!vm)
		return vm_err(err, -ENOMEM, "out of memory");
	vm->cfg = *cfg;
	vm->tl.start = t0;
	if (cfg->cmdline)
		snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", cfg->cmdline);
	vm->cfg.cmdline = vm->cmdline;
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = vm->proc_status_fd = -1;
	vm->ncpus = cfg->ncpus;
	pthread_mutex_init(&vm->exit_lock, NULL);
	pthread_mutex_init(&vm->fast_lock, NULL);
	console_init(&vm->cons);
	console_in_init(&vm->cin, cfg);
	guest_mem_layout(&vm->mem, cfg->mem_size);

	if ((r = vm_open_kvm(vm, err)) < 0)
		goto fail;
	arch_vm_query_start(vm);
	if ((r = vm_check_config(vm, err)) < 0)
		goto fail;
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0) {
		r = vm_err(err, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		r = vm_err(err, -errno, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	/* RAM first: on this host a memory slot added after the in-kernel
	 * irqchip costs ~7 ms in KVM_SET_USER_MEMORY_REGION, before it ~0.08 ms
	 * (strace -T); KVM needs no particular order. */
	if ((r = vm_setup_memory(vm, err)) < 0 || (r = arch_vm_init(vm, err)) < 0 ||
	    (r = vm_devices_init(vm, err)) < 0 || (r = vm_setup_hypercalls(vm, err)) < 0 ||
	    (r = dedicated_vm_setup(vm, err)) < 0 || (r = arch_vm_cpuid(vm, err)) < 0)
		goto fail;
	vm_info(vm, "VM created: %u vCPU%s (made with the guest), TSC %u kHz, stop signal %d",
		vm->ncpus, vm->ncpus == 1 ? "" : "s", (unsigned)vm->tsc_khz, vm_kick_signal(vm));
	vm->tl.kvm_ready = vm_now_ns();
	*out = vm;
	return 0;
fail:
	kestrel_vm_destroy(vm);
	return r;
}

void kestrel_vm_destroy(struct kestrel_vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpus)
		for (unsigned i = 0; i < vm->ncpus; i++)
			vcpu_release(vm, &vm->vcpus[i]);
	vm_zfree(vm->vcpus, (size_t)vm->ncpus * sizeof(*vm->vcpus));
	free(vm->cpuid);
	/* kvm_destroy_vm runs in this close() (the vCPUs' fds are gone): with
	 * the fast paths undone first it has no grace period left to wait for
	 * but what the platform's devices leave. RAM goes after it, when no
	 * MMU notifier has to tell KVM about the unmapping. */
	if (vm->vm_fd >= 0) {
		vm_fast_undo(vm);
		close(vm->vm_fd);
	}
	for (unsigned i = 0; i < vm->mem.nregions; i++)
		if (vm->mem.r[i].host)
			munmap(vm->mem.r[i].host, vm->mem.r[i].size);
	arch_vm_query_end(vm); /* a create that failed early: the helper may still use kvm_fd */
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	if (vm->proc_status_fd >= 0)
		close(vm->proc_status_fd);
	vm_devices_fini(vm);
	pthread_mutex_destroy(&vm->exit_lock);
	pthread_mutex_destroy(&vm->fast_lock);
	console_destroy(&vm->cons);
	console_in_destroy(&vm->cin);
	vm_zfree(vm, sizeof(*vm));
}

/* ---- loading ---- */

/* The platform's ACPI tables at 0xE0000, for the protocols that want them. */
static int vm_build_acpi(struct kestrel_vm *vm, gpa_t *rsdp, struct kestrel_error *err)
{
	struct acpi_config ac;
	uint8_t *win = guest_mem_ptr(&vm->mem, ACPI_WINDOW_GPA, ACPI_WINDOW_SIZE);
	uint64_t at = 0;
	char why[200];
	int r;

	if (!win)
		return vm_err(err, -ENOMEM, "guest RAM does not reach the ACPI window at 0x%llx",
			      (unsigned long long)ACPI_WINDOW_GPA);
	acpi_config_default(&ac, vm->ncpus);
	r = acpi_build(win, ACPI_WINDOW_SIZE, ACPI_WINDOW_GPA, &ac, &at, why, sizeof(why));
	if (r < 0)
		return vm_err(err, r, "cannot build the ACPI tables: %s", why);
	*rsdp = at;
	return 0;
}

/* Load `in` with the loader its contents call for, then apply the plan. */
static int vm_load(struct kestrel_vm *vm, struct boot_input *in, struct kestrel_error *err)
{
	enum boot_protocol proto = load_detect(in->image, in->len);
	gpa_t rsdp = 0;
	char why[256];
	int r;

	if (vm->loaded)
		return vm_cfg_err(err, -EBUSY,
				  "this VM already has a guest image; create a new one");
	if (vm->platform_tried)
		return vm_err(err, -EBUSY,
			      "this VM's interrupt controller or vCPUs could not be "
			      "created; create a new one");
	in->ncpus = vm->ncpus;
	in->tsc_khz = vm->tsc_khz;
	in->no_cpuid_tsc = vm->cfg.no_cpuid_tsc;
	in->cmdline = vm->cmdline;
	in->field_name = vm->cfg.field_name;
	/* A Linux kernel on a KVM that cannot run all of it (quirk.h): detected
	 * by a probe, never assumed, and said so. */
	if (proto == BOOT_LINUX64 && !vm->cfg.no_host_quirks && x86_quirk_probe(vm->kvm_fd)) {
		size_t l = strlen(vm->cmdline);
		if (l + 1 + sizeof(X86_QUIRK_LINUX_CMDLINE) > sizeof(vm->cmdline))
			return vm_cfg_err(err, -E2BIG,
					  "the kernel command line leaves no room for "
					  "what this host needs (%s: add none)",
					  vm_name(vm, "no_host_quirks"));
		snprintf(vm->cmdline + l, sizeof(vm->cmdline) - l, "%s%s", l ? " " : "",
			 X86_QUIRK_LINUX_CMDLINE);
		vm->host_quirk = true;
		vm_log(vm,
		       "host quirk: this KVM emulates guest kernel code and lacks some "
		       "instructions; kestrel carries those out and adds '%s' to the kernel "
		       "command line (%s: neither)",
		       X86_QUIRK_LINUX_CMDLINE, vm_name(vm, "no_host_quirks"));
		if (x86_quirk_cpuid(vm->cpuid))
			vm_log(vm,
			       "host quirk: a KVM hypercall never completes on this host, so the "
			       "PV features that need one (PV spinlock kicks, PV IPIs, PV yield) "
			       "are off in CPUID leaf 0x40000001");
	}
	in->no_host_decompress = vm->cfg.no_host_decompress;
	if (load_wants_acpi(proto) && (r = vm_build_acpi(vm, &rsdp, err)) < 0)
		return r;
	r = load_image(in, &vm->mem, rsdp, &vm->plan, why, sizeof(why));
	if (r < 0)
		return error_set(err, r == -ENOMEM ? KESTREL_ERR_HOST : KESTREL_ERR_IMAGE, r, "%s",
				 why);
	r = x86_plan_memory(&vm->plan, &vm->mem);
	if (r < 0)
		return vm_err(err, r, "cannot build the boot tables: %s", strerror(-r));
	if (vm->plan.note[0])
		vm_log(vm, "%s", vm->plan.note);
	vm_info(vm, "%s: %s image, %zu bytes, entry at 0x%llx", in->image_name,
		load_protocol_name(vm->plan.proto), in->len, (unsigned long long)vm->plan.entry);
	if ((r = vm_setup_platform(vm, err)) < 0)
		return r;
	vm->loaded = true;
	vm->tl.loaded = vm_now_ns();
	return 0;
}

int kestrel_vm_load(struct kestrel_vm *vm, const void *image, size_t len, struct kestrel_error *err)
{
	struct boot_input in = {.image = image, .len = len, .image_name = "image"};

	return vm_load(vm, &in, err);
}

int kestrel_vm_load_elf(struct kestrel_vm *vm, const void *image, size_t len,
			struct kestrel_error *err)
{
	return kestrel_vm_load(vm, image, len, err);
}

/* A file kestrel cannot open: its own fault (missing, unreadable: an image
 * problem) or the host's (out of fds or memory). */
static enum kestrel_error_class vm_file_errno_class(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM ? KESTREL_ERR_HOST : KESTREL_ERR_IMAGE;
}

/* The buffer a file is read into, anonymous memory (never a mapping of the
 * file), given back with vm_zfree(p, len). pread writes every byte of it:
 * MAP_POPULATE gives its pages in the mmap call instead of one page fault
 * each in pread (an 80 KB guest: 20 faults, ~8 us here). Best effort: a page
 * it could not give faults in pread as before. NULL on failure. */
static uint8_t *vm_file_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Read a whole regular file into memory with pread(): never through a
 * mapping, which a file truncated meanwhile would turn into SIGBUS. `what`
 * names it in messages ("the initrd"). Caller frees *buf with
 * vm_zfree(*buf, *len).
 */
static int vm_read_file(const char *full_path, const char *what, uint8_t **buf, size_t *len,
			struct kestrel_error *err)
{
	char shown[ERROR_PATH_MAX];
	const char *path = error_path(full_path, shown, sizeof(shown)); /* for messages */
	struct stat st;
	size_t got = 0;
	int fd, r = 0;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO must not block the open; fstat below refuses it. */
	fd = open(full_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return error_set(err, vm_file_errno_class(errno), -errno, "%s: %s", path,
				 strerror(errno));
	if (fstat(fd, &st) < 0)
		r = vm_err(err, -errno, "%s: %s", path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		r = vm_img_err(err, -EISDIR, "%s: is a directory, not %s", path, what);
	else if (!S_ISREG(st.st_mode))
		r = vm_img_err(err, -EINVAL, "%s: not a regular file", path);
	else if (st.st_size == 0)
		r = vm_img_err(err, -ENOEXEC, "%s: empty file", path);
	else if ((uint64_t)st.st_size > vm_max_file)
		r = vm_img_err(err, -EFBIG, "%s: %lld bytes is more than kestrel loads (%llu)",
			       path, (long long)st.st_size, (unsigned long long)vm_max_file);
	else if (!(*buf = vm_file_alloc((size_t)st.st_size)))
		r = vm_err(err, -ENOMEM, "%s: out of memory reading %lld bytes", path,
			   (long long)st.st_size);
	while (r == 0 && got < (size_t)st.st_size) {
		ssize_t n = pread(fd, *buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = vm_err(err, -errno, "%s: read failed: %s", path, strerror(errno));
		else if (n == 0) /* shrank while we read it */
			r = vm_img_err(err, -EIO, "%s: the file got shorter while kestrel read it",
				       path);
		else
			got += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		vm_zfree(*buf, (size_t)st.st_size);
		*buf = NULL;
		return r;
	}
	*len = got;
	return 0;
}

int kestrel_vm_load_file(struct kestrel_vm *vm, const char *path, struct kestrel_error *err)
{
	struct boot_input in = {.image_name = path};
	uint8_t *bufs[1 + BOOT_MAX_MODULES] = {NULL};
	size_t lens[1 + BOOT_MAX_MODULES] = {0};
	unsigned nbufs = 0;
	size_t len;
	int r;

	if (vm->cfg.nmodules + (vm->cfg.initrd != NULL) > BOOT_MAX_MODULES)
		return vm_cfg_err(err, -E2BIG, "%u modules given; kestrel takes at most %u",
				  vm->cfg.nmodules + (vm->cfg.initrd != NULL), BOOT_MAX_MODULES);
	r = vm_read_file(path, "a guest image", &bufs[nbufs], &len, err);
	if (r < 0)
		return r;
	lens[nbufs] = len;
	in.image = bufs[nbufs++];
	in.len = len;
	/* The initrd is the first module (as QEMU's -initrd gives a multiboot kernel). */
	if (r == 0 && vm->cfg.initrd) {
		r = vm_read_file(vm->cfg.initrd, "an initrd", &bufs[nbufs], &len, err);
		if (r == 0) {
			lens[nbufs] = len;
			in.modules[in.nmodules++] =
			    (struct boot_module){bufs[nbufs++], len, vm->cfg.initrd};
		}
	}
	for (unsigned i = 0; r == 0 && i < vm->cfg.nmodules; i++) {
		const struct kestrel_module *m = &vm->cfg.modules[i];
		r = vm_read_file(m->path, "a module", &bufs[nbufs], &len, err);
		if (r == 0) {
			lens[nbufs] = len;
			in.modules[in.nmodules++] = (struct boot_module){
			    bufs[nbufs++], len, m->string ? m->string : m->path};
		}
	}
	if (r == 0) {
		r = vm_load(vm, &in, err);
		if (r < 0)
			error_prefix(err, path);
	}
	for (unsigned i = 0; i < nbufs; i++)
		vm_zfree(bufs[i], lens[i]);
	return r;
}

int kestrel_vm_load_elf_file(struct kestrel_vm *vm, const char *path, struct kestrel_error *err)
{
	return kestrel_vm_load_file(vm, path, err);
}
