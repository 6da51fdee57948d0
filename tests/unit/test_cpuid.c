/* test_cpuid.c - unit tests for the CPUID builder: timing leaves, max-leaf raising, --no-cpuid-tsc,
 * APIC and PV leaves, --no-pv, topology, the 0x15 ratio. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <asm/kvm_para.h>

#include "arch/x86/cpuid.h"
#include "tap.h"

#define MAXE 128u
#define SIG_AMD_EBX 0x68747541u
#define SIG_INTEL_EBX 0x756e6547u /* "Genu" */
#define IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* A kvm_cpuid2 with room for MAXE entries (its flexible array rules out
 * embedding it in a struct). */
struct table {
	struct kvm_cpuid2 *t;
};

static struct table table_new(void)
{
	struct table x = {
	    calloc(1, sizeof(struct kvm_cpuid2) + MAXE * sizeof(struct kvm_cpuid_entry2))};

	if (!x.t)
		abort();
	return x;
}

/* Shared by every test: KVM's table, a copy of it, and the builder's output. */
static struct table in, copy, out;

static size_t table_size(void)
{
	return sizeof(struct kvm_cpuid2) + MAXE * sizeof(struct kvm_cpuid_entry2);
}

static void put(struct table *t, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t a, uint32_t b,
		uint32_t c, uint32_t d)
{
	t->t->entries[t->t->nent++] = (struct kvm_cpuid_entry2){
	    .function = fn, .index = idx, .flags = flags, .eax = a, .ebx = b, .ecx = c, .edx = d};
}

static struct kvm_cpuid_entry2 *get(struct table *t, uint32_t fn, uint32_t idx)
{
	return x86_cpuid_entry(t->t, fn, idx);
}

/* Shaped like KVM_GET_SUPPORTED_CPUID on this project's AMD EPYC host:
 * max leaf 0x1c, zeroed 0x15/0x16, KVM signature leaf up to 0x40000001,
 * topology leaf 0xB with only a zeroed sub-leaf 0. Invariant TSC is left
 * clear here so the builder has to set it. */
