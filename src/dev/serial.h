/* serial.h - 16550A UART, transmit side: the guest console. */
#ifndef KESTREL_DEV_SERIAL_H
#define KESTREL_DEV_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct kestrel_vm;

struct serial {
	pthread_mutex_t lock; /* register state; vCPUs may share the port */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
};

#define SERIAL_LCR_DLAB 0x80 /* LCR bit 7: offsets 0/1 are the divisor latch */
#define SERIAL_MCR_LOOP 0x10 /* MCR bit 4: loopback, nothing leaves the UART */

/* serial_transmits - a byte written to THR now goes to the console (DLAB
 * clear, no loopback). Read without the lock: the transmit paths (an exit,
 * the coalesced ring's drain) only need a value some write left there. */
static inline bool serial_transmits(const struct serial *s)
{
	return !(s->lcr & SERIAL_LCR_DLAB) && !(s->mcr & SERIAL_MCR_LOOP);
}

/* serial_init - a UART at `base` (8 ports) writing to the VM's console. */
int serial_init(struct kestrel_vm *vm, struct serial *s, uint16_t base);

#endif
