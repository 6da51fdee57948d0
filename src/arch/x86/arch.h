/* arch.h - x86 hooks of the vCPU: start state, exits the generic loop does not know, crash reports. */
#ifndef KESTREL_ARCH_X86_ARCH_H
#define KESTREL_ARCH_X86_ARCH_H

#include <stddef.h>

struct vcpu;

/* arch_vcpu_reset - put the vCPU in kestrel's 64-bit start state (abi.h),
 * entirely through its register cache. Returns 0 or a negative errno. */
int arch_vcpu_reset(struct vcpu *v);

/* arch_vcpu_exit - every exit reason other than I/O and MMIO: shutdown,
 * system events, internal errors, failed entries, unknown reasons. Ends the
 * VM with a report; returns BUS_STOP (or 0 if the exit needs nothing). */
int arch_vcpu_exit(struct vcpu *v);

/* arch_vcpu_dump - registers, segments and the code bytes at RIP, as text. */
void arch_vcpu_dump(struct vcpu *v, char *buf, size_t len);

#endif
