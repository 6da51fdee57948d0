# fuzz.mk - libFuzzer targets, included by the top-level Makefile.
#
# Every fuzz/fuzz_<name>.c is one target, built with clang's libFuzzer and
# ASan+UBSan into $(FUZZ_BUILD)/fuzz_<name> against a library compiled the
# same way (coverage-instrumented, so the fuzzer sees inside kestrel's code).
#   make fuzz                 build them all
#   make fuzz-smoke           replay fuzz/regressions/<name>/*, then fuzz each
#                             target for FUZZ_SECONDS from fuzz/corpus/<name>/
#   build-fuzz/fuzz_elf -jobs=2 fuzz/corpus/elf    a long local run

FUZZ_BUILD    := build-fuzz
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 20
FUZZ_JOBS     ?= 2
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   := -std=gnu11 -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                 $(WARN) -D_GNU_SOURCE -Iinclude -Isrc -Icli -Ifuzz -MMD -MP
FUZZ_SRCS     := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS     := $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/cli/options.o

.PHONY: fuzz fuzz-smoke
fuzz: $(FUZZ_BINS)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/libkestrel.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_BUILD)/libkestrel.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pthread -o $@ $^ $(LDLIBS)

fuzz-smoke: fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) fuzz/smoke.sh $(FUZZ_BUILD)

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_BUILD)/obj/fuzz/%.d)
# Keep the targets' objects (make would delete them as intermediates).
.SECONDARY: $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_BUILD)/obj/fuzz/%.o)
