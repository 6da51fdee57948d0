/* hypercall.h - kestrel's hypercalls (abi.h): one table, used by the run loop's fast path, the bus
 * and the profiler. */
#ifndef KESTREL_CORE_HYPERCALL_H
#define KESTREL_CORE_HYPERCALL_H

struct vcpu;
struct kestrel_vm;

/* hypercall_dispatch - call `nr` (< KESTREL_HC_COUNT) for vCPU v, as an `out`
 * to its port. Returns 0 or BUS_STOP, like a bus handler. */
int hypercall_dispatch(struct vcpu *v, unsigned nr);

/* hypercall_name - "exit", "puts", ...; "unknown" for numbers with no call. */
const char *hypercall_name(unsigned nr);

/* hypercall_register - claim the hypercall ports on the VM's bus. 0 or -errno. */
int hypercall_register(struct kestrel_vm *vm);

#endif