static void amd_host(struct table *t)
{
	memset(t->t, 0, table_size());
	put(t, 0, 0, 0, 0x1c, SIG_AMD_EBX, 0x444d4163, 0x69746e65);
	put(t, 1, 0, 0, 0x00a10f11, 0x00020800, 0x81202000, 0x078bfbff);
	put(t, 0xb, 0, IDX, 0, 0, 0, 0);
	put(t, 0x15, 0, 0, 0, 0, 0, 0);
	put(t, 0x16, 0, 0, 0, 0, 0, 0);
	put(t, 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	put(t, 0x40000001, 0, 0, 0x01007efb, 0, 0, 0);
	put(t, 0x80000000, 0, 0, 0x80000021, SIG_AMD_EBX, 0x444d4163, 0x69746e65);
	put(t, 0x80000001, 0, 0, 0x00a10f11, 0x40000000, 0x00400391, 0x23d3fbff);
	put(t, 0x80000007, 0, 0, 0, 0, 0, 0x00000040);
	put(t, 0x80000008, 0, 0, 0x3030, 0x50020005, 0x7001, 0);
	put(t, 0x8000001d, 0, IDX, 0x121, 0x01c0003f, 0x3f, 0);
	put(t, 0x8000001d, 3, IDX, 0x4163, 0x03c0003f, 0x7fff, 1);
	put(t, 0x8000001e, 0, 0, 0, 0, 0, 0);
}

/* An older Intel host: max basic leaf 0xD (no 0x15/0x16 at all), extended
 * leaves only to 0x80000006, KVM's signature leaf with EAX 0 (old style),
 * host cache leaves claiming 8 cores and an L3 shared by 16 threads. */
static void old_intel_host(struct table *t)
{
	memset(t->t, 0, table_size());
	put(t, 0, 0, 0, 0xd, SIG_INTEL_EBX, 0x6c65746e, 0x49656e69);
	put(t, 1, 0, 0, 0x000306c3, 0x00100800, 0x80202001, 0x078bfbff);
	put(t, 4, 0, IDX, (7u << 26) | (1u << 14) | (1u << 5) | 1, 0x01c0003f, 0x3f, 0);
	put(t, 4, 1, IDX, (7u << 26) | (15u << 14) | (3u << 5) | 3, 0x03c0003f, 0x1fff, 6);
	put(t, 4, 2, IDX, 0, 0, 0, 0);
	put(t, 0xb, 0, IDX, 1, 2, 0x100, 0);
	put(t, 0xb, 1, IDX, 4, 16, 0x201, 0);
	put(t, 0xb, 3, IDX, 7, 7, 0x7, 0); /* junk beyond the end: must be invalidated */
	put(t, 0x40000000, 0, 0, 0, 0x4b4d564b, 0x564b4d56, 0x4d);
	put(t, 0x80000000, 0, 0, 0x80000006, 0, 0, 0);
	put(t, 0x80000001, 0, 0, 0, 0, 0x21, 0x2c100800);
	put(t, 0x80000008, 0, 0, 0x3027, 0, 0, 0);
}

static struct x86_cpuid_opts opts(unsigned ncpus, uint32_t tsc_khz, bool no_tsc)
{
	return (struct x86_cpuid_opts){.ncpus = ncpus,
				       .tsc_khz = tsc_khz,
				       .apic_bus_khz = X86_KVM_APIC_BUS_KHZ,
				       .no_tsc_leaves = no_tsc};
}

static int build(struct table *dst, const struct table *src, struct x86_cpuid_opts o)
{
	memset(dst->t, 0xa5, table_size()); /* garbage: the builder must not rely on zeros */
	return x86_cpuid_build(dst->t, MAXE, src->t, &o);
}

static bool same_regs(const struct kvm_cpuid_entry2 *a, const struct kvm_cpuid_entry2 *b)
{
	return a && b && a->eax == b->eax && a->ebx == b->ebx && a->ecx == b->ecx &&
	       a->edx == b->edx;
}

/* What Linux's native_calibrate_tsc returns: unsigned int arithmetic. */
static uint32_t linux_tsc_khz(const struct kvm_cpuid_entry2 *e)
{
	uint32_t crystal_khz = e->ecx / 1000;

	return crystal_khz * e->ebx / e->eax;
}

static void test_amd_default(void)
{
	struct kvm_cpuid_entry2 *e;
	const uint32_t tsc = 2596144;

	amd_host(&in);
	memcpy(copy.t, in.t, table_size());
	TAP_EQ_INT(build(&out, &in, opts(1, tsc, false)), 0, "AMD host: build succeeds");
	TAP_OK(memcmp(in.t, copy.t, table_size()) == 0, "the supported table is not modified");
	TAP_EQ_U64(out.t->nent, in.t->nent + 3, "adds 0x40000010 and 0xB sub-leaves 1 and 2");
	TAP_EQ_U64(get(&out, 0, 0)->eax, 0x1c,
		   "max basic leaf 0x1c already covers 0x16: unchanged");

	e = get(&out, 0x15, 0);
	TAP_EQ_U64(e->ecx, 1000000000u, "0x15 crystal = the 1 GHz APIC bus");
	TAP_OK(e->eax && e->ebx, "0x15 has a ratio (%u/%u)", e->ebx, e->eax);
	TAP_OK((uint64_t)(e->ecx / 1000) * e->ebx <= UINT32_MAX,
	       "crystal_khz * EBX fits Linux's 32-bit multiply");
	uint64_t hz = (uint64_t)e->ecx * e->ebx / e->eax;
	TAP_OK(hz / 1000 + 3 >= tsc && hz / 1000 <= tsc + 3, "ECX*EBX/EAX = %llu Hz ~ %u kHz",
	       (unsigned long long)hz, tsc);
	uint32_t lk = linux_tsc_khz(e);
	TAP_OK(lk + 3 >= tsc && lk <= tsc + 3, "Linux's formula gives %u kHz (want %u)", lk, tsc);

	e = get(&out, 0x16, 0);
	TAP_OK(e->eax == 2596 && e->ebx == 2596 && e->ecx == 1000 && e->edx == 0,
	       "0x16: base = max = 2596 MHz, bus 1000 MHz (%u %u %u)", e->eax, e->ebx, e->ecx);

	TAP_EQ_U64(get(&out, 0x40000000, 0)->eax, 0x40000010,
		   "hypervisor max leaf raised to 0x40000010");
	TAP_OK(get(&out, 0x40000000, 0)->ebx == 0x4b4d564b && get(&out, 0x40000000, 0)->edx == 0x4d,
	       "KVM signature kept");
	e = get(&out, 0x40000010, 0);
	TAP_OK(e && e->eax == tsc && e->ebx == 1000000 && e->ecx == 0 && e->edx == 0,
	       "0x40000010: TSC kHz and APIC bus kHz");
	e = get(&out, 0x80000007, 0);
	TAP_EQ_U64(e->edx, 0x140, "0x80000007 EDX: invariant TSC set, other bits kept");

	bool sorted = true;
	for (uint32_t i = 1; i < out.t->nent; i++) {
		const struct kvm_cpuid_entry2 *p = &out.t->entries[i - 1], *q = &out.t->entries[i];
		if (p->function > q->function ||
		    (p->function == q->function && p->index >= q->index))
			sorted = false;
	}
	TAP_OK(sorted, "entries sorted by (function, index), no duplicates");
}

static void test_raise_max_leaves(void)
{
	struct kvm_cpuid_entry2 *e;

	old_intel_host(&in);
	TAP_EQ_INT(build(&out, &in, opts(4, 2100000, false)), 0, "old Intel host: build succeeds");
	TAP_EQ_U64(get(&out, 0, 0)->eax, 0x16, "max basic leaf raised from 0xD to 0x16");
	e = get(&out, 0x15, 0);
	TAP_OK(e && e->eax && e->ebx && e->ecx == 1000000000u, "leaf 0x15 added");
	TAP_OK(e && linux_tsc_khz(e) == 2100000, "2.1 GHz is exact: 21/10 (%u/%u)", e ? e->ebx : 0,
	       e ? e->eax : 0);
	e = get(&out, 0x16, 0);
	TAP_OK(e && e->eax == 2100 && e->ecx == 1000, "leaf 0x16 added");
	TAP_EQ_U64(get(&out, 0x40000000, 0)->eax, 0x40000010, "old-style hypervisor EAX 0 raised");
	TAP_OK(get(&out, 0x40000010, 0) != NULL, "leaf 0x40000010 added");
	TAP_EQ_U64(get(&out, 0x80000000, 0)->eax, 0x80000007,
		   "max extended leaf raised to 0x80000007");
	e = get(&out, 0x80000007, 0);
	TAP_OK(e && e->edx == 0x100, "leaf 0x80000007 added with invariant TSC");
	/* Intel: the AMD-only topology fields are not touched. */
	TAP_EQ_U64(get(&out, 0x80000008, 0)->ecx, 0, "Intel 0x80000008 ECX left alone");
	TAP_EQ_U64(get(&out, 0x80000001, 0)->ecx, 0x21, "Intel 0x80000001 ECX left alone");
}

static void test_no_tsc_frequency(void)
{
	struct kvm_cpuid_entry2 *e;

	/* A host that passes its own crystal through (24 MHz, ratio 216/2):
	 * with no TSC rate from KVM, kestrel must not leave a crystal that is
	 * not the LAPIC clock, and must not invent anything. */
	amd_host(&in);
	get(&in, 0x15, 0)->eax = 2;
	get(&in, 0x15, 0)->ebx = 216;
	get(&in, 0x15, 0)->ecx = 24000000;
	get(&in, 0x16, 0)->eax = 2600;
	TAP_EQ_INT(build(&out, &in, opts(1, 0, false)), 0, "unknown TSC rate: build succeeds");
	e = get(&out, 0x15, 0);
	TAP_OK(e->eax == 0 && e->ebx == 0 && e->ecx == 0 && e->edx == 0, "0x15 zeroed");
	e = get(&out, 0x16, 0);
	TAP_OK(e->eax == 0 && e->ebx == 0 && e->ecx == 0, "0x16 zeroed");
	TAP_OK(get(&out, 0x40000010, 0) == NULL, "no 0x40000010 invented");
	TAP_EQ_U64(get(&out, 0x40000000, 0)->eax, 0x40000001, "hypervisor max leaf unchanged");
	TAP_EQ_U64(get(&out, 0x80000007, 0)->edx, 0x40, "invariant TSC not claimed");

	old_intel_host(&in);
	TAP_EQ_INT(build(&out, &in, opts(1, 0, false)), 0,
		   "unknown TSC rate, old Intel: build succeeds");
	TAP_EQ_U64(get(&out, 0, 0)->eax, 0xd, "max basic leaf not raised");
	TAP_OK(get(&out, 0x15, 0) == NULL && get(&out, 0x16, 0) == NULL, "no 0x15/0x16 added");
	TAP_EQ_U64(get(&out, 0x80000000, 0)->eax, 0x80000006, "max extended leaf not raised");
}

static void test_no_cpuid_tsc(void)
{
	/* (0x40000001 is the PV leaf: filtered either way, see test_pv.) */
	static const uint32_t leaves[] = {0, 0x15, 0x16, 0x40000000, 0x80000000, 0x80000007};
	bool same = true;

	amd_host(&in);
	get(&in, 0x15, 0)->eax = 2; /* host values must survive untouched */
	get(&in, 0x15, 0)->ebx = 216;
	get(&in, 0x15, 0)->ecx = 24000000;
	TAP_EQ_INT(build(&out, &in, opts(1, 2596144, true)), 0, "--no-cpuid-tsc: build succeeds");
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (!same_regs(get(&out, leaves[i], 0), get(&in, leaves[i], 0))) {
			tap_diag("leaf 0x%x changed", leaves[i]);
			same = false;
		}
	TAP_OK(same,
	       "--no-cpuid-tsc: leaves 0, 0x15, 0x16, 0x40000000, 0x8000000x as KVM gave them");
	TAP_OK(get(&out, 0x40000010, 0) == NULL, "--no-cpuid-tsc: no 0x40000010");
	TAP_EQ_U64(out.t->nent, in.t->nent + 2,
		   "--no-cpuid-tsc: only the topology sub-leaves added");

	old_intel_host(&in);
	TAP_EQ_INT(build(&out, &in, opts(1, 2596144, true)), 0, "--no-cpuid-tsc, old Intel");
	TAP_EQ_U64(get(&out, 0, 0)->eax, 0xd, "--no-cpuid-tsc: max basic leaf not raised");
}

static void test_topology(void)
{
	struct kvm_cpuid_entry2 *e;

	amd_host(&in);
	TAP_EQ_INT(build(&out, &in, opts(1, 2596144, false)), 0, "1 vCPU");
	e = get(&out, 1, 0);
	TAP_OK(((e->ebx >> 16) & 0xff) == 1 && !(e->edx & (1u << 28)), "1 vCPU: 1 ID, no HTT");
	TAP_OK(!(get(&out, 0x80000001, 0)->ecx & 2), "1 vCPU: CmpLegacy clear");
	e = get(&out, 0xb, 1);
	TAP_OK(e && e->index == 1 && e->eax == 0 && e->ebx == 1 && e->ecx == 0x201,
	       "1 vCPU: 0xB core level");

	TAP_EQ_INT(build(&out, &in, opts(3, 2596144, false)), 0, "3 vCPUs");
	e = get(&out, 1, 0);
	TAP_OK(((e->ebx >> 16) & 0xff) == 4 && (e->edx & (1u << 28)),
	       "3 vCPUs: leaf 1 says 4 addressable IDs, HTT");
	TAP_EQ_U64(e->ebx & 0xffff, 0x0800, "leaf 1 EBX[15:0] kept");
	e = get(&out, 0xb, 0);
	TAP_OK(e && e->index == 0 && e->eax == 0 && e->ebx == 1 && e->ecx == 0x100,
	       "0xB.0: SMT level, 1 thread, shift 0");
	e = get(&out, 0xb, 1);
	TAP_OK(e && e->index == 1 && e->eax == 2 && e->ebx == 3 && e->ecx == 0x201,
	       "0xB.1: core level, 3 CPUs, shift 2");
	e = get(&out, 0xb, 2);
	TAP_OK(e && e->index == 2 && e->eax == 0 && e->ebx == 0 && e->ecx == 2,
	       "0xB.2: invalid level ends it");
	TAP_EQ_U64(get(&out, 0x80000008, 0)->ecx, 0x2002, "AMD 0x80000008 ECX: ApicIdSize 2, NC 2");
	TAP_OK(get(&out, 0x80000001, 0)->ecx & 2, "3 vCPUs: CmpLegacy set");
	TAP_EQ_U64((get(&out, 0x8000001d, 0)->eax >> 14) & 0xfff, 0, "L1 per core");
	TAP_EQ_U64((get(&out, 0x8000001d, 3)->eax >> 14) & 0xfff, 3,
		   "L3 shared by the package (4 IDs)");

	x86_cpuid_for_vcpu(out.t, 2);
	TAP_EQ_U64(get(&out, 1, 0)->ebx >> 24, 2, "vCPU 2: initial APIC ID 2");
	TAP_OK(get(&out, 0xb, 0)->edx == 2 && get(&out, 0xb, 1)->edx == 2 &&
		   get(&out, 0xb, 2)->edx == 2,
	       "vCPU 2: x2APIC ID in every 0xB sub-leaf");
	e = get(&out, 0x8000001e, 0);
	TAP_OK(e->eax == 2 && e->ebx == 2 && e->ecx == 0,
	       "vCPU 2: 0x8000001E ext APIC ID and core ID");
	TAP_EQ_U64(get(&out, 1, 0)->ebx & 0x00ffffff, 0x040800, "vCPU 2: rest of leaf 1 EBX kept");

	old_intel_host(&in);
	TAP_EQ_INT(build(&out, &in, opts(4, 2100000, false)), 0, "old Intel, 4 vCPUs");
	e = get(&out, 4, 0);
	TAP_OK(e->eax >> 26 == 3 && ((e->eax >> 14) & 0xfff) == 0 && (e->eax & 0x3fff) == 0x21,
	       "leaf 4 L1d: 4 cores, private, type/level kept");
	e = get(&out, 4, 1);
	TAP_OK(e->eax >> 26 == 3 && ((e->eax >> 14) & 0xfff) == 3, "leaf 4 L3: shared by 4");
	TAP_EQ_U64(get(&out, 4, 2)->eax, 0, "leaf 4 terminator untouched");
	e = get(&out, 0xb, 3);
	TAP_OK(e && e->eax == 0 && e->ebx == 0 && e->ecx == 3, "0xB.3 from the host made invalid");
	TAP_OK(get(&out, 0xb, 1)->ebx == 4 && get(&out, 0xb, 1)->eax == 2,
	       "0xB.1: host's 16 CPUs replaced");

	/* A leaf 0xB without the significant-index flag must still get distinct sub-leaves. */
	amd_host(&in);
	get(&in, 0xb, 0)->flags = 0;
	TAP_EQ_INT(build(&out, &in, opts(2, 2596144, false)), 0, "unflagged 0xB");
	TAP_OK(get(&out, 0xb, 0) != get(&out, 0xb, 1) && get(&out, 0xb, 1)->ebx == 2 &&
		   get(&out, 0xb, 0)->ebx == 1,
	       "unflagged 0xB: sub-leaves 0 and 1 distinct");

	TAP_EQ_INT(build(&out, &in, opts(300, 2596144, false)), 0, "300 vCPUs");
	TAP_EQ_U64((get(&out, 1, 0)->ebx >> 16) & 0xff, 255,
		   "300 vCPUs: leaf 1 ID count saturates at 255");
	TAP_EQ_U64(get(&out, 0xb, 1)->eax, 9, "300 vCPUs: core shift 9");
}

static struct x86_cpuid_opts opts_apic(bool x2apic, bool deadline, bool no_pv)
{
	struct x86_cpuid_opts o = opts(2, 2596144, false);

	o.x2apic = x2apic;
	o.tsc_deadline = deadline;
	o.no_pv = no_pv;
	return o;
}

static void test_apic(void)
{
	const uint32_t x2 = 1u << 21, dl = 1u << 24;
	uint32_t ecx;

	amd_host(&in); /* leaf 1 ECX 0x81202000: hypervisor, TSC-deadline, x2APIC, cmpxchg16b */
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "in-kernel LAPIC with both");
	ecx = get(&out, 1, 0)->ecx;
	TAP_OK((ecx & x2) && (ecx & dl), "leaf 1: x2APIC and TSC-deadline offered (0x%08x)", ecx);
	TAP_EQ_U64(ecx & ~(x2 | dl), 0x80002000u, "leaf 1 ECX: every other bit as KVM gave it");

	TAP_EQ_INT(build(&out, &in, opts_apic(false, false, false)), 0,
		   "no x2APIC, no TSC-deadline");
	ecx = get(&out, 1, 0)->ecx;
	TAP_OK(!(ecx & x2) && !(ecx & dl),
	       "leaf 1: neither offered when the irqchip lacks them (0x%08x)", ecx);
	TAP_EQ_U64(ecx, 0x80002000u, "leaf 1 ECX: only those two bits cleared");

	TAP_EQ_INT(build(&out, &in, opts_apic(true, false, false)), 0,
		   "x2APIC without TSC-deadline");
	ecx = get(&out, 1, 0)->ecx;
	TAP_OK((ecx & x2) && !(ecx & dl), "no KVM_CAP_TSC_DEADLINE_TIMER: TSC-deadline cleared");

	/* KVM's table need not list TSC-deadline (older KVMs did not): the
	 * capability alone decides. x2APIC is never invented. */
	old_intel_host(&in); /* leaf 1 ECX 0x80202001: x2APIC, no TSC-deadline */
	get(&in, 1, 0)->ecx &= ~x2;
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "host table without either");
	ecx = get(&out, 1, 0)->ecx;
	TAP_OK((ecx & dl) && !(ecx & x2),
	       "TSC-deadline added from the capability, x2APIC not invented");
}

