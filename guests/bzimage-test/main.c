/* main.c - bzimage-test: check the zero page and CPU state a Linux 64-bit boot-protocol loader gave
 * us, report, exit. */

/* Every symbol is hidden, so even extern ones are reached RIP-relative (the payload is position
 * independent). */
#pragma GCC visibility push(hidden)
#include "guest.h"
#include "bzimage.h"

/*
 * Marker: `KESTREL-BZIMAGE-OK checks=N` on success, `KESTREL-BZIMAGE-FAIL
 * failed=F checks=N` otherwise, each check on its own `bzimage-test: PASS|FAIL`
 * line. Ends through isa-debug-exit: 0 (status 1) pass, 1 (status 3) fail.
 *
 * Command-line words the payload acts on:
 *	initrd-magic=XYZ  an initrd must be given and start with the bytes XYZ
 *	expect-acpi       acpi_rsdp_addr must be non-zero (and point at an RSDP)
 */

#define DEBUG_EXIT_PORT 0xf4
#define E820_RAM 1u

extern const char _kernel_start[], _end[];
extern char __bss_start[], __bss_end[];
void bz_main(const uint8_t *zp, const uint8_t *base, uint32_t from_setup) GUEST_NORETURN;

/*
 * Everything bz_main fills before .bss is zeroed lives in .data: the zero
 * page and command line are copied under the loader's page tables (the
 * protocol maps only the kernel, the zero page and the command line).
 */
#define DATA __attribute__((section(".data")))
static uint8_t zpc[BP_SIZE] DATA;
static char cmdc[BZT_CMDLINE_SIZE + 2] DATA;
static struct {
	uint64_t zp, base, init_end; /* init_end: base + what the payload needs */
	uint32_t from_setup;
	uint64_t cmd_ptr;
	int cmd_state; /* 0 none, 1 copied, 2 not NUL-terminated in time, 3 not in RAM, 4 overlaps
			  kernel */
	uint16_t cs, ds, es, ss;
	uint64_t rflags, cr0, cr4;
	uint16_t gdt_limit;
	uint64_t gdt_base, desc_cs, desc_ds;
	unsigned npass, nfail, nnote;
} st DATA;

/* Page tables for our own identity map (see map_identity); zeroed with .bss. */
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t mapped_end; /* [0, mapped_end) is identity-mapped once we switched */

static uint64_t rd(const uint8_t *p, unsigned off, unsigned len)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)p[off + i] << (8 * i);
	return v;
}
#define ZP8(o) rd(zpc, (o), 1)
#define ZP16(o) rd(zpc, (o), 2)
#define ZP32(o) rd(zpc, (o), 4)
#define ZP64(o) rd(zpc, (o), 8)

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* ---- e820 (from the copy) ---------------------------------------------------- */

static unsigned e820_n(void)
{
	unsigned n = (unsigned)ZP8(BP_E820_ENTRIES);
	return n > BP_E820_MAX ? BP_E820_MAX : n;
}
static uint64_t e820_addr(unsigned i)
{
	return ZP64(BP_E820_TABLE + i * BP_E820_ENTRY_SIZE);
}
static uint64_t e820_size(unsigned i)
{
	return ZP64(BP_E820_TABLE + i * BP_E820_ENTRY_SIZE + 8);
}
static uint32_t e820_type(unsigned i)
{
	return (uint32_t)ZP32(BP_E820_TABLE + i * BP_E820_ENTRY_SIZE + 16);
}

/* Is [start, start + len) RAM, possibly across adjacent RAM entries? Needs no ordering. */
static bool ram_covers(uint64_t start, uint64_t len)
{
	uint64_t end;
	bool grew = true;

	if (__builtin_add_overflow(start, len, &end))
		return false;
	if (len == 0)
		end = start + 1;
	while (grew && start < end) {
		grew = false;
		for (unsigned i = 0; i < e820_n(); i++) {
			uint64_t a = e820_addr(i), s = e820_size(i), e;
			if (e820_type(i) != E820_RAM || __builtin_add_overflow(a, s, &e))
				continue;
			if (a <= start && start < e) {
				start = e;
				grew = true;
			}
		}
	}
	return start >= end;
}

