/* pv-probe - read the KVM PV leaves and check each probed feature works exactly when CPUID offers
 * it. */
#include "apic.h"
#include "guest.h"
#include "trap.h"

/*
 * What a guest kernel finds, and whether KVM keeps CPUID's word both ways:
 *  - leaf 0x40000000 (signature "KVMKVMKVM", max leaf) and 0x40000001 (PV
 *    features), printed by name; leaf 1's x2APIC and TSC-deadline bits;
 *  - kvmclock through each of its two MSRs (0x12 and 0x4b564d01): with the
 *    feature offered the write must be taken and the clock must advance
 *    at the TSC's rate (boot info tsc_khz) within 1% over a ~1 ms spin,
 *    both read from the same TSC values; without it the write must
 *    raise #GP, which kestrel asks of KVM with KVM_CAP_ENFORCE_PV_FEATURE_CPUID
 *    (caught here by skipping the 2-byte WRMSR);
 *  - with the word `hypercall` on the command line, the PV sched-yield
 *    hypercall (KVM_HC_SCHED_YIELD to APIC ID 0, vmmcall on AMD, vmcall
 *    elsewhere): 0 when offered, -KVM_ENOSYS (-1000) when not. Off by
 *    default: where KVM runs guest code in its instruction emulator (this
 *    project's nested hosts), the emulator's hypercall path only "fixes" the
 *    instruction and re-executes it, emulated again, forever: the guest hangs.
 * Output: one line per check, then
 *   KESTREL-PV-PROBE-OK pv=0xEAX kvmclock=on|off yield=on|off|untested
 * Exit status: 0 every check agreed with CPUID, 1 one did not, 3 an unexpected trap.
 */

#define KVM_SIG_EBX 0x4b4d564bu
#define KVM_SIG_ECX 0x564b4d56u
#define KVM_SIG_EDX 0x4du
#define MSR_KVM_SYSTEM_TIME 0x12u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define KVM_HC_SCHED_YIELD 11u
#define KVM_ENOSYS 1000
#define PVCLOCK_TSC_STABLE_BIT 0x01u

