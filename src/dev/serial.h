/* serial.h - 16550A UART, transmit side: the guest console. */
#ifndef KESTREL_DEV_SERIAL_H
#define KESTREL_DEV_SERIAL_H

#include <pthread.h>
#include <stdint.h>

struct kestrel_vm;

struct serial {
	pthread_mutex_t lock; /* register state; vCPUs may share the port */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
};

/* serial_init - a UART at `base` (8 ports) writing to the VM's console. */
int serial_init(struct kestrel_vm *vm, struct serial *s, uint16_t base);

#endif
