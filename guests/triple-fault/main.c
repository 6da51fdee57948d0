/* triple-fault - fault with no usable IDT: #GP -> #DF -> triple fault (KVM_EXIT_SHUTDOWN).
 * With `end`: the faulting instruction is the last 3 bytes of the first RAM region, so
 * the crash dump's 16-byte code window runs past the end of RAM. */
#include "guest.h"

struct __attribute__((packed)) idt_ptr {
	uint16_t limit;
	uint64_t base;
};

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	static const struct idt_ptr empty_idt = {.limit = 0, .base = 0};
	uint64_t v;

	if (cpu != 0)
		return 0;

	printf("triple-fault: about to fault\n");

	/* Limit 0: no gate fits, so any exception escalates to a triple fault. */
	__asm__ volatile("lidt %0" : : "m"(empty_idt) : "memory");
	if (cmdline_has_word(bi, "end")) {
		/* mov (%rax),%rax: 48 8b 00, ending exactly where RAM ends. The
		 * bytes are the top of this vCPU's stack, above anything live. */
		uint64_t end = bi->regions[0].base + bi->regions[0].size;
		volatile uint8_t *code = (volatile uint8_t *)(uintptr_t)(end - 3);
		printf("triple-fault: faulting at 0x%lx, the last 3 bytes of RAM\n", end - 3);
		code[0] = 0x48;
		code[1] = 0x8b;
		code[2] = 0x00;
		__asm__ volatile("jmp *%1" : : "a"(0x8000000000000000ull), "r"(end - 3) : "memory");
	}
	/* A load from a non-canonical address raises #GP (no `int` needed). */
	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(0x8000000000000000ull) : "memory");

	printf("triple-fault: still alive after the fault (read 0x%lx)\n", v);
	return 99;
}