struct pvclock {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

static volatile struct pvclock clock __attribute__((aligned(64)));
static volatile uint32_t gp_seen;

static const struct {
	unsigned bit;
	const char *name;
} pv_names[] = {
    {0, "kvmclock"},	       {1, "nop-io-delay"},	{3, "kvmclock2"},
    {4, "async-pf"},	       {5, "steal-time"},	{6, "pv-eoi"},
    {7, "pv-unhalt"},	       {9, "pv-tlb-flush"},	{10, "async-pf-vmexit"},
    {11, "pv-send-ipi"},       {12, "poll-control"},	{13, "pv-sched-yield"},
    {14, "async-pf-int"},      {15, "msi-ext-dest-id"}, {16, "map-gpa-range"},
    {17, "migration-control"}, {24, "stable-bit"},
};

/* #GP from a WRMSR we made on purpose: note it and step over the instruction. */
static void gp_handler(struct trap_frame *f)
{
	const uint8_t *ip = (const uint8_t *)(uintptr_t)f->rip;

	if (ip[0] != 0x0f || ip[1] != 0x30) {
		hc_printf("pv-probe: #GP (error 0x%lx) at RIP 0x%lx, not at a WRMSR\n", f->error,
			  f->rip);
		exit(GUEST_STATUS_TRAP);
	}
	gp_seen++;
	f->rip += 2;
}

/* A WRMSR that may fault: returns true if it was taken. */
static bool try_wrmsr(uint32_t msr, uint64_t v)
{
	uint32_t before = gp_seen;

	wrmsr(msr, v);
	return gp_seen == before;
}

/* kvmclock now, in ns; *tsc = the TSC reading it was computed from. */
static uint64_t pvclock_ns(uint64_t *tsc)
{
	uint32_t v;
	uint64_t t, delta;
	int8_t shift;
	uint32_t mul;

	do {
		v = clock.version;
		barrier();
		*tsc = rdtsc();
		delta = *tsc - clock.tsc_timestamp;
		t = clock.system_time;
		mul = clock.tsc_to_system_mul;
		shift = clock.tsc_shift;
		barrier();
	} while ((v & 1) || v != clock.version);
	delta = shift < 0 ? delta >> -shift : delta << shift;
	return t + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/* kvmclock through `msr`; returns false if CPUID's word was not kept. */
static bool check_kvmclock(const char *name, uint32_t msr, bool offered, uint64_t tsc_khz, bool *on)
{
	uint64_t gpa = (uint64_t)(uintptr_t)&clock, t0, t1, c0, c1, end, ns, want;

	*on = false;
	if (!try_wrmsr(msr, gpa | 1)) {
		hc_printf("pv-probe: %s (MSR 0x%x): refused with #GP%s\n", name, msr,
			  offered ? ", but CPUID offers it" : ", as CPUID said");
		return !offered;
	}
	if (!offered) {
		hc_printf("pv-probe: %s (MSR 0x%x): taken although CPUID does not offer it\n", name,
			  msr);
		wrmsr(msr, 0);
		return false;
	}
	/* Both clocks from the same TSC readings: a vCPU preempted anywhere in
	 * between moves both alike, so the rate check needs no slack for it. */
	t0 = pvclock_ns(&c0);
	end = c0 + tsc_khz; /* 1 ms */
	while (rdtsc() < end)
		pause();
	t1 = pvclock_ns(&c1);
	wrmsr(msr, 0);
	ns = t1 - t0;
	want = (c1 - c0) * 1000000u / tsc_khz;
	hc_printf("pv-probe: %s (MSR 0x%x): on, version %u, %lu ns for %lu TSC cycles (%lu ns at "
		  "the boot "
		  "info's rate), TSC stable bit %s\n",
		  name, msr, clock.version, ns, c1 - c0, want,
		  clock.flags & PVCLOCK_TSC_STABLE_BIT ? "set" : "clear");
	if (t0 == 0 || t1 <= t0 || ns * 100 < want * 99 || ns * 100 > want * 101) {
		hc_printf("pv-probe: %s does not advance with the TSC (beyond 1%%)\n", name);
		return false;
	}
	*on = true;
	return true;
}

static int64_t kvm_hypercall1(bool amd, uint64_t nr, uint64_t a0)
{
	int64_t ret;

	if (amd)
		__asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "b"(a0) : "memory");
	else
		__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a0) : "memory");
	return ret;
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint32_t a, b, c, d, pv = 0, max_hv;
	char names[256];
	size_t n = 0;
	bool amd, ok = true, on1 = false, on2 = false, yield_offered, hypercall;
	const char *args;
	size_t len;
	int64_t y;

	if (cpu != 0)
		return 0;
	args = cmdline_str(bi, &len);
	hypercall = len == 9 && !memcmp(args, "hypercall", 9);
	trap_init("pv-probe");
	trap_set(TRAP_VECTOR_GP, gp_handler);

	cpuid(0, 0, &a, &b, &c, &d);
	amd = b == 0x68747541u; /* "Auth" */
	cpuid(1, 0, &a, &b, &c, &d);
	hc_printf("pv-probe: leaf 1: x2APIC %s, TSC-deadline %s, hypervisor %s\n",
		  c & (1u << 21) ? "yes" : "no", c & (1u << 24) ? "yes" : "no",
		  c & (1u << 31) ? "yes" : "no");
	cpuid(0x40000000u, 0, &max_hv, &b, &c, &d);
	if (b != KVM_SIG_EBX || c != KVM_SIG_ECX || d != KVM_SIG_EDX) {
		hc_printf("pv-probe: no KVM signature at 0x40000000\n");
		return 1;
	}
	if (max_hv == 0 || max_hv >= 0x40000001u)
		cpuid(0x40000001u, 0, &pv, &b, &c, &d);
	for (size_t i = 0; i < ARRAY_SIZE(pv_names) && n < sizeof(names); i++)
		if (pv & (1u << pv_names[i].bit))
			n +=
			    (size_t)snprintf(names + n, sizeof(names) - n, " %s", pv_names[i].name);
	hc_printf("pv-probe: KVM, max leaf 0x%x, PV features 0x%08x:%s\n", max_hv, pv,
		  n ? names : " none");

	ok &= check_kvmclock("kvmclock", MSR_KVM_SYSTEM_TIME, pv & 1u, bi->tsc_khz, &on1);
	ok &=
	    check_kvmclock("kvmclock2", MSR_KVM_SYSTEM_TIME_NEW, pv & (1u << 3), bi->tsc_khz, &on2);

	yield_offered = pv & (1u << 13);
	if (hypercall) {
		y = kvm_hypercall1(amd, KVM_HC_SCHED_YIELD, 0);
		hc_printf("pv-probe: sched-yield hypercall (%s) returned %ld%s\n",
			  amd ? "vmmcall" : "vmcall", y,
			  (y == 0) == yield_offered ? "" : " against CPUID's word");
		if (yield_offered ? y != 0 : y != -KVM_ENOSYS)
			ok = false;
	}
	if (!ok)
		return 1;
	hc_printf("KESTREL-PV-PROBE-OK pv=0x%08x kvmclock=%s yield=%s\n", pv,
		  on1 && on2 ? "on" : "off",
		  !hypercall	  ? "untested"
		  : yield_offered ? "on"
				  : "off");
	return 0;
}
