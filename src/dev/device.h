/* device.h - the device contract: everything a device may use, and how it is described to the VM.
 */
#ifndef KESTREL_DEV_DEVICE_H
#define KESTREL_DEV_DEVICE_H

/*
 * A device is one file in src/dev/ that includes this header (and its own),
 * never the VM's private headers. It is described once by a struct dev_ops
 * and listed once in src/dev/devices.def; the VM creates one instance per
 * VM, inits the devices in that order, and finis them in reverse (on a
 * failed create too). A device reaches the VM only through the dev_*()
 * calls below, given the struct dev_host its init received.
 *
 * Model: Solo5's hvt module table and Firecracker's legacy devices (the
 * device model knows nothing of the wiring).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kestrel/kestrel.h"

struct vcpu;	 /* the vCPU whose access is being handled: opaque here */
struct dev_host; /* the VM as a device sees it: opaque here */

/*
 * The one handler signature for port I/O and MMIO. `offset` is relative to
 * the registered base; `data` holds `len` bytes (1, 2, 4 or 8): the value of
 * a write, or zero-filled room for the result of a read. `vcpu` is NULL for
 * writes KVM queued in its coalesced ring (they name no vCPU).
 * Returns 0 to go on, BUS_STOP after dev_stop(), or a negative errno for a
 * host-side failure.
 */
typedef int (*bus_handler)(struct vcpu *vcpu, void *opaque, uint64_t offset, uint8_t *data,
			   uint32_t len, bool is_write);
#define BUS_STOP 1

enum bus_space { BUS_PIO, BUS_MMIO };

/* Registration flags: exit fast paths, taken where KVM offers them (and not
 * with kestrel_config.no_fast_io); without them the handler sees every access.
 * The core sets them up with KVM once the guest uses the device, before the
 * exit that decides it is handled: an ioeventfd on the first exit that reaches
 * any of the device's ranges (the same `opaque`), a coalesced zone on the
 * VM_FAST_COALESCE_AFTER-th (256th) write to its address that exits. A guest
 * that never touches the device, or writes a little, leaves nothing on KVM's
 * I/O buses for close() to wait for; the writes before the zone arms are exits
 * (docs/fastpath.md has the trade-off). */
#define DEV_COALESCED                                                                              \
	(1u << 0) /* 1-byte writes to `base` are queued in KVM's coalesced                         \
		   * ring and reach the handler later, in order, before                            \
		   * the next exit of any vCPU is handled (vcpu NULL) */
#define DEV_IOEVENTFD                                                                              \
	(1u << 1) /* writes to `base` signal an eventfd and do not exit;                           \
		   * *efd gets it (-1: no ioeventfd, writes exit) */

struct dev_region {
	enum bus_space space;
	uint64_t base, len;
	bus_handler fn;
	void *opaque;
	const char *name; /* for messages and the exit profile */
	unsigned flags;	  /* DEV_* */
	int *efd;	  /* DEV_IOEVENTFD: where the eventfd goes (owned by the VM) */
};

/* dev_register - claim a range. 0, or -EINVAL/-EEXIST/-ENOSPC (bus.h), or a
 * KVM error setting up a fast path. Only from init. */
int dev_register(struct dev_host *h, const struct dev_region *r);

/* dev_stop - end the run: kind, status and a printf-style reason (v may be NULL).
 * Returns BUS_STOP, for handlers to return. Any thread. */
int dev_stop(struct dev_host *h, struct vcpu *v, enum kestrel_exit_kind kind, int status,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* dev_console_write - guest console output (all of it, in order with the rest). */
void dev_console_write(struct dev_host *h, const void *buf, size_t len);

/* dev_console_read - take up to len bytes of the guest console's input (what
 * the host gave: kestrel_config.console_in_fd, kestrel_vm_console_input) into
 * buf, in order. Returns how many (0: nothing waiting). Never blocks; any
 * thread; no system call (a vCPU may call it from its exit path). */
size_t dev_console_read(struct dev_host *h, uint8_t *buf, size_t len);

/* dev_log - one "kestrel: ..." line to the VM's log. Cold paths only. */
void dev_log(struct dev_host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dev_guest_ptr - guest-physical [gpa, gpa + len) as a host pointer, or NULL
 * unless all of it is guest RAM (the checked helper, guest_mem_ptr). */
void *dev_guest_ptr(struct dev_host *h, uint64_t gpa, uint64_t len);

/* dev_irq_line - drive interrupt line `gsi` (ISA IRQ / IOAPIC pin) high or low.
 * 0, -ENODEV when the VM has no irqchip for it, or KVM's errno. */
int dev_irq_line(struct dev_host *h, unsigned gsi, bool level);

/* dev_config_name - how messages name struct kestrel_config's `field` ("pit"):
 * what the embedder's field_name makes of it (the kestrel command: "--pit"). */
const char *dev_config_name(const struct dev_host *h, const char *field);

/* What a device may know of the machine it is in. */
struct dev_machine {
	unsigned ncpus;
	uint64_t ram_size; /* all guest RAM */
	uint64_t ram_below_4g, ram_above_4g;
	uint64_t tsc_khz; /* 0: unknown */
};
const struct dev_machine *dev_machine(const struct dev_host *h);

/* A device, described once. init/fini are required; the rest may be NULL. */
struct dev_ops {
	const char *name;
	size_t state_size; /* the VM allocates this much, zeroed, per instance */
	int (*init)(struct dev_host *h, void *state); /* register ranges; 0 or -errno */
	void (*fini)(void *state);   /* free what init made (only after a successful init) */
	void (*finish)(void *state); /* after the vCPUs stopped: collect counters */
	/* Console input is waiting (dev_console_read): called by the thread that
	 * got it from the host (kestrel_vm_run's, or kestrel_vm_console_input's
	 * caller), never a vCPU; the device takes what it has room for. */
	void (*input)(void *state);
	/* Slots for snapshots (not used yet). */
	int (*save)(const void *state, void *buf, size_t len);
	int (*restore)(void *state, const void *buf, size_t len);
	void (*reset)(void *state);
};

#endif
