/* entry.c - C side of the guest entry: check the boot info, run main, exit or halt. */
#include "guest.h"

const struct kestrel_boot_info *guest_boot_info;

GUEST_NORETURN void guest_start(uint64_t cpu, const struct kestrel_boot_info *bi);

static bool boot_info_ok(const struct kestrel_boot_info *bi)
{
	if (bi == NULL || ((uintptr_t)bi & 7) != 0)
		return false;
	return bi->magic == KESTREL_BOOT_MAGIC && bi->version == KESTREL_BOOT_VERSION;
}

GUEST_NORETURN void guest_start(uint64_t cpu, const struct kestrel_boot_info *bi)
{
	int status;

	if (!boot_info_ok(bi)) {
		if (cpu == 0) {
			printf("guest: bad boot info at %p (magic 0x%lx, version %u)\n",
			       (const void *)bi, bi ? bi->magic : 0, bi ? bi->version : 0);
			exit(GUEST_STATUS_BAD_BOOT_INFO);
		}
		halt_forever();
	}
	/* Every CPU stores the same value, so the order does not matter. */
	__atomic_store_n(&guest_boot_info, bi, __ATOMIC_RELEASE);

	status = main((unsigned)cpu, bi);
	if (cpu == 0)
		exit(status);
	halt_forever();
}
