/* doorbell.c - KESTREL_PORT_DOORBELL: writes counted by KVM through an ioeventfd; the bus handler
 * is the fallback. */
#include "dev/doorbell.h"

#include <stdatomic.h>
#include <unistd.h>

struct doorbell {
	int fd; /* eventfd KVM signals on each ring (the VM owns it); -1 without ioeventfd */
	uint64_t kvm_rings;		 /* read from fd (main thread, after the run) */
	atomic_uint_fast64_t exit_rings; /* rings that reached kestrel as exits */
};

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

static int doorbell_init(struct dev_host *h, void *state)
{
	struct doorbell *d = state;

	d->fd = -1;
	return dev_register(h, &(struct dev_region){.space = BUS_PIO,
						    .base = KESTREL_PORT_DOORBELL,
						    .len = 1,
						    .fn = doorbell_io,
						    .opaque = d,
						    .name = "doorbell",
						    .flags = DEV_IOEVENTFD,
						    .efd = &d->fd});
}

/* After the run: what the eventfd counted (an eventfd read returns the count
 * and resets it; EAGAIN: nothing new). */
static void doorbell_finish(void *state)
{
	struct doorbell *d = state;
	uint64_t n;

	if (d->fd >= 0 && read(d->fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		d->kvm_rings += n;
}

static void doorbell_fini(void *state)
{
}

void doorbell_counts(const void *state, bool *ioeventfd, uint64_t *rings, uint64_t *exits)
{
	const struct doorbell *d = state;
	uint64_t ex = atomic_load(&d->exit_rings);

	*ioeventfd = d->fd >= 0;
	*rings = d->kvm_rings + ex;
	*exits = ex;
}

const struct dev_ops doorbell_dev = {
    .name = "doorbell",
    .state_size = sizeof(struct doorbell),
    .init = doorbell_init,
    .fini = doorbell_fini,
    .finish = doorbell_finish,
};
