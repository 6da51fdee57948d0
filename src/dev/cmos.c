/* cmos.c - MC146818 RTC/CMOS: index/data ports, the time from the host clock, the memory-size bytes
 * (QEMU's and SeaBIOS's conventions). */
#include "dev/cmos.h"

#include <pthread.h>

enum {
	CMOS_SEC = 0x00,
	CMOS_MIN = 0x02,
	CMOS_HOUR = 0x04,
	CMOS_WDAY = 0x06,
	CMOS_MDAY = 0x07,
	CMOS_MON = 0x08,
	CMOS_YEAR = 0x09,
	CMOS_A = 0x0a,
	CMOS_B = 0x0b,
	CMOS_C = 0x0c,
	CMOS_D = 0x0d,
	CMOS_EQUIP = 0x14,
	CMOS_BASE_LO = 0x15,
	CMOS_EXT_LO = 0x17,
	CMOS_CSUM_HI = 0x2e,
	CMOS_EXT2_LO = 0x30,
	CMOS_CENTURY = 0x32,
	CMOS_HI16_LO = 0x34,
	CMOS_HI4G = 0x5b,
	CMOS_NCPUS = 0x5f,
};
#define CMOS_A_UIP 0x80u
#define CMOS_B_24H 0x02u
#define CMOS_B_BINARY 0x04u
#define CMOS_D_VRT 0x80u
#define KIB 1024ull
#define MIB (1024 * KIB)

static void cmos_put16(struct cmos *c, unsigned i, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	c->ram[i] = (uint8_t)v;
	c->ram[i + 1] = (uint8_t)(v >> 8);
}

void cmos_init(struct cmos *c, const struct dev_machine *m)
{
	uint64_t low = m->ram_below_4g, ext, hi16, hi4g = m->ram_above_4g / (64 * KIB);
	unsigned sum = 0;

	*c = (struct cmos){0};
	c->ram[CMOS_A] = 0x26;
	c->ram[CMOS_B] = CMOS_B_24H;
	c->ram[CMOS_D] = CMOS_D_VRT;
	c->ram[CMOS_EQUIP] = 0x02;
	cmos_put16(c, CMOS_BASE_LO, 640);
	ext = low > MIB ? (low - MIB) / KIB : 0;
	cmos_put16(c, CMOS_EXT_LO, ext);
	cmos_put16(c, CMOS_EXT2_LO, ext);
	hi16 = low > 16 * MIB ? (low - 16 * MIB) / (64 * KIB) : 0;
	cmos_put16(c, CMOS_HI16_LO, hi16);
	if (hi4g > 0xffffff)
		hi4g = 0xffffff;
	c->ram[CMOS_HI4G] = (uint8_t)hi4g;
	c->ram[CMOS_HI4G + 1] = (uint8_t)(hi4g >> 8);
	c->ram[CMOS_HI4G + 2] = (uint8_t)(hi4g >> 16);
	c->ram[CMOS_NCPUS] = (uint8_t)(m->ncpus ? m->ncpus - 1 : 0);
	for (unsigned i = 0x10; i < CMOS_CSUM_HI; i++)
		sum += c->ram[i];
	c->ram[CMOS_CSUM_HI] = (uint8_t)(sum >> 8);
	c->ram[CMOS_CSUM_HI + 1] = (uint8_t)sum;
}

/*
 * UTC date and time of `now`, computed here rather than by gmtime_r: glibc's
 * may read /etc/localtime on first use, a system call the vCPU threads'
 * seccomp filter does not allow. Days since 1970-01-01 to a civil date in
 * 400-year eras of 146097 days, years starting on March 1st (so the leap
 * day is the era-year's last).
 */
struct cmos_tm {
	unsigned sec, min, hour, wday, mday, mon, year; /* wday 0 = Sunday, mon 1..12 */
};

static struct cmos_tm cmos_utc(time_t now)
{
	struct cmos_tm t;
	int64_t secs = (int64_t)now, days = secs / 86400, rem = secs % 86400;

	if (rem < 0)
		rem += 86400, days--;
	t.sec = (unsigned)(rem % 60), t.min = (unsigned)(rem / 60 % 60),
	t.hour = (unsigned)(rem / 3600);
	t.wday = (unsigned)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	int64_t z = days + 719468;		    /* days since 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;					     /* 0 .. 146096 */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0 .. 399 */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* 0 .. 365, from March 1st */
	int64_t mp = (5 * doy + 2) / 153;		       /* 0 = March .. 11 = February */
	t.mday = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	t.mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	int64_t y = yoe + era * 400 + (t.mon <= 2);
	t.year = y < 0 ? 0 : (unsigned)y;
	return t;
}

