/* kestrel.h - libkestrel's public API: create a micro-VM, load a guest, run it, read why it ended.
 */
#ifndef KESTREL_KESTREL_H
#define KESTREL_KESTREL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kestrel/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; kestrel_version() is the library's. */
#define KESTREL_VERSION_MAJOR 0
#define KESTREL_VERSION_MINOR 2
#define KESTREL_VERSION_PATCH 0
#define KESTREL_VERSION "0.2.0"

#define KESTREL_DEFAULT_MEM (64ull << 20)
#define KESTREL_MIN_MEM (2ull << 20)

/*
 * Signals. libkestrel stops a running vCPU by sending its thread a signal,
 * SIGRTMIN+1 unless kick_signal says otherwise, and installs a process-wide
 * handler for it (one that does nothing: it only makes KVM_RUN return EINTR)
 * when kestrel_vm_run starts. The vCPU threads block every other signal, so
 * SIGINT/SIGTERM reach the caller's threads; a caller that wants Ctrl-C to
 * stop the VM calls kestrel_vm_stop from its handler. If your program uses
 * SIGRTMIN+1 itself, give kick_signal another real-time signal.
 */

/* How a VM is built. Start from kestrel_config_init() and change what you
 * need: it sets `size`, which kestrel_vm_create checks, so a program built
 * against another version of this header gets a clear error, not garbage.
 * New fields are only ever added at the end, with 0 meaning "as before". */
