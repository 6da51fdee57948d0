# kestrel - build with plain GNU make: one file, no configure step, parallel-safe.
# Targets: all (default), run (boot the hello guest), check (every test), deps, clean,
# install (PREFIX=/usr/local DESTDIR=: headers, libkestrel.a/.so, kestrel.pc, the CLI, man page, completion),
# fuzz / fuzz-smoke (libFuzzer targets, fuzz/fuzz.mk).

CC        ?= gcc
# The executables (kestrel, the tests) are static PIEs by default: no dynamic
# loader at exec and no shared libc pages, so a cold start is ~0.3 ms shorter
# and kestrel's RSS beyond guest RAM ~1.5 MiB instead of ~2.5 (docs/coldstart.md;
# Firecracker and cloud-hypervisor ship static binaries too). STATIC=0 links
# them against the shared glibc, into build-dyn/ (Valgrind's memcheck needs
# that: static glibc's own start-up trips it). libkestrel.so is shared either way.
STATIC    ?= 1
ifneq ($(words $(STATIC)) $(filter 0 1,$(STATIC)),1 $(STATIC))
$(error STATIC=$(STATIC): 1 (static PIE, the default) or 0 (dynamic, into build-dyn/))
endif
ifeq ($(STATIC),0)
BUILD     ?= build-dyn
else
BUILD     ?= build
endif
OPT       ?= -O2 -g
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter -Wformat=2 -Wvla
# CI (CI=true, as .ci/run is run) and `make WERROR=1` turn every warning into an error.
ifneq ($(CI),)
WERROR    := 1
endif
ifneq ($(WERROR),)
WARN      += -Werror
endif
# SAN=1 builds the host side with ASan+UBSan into build-san/, linked
# dynamically (the sanitizers need the dynamic loader).
ifneq ($(SAN),)
ifeq ($(origin STATIC)$(STATIC),command line1)
$(error STATIC=1 and SAN=1 do not go together: the sanitizers need the dynamic loader)
endif
override STATIC := 0
BUILD     := build-san
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
endif
# Its own variable, so that a command line's EXTRA_LDFLAGS (which overrides
# any += here) keeps the executables static.
ifneq ($(STATIC),0)
STATIC_LDFLAGS := -static-pie
endif
CFLAGS    := -std=gnu11 $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude -Isrc -Icli -MMD -MP $(EXTRA_CFLAGS)
# cli/ sees only the public headers: what it needs of the library is API.
CLI_CFLAGS := -std=gnu11 $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude -MMD -MP $(EXTRA_CFLAGS)
# Full RELRO (BIND_NOW: the GOT is read-only once the process runs).
LDFLAGS   := $(OPT) -pthread -Wl,-z,relro -Wl,-z,now $(STATIC_LDFLAGS) $(EXTRA_LDFLAGS)
# Host-side decompression of Linux bzImage payloads (src/load/unpack.c).
# The executables link these four statically, in STATIC=0 too (there glibc
# alone stays dynamic): loading four more shared objects at exec cost ~0.3 ms
# of a ~3.5 ms cold start here (docs/coldstart.md); the shared library keeps
# them as dependencies.
LIB_LDLIBS := -llzma -llz4 -lzstd -lz
ifneq ($(STATIC),0)
LDLIBS    := $(LIB_LDLIBS)
else
LDLIBS    := -Wl,-Bstatic $(LIB_LDLIBS) -Wl,-Bdynamic
endif