/* ---- reporting ------------------------------------------------------------- */

GUEST_PRINTF(2, 3) static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("bzimage-test: %s ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		st.npass++;
	else
		st.nfail++;
	return ok;
}

/* A check that is a failure for a 64-bit-entry loader, a note on the 16-bit path (QEMU). */
#define CHECK64(ok, ...)                                                                           \
	do {                                                                                       \
		if (st.from_setup && !(ok)) {                                                      \
			printf("bzimage-test: NOTE untrue, as QEMU loads: ");                      \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			st.nnote++;                                                                \
		} else {                                                                           \
			check((ok), __VA_ARGS__);                                                  \
		}                                                                                  \
	} while (0)

/* The value of word `key=` on the copied command line, or NULL; *len gets its length. */
static const char *cmd_value(const char *key, size_t *len)
{
	size_t kl = strlen(key);
	const char *p = cmdc;

	if (st.cmd_state != 1)
		return NULL;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) >= kl && memcmp(w, key, kl) == 0) {
			*len = (size_t)(p - w) - kl;
			return w + kl;
		}
	}
	return NULL;
}

static bool cmd_word(const char *word)
{
	size_t len;
	const char *v = cmd_value(word, &len);
	return v && len == 0;
}

/* ---- CPU state ----------------------------------------------------------- */

