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

/*
 * A fast path is made ready when the device registers (what can fail
 * early fails there: the capability, room, the eventfd) and set up with KVM
 * only once the guest uses the device (vm_fast_arm): an ioeventfd on the
 * first exit that reaches one of the device's ranges, a coalesced zone on
 * the VM_FAST_COALESCE_AFTER-th write to its address (the first ones exit).
 * Why not at registration: KVM frees the I/O bus each registration replaces
 * with call_srcu(), and kvm_destroy_vm's srcu_barrier() waits for that
 * normal SRCU grace period, 1-3 jiffies (4-12 ms here, more when the timer
 * softirq runs late on a busy nested host) unless it has passed; the undo
 * (vm_fast_undo) expedites it, 1-4 ms. A guest that ends before it touches
 * the device (an exit-at-once guest, one that prints through the PUTS
 * hypercall only) thus puts nothing on the buses and its close() waits for
 * nothing. Why a coalesced zone waits for more: it saves one exit per
 * write (~8 us on this nested host, ~1 us on hardware KVM) and costs that
 * grace period once, when the VM ends soon after it armed; 256 exits are
 * ~2 ms here, about what the grace period costs (docs/coldstart.md), so a
 * guest that prints a line or two (hello: 75 bytes) never arms it, and
 * one that prints a lot (a Linux boot: thousands of bytes, LSR polled
 * before each) pays 256 exits once and coalesces the rest. The cost for an
 * ioeventfd: a guest whose very first access to the device is the
 * fast-pathed write takes that one access as an exit.
 */

/* The device's ranges on the bus: arm = 1 while an exit to that range has to
 * go through vm_fast_arm: a ready ioeventfd of the device (any of its
 * ranges), a ready coalesced zone (the range that holds its address). */
static void vm_fast_mark(struct kestrel_vm *vm, const void *owner)
{
	for (unsigned s = 0; s < 2; s++) {
		struct bus_dev *b = s ? vm->bus.mmio : vm->bus.pio;
		unsigned n = s ? vm->bus.nmmio : vm->bus.npio;

		for (unsigned j = 0; j < n; j++) {
			uint8_t arm = 0;

			if (b[j].opaque != owner)
				continue;
			for (unsigned i = 0; i < vm->nfast; i++) {
				const struct vm_fast *f = &vm->fast[i];

				if (f->owner != owner || f->state != VM_FAST_READY)
					continue;
				arm |= f->ioeventfd ||
				       (f->zone.pio == (s == 0) && f->zone.addr >= b[j].base &&
					f->zone.addr - b[j].base < b[j].len);
			}
			__atomic_store_n(&b[j].arm, arm, __ATOMIC_RELEASE);
		}
	}
}

/* KVM queues 1-byte writes to the port in the coalesced ring (console.c drains it). */
static int vm_fast_coalesce(struct kestrel_vm *vm, const struct dev_region *r)
{
	long page = sysconf(_SC_PAGESIZE);

	/* No such KVM, or a vCPU mmap without the ring page: the writes exit,
	 * nothing is wrong. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		  r->space == BUS_PIO ? KVM_CAP_COALESCED_PIO : KVM_CAP_COALESCED_MMIO) <= 0 ||
	    page <= 0 || vm->run_size < (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * page)
		return 0;
	if (vm->nfast == VM_MAX_FASTIO)
		return -ENOSPC;
	vm->fast[vm->nfast++] = (struct vm_fast){
	    .owner = r->opaque,
	    .left = VM_FAST_COALESCE_AFTER,
	    .zone = {.addr = r->base, .size = 1, .pio = r->space == BUS_PIO},
	    .name = r->name,
	};
	vm->ncoalesced++;
	return 0;
}

/* KVM signals an eventfd on writes to the address instead of exiting. */
static int vm_fast_ioeventfd(struct kestrel_vm *vm, const struct dev_region *r)
{
	struct kvm_ioeventfd io = {.addr = r->base,
				   .flags = r->space == BUS_PIO ? KVM_IOEVENTFD_FLAG_PIO : 0};

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		return 0;
	if (vm->nfast == VM_MAX_FASTIO)
		return -ENOSPC;
	/* len 0 matches every access size; older KVMs need one size. */
	io.len = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0 ? 0 : 1;
	io.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io.fd < 0)
		return -errno;
	vm->fast[vm->nfast++] = (struct vm_fast){
	    .owner = r->opaque, .ioeventfd = true, .io = io, .efd = r->efd, .name = r->name};
	*r->efd = io.fd;
	return 0;
}

