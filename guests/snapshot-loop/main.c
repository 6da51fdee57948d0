/* snapshot-loop - N register restores: run a code block, roll the vCPU back to a snapshot, repeat.
 */
#include "guest.h"

#define DEFAULT_ROUNDS 100

/* Memory is not rolled back, so the loop's bookkeeping lives here. */
static volatile uint64_t rounds, restored, wrong, limit;

/*
 * snapshot at label 1 (RAX = 0 the first time, 1 after each restore); the
 * block clobbers RBX/R12-R15 and restores until `rounds` reaches `limit`.
 * After a restore, RBX and R12-R15 must hold their snapshot values again.
 */
static void snapshot_rounds(void)
{
	__asm__ volatile(
	    "movabsq $0x1111111111111111, %%rbx\n\t"
	    "movabsq $0x1212121212121212, %%r12\n\t"
	    "movabsq $0x1313131313131313, %%r13\n\t"
	    "movabsq $0x1414141414141414, %%r14\n\t"
	    "movabsq $0x1515151515151515, %%r15\n\t"
	    "leaq 1f(%%rip), %%rdi\n\t"
	    "outb %%al, %[snap]\n"
	    "1:\n\t"
	    "addq %%rax, %[restored]\n\t"
	    "movabsq $0x1111111111111111, %%rcx\n\t"
	    "cmpq %%rcx, %%rbx\n\t"
	    "jne 3f\n\t"
	    "movabsq $0x1515151515151515, %%rcx\n\t"
	    "cmpq %%rcx, %%r15\n\t"
	    "jne 3f\n\t"
	    "movabsq $0x1212121212121212, %%rcx\n\t"
	    "cmpq %%rcx, %%r12\n\t"
	    "je 4f\n"
	    "3:\n\t"
	    "incq %[wrong]\n"
	    "4:\n\t"
	    "xorl %%ebx, %%ebx\n\t" /* clobber: the restore must undo this */
	    "xorl %%r12d, %%r12d\n\t"
	    "xorl %%r15d, %%r15d\n\t"
	    "incq %[rounds]\n\t"
	    "movq %[rounds], %%rcx\n\t"
	    "cmpq %[limit], %%rcx\n\t"
	    "jae 2f\n\t"
	    "outb %%al, %[restore]\n\t"
	    "incq %[wrong]\n" /* a restore that returns is wrong */
	    "2:"
	    : [rounds] "+m"(rounds), [restored] "+m"(restored), [wrong] "+m"(wrong)
	    : [limit] "m"(limit), [snap] "i"(KESTREL_HC_PORT_BASE + KESTREL_HC_SNAPSHOT),
	      [restore] "i"(KESTREL_HC_PORT_BASE + KESTREL_HC_RESTORE)
	    : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
	      "r14", "r15", "memory", "cc");
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t n, t0, t1;

	if (cpu != 0)
		return 0;
	n = cmdline_uint_or(bi, DEFAULT_ROUNDS);
	if (n == 0)
		n = 1;
	limit = n;
	/* RESTORE with no snapshot yet must be refused, not crash. */
	if (hypercall0(KESTREL_HC_RESTORE) != (uint64_t)-KESTREL_EINVAL) {
		printf("snapshot-loop: restore without a snapshot was not refused\n");
		return 1;
	}
	t0 = rdtsc();
	snapshot_rounds();
	t1 = rdtsc();
	printf("snapshot-loop: %lu rounds, %lu restores, %lu wrong\n", rounds, restored, wrong);
	printf("snapshot-loop: %lu TSC cycles per round\n", (t1 - t0) / n);
	if (rounds != n || restored != n - 1 || wrong != 0)
		return 1;
	printf("KESTREL-SNAPSHOT-LOOP-OK\n");
	return 0;
}
