/* devices.h - the stateless bare-metal devices: each registers its ports on the VM's bus. */
#ifndef KESTREL_DEV_DEVICES_H
#define KESTREL_DEV_DEVICES_H

struct kestrel_vm;

/* Each returns 0 or the negative errno from bus_register(). */
int debug_exit_init(struct kestrel_vm *vm); /* isa-debug-exit at KESTREL_PORT_DEBUG_EXIT */
int i8042_init(struct kestrel_vm *vm); /* reset line on KESTREL_PORT_I8042_CMD */
int hypercall_init(struct kestrel_vm *vm); /* KESTREL_HC_PORT_BASE .. + KESTREL_HC_COUNT */
int null_port_init(struct kestrel_vm *vm); /* KESTREL_PORT_NULL */

#endif
