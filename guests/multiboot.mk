# multiboot.mk - multiboot v1 test kernels (guests/mb-*/), included by guests/guests.mk.
#
# Each folder guests/mb-<name>/ with an mb.ld is one kernel, kept out of
# GUEST_NAMES: it brings its own entry and does not link the guest library's
# start.S/entry.c (kestrel's boot ABI). Its *.c and *.S files (compiled by
# guests.mk's pattern rules with GUEST_CFLAGS) and the library files named in
# MB_LIB_<name> are linked by its mb.ld as an x86-64 ELF, kept as
# $(GUEST_OBJDIR)/<name>/<name>.elf64 (symbols, debug info), then turned into
# what MB_FORMAT_<name> says:
#   elf  $(GUEST_DIR)/<name>.elf, an ELF32 (objcopy -O elf32-i386): QEMU,
#        like GRUB, refuses an ELF64 multiboot kernel;
#   bin  $(GUEST_DIR)/<name>.bin, a flat image whose multiboot header gives
#        the load addresses (the a.out kludge, header flag bit 16).
# check-insns.sh vets the 64-bit code as linked and the 32-bit code (section
# .text32) as an ELF32 of its own, so objdump decodes each in its own mode;
# 16-bit code (.text16, and mb-test's trampoline, which is data) is not
# vetted: objdump would decode it as 32-bit code.

GUEST_OBJCOPY ?= objcopy
MB_NAMES      := $(sort $(patsubst guests/%/mb.ld,%,$(wildcard guests/mb-*/mb.ld)))
MB_LDFLAGS    := -nostdlib -static -no-pie -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack \
                 -Wl,--build-id=none -Wl,--orphan-handling=error -Wl,--fatal-warnings

MB_LIB_mb-test        := printf serial string
MB_FORMAT_mb-test     := elf
MB_FORMAT_mb-realmode := bin

define MB_template
MB_OBJ_$(1) := $$(patsubst guests/%,$$(GUEST_OBJDIR)/%.o,$$(basename $$(wildcard guests/$(1)/*.c guests/$(1)/*.S))) \
               $$(MB_LIB_$(1):%=$$(GUEST_OBJDIR)/lib/%.o)
MB_LINKED_$(1) := $$(GUEST_OBJDIR)/$(1)/$(1).elf64

guests: $$(GUEST_DIR)/$(1).$$(MB_FORMAT_$(1))

$$(MB_LINKED_$(1)): $$(MB_OBJ_$(1)) guests/$(1)/mb.ld $$(GUEST_CHECK) guests/multiboot.mk
	$$(GUEST_CC) $$(MB_LDFLAGS) -Wl,-T,guests/$(1)/mb.ld -o $$@.tmp $$(MB_OBJ_$(1))
	$$(GUEST_OBJCOPY) -R .text32 -R .text16 $$@.tmp $$@.check64
	$$(GUEST_CHECK) $$@.check64 $(1)
	$$(GUEST_OBJCOPY) -O elf32-i386 -j .text32 $$@.tmp $$@.check32
	$$(GUEST_CHECK) $$@.check32 $(1)/32-bit
	@rm -f $$@.check64 $$@.check32
	@mv -f $$@.tmp $$@

$$(GUEST_DIR)/$(1).elf: $$(MB_LINKED_$(1))
	$$(GUEST_OBJCOPY) -O elf32-i386 --strip-debug $$< $$@.tmp
	@mv -f $$@.tmp $$@

$$(GUEST_DIR)/$(1).bin: $$(MB_LINKED_$(1))
	$$(GUEST_OBJCOPY) -O binary $$< $$@.tmp
	@mv -f $$@.tmp $$@
endef
$(foreach g,$(MB_NAMES),$(eval $(call MB_template,$(g))))
