/* vcpu.c - vCPU creation and the run loop: KVM_RUN, dispatch on the exit reason, stop on EINTR. */
#include "core/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/arch.h"
#include "host/dedicated.h"
#include "core/hypercall.h"
#include "host/seccomp.h"

int vcpu_init(struct kestrel_vm *vm, struct vcpu *v, unsigned index, struct kestrel_error *err)
{
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0)
		goto fail_errno;
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		goto fail_errno;
	}
	if ((errno = -arch_vcpu_init(v)) != 0)
		goto fail_errno;
	/* The vCPU array is vm_zalloc'ed and this runs once per vCPU (the
	 * platform is set up once: platform_tried): its profile is still zero. */
	profile_cpu_init_zeroed(&v->prof, &vm->clock, !vm->cfg.no_profile);
	v->stats.host_cpu = -1; /* until dedicated_pin_self says otherwise */
	/* KVM copies the general registers to the shared page after every exit:
	 * the hypercall path reads its arguments for free. Special registers are
	 * fetched on demand (rare: setup and crash reports). */
	regs_init(&v->regs, v->run, vm->sync_caps, KVM_SYNC_X86_REGS, regs_kvm_backend(v->fd));
	v->stats.sync_regs = v->regs.on_page != 0;
	return 0;
fail_errno:
	return vm_err(err, -errno, "cannot create vCPU %u: %s", index, strerror(errno));
}

void vcpu_release(struct kestrel_vm *vm, struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v->cpuid);
	v->run = NULL;
	v->fd = -1;
	v->cpuid = NULL;
}

int vcpu_unhandled(struct vcpu *v, enum bus_space space, uint64_t addr, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct kestrel_vm *vm = v->vm;
	const char *what = space == BUS_PIO ? "port" : "MMIO address", *more = "";
	bool first;

	if (!is_write)
		memset(data, 0, len);
	v->stats.unhandled++;
	atomic_fetch_add(&vm->unhandled, 1);
	if (vm->cfg.strict)
		return vm_stop_fmt(vm, v, KESTREL_EXIT_STRICT, KESTREL_STATUS_STRICT,
				   "%s: unhandled %s %s 0x%llx (%u bytes) at RIP 0x%llx",
				   vm_name(vm, "strict"), is_write ? "write to" : "read from", what,
				   (unsigned long long)addr, len,
				   (unsigned long long)regs_get_rip(&v->regs));
	if (space == BUS_PIO) {
		unsigned char bit = (unsigned char)(1u << (addr & 7));
		first = !(atomic_fetch_or(&vm->pio_logged[addr >> 3], bit) & bit);
		/* Once per port, and only for the first few ports. */
		if (first) {
			unsigned n = atomic_fetch_add(&vm->pio_missed, 1);
			first = n < VM_PIO_LOG_MAX;
			if (n + 1 == VM_PIO_LOG_MAX)
				more =
				    " (further unhandled ports not logged: a count after the run)";
		}
	} else {
		first = !atomic_exchange(&vm->mmio_logged, true);
		more = " (further MMIO misses not logged)";
	}
	if (first)
		vm_log(vm, "cpu %u: unhandled %s %s 0x%llx (%u bytes) at RIP 0x%llx%s; %s",
		       v->index, is_write ? "write to" : "read from", what,
		       (unsigned long long)addr, len, (unsigned long long)regs_get_rip(&v->regs),
		       more, is_write ? "ignored" : "reads as 0");
	return 0;
}

