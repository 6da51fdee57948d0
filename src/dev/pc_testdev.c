/* pc_testdev.c - QEMU's pc-testdev (hw/misc/pc-testdev.c behaviour): scratch register, page flush,
 * IRQ lines, RAM-like MMIO. */
#include "dev/pc_testdev.h"

#include <errno.h>
#include <string.h>

#define PC_TESTDEV_PAGE 4096u

void pc_testdev_scratch(uint32_t *reg, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	for (uint32_t i = 0; i < len; i++) {
		uint64_t b = off + i;
		if (b >= 4 || b < off) { /* past the register, or wrapped */
			if (!is_write)
				data[i] = 0;
			continue;
		}
		unsigned shift = 8 * (unsigned)b;
		if (is_write)
			*reg = (*reg & ~(0xffu << shift)) | (uint32_t)data[i] << shift;
		else
			data[i] = (uint8_t)(*reg >> shift);
	}
}

uint64_t pc_testdev_flush_page(const uint8_t *data, uint32_t len)
{
	if (len != 4)
		return UINT64_MAX;
	uint32_t a = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
		     (uint32_t)data[3] << 24;
	return a & ~(uint64_t)(PC_TESTDEV_PAGE - 1);
}

bool pc_testdev_mmio(uint8_t *win, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	bool inside = off < KESTREL_TESTDEV_MMIO_SIZE && len <= KESTREL_TESTDEV_MMIO_SIZE - off;

	for (uint32_t i = 0; i < len; i++) {
		uint64_t b = off + i;
		if (b >= KESTREL_TESTDEV_MMIO_SIZE || b < off) {
			if (!is_write)
				data[i] = 0;
			continue;
		}
		if (is_write)
			win[b] = data[i];
		else
			data[i] = win[b];
	}
	return inside;
}

/* ---- the device ---- */

static int pc_testdev_scratch_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data,
				 uint32_t len, bool is_write)
{
	struct pc_testdev *t = opaque;

	(void)v;
	pthread_mutex_lock(&t->lock);
	pc_testdev_scratch(&t->scratch, off, data, len, is_write);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int pc_testdev_flush_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data,
			       uint32_t len, bool is_write)
{
	struct pc_testdev *t = opaque;
	uint64_t page;
	bool ram, first_bad;

	(void)v;
	if (!is_write || off != 0)
		return 0; /* reads give 0; a write at 0xe5.. is not 4 bytes at 0xe4 */
	page = pc_testdev_flush_page(data, len);
	if (page == UINT64_MAX)
		return 0;
	/* QEMU's mprotect(PROT_NONE) + mprotect(RW) only makes KVM fault the
	 * page in again; with KVM's mapping of RAM always coherent, checking
	 * that the guest named RAM is all that is left to do. */
	ram = dev_guest_ptr(t->h, page, PC_TESTDEV_PAGE) != NULL;
	pthread_mutex_lock(&t->lock);
	t->flushes++;
	first_bad = !ram && t->bad_flushes++ == 0;
	pthread_mutex_unlock(&t->lock);
	if (first_bad)
		dev_log(t->h,
			"pc-testdev: flush of page 0x%llx, which is not guest RAM: ignored "
			"(further ones not logged)",
			(unsigned long long)page);
	return 0;
}

static int pc_testdev_irq_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data,
			     uint32_t len, bool is_write)
{
	struct pc_testdev *t = opaque;
	bool first;
	int r;

	(void)v;
	if (!is_write || len != 1 || off >= KESTREL_TESTDEV_IRQ_LINES)
		return 0;
	r = dev_irq_line(t->h, (unsigned)off, data[0] != 0);
	if (r == 0)
		return 0;
	pthread_mutex_lock(&t->lock);
	first = t->irq_errors++ == 0;
	pthread_mutex_unlock(&t->lock);
	if (first)
		dev_log(
		    t->h, "pc-testdev: cannot drive IRQ line %u: %s (further errors not logged)",
		    (unsigned)off, r == -ENODEV ? "no in-kernel irqchip" : "KVM_IRQ_LINE failed");
	return 0;
}

static int pc_testdev_mmio_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data,
			      uint32_t len, bool is_write)
{
	struct pc_testdev *t = opaque;

	(void)v;
	pthread_mutex_lock(&t->lock);
	pc_testdev_mmio(t->mmio, off, data, len, is_write);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int pc_testdev_init(struct dev_host *h, void *state)
{
	struct pc_testdev *t = state;
	const struct dev_region regs[] = {
	    {.space = BUS_PIO,
	     .base = KESTREL_PORT_TESTDEV,
	     .len = 4,
	     .fn = pc_testdev_scratch_io,
	     .opaque = t,
	     .name = "pc-testdev"},
	    {.space = BUS_PIO,
	     .base = KESTREL_PORT_TESTDEV_FLUSH,
	     .len = 4,
	     .fn = pc_testdev_flush_io,
	     .opaque = t,
	     .name = "pc-testdev-flush"},
	    {.space = BUS_PIO,
	     .base = KESTREL_PORT_TESTDEV_BYTE,
	     .len = 4,
	     .fn = pc_testdev_scratch_io,
	     .opaque = t,
	     .name = "pc-testdev"},
	    {.space = BUS_PIO,
	     .base = KESTREL_PORT_TESTDEV_IRQ,
	     .len = KESTREL_TESTDEV_IRQ_LINES,
	     .fn = pc_testdev_irq_io,
	     .opaque = t,
	     .name = "pc-testdev-irq"},
	    {.space = BUS_MMIO,
	     .base = KESTREL_TESTDEV_MMIO,
	     .len = KESTREL_TESTDEV_MMIO_SIZE,
	     .fn = pc_testdev_mmio_io,
	     .opaque = t,
	     .name = "pc-testdev-iomem"},
	};

	t->h = h;
	pthread_mutex_init(&t->lock, NULL);
	for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		int r = dev_register(h, &regs[i]);
		if (r < 0) {
			pthread_mutex_destroy(&t->lock);
			return r;
		}
	}
	return 0;
}

static void pc_testdev_fini(void *state)
{
	struct pc_testdev *t = state;

	pthread_mutex_destroy(&t->lock);
}

const struct dev_ops pc_testdev_dev = {
    .name = "pc-testdev",
    .state_size = sizeof(struct pc_testdev),
    .init = pc_testdev_init,
    .fini = pc_testdev_fini,
};
