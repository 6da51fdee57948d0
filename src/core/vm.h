/* vm.h - the VM object: KVM fds, guest RAM, bus, devices, vCPUs and how a run ends. */
#ifndef KESTREL_VM_H
#define KESTREL_VM_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/bus.h"
#include "core/console.h"
#include "dev/doorbell.h"
#include "dev/serial.h"
#include "core/guestmem.h"
#include "kestrel/kestrel.h"
#include "obs/profile.h"
#include "core/regs.h"

struct vcpu {
	struct kestrel_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread; /* main thread's handle, for joining */
	bool joinable; /* pthread_create succeeded (main thread only) */
	pthread_t self; /* the thread's own handle, published by itself... */
	atomic_bool live; /* ...before this is set: from then on it may be signalled */
	struct regs regs;
	struct kestrel_vcpu_stats stats;
	struct kvm_cpuid2 *cpuid; /* what KVM_SET_CPUID2 got */
	struct regs_snapshot snap; /* KESTREL_HC_SNAPSHOT / RESTORE */
	bool has_snap;
	struct profile_cpu prof; /* exit profile, filled by the run loop (profile.h) */
};

/* The boot timeline: CLOCK_MONOTONIC ns of each milestone, 0 until it happens. */
struct vm_timeline {
	uint64_t start; /* cfg.t0_ns, or the start of kestrel_vm_create */
	uint64_t kvm_ready; /* kestrel_vm_create done: /dev/kvm, VM, RAM, devices, vCPUs */
	uint64_t loaded; /* guest image copied into RAM */
	uint64_t run_start; /* kestrel_vm_run called */
	uint64_t stop; /* the first vm_stop(): the guest's exit, a crash, a signal */
	uint64_t run_end; /* vCPU threads joined */
	_Atomic uint64_t console; /* first guest console byte */
};

/* vm_now_ns - CLOCK_MONOTONIC in ns (vDSO: no syscall). */
static inline uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct kestrel_vm {
	struct kestrel_config cfg;
	char cmdline[KESTREL_CMDLINE_MAX];
	int kvm_fd, vm_fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	uint32_t sync_caps; /* KVM_CAP_SYNC_REGS bits, 0 with no_sync_regs */
	bool cap_tsc_deadline; /* KVM_CAP_TSC_DEADLINE_TIMER: CPUID may offer it */
	bool cap_enforce_pv; /* KVM_CAP_ENFORCE_PV_FEATURE_CPUID: each vCPU gets it */
	uint64_t tsc_khz; /* 0 if KVM could not tell */
	struct profile_clock clock; /* TSC -> ns for the profiler and the timeline */
	struct guest_mem mem;
	struct bus bus;
	unsigned ncpus;
	struct vcpu *vcpus;
	gpa_t entry;
	bool loaded, ran;

	/* Devices. */
	struct serial com1;
	struct doorbell doorbell;
	struct console cons; /* console output, coalesced UART THR ring (console.h) */

	/* Unhandled accesses: counted always, logged once per port (and once for MMIO). */
	atomic_uint_fast64_t unhandled;
	atomic_uchar pio_logged[65536 / 8];
	atomic_bool mmio_logged;

	/* How the run ends: the first vm_stop() wins. */
	int stop_fd; /* eventfd the main thread waits on */
	atomic_bool stopping;
	atomic_int stop_signo; /* set by kestrel_vm_stop() (signal-safe path) */
	pthread_mutex_t exit_lock;
	struct kestrel_exit exit;

	struct vm_timeline tl;
};

/*
 * vm_stop - end the run: record *why (only the first call's reason is kept),
 * then make every vCPU leave KVM_RUN (immediate_exit + signal) and wake the
 * main thread. Safe from any vCPU thread. Returns BUS_STOP for handlers.
 */
int vm_stop(struct kestrel_vm *vm, const struct kestrel_exit *why);

/* vm_stop_fmt - vm_stop() with kind, status, vCPU and a printf-style reason
 * (the vCPU's RIP is read through its register cache when v != NULL). */
int vm_stop_fmt(struct kestrel_vm *vm, struct vcpu *v, enum kestrel_exit_kind kind, int status,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* vm_err - fill *err (when not NULL) with `e` and a printf-style message; returns e. */
int vm_err(struct kestrel_error *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* vm_log - one line to the configured log fd ("kestrel: ..."). Cold paths only. */
void vm_log(const struct kestrel_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* vm_console_write - guest console bytes to console_fd (all of them, retrying short writes). */
void vm_console_write(struct kestrel_vm *vm, const void *buf, size_t len);

/* vm_kick_signal - the signal that knocks a vCPU thread out of KVM_RUN. */
int vm_kick_signal(void);

#endif