static int vcpu_pio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t size = run->io.size, nr = run->io.port - KESTREL_HC_PORT_BASE;
	const struct bus_dev *d;

	v->stats.io_exits++;
	/* Hypercalls are the exits that most often need an answer: one `out`,
	 * straight to their handler without the bus lookup, the element loop
	 * and the indirect call (~25 of ~180 host instructions, callgrind).
	 * Only `out` is the ABI: an `in` takes the bus path, which zeroes the
	 * data KVM will load into AL/AX/EAX. */
	if (nr < KESTREL_HC_COUNT && run->io.count == 1 && is_write)
		return hypercall_dispatch(v, nr);
	d = bus_find_pio(&v->vm->bus, run->io.port);
	/* A device's fast paths are set up once the guest uses it (devhost.c). */
	if (d && __builtin_expect(vm_fast_pending(d), 0))
		vm_fast_arm(v->vm, d, BUS_PIO, run->io.port, size, run->io.count, is_write);
	/* `rep ins/outs` arrive as one exit with count > 1 elements. */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		int r;
		if (!d) {
			r = vcpu_unhandled(v, BUS_PIO, run->io.port, data, size, is_write);
		} else {
			if (!is_write)
				memset(data, 0, size);
			r = d->fn(v, d->opaque, run->io.port - d->base, data, size, is_write);
		}
		if (r)
			return r;
	}
	return 0;
}

static int vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t addr = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	const struct bus_dev *d;

	v->stats.mmio_exits++;
	if (len == 0 || len > sizeof(run->mmio.data))
		return vm_stop_fmt(v->vm, v, KESTREL_EXIT_GUEST_ERROR, KESTREL_STATUS_GUEST_ERROR,
				   "MMIO exit with bad length %u", len);
	d = bus_find_mmio(&v->vm->bus, addr, len);
	profile_mmio_dev(&v->prof, d ? (unsigned)(d - v->vm->bus.mmio) : PROFILE_MMIO_UNCLAIMED);
	if (!d)
		return vcpu_unhandled(v, BUS_MMIO, addr, run->mmio.data, len, run->mmio.is_write);
	if (__builtin_expect(vm_fast_pending(d), 0))
		vm_fast_arm(v->vm, d, BUS_MMIO, addr, len, 1, run->mmio.is_write);
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0, len);
	return d->fn(v, d->opaque, addr - d->base, run->mmio.data, len, run->mmio.is_write);
}

static int vcpu_host_error(struct vcpu *v, const char *what, int err)
{
	return vm_stop_fmt(v->vm, NULL, KESTREL_EXIT_HOST_ERROR, KESTREL_STATUS_HOST,
			   "cpu %u: %s failed: %s", v->index, what, strerror(-err));
}

/* The run loop. Stop requests arrive as immediate_exit + a signal, so the
 * only place that looks at the stop flag is the EINTR path. */
static void vcpu_run(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	int r;

	for (;;) {
		if ((r = regs_flush(&v->regs)) < 0) {
			vcpu_host_error(v, "register write-back", r);
			return;
		}
		profile_before_run(&v->prof);
		r = ioctl(v->fd, KVM_RUN, 0);
		profile_after_run(&v->prof, run, r);
		regs_after_run(&v->regs, r == 0);
		if (r < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				vcpu_host_error(v, "KVM_RUN", -errno);
				return;
			}
			/* On the caller's thread a signal's stop is only stop_signo
			 * (kestrel_vm_stop): nobody else will turn it into a stop. */
			if (atomic_load(&v->vm->stopping) ||
			    (v->vm->inline_vcpu && atomic_load(&v->vm->stop_signo)))
				return;
			/* There, the console's tick timer (console_zone_armed). */
			if (v->vm->inline_vcpu)
				console_tick(v->vm);
			continue;
		}
		v->stats.exits++;
		/* UART bytes KVM queued before this exit go first (an LCR change,
		 * a PUTS, a crash report must come after them); usually empty. */
		console_drain_if_any(v->vm, v, &v->vm->cons);
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			r = vcpu_pio(v);
			break;
		case KVM_EXIT_MMIO:
			r = vcpu_mmio(v);
			break;
		default:
			v->stats.other_exits++;
			r = arch_vcpu_exit(v);
			break;
		}
		profile_handled(&v->prof);
		if (r < 0) {
			vcpu_host_error(v, "device emulation", r);
			return;
		}
		if (r)
			return;
	}
}

/* Is a fast path still waiting to be armed on first use (vm_fast_arm)? Then
 * this vCPU's filter must let it register the zone or ioeventfd. */