/* The PV features the issue names, restated from asm/kvm_para.h. */
static uint32_t pv_named(void)
{
	return 1u << KVM_FEATURE_CLOCKSOURCE | 1u << KVM_FEATURE_CLOCKSOURCE2 |
	       1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT | 1u << KVM_FEATURE_PV_EOI |
	       1u << KVM_FEATURE_PV_UNHALT | 1u << KVM_FEATURE_PV_TLB_FLUSH |
	       1u << KVM_FEATURE_STEAL_TIME | 1u << KVM_FEATURE_PV_SEND_IPI |
	       1u << KVM_FEATURE_PV_SCHED_YIELD | 1u << KVM_FEATURE_POLL_CONTROL;
}

static void test_pv(void)
{
	struct kvm_cpuid_entry2 *e;
	const uint32_t async = 1u << KVM_FEATURE_ASYNC_PF | 1u << KVM_FEATURE_ASYNC_PF_VMEXIT |
			       1u << KVM_FEATURE_ASYNC_PF_INT;
	const uint32_t vmm = 1u << KVM_FEATURE_MSI_EXT_DEST_ID |
			     1u << KVM_FEATURE_HC_MAP_GPA_RANGE |
			     1u << KVM_FEATURE_MIGRATION_CONTROL;

	/* This host: KVM offers 0x01007efb. */
	amd_host(&in);
	get(&in, 0x40000001, 0)->ebx = 0x1234; /* junk the builder must not pass on */
	get(&in, 0x40000001, 0)->edx = 1u << KVM_HINTS_REALTIME;
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "PV on: build succeeds");
	e = get(&out, 0x40000001, 0);
	TAP_EQ_U64(e->eax, 0x01003aeb,
		   "0x40000001 EAX: 0x01007efb without the three async-PF bits");
	TAP_EQ_U64(
	    e->eax & pv_named(), pv_named(),
	    "every named feature KVM offers is there (kvmclock x2, stable, PV EOI, unhalt, TLB "
	    "flush, steal time, send-IPI, sched-yield, poll control)");
	TAP_EQ_U64(e->eax & async, 0, "async page faults left out");
	TAP_EQ_U64(e->eax & ~(pv_named() | 1u << KVM_FEATURE_NOP_IO_DELAY), 0,
		   "nothing beyond the named features and NOP_IO_DELAY");
	TAP_OK(e->ebx == 0 && e->ecx == 0, "0x40000001 EBX/ECX zero");
	TAP_EQ_U64(e->edx, 1u << KVM_HINTS_REALTIME, "0x40000001 EDX: KVM's hints kept");
	TAP_EQ_U64(get(&out, 0x40000000, 0)->ebx, 0x4b4d564b, "KVM signature kept");

	/* Never more than KVM supports. */
	get(&in, 0x40000001, 0)->eax = 1u << KVM_FEATURE_CLOCKSOURCE2 | 1u << KVM_FEATURE_ASYNC_PF;
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "a KVM offering little");
	TAP_EQ_U64(get(&out, 0x40000001, 0)->eax, 1u << KVM_FEATURE_CLOCKSOURCE2,
		   "only kvmclock2 passed on: nothing invented, async PF dropped");

	/* A KVM offering every bit: exactly the chosen set survives. */
	get(&in, 0x40000001, 0)->eax = 0xffffffffu;
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "a KVM offering everything");
	e = get(&out, 0x40000001, 0);
	TAP_EQ_U64(e->eax, pv_named() | 1u << KVM_FEATURE_NOP_IO_DELAY,
		   "everything offered: the named features and NOP_IO_DELAY, no more");
	TAP_EQ_U64(e->eax & vmm, 0,
		   "features that need the VMM (MSI ext dest ID, MAP_GPA_RANGE, "
		   "migration control) left out");

	/* --no-pv. */
	amd_host(&in);
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, true)), 0, "--no-pv: build succeeds");
	e = get(&out, 0x40000001, 0);
	TAP_OK(e && e->eax == 0 && e->ebx == 0 && e->ecx == 0 && e->edx == 0,
	       "--no-pv: 0x40000001 all zero");
	e = get(&out, 0x40000000, 0);
	TAP_OK(e->ebx == 0x4b4d564b && e->eax == 0x40000010,
	       "--no-pv: still KVM (signature), timing leaf still reachable");
	TAP_OK(get(&out, 1, 0)->ecx & (1u << 21), "--no-pv: x2APIC is not a PV feature, kept");

	/* The hypervisor range must reach 0x40000001. */
	amd_host(&in);
	get(&in, 0x40000000, 0)->eax = 0x40000000;
	TAP_EQ_INT(build(&out, &in, opts(1, 0, true)), 0, "hypervisor max leaf 0x40000000");
	TAP_EQ_U64(get(&out, 0x40000000, 0)->eax, 0x40000001, "raised to 0x40000001");
	get(&in, 0x40000000, 0)->eax = 0;
	TAP_EQ_INT(build(&out, &in, opts(1, 0, true)), 0, "old-style hypervisor EAX 0");
	TAP_EQ_U64(get(&out, 0x40000000, 0)->eax, 0, "EAX 0 (= up to 0x40000001) left alone");

	/* Another hypervisor's 0x40000001 means something else: untouched. */
	amd_host(&in);
	get(&in, 0x40000000, 0)->ebx = 0x7263694d; /* "Micr" of Microsoft Hv */
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, true)), 0, "not KVM's signature");
	TAP_EQ_U64(get(&out, 0x40000001, 0)->eax, 0x01007efb,
		   "0x40000001 untouched, even with --no-pv");

	/* No PV leaf at all: nothing added. */
	old_intel_host(&in);
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "KVM without 0x40000001");
	TAP_OK(get(&out, 0x40000001, 0) == NULL, "no 0x40000001 invented");
}

