/* doorbell.h - a write-only notification port: counted by KVM through an ioeventfd, no exit. */
#ifndef KESTREL_DEV_DOORBELL_H
#define KESTREL_DEV_DOORBELL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct kestrel_vm;

struct doorbell {
	int fd; /* eventfd KVM signals on each ring; -1 without ioeventfd */
	uint64_t kvm_rings; /* read from fd (main thread, after the run) */
	atomic_uint_fast64_t exit_rings; /* rings that reached kestrel as exits */
};

/* doorbell_init - the port KESTREL_PORT_DOORBELL on the bus (the fallback for
 * rings KVM does not take, and for reads). Returns 0 or bus_register's errno. */
int doorbell_init(struct kestrel_vm *vm, struct doorbell *d);

/* doorbell_setup_ioeventfd - let KVM take every write to the port (any size,
 * where KVM_CAP_IOEVENTFD_ANY_LENGTH allows; else 1-byte writes) and signal
 * an eventfd instead of exiting. Returns 0, or a negative errno. */
int doorbell_setup_ioeventfd(struct kestrel_vm *vm, struct doorbell *d);

/* doorbell_collect - add what the eventfd counted since the last call to
 * d->kvm_rings (non-blocking read). Main thread. */
void doorbell_collect(struct doorbell *d);

/* doorbell_release - close the eventfd. */
void doorbell_release(struct doorbell *d);

#endif