struct kestrel_config {
	size_t size;	   /* sizeof(struct kestrel_config), set by kestrel_config_init() */
	uint64_t mem_size; /* guest RAM in bytes, a multiple of 4 KiB (KESTREL_DEFAULT_MEM) */
	unsigned ncpus;	   /* vCPUs (1) */
	bool strict;	   /* unhandled port/MMIO access ends the VM (false: reads return 0) */
	bool no_sync_regs; /* keep registers out of the shared kvm_run page (A/B runs) */
	bool no_seccomp;   /* don't confine the vCPU threads with seccomp (debugging only) */
	/* confine_caller - kestrel_vm_run also confines the thread that calls it,
	 * for good, once the VM's threads are started (ignored with no_seccomp):
	 * from then on that thread may wait, write to open fds, read KVM's stats,
	 * close, free and allocate memory (nothing executable), wait4 and exit, and
	 * nothing else (src/host/seccomp.h). For a program that runs one VM and
	 * ends, like the kestrel command: a compromised vCPU thread that takes over
	 * the caller's thread through memory gains no more than that. A 1-vCPU
	 * run with no timeout, no live console input, no pin and no full
	 * irqchip then runs vCPU 0 on the caller's thread itself (one thread
	 * fewer to start and join; its filter is this one plus that vCPU's
	 * ioctls). */
	bool confine_caller;
	bool no_profile; /* skip the per-exit profile accounting (overhead benchmarks) */
	uint64_t
	    t0_ns; /* CLOCK_MONOTONIC ns the boot timeline counts from (0: kestrel_vm_create) */
	bool no_cpuid_tsc; /* leave CPUID's timing leaves (0x15, 0x16, 0x40000010, invariant
			    * TSC) as KVM gives them, instead of advertising the TSC rate */
	bool no_pv;	   /* advertise no KVM paravirtual feature (CPUID 0x40000001 all zero;
			    * enforced, KVM_CAP_ENFORCE_PV_FEATURE_CPUID) for A/B runs */
	bool pit; /* give the guest KVM's PIT (and so the full in-kernel irqchip: PIC, IOAPIC)
		   * even when its boot protocol does not ask for one */
	/* Dedicated-CPU mode (each refused with a clear message where KVM does not allow it). */
	bool pin; /* vCPU i's thread on one host CPU: the (i mod n)-th of the n kestrel may use */
	bool no_halt_exits;    /* KVM_CAP_X86_DISABLE_EXITS: a guest HLT does not exit to KVM */
	bool no_pause_exits;   /* ... nor PAUSE (no pause-loop exits) */
	bool set_halt_poll;    /* KVM_CAP_HALT_POLL: halt_poll_ns replaces KVM's default */
	uint32_t halt_poll_ns; /* longest a halted vCPU is polled before it sleeps (0: never) */
	bool no_fast_io;       /* UART THR writes and doorbell rings exit to kestrel one by one, as
				* without coalesced PIO and ioeventfd (A/B runs) */
	bool no_host_quirks;   /* don't carry out instructions this host's KVM failed to
				* emulate (kestrel's fallback, src/arch/x86/quirk.h) */
	const char *cmdline;   /* guest arguments / kernel command line (NULL: "") */
	const char *initrd; /* Linux initramfs, or a multiboot kernel's first module (NULL: none) */
	const struct kestrel_module *modules; /* further multiboot modules, in order */
	unsigned nmodules;
	bool no_host_decompress; /* Linux bzImage: run its own decompressor in the guest
				  * instead of unpacking the kernel on the host */
	int console_fd;		 /* where guest console output goes (1 = stdout) */
	int log_fd;		 /* where kestrel's own warnings go (2 = stderr; -1 = nowhere) */
	/*
	 * console_cb - when set, guest console output goes here instead of
	 * console_fd, in order, in chunks (usually whole lines). It is called
	 * from vCPU threads and the thread in kestrel_vm_run, one call at a
	 * time, with kestrel's console lock held: it must not call libkestrel,
	 * and, unless no_seccomp is set, it runs under the vCPU threads' seccomp
	 * filter, so it may copy memory and write(2) to console_fd or log_fd
	 * but not allocate new memory with mmap or open files.
	 */
	void (*console_cb)(void *opaque, const void *buf, size_t len);
	void *console_opaque; /* passed to console_cb */
	int verbosity;	      /* messages on log_fd: -1 none (errors still come back in struct
			       * kestrel_error), 0 warnings (default), 1 also the set-up steps */
	int kick_signal;      /* the signal that stops vCPU threads (0: SIGRTMIN+1); a real-time
			       * signal the program does not otherwise use */
	/*
	 * field_name - how kestrel's messages (struct kestrel_error, exit
	 * reasons, warnings on log_fd) name a setting. They speak of this
	 * struct's fields ("mem_size 1 MiB is too small") and of libkestrel's
	 * calls ("counted in kestrel_vm_print_stats"); when field_name is set,
	 * each such name is passed to it first, and what it returns (not NULL)
	 * is printed instead. The kestrel command maps them to its options
	 * ("--mem", "--stats"). Called from any of kestrel's threads; the string
	 * it returns must outlive the VM.
	 */
	const char *(*field_name)(const char *field);
	/*
	 * Guest console input: what the guest's UART (0x3f8, IRQ 4) receives.
	 * With console_in, the thread in kestrel_vm_run reads console_in_fd
	 * whenever poll(2) says it is readable (vCPUs never touch it). Up to
	 * KESTREL_CONSOLE_IN_MAX bytes wait for the guest to read them; when
	 * that many wait, kestrel stops reading the fd until the guest makes
	 * room (back-pressure: nothing is lost, a pipe's writer blocks), or,
	 * with console_escape, reads on and drops what does not fit (so that the
	 * escape works whatever the guest does; the count is logged at the end).
	 * End of file or a read error ends the input (the guest is not told).
	 * Give an O_NONBLOCK fd if anything else may read the same file: a
	 * blocking read after another reader took the bytes would hold up the
	 * run's stop. kestrel_vm_console_input() feeds the same buffer.
	 */
	bool console_in;
	int console_in_fd;
	/*
	 * console_escape - with console_in, this byte (the kestrel CLI uses 0x01,
	 * Ctrl-A, when stdin is a terminal) starts a two-byte command, as QEMU's
	 * -nographic: ESC 'x' stops the VM (exit kind STOPPED, status SIGINT),
	 * ESC ESC sends one ESC to the guest, ESC 'h' writes the list to log_fd;
	 * ESC and any other byte are dropped. 0: no escape, every byte is the guest's.
	 */
	unsigned char console_escape;
	/*
	 * Guest RAM and the host's memory. RAM is reserved, not allocated: the
	 * host gives each page when the guest first touches it. So by default
	 * kestrel_vm_create refuses a mem_size above what the host has
	 * available now (MemAvailable, or the memory cgroup's room if smaller),
	 * since a host that runs out later answers with the OOM killer.
	 */
	bool mem_overcommit; /* allow more than is available (sparse guests; the risk is yours) */
	bool mem_prefault;   /* allocate all of RAM in kestrel_vm_create: running out is an
			      * error then (or the OOM killer, before the guest runs), never
			      * mid-run; costs the time and the memory up front */
};

