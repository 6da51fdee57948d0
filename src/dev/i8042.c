/* i8042.c - just the keyboard controller's reset line: 0xfe to the command port resets the machine. */
#include "dev/devices.h"

#include "core/vm.h"

static int i8042_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		    bool is_write)
{
	uintptr_t port = (uintptr_t)opaque;

	/* Reads: status 0 = no data, input buffer empty, so pollers move on. */
	if (is_write && port == KESTREL_PORT_I8042_CMD && data[0] == KESTREL_I8042_RESET)
		return vm_stop_fmt(v->vm, v, KESTREL_EXIT_RESET, KESTREL_STATUS_RESET,
				   "guest reset the machine (i8042 command 0xfe)");
	return 0;
}

int i8042_init(struct kestrel_vm *vm)
{
	int r = bus_register(&vm->bus, BUS_PIO, KESTREL_PORT_I8042_DATA, 1, i8042_io,
			     (void *)(uintptr_t)KESTREL_PORT_I8042_DATA, "i8042");
	if (r < 0)
		return r;
	return bus_register(&vm->bus, BUS_PIO, KESTREL_PORT_I8042_CMD, 1, i8042_io,
			    (void *)(uintptr_t)KESTREL_PORT_I8042_CMD, "i8042");
}
