/* rawkvm-min.c - the raw-KVM cold-start floor (one VM, slot, vCPU, `out`), plus kestrel's objects.
 */

/*
 * One VM, one memory slot at guest-physical 0, one vCPU. The guest is two
 * instructions at 0x1000, `out %al, $0x10; hlt`; the program stops at the
 * first exit, which must be that `out` (KVM_EXIT_IO, port 0x10), and exits 0
 * without printing anything. By default the vCPU runs the guest in 64-bit long
 * mode with a 2 MiB identity page like kestrel's guests (page tables built
 * here, segment state set with KVM_SET_SREGS; no GDT needed, KVM takes the
 * hidden segment state as given); -r runs the same bytes in 16-bit real mode.
 *
 * Switches that add what kestrel asks KVM for (bench/coldstart.sh uses -t -i
 * -p -C -E -c, the set kestrel creates for every guest as of issue 16), in
 * kestrel's order: memory slot, TSS, irqchip, PIT, vCPU, CPUID, coalesced
 * PIO, ioeventfd:
 *   -t      KVM_SET_TSS_ADDR + KVM_SET_IDENTITY_MAP_ADDR (VMX needs them for
 *           real mode without unrestricted guest; a no-op on AMD)
 *   -i      KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and LAPIC
 *   -S      KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP, 24 pins): in-kernel LAPIC
 *           only (exclusive with -i)
 *   -p      KVM_CREATE_PIT2 (KVM wants -i first)
 *   -c      KVM_GET_SUPPORTED_CPUID (one call with room for 256 entries,
 *           grown on E2BIG) + KVM_SET_CPUID2 on the vCPU
 *   -C      one coalesced PIO zone: 1 byte at 0x3f8 (kestrel's UART THR)
 *   -E      one PIO ioeventfd: port 0x59 any length (kestrel's doorbell)
 *   -D      after the exit, before the close()s: deassign the ioeventfd
 *           (KVM_IOEVENTFD_FLAG_DEASSIGN) and unregister the coalesced zone
 *           (KVM_UNREGISTER_COALESCED_MMIO), as kestrel does at teardown
 * Other options:
 *   -r      16-bit real mode instead of long mode
 *   -M MiB  guest RAM (default 2; mapped MAP_NORESERVE, only touched pages
 *           are allocated)
 *   -T      tear down explicitly and print one line on stdout:
 *           exit_ns=N (CLOCK_MONOTONIC when KVM_RUN returned with the exit;
 *           the spawner subtracts it from its own end time to get "guest
 *           exit to process exit") vcpu_us= vm_us= rest_us= (time spent in
 *           munmap+close of the vCPU, close of the VM fd, where
 *           kvm_destroy_vm runs, and the rest) undo_us= (-D's ioctls)
 * Without -T, main returns and the kernel closes everything in exit(): the
 * same teardown work, in the process's exit.
 *
 * Exit status: 0 the guest made its `out`; 1 a KVM call failed (one line on
 * stderr names it); 2 bad usage; 3 the first exit was something else.
 *
 * Build: cc -O2 -o rawkvm-min bench/rawkvm-min.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_CODE 0x1000u
#define GUEST_PML4 0x2000u
#define GUEST_PDPT 0x3000u
#define GUEST_PD 0x4000u
#define GUEST_PORT 0x10u
#define TSS_ADDR 0xfffbd000u /* three pages below the identity-map page */
#define IDMAP_ADDR 0xfffbc000u
#define UART_THR 0x3f8u
#define DOORBELL 0x59u

#define PTE_P 0x1u
#define PTE_W 0x2u
#define PTE_PS 0x80u
#define CR0_PE 0x1u
#define CR0_ET 0x10u
#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define EFER_LME 0x100u
#define EFER_LMA 0x400u

struct opts {
	bool tss, irqchip, split, pit, cpuid, coalesce, ioeventfd, deassign, real_mode, timed;
	size_t mem;
};