static void read_cpu_state(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr;

	__asm__ volatile("mov %%cs, %0" : "=r"(st.cs));
	__asm__ volatile("mov %%ds, %0" : "=r"(st.ds));
	__asm__ volatile("mov %%es, %0" : "=r"(st.es));
	__asm__ volatile("mov %%ss, %0" : "=r"(st.ss));
	__asm__ volatile("pushfq; popq %0" : "=r"(st.rflags));
	__asm__ volatile("mov %%cr0, %0" : "=r"(st.cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(st.cr4));
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	st.gdt_limit = gdtr.limit;
	st.gdt_base = gdtr.base;
	/* The CPU just used these descriptors, so the loader's tables map them. */
	if (gdtr.limit >= 0x1f) {
		st.desc_cs = *(volatile const uint64_t *)(uintptr_t)(gdtr.base + 0x10);
		st.desc_ds = *(volatile const uint64_t *)(uintptr_t)(gdtr.base + 0x18);
	}
}

/* A present, S=1, 4 GiB flat (base 0, limit 0xfffff, G=1) descriptor of the given kind. */
static bool desc_flat(uint64_t d, bool code)
{
	uint64_t base = ((d >> 16) & 0xffffff) | ((d >> 56) << 24);
	uint64_t limit = (d & 0xffff) | ((d >> 32) & 0xf0000);
	bool present = d & (1ull << 47), s = d & (1ull << 44), g = d & (1ull << 55);
	bool is_code = d & (1ull << 43), rw = d & (1ull << 41);

	return present && s && g && base == 0 && limit == 0xfffff && is_code == code && rw;
}

static void check_cpu(void)
{
	check(st.cs == 0x10, "CS is __BOOT_CS 0x10 (got 0x%x)", st.cs);
	check(st.ds == 0x18 && st.es == 0x18 && st.ss == 0x18,
	      "DS/ES/SS are __BOOT_DS 0x18 (got 0x%x/0x%x/0x%x)", st.ds, st.es, st.ss);
	check(!(st.rflags & 0x200), "interrupts disabled (RFLAGS 0x%lx)", (unsigned long)st.rflags);
	check((st.cr0 & 0x80000001u) == 0x80000001u && (st.cr4 & 0x20),
	      "paging on (CR0 0x%lx CR4 0x%lx)", (unsigned long)st.cr0, (unsigned long)st.cr4);
	if (!check(st.gdt_limit >= 0x1f, "GDT holds selectors 0x10 and 0x18 (limit 0x%x)",
		   st.gdt_limit))
		return;
	check(desc_flat(st.desc_cs, true),
	      "GDT[0x10] is a flat execute/read code segment (0x%016lx)",
	      (unsigned long)st.desc_cs);
	check(desc_flat(st.desc_ds, false),
	      "GDT[0x18] is a flat read/write data segment (0x%016lx)", (unsigned long)st.desc_ds);
}

/* ---- the setup header copy -------------------------------------------------- */

static void check_header(void)
{
	uint64_t need = st.init_end - st.base;
	uint64_t align = 1ull << BZT_MIN_ALIGNMENT;

	check(ZP16(HDR_BOOT_FLAG) == BOOT_FLAG_VALUE, "setup header copy: boot_flag 0x%04x",
	      (unsigned)ZP16(HDR_BOOT_FLAG));
	if (!check(ZP32(HDR_MAGIC) == HDR_MAGIC_VALUE,
		   "setup header copy: \"HdrS\" at 0x202 (0x%08x)", (unsigned)ZP32(HDR_MAGIC)))
		return;
	check(ZP16(HDR_VERSION) == BZT_VERSION, "setup header copy: version 0x%04x",
	      (unsigned)ZP16(HDR_VERSION));
	check(ZP8(HDR_TYPE_OF_LOADER) != 0, "type_of_loader set (0x%02x)",
	      (unsigned)ZP8(HDR_TYPE_OF_LOADER));
	check(ZP8(HDR_LOADFLAGS) & LOADFLAGS_LOADED_HIGH, "loadflags keep LOADED_HIGH (0x%02x)",
	      (unsigned)ZP8(HDR_LOADFLAGS));
	check(ZP16(HDR_XLOADFLAGS) == BZT_XLOADFLAGS &&
		  ZP32(HDR_KERNEL_ALIGNMENT) == BZT_KERNEL_ALIGNMENT && ZP8(HDR_RELOCATABLE) == 1 &&
		  ZP8(HDR_MIN_ALIGNMENT) == BZT_MIN_ALIGNMENT &&
		  ZP64(HDR_PREF_ADDRESS) == BZT_PREF_ADDRESS &&
		  ZP32(HDR_CMDLINE_SIZE) == BZT_CMDLINE_SIZE &&
		  ZP32(HDR_INITRD_ADDR_MAX) == BZT_INITRD_ADDR_MAX,
	      "header fields copied unchanged (xloadflags 0x%x align 0x%x reloc %u min_align %u "
	      "pref 0x%lx "
	      "cmdline_size %u initrd_max 0x%x)",
	      (unsigned)ZP16(HDR_XLOADFLAGS), (unsigned)ZP32(HDR_KERNEL_ALIGNMENT),
	      (unsigned)ZP8(HDR_RELOCATABLE), (unsigned)ZP8(HDR_MIN_ALIGNMENT),
	      (unsigned long)ZP64(HDR_PREF_ADDRESS), (unsigned)ZP32(HDR_CMDLINE_SIZE),
	      (unsigned)ZP32(HDR_INITRD_ADDR_MAX));
	check(ZP32(HDR_INIT_SIZE) >= need, "init_size 0x%x covers the payload's 0x%lx bytes",
	      (unsigned)ZP32(HDR_INIT_SIZE), (unsigned long)need);
	check(ZP32(HDR_KERNEL_INFO_OFFSET) == BZT_KERNEL_INFO, "kernel_info_offset 0x%x",
	      (unsigned)ZP32(HDR_KERNEL_INFO_OFFSET));
	check(ZP8(BP_SENTINEL) == 0,
	      "sentinel at 0x1ef is 0 (a loader copied only the header, 0x%02x)",
	      (unsigned)ZP8(BP_SENTINEL));
	check(ZP32(HDR_HARDWARE_SUBARCH) == 0, "hardware_subarch is X86_SUBARCH_PC (%u)",
	      (unsigned)ZP32(HDR_HARDWARE_SUBARCH));
	CHECK64((st.base & (align - 1)) == 0, "kernel at 0x%lx is aligned to min_alignment (0x%lx)",
		(unsigned long)st.base, (unsigned long)align);
	printf("bzimage-test: kernel at 0x%lx (%s pref_address), code32_start 0x%x, zero page at "
	       "0x%lx\n",
	       (unsigned long)st.base, st.base == BZT_PREF_ADDRESS ? "at" : "not at",
	       (unsigned)ZP32(HDR_CODE32_START), (unsigned long)st.zp);
}

/* ---- e820 ---------------------------------------------------------------- */

static void check_e820(void)
{
	unsigned raw = (unsigned)ZP8(BP_E820_ENTRIES), n = e820_n();
	bool sorted = true, sizes = true;

	if (!check(raw > 0 && raw <= BP_E820_MAX, "e820 has %u entries (1..%u)", raw, BP_E820_MAX))
		return;
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = e820_addr(i), s = e820_size(i), e;
		printf("bzimage-test: e820 %2u: 0x%016lx-0x%016lx type %u\n", i, (unsigned long)a,
		       (unsigned long)(a + s - 1), e820_type(i));
		if (s == 0 || __builtin_add_overflow(a, s, &e))
			sizes = false;
		if (i > 0 && a < e820_addr(i - 1) + e820_size(i - 1))
			sorted = false;
	}
	check(sizes, "e820 entries are non-empty and do not wrap");
	check(sorted, "e820 entries are sorted and do not overlap");
	check(ram_covers(0x100000, 1), "e820 has RAM at 1 MiB");
	check(ram_covers(st.base, ZP32(HDR_INIT_SIZE)), "e820 RAM covers the kernel [0x%lx, +0x%x)",
	      (unsigned long)st.base, (unsigned)ZP32(HDR_INIT_SIZE));
}