LIB_SRCS  := $(wildcard src/core/*.c src/dev/*.c src/load/*.c src/arch/x86/*.c src/host/*.c src/obs/*.c src/util/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_SRCS  := $(wildcard cli/*.c)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# The version and the shared library's soname come from kestrel.h. Before 1.0
# a minor version may change the ABI, so the soname carries MAJOR.MINOR.
VERSION   := $(shell sed -n 's/^\#define KESTREL_VERSION "\(.*\)"/\1/p' include/kestrel/kestrel.h)
SONAME    := libkestrel.so.$(basename $(VERSION))

.PHONY: all run check unit integration deps clean guests install
all: $(BUILD)/kestrel $(BUILD)/libkestrel.so guests $(UNIT_BINS)

# The library's objects are position-independent, always: one set of objects
# makes both libkestrel.a and libkestrel.so (the cost, measured with `kestrel
# bench`, is below the noise of a cold start).
# A stamp of the flags, rewritten only when they change, so that objects from
# a build without -fPIC (or other flags) are rebuilt rather than linked.
$(LIB_OBJS): CFLAGS += -fPIC
$(LIB_OBJS): $(BUILD)/obj/lib.flags
$(BUILD)/obj/lib.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CFLAGS) -fPIC' | cmp -s - $@ || echo '$(CFLAGS) -fPIC' >$@
.PHONY: FORCE
# The same for the link (STATIC=0 after a static build, and back): executables relink.
LINK_STAMP := $(BUILD)/obj/link.flags
$(LINK_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(LDFLAGS) $(LDLIBS)' | cmp -s - $@ || echo '$(LDFLAGS) $(LDLIBS)' >$@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/cli/%.o: cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -c $< -o $@

# libkestrel.a is sealed: one relocatable object in which only kestrel_*
# symbols stay global, so an embedder's own parse_size or bus_init cannot
# clash with kestrel's. The unit tests and fuzzers, which test the insides,
# link the unsealed libkestrel-internal.a.
$(BUILD)/obj/libkestrel.o: $(LIB_OBJS)
	$(LD) -r -o $@.tmp $^
	objcopy --wildcard --keep-global-symbol='kestrel_*' $@.tmp $@
	@rm -f $@.tmp

$(BUILD)/libkestrel.a: $(BUILD)/obj/libkestrel.o
	@rm -f $@
	ar rcs $@ $^

# The shared library is the same sealed object: only kestrel_* is exported.
# (-static-pie is for the executables: a shared object cannot be one.)
$(BUILD)/libkestrel.so: $(BUILD)/obj/libkestrel.o
	$(CC) -shared -Wl,-soname,$(SONAME) $(filter-out -static-pie,$(LDFLAGS)) -o $@ $^ $(LIB_LDLIBS)

$(BUILD)/libkestrel-internal.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/kestrel: $(CLI_OBJS) $(BUILD)/libkestrel.a $(LINK_STAMP)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LINK_STAMP),$^) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/cli/options.o $(BUILD)/obj/cli/summary.o \
		  $(BUILD)/libkestrel-internal.a $(LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LINK_STAMP),$^) $(LDLIBS)

# test_serial drives the UART through its own fakes of the dev_*() calls a
# device makes (tests/unit/test_serial.c): it links the device alone.
$(BUILD)/tests/test_serial: $(BUILD)/obj/tests/unit/test_serial.o $(BUILD)/obj/src/dev/serial.o \
			    $(LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LINK_STAMP),$^)

include guests/guests.mk
include fuzz/fuzz.mk
include tests/kvm/kvm.mk

run: $(BUILD)/kestrel guests
	$(BUILD)/kestrel run $(BUILD)/guests/hello.elf

unit: $(UNIT_BINS)
	@tests/unit/run.sh $(UNIT_BINS)

integration: $(BUILD)/kestrel guests
	@KESTREL=$(BUILD)/kestrel GUESTS=$(BUILD)/guests tests/integration/run.sh

check: all
	@tests/check.sh $(BUILD)

deps:
	@scripts/deps.sh

# make install PREFIX=/usr DESTDIR=/tmp/x: a tree an embedder builds against with
# `pkg-config --cflags --libs kestrel` (PKG_CONFIG_SYSROOT_DIR=$(DESTDIR) for a staged one).
PREFIX    ?= /usr/local
DESTDIR   ?=
LIBDIR    ?= $(PREFIX)/lib
install: $(BUILD)/kestrel $(BUILD)/libkestrel.a $(BUILD)/libkestrel.so
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/kestrel $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(BUILD)/kestrel $(DESTDIR)$(PREFIX)/bin/kestrel
	install -m 644 include/kestrel/kestrel.h include/kestrel/abi.h include/kestrel/util.h \
		$(DESTDIR)$(PREFIX)/include/kestrel/
	install -m 644 $(BUILD)/libkestrel.a $(DESTDIR)$(LIBDIR)/libkestrel.a
	install -m 755 $(BUILD)/libkestrel.so $(DESTDIR)$(LIBDIR)/libkestrel.so.$(VERSION)
	ln -sf libkestrel.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libkestrel.so
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@VERSION@|$(VERSION)|' \
		scripts/kestrel.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/kestrel.pc
	install -m 644 docs/kestrel.1 $(DESTDIR)$(PREFIX)/share/man/man1/kestrel.1
	install -m 644 scripts/kestrel.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/kestrel

clean:
	rm -rf build build-dyn build-san build-clang build-fuzz build-static

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(UNIT_BINS:$(BUILD)/tests/%=$(BUILD)/obj/tests/unit/%.d)
