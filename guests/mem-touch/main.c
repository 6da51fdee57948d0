/* mem-touch - write then check one word in every 4 KiB page of guest RAM that is the guest's
 * (all regions, less kestrel's boot tables below 1 MiB, this image and the vCPU stacks): the
 * host must really give it all the RAM it was promised (docs/robustness.md, host memory). */
#include "guest.h"

#define PAGE 4096ul

extern char _end[]; /* guest.ld: the end of this image */

static uint64_t pattern(uint64_t gpa)
{
	return gpa ^ 0x6b657374726f6c21ull; /* "kestrol!": never 0, differs per page */
}

/* One pass over every page we own: write (check == false) or count mismatches. */
static uint64_t pass(const struct kestrel_boot_info *bi, bool check, uint64_t *pages)
{
	uint64_t image_end = ((uint64_t)(uintptr_t)_end + PAGE - 1) & ~(PAGE - 1);
	uint64_t stacks = (uint64_t)bi->ncpus * KESTREL_STACK_SIZE, bad = 0;

	*pages = 0;
	for (uint32_t i = 0; i < bi->nregions; i++) {
		uint64_t start = bi->regions[i].base, end = start + bi->regions[i].size;
		if (i == 0) {
			start = image_end; /* boot tables below 1 MiB, then this image */
			end -= stacks;
		}
		for (uint64_t gpa = start; gpa + PAGE <= end; gpa += PAGE) {
			volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)gpa;
			if (check)
				bad += *w != pattern(gpa);
			else
				*w = pattern(gpa);
			(*pages)++;
		}
	}
	return bad;
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t pages, checked, bad;

	if (cpu != 0)
		return 0;
	printf("mem-touch: writing every page of %lu MiB in %u region(s)\n", bi->ram_size >> 20,
	       bi->nregions);
	pass(bi, false, &pages);
	bad = pass(bi, true, &checked);
	if (bad || checked != pages) {
		printf("mem-touch: %lu of %lu pages read back wrong\n", bad, pages);
		return 1;
	}
	printf("KESTREL-MEM-TOUCH-OK pages=%lu touched_mib=%lu ram_mib=%lu\n", pages,
	       pages * PAGE >> 20, bi->ram_size >> 20);
	return 0;
}