/* ---- command line --------------------------------------------------------- */

static void check_cmdline(void)
{
	switch (st.cmd_state) {
	case 0:
		check(false, "cmd_line_ptr is set (it is 0)");
		return;
	case 2:
		check(false,
		      "command line at 0x%lx is NUL-terminated within cmdline_size + 1 = %u bytes",
		      (unsigned long)st.cmd_ptr, BZT_CMDLINE_SIZE + 1);
		return;
	case 3:
		check(false, "command line at 0x%lx is in e820 RAM", (unsigned long)st.cmd_ptr);
		return;
	case 4:
		check(false, "command line at 0x%lx lies outside the kernel's init_size range",
		      (unsigned long)st.cmd_ptr);
		return;
	}
	check(true, "command line at 0x%lx, %u bytes, NUL-terminated", (unsigned long)st.cmd_ptr,
	      (unsigned)strlen(cmdc));
	printf("bzimage-test: cmdline '%s'\n", cmdc);
}

/* ---- our own identity map --------------------------------------------------- */

static void cpuid_regs(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

/*
 * The protocol maps only the kernel, the zero page and the command line, so
 * like Linux we build our own map before touching the initrd, the RSDP or
 * setup_data: 4 GiB in 2 MiB pages, and up to 512 GiB in 1 GiB pages when
 * the CPU has them. Skipped (with a note) if we run above what it maps.
 */
static void map_identity(void)
{
	uint32_t r[4];
	bool gb = false;

	cpuid_regs(0x80000000u, r);
	if (r[0] >= 0x80000001u) {
		cpuid_regs(0x80000001u, r);
		gb = r[3] & (1u << 26);
	}
	for (unsigned i = 0; i < 4; i++) {
		for (unsigned j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)i << 30) | ((uint64_t)j << 21) | 0x83; /* P RW PS */
		pdpt[i] = (uint64_t)(uintptr_t)pd[i] | 0x3;
	}
	for (unsigned i = 4; gb && i < 512; i++)
		pdpt[i] = ((uint64_t)i << 30) | 0x83;
	pml4[0] = (uint64_t)(uintptr_t)pdpt | 0x3;
	uint64_t end = gb ? 512ull << 30 : 4ull << 30;
	if (st.init_end > end || (uint64_t)(uintptr_t)pml4 >= end) {
		printf("bzimage-test: NOTE running above 0x%lx: keeping the loader's page tables\n",
		       (unsigned long)end);
		st.nnote++;
		mapped_end = 0;
		return;
	}
	__asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)pml4) : "memory");
	mapped_end = end;
}

