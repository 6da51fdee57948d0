/* vcpu.h - a vCPU thread and its run loop. */
#ifndef KESTREL_VCPU_H
#define KESTREL_VCPU_H

#include "core/vm.h"

/* vcpu_init - create vCPU `index` of vm (fd, kvm_run mapping, CPUID from
 * vcpu_cpuid_table, register cache). Returns 0 or a negative errno with *err filled. */
int vcpu_init(struct kestrel_vm *vm, struct vcpu *v, unsigned index, struct kestrel_error *err);

/* vcpu_cpuid_table - the CPUID table vCPU `index` gets (vm->cpuid adapted by
 * x86_cpuid_for_vcpu), malloc'ed; NULL when out of memory. Pure. */
struct kvm_cpuid2 *vcpu_cpuid_table(const struct kestrel_vm *vm, unsigned index);

/* vcpu_release - unmap and close; fine on a half-initialised vCPU. */
void vcpu_release(struct kestrel_vm *vm, struct vcpu *v);

/* vcpu_thread - pthread body: set the start state, run until the VM stops. */
void *vcpu_thread(void *arg);

/* vcpu_unhandled - an access nobody claimed: zero the read data, count it, log
 * it (once per port for the first VM_PIO_LOG_MAX ports, once for all MMIO);
 * under cfg.strict stop the VM. Returns 0 or BUS_STOP. */
int vcpu_unhandled(struct vcpu *v, enum bus_space space, uint64_t addr, uint8_t *data, uint32_t len,
		   bool is_write);

/*
 * vcpu_run_on_caller - run vCPU v on the calling thread until the VM stops
 * (kestrel_vm_run's 1-vCPU case, run.c): its start state, the caller's
 * seccomp filter widened by v's ioctls, the run loop. 0, or the negative
 * errno of a filter that could not be installed (the VM is stopped then).
 */
int vcpu_run_on_caller(struct vcpu *v);

#endif
