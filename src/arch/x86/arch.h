/* arch.h - x86 hooks of the vCPU: start state, exits the generic loop does not know, crash reports.
 */
#ifndef KESTREL_ARCH_X86_ARCH_H
#define KESTREL_ARCH_X86_ARCH_H

#include <stddef.h>

struct vcpu;
struct kestrel_vm;
struct kestrel_error;

/* arch_vm_query_start - at create, as soon as /dev/kvm is open: ask KVM
 * what the host supports on a helper thread, while the caller goes on to
 * make the VM (x86: KVM_GET_SUPPORTED_CPUID). arch_vm_cpuid collects it,
 * arch_vm_query_end drops it on a failed create. A thread that cannot start
 * is no error: the collector asks itself. */
void arch_vm_query_start(struct kestrel_vm *vm);
void arch_vm_query_end(struct kestrel_vm *vm);

/* arch_vm_cpuid - at the end of create: the CPUID table every vCPU starts
 * from, built from what arch_vm_query_start asked. 0 or -errno with err. */
int arch_vm_cpuid(struct kestrel_vm *vm, struct kestrel_error *err);

/* arch_vm_init - at create: the TSS and identity-map pages KVM needs (VMX
 * without unrestricted guest), the TSC rate, room for the vCPUs. 0 or -errno
 * with err. */
int arch_vm_init(struct kestrel_vm *vm, struct kestrel_error *err);

/* arch_vm_platform - at load, before the vCPUs: the interrupt controller and
 * timer vm->plan asks for (full in-kernel irqchip and PIT, or a split
 * irqchip). 0 or -errno with err. */
int arch_vm_platform(struct kestrel_vm *vm, struct kestrel_error *err);

/* arch_vcpu_init - a new vCPU's CPUID (vm->cpuid with its own APIC IDs,
 * KVM_SET_CPUID2) and PV enforcement. 0 or -errno. */
int arch_vcpu_init(struct vcpu *v);

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