/* A multiboot module: a file, and the string the kernel sees for it (NULL: the path). */
struct kestrel_module {
	const char *path;
	const char *string;
};

/* What a failure was about, for callers that map it to a status. */
enum kestrel_error_class {
	KESTREL_ERR_HOST = 0, /* /dev/kvm, memory, a KVM call, a host resource */
	KESTREL_ERR_CONFIG,   /* the configuration asked for something impossible */
	KESTREL_ERR_IMAGE,    /* the guest image (or initrd, module) is missing or invalid */
};

/* A failure inside libkestrel: a negative errno (also the function's return
 * value), its class, and one line saying what was wrong and what to do. */
struct kestrel_error {
	int err;
	enum kestrel_error_class cls;
	char msg[512];
};

/* Why a VM stopped running. */
enum kestrel_exit_kind {
	KESTREL_EXIT_NONE = 0,
	KESTREL_EXIT_GUEST,	   /* exit hypercall: status is the guest's */
	KESTREL_EXIT_DEBUG_EXIT,   /* isa-debug-exit write: status = (v << 1) | 1 */
	KESTREL_EXIT_POWEROFF,	   /* KVM_SYSTEM_EVENT_SHUTDOWN: status 0 */
	KESTREL_EXIT_RESET,	   /* i8042 reset or KVM reset event */
	KESTREL_EXIT_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
	KESTREL_EXIT_GUEST_ERROR,  /* internal error, failed entry, unknown exit */
	KESTREL_EXIT_STRICT,	   /* --strict and an unhandled access */
	KESTREL_EXIT_TIMEOUT,	   /* the run's timeout expired */
	KESTREL_EXIT_STOPPED,	   /* kestrel_vm_stop(): signo says why */
	KESTREL_EXIT_HOST_ERROR,   /* a KVM call failed while running */
};

struct kestrel_exit {
	enum kestrel_exit_kind kind;
	int status;	   /* GUEST/DEBUG_EXIT: the guest's status; STOPPED: the signal */
	int cpu;	   /* vCPU that ended the VM, -1 if none */
	uint64_t rip;	   /* its RIP when it did, where meaningful */
	char reason[256];  /* one line: what happened */
	char report[2048]; /* registers and code bytes for crashes, else "" */
};

struct kestrel_vm;

/* kestrel_config_init - fill *cfg with the defaults above (and its size). */
void kestrel_config_init(struct kestrel_config *cfg);

/* kestrel_version - the library's version, "MAJOR.MINOR.PATCH" (compare with KESTREL_VERSION). */
const char *kestrel_version(void);

/*
 * kestrel_vm_create - open /dev/kvm, check every capability kestrel needs,
 * create the VM with its RAM and devices, and the CPUID table its vCPUs
 * will get. The interrupt controller, the PIT and the vCPUs come with the
 * guest (kestrel_vm_load), which decides what it needs: the LAPIC alone
 * (split irqchip) for kestrel's ELF guests, the full in-kernel irqchip and
 * the PIT for Linux and multiboot kernels, cfg.pit and cfg.no_cpuid_tsc.
 * Returns 0 and *out, or a negative errno with err->msg saying what is
 * missing or wrong (and what to do). Nothing is left allocated on failure.
 * cfg->size must be what kestrel_config_init() set (-EINVAL, class CONFIG,
 * otherwise). While it runs it may start one short-lived helper thread (on
 * another of the caller's CPUs, every signal blocked) that asks KVM for the
 * CPUID table; the helper is gone before it returns, on failure too.
 */
