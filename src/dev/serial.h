/* serial.h - 16550A UART: the guest console, both ways. */
#ifndef KESTREL_DEV_SERIAL_H
#define KESTREL_DEV_SERIAL_H

#include "dev/device.h"

/*
 * The UART at KESTREL_PORT_COM1 (8 ports), interrupt on ISA IRQ 4.
 * Transmit: THR bytes go to the guest console; THR is a coalesced register
 * (DEV_COALESCED): with KVM_CAP_COALESCED_PIO, transmitted bytes do not exit.
 * Receive: the host's console input (dev_console_read) fills a 16-byte RX
 * FIFO (1 byte with FIFOs off) whenever it has room; LSR.DR, IIR and the
 * interrupt follow the 16550A data sheet (docs/console.md). Loopback (MCR
 * bit 4) sends THR to the receiver and the modem outputs to MSR.
 */
extern const struct dev_ops serial_dev;

#define SERIAL_FIFO_SIZE 16u
#define SERIAL_IRQ KESTREL_IRQ_COM1

#endif
