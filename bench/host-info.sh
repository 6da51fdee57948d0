#!/bin/sh
# host-info.sh - one paragraph naming the machine a benchmark ran on (kernel, CPU, KVM nesting).
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
nested="no"
if grep -qw hypervisor /proc/cpuinfo; then nested="yes (this host is itself a guest: KVM is nested)"; fi
echo "host: $(uname -sr), $(nproc) CPUs: ${cpu:-unknown}"
echo "kvm nested: $nested"