int kestrel_vm_create(const struct kestrel_config *cfg, struct kestrel_vm **out,
		      struct kestrel_error *err);

/*
 * kestrel_vm_load - load a guest image (untrusted bytes) of any format kestrel
 * boots, recognised by its contents: kestrel's bare-metal ELF64, a multiboot
 * v1 kernel, a Linux bzImage or vmlinux (with cfg.initrd / cfg.modules, which
 * only kestrel_vm_load_file reads). Returns 0 or a negative errno with err->msg.
 */
int kestrel_vm_load(struct kestrel_vm *vm, const void *image, size_t len,
		    struct kestrel_error *err);

/* kestrel_vm_load_file - the same from a file, with cfg.initrd and cfg.modules. */
int kestrel_vm_load_file(struct kestrel_vm *vm, const char *path, struct kestrel_error *err);

/* kestrel_vm_load_elf - load an ELF64 executable image (untrusted bytes) and
 * set every vCPU's entry point. Returns 0 or -ENOEXEC with err->msg. */
int kestrel_vm_load_elf(struct kestrel_vm *vm, const void *image, size_t len,
			struct kestrel_error *err);

/* kestrel_vm_load_elf_file - the same from a file; -ENOENT/-EACCES/-EISDIR/... */
int kestrel_vm_load_elf_file(struct kestrel_vm *vm, const char *path, struct kestrel_error *err);

/*
 * kestrel_vm_run - run the vCPUs (one thread each) until the VM stops, then
 * describe why in *exit. timeout_ms == 0 means no timeout. Returns 0 when the
 * VM ran (whatever the guest did), or a negative errno if it could not start.
 * A VM runs once.
 */
int kestrel_vm_run(struct kestrel_vm *vm, uint64_t timeout_ms, struct kestrel_exit *exit,
		   struct kestrel_error *err);

/* The most console input kestrel holds for the guest (console_in_fd and
 * kestrel_vm_console_input together), besides the UART's own 16-byte FIFO. */
#define KESTREL_CONSOLE_IN_MAX 4096u

/*
 * kestrel_vm_console_input - give the guest's console (the UART's receiver)
 * up to len bytes, as console_in_fd would but with no escape. Any thread but
 * a signal handler, from kestrel_vm_create() until the run ends (bytes given
 * before kestrel_vm_run wait for it). Returns how many bytes were taken: all
 * that fit in the KESTREL_CONSOLE_IN_MAX bytes that may wait, 0 when that
 * many already wait (the guest is not reading: try again later); or -EINVAL
 * (vm NULL, or buf NULL with len > 0), -EPIPE once kestrel_vm_run has returned.
 */
int kestrel_vm_console_input(struct kestrel_vm *vm, const void *buf, size_t len);

/* kestrel_vm_stop - ask a running VM to stop (exit kind STOPPED, status signo).
 * Async-signal-safe: meant for SIGINT/SIGTERM handlers. */
void kestrel_vm_stop(struct kestrel_vm *vm, int signo);

/* kestrel_vm_destroy - release everything. NULL is fine. */
void kestrel_vm_destroy(struct kestrel_vm *vm);

