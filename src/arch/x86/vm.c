/* vm.c (x86) - the x86 side of a VM's life: TSS and identity map, the CPUID table, the interrupt
 * controller and timer a boot plan asks for. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86/arch.h"
#include "arch/x86/cpuid.h"
#include "core/vm.h"

/* Where KVM puts the three pages it needs for real-mode TSS and the EPT
 * identity map on Intel: just below the BIOS area, inside the 3-4 GiB hole. */
#define X86_TSS_PAGES_ADDR 0xfffbd000u
#define X86_IDENTITY_MAP_ADDR 0xfffbc000u

/* The TSS and identity-map pages (VMX without unrestricted guest; no-ops on
 * AMD): they must precede the vCPUs and put nothing on KVM's I/O buses. */
static int x86_vm_setup_tss(struct kestrel_vm *vm, struct kestrel_error *err)
{
	uint64_t idmap = X86_IDENTITY_MAP_ADDR;

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, X86_TSS_PAGES_ADDR) < 0)
		return vm_err(err, -errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return vm_err(err, -errno, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	return 0;
}

/*
 * KVM's supported CPUID table. The kernel builds it by running `cpuid` on
 * the host for every leaf and subleaf (~70 here), and where kestrel itself
 * runs in a VM each of those traps to the hypervisor: 0.3-0.4 ms on this
 * nested host, the largest single item of a cold start beyond what a
 * minimal raw-KVM program does (docs/coldstart.md); on bare metal, where
 * `cpuid` does not trap, far less. Nothing in it depends on the VM, so it is
 * asked on a helper thread
 * as soon as /dev/kvm is open and collected once the VM is made: the caller
 * meanwhile checks the host's memory and makes the VM and its memory slot.
 * 256 entries fit every KVM seen so far (one call; a table that does not
 * fit is asked again, bigger, by the collector).
 */
#define X86_CPUID_QUERY_ENTRIES 256u

static void *x86_cpuid_query(void *arg)
{
	struct kestrel_vm *vm = arg;

	vm->cpuid_query.err =
	    ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid_query.table) == 0 ? 0 : -errno;
	return NULL;
}

static struct kvm_cpuid2 *x86_cpuid_room(uint32_t n)
{
	struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));

	if (t)
		t->nent = n;
	return t;
}

/* The CPUs the helper may run on: the caller's, less the one it is on now.
 * False when that leaves none (a process confined to one CPU): a helper
 * there only takes turns with the caller, so the collector asks itself. */
static bool x86_cpuid_query_cpus(cpu_set_t *cpus)
{
	int cur = sched_getcpu();

	if (cur < 0 || sched_getaffinity(0, sizeof(*cpus), cpus) != 0)
		return false;
	CPU_CLR(cur, cpus);
	return CPU_COUNT(cpus) > 0;
}

void arch_vm_query_start(struct kestrel_vm *vm)
{
	pthread_attr_t a;
	cpu_set_t cpus;
	sigset_t all;

	/*
	 * Kept off the caller's CPU: left to itself the scheduler put the new
	 * thread on the caller's CPU and let it preempt the caller for the
	 * whole ioctl (`perf record -e sched:sched_switch,sched:sched_wakeup_new
	 * -a`), so the query ran on the caller's time after all. The helper's
	 * memory comes from here: its own first malloc would make it an arena.
	 * It takes no signal (the caller's handlers stay on the caller's
	 * threads) and needs little stack: one ioctl.
	 */
	if (!x86_cpuid_query_cpus(&cpus) ||
	    !(vm->cpuid_query.table = x86_cpuid_room(X86_CPUID_QUERY_ENTRIES)))
		return;
	sigfillset(&all);
	if (pthread_attr_init(&a) != 0)
		return;
	if (pthread_attr_setaffinity_np(&a, sizeof(cpus), &cpus) == 0 &&
	    pthread_attr_setstacksize(&a, 64 * 1024) == 0 &&
	    pthread_attr_setsigmask_np(&a, &all) == 0 &&
	    pthread_create(&vm->cpuid_query.thread, &a, x86_cpuid_query, vm) == 0)
		vm->cpuid_query.running = true;
	pthread_attr_destroy(&a);
}