static bool mapped(uint64_t start, uint64_t len)
{
	uint64_t end;
	return mapped_end && !__builtin_add_overflow(start, len, &end) && end <= mapped_end;
}

/* ---- initrd ---------------------------------------------------------------- */

static void check_initrd(void)
{
	uint64_t img = ZP32(HDR_RAMDISK_IMAGE) | (ZP32(BP_EXT_RAMDISK_IMAGE) << 32);
	uint64_t size = ZP32(HDR_RAMDISK_SIZE) | (ZP32(BP_EXT_RAMDISK_SIZE) << 32);
	size_t mlen = 0;
	const char *magic = cmd_value("initrd-magic=", &mlen);

	if (size == 0 && img == 0) {
		if (magic)
			check(false, "an initrd is given (initrd-magic= on the command line, "
				     "ramdisk_size 0)");
		else
			printf("bzimage-test: no initrd\n");
		return;
	}
	printf("bzimage-test: initrd at 0x%lx, %lu bytes\n", (unsigned long)img,
	       (unsigned long)size);
	if (!check(img != 0 && size != 0, "ramdisk_image and ramdisk_size are both set"))
		return;
	if (!check(ram_covers(img, size), "initrd lies in e820 RAM"))
		return;
	check(!overlaps(img, size, st.base, st.init_end - st.base) &&
		  !overlaps(img, size, st.base, ZP32(HDR_INIT_SIZE)),
	      "initrd lies outside the kernel's init_size range");
	check(!overlaps(img, size, st.zp, BP_SIZE), "initrd does not overlap the zero page");
	if (st.cmd_state == 1)
		check(!overlaps(img, size, st.cmd_ptr, strlen(cmdc) + 1),
		      "initrd does not overlap the command line");
	if (img + size <= (1ull << 32))
		check(img + size - 1 <= BZT_INITRD_ADDR_MAX,
		      "initrd ends below initrd_addr_max 0x%x", BZT_INITRD_ADDR_MAX);
	if (!magic)
		return;
	if (!mapped(img, mlen)) {
		printf("bzimage-test: NOTE initrd at 0x%lx is beyond our map: magic not checked\n",
		       (unsigned long)img);
		st.nnote++;
		return;
	}
	const uint8_t *p = (const uint8_t *)(uintptr_t)img;
	check(mlen <= size && memcmp(p, magic, mlen) == 0,
	      "initrd starts with initrd-magic '%.*s' (found '%.*s')", (int)mlen, magic,
	      (int)(mlen <= size ? mlen : size), (const char *)p);
}

/* ---- ACPI RSDP ---------------------------------------------------------- */

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void check_rsdp(void)
{
	uint64_t a = ZP64(BP_ACPI_RSDP_ADDR);

	if (a == 0) {
		if (cmd_word("expect-acpi"))
			check(false, "acpi_rsdp_addr is set (expect-acpi on the command line)");
		else
			printf("bzimage-test: no acpi_rsdp_addr\n");
		return;
	}
	if (!mapped(a, 36)) {
		printf("bzimage-test: NOTE RSDP at 0x%lx is beyond our map: not checked\n",
		       (unsigned long)a);
		st.nnote++;
		return;
	}
	const uint8_t *p = (const uint8_t *)(uintptr_t)a;
	if (!check(memcmp(p, "RSD PTR ", 8) == 0, "acpi_rsdp_addr 0x%lx points at \"RSD PTR \"",
		   (unsigned long)a))
		return;
	check(sum8(p, 20) == 0, "RSDP checksum (first 20 bytes)");
	if (p[15] >= 2) {
		uint32_t len = (uint32_t)rd(p, 20, 4);
		if (check(len >= 36 && len <= 4096, "RSDP length %u", len))
			check(sum8(p, len) == 0, "RSDP extended checksum");
	}
	printf("bzimage-test: RSDP revision %u, OEM '%.6s'\n", p[15], (const char *)p + 9);
}

