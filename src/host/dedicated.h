/* dedicated.h - dedicated-CPU mode: vCPU threads pinned to host CPUs, HLT/PAUSE kept in the guest,
 * halt polling. */
#ifndef KESTREL_DEDICATED_H
#define KESTREL_DEDICATED_H

#include <linux/kvm.h> /* KVM_X86_DISABLE_EXITS_* */
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

struct kestrel_vm;
struct kestrel_error;
struct vcpu;

/*
 * dedicated_exits_mask - which KVM_X86_DISABLE_EXITS_* bits to ask for, given
 * what KVM_CHECK_EXTENSION(KVM_CAP_X86_DISABLE_EXITS) returned (`allowed`,
 * <= 0: no such capability) and the options. Pure. Returns the mask (0 when
 * nothing was asked), or -ENOTSUP with one line in `why` naming the setting
 * (no_halt_exits, or what field_name calls it: kestrel.h), what the host
 * allows and the likely reason (kvm.mitigate_smt_rsb).
 */
int dedicated_exits_mask(int allowed, bool no_hlt, bool no_pause,
			 const char *(*field_name)(const char *), char *why, size_t len);

/*
 * dedicated_host_cpu - the host CPU vCPU `index` is pinned to: the
 * (index mod n)-th CPU of `allowed` (the CPUs kestrel may run on, from
 * sched_getaffinity), n being their count; with nothing restricting kestrel
 * that is host CPU index mod nproc. Pure. -EINVAL for an empty set.
 */
int dedicated_host_cpu(const cpu_set_t *allowed, unsigned index);

/*
 * dedicated_vm_setup - on a VM with no vCPUs yet: KVM_CAP_X86_DISABLE_EXITS
 * (cfg.no_halt_exits / no_pause_exits), KVM_CAP_HALT_POLL (cfg.set_halt_poll),
 * and for cfg.pin, each vCPU's host CPU (vm->vcpus must not exist yet, so
 * the choice is stored per index later by dedicated_pin_self). Returns 0 or
 * a negative errno with err->msg naming the option and why the host refuses
 * it (-ENOTSUP: KVM does not allow it; -EINVAL: --halt-poll out of range).
 */
int dedicated_vm_setup(struct kestrel_vm *vm, struct kestrel_error *err);

/*
 * dedicated_pin_self - from vCPU v's own thread, before its seccomp filter:
 * pin it to dedicated_host_cpu() (cfg.pin only) and read the affinity back
 * from the kernel into v->stats (pinned, host_cpu). Returns 0 or the negative
 * errno of pthread_setaffinity_np / sched_getaffinity.
 */
int dedicated_pin_self(struct vcpu *v);

#endif
