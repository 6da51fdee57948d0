/* console_in.h - guest console input: the host's bytes waiting for the guest's UART, bounded, and
 * the console escape. */
#ifndef KESTREL_CONSOLE_IN_H
#define KESTREL_CONSOLE_IN_H

/*
 * Input comes from two places: kestrel_config.console_in_fd, read by the
 * thread in kestrel_vm_run in its wait (never by a vCPU: a guest cannot make
 * kestrel block on it), and kestrel_vm_console_input(), from any thread. Both
 * go into one byte ring of KESTREL_CONSOLE_IN_MAX bytes; the UART (the device
 * whose dev_ops has `input`) takes from it with dev_console_read() as its
 * FIFO empties, which is a memcpy under a mutex: no system call on the exit
 * path. When the ring is full:
 *
 *   - without an escape byte, the fd is not read until there is room
 *     (back-pressure: a pipe's writer blocks, nothing is lost);
 *   - with one (a terminal), the fd is read on and what does not fit is
 *     dropped and counted, so that the escape still works when the guest
 *     has stopped reading; one line at the end of the run says how much.
 *
 * The escape (kestrel_config.console_escape, Ctrl-A for the CLI on a
 * terminal) is QEMU -nographic's: ESC x stops the VM, ESC ESC sends ESC,
 * ESC h lists the commands; any other byte after ESC is dropped with it.
 *
 * Locking: one mutex for the ring and its counters, never held while a
 * device is called (a device's lock comes first: the UART calls
 * dev_console_read under its own lock).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kestrel/kestrel.h"

struct kestrel_vm;

struct console_in {
	pthread_mutex_t lock;
	uint8_t buf[KESTREL_CONSOLE_IN_MAX];
	size_t head, len; /* waiting bytes: [head, head + len) mod the size */
	bool closed;	  /* the run is over: kestrel_vm_console_input says -EPIPE */
	uint64_t given;	  /* bytes read from the fd or given by the API (escapes excluded) */
	uint64_t taken;	  /* bytes the UART took */
	uint64_t dropped; /* bytes that found the ring full (escape mode only) */
	/* The reader's own (kestrel_vm_run's thread only): */
	int fd;		/* console_in_fd, -1 when there is none or it ended */
	uint8_t escape; /* 0: none */
	bool escaped;	/* the last byte read was the escape */
};

/* console_in_init - empty, with the config's fd and escape. */
void console_in_init(struct console_in *ci, const struct kestrel_config *cfg);
void console_in_destroy(struct console_in *ci);

/*
 * console_in_wait_fd - the fd kestrel_vm_run's wait should poll for input, or
 * -1: none, or the ring is full without an escape (then *full is set and the
 * caller looks again within CONSOLE_TICK_MS, when the guest may have made room).
 */
int console_in_wait_fd(struct kestrel_vm *vm, bool *full);

/*
 * console_in_read - poll said the fd is readable: read what there is room for
 * (all of it with an escape), carry out escape commands, hand the bytes to the
 * devices (dev_ops.input). End of file or an error ends the input. Never
 * blocks on a non-blocking fd; on a blocking one, only if another reader
 * took the bytes poll saw.
 */
void console_in_read(struct kestrel_vm *vm);

/* console_in_take - dev_console_read's body: up to len bytes into buf. */
size_t console_in_take(struct kestrel_vm *vm, uint8_t *buf, size_t len);

/* console_in_finish - the run is over: refuse further input, log what was dropped. */
void console_in_finish(struct kestrel_vm *vm);

#endif
