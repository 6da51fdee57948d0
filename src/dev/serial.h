/* serial.h - 16550A UART, transmit side: the guest console. */
#ifndef KESTREL_DEV_SERIAL_H
#define KESTREL_DEV_SERIAL_H

#include "dev/device.h"

/* The UART at KESTREL_PORT_COM1 (8 ports). Its THR is a coalesced register
 * (DEV_COALESCED): with KVM_CAP_COALESCED_PIO, transmitted bytes do not exit. */
extern const struct dev_ops serial_dev;

#endif