/* The host quirk's cut (arch/x86/quirk.h): only the hypercall features go. */
static void test_drop_pv(void)
{
	const uint32_t hc = 1u << KVM_FEATURE_PV_UNHALT | 1u << KVM_FEATURE_PV_SEND_IPI |
			    1u << KVM_FEATURE_PV_SCHED_YIELD;
	struct kvm_cpuid_entry2 *e;
	uint32_t before;

	TAP_EQ_U64(X86_KVM_PV_HYPERCALL_FEATURES, hc,
		   "the hypercall features: PV unhalt, send-IPI, sched-yield");
	amd_host(&in);
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "PV on: build succeeds");
	e = get(&out, 0x40000001, 0);
	before = e->eax;
	TAP_EQ_U64(x86_cpuid_drop_pv(out.t, X86_KVM_PV_HYPERCALL_FEATURES), before & hc,
		   "drop: returns the bits that were set (all three on this host)");
	TAP_EQ_U64(e->eax, before & ~hc,
		   "kvmclock, steal time, PV EOI, TLB flush, poll control stay; the three go");
	TAP_EQ_U64(x86_cpuid_drop_pv(out.t, X86_KVM_PV_HYPERCALL_FEATURES), 0,
		   "a second drop finds none (0: nothing said twice)");

	/* --no-pv: nothing left to drop. */
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, true)), 0, "--no-pv: build succeeds");
	TAP_EQ_U64(x86_cpuid_drop_pv(out.t, X86_KVM_PV_HYPERCALL_FEATURES), 0,
		   "--no-pv: no PV bit to drop");

	/* Another hypervisor's 0x40000001 is not KVM's features: untouched. */
	amd_host(&in);
	get(&in, 0x40000000, 0)->ebx = 0x7263694d;
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "not KVM's signature");
	TAP_EQ_U64(x86_cpuid_drop_pv(out.t, ~0u), 0, "not KVM's leaf: nothing dropped");
	TAP_EQ_U64(get(&out, 0x40000001, 0)->eax, 0x01007efb, "... and left as it was");

	/* No PV leaf at all. */
	old_intel_host(&in);
	TAP_EQ_INT(build(&out, &in, opts_apic(true, true, false)), 0, "KVM without 0x40000001");
	TAP_EQ_U64(x86_cpuid_drop_pv(out.t, ~0u), 0, "no PV leaf: 0");
}

