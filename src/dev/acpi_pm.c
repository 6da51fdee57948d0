/* acpi_pm.c - ACPI PM1a event/control, PM timer and hardware-reduced sleep registers; SLP_TYP = S5
 * powers the VM off. */
#include "dev/acpi_pm.h"

#include <pthread.h>
#include <time.h>

#include "arch/x86/acpi.h"

#define NSEC 1000000000ull

uint32_t acpi_pm_timer(uint64_t ns, bool ext)
{
	/* ns * 3579545 / 1e9 without overflowing 64 bits: whole seconds apart */
	uint64_t ticks = ns / NSEC * ACPI_PM_TMR_HZ + ns % NSEC * ACPI_PM_TMR_HZ / NSEC;

	return (uint32_t)(ext ? ticks & 0xffffffffu : ticks & 0xffffffu);
}

/* Byte b (0-based) of a little-endian value. */
static uint8_t acpi_pm_byte(uint32_t v, uint64_t b)
{
	return b < 4 ? (uint8_t)(v >> (8 * b)) : 0;
}

int acpi_pm_io(struct acpi_pm *p, enum acpi_pm_reg reg, uint64_t off, uint8_t *data, uint32_t len,
	       bool is_write, uint64_t ns)
{
	int sleep = -1;

	for (uint32_t i = 0; i < len; i++) {
		uint64_t b = off + i;
		uint8_t v = is_write ? data[i] : 0;

		if (b < off) { /* wrapped past 2^64: outside every block */
			if (!is_write)
				data[i] = 0;
			continue;
		}

		switch (reg) {
		case ACPI_PM_EVT: /* PM1_STS at 0-1, PM1_EN at 2-3 */
			if (b < 2 && is_write)
				p->sts &= (uint16_t) ~(v << (8 * b));
			else if (b < 2)
				v = acpi_pm_byte(p->sts, b);
			else if (b < 4 && is_write)
				p->en = (uint16_t)((p->en & ~(0xff << (8 * (b - 2)))) |
						   v << (8 * (b - 2)));
			else if (b < 4)
				v = acpi_pm_byte(p->en, b - 2);
			break;
		case ACPI_PM_CNT:
			if (b >= 2)
				break;
			if (is_write) {
				uint16_t c =
				    (uint16_t)((p->cnt & ~(0xff << (8 * b))) | v << (8 * b));
				if (c & ACPI_PM1_CNT_SLP_EN)
					sleep = (c >> ACPI_PM1_CNT_SLP_TYP_SHIFT) & 7;
				p->cnt =
				    c & (uint16_t)~ACPI_PM1_CNT_SLP_EN; /* SLP_EN is write-only */
			} else {
				v = acpi_pm_byte(p->cnt | ACPI_PM1_CNT_SCI_EN, b);
			}
			break;
		case ACPI_PM_TMR:
			if (!is_write)
				v = acpi_pm_byte(acpi_pm_timer(ns, true), b);
			break;
		case ACPI_PM_SLEEP_CTL:
			if (b == 0 && is_write && (v & ACPI_SLEEP_CTL_SLP_EN))
				sleep = (v >> ACPI_SLEEP_CTL_SLP_TYP_SHIFT) & 7;
			v = 0;
			break;
		case ACPI_PM_SLEEP_STS:
			if (b == 0 && is_write)
				p->sleep_sts &= (uint8_t)~v;
			else if (b == 0)
				v = p->sleep_sts;
			break;
		}
		if (!is_write)
			data[i] = v;
	}
	return sleep;
}

/* ---- the device ---- */

struct acpi_pm_dev_state {
	struct dev_host *h;
	pthread_mutex_t lock;
	struct acpi_pm pm;
	struct timespec t0; /* the PM timer's 0 */
	bool sleep_logged;  /* under lock: one line per VM, a guest may loop */
	struct acpi_pm_region {
		struct acpi_pm_dev_state *s;
		enum acpi_pm_reg reg;
	} regions[5];
};

static uint64_t acpi_pm_ns_since(const struct timespec *t0)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return 0;
	return (uint64_t)(now.tv_sec - t0->tv_sec) * NSEC + (uint64_t)now.tv_nsec -
	       (uint64_t)t0->tv_nsec;
}

static int acpi_pm_port_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write)
{
	const struct acpi_pm_region *rg = opaque;
	struct acpi_pm_dev_state *s = rg->s;
	uint64_t ns = rg->reg == ACPI_PM_TMR ? acpi_pm_ns_since(&s->t0) : 0;
	int sleep;

	pthread_mutex_lock(&s->lock);
	sleep = acpi_pm_io(&s->pm, rg->reg, off, data, len, is_write, ns);
	bool first = sleep >= 0 && sleep != (int)ACPI_S5_SLP_TYP && !s->sleep_logged;
	if (first)
		s->sleep_logged = true;
	pthread_mutex_unlock(&s->lock);
	if (sleep == (int)ACPI_S5_SLP_TYP)
		return dev_stop(s->h, v, KESTREL_EXIT_POWEROFF, 0, "guest powered off (ACPI S5)");
	if (first)
		dev_log(s->h,
			"guest asked for ACPI sleep type %d (%s): only S5 (type %u) is "
			"supported, ignored (further requests not logged)",
			sleep, rg->reg == ACPI_PM_CNT ? "PM1a_CNT" : "SLEEP_CONTROL",
			ACPI_S5_SLP_TYP);
	return 0;
}

static int acpi_pm_init(struct dev_host *h, void *state)
{
	static const struct {
		enum acpi_pm_reg reg;
		uint16_t port, len;
		const char *name;
	} blocks[] = {
	    {ACPI_PM_EVT, ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN, "acpi-pm1a-evt"},
	    {ACPI_PM_CNT, ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN, "acpi-pm1a-cnt"},
	    {ACPI_PM_TMR, ACPI_PM_TMR_PORT, ACPI_PM_TMR_LEN, "acpi-pm-tmr"},
	    {ACPI_PM_SLEEP_CTL, ACPI_SLEEP_CTL_PORT, 1, "acpi-sleep-ctl"},
	    {ACPI_PM_SLEEP_STS, ACPI_SLEEP_STS_PORT, 1, "acpi-sleep-sts"},
	};
	struct acpi_pm_dev_state *s = state;
	_Static_assert(sizeof(blocks) / sizeof(blocks[0]) ==
			   sizeof(s->regions) / sizeof(s->regions[0]),
		       "one region per block");

	s->h = h;
	pthread_mutex_init(&s->lock, NULL);
	if (clock_gettime(CLOCK_MONOTONIC, &s->t0) < 0)
		s->t0 = (struct timespec){0};
	for (unsigned i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		s->regions[i] = (struct acpi_pm_region){s, blocks[i].reg};
		int r = dev_register(h, &(struct dev_region){.space = BUS_PIO,
							     .base = blocks[i].port,
							     .len = blocks[i].len,
							     .fn = acpi_pm_port_io,
							     .opaque = &s->regions[i],
							     .name = blocks[i].name});
		if (r < 0) {
			pthread_mutex_destroy(&s->lock);
			return r;
		}
	}
	return 0;
}

static void acpi_pm_fini(void *state)
{
	struct acpi_pm_dev_state *s = state;

	pthread_mutex_destroy(&s->lock);
}

const struct dev_ops acpi_pm_dev = {
    .name = "acpi-pm",
    .state_size = sizeof(struct acpi_pm_dev_state),
    .init = acpi_pm_init,
    .fini = acpi_pm_fini,
};