static int fail(const char *what)
{
	fprintf(stderr, "rawkvm-min: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int usage(const char *why)
{
	fprintf(stderr,
		"rawkvm-min: %s\n"
		"usage: rawkvm-min [-t] [-i | -S] [-p] [-c] [-C] [-E] [-D] [-r] [-M MiB] [-T]\n"
		"  -t TSS+identity map  -i irqchip  -S split irqchip  -p PIT2 (needs -i)\n"
		"  -c supported CPUID -> SET_CPUID2  -C coalesced PIO zone  -E PIO ioeventfd\n"
		"  -D undo -C/-E before the close()s\n"
		"  -r real mode  -M guest RAM in MiB (default 2)  -T timed teardown line\n",
		why);
	return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = 2u << 20;
	opterr = 0; /* usage() says it once */
	while ((c = getopt(argc, argv, "tiSpcCEDrM:Th")) != -1) {
		switch (c) {
		case 't':
			o->tss = true;
			break;
		case 'i':
			o->irqchip = true;
			break;
		case 'S':
			o->split = true;
			break;
		case 'p':
			o->pit = true;
			break;
		case 'c':
			o->cpuid = true;
			break;
		case 'C':
			o->coalesce = true;
			break;
		case 'E':
			o->ioeventfd = true;
			break;
		case 'D':
			o->deassign = true;
			break;
		case 'r':
			o->real_mode = true;
			break;
		case 'T':
			o->timed = true;
			break;
		case 'M': {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			/* At least the 2 MiB the long-mode page covers; at most 64 GiB. */
			if (errno || *end || end == optarg || v < 2 || v > 65536)
				return usage("-M takes a number of MiB from 2 to 65536");
			o->mem = (size_t)v << 20;
			break;
		}
		default:
			return usage("unknown option");
		}
	}
	if (optind != argc)
		return usage("no arguments besides options");
	if (o->irqchip && o->split)
		return usage("-i and -S are two kinds of irqchip: give one");
	return 0;
}

/* KVM's supported CPUID table, handed to the vCPU as is. */
static int set_cpuid(int kvm, int vcpu)
{
	for (uint32_t n = 256; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));
		int r;

		if (!t)
			return fail("calloc");
		t->nent = n;
		r = ioctl(kvm, KVM_GET_SUPPORTED_CPUID, t);
		if (r == 0) {
			r = ioctl(vcpu, KVM_SET_CPUID2, t);
			free(t);
			return r < 0 ? fail("KVM_SET_CPUID2") : 0;
		}
		free(t);
		if (errno != E2BIG)
			return fail("KVM_GET_SUPPORTED_CPUID");
	}
	errno = E2BIG;
	return fail("KVM_GET_SUPPORTED_CPUID");
}

