/* devhost.c - the device contract's VM side: the device table and its lifecycle, registration with
 * fast paths, the dev_*() calls. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"

/* The table (src/dev/devices.def): one extern and one row per DEV() line. */
#define DEV(name) extern const struct dev_ops name##_dev;
#include "dev/devices.def"
#undef DEV
static const struct dev_ops *const vm_device_table[] = {
#define DEV(name) &name##_dev,
#include "dev/devices.def"
#undef DEV
};
#define VM_NDEVICES (sizeof(vm_device_table) / sizeof(vm_device_table[0]))
_Static_assert(VM_NDEVICES <= VM_MAX_DEVS, "raise VM_MAX_DEVS");

/* ---- fast paths ---- */

/* KVM queues 1-byte writes to the port in the coalesced ring (console.c drains it). */
static int vm_fast_coalesce(struct kestrel_vm *vm, const struct dev_region *r)
{
	struct kvm_coalesced_mmio_zone z = {.addr = r->base, .size = 1, .pio = r->space == BUS_PIO};
	long page = sysconf(_SC_PAGESIZE);

	/* No such KVM, or a vCPU mmap without the ring page: the writes exit,
	 * nothing is wrong. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		  r->space == BUS_PIO ? KVM_CAP_COALESCED_PIO : KVM_CAP_COALESCED_MMIO) <= 0 ||
	    page <= 0 || vm->run_size < (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * page)
		return 0;
	if (vm->ncoalesced == VM_MAX_FASTIO)
		return -ENOSPC;
	if (ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &z) < 0)
		return -errno;
	vm->coalesced[vm->ncoalesced++] = z;
	vm->fast_ns = vm_now_ns();
	return 0;
}

/* KVM signals an eventfd on writes to the address instead of exiting. */
static int vm_fast_ioeventfd(struct kestrel_vm *vm, const struct dev_region *r)
{
	struct kvm_ioeventfd io = {.addr = r->base,
				   .flags = r->space == BUS_PIO ? KVM_IOEVENTFD_FLAG_PIO : 0};
	int e;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		return 0;
	if (vm->nioeventfd == VM_MAX_FASTIO)
		return -ENOSPC;
	/* len 0 matches every access size; older KVMs need one size. */
	io.len = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0 ? 0 : 1;
	io.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io.fd < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		e = -errno;
		close(io.fd);
		return e;
	}
	vm->ioeventfd[vm->nioeventfd++] = io;
	vm->fast_ns = vm_now_ns();
	*r->efd = io.fd;
	return 0;
}

/*
 * Each registration above puts a device on a KVM I/O bus, and KVM frees the
 * bus it replaced with call_srcu(): kvm_destroy_vm's srcu_barrier() then
 * waits for that normal SRCU grace period (~13 ms on this host, a few
 * jiffies anywhere) unless it has passed. Undoing a registration waits for
 * an expedited one, which completes the pending one with it: measured on
 * raw KVM with a split irqchip, 0.4 ms left in close() and ~4-8 ms in the
 * undo instead of ~14 ms in close() (docs/coldstart.md). A VM that ran
 * longer than the grace period has nothing pending, and undoing would only
 * add expedited grace periods: then nothing is done.
 */
#define VM_FAST_RECENT_NS (100ull * 1000 * 1000)

void vm_fast_undo(struct kestrel_vm *vm)
{
	if (!vm->fast_ns || vm_now_ns() - vm->fast_ns > VM_FAST_RECENT_NS)
		return;
	for (unsigned i = 0; i < vm->nioeventfd; i++) {
		struct kvm_ioeventfd io = vm->ioeventfd[i];
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
			/* close() frees it anyway, only later */
		}
	}
	for (unsigned i = 0; i < vm->ncoalesced; i++)
		if (ioctl(vm->vm_fd, KVM_UNREGISTER_COALESCED_MMIO, &vm->coalesced[i]) < 0) {
			/* as above */
		}
	vm->fast_ns = 0;
}

