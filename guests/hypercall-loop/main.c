/* hypercall-loop - benchmark and check: N KESTREL_HC_ADD calls with varying arguments. */
#include "guest.h"

#define DEFAULT_CALLS 1000
#define SHOW_BAD 5 /* mismatches printed in full */

#define STR_(x) #x
#define STR(x) STR_(x)

/* Values loaded into every general register around one ADD hypercall. */
#define V_RDI 0x0123456789abcdefull
#define V_RSI 0x1032547698badcfeull
#define V_RDX 0x2301674589abefcdull
#define V_RCX 0x32107654ba98fedcull
#define V_RBX 0x4567012389abcdefull
#define V_RBP 0x54761032a98bdcefull
#define V_R8 0x6745230189abcdefull
#define V_R9 0x76543210fedcba98ull
#define V_R10 0x89abcdef01234567ull
#define V_R11 0x98badcfe10325476ull
#define V_R12 0xab89efcd23016745ull
#define V_R13 0xba98fedc32107654ull
#define V_R14 0xcdef89ab45670123ull
#define V_R15 0xdcfe98ba54761032ull

static const char *const reg_names[] = {
    "rdi", "rsi", "rdx", "rcx", "rbx", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static const uint64_t reg_values[] = {
    V_RDI, V_RSI, V_RDX, V_RCX, V_RBX, V_RBP, V_R8, V_R9, V_R10, V_R11, V_R12, V_R13, V_R14, V_R15,
};

/*
 * One ADD hypercall with known values in RDI..R15 (RSP aside), storing every
 * register as it is right after the `out` into regs[0..13] and RAX into regs[14].
 * Returns how many registers changed.
 */
static unsigned check_preserved(void)
{
	uint64_t regs[ARRAY_SIZE(reg_names) + 1];
	uint64_t *p = regs;
	unsigned changed = 0;
	uint64_t want = V_RDI + V_RSI + V_RDX + V_RCX;

	__asm__ volatile(
	    "pushq %%rbp\n\t"
	    "pushq %%rax\n\t" /* the regs pointer */
	    "movabsq $" STR(
		V_RDI) ", %%rdi\n\t"
		       "movabsq $" STR(
			   V_RSI) ", %%rsi\n\t"
				  "movabsq $" STR(
				      V_RDX) ", %%rdx\n\t"
					     "movabsq $" STR(
						 V_RCX) ", %%rcx\n\t"
							"movabsq $" STR(
							    V_RBX) ", %%rbx\n\t"
								   "movabsq $" STR(
								       V_RBP) ", %%rbp\n\t"
									      "movabsq $" STR(
										  V_R8) ", %%r8\n\t"
											"movabsq "
											"$" STR(
											    V_R9) ", %%r9\n\t"
												  "movabsq $" STR(
												      V_R10) ", %%r10\n\t"
													     "movabsq $" STR(
														 V_R11) ", %%r11\n\t"
															"movabsq $" STR(
															    V_R12) ", %%r12\n\t"
																   "movabsq $" STR(
																       V_R13) ", %%r13\n\t"
																	      "movabsq $" STR(
																		  V_R14) ", %%r14\n\t"
																			 "movabsq $" STR(
																			     V_R15) ", %%r15\n\t"
																				    "outb %%al, %[port]\n\t"
																				    "xchgq %%rax, (%%rsp)\n\t" /* RAX = regs, the slot = result */
																				    "movq %%rdi, 0(%%rax)\n\t"
																				    "movq %%rsi, 8(%%rax)\n\t"
																				    "movq %%rdx, 16(%%rax)\n\t"
																				    "movq %%rcx, 24(%%rax)\n\t"
																				    "movq %%rbx, 32(%%rax)\n\t"
																				    "movq %%rbp, 40(%%rax)\n\t"
																				    "movq %%r8, 48(%%rax)\n\t"
																				    "movq %%r9, 56(%%rax)\n\t"
																				    "movq %%r10, 64(%%rax)\n\t"
																				    "movq %%r11, 72(%%rax)\n\t"
																				    "movq %%r12, 80(%%rax)\n\t"
																				    "movq %%r13, 88(%%rax)\n\t"
																				    "movq %%r14, 96(%%rax)\n\t"
																				    "movq %%r15, 104(%%rax)\n\t"
																				    "popq %%rdi\n\t"
																				    "movq %%rdi, 112(%%rax)\n\t"
																				    "popq %%rbp"
	    : "+a"(p)
	    : [port] "i"(KESTREL_HC_PORT_BASE + KESTREL_HC_ADD)
	    : "memory", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
	      "r14", "r15");

	for (unsigned i = 0; i < ARRAY_SIZE(reg_names); i++) {
		if (regs[i] != reg_values[i]) {
			printf("hypercall-loop: %s changed across the hypercall: 0x%016lx -> "
			       "0x%016lx\n",
			       reg_names[i], reg_values[i], regs[i]);
			changed++;
		}
	}
	if (regs[ARRAY_SIZE(reg_names)] != want) {
		printf("hypercall-loop: register-check ADD returned 0x%016lx, expected 0x%016lx\n",
		       regs[ARRAY_SIZE(reg_names)], want);
		changed++;
	}
	return changed;
}

/*
 * N NOP hypercalls in a loop shaped exactly like pio-loop's (one `out`, dec,
 * jnz): the guest does the same work per exit, so the difference between the
 * two is what the hypercall's register traffic costs (RAX written back).
 */
static void nop_calls(uint64_t n)
{
	if (n == 0)
		return;
	__asm__ volatile("1:\n\t"
			 "outb %%al, %[port]\n\t"
			 "dec %%rcx\n\t"
			 "jnz 1b"
			 : "+c"(n)
			 : [port] "i"(KESTREL_HC_PORT_BASE + KESTREL_HC_NOP)
			 : "rax", "memory");
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t n, bad = 0, t0, t1;
	unsigned changed;

	if (cpu != 0)
		return 0;

	n = cmdline_uint_or(bi, DEFAULT_CALLS);
	if (cmdline_has_word(bi, "nop")) {
		t0 = rdtsc();
		nop_calls(n);
		t1 = rdtsc();
		printf("hypercall-loop: %lu nop calls\n", n);
		if (n)
			printf("hypercall-loop: %lu TSC cycles per call\n", (t1 - t0) / n);
		printf("KESTREL-HYPERCALL-LOOP-OK\n");
		return 0;
	}

	changed = check_preserved();

	t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t a = i, b = i * 3, c = ~i, d = 0x1234567890abcdefull ^ i;
		uint64_t want = a + b + c + d;
		uint64_t got = hypercall4(KESTREL_HC_ADD, a, b, c, d);

		if (got != want) {
			if (bad < SHOW_BAD)
				printf("hypercall-loop: call %lu: add(0x%lx, 0x%lx, 0x%lx, 0x%lx) "
				       "= 0x%lx, "
				       "expected 0x%lx\n",
				       i, a, b, c, d, got, want);
			bad++;
		}
	}
	t1 = rdtsc();

	printf("hypercall-loop: %lu calls, %lu bad\n", n, bad);
	if (n)
		printf("hypercall-loop: %lu TSC cycles per call\n", (t1 - t0) / n);
	if (changed) {
		printf("hypercall-loop: %u register(s) wrong after the register check\n", changed);
		return 1;
	}
	if (bad)
		return 1;
	printf("KESTREL-HYPERCALL-LOOP-OK\n");
	return 0;
}