/* Waits for the helper; the table it filled, or NULL with cpuid_query.err. */
static struct kvm_cpuid2 *x86_cpuid_query_join(struct kestrel_vm *vm)
{
	if (!vm->cpuid_query.running)
		return NULL;
	pthread_join(vm->cpuid_query.thread, NULL);
	vm->cpuid_query.running = false;
	return vm->cpuid_query.err == 0 ? vm->cpuid_query.table : NULL;
}

void arch_vm_query_end(struct kestrel_vm *vm)
{
	x86_cpuid_query_join(vm);
	free(vm->cpuid_query.table);
	vm->cpuid_query.table = NULL;
}

/* The supported table: the helper's, else asked here (no helper, or its
 * table was too small), grown until it fits. Caller frees. */
static struct kvm_cpuid2 *vm_supported_cpuid(struct kestrel_vm *vm, struct kestrel_error *err)
{
	struct kvm_cpuid2 *t = x86_cpuid_query_join(vm);
	int e = vm->cpuid_query.err;

	if (t) {
		vm->cpuid_query.table = NULL;
		return t;
	}
	arch_vm_query_end(vm);
	if (e && e != -E2BIG) {
		vm_err(err, e, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-e));
		return NULL;
	}
	vm_info(vm, "CPUID: KVM's table asked on the creating thread (%s)",
		e ? "more than 256 entries" : "no helper: one usable CPU, or it did not start");
	for (uint32_t n = X86_CPUID_QUERY_ENTRIES; n <= 4096; n *= 2) {
		if (!(t = x86_cpuid_room(n))) {
			vm_err(err, -ENOMEM, "out of memory");
			return NULL;
		}
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, t) == 0)
			return t;
		e = errno;
		free(t);
		if (e != E2BIG) {
			vm_err(err, -e, "KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
			return NULL;
		}
	}
	vm_err(err, -E2BIG, "KVM_GET_SUPPORTED_CPUID: table too large");
	return NULL;
}

/*
 * The TSC rate KVM gives its vCPUs, before any exists (CPUID's timing leaves
 * and the boot info carry it): the VM's default rate, KVM_GET_TSC_KHZ on the
 * VM fd (Linux 6.0). That ioctl answers whether or not KVM_CAP_VM_TSC_CONTROL
 * is offered: the capability says the rate can be *set* (TSC scaling), which
 * this nested host lacks (cap 0, the VM ioctl still answers, and with the
 * rate its vCPUs get). An older KVM (ENOTTY) tells only a vCPU's: ask one in
 * a throwaway VM with nothing in it, which costs a VM create and destroy
 * (~1 ms, and kvm_destroy_vm's mmu-notifier grace period). 0 if KVM cannot tell.
 */
static uint64_t vm_tsc_khz(const struct kestrel_vm *vm)
{
	int khz = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0), tvm, tcpu;

	if (khz <= 0 && (tvm = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0)) >= 0) {
		if ((tcpu = ioctl(tvm, KVM_CREATE_VCPU, 0)) >= 0) {
			khz = ioctl(tcpu, KVM_GET_TSC_KHZ, 0);
			close(tcpu);
		}
		close(tvm);
	}
	return khz > 0 ? (uint64_t)khz : 0;
}

/* The TSC rate and the room for the vCPUs, whose KVM side vm_setup_platform
 * makes. */
