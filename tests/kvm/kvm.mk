# kvm.mk - library-level tests that boot real VMs (tests/kvm/test_*.c), included by the top-level Makefile.
#
# Each file is one TAP binary, $(BUILD)/kvm-tests/<name>, linked with
# libkestrel.a like the unit tests; tests/check.sh runs them. They need
# /dev/kvm and skip loudly without it (a failure under CI=true).

KVM_TEST_SRCS := $(wildcard tests/kvm/test_*.c)
KVM_TEST_BINS := $(KVM_TEST_SRCS:tests/kvm/%.c=$(BUILD)/kvm-tests/%)

all: $(KVM_TEST_BINS)

$(BUILD)/kvm-tests/%: $(BUILD)/obj/tests/kvm/%.o $(BUILD)/libkestrel.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(KVM_TEST_SRCS:tests/kvm/%.c=$(BUILD)/obj/tests/kvm/%.d)