static bool vcpu_fast_waiting(struct kestrel_vm *vm)
{
	bool waiting = false;

	pthread_mutex_lock(&vm->fast_lock); /* another vCPU may be arming them */
	for (unsigned i = 0; i < vm->nfast && !waiting; i++)
		waiting = vm->fast[i].state == VM_FAST_READY;
	pthread_mutex_unlock(&vm->fast_lock);
	return waiting;
}

/* From here on this thread may only make the calls seccomp.h lists: it is
 * the thread that handles what the guest does. Installed per thread, after
 * the start-state ioctls and before the first KVM_RUN. */
static int vcpu_confine(struct vcpu *v)
{
	const struct kestrel_config *cfg = &v->vm->cfg;
	struct kestrel_vm *vm = v->vm;
	struct seccomp_vcpu_ctx c = {
	    .vcpu_fd = v->fd,
	    .vm_fd = vm->vm_fd,
	    .write_fds = {cfg->console_fd, cfg->log_fd, vm->stop_fd, 2},
	    .pid = getpid(),
	    .kick_signal = vm_kick_signal(vm),
	};
	unsigned n = 0;

	/* On the VM fd: devices' interrupt lines, and arming the fast paths
	 * once the guest uses the device (vm_fast_arm). */
	if (vm->has_irqchip)
		c.vm_ioctls[n++] = KVM_IRQ_LINE;
	if (vcpu_fast_waiting(vm)) {
		c.vm_ioctls[n++] = KVM_REGISTER_COALESCED_MMIO;
		c.vm_ioctls[n++] = KVM_IOEVENTFD;
	}
	if (n == 0)
		c.vm_fd = -1;

	return cfg->no_seccomp ? 0 : seccomp_install_vcpu(&c);
}

void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick;
	char what[96];
	int r;

	/* Publish our handle before unblocking the kick: a kick sent from
	 * here on is delivered, one sent earlier finds immediate_exit set. */
	v->self = pthread_self();
	atomic_store(&v->live, true);
	sigemptyset(&kick);
	sigaddset(&kick, vm_kick_signal(v->vm));
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	r = arch_vcpu_reset(v);
	if (r < 0)
		vcpu_host_error(v, "setting the start state", r);
	else if ((r = dedicated_pin_self(v)) < 0) {
		snprintf(what, sizeof(what), "%s: pinning its thread to a host CPU",
			 vm_name(v->vm, "pin"));
		vcpu_host_error(v, what, r);
	} else if ((r = vcpu_confine(v)) < 0) {
		snprintf(what, sizeof(what), "installing the seccomp filter (%s runs without)",
			 vm_name(v->vm, "no_seccomp"));
		vcpu_host_error(v, what, r);
	} else
		vcpu_run(v);
	profile_finish(&v->prof);
	return NULL;
}

/* vCPU 0 on the caller's thread (run.c, vm_run_inline): as vcpu_thread, but
 * the signals stay the caller's and the filter is the caller's, widened by
 * this vCPU's ioctls (and the fast paths' arming), since after the run this
 * thread writes the reports. */
int vcpu_run_on_caller(struct vcpu *v)
{
	struct kestrel_vm *vm = v->vm;
	int r;

	v->self = pthread_self();
	atomic_store(&v->live, true);
	if ((r = arch_vcpu_reset(v)) < 0) {
		vcpu_host_error(v, "setting the start state", r);
		r = 0;
	} else if ((r = seccomp_install_main(&(struct seccomp_main_ctx){
			.pid = getpid(),
			.kick_signal = vm_kick_signal(vm),
			.vm_fd = vm->has_irqchip ? vm->vm_fd : -1,
			.vcpu_fd = v->fd,
			.fast_arm = vcpu_fast_waiting(vm),
		    })) < 0) {
		vm_stop_fmt(vm, NULL, KESTREL_EXIT_HOST_ERROR, KESTREL_STATUS_HOST,
			    "confining the calling thread with seccomp failed: %s", strerror(-r));
	} else {
		vcpu_run(v);
	}
	profile_finish(&v->prof);
	atomic_store(&v->live, false);
	return r;
}
