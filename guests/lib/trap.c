/* trap.c - the guest library's IDT and the C side of its stubs: dispatch by vector, a fatal
 * default. */
#include "guest.h"
#include "trap.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type_attr; /* P=1, DPL=0, type 0xE: 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t trap_stubs[256];
void trap_dispatch(struct trap_frame *f);

static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_handler handlers[256];
static const char *trap_who = "guest";
static volatile uint32_t idt_built;
volatile uint32_t trap_spurious;

void trap_init(const char *who)
{
	struct idt_ptr p = {.limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt};

	/* The first caller builds; later ones (other CPUs) only load. Guests
	 * call this from CPU 0 before starting the others' work, so there is
	 * no race to guard against beyond that ordering. */
	if (!atomic_load_u32(&idt_built)) {
		if (who)
			trap_who = who;
		for (unsigned v = 0; v < 256; v++) {
			uint64_t h = trap_stubs[v];
			idt[v] = (struct idt_gate){
			    .off_lo = (uint16_t)h,
			    .sel = KESTREL_SEL_CODE,
			    .type_attr = 0x8e,
			    .off_mid = (uint16_t)(h >> 16),
			    .off_hi = (uint32_t)(h >> 32),
			};
		}
		atomic_store_u32(&idt_built, 1);
	}
	__asm__ volatile("lidt %0" : : "m"(p) : "memory");
}

void trap_set(unsigned vector, trap_handler h)
{
	if (vector < 256)
		__atomic_store_n(&handlers[vector], h, __ATOMIC_RELEASE);
}

void trap_dispatch(struct trap_frame *f)
{
	trap_handler h = __atomic_load_n(&handlers[f->vector & 0xff], __ATOMIC_ACQUIRE);

	if (h) {
		h(f);
		return;
	}
	if (f->vector == TRAP_SPURIOUS_VECTOR) {
		atomic_inc_u32(&trap_spurious);
		return;
	}
	if (f->vector < 32)
		hc_printf("%s: unexpected exception %lu (error code 0x%lx) at RIP 0x%lx\n",
			  trap_who, f->vector, f->error, f->rip);
	else
		hc_printf("%s: unexpected interrupt vector %lu at RIP 0x%lx\n", trap_who, f->vector,
			  f->rip);
	exit(GUEST_STATUS_TRAP);
}
