/* dedicated.c - dedicated-CPU mode: pinning vCPU threads, KVM_CAP_X86_DISABLE_EXITS,
 * KVM_CAP_HALT_POLL. */
#include "host/dedicated.h"

#include "util/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vm.h"

int dedicated_exits_mask(int allowed, bool no_hlt, bool no_pause,
			 const char *(*field_name)(const char *), char *why, size_t len)
{
	int want =
	    (no_hlt ? KVM_X86_DISABLE_EXITS_HLT : 0) | (no_pause ? KVM_X86_DISABLE_EXITS_PAUSE : 0);
	int missing;

	if (!want)
		return 0;
	if (allowed <= 0) {
		snprintf(why, len,
			 "%s: this KVM lacks KVM_CAP_X86_DISABLE_EXITS (Linux 4.16+): it cannot "
			 "leave %s to the guest",
			 error_name(field_name, no_hlt ? "no_halt_exits" : "no_pause_exits"),
			 no_hlt ? "HLT" : "PAUSE");
		return -ENOTSUP;
	}
	missing = want & ~allowed;
	if (missing) {
		bool hlt = missing & KVM_X86_DISABLE_EXITS_HLT;
		/* KVM offers HLT (and CSTATE, MWAIT) only with kvm.mitigate_smt_rsb
		 * off: a guest that halts without exiting could otherwise leak
		 * return-stack predictions to its SMT sibling. */
		snprintf(
		    why, len,
		    "%s: this KVM does not allow disabling %s exits (KVM_CAP_X86_DISABLE_EXITS "
		    "offers 0x%x:%s%s%s%s)%s",
		    error_name(field_name, hlt ? "no_halt_exits" : "no_pause_exits"),
		    hlt ? "HLT" : "PAUSE", allowed,
		    allowed & KVM_X86_DISABLE_EXITS_MWAIT ? " MWAIT" : "",
		    allowed & KVM_X86_DISABLE_EXITS_HLT ? " HLT" : "",
		    allowed & KVM_X86_DISABLE_EXITS_PAUSE ? " PAUSE" : "",
		    allowed & KVM_X86_DISABLE_EXITS_CSTATE ? " CSTATE" : "",
		    hlt ? "; the host may have kvm.mitigate_smt_rsb=1" : "");
		return -ENOTSUP;
	}
	return want;
}

int dedicated_host_cpu(const cpu_set_t *allowed, unsigned index)
{
	int n = CPU_COUNT(allowed), k;

	if (n <= 0)
		return -EINVAL;
	k = (int)(index % (unsigned)n);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, allowed) && k-- == 0)
			return cpu;
	return -EINVAL; /* not reached: n CPUs are set */
}

/* The host refuses a dedicated-CPU option the user asked for: a configuration error. */
#define dedicated_fail(err, e, ...) error_set(err, KESTREL_ERR_CONFIG, e, __VA_ARGS__)

int dedicated_vm_setup(struct kestrel_vm *vm, struct kestrel_error *err)
{
	const struct kestrel_config *cfg = &vm->cfg;
	char why[sizeof(err->msg)];
	int mask;

	mask = dedicated_exits_mask(
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_DISABLE_EXITS), cfg->no_halt_exits,
	    cfg->no_pause_exits, cfg->field_name, why, sizeof(why));
	if (mask < 0)
		return dedicated_fail(err, mask, "%s", why);
	if (mask) {
		/* A VM-wide setting, and KVM takes it only before the first vCPU. */
		struct kvm_enable_cap c = {.cap = KVM_CAP_X86_DISABLE_EXITS,
					   .args = {(uint64_t)mask}};
		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &c) < 0)
			return error_set(
			    err, KESTREL_ERR_HOST, -errno,
			    "%s%s%s: KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS, 0x%x): %s",
			    cfg->no_halt_exits ? vm_name(vm, "no_halt_exits") : "",
			    cfg->no_halt_exits && cfg->no_pause_exits ? " " : "",
			    cfg->no_pause_exits ? vm_name(vm, "no_pause_exits") : "", mask,
			    strerror(errno));
	}
	if (cfg->set_halt_poll) {
		struct kvm_enable_cap c = {.cap = KVM_CAP_HALT_POLL, .args = {cfg->halt_poll_ns}};
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_HALT_POLL) <= 0)
			return dedicated_fail(
			    err, -ENOTSUP,
			    "%s: this KVM lacks KVM_CAP_HALT_POLL (Linux 5.17+); "
			    "only the host-wide kvm.halt_poll_ns sets halt polling here",
			    vm_name(vm, "halt_poll_ns"));
		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &c) < 0)
			return error_set(err, KESTREL_ERR_HOST, -errno,
					 "%s %u: KVM_ENABLE_CAP(KVM_CAP_HALT_POLL): %s",
					 vm_name(vm, "halt_poll_ns"), cfg->halt_poll_ns,
					 strerror(errno));
	}
	if (cfg->pin) {
		cpu_set_t allowed;
		if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
			return error_set(err, KESTREL_ERR_HOST, -errno,
					 "%s: cannot read the CPUs kestrel may run on: %s",
					 vm_name(vm, "pin"), strerror(errno));
		if (CPU_COUNT(&allowed) < (int)vm->ncpus)
			vm_log(vm,
			       "%s: %u vCPUs on %d host CPU%s: some share one (vCPU i on the "
			       "(i mod %d)-th), so this is not dedicated-CPU mode",
			       vm_name(vm, "pin"), vm->ncpus, CPU_COUNT(&allowed),
			       CPU_COUNT(&allowed) == 1 ? "" : "s", CPU_COUNT(&allowed));
	}
	return 0;
}

int dedicated_pin_self(struct vcpu *v)
{
	cpu_set_t allowed, one;
	int cpu, r;

	v->stats.pinned = false;
	v->stats.host_cpu = -1;
	if (!v->vm->cfg.pin)
		return 0;
	/* The thread inherited the creating thread's affinity: the same set
	 * dedicated_vm_setup looked at, so every vCPU picks from one list. */
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -errno;
	if ((cpu = dedicated_host_cpu(&allowed, v->index)) < 0)
		return cpu;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if ((r = pthread_setaffinity_np(pthread_self(), sizeof(one), &one)) != 0)
		return -r;
	/* Report what the kernel holds, not what was asked. */
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -errno;
	if (CPU_COUNT(&allowed) == 1 && CPU_ISSET(cpu, &allowed)) {
		v->stats.pinned = true;
		v->stats.host_cpu = cpu;
	}
	return 0;
}
