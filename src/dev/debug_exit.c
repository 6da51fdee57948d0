/* debug_exit.c - QEMU's isa-debug-exit: a write of v ends kestrel with status (v << 1) | 1. */
#include "dev/devices.h"

#include "core/vm.h"

static int debug_exit_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write)
{
	uint32_t val = 0;

	if (!is_write)
		return 0; /* reads as 0, as on QEMU */
	for (uint32_t i = 0; i < len && i < 4; i++)
		val |= (uint32_t)data[i] << (8 * i);
	/* QEMU computes (val << 1) | 1 and exit() keeps the low 8 bits. */
	int status = (int)(((val << 1) | 1) & 0xff);
	return vm_stop_fmt(v->vm, v, KESTREL_EXIT_DEBUG_EXIT, status,
			   "guest wrote 0x%x to isa-debug-exit: status %d", val, status);
}

int debug_exit_init(struct kestrel_vm *vm)
{
	return bus_register(&vm->bus, BUS_PIO, KESTREL_PORT_DEBUG_EXIT, 1, debug_exit_io, NULL,
			    "isa-debug-exit");
}
