/* devices.h - the stateless bare-metal devices: each registers its ports on the VM's bus. */
#ifndef KESTREL_DEV_DEVICES_H
#define KESTREL_DEV_DEVICES_H

struct kestrel_vm;
struct vcpu;

/* Each returns 0 or the negative errno from bus_register(). */
int debug_exit_init(struct kestrel_vm *vm); /* isa-debug-exit at KESTREL_PORT_DEBUG_EXIT */
int i8042_init(struct kestrel_vm *vm); /* reset line on KESTREL_PORT_I8042_CMD */
int hypercall_init(struct kestrel_vm *vm); /* KESTREL_HC_PORT_BASE .. + KESTREL_HC_COUNT */
int null_port_init(struct kestrel_vm *vm); /* KESTREL_PORT_NULL */

/* hypercall_dispatch - hypercall `nr` (< KESTREL_HC_COUNT) for vCPU v: what an
 * access to its port does through the bus, for the run loop's fast path.
 * Returns 0 or BUS_STOP, like a bus handler. */
int hypercall_dispatch(struct vcpu *v, unsigned nr);

#endif
