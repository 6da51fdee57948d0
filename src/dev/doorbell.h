/* doorbell.h - a write-only notification port: counted by KVM through an ioeventfd, no exit. */
#ifndef KESTREL_DEV_DOORBELL_H
#define KESTREL_DEV_DOORBELL_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/device.h"

extern const struct dev_ops doorbell_dev;

/* doorbell_counts - after the run: whether KVM took the rings (ioeventfd),
 * all rings counted, and those that reached kestrel as exits. */
void doorbell_counts(const void *state, bool *ioeventfd, uint64_t *rings, uint64_t *exits);

#endif