/* For any vCPU count: every topology leaf tells the same story, and the
 * per-vCPU APIC IDs are distinct and fit the ID space the leaves claim. */
static void test_topology_consistent(void)
{
	static const unsigned counts[] = {1, 2, 3, 4, 5, 7, 8, 16, 33, 64, 255};
	unsigned bad = 0;

	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		unsigned n = counts[k], shift = x86_cpuid_topo_shift(n);
		struct kvm_cpuid_entry2 *l1, *b1, *x8, *ext1;
		uint32_t ids = 1u << shift;

		amd_host(&in);
		put(&in, 0x1f, 0, IDX, 0, 0, 0, 0); /* 0x1F too, where KVM offers it */
		if (build(&out, &in, opts(n, 2596144, false)) != 0) {
			bad++;
			tap_diag("%u vCPUs: build failed", n);
			continue;
		}
		l1 = get(&out, 1, 0);
		b1 = get(&out, 0xb, 1);
		x8 = get(&out, 0x80000008, 0);
		ext1 = get(&out, 0x80000001, 0);
		if (((l1->ebx >> 16) & 0xff) != (ids < 255 ? ids : 255) ||
		    !!(l1->edx & (1u << 28)) != (n > 1) || !b1 || b1->ebx != n ||
		    b1->eax != shift || (ids < n) || (shift && (ids >> 1) >= n) ||
		    ((x8->ecx >> 12) & 0xf) != shift || (x8->ecx & 0xff) != n - 1 ||
		    !!(ext1->ecx & 2) != (n > 1) || !same_regs(get(&out, 0x1f, 1), b1) ||
		    get(&out, 0xb, 0)->ebx != 1) {
			bad++;
			tap_diag("%u vCPUs: leaf 1 EBX 0x%08x EDX 0x%08x, 0xB.1 %u/%u, 0x80000008 "
				 "ECX 0x%x",
				 n, l1->ebx, l1->edx, b1 ? b1->eax : 0, b1 ? b1->ebx : 0, x8->ecx);
			continue;
		}
		/* APIC IDs as every vCPU reads them: leaf 1, 0xB and 0x1F, 0x8000001E. */
		memcpy(copy.t, out.t, table_size());
		for (unsigned i = 0; i < n; i++) {
			memcpy(out.t, copy.t, table_size());
			x86_cpuid_for_vcpu(out.t, i);
			if (get(&out, 1, 0)->ebx >> 24 != (i & 0xff) ||
			    get(&out, 0xb, 0)->edx != i || get(&out, 0xb, 1)->edx != i ||
			    get(&out, 0x1f, 0)->edx != i || get(&out, 0x8000001e, 0)->eax != i ||
			    i >= ids) {
				bad++;
				tap_diag("%u vCPUs: vCPU %u sees the wrong APIC ID", n, i);
				break;
			}
		}
	}
	TAP_EQ_U64(bad, 0,
		   "%zu vCPU counts (1..255): leaves 1, 0xB, 0x1F, 0x80000008, 0x80000001 "
		   "agree with --cpus, APIC IDs distinct and in range",
		   sizeof(counts) / sizeof(counts[0]));
}

