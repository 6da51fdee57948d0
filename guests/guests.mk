# guests.mk - bare-metal test guests, included by the top-level Makefile.
#
# Every folder guests/<name>/ other than lib/ is one guest: its *.c and *.S
# files are linked with the guest library (guests/lib/) into
# $(BUILD)/guests/<name>.elf, which guests/check-insns.sh then vets.
#
# Guests are always built with gcc ($(GUEST_CC)), never $(CC): the host
# compiler may be clang or carry sanitizer flags that make no sense here.

GUEST_CC      ?= gcc
GUEST_DIR     := $(BUILD)/guests
GUEST_OBJDIR  := $(GUEST_DIR)/obj
GUEST_LDS     := guests/lib/guest.ld
GUEST_CHECK   := guests/check-insns.sh

GUEST_CFLAGS  := -std=gnu11 -O2 -g -ffreestanding -nostdlib \
                 -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) \
                 -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
                 -fno-stack-protector -fcf-protection=none \
                 -fno-asynchronous-unwind-tables -fno-unwind-tables \
                 -fno-tree-loop-distribute-patterns -mcmodel=small \
                 -Wall -Wextra -Werror -Iinclude -Iguests/lib -MMD -MP \
                 $(GUEST_EXTRA_CFLAGS)
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_LDS) \
                 -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--build-id=none \
                 -Wl,--orphan-handling=error -Wl,--fatal-warnings

GUEST_NAMES   := $(sort $(filter-out lib bzimage-test mb-%,$(patsubst guests/%/,%,$(dir $(wildcard guests/*/*.c guests/*/*.S)))))
GUEST_LIB_SRC := $(wildcard guests/lib/*.c guests/lib/*.S)
GUEST_LIB_OBJ := $(patsubst guests/%,$(GUEST_OBJDIR)/%.o,$(basename $(GUEST_LIB_SRC)))
GUEST_ELFS    := $(GUEST_NAMES:%=$(GUEST_DIR)/%.elf)

guests: $(GUEST_ELFS)

$(GUEST_OBJDIR)/%.o: guests/%.c guests/guests.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.o: guests/%.S guests/guests.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

# Link into a temporary file and only rename it once check-insns.sh passed,
# so a rejected guest is rebuilt (and rejected again) by the next make.
define GUEST_template
GUEST_OBJ_$(1) := $$(patsubst guests/%,$$(GUEST_OBJDIR)/%.o,$$(basename $$(wildcard guests/$(1)/*.c guests/$(1)/*.S)))
$$(GUEST_DIR)/$(1).elf: $$(GUEST_OBJ_$(1)) $$(GUEST_LIB_OBJ) $$(GUEST_LDS) $$(GUEST_CHECK)
	$$(GUEST_CC) $$(GUEST_LDFLAGS) -o $$@.tmp $$(GUEST_OBJ_$(1)) $$(GUEST_LIB_OBJ)
	$$(GUEST_CHECK) $$@.tmp $(1)
	@mv -f $$@.tmp $$@
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call GUEST_template,$(g))))

-include $(wildcard $(GUEST_OBJDIR)/*/*.d)
include guests/bzimage-test/bzimage.mk
include guests/multiboot.mk