void vm_fast_arm(struct kestrel_vm *vm, const struct bus_dev *d, enum bus_space space,
		 uint64_t addr, uint32_t len, uint32_t count, bool is_write)
{
	pthread_mutex_lock(&vm->fast_lock);
	for (unsigned i = 0; i < vm->nfast; i++) {
		struct vm_fast *f = &vm->fast[i];
		int r;

		if (f->owner != d->opaque || f->state != VM_FAST_READY)
			continue;
		if (!f->ioeventfd) {
			/* Only what the zone would have queued counts: 1-byte writes to it. */
			if (!is_write || len != 1 || addr != f->zone.addr ||
			    f->zone.pio != (space == BUS_PIO))
				continue;
			f->left -= count < f->left ? count : f->left;
			if (f->left)
				continue;
		}
		r = f->ioeventfd ? ioctl(vm->vm_fd, KVM_IOEVENTFD, &f->io)
				 : ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &f->zone);
		if (r < 0) {
			/* The device works as before, one exit per access. */
			vm_log(vm, "%s: KVM refused its %s at 0x%llx (%s); those accesses exit",
			       f->name, f->ioeventfd ? "ioeventfd" : "coalesced zone",
			       (unsigned long long)(f->ioeventfd ? f->io.addr : f->zone.addr),
			       strerror(errno));
			f->state = VM_FAST_REFUSED;
			if (f->efd)
				*f->efd = -1;
			continue;
		}
		f->state = VM_FAST_ARMED;
		vm->fast_ns = vm_now_ns();
		if (f->ioeventfd)
			vm_info(vm, "%s: ioeventfd at 0x%llx armed on the device's first exit",
				f->name, (unsigned long long)f->io.addr);
		else
			vm_info(vm, "%s: coalesced zone at 0x%llx armed after %u writes to it",
				f->name, (unsigned long long)f->zone.addr, VM_FAST_COALESCE_AFTER);
		if (!f->ioeventfd)
			console_zone_armed(vm);
	}
	vm_fast_mark(vm, d->opaque);
	pthread_mutex_unlock(&vm->fast_lock);
}

/*
 * Undoing a registration waits for an expedited SRCU grace period, which
 * completes the pending normal one with it: measured on raw KVM with a split
 * irqchip, 0.4 ms left in close() and ~4-8 ms in the undo instead of ~14 ms
 * in close() (docs/coldstart.md). A VM that ran longer than the grace period
 * since its last arming has nothing pending, and undoing would only add
 * expedited grace periods: then nothing is done. After the vCPUs stopped.
 */
#define VM_FAST_RECENT_NS (100ull * 1000 * 1000)

void vm_fast_undo(struct kestrel_vm *vm)
{
	if (!vm->fast_ns || vm_now_ns() - vm->fast_ns > VM_FAST_RECENT_NS)
		return;
	for (unsigned i = 0; i < vm->nfast; i++) {
		struct vm_fast *f = &vm->fast[i];
		struct kvm_ioeventfd io = f->io;

		if (f->state != VM_FAST_ARMED)
			continue;
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		if (f->ioeventfd ? ioctl(vm->vm_fd, KVM_IOEVENTFD, &io)
				 : ioctl(vm->vm_fd, KVM_UNREGISTER_COALESCED_MMIO, &f->zone)) {
			/* close() frees it anyway, only later */
		}
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
	/* Which of the device's ranges lead to its fast paths (so far). */
	vm_fast_mark(vm, r->opaque);
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

const char *dev_config_name(const struct dev_host *h, const char *field)
{
	return vm_name(h->vm, field);
}

const struct dev_machine *dev_machine(const struct dev_host *h)
{
	return &h->machine;
}

/* ---- the table's lifecycle ---- */

/* A device's zeroed state: a big one (fw_cfg's ~120 KB item table) from
 * mmap, whose pages come zero and only when touched (calloc cleared every
 * one: ~30 page faults of a cold start); a small one from the heap. */
#define DEV_STATE_MMAP_MIN (16u << 10)

static void *dev_state_alloc(size_t len)
{
	return len >= DEV_STATE_MMAP_MIN ? vm_zalloc(len) : calloc(1, len);
}

static void dev_state_free(void *p, size_t len)
{
	if (len >= DEV_STATE_MMAP_MIN)
		vm_zfree(p, len);
	else
		free(p);
}

int vm_devices_init(struct kestrel_vm *vm, struct kestrel_error *err)
{
	struct dev_machine *m = &vm->host.machine;

	vm->host.vm = vm;
	*m = (struct dev_machine){.ncpus = vm->ncpus,
				  .ram_size = vm->mem.total,
				  .ram_below_4g = vm->mem.r[0].size,
				  .ram_above_4g = vm->mem.total - vm->mem.r[0].size,
				  .tsc_khz = vm->tsc_khz};
	/* No bus_init: the VM is fresh from kestrel_vm_create (vm_zalloc: zero,
	 * and nothing registered before this), and a zeroed bus is empty. */
	for (unsigned i = 0; i < VM_NDEVICES; i++) {
		const struct dev_ops *ops = vm_device_table[i];
		void *state = ops->state_size ? dev_state_alloc(ops->state_size) : NULL;
		int r;

		if (ops->state_size && !state)
			return vm_err(err, -ENOMEM, "out of memory for device %s", ops->name);
		r = ops->init(&vm->host, state);
		if (r < 0) {
			dev_state_free(state, ops->state_size);
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
		dev_state_free(d->state, d->ops->state_size);
	}
	for (unsigned i = 0; i < vm->nfast; i++)
		if (vm->fast[i].ioeventfd)
			close(vm->fast[i].io.fd);
	vm->nfast = vm->ncoalesced = 0;
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
