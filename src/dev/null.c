/* null.c - a port that ignores writes and reads as zero: the cheapest possible userspace exit. */
#include "dev/device.h"

static int null_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	return 0; /* read data was zeroed before dispatch */
}

static int null_init(struct dev_host *h, void *state)
{
	return dev_register(h, &(struct dev_region){.space = BUS_PIO,
						    .base = KESTREL_PORT_NULL,
						    .len = 1,
						    .fn = null_io,
						    .name = "null"});
}

static void null_fini(void *state)
{
}

const struct dev_ops null_port_dev = {.name = "null", .init = null_init, .fini = null_fini};