static int x86_vm_setup_vcpus(struct kestrel_vm *vm, struct kestrel_error *err)
{
	vm->tsc_khz = vm_tsc_khz(vm);
	profile_clock_init(&vm->clock, vm->tsc_khz);
	vm->vcpus = vm_zalloc((size_t)vm->ncpus * sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vm_err(err, -ENOMEM, "out of memory for %u vCPUs", vm->ncpus);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vm->vcpus[i].fd = -1;
	return 0;
}

/* The CPUID table every vCPU starts from (x86_cpuid_build). */
int arch_vm_cpuid(struct kestrel_vm *vm, struct kestrel_error *err)
{
	struct kvm_cpuid2 *supported;
	struct x86_cpuid_opts co;
	uint32_t cap;
	int r;

	if (!(supported = vm_supported_cpuid(vm, err)))
		return err->err;
	cap = supported->nent + X86_CPUID_EXTRA_ENTRIES;
	vm->cpuid = malloc(sizeof(*vm->cpuid) + cap * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid) {
		free(supported);
		return vm_err(err, -ENOMEM, "out of memory");
	}
	co = (struct x86_cpuid_opts){
	    .ncpus = vm->ncpus,
	    .tsc_khz = vm->tsc_khz <= UINT32_MAX ? (uint32_t)vm->tsc_khz : 0,
	    .apic_bus_khz = X86_KVM_APIC_BUS_KHZ,
	    .no_tsc_leaves = vm->cfg.no_cpuid_tsc,
	    .x2apic = true, /* the LAPIC is KVM's, split irqchip or full: x2APIC included */
	    .tsc_deadline = vm->cap_tsc_deadline,
	    .no_pv = vm->cfg.no_pv,
	};
	r = x86_cpuid_build(vm->cpuid, cap, supported, &co);
	free(supported);
	return r < 0 ? vm_err(err, r, "cannot build the CPUID table: %s", strerror(-r)) : 0;
}

int arch_vm_init(struct kestrel_vm *vm, struct kestrel_error *err)
{
	int r = x86_vm_setup_tss(vm, err);

	return r < 0 ? r : x86_vm_setup_vcpus(vm, err);
}

/*
 * The interrupt controller and timer the plan asks for, then the vCPUs
 * (KVM takes the irqchip kind only before the first vCPU exists, which is
 * why the core makes vCPUs after this, once the image is known, and not in
 * kestrel_vm_create). What each costs is mostly at close(): every device
 * KVM puts on its I/O buses (PIC, IOAPIC, PIT) leaves an SRCU grace period
 * for kvm_destroy_vm to wait for, ~13-20 ms on this host (docs/coldstart.md).
 *   - The full in-kernel irqchip (PIC, IOAPIC, LAPIC) when the guest routes
 *     ISA interrupts through an IOAPIC (Linux) or needs a PIT, which KVM
 *     attaches to the in-kernel PIC; also when KVM has no split irqchip.
 *   - Else the split irqchip: the LAPIC in KVM (timer, IPIs, INIT/SIPI,
 *     x2APIC) and nothing on the buses. KVM_IRQ_LINE has no pin to drive
 *     then (dev_irq_line says -ENODEV).
 *   - The PIT for guests that may calibrate against it or tick from it
 *     (Linux, multiboot, a kestrel guest without CPUID's TSC rate), or --pit.
 */
int arch_vm_platform(struct kestrel_vm *vm, struct kestrel_error *err)
{
	bool pit = vm->plan.pit || vm->cfg.pit;

	vm->platform_tried = true;
	if (pit || vm->plan.ioapic || !vm->cap_split_irqchip) {
		if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
			return vm_err(err, -errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		vm->has_irqchip = true;
	} else {
		/* 24 routes reserved for a userspace IOAPIC's pins, as QEMU's
		 * split irqchip; kestrel has none, so none are ever set up. */
		struct kvm_enable_cap c = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &c) < 0)
			return vm_err(err, -errno, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s",
				      strerror(errno));
		vm->split_irqchip = true;
	}
	if (pit) {
		struct kvm_pit_config pc = {.flags = KVM_PIT_SPEAKER_DUMMY};
		if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pc) < 0)
			return vm_err(err, -errno, "KVM_CREATE_PIT2: %s", strerror(errno));
		vm->has_pit = true;
	}
	return 0;
}
