# kvm.mk - library-level tests that boot real VMs (tests/kvm/test_*.c), included by the top-level Makefile.
#
# Each file is one TAP binary, $(BUILD)/kvm-tests/<name>, linked with
# libkestrel.a like the unit tests; tests/check.sh runs them. They need
# /dev/kvm and skip loudly without it (a failure under CI=true).

KVM_TEST_SRCS := $(wildcard tests/kvm/test_*.c)
KVM_TEST_BINS := $(KVM_TEST_SRCS:tests/kvm/%.c=$(BUILD)/kvm-tests/%)

all: $(KVM_TEST_BINS)

$(BUILD)/kvm-tests/%: $(BUILD)/obj/tests/kvm/%.o $(BUILD)/libkestrel-internal.a $(LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LINK_STAMP),$^) $(LDLIBS)

-include $(KVM_TEST_SRCS:tests/kvm/%.c=$(BUILD)/obj/tests/kvm/%.d)

# The sealed library, as an embedder links it (only kestrel_* is global).
$(BUILD)/kvm-tests/test_sealed: $(BUILD)/obj/tests/kvm/test_sealed.o $(BUILD)/libkestrel.a \
				$(LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LINK_STAMP),$^) $(LDLIBS)