/* A time field in the format status B asks for. */
static uint8_t cmos_fmt(const struct cmos *c, unsigned v)
{
	v %= 100;
	return (c->ram[CMOS_B] & CMOS_B_BINARY) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

uint8_t cmos_read(const struct cmos *c, uint8_t index, time_t now)
{
	index &= 0x7f;
	switch (index) {
	case CMOS_SEC:
	case CMOS_MIN:
	case CMOS_HOUR:
	case CMOS_WDAY:
	case CMOS_MDAY:
	case CMOS_MON:
	case CMOS_YEAR:
	case CMOS_CENTURY:
		break;
	case CMOS_A:
		return c->ram[CMOS_A] & (uint8_t)~CMOS_A_UIP;
	case CMOS_C:
		return 0;
	case CMOS_D:
		return CMOS_D_VRT;
	default:
		return c->ram[index];
	}
	struct cmos_tm tm = cmos_utc(now);
	switch (index) {
	case CMOS_SEC:
		return cmos_fmt(c, tm.sec);
	case CMOS_MIN:
		return cmos_fmt(c, tm.min);
	case CMOS_HOUR:
		if (c->ram[CMOS_B] & CMOS_B_24H)
			return cmos_fmt(c, tm.hour);
		/* 12-hour mode: 12, 1 .. 11, with bit 7 for PM */
		return (uint8_t)(cmos_fmt(c, tm.hour % 12 ? tm.hour % 12 : 12) |
				 (tm.hour >= 12 ? 0x80 : 0));
	case CMOS_WDAY:
		return cmos_fmt(c, tm.wday + 1);
	case CMOS_MDAY:
		return cmos_fmt(c, tm.mday);
	case CMOS_MON:
		return cmos_fmt(c, tm.mon);
	case CMOS_YEAR:
		return cmos_fmt(c, tm.year % 100);
	default: /* CMOS_CENTURY */
		return cmos_fmt(c, tm.year / 100);
	}
}

void cmos_write(struct cmos *c, uint8_t index, uint8_t v)
{
	index &= 0x7f;
	switch (index) {
	case CMOS_SEC:
	case CMOS_MIN:
	case CMOS_HOUR:
	case CMOS_WDAY:
	case CMOS_MDAY:
	case CMOS_MON:
	case CMOS_YEAR:
	case CMOS_CENTURY:
	case CMOS_C:
	case CMOS_D:
		return; /* the host's clock; read-only status */
	case CMOS_A:
		c->ram[CMOS_A] = v & (uint8_t)~CMOS_A_UIP;
		return;
	default:
		c->ram[index] = v;
	}
}

void cmos_io(struct cmos *c, uint64_t off, uint8_t *data, uint32_t len, bool is_write, time_t now)
{
	for (uint32_t i = 0; i < len; i++) {
		uint64_t port = off + i;
		if (port < off)
			port = 2; /* wrapped: outside the device */
		if (port == 0) {
			if (is_write)
				c->index = data[i] & 0x7f; /* bit 7: NMI mask, nothing to mask */
			else
				data[i] = 0xff;
		} else if (port == 1) {
			if (is_write)
				cmos_write(c, c->index, data[i]);
			else
				data[i] = cmos_read(c, c->index, now);
		} else if (!is_write) {
			data[i] = 0;
		}
	}
}

/* ---- the device ---- */

struct cmos_dev_state {
	pthread_mutex_t lock;
	struct cmos c;
};

static int cmos_port_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct cmos_dev_state *s = opaque;
	struct timespec ts;

	(void)v;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		ts.tv_sec = 0;
	pthread_mutex_lock(&s->lock);
	cmos_io(&s->c, off, data, len, is_write, ts.tv_sec);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int cmos_dev_init(struct dev_host *h, void *state)
{
	struct cmos_dev_state *s = state;
	int r;

	cmos_init(&s->c, dev_machine(h));
	pthread_mutex_init(&s->lock, NULL);
	r = dev_register(h, &(struct dev_region){.space = BUS_PIO,
						 .base = KESTREL_PORT_CMOS_INDEX,
						 .len = 2,
						 .fn = cmos_port_io,
						 .opaque = s,
						 .name = "cmos"});
	if (r < 0)
		pthread_mutex_destroy(&s->lock);
	return r;
}

static void cmos_dev_fini(void *state)
{
	struct cmos_dev_state *s = state;

	pthread_mutex_destroy(&s->lock);
}

const struct dev_ops cmos_dev = {
    .name = "cmos",
    .state_size = sizeof(struct cmos_dev_state),
    .init = cmos_dev_init,
    .fini = cmos_dev_fini,
};
