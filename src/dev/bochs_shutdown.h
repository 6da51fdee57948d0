/* bochs_shutdown.h - the Bochs/QEMU shutdown port: "Shutdown" written to 0x8900 byte by byte powers
 * the machine off. */
#ifndef KESTREL_DEV_BOCHS_SHUTDOWN_H
#define KESTREL_DEV_BOCHS_SHUTDOWN_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/device.h"

extern const struct dev_ops bochs_shutdown_dev;

/*
 * bochs_shutdown_feed - one byte written to the port; *matched counts the
 * bytes of "Shutdown" seen so far in a row (a wrong byte starts again,
 * counting it if it is an 'S'). True when the string is complete (*matched
 * is reset). Reads of the port give 0; a 2- or 4-byte write is its bytes in
 * order (little-endian).
 */
bool bochs_shutdown_feed(uint8_t *matched, uint8_t byte);

#endif
