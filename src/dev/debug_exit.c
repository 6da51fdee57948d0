/* debug_exit.c - QEMU's isa-debug-exit: a write of v ends kestrel with status (v << 1) | 1 (at most
 * 119). */
/*
 * Registered as ports 0xf4-0xf7, as QEMU's `-device isa-debug-exit,iobase=0xf4,
 * iosize=4` that kvm-unit-tests and most test kernels are run with: a 1, 2 or
 * 4-byte write to any of them ends the VM (QEMU ignores the offset too).
 */
#include "dev/device.h"

static int debug_exit_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write)
{
	uint32_t val = 0;

	if (!is_write)
		return 0; /* reads as 0, as on QEMU */
	for (uint32_t i = 0; i < len && i < 4; i++)
		val |= (uint32_t)data[i] << (8 * i);
	/* QEMU computes (val << 1) | 1 and exit() keeps the low 8 bits; here the
	 * whole value counts, and one over 119 would pose as one of kestrel's
	 * own statuses: it becomes 125 (abi.h), with the real one named. */
	uint64_t full = ((uint64_t)val << 1) | 1;
	if (full > KESTREL_STATUS_GUEST_MAX)
		return dev_stop(opaque, v, KESTREL_EXIT_DEBUG_EXIT, KESTREL_STATUS_GUEST_ERROR,
				"guest wrote 0x%x to isa-debug-exit: status %llu is outside the "
				"guest's 0-%d (kestrel's own statuses start at 120)",
				val, (unsigned long long)full, KESTREL_STATUS_GUEST_MAX);
	return dev_stop(opaque, v, KESTREL_EXIT_DEBUG_EXIT, (int)full,
			"guest wrote 0x%x to isa-debug-exit: status %d", val, (int)full);
}

static int debug_exit_init(struct dev_host *h, void *state)
{
	return dev_register(h, &(struct dev_region){.space = BUS_PIO,
						    .base = KESTREL_PORT_DEBUG_EXIT,
						    .len = 4,
						    .fn = debug_exit_io,
						    .opaque = h,
						    .name = "isa-debug-exit"});
}

static void debug_exit_fini(void *state)
{
}

const struct dev_ops debug_exit_dev = {
    .name = "isa-debug-exit", .init = debug_exit_init, .fini = debug_exit_fini};