static void test_errors(void)
{
	struct x86_cpuid_opts o = opts(1, 2596144, false);

	amd_host(&in);
	TAP_EQ_INT(x86_cpuid_build(out.t, in.t->nent, in.t, &o), -E2BIG,
		   "no room for the added leaves: -E2BIG");
	TAP_EQ_INT(x86_cpuid_build(out.t, in.t->nent - 1, in.t, &o), -E2BIG,
		   "no room for KVM's own leaves: -E2BIG");
	TAP_EQ_INT(x86_cpuid_build(out.t, in.t->nent + X86_CPUID_EXTRA_ENTRIES, in.t, &o), 0,
		   "nent + X86_CPUID_EXTRA_ENTRIES is enough");
	o.ncpus = 0;
	TAP_EQ_INT(x86_cpuid_build(out.t, MAXE, in.t, &o), -EINVAL, "0 vCPUs: -EINVAL");
	o.ncpus = 1;
	in.t->entries[0].function = 0x7; /* no leaf 0 any more */
	TAP_EQ_INT(x86_cpuid_build(out.t, MAXE, in.t, &o), -EINVAL, "no leaf 0: -EINVAL");
}

/* |a/b - p/q| < |a/b - r/s|, exactly. */
static bool closer(uint64_t a, uint64_t b, uint64_t p, uint64_t q, uint64_t r, uint64_t s)
{
	unsigned __int128 e1 =
	    (unsigned __int128)(a * q > b * p ? a * q - b * p : b * p - a * q) * s;
	unsigned __int128 e2 =
	    (unsigned __int128)(a * s > b * r ? a * s - b * r : b * r - a * s) * q;

	return e1 < e2;
}

