/* cpuid.c - the CPUID table a vCPU sees: KVM's supported table plus kestrel's timing, APIC, PV and
 * topology leaves (pure code). */
#include "arch/x86/cpuid.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define CPUID_SIG_AMD 0x68747541u   /* "Auth" of AuthenticAMD, leaf 0 EBX */
#define CPUID_SIG_HYGON 0x6f677948u /* "Hygo" of HygonGenuine */

#define LEAF1_EDX_HTT (1u << 28)
#define EXT1_ECX_CMP_LEGACY (1u << 1)
#define EXT7_EDX_INVARIANT_TSC (1u << 8)

#define KVM_SIG_EBX 0x4b4d564bu /* "KVMK" of "KVMKVMKVM\0\0\0", leaf 0x40000000 */
#define KVM_SIG_ECX 0x564b4d56u
#define KVM_SIG_EDX 0x0000004du

#define TOPO_TYPE_SMT 1u
#define TOPO_TYPE_CORE 2u

struct kvm_cpuid_entry2 *x86_cpuid_entry(struct kvm_cpuid2 *t, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (e->function == function && (!indexed || e->index == index))
			return e;
	}
	return NULL;
}

/* The entry for (function, index), appended (zeroed, with `flags`) if missing. */
static struct kvm_cpuid_entry2 *cpuid_get_or_add(struct kvm_cpuid2 *t, uint32_t max,
						 uint32_t function, uint32_t index, uint32_t flags)
{
	struct kvm_cpuid_entry2 *e = x86_cpuid_entry(t, function, index);

	if (e)
		return e;
	if (t->nent >= max)
		return NULL;
	e = &t->entries[t->nent++];
	*e = (struct kvm_cpuid_entry2){.function = function, .index = index, .flags = flags};
	return e;
}

static void cpuid_zero(struct kvm_cpuid_entry2 *e)
{
	if (e)
		e->eax = e->ebx = e->ecx = e->edx = 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint32_t gcd_u32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t r = a % b;
		a = b;
		b = r;
	}
	return a;
}

/* |a/b - p/q| scaled by b*q: the numerator of the error, exact in 64 bits. */
static uint64_t ratio_err(uint32_t a, uint32_t b, uint64_t p, uint64_t q)
{
	uint64_t x = (uint64_t)a * q, y = (uint64_t)b * p;

	return x > y ? x - y : y - x;
}

int x86_tsc_ratio(uint32_t tsc_khz, uint32_t crystal_khz, uint32_t *num, uint32_t *den)
{
	uint32_t g, a, b, limit;
	uint64_t p2 = 0, q2 = 1, p1 = 1, q1 = 0; /* convergents k-2 and k-1 */

	if (!tsc_khz || !crystal_khz)
		return -EINVAL;
	/* native_calibrate_tsc: `crystal_khz * ebx_numerator / eax_denominator`,
	 * all unsigned int. Keep the product below 2^32. */
	limit = UINT32_MAX / crystal_khz;
	g = gcd_u32(tsc_khz, crystal_khz);
	a = tsc_khz / g;
	b = crystal_khz / g;
	if (a <= limit) {
		*num = a;
		*den = b;
		return 0;
	}
	/* a / b <= UINT32_MAX / crystal_khz: the first convergent, floor(a / b),
	 * is always within the limit, so the walk below ends with p1 >= 1. */
	/* Best rational approximation with numerator <= limit: walk the
	 * continued fraction of a/b; at the first convergent over the limit,
	 * the answer is the previous convergent or the largest semiconvergent. */
	for (uint32_t x = a, y = b; y;) {
		uint64_t ak = x / y, p = ak * p1 + p2, q = ak * q1 + q2, r = x % y;
		if (p > limit) {
			uint64_t t = (limit - p2) / p1, sp = t * p1 + p2, sq = t * q1 + q2;
			/* Compare |a/b - sp/sq| with |a/b - p1/q1| without dividing. */
			if (t && (unsigned __int128)ratio_err(a, b, sp, sq) * q1 <
				     (unsigned __int128)ratio_err(a, b, p1, q1) * sq) {
				p1 = sp;
				q1 = sq;
			}
			break;
		}
		p2 = p1;
		q2 = q1;
		p1 = p;
		q1 = q;
		x = y;
		y = (uint32_t)r;
	}
	*num = (uint32_t)p1;
	*den = (uint32_t)q1;
	return 0;
}

