/* exit-now - the cold-start benchmark's guest: no work at all, one exit hypercall with status 0. */
#include "guest.h"

/*
 * The library's entry checks the boot info (a few loads, no exit), calls
 * main, and on CPU 0 ends the VM with KESTREL_HC_EXIT(0): one `out`, the only
 * VM exit of the whole run. Nothing is printed, so the console path is never
 * touched. bench/coldstart.sh compares this against bench/rawkvm-min.c, whose
 * guest also makes exactly one port write.
 */
int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	(void)cpu;
	(void)bi;
	return 0;
}
