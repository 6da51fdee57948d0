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
#include "core/console_in.h"
#include "core/guestmem.h"
#include "load/plan.h"
#include "arch/x86/quirk.h"
#include "util/error.h"
#include "dev/device.h"
#include "kestrel/kestrel.h"
#include "obs/profile.h"
#include "core/regs.h"

struct vcpu {
	struct kestrel_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread; /* main thread's handle, for joining */
	bool joinable;	  /* pthread_create succeeded (main thread only) */
	pthread_t self;	  /* the thread's own handle, published by itself... */
	atomic_bool live; /* ...before this is set: from then on it may be signalled */
	struct regs regs;
	struct kestrel_vcpu_stats stats;
	struct kvm_cpuid2 *cpuid;  /* what KVM_SET_CPUID2 got */
	struct regs_snapshot snap; /* KESTREL_HC_SNAPSHOT / RESTORE */
	bool has_snap;
	struct profile_cpu prof;	      /* exit profile, filled by the run loop (profile.h) */
	uint64_t quirk_done[X86_QUIRK_SLOTS]; /* host-quirk fallbacks, per instruction (quirk.h) */
};

/* The boot timeline: CLOCK_MONOTONIC ns of each milestone, 0 until it happens. */
struct vm_timeline {
	uint64_t start;		  /* cfg.t0_ns, or the start of kestrel_vm_create */
	uint64_t kvm_ready;	  /* kestrel_vm_create done: /dev/kvm, VM, RAM, devices, vCPUs */
	uint64_t loaded;	  /* guest image copied into RAM */
	uint64_t run_start;	  /* kestrel_vm_run called */
	uint64_t stop;		  /* the first vm_stop(): the guest's exit, a crash, a signal */
	uint64_t run_end;	  /* vCPU threads joined */
	_Atomic uint64_t console; /* first guest console byte */
};

/* vm_now_ns - CLOCK_MONOTONIC in ns (vDSO: no syscall). */
static inline uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define VM_MAX_DEVS 32
#define VM_MAX_FASTIO 8

/*
 * An exit fast path a device asked for (DEV_COALESCED, DEV_IOEVENTFD). Made
 * ready at registration (capability checked, eventfd made) and set up with
 * KVM only once the guest uses the device (vm_fast_arm): an ioeventfd on the
 * device's first exit, a coalesced zone on the VM_FAST_COALESCE_AFTER-th
 * write to its address that exits. Every KVM I/O-bus registration leaves an
 * SRCU grace period for close() to wait for, so a guest that never touches
 * the device, or prints a line or two, must not pay one (docs/coldstart.md).
 */
#define VM_FAST_COALESCE_AFTER 256u

struct vm_fast {
	const void *owner; /* the device's handler opaque */
	enum { VM_FAST_READY, VM_FAST_ARMED, VM_FAST_REFUSED } state; /* under fast_lock */
	unsigned left;	/* coalesced zone: writes to zone.addr still to exit before it arms */
	bool ioeventfd; /* else a coalesced zone */
	struct kvm_coalesced_mmio_zone zone;
	struct kvm_ioeventfd io; /* .fd made at registration, owned by the VM */
	int *efd;		 /* the device's copy of io.fd: -1 if KVM refuses it */
	const char *name;
};

/* The VM as its devices see it (device.h keeps it opaque). */
struct dev_host {
	struct kestrel_vm *vm;
	struct dev_machine machine;
};

struct kestrel_vm {
	struct kestrel_config cfg;
	char cmdline[KESTREL_CMDLINE_MAX];
	int kvm_fd, vm_fd;
	int run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	uint32_t sync_caps;	/* KVM_CAP_SYNC_REGS bits, 0 with no_sync_regs */
	bool cap_tsc_deadline;	/* KVM_CAP_TSC_DEADLINE_TIMER: CPUID may offer it */
	bool cap_split_irqchip; /* KVM_CAP_SPLIT_IRQCHIP: a LAPIC without PIC/IOAPIC */
	bool has_irqchip;	/* the full in-kernel irqchip (PIC, IOAPIC): KVM_IRQ_LINE works */
	bool split_irqchip;	/* the LAPIC only (KVM_CAP_SPLIT_IRQCHIP); no PIC, IOAPIC or PIT */
	bool has_pit;		/* KVM_CREATE_PIT2 (needs has_irqchip) */
	bool platform_tried;	/* vm_setup_platform ran (a second load must not) */
	bool cap_enforce_pv;	/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID: each vCPU gets it */
	bool host_quirk;	/* the probe found this KVM's emulation gaps (arch/x86/quirk.h) */
	uint64_t tsc_khz;	/* 0 if KVM could not tell */
	struct profile_clock clock; /* TSC -> ns for the profiler and the timeline */
	struct guest_mem mem;
	struct bus bus;
	unsigned ncpus;
	struct vcpu *vcpus;	  /* allocated by kestrel_vm_create; KVM's vCPUs made at load */
	struct kvm_cpuid2 *cpuid; /* x86_cpuid_build's table, before x86_cpuid_for_vcpu */
	struct {		  /* KVM_GET_SUPPORTED_CPUID on a helper thread (arch/x86/vm.c) */
		pthread_t thread;
		bool running;		  /* started and not yet joined */
		int err;		  /* the ioctl's -errno, 0 when it filled table */
		struct kvm_cpuid2 *table; /* room for KVM's table, then the table */
	} cpuid_query;
	struct boot_plan plan; /* what the loader asked for (load/plan.h) */
	bool loaded, ran;

