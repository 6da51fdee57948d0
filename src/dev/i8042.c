/* i8042.c - just the keyboard controller's reset line: 0xfe to the command port resets the machine.
 */
#include "dev/device.h"

/* Data port: nothing to read (0), writes ignored. */
static int i8042_data_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write)
{
	return 0;
}

/* Command/status port. Reads: status 0 = no data, input buffer empty, so
 * pollers move on. */
static int i8042_cmd_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	if (is_write && data[0] == KESTREL_I8042_RESET)
		return dev_stop(opaque, v, KESTREL_EXIT_RESET, KESTREL_STATUS_RESET,
				"guest reset the machine (i8042 command 0xfe)");
	return 0;
}

static int i8042_init(struct dev_host *h, void *state)
{
	int r = dev_register(h, &(struct dev_region){.space = BUS_PIO,
						     .base = KESTREL_PORT_I8042_DATA,
						     .len = 1,
						     .fn = i8042_data_io,
						     .name = "i8042"});
	if (r < 0)
		return r;
	return dev_register(h, &(struct dev_region){.space = BUS_PIO,
						    .base = KESTREL_PORT_I8042_CMD,
						    .len = 1,
						    .fn = i8042_cmd_io,
						    .opaque = h,
						    .name = "i8042"});
}

static void i8042_fini(void *state)
{
}

const struct dev_ops i8042_dev = {.name = "i8042", .init = i8042_init, .fini = i8042_fini};
