/* console.c - guest console output: the coalesced-PIO ring for the UART THR, drained in order, written in batches. */
#include "core/console.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"

void console_init(struct console *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void console_destroy(struct console *c)
{
	pthread_mutex_destroy(&c->lock);
}

int console_setup_coalescing(struct kestrel_vm *vm, uint16_t port)
{
	struct kvm_coalesced_mmio_zone z = { .addr = port, .size = 1, .pio = 1 };
	long page = sysconf(_SC_PAGESIZE);

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0 || !vm->vcpus ||
	    !vm->vcpus[0].run || page <= 0 || vm->run_size < (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * page)
		return 1;
	if (ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &z) < 0)
		return -errno;
	/* One ring per VM, mapped into every vCPU's mmap at the same page. */
	vm->cons.ring = (struct kvm_coalesced_mmio_ring *)((char *)vm->vcpus[0].run +
							   KVM_COALESCED_MMIO_PAGE_OFFSET * page);
	vm->cons.thr_port = port;
	/* KVM_COALESCED_MMIO_MAX, which needs the kernel's PAGE_SIZE. */
	vm->cons.ring_max = (uint32_t)(((size_t)page - sizeof(struct kvm_coalesced_mmio_ring)) /
				       sizeof(struct kvm_coalesced_mmio));
	return 0;
}

/* Straight to console_fd: all of it, retrying short writes and EINTR. */
static void console_out(struct kestrel_vm *vm, const uint8_t *p, size_t len)
{
	uint64_t none = 0;

	if (!len)
		return;
	if (!atomic_load_explicit(&vm->tl.console, memory_order_relaxed))
		atomic_compare_exchange_strong(&vm->tl.console, &none, vm_now_ns());
	atomic_fetch_add_explicit(&vm->cons.writes, 1, memory_order_relaxed);
	while (len) {
		ssize_t n = write(vm->cfg.console_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* console gone (closed pipe): the guest keeps running */
		p += n;
		len -= (size_t)n;
	}
}

/* Write the buffer up to its last newline (all of it with `all`); keep the rest. Lock held. */
static void console_flush_locked(struct kestrel_vm *vm, bool all)
{
	struct console *c = &vm->cons;
	size_t len = atomic_load_explicit(&c->len, memory_order_relaxed), cut = len;

	if (!len)
		return;
	if (!all) {
		const uint8_t *nl = memrchr(c->buf, '\n', len);
		if (!nl)
			return;
		cut = (size_t)(nl - c->buf) + 1;
	}
	console_out(vm, c->buf, cut);
	memmove(c->buf, c->buf + cut, len - cut);
	atomic_store_explicit(&c->len, len - cut, memory_order_relaxed);
}

void console_drain(struct kestrel_vm *vm, struct vcpu *v, bool flush_partial)
{
	struct console *c = &vm->cons;
	struct kvm_coalesced_mmio_ring *r = c->ring;
	uint32_t first, last;
	size_t len;

	pthread_mutex_lock(&c->lock);
	len = atomic_load_explicit(&c->len, memory_order_relaxed);
	if (r) {
		first = r->first;
		last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
		if (first != last)
			c->drains++;
		for (; first != last; first = (first + 1) % c->ring_max) {
			struct kvm_coalesced_mmio *e = &r->coalesced_mmio[first];
			const struct bus_dev *d;

			c->entries++;
			if (e->pio && e->phys_addr == c->thr_port && e->len == 1 && serial_transmits(&vm->com1)) {
				if (len == sizeof(c->buf)) {
					atomic_store_explicit(&c->len, len, memory_order_relaxed);
					console_flush_locked(vm, true);
					len = 0;
				}
				c->buf[len++] = e->data[0];
			} else if (e->len <= sizeof(e->data) &&
				   (d = bus_find_pio(&vm->bus, (uint16_t)e->phys_addr))) {
				/* A divisor-latch write, loopback: the UART's own handler, after
				 * everything before it went out. Ring entries name no vCPU. */
				atomic_store_explicit(&c->len, len, memory_order_relaxed);
				console_flush_locked(vm, true);
				len = 0;
				d->fn(v ? v : &vm->vcpus[0], d->opaque, e->phys_addr - d->base, e->data, e->len,
				      true);
			}
			/* Free the slot for KVM only once it is applied. */
			__atomic_store_n(&r->first, (first + 1) % c->ring_max, __ATOMIC_RELEASE);
		}
	}
	atomic_store_explicit(&c->len, len, memory_order_relaxed);
	console_flush_locked(vm, flush_partial);
	pthread_mutex_unlock(&c->lock);
}

void console_write(struct kestrel_vm *vm, const void *buf, size_t len)
{
	struct console *c = &vm->cons;

	if (!atomic_load_explicit(&c->len, memory_order_relaxed)) {
		console_out(vm, buf, len);
		return;
	}
	/* The UART's partial line came first: keep the order. */
	pthread_mutex_lock(&c->lock);
	console_flush_locked(vm, true);
	console_out(vm, buf, len);
	pthread_mutex_unlock(&c->lock);
}