unsigned x86_cpuid_topo_shift(unsigned ncpus)
{
	unsigned s = 0;

	while (s < 31 && (1u << s) < ncpus)
		s++;
	return s;
}

/* Leaves 0x15, 0x16, 0x40000010 and 0x80000007 EDX[8]. */
static int cpuid_timing(struct kvm_cpuid2 *t, uint32_t max, const struct x86_cpuid_opts *o)
{
	struct kvm_cpuid_entry2 *leaf0 = x86_cpuid_entry(t, 0, 0), *e, *hv, *ext;
	uint32_t num, den;

	if (!o->tsc_khz) {
		cpuid_zero(x86_cpuid_entry(t, 0x15, 0));
		cpuid_zero(x86_cpuid_entry(t, 0x16, 0));
		return 0;
	}
	if (leaf0->eax < 0x16)
		leaf0->eax = 0x16;

	/* 0x15: crystal = the APIC bus, so a guest that derives its LAPIC timer
	 * from the crystal (Linux does) gets KVM's rate. No usable ratio (an
	 * absurd bus rate) leaves it zero rather than wrong. */
	if (!(e = cpuid_get_or_add(t, max, 0x15, 0, 0)))
		return -E2BIG;
	cpuid_zero(e);
	if (o->apic_bus_khz <= UINT32_MAX / 1000 &&
	    x86_tsc_ratio(o->tsc_khz, o->apic_bus_khz, &num, &den) == 0) {
		e->eax = den;
		e->ebx = num;
		e->ecx = o->apic_bus_khz * 1000;
	}

	/* 0x16: MHz in bits 15:0; a VM's TSC does not turbo, so max = base. */
	if (!(e = cpuid_get_or_add(t, max, 0x16, 0, 0)))
		return -E2BIG;
	e->eax = e->ebx = min_u32((o->tsc_khz + 500) / 1000, 0xffff);
	e->ecx = min_u32((o->apic_bus_khz + 500) / 1000, 0xffff);
	e->edx = 0;

	/* 0x40000010, the hypervisor timing leaf (VMware's, read by FreeBSD,
	 * illumos, XNU): only meaningful behind a hypervisor signature leaf. */
	hv = x86_cpuid_entry(t, 0x40000000, 0);
	if (hv) {
		if (hv->eax < 0x40000010)
			hv->eax = 0x40000010;
		if (!(e = cpuid_get_or_add(t, max, 0x40000010, 0, 0)))
			return -E2BIG;
		e->eax = o->tsc_khz;
		e->ebx = o->apic_bus_khz;
		e->ecx = e->edx = 0;
	}

	/* Invariant TSC: the rate above holds in every power state. */
	ext = x86_cpuid_entry(t, 0x80000000, 0);
	if (ext && ext->eax >= 0x80000000) {
		if (ext->eax < 0x80000007)
			ext->eax = 0x80000007;
		if (!(e = cpuid_get_or_add(t, max, 0x80000007, 0, 0)))
			return -E2BIG;
		e->edx |= EXT7_EDX_INVARIANT_TSC;
	}
	return 0;
}

/* Leaf 0xB or 0x1F: an SMT level of one thread, a core level of ncpus,
 * then the invalid level that ends the list. Sub-leaves KVM listed beyond
 * that become invalid too. EDX (x2APIC ID) is per vCPU. */
