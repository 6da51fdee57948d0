/* doorbell.c - KESTREL_PORT_DOORBELL: writes counted by KVM through an ioeventfd; the bus handler is the fallback. */
#include "dev/doorbell.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"

/* A ring that exited: KVM had no ioeventfd for it (--no-fast-io, an old KVM
 * or a length it does not match). Counted, nothing else to do. */
static int doorbell_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct doorbell *d = opaque;

	if (is_write)
		atomic_fetch_add_explicit(&d->exit_rings, 1, memory_order_relaxed);
	return 0; /* reads were zeroed before dispatch */
}

int doorbell_init(struct kestrel_vm *vm, struct doorbell *d)
{
	d->fd = -1;
	d->kvm_rings = 0;
	atomic_store(&d->exit_rings, 0);
	return bus_register(&vm->bus, BUS_PIO, KESTREL_PORT_DOORBELL, 1, doorbell_io, d, "doorbell");
}

int doorbell_setup_ioeventfd(struct kestrel_vm *vm, struct doorbell *d)
{
	struct kvm_ioeventfd io = { .addr = KESTREL_PORT_DOORBELL, .flags = KVM_IOEVENTFD_FLAG_PIO };
	int e;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		return -ENOTSUP;
	/* len 0 matches every access size; older KVMs need one size. */
	io.len = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0 ? 0 : 1;
	d->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->fd < 0)
		return -errno;
	io.fd = d->fd;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		e = -errno;
		close(d->fd);
		d->fd = -1;
		return e;
	}
	return 0;
}

void doorbell_collect(struct doorbell *d)
{
	uint64_t n;

	/* An eventfd read returns the count and resets it; EAGAIN: nothing new. */
	if (d->fd >= 0 && read(d->fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		d->kvm_rings += n;
}

void doorbell_release(struct doorbell *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}
