/* bad-hypercall - hostile hypercall arguments must get the right errno back, never a crash. */
#include "guest.h"

static unsigned checks, bad;

static void expect(const char *what, uint64_t got, int64_t want)
{
	checks++;
	if (got == (uint64_t)want)
		return;
	bad++;
	printf("bad-hypercall: %s returned %ld, expected %ld\n", what, (int64_t)got, want);
}

/* For argument pairs the ABI gives two reasons to refuse: either errno is right. */
static void expect_either(const char *what, uint64_t got, int64_t want1, int64_t want2)
{
	checks++;
	if (got == (uint64_t)want1 || got == (uint64_t)want2)
		return;
	bad++;
	printf("bad-hypercall: %s returned %ld, expected %ld or %ld\n", what, (int64_t)got, want1,
	       want2);
}

static uint64_t puts_raw(uint64_t gpa, uint64_t len)
{
	return hypercall2(KESTREL_HC_PUTS, gpa, len);
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	static const char line[] = "bad-hypercall: valid PUTS\n";
	const struct kestrel_mem_region *first = &bi->regions[0];
	const struct kestrel_mem_region *last = &bi->regions[bi->nregions - 1];
	uint64_t ram_end = last->base + last->size;

	if (cpu != 0)
		return 0;

	printf("bad-hypercall: %u RAM region(s), RAM ends at 0x%lx\n", bi->nregions, ram_end);

	/* Pointers outside RAM: -EFAULT. With more than 3 GiB of RAM, ram_size + a
	 * bit lies inside the high region, hence the checks against ram_end. */
	if (bi->nregions == 1)
		expect("PUTS at ram_size + 0x1000", puts_raw(bi->ram_size + 0x1000, 16),
		       -KESTREL_EFAULT);
	expect("PUTS just past the end of RAM", puts_raw(ram_end, 1), -KESTREL_EFAULT);
	expect("PUTS far past the end of RAM", puts_raw(ram_end + 0x100000, 64), -KESTREL_EFAULT);
	expect("PUTS straddling the end of the first region",
	       puts_raw(first->base + first->size - 8, 16), -KESTREL_EFAULT);
	expect("PUTS that wraps around 2^64", puts_raw(0xFFFFFFFFFFFFF800ull, 0x1000),
	       -KESTREL_EFAULT);
	/* 0x2000 is also over KESTREL_PUTS_MAX; kestrel checks the length first. */
	expect_either("PUTS that wraps around 2^64 with len 0x2000",
		      puts_raw(0xFFFFFFFFFFFFF000ull, 0x2000), -KESTREL_EFAULT, -KESTREL_EINVAL);
	expect("PUTS at the top of the address space", puts_raw(0xFFFFFFFFFFFFFFFFull, 1),
	       -KESTREL_EFAULT);
	expect("PUTS in the 3-4 GiB hole", puts_raw(KESTREL_HOLE_START, 16), -KESTREL_EFAULT);
	expect("PUTS at the last byte of the hole", puts_raw(KESTREL_HIGH_START - 1, 1),
	       -KESTREL_EFAULT);
	expect("PUTS running from below the hole into it", puts_raw(KESTREL_HOLE_START - 8, 16),
	       -KESTREL_EFAULT);

	/* Lengths: too long is -EINVAL, even at a valid pointer; 0 is fine. */
	expect("PUTS with len KESTREL_PUTS_MAX + 1", puts_raw((uint64_t)line, KESTREL_PUTS_MAX + 1),
	       -KESTREL_EINVAL);
	expect("PUTS with len 2^64 - 1", puts_raw((uint64_t)line, ~0ull), -KESTREL_EINVAL);
	expect("PUTS with len 0", puts_raw((uint64_t)line, 0), 0);
	expect("PUTS with a valid buffer", puts_raw((uint64_t)line, sizeof(line) - 1),
	       (int64_t)(sizeof(line) - 1));

	/* Hypercall numbers nobody implements: -ENOSYS. */
	expect("hypercall 9", hypercall0(9), -KESTREL_ENOSYS);
	expect("hypercall 15 with arguments", hypercall4(15, 1, 2, 3, 4), -KESTREL_ENOSYS);

	/* An `in` from a hypercall port is outside the ABI (only `out` is), but
	 * like every unclaimed read it must read zeros, never the bytes of an
	 * earlier exit: leave 0x5a in the I/O data buffer first. */
	{
		uint32_t in_val;
		outb(KESTREL_PORT_NULL, 0x5a);
		__asm__ volatile("movl $0xffffffff, %%eax\n\t"
				 "inb %[port], %%al"
				 : "=a"(in_val)
				 : [port] "i"(KESTREL_HC_PORT_BASE + KESTREL_HC_NOP)
				 : "memory");
		expect("`in` from the NOP hypercall port reads 0 in AL", in_val & 0xff, 0);
	}

	/* Nor does an `in` make the call: `inl` from ADD's port with arguments
	 * reads 0 (it read the sum), `inb` from it leaves RAX's upper bytes
	 * alone (they held the sum), and `in` from EXIT's port does not exit. */
	{
		uint64_t rax;
		__asm__ volatile("inl %[port], %%eax"
				 : "=a"(rax)
				 : [port] "i"(KESTREL_HC_PORT_BASE + KESTREL_HC_ADD), "D"(1ul),
				   "S"(2ul), "d"(3ul), "c"(4ul)
				 : "memory");
		expect("`inl` from the ADD port reads 0, no sum", rax, 0);
		__asm__ volatile("movq $0xffffffffffffffff, %%rax\n\t"
				 "inb %[port], %%al"
				 : "=a"(rax)
				 : [port] "i"(KESTREL_HC_PORT_BASE + KESTREL_HC_ADD), "D"(0x100ul),
				   "S"(0ul), "d"(0ul), "c"(0ul)
				 : "memory");
		expect("`inb` from the ADD port changes only AL", rax,
		       (int64_t)0xffffffffffffff00ull);
		__asm__ volatile("inb %[port], %%al"
				 : "=a"(rax)
				 : [port] "i"(KESTREL_HC_PORT_BASE + KESTREL_HC_EXIT), "D"(7ul),
				   "0"(0ul)
				 : "memory");
		expect("`inb` from the EXIT port reads 0 and does not exit", rax, 0);
	}

	/* The channel still works afterwards. */
	expect("ADD after the bad calls", hypercall4(KESTREL_HC_ADD, 1, 2, 3, 4), 10);

	if (bad) {
		printf("bad-hypercall: %u of %u checks wrong\n", bad, checks);
		return 1;
	}
	printf("KESTREL-BAD-HYPERCALL-OK %u checks\n", checks);
	return 0;
}