static int cpuid_topo_leaf(struct kvm_cpuid2 *t, uint32_t max, uint32_t leaf, unsigned ncpus,
			   unsigned shift)
{
	const uint32_t fl = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	struct kvm_cpuid_entry2 *e;

	if (!x86_cpuid_entry(t, leaf, 0))
		return 0; /* KVM does not offer it: leave it out */
	for (uint32_t i = 0; i < t->nent; i++) {
		e = &t->entries[i];
		if (e->function != leaf)
			continue;
		e->flags |= fl; /* else sub-leaf 0 would answer for every index */
		if (e->index > 2) {
			cpuid_zero(e);
			e->ecx = e->index & 0xff;
		}
	}
	if (!(e = cpuid_get_or_add(t, max, leaf, 0, fl)))
		return -E2BIG;
	*e = (struct kvm_cpuid_entry2){.function = leaf,
				       .index = 0,
				       .flags = fl,
				       .eax = 0,
				       .ebx = 1,
				       .ecx = TOPO_TYPE_SMT << 8};
	if (!(e = cpuid_get_or_add(t, max, leaf, 1, fl)))
		return -E2BIG;
	*e = (struct kvm_cpuid_entry2){.function = leaf,
				       .index = 1,
				       .flags = fl,
				       .eax = shift,
				       .ebx = min_u32(ncpus, 0xffff),
				       .ecx = 1 | (TOPO_TYPE_CORE << 8)};
	if (!(e = cpuid_get_or_add(t, max, leaf, 2, fl)))
		return -E2BIG;
	*e = (struct kvm_cpuid_entry2){.function = leaf, .index = 2, .flags = fl, .ecx = 2};
	return 0;
}

/* Cache sharing in EAX[25:14] of leaves 4 and 0x8000001D (count - 1): L1 and
 * L2 per core, L3 shared by the package. Leaf 4 also has cores - 1 in [31:26]. */
static void cpuid_cache_leaf(struct kvm_cpuid2 *t, uint32_t leaf, unsigned shift)
{
	uint32_t ids = 1u << shift;

	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		uint32_t level = (e->eax >> 5) & 7;
		if (e->function != leaf || (e->eax & 0x1f) == 0)
			continue; /* no cache described here */
		e->eax &= ~(0xfffu << 14);
		e->eax |= (level >= 3 ? min_u32(ids, 4096) - 1 : 0) << 14;
		if (leaf == 4) {
			e->eax &= ~(0x3fu << 26);
			e->eax |= (min_u32(ids, 64) - 1) << 26;
		}
	}
}

static int cpuid_topology(struct kvm_cpuid2 *t, uint32_t max, unsigned ncpus)
{
	unsigned shift = x86_cpuid_topo_shift(ncpus);
	struct kvm_cpuid_entry2 *leaf0 = x86_cpuid_entry(t, 0, 0), *e;
	bool amd = leaf0->ebx == CPUID_SIG_AMD || leaf0->ebx == CPUID_SIG_HYGON;
	int r;

	if ((e = x86_cpuid_entry(t, 1, 0))) {
		/* EBX[23:16]: addressable logical processor IDs in the package. */
		e->ebx = (e->ebx & ~0x00ff0000u) | (min_u32(1u << shift, 255) << 16);
		if (ncpus > 1)
			e->edx |= LEAF1_EDX_HTT;
		else
			e->edx &= ~LEAF1_EDX_HTT;
	}
	if ((r = cpuid_topo_leaf(t, max, 0xb, ncpus, shift)) < 0 ||
	    (r = cpuid_topo_leaf(t, max, 0x1f, ncpus, shift)) < 0)
		return r;
	cpuid_cache_leaf(t, 4, shift);
	cpuid_cache_leaf(t, 0x8000001d, shift);
	if (amd) {
		if ((e = x86_cpuid_entry(t, 0x80000008, 0)))
			e->ecx = (e->ecx & ~0xf0ffu) | (shift << 12) | (min_u32(ncpus, 256) - 1);
		if ((e = x86_cpuid_entry(t, 0x80000001, 0))) {
			if (ncpus > 1)
				e->ecx |= EXT1_ECX_CMP_LEGACY;
			else
				e->ecx &= ~EXT1_ECX_CMP_LEGACY;
		}
	}
	return 0;
}

/* Leaf 1 ECX: x2APIC and TSC-deadline belong to the LAPIC KVM emulates, not to
 * the host CPU, so they follow the irqchip. */
