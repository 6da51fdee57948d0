/* null.c - a port that ignores writes and reads as zero: the cheapest possible userspace exit. */
#include "dev/devices.h"

#include "core/vm.h"

static int null_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	return 0; /* read data was zeroed before dispatch */
}

int null_port_init(struct kestrel_vm *vm)
{
	return bus_register(&vm->bus, BUS_PIO, KESTREL_PORT_NULL, 1, null_io, NULL, "null");
}
