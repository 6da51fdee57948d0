/* trap.h - the guest library's IDT: one entry stub per vector, C handlers by vector, a fatal
 * default. */
#ifndef KESTREL_GUEST_TRAP_H
#define KESTREL_GUEST_TRAP_H

#include <stdint.h>

/*
 * Every one of the 256 vectors has a 64-bit interrupt gate on kestrel's code
 * selector (CPL0, no stack switch, interrupts off inside). Its stub pushes a
 * dummy error code where the CPU pushes none, then the vector, saves the
 * registers the C ABI lets a callee clobber and calls the handler set for
 * that vector with the frame below; the handler returns, the stub restores
 * and `iretq`s. So a handler may change f->rip (skip a faulting instruction)
 * or any saved register. A vector with no handler ends the VM: exceptions
 * print `<who>: unexpected exception V (error code E) at RIP R`, interrupts
 * `<who>: unexpected interrupt vector V`, and exit with GUEST_STATUS_TRAP.
 * The spurious vector (TRAP_SPURIOUS_VECTOR, apic_init's choice) is counted
 * in trap_spurious and needs no EOI (SDM 10.9).
 */

#define GUEST_STATUS_TRAP 3
#define TRAP_SPURIOUS_VECTOR 0xffu
#define TRAP_VECTOR_GP 13u

struct trap_frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax; /* saved by the stub */
	uint64_t vector, error;				    /* error: the CPU's, or 0 */
	uint64_t rip, cs, rflags, rsp, ss;		    /* pushed by the CPU */
};

typedef void (*trap_handler)(struct trap_frame *f);

/*
 * trap_init - build the IDT (the first call; `who` names the guest in fatal
 * messages) and load it on the calling CPU (every call). Each CPU that takes
 * interrupts calls it once; the table is shared.
 */
void trap_init(const char *who);

/* trap_set - the handler for `vector` (NULL: the fatal default). Set it
 * before the vector can fire; any CPU may set it, for all. */
void trap_set(unsigned vector, trap_handler h);

/* Spurious-vector deliveries seen, all CPUs. */
extern volatile uint32_t trap_spurious;

/* Interrupts on or off on this CPU. `sti; hlt` as one asm statement is the
 * race-free wait: the STI shadow keeps an interrupt from landing between them. */
static inline void irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void irq_wait(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

#endif