static void cpuid_apic(struct kvm_cpuid2 *t, const struct x86_cpuid_opts *o)
{
	struct kvm_cpuid_entry2 *e = x86_cpuid_entry(t, 1, 0);

	if (!e)
		return;
	if (!o->x2apic)
		e->ecx &= ~X86_LEAF1_ECX_X2APIC;
	if (o->tsc_deadline)
		e->ecx |= X86_LEAF1_ECX_TSC_DEADLINE;
	else
		e->ecx &= ~X86_LEAF1_ECX_TSC_DEADLINE;
}

/* Leaf 0x40000001: KVM's paravirtual features, filtered (X86_KVM_PV_FEATURES).
 * Only behind KVM's own signature: another hypervisor's 0x40000001 (Hyper-V's
 * interface ID, say) means something else. */
static void cpuid_pv(struct kvm_cpuid2 *t, const struct x86_cpuid_opts *o)
{
	struct kvm_cpuid_entry2 *hv = x86_cpuid_entry(t, 0x40000000, 0), *e;

	if (!hv || hv->ebx != KVM_SIG_EBX || hv->ecx != KVM_SIG_ECX || hv->edx != KVM_SIG_EDX)
		return;
	if (!(e = x86_cpuid_entry(t, 0x40000001, 0)))
		return;
	if (o->no_pv) {
		cpuid_zero(e);
		return;
	}
	e->eax &= X86_KVM_PV_FEATURES;
	e->ebx = e->ecx = 0;
	if (hv->eax && hv->eax < 0x40000001)
		hv->eax = 0x40000001;
}

uint32_t x86_cpuid_drop_pv(struct kvm_cpuid2 *t, uint32_t bits)
{
	struct kvm_cpuid_entry2 *hv = x86_cpuid_entry(t, 0x40000000, 0), *e;
	uint32_t had;

	if (!hv || hv->ebx != KVM_SIG_EBX || hv->ecx != KVM_SIG_ECX || hv->edx != KVM_SIG_EDX)
		return 0;
	if (!(e = x86_cpuid_entry(t, 0x40000001, 0)))
		return 0;
	had = e->eax & bits;
	e->eax &= ~bits;
	return had;
}

/* Order by (function, index) so a printed table reads like a CPUID dump
 * (KVM itself does not care). Insertion sort: ~100 entries, cold path. */
static void cpuid_sort(struct kvm_cpuid2 *t)
{
	for (uint32_t i = 1; i < t->nent; i++) {
		struct kvm_cpuid_entry2 e = t->entries[i];
		uint32_t j = i;
		while (j > 0 && (t->entries[j - 1].function > e.function ||
				 (t->entries[j - 1].function == e.function &&
				  t->entries[j - 1].index > e.index))) {
			t->entries[j] = t->entries[j - 1];
			j--;
		}
		t->entries[j] = e;
	}
}

int x86_cpuid_build(struct kvm_cpuid2 *out, uint32_t max_entries,
		    const struct kvm_cpuid2 *supported, const struct x86_cpuid_opts *o)
{
	int r;

	if (!o->ncpus)
		return -EINVAL;
	if (supported->nent > max_entries)
		return -E2BIG;
	out->nent = supported->nent;
	out->padding = 0;
	memcpy(out->entries, supported->entries, supported->nent * sizeof(out->entries[0]));
	if (!x86_cpuid_entry(out, 0, 0))
		return -EINVAL;
	cpuid_apic(out, o);
	cpuid_pv(out, o);
	if ((r = cpuid_topology(out, max_entries, o->ncpus)) < 0)
		return r;
	if (!o->no_tsc_leaves && (r = cpuid_timing(out, max_entries, o)) < 0)
		return r;
	cpuid_sort(out);
	return 0;
}

void x86_cpuid_for_vcpu(struct kvm_cpuid2 *t, unsigned index)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffffu) | ((uint32_t)(index & 0xff) << 24);
			break;
		case 0xb:
		case 0x1f:
			e->edx = index; /* x2APIC ID, same for every sub-leaf */
			break;
		case 0x8000001e:
			/* Extended APIC ID; compute unit = core = index, one thread
			 * each ([15:8] = 0); one node ([10:8] of ECX = 0). */
			e->eax = index;
			e->ebx = index & 0xff;
			e->ecx = 0;
			break;
		}
	}
}
