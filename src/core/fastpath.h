/* fastpath.h - kestrel's exit fast paths, wired per VM: coalesced console PIO, the doorbell ioeventfd. */
#ifndef KESTREL_FASTPATH_H
#define KESTREL_FASTPATH_H

/*
 * Which device uses which mechanism (cfg.no_fast_io turns both off, for A/B):
 *   UART THR (port 0x3f8 only)   coalesced PIO: KVM queues the writes in a ring,
 *                                kestrel drains it before the next exit is
 *                                handled and from the main thread (console.h)
 *   UART LSR reads               an exit, answered before the UART's lock
 *   doorbell (KESTREL_PORT_DOORBELL) ioeventfd: KVM signals an eventfd, no exit
 *   hypercalls, debug-exit, i8042, null port, other UART registers
 *                                ordinary exits: each needs an answer or ends
 *                                the VM, and pio-loop's null port must stay a
 *                                true userspace-exit benchmark
 *   interrupts                   no kestrel device raises one (the UART has no
 *                                receive side), so irqfd has no user yet; the
 *                                LAPIC, IOAPIC, PIC and PIT are KVM's own
 */

struct kestrel_vm;
struct kestrel_error;

/* fastpath_setup - after the vCPUs exist: the coalesced THR zone and the
 * doorbell ioeventfd, unless cfg.no_fast_io. A KVM without the capabilities
 * just leaves the exits as they are. Returns 0 or a negative errno with err. */
int fastpath_setup(struct kestrel_vm *vm, struct kestrel_error *err);

/* fastpath_tick - the main thread, every CONSOLE_TICK_MS of a run: drain the
 * console ring and flush a partial line, if there is anything. */
void fastpath_tick(struct kestrel_vm *vm);

/* fastpath_finish - after the vCPU threads are joined: the last drain and
 * flush, and the doorbell's count. */
void fastpath_finish(struct kestrel_vm *vm);

#endif