/* Per-vCPU counters kept by the run loop and the register cache. */
struct kestrel_vcpu_stats {
	uint64_t exits; /* KVM_RUN returns to userspace */
	uint64_t io_exits, mmio_exits, other_exits;
	uint64_t unhandled;		/* accesses nobody claimed */
	uint64_t reg_ioctls;		/* KVM_GET/SET_{REGS,SREGS,...} issued */
	uint64_t reg_reads, reg_writes; /* accesses through the register cache */
	uint64_t reg_flushes;		/* KVM_RUNs that carried dirty registers */
	bool sync_regs;			/* registers travel on the shared kvm_run page */
	bool pinned;  /* --pin: its thread's affinity, read back from the kernel, is one CPU ... */
	int host_cpu; /* ... this one (-1 when not pinned) */
};

/* kestrel_vm_vcpu_stats - copy vCPU `cpu`'s counters (after a run). -EINVAL for a bad index. */
int kestrel_vm_vcpu_stats(const struct kestrel_vm *vm, unsigned cpu,
			  struct kestrel_vcpu_stats *out);

/* kestrel's exit fast paths over a run (kestrel_vm_fastpath_stats). */
struct kestrel_fastpath_stats {
	bool console_coalesced;	       /* UART THR writes go through KVM's coalesced-PIO ring
					* (armed after the first 256 THR writes) */
	uint64_t console_ring_entries; /* ring entries drained: THR writes that did not exit */
	uint64_t console_drains;       /* drains that found the ring non-empty */
	uint64_t console_writes;       /* write(2) calls for guest console output, every path */
	bool doorbell_ioeventfd; /* KESTREL_PORT_DOORBELL is an ioeventfd: rings after the first
				  * (which sets it up) do not exit */
	uint64_t doorbell_rings; /* rings counted, through the eventfd and as exits */
	uint64_t doorbell_exits; /* of those, rings that reached kestrel as exits */
};

/* kestrel_vm_fastpath_stats - those counters (complete once kestrel_vm_run returned). Returns 0. */
int kestrel_vm_fastpath_stats(const struct kestrel_vm *vm, struct kestrel_fastpath_stats *out);

/* One CPUID leaf as a vCPU sees it. */
struct kestrel_cpuid_leaf {
	uint32_t function, index;
	bool indexed; /* the index (ECX) selects this entry; else it answers every index */
	uint32_t eax, ebx, ecx, edx;
};

/*
 * kestrel_vm_cpuid - the CPUID table vCPU `cpu` was given (KVM_SET_CPUID2),
 * or will be given when a guest is loaded,
 * in (function, index) order, into out[0..max). Returns the number of
 * leaves, which may exceed max (call again with more room), or -EINVAL for
 * a bad index. Valid from kestrel_vm_create() on; no guest needed.
 */
int kestrel_vm_cpuid(const struct kestrel_vm *vm, unsigned cpu, struct kestrel_cpuid_leaf *out,
		     unsigned max);

/*
 * kestrel_vm_print_stats - after a run, the report behind `kestrel run --stats`
 * as text to f: the exit profile (per exit reason: samples, host time %, min,
 * max, avg, KVM_RUN avg; then ports, MMIO devices and hypercalls; log2
 * histograms), per vCPU when there are several and for the whole VM, and the
 * register-cache counters.
 */
void kestrel_vm_print_stats(struct kestrel_vm *vm, FILE *f);

/* The "schema" number of kestrel_vm_write_stats_json's document (docs/stats-json.md):
 * it grows when a field changes meaning or goes away, not when one is added. */
#define KESTREL_STATS_SCHEMA 1

/* kestrel_vm_write_stats_json - the same report as one JSON document (and a
 * newline) to f. Returns 0, -ENOMEM, or -EIO if f reported a write error. */
int kestrel_vm_write_stats_json(struct kestrel_vm *vm, FILE *f);

/* kestrel_exit_status - the process exit status documented in abi.h for *exit. */
int kestrel_exit_status(const struct kestrel_exit *exit);

/* kestrel_exit_kind_name - "guest", "debug_exit", "reset", "timeout", ... (the
 * names --stats-json and --json-status use); "unknown" for other values. */
const char *kestrel_exit_kind_name(enum kestrel_exit_kind kind);

#ifdef __cplusplus
}
#endif

#endif