static void test_ratio(void)
{
	uint32_t num = 0, den = 0, bad = 0, worse = 0, n = 0;
	uint64_t rng = 0x243f6a8885a308d3ull;

	TAP_EQ_INT(x86_tsc_ratio(3000000, 1000000, &num, &den), 0, "3 GHz / 1 GHz");
	TAP_OK(num == 3 && den == 1, "3 GHz: 3/1 (%u/%u)", num, den);
	TAP_EQ_INT(x86_tsc_ratio(2596144, 24000, &num, &den), 0, "24 MHz crystal");
	TAP_OK(num == 162259 && den == 1500, "24 MHz crystal: exact 162259/1500 (%u/%u)", num, den);
	TAP_EQ_INT(x86_tsc_ratio(0, 1000000, &num, &den), -EINVAL, "TSC 0: -EINVAL");
	TAP_EQ_INT(x86_tsc_ratio(2596144, 0, &num, &den), -EINVAL, "crystal 0: -EINVAL");
	TAP_EQ_INT(x86_tsc_ratio(4290000000u, 100000000u, &num, &den), 0, "ratio 42.9, limit 42");
	TAP_OK(num == 42 && den == 1, "ratio 42.9 with numerator limit 42: 42/1 (%u/%u)", num, den);

	/* Against brute force: no numerator within Linux's limit does better. */
	for (unsigned k = 0; k < 60; k++) {
		uint32_t tsc, limit = UINT32_MAX / X86_KVM_APIC_BUS_KHZ;
		rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
		tsc = k == 0   ? 2596144
		      : k == 1 ? 999999
		      : k == 2 ? 4294967
			       : 500000 + (uint32_t)(rng % 4500000);
		n++;
		if (x86_tsc_ratio(tsc, X86_KVM_APIC_BUS_KHZ, &num, &den) != 0 || num > limit ||
		    !den) {
			bad++;
			tap_diag("tsc %u: ratio %u/%u", tsc, num, den);
			continue;
		}
		for (uint32_t p = 1; p <= limit; p++) {
			uint64_t q = ((uint64_t)p * X86_KVM_APIC_BUS_KHZ + tsc / 2) / tsc;
			for (uint64_t qq = q ? q - 1 : 0; qq <= q + 1; qq++)
				if (qq && closer(tsc, X86_KVM_APIC_BUS_KHZ, p, qq, num, den)) {
					worse++;
					tap_diag("tsc %u: %u/%llu beats %u/%u", tsc, p,
						 (unsigned long long)qq, num, den);
					p = limit;
					break;
				}
		}
	}
	TAP_EQ_U64(bad, 0, "%u TSC rates: every ratio valid and within the limit", n);
	TAP_EQ_U64(worse, 0, "%u TSC rates: no better ratio exists under the limit", n);

	TAP_EQ_U64(x86_cpuid_topo_shift(1), 0, "topo shift 1 -> 0");
	TAP_EQ_U64(x86_cpuid_topo_shift(2), 1, "topo shift 2 -> 1");
	TAP_EQ_U64(x86_cpuid_topo_shift(3), 2, "topo shift 3 -> 2");
	TAP_EQ_U64(x86_cpuid_topo_shift(256), 8, "topo shift 256 -> 8");
	TAP_EQ_U64(x86_cpuid_topo_shift(257), 9, "topo shift 257 -> 9");
}

int main(void)
{
	in = table_new();
	copy = table_new();
	out = table_new();
	test_amd_default();
	test_raise_max_leaves();
	test_no_tsc_frequency();
	test_no_cpuid_tsc();
	test_topology();
	test_apic();
	test_pv();
	test_drop_pv();
	test_topology_consistent();
	test_errors();
	test_ratio();
	free(in.t);
	free(copy.t);
	free(out.t);
	return tap_done();
}
