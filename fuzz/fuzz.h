/* fuzz.h - helpers shared by kestrel's libFuzzer targets: an input reader and an assertion that
 * aborts. */
#ifndef KESTREL_FUZZ_FUZZ_H
#define KESTREL_FUZZ_FUZZ_H

/*
 * Each fuzz/fuzz_<name>.c is one libFuzzer target (clang
 * -fsanitize=fuzzer,address,undefined). Besides the sanitizers, every target
 * checks the function's header contract with FUZZ_ASSERT: a broken promise
 * aborts, and libFuzzer saves the input as a crash file, just like an
 * out-of-bounds access.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: contract broken: %s: ", __FILE__, __LINE__,        \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Consume the fuzzer's bytes front to back; past the end everything reads 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned nbytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < nbytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	return (uint8_t)fuzz_take(in, 1);
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	return fuzz_take(in, 8);
}

#endif
