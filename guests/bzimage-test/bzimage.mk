# bzimage.mk - the synthetic bzImage guest, included by guests/guests.mk.
#
# $(BUILD)/guests/bzimage-test.bzImage: a position-independent 64-bit payload
# (head.S, main.c and three files of the guest library, built -fpie) linked
# as a flat protected-mode kernel, wrapped by tests/linux/mkbzimage in a
# protocol 2.15 setup header whose real-mode part (setup16.S) lets BIOS
# loaders such as QEMU boot it too. The payload is vetted by check-insns.sh;
# the real-mode part is not (it needs `int $0x15` and kestrel never runs it).
# The payload is linked a second time at another base: both flat images must
# be identical, or some code is not position independent.

BZT_DIR     := guests/bzimage-test
BZT_OBJDIR  := $(GUEST_OBJDIR)/bzimage-test
BZT_CFLAGS  := $(filter-out -fno-pic -fno-pie,$(GUEST_CFLAGS)) -fpie -fvisibility=hidden -I$(BZT_DIR)
BZT_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(BZT_DIR)/bzimage.ld -Wl,-z,max-page-size=4096 \
               -Wl,-z,noexecstack -Wl,--build-id=none -Wl,--orphan-handling=error -Wl,--fatal-warnings
BZT_OBJS    := $(BZT_OBJDIR)/head.o $(BZT_OBJDIR)/main.o \
               $(BZT_OBJDIR)/lib/printf.o $(BZT_OBJDIR)/lib/serial.o $(BZT_OBJDIR)/lib/string.o
BZT_MKBZ    := $(BUILD)/tests/mkbzimage
BZT_IMAGE   := $(GUEST_DIR)/bzimage-test.bzImage

guests: $(BZT_IMAGE)

$(BZT_OBJDIR)/%.o: $(BZT_DIR)/%.c $(BZT_DIR)/bzimage.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(BZT_CFLAGS) -c $< -o $@

$(BZT_OBJDIR)/%.o: $(BZT_DIR)/%.S $(BZT_DIR)/bzimage.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(BZT_CFLAGS) -c $< -o $@

$(BZT_OBJDIR)/lib/%.o: guests/lib/%.c $(BZT_DIR)/bzimage.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(BZT_CFLAGS) -c $< -o $@

# Linked at pref_address (the ELF kestrel's tests may read symbols from) and at 32 MiB.
$(BZT_OBJDIR)/payload.elf: $(BZT_OBJS) $(BZT_DIR)/bzimage.ld $(GUEST_CHECK)
	$(GUEST_CC) $(BZT_LDFLAGS) -Wl,--defsym=BZ_BASE=0x1000000 -o $@.tmp $(BZT_OBJS)
	$(GUEST_CHECK) $@.tmp bzimage-test
	@mv -f $@.tmp $@

$(BZT_OBJDIR)/payload-alt.elf: $(BZT_OBJS) $(BZT_DIR)/bzimage.ld
	$(GUEST_CC) $(BZT_LDFLAGS) -Wl,--defsym=BZ_BASE=0x2000000 -o $@ $(BZT_OBJS)

$(BZT_OBJDIR)/setup16.elf: $(BZT_OBJDIR)/setup16.o $(BZT_DIR)/setup16.ld
	$(GUEST_CC) -nostdlib -static -no-pie -Wl,-T,$(BZT_DIR)/setup16.ld -Wl,--build-id=none \
		-Wl,--defsym=BZT_SETUP16_OFFSET_SYM=0x280 -o $@ $<

$(BZT_MKBZ): tests/linux/mkbzimage.c $(BZT_DIR)/bzimage.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -I$(BZT_DIR) -o $@ $<

$(BZT_IMAGE): $(BZT_MKBZ) $(BZT_OBJDIR)/payload.elf $(BZT_OBJDIR)/payload-alt.elf $(BZT_OBJDIR)/setup16.elf
	$(BZT_MKBZ) $(BZT_OBJDIR)/payload.elf $(BZT_OBJDIR)/pic-a.bin
	$(BZT_MKBZ) $(BZT_OBJDIR)/payload-alt.elf $(BZT_OBJDIR)/pic-b.bin
	@cmp -s $(BZT_OBJDIR)/pic-a.bin $(BZT_OBJDIR)/pic-b.bin || { \
		echo "bzimage-test: the payload linked at 16 MiB and 32 MiB differs: some code is not position independent" >&2; \
		cmp -l $(BZT_OBJDIR)/pic-a.bin $(BZT_OBJDIR)/pic-b.bin | head -5 >&2; exit 1; }
	$(BZT_MKBZ) --setup $(BZT_OBJDIR)/setup16.elf $(BZT_OBJDIR)/payload.elf $@.tmp
	@mv -f $@.tmp $@

-include $(wildcard $(BZT_OBJDIR)/lib/*.d)