/* Guest code, page tables (long mode) and the vCPU's start state. */
static int setup_guest(int vcpu, uint8_t *ram, bool real_mode)
{
	static const uint8_t code[] = {0xe6, GUEST_PORT, 0xf4}; /* out %al, $0x10; hlt */
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = GUEST_CODE, .rflags = 0x2};

	memcpy(ram + GUEST_CODE, code, sizeof(code));
	if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
		return fail("KVM_GET_SREGS");
	if (real_mode) {
		/* Reset state but CS = 0: the code is at 0:0x1000. */
		s.cs.base = 0;
		s.cs.selector = 0;
	} else {
		uint64_t *pml4 = (uint64_t *)(ram + GUEST_PML4);
		uint64_t *pdpt = (uint64_t *)(ram + GUEST_PDPT);
		uint64_t *pd = (uint64_t *)(ram + GUEST_PD);
		struct kvm_segment cs = {
		    .limit = 0xffffffffu,
		    .selector = 0x8,
		    .type = 0xb, /* code, read, accessed */
		    .present = 1,
		    .s = 1,
		    .l = 1,
		    .g = 1,
		};
		struct kvm_segment ds = {
		    .limit = 0xffffffffu,
		    .selector = 0x10,
		    .type = 0x3, /* data, write, accessed */
		    .present = 1,
		    .s = 1,
		    .db = 1,
		    .g = 1,
		};

		pml4[0] = GUEST_PDPT | PTE_P | PTE_W;
		pdpt[0] = GUEST_PD | PTE_P | PTE_W;
		pd[0] = 0 | PTE_P | PTE_W | PTE_PS; /* [0, 2 MiB) identity */
		s.cs = cs;
		s.ds = s.es = s.fs = s.gs = s.ss = ds;
		s.cr3 = GUEST_PML4;
		s.cr4 = CR4_PAE;
		s.cr0 = CR0_PE | CR0_ET | CR0_PG;
		s.efer = EFER_LME | EFER_LMA;
	}
	if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0)
		return fail("KVM_SET_SREGS");
	if (ioctl(vcpu, KVM_SET_REGS, &r) < 0)
		return fail("KVM_SET_REGS");
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct kvm_run *run;
	uint64_t t_exit, t_undo, t_vcpu, t_vm, t_end;
	uint8_t *ram;
	struct kvm_coalesced_mmio_zone zone = {.addr = UART_THR, .size = 1, .pio = 1};
	struct kvm_ioeventfd io = {.addr = DOORBELL, .flags = KVM_IOEVENTFD_FLAG_PIO};
	int kvm, vm, vcpu, efd = -1, run_size, r;

	if ((r = parse(argc, argv, &o)) != 0)
		return r;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	ram = mmap(NULL, o.mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap guest RAM");
	struct kvm_userspace_memory_region slot = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = o.mem,
	    .userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	if (o.tss) {
		uint64_t idmap = IDMAP_ADDR;
		if (ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
			return fail("KVM_SET_TSS_ADDR");
		if (ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			return fail("KVM_SET_IDENTITY_MAP_ADDR");
	}
	if (o.irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	if (o.split) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
		if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0)
			return fail("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)");
	}
	if (o.pit) {
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
		if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
			return fail("KVM_CREATE_PIT2 (it needs -i)");
	}

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(*run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (o.cpuid && set_cpuid(kvm, vcpu) != 0)
		return 1;
	if (o.coalesce && ioctl(vm, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return fail("KVM_REGISTER_COALESCED_MMIO (PIO)");
	if (o.ioeventfd) {
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efd < 0)
			return fail("eventfd");
		io.fd = efd;
		if (ioctl(vm, KVM_IOEVENTFD, &io) < 0)
			return fail("KVM_IOEVENTFD");
	}

	if (setup_guest(vcpu, ram, o.real_mode) != 0)
		return 1;
	while ((r = ioctl(vcpu, KVM_RUN, 0)) < 0 && errno == EINTR)
		;
	t_exit = now_ns();
	if (r < 0)
		return fail("KVM_RUN");
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != GUEST_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT) {
		fprintf(stderr,
			"rawkvm-min: first exit was reason %u (port 0x%x), not the guest's out to "
			"0x%x\n",
			run->exit_reason, run->exit_reason == KVM_EXIT_IO ? run->io.port : 0,
			GUEST_PORT);
		return 3;
	}
	if (!o.timed)
		return 0; /* exit() closes the fds: kvm_destroy_vm runs there */

	if (o.deassign && o.ioeventfd) {
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		if (ioctl(vm, KVM_IOEVENTFD, &io) < 0)
			return fail("KVM_IOEVENTFD (deassign)");
	}
	if (o.deassign && o.coalesce && ioctl(vm, KVM_UNREGISTER_COALESCED_MMIO, &zone) < 0)
		return fail("KVM_UNREGISTER_COALESCED_MMIO");
	t_undo = now_ns();
	munmap(run, (size_t)run_size);
	close(vcpu);
	t_vcpu = now_ns();
	close(vm); /* the last reference: the VM is destroyed here */
	t_vm = now_ns();
	if (efd >= 0)
		close(efd);
	munmap(ram, o.mem);
	close(kvm);
	t_end = now_ns();
	printf("exit_ns=%llu vcpu_us=%.1f vm_us=%.1f rest_us=%.1f undo_us=%.1f\n",
	       (unsigned long long)t_exit, (double)(t_vcpu - t_undo) / 1e3,
	       (double)(t_vm - t_vcpu) / 1e3, (double)(t_end - t_vm) / 1e3,
	       (double)(t_undo - t_exit) / 1e3);
	return 0;
}