	/* Devices: the table in src/dev/devices.def, one instance each, in order. */
	struct dev_host host; /* what the devices get (device.h) */
	unsigned ndevs;	      /* instances whose init succeeded */
	struct vm_dev {
		const struct dev_ops *ops;
		void *state;
	} devs[VM_MAX_DEVS];
	/* Exit fast paths the devices asked for, armed on first use (vm_fast). */
	unsigned nfast, ncoalesced; /* ncoalesced: how many of them are coalesced zones */
	struct vm_fast fast[VM_MAX_FASTIO];
	pthread_mutex_t fast_lock; /* vm_fast_arm: any vCPU thread */
	uint64_t fast_ns;	   /* when the last one was armed (vm_now_ns; 0: none) */
	struct console cons;	   /* console output and the coalesced ring (console.h) */
	struct console_in cin;	   /* console input for the UART (console_in.h) */

	/* Unhandled accesses: counted always, logged once per port (and once for MMIO). */
	atomic_uint_fast64_t unhandled;
	atomic_uchar pio_logged[65536 / 8];
	atomic_uint
	    pio_missed; /* distinct unhandled ports seen (the first VM_PIO_LOG_MAX logged) */
	atomic_bool mmio_logged;

	/* How the run ends: the first vm_stop() wins. */
	int stop_fd;	    /* eventfd the main thread waits on */
	int proc_status_fd; /* /proc/self/status, opened before confine_caller (-1: none) */
	atomic_bool stopping;
	atomic_int stop_signo; /* set by kestrel_vm_stop() (signal-safe path) */
	/* vCPU 0 runs on the caller's thread (run.c, vm_run_inline): a 1-vCPU
	 * run under confine_caller with nothing else for that thread to wait on.
	 * Set before the writer starts; the writer then ticks the console ring. */
	bool inline_vcpu;
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

/* vm_err - a host-class error (util/error.h); vm_cfg_err, vm_img_err for the other classes. */
#define vm_err(err, e, ...) error_set(err, KESTREL_ERR_HOST, e, __VA_ARGS__)
#define vm_cfg_err(err, e, ...) error_set(err, KESTREL_ERR_CONFIG, e, __VA_ARGS__)
#define vm_img_err(err, e, ...) error_set(err, KESTREL_ERR_IMAGE, e, __VA_ARGS__)

/* How many distinct unhandled ports get a line each; a guest that probes
 * all 65,536 gets these and one summary after the run (kestrel_vm_run). */
#define VM_PIO_LOG_MAX 8u

/* vm_name - how messages name a kestrel_config field or libkestrel call
 * (cfg.field_name, util/error.h's error_name). */
#define vm_name(vm, field) error_name((vm)->cfg.field_name, field)

/* vm_log - a warning: one line to the configured log fd ("kestrel: ..."),
 * unless cfg.verbosity < 0. Cold paths only. */
/* vm_zalloc - len zeroed bytes from mmap (pages given as touched), NULL on
 * failure; vm_zfree gives them back (NULL is fine). For the big structs. */
void *vm_zalloc(size_t len);
void vm_zfree(void *p, size_t len);

void vm_log(const struct kestrel_vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* vm_info - a set-up step, the same way, only with cfg.verbosity > 0 (-v). */
void vm_info(const struct kestrel_vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* vm_devices_init - every device of src/dev/devices.def, in order; on a
 * failure the ones already made are finied in reverse. 0 or -errno with err.
 * Once per VM, from kestrel_vm_create: it takes vm->bus as it is, zero
 * (an empty bus) from vm_zalloc. */
int vm_devices_init(struct kestrel_vm *vm, struct kestrel_error *err);

/* vm_devices_fini - fini in reverse order; close the fast paths' eventfds. */
void vm_devices_fini(struct kestrel_vm *vm);

/* vm_fast_pending - does an exit to d have to go through vm_fast_arm
 * first? One load: the exit path asks it for every device access. */
static inline bool vm_fast_pending(const struct bus_dev *d)
{
	return __atomic_load_n(&d->arm, __ATOMIC_ACQUIRE) != 0;
}

/* vm_fast_arm - an exit reached d (space, addr, count elements of len bytes,
 * is_write): set up with KVM each of the device's fast paths that is due,
 * once (any vCPU thread; the others wait on fast_lock): its ioeventfds on
 * this first exit, a coalesced zone when this write to its address is the
 * VM_FAST_COALESCE_AFTER-th. A refusal is logged and leaves those accesses
 * as exits. Called before the exit is handled, so every later access takes
 * the fast path. */
void vm_fast_arm(struct kestrel_vm *vm, const struct bus_dev *d, enum bus_space space,
		 uint64_t addr, uint32_t len, uint32_t count, bool is_write);

/* vm_fast_undo - before the VM fd is closed: unregister the coalesced zones
 * and deassign the ioeventfds if one was armed less than VM_FAST_RECENT_NS
 * ago (their registrations' SRCU callbacks may still be pending, which
 * close() would wait a full grace period for; undoing them expedites it). */
void vm_fast_undo(struct kestrel_vm *vm);

/* vm_devices_finish - after the run: each device's finish hook. */
void vm_devices_finish(struct kestrel_vm *vm);

/* vm_devices_input - console input is waiting: each device's input hook. */
void vm_devices_input(struct kestrel_vm *vm);

/* vm_device_state - the instance of `ops` in this VM, or NULL. */
void *vm_device_state(const struct kestrel_vm *vm, const struct dev_ops *ops);

/* vm_kick_signal - the signal that knocks a vCPU thread out of KVM_RUN (cfg.kick_signal, or
 * SIGRTMIN+1). */
int vm_kick_signal(const struct kestrel_vm *vm);

#endif