/* ---- setup_data --------------------------------------------------------- */

static void check_setup_data(void)
{
	uint64_t a = ZP64(HDR_SETUP_DATA);
	unsigned n = 0;

	while (a && n < 32) {
		if (!mapped(a, 16)) {
			printf("bzimage-test: NOTE setup_data node at 0x%lx is beyond our map\n",
			       (unsigned long)a);
			st.nnote++;
			return;
		}
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;
		uint32_t type = (uint32_t)rd(p, 8, 4), len = (uint32_t)rd(p, 12, 4);
		printf("bzimage-test: setup_data at 0x%lx: type %u, %u bytes\n", (unsigned long)a,
		       type, len);
		CHECK64(!overlaps(a, 16ull + len, st.base, ZP32(HDR_INIT_SIZE)),
			"setup_data at 0x%lx lies outside the kernel's init_size range",
			(unsigned long)a);
		a = rd(p, 0, 8);
		n++;
	}
	check(a == 0, "setup_data list ends (%u nodes)", n);
}

/* ---- the entry -------------------------------------------------------------- */

static GUEST_NORETURN void finish(void)
{
	if (st.nfail == 0)
		printf("KESTREL-BZIMAGE-OK checks=%u notes=%u\n", st.npass, st.nnote);
	else
		printf("KESTREL-BZIMAGE-FAIL failed=%u checks=%u\n", st.nfail, st.npass + st.nfail);
	outl(DEBUG_EXIT_PORT, st.nfail ? 1 : 0);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void bz_main(const uint8_t *zp, const uint8_t *base, uint32_t from_setup)
{
	uint64_t init_len = (uint64_t)(uintptr_t)(_end - _kernel_start);

	/* Before .bss is zeroed: nothing here may print (the UART code keeps a flag in .bss). */
	st.zp = (uint64_t)(uintptr_t)zp;
	st.base = (uint64_t)(uintptr_t)base;
	st.init_end = st.base + init_len;
	st.from_setup = from_setup;
	read_cpu_state();
	bool zp_inside = overlaps(st.zp, BP_SIZE, st.base, init_len);
	memcpy(zpc, zp, BP_SIZE);
	st.cmd_ptr = ZP32(HDR_CMD_LINE_PTR) | (ZP32(BP_EXT_CMD_LINE_PTR) << 32);
	if (st.cmd_ptr == 0)
		st.cmd_state = 0;
	else if (!ram_covers(st.cmd_ptr, 1))
		st.cmd_state = 3;
	else if (overlaps(st.cmd_ptr, 1, st.base, init_len))
		st.cmd_state = 4;
	else {
		const char *c = (const char *)(uintptr_t)st.cmd_ptr;
		size_t i = 0;
		while (i <= BZT_CMDLINE_SIZE && c[i])
			i++;
		if (i > BZT_CMDLINE_SIZE) {
			st.cmd_state = 2;
		} else {
			memcpy(cmdc, c, i + 1);
			st.cmd_state = 1;
		}
	}
	memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));

	printf("bzimage-test: entered at +0x%x (%s)\n",
	       from_setup ? BZT_ENTRY64_SETUP : BZT_ENTRY64,
	       from_setup ? "from this image's 16-bit setup" : "64-bit boot protocol");
	check(!zp_inside, "zero page at 0x%lx lies outside the kernel [0x%lx, +0x%lx)",
	      (unsigned long)st.zp, (unsigned long)st.base, (unsigned long)init_len);
	check_cpu();
	check_header();
	check_e820();
	check_cmdline();
	map_identity();
	check_initrd();
	check_rsdp();
	check_setup_data();
	finish();
}