int dev_register(struct dev_host *h, const struct dev_region *r)
{
	struct kestrel_vm *vm = h->vm;
	int e;

	if (r->efd)
		*r->efd = -1;
	if ((r->flags & DEV_IOEVENTFD) && !r->efd)
		return -EINVAL;
	e = bus_register(&vm->bus, r->space, r->base, r->len, r->fn, r->opaque, r->name);
	if (e < 0 || vm->cfg.no_fast_io)
		return e;
	if (r->flags & DEV_COALESCED)
		e = vm_fast_coalesce(vm, r);
	if (e == 0 && (r->flags & DEV_IOEVENTFD))
		e = vm_fast_ioeventfd(vm, r);
	return e;
}

/* ---- what devices call ---- */

int dev_stop(struct dev_host *h, struct vcpu *v, enum kestrel_exit_kind kind, int status,
	     const char *fmt, ...)
{
	struct kestrel_exit e = {.kind = kind, .status = status, .cpu = -1};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.reason, sizeof(e.reason), fmt, ap);
	va_end(ap);
	if (v) {
		e.cpu = (int)v->index;
		e.rip = regs_get_rip(&v->regs);
	}
	return vm_stop(h->vm, &e);
}

void dev_console_write(struct dev_host *h, const void *buf, size_t len)
{
	console_write(h->vm, buf, len);
}

size_t dev_console_read(struct dev_host *h, uint8_t *buf, size_t len)
{
	return console_in_take(h->vm, buf, len);
}

void dev_log(struct dev_host *h, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	vm_log(h->vm, "%s", line);
}

void *dev_guest_ptr(struct dev_host *h, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(&h->vm->mem, gpa, len);
}

int dev_irq_line(struct dev_host *h, unsigned gsi, bool level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level};

	if (!h->vm->has_irqchip)
		return -ENODEV;
	return ioctl(h->vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

const struct dev_machine *dev_machine(const struct dev_host *h)
{
	return &h->machine;
}

/* ---- the table's lifecycle ---- */

int vm_devices_init(struct kestrel_vm *vm, struct kestrel_error *err)
{
	struct dev_machine *m = &vm->host.machine;

	vm->host.vm = vm;
	*m = (struct dev_machine){.ncpus = vm->ncpus,
				  .ram_size = vm->mem.total,
				  .ram_below_4g = vm->mem.r[0].size,
				  .ram_above_4g = vm->mem.total - vm->mem.r[0].size,
				  .tsc_khz = vm->tsc_khz};
	bus_init(&vm->bus);
	for (unsigned i = 0; i < VM_NDEVICES; i++) {
		const struct dev_ops *ops = vm_device_table[i];
		void *state = ops->state_size ? calloc(1, ops->state_size) : NULL;
		int r;

		if (ops->state_size && !state)
			return vm_err(err, -ENOMEM, "out of memory for device %s", ops->name);
		r = ops->init(&vm->host, state);
		if (r < 0) {
			free(state);
			return vm_err(err, r, "cannot set up device %s: %s", ops->name,
				      strerror(-r));
		}
		vm->devs[vm->ndevs++] = (struct vm_dev){ops, state};
	}
	return 0;
}

void vm_devices_fini(struct kestrel_vm *vm)
{
	while (vm->ndevs) {
		struct vm_dev *d = &vm->devs[--vm->ndevs];
		d->ops->fini(d->state);
		free(d->state);
	}
	for (unsigned i = 0; i < vm->nioeventfd; i++)
		close(vm->ioeventfd[i].fd);
	vm->nioeventfd = 0;
}

void vm_devices_finish(struct kestrel_vm *vm)
{
	for (unsigned i = 0; i < vm->ndevs; i++)
		if (vm->devs[i].ops->finish)
			vm->devs[i].ops->finish(vm->devs[i].state);
}

void vm_devices_input(struct kestrel_vm *vm)
{
	for (unsigned i = 0; i < vm->ndevs; i++)
		if (vm->devs[i].ops->input)
			vm->devs[i].ops->input(vm->devs[i].state);
}

void *vm_device_state(const struct kestrel_vm *vm, const struct dev_ops *ops)
{
	for (unsigned i = 0; i < vm->ndevs; i++)
		if (vm->devs[i].ops == ops)
			return vm->devs[i].state;
	return NULL;
}
