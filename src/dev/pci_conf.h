/* pci_conf.h - PCI configuration mechanism #1 with an empty bus: the address register reads back,
 * every function answers "no device". */
#ifndef KESTREL_DEV_PCI_CONF_H
#define KESTREL_DEV_PCI_CONF_H

/*
 * Ports 0xcf8-0xcff (abi.h), as QEMU's i440FX/Q35 host bridge decodes them:
 *   0xcf8  CONFIG_ADDRESS: a 32-bit write at 0xcf8 stores it (as written);
 *          reads of any width at 0xcf8-0xcfb return its bytes; narrower
 *          writes are not configuration cycles and are ignored (Linux's
 *          type-1 probe writes a byte to 0xcfb, then reads 0xcf8 as 32 bits);
 *   0xcf9  reset control (a byte, PIIX/ICH RCR): bit 2 (RST_CPU) resets the
 *          machine; bits 1 and 3 read back;
 *   0xcfc-0xcff  CONFIG_DATA: reads are all ones (0xff, 0xffff, 0xffffffff),
 *          whatever CONFIG_ADDRESS names: vendor ID 0xffff is "no device",
 *          so a bus scan finds nothing; writes are ignored.
 */

#include <stdbool.h>
#include <stdint.h>

#include "dev/device.h"

extern const struct dev_ops pci_conf_dev;

struct pci_conf {
	uint32_t addr; /* CONFIG_ADDRESS */
	uint8_t rcr;   /* reset control */
};

#define PCI_CONF_RCR_RST_CPU 0x04u

/* pci_conf_io - one access at `off` (0 = port 0xcf8 .. 7 = 0xcff), len bytes.
 * Returns true when the access asks for a reset. */
bool pci_conf_io(struct pci_conf *p, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

#endif
