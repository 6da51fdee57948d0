/* lapic-calib - learn the TSC rate as a kernel would (CPUID, else the PIT), calibrate the LAPIC
 * timer, check its ticks. */
#include "apic.h"
#include "guest.h"
#include "trap.h"

/*
 * What a small kernel does at boot to get a working timer:
 *  1. ask CPUID for the TSC frequency (leaf 0x15, the hypervisor timing leaf
 *     0x40000010, leaf 0x16), checking each range's maximum leaf first;
 *  2. if CPUID gives it, calibrate the LAPIC timer against the TSC with an
 *     RDTSC spin of ~1 ms (no port I/O at all); otherwise run a 1 ms count
 *     on PIT channel 2, poll port 0x61 until it ends, and time the TSC and
 *     the LAPIC against it (its ends read from the latched PIT counter);
 *  3. run the LAPIC timer periodically (1 ms) for N ticks, taken as real
 *     interrupts through an IDT while the CPU sits in `sti; hlt`, and check
 *     the tick period against the TSC, corrected for delivery latency.
 * Every loop has an iteration guard, so a broken clock fails instead of hanging.
 *
 * Command line: a number sets the tick count (default 20, 5..1000); the word
 * `xapic` uses the xAPIC MMIO page even when CPUID offers x2APIC; `skew`
 * doubles the LAPIC rate it believes before the tick check (which must fail).
 * Output goes through the PUTS hypercall, one exit per line, so the port
 * accesses the calibration makes are not drowned by UART traffic.
 * Exit status: 0 pass, 1 a check failed, 2 a guard tripped, 3 an exception.
 */

#define TIMER_VECTOR 0x40u
#define DEFAULT_TICKS 20u
#define MIN_TICKS 5u /* the tick check needs some gaps a busy host left alone */
#define MAX_TICKS 1000u
#define TICK_US 1000u
#define SPIN_GUARD 50000000u	/* RDTSC reads in a 1 ms window: far more than any CPU needs */
#define PIT_POLL_GUARD 5000000u /* reads of port 0x61 in a 1 ms PIT window */
#define TICK_WAIT_SECONDS 10u
#define PIT_HZ 1193182u
#define PIT_LATCH ((PIT_HZ + 500u) / 1000u) /* 1 ms: 1193 PIT clocks */

/* Tolerances, in hundredths of a percent. */
#define ADVERTISED_TOL 200 /* measured LAPIC rate vs the rate CPUID implies */
#define PIT_TSC_TOL 1000   /* PIT-measured TSC rate vs kestrel's boot info */
/* Tick period vs the calibrated expectation: a 2x error fails by far; 1%
 * failed on a loaded nested host, where one tick is read hundreds of
 * microseconds late. */
#define TICK_TOL 300

#define STATUS_CHECK 1
#define STATUS_GUARD 2

/* ---- CPUID, the way a kernel asks ---------------------------------------- */

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static uint32_t max_basic, max_hv, max_ext;

/* Read each range's maximum leaf once: a leaf above it returns another
 * leaf's data on Intel (the highest basic leaf), not zeros. */
static void cpuid_init(void)
{
	uint32_t b, c, d, ecx1;

	cpuid(0, 0, &max_basic, &b, &c, &d);
	cpuid(0x80000000u, 0, &max_ext, &b, &c, &d);
	if (max_ext < 0x80000000u)
		max_ext = 0;
	max_hv = 0;
	if (max_basic >= 1) {
		cpuid(1, 0, &b, &b, &ecx1, &d);
		if (ecx1 & (1u << 31)) { /* hypervisor present: 0x40000000 is defined */
			cpuid(0x40000000u, 0, &max_hv, &b, &c, &d);
			/* Old KVM left EAX 0, meaning "up to 0x40000001". */
			if (max_hv < 0x40000000u)
				max_hv = 0x40000001u;
		}
	}
}

/* cpuid_leaf - leaf/subleaf (ECX set explicitly) if its range has it. */
static bool cpuid_leaf(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	uint32_t max = leaf >= 0x80000000u ? max_ext : leaf >= 0x40000000u ? max_hv : max_basic;

	if (leaf > max || (leaf >= 0x40000000u && leaf < 0x80000000u && !max_hv))
		return false;
	cpuid(leaf, subleaf, &r->eax, &r->ebx, &r->ecx, &r->edx);
	return true;
}

/* ---- the local APIC and the timer interrupt (guest library: apic.h, trap.h) ---- */

static volatile uint32_t ticks, ticks_wanted;
static uint64_t tick_tsc[MAX_TICKS + 1];   /* TSC in each tick's handler */
static uint32_t tick_ccr[MAX_TICKS + 1];   /* LAPIC current count at that moment */
static uint64_t tick_width[MAX_TICKS + 1]; /* how long reading it took */
static uint64_t latency[MAX_TICKS + 1];
static uint64_t fit_x[MAX_TICKS + 1]; /* a usable tick's period number */
static int64_t fit_y[MAX_TICKS + 1];  /* and its expiry, TSC cycles after the first */

static uint32_t lapic_count_at(uint64_t *tsc, uint64_t *width);

static void timer_isr(struct trap_frame *f)
{
	uint32_t n = ticks;

	(void)f;
	if (n <= MAX_TICKS)
		tick_ccr[n] = lapic_count_at(&tick_tsc[n], &tick_width[n]);
	ticks = ++n;
	if (n >= ticks_wanted)
		apic_write(APIC_TMICT, 0); /* stop: writing 0 halts a periodic timer */
	apic_eoi();
}

/* ---- finding the TSC rate in CPUID ---------------------------------------- */

struct timing {
	uint64_t tsc_khz;   /* 0: CPUID does not say */
	uint64_t lapic_khz; /* what CPUID implies for the LAPIC timer; 0: nothing */
	const char *source;
};

/* a * b / c without a 128-bit divide (freestanding: no libgcc). The
 * operands here are 32-bit counts times kHz rates, far from 2^64; if the
 * product ever overflowed, trade precision for a result. */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t p;

	if (!__builtin_mul_overflow(a, b, &p))
		return p / c;
	return a / c * b + a % c * b / c;
}

static void timing_from_cpuid(struct timing *t)
{
	struct cpuid_regs r15 = {0}, r16 = {0}, rhv = {0};
	bool h15 = cpuid_leaf(0x15, 0, &r15), h16 = cpuid_leaf(0x16, 0, &r16);
	bool hhv = cpuid_leaf(0x40000010u, 0, &rhv);

	*t = (struct timing){0};
	hc_printf("lapic-calib: cpuid max leaves: basic 0x%x, hypervisor 0x%x, extended 0x%x\n",
		  max_basic, max_hv, max_ext);
	if (h15)
		hc_printf("lapic-calib: leaf 0x15: eax=%u ebx=%u ecx=%u (TSC/crystal %u/%u, "
			  "crystal %u Hz)\n",
			  r15.eax, r15.ebx, r15.ecx, r15.ebx, r15.eax, r15.ecx);
	if (h16)
		hc_printf("lapic-calib: leaf 0x16: base %u MHz, max %u MHz, bus %u MHz\n",
			  r16.eax & 0xffff, r16.ebx & 0xffff, r16.ecx & 0xffff);
	if (hhv)
		hc_printf("lapic-calib: leaf 0x40000010: TSC %u kHz, APIC bus %u kHz\n", rhv.eax,
			  rhv.ebx);

	/* As Linux does: 0x15 with a crystal is exact, and the crystal is the
	 * LAPIC timer's clock. Then the hypervisor leaf (kHz), then 0x16 (MHz). */
	if (h15 && r15.eax && r15.ebx && r15.ecx) {
		t->tsc_khz = muldiv(r15.ecx, r15.ebx, r15.eax) / 1000;
		t->lapic_khz = r15.ecx / 1000;
		t->source = "leaf 0x15";
	} else if (hhv && rhv.eax) {
		t->tsc_khz = rhv.eax;
		t->lapic_khz = rhv.ebx;
		t->source = "leaf 0x40000010";
	} else if (h16 && (r16.eax & 0xffff)) {
		t->tsc_khz = (uint64_t)(r16.eax & 0xffff) * 1000;
		t->lapic_khz = (uint64_t)(r16.ecx & 0xffff) * 1000;
		t->source = "leaf 0x16";
	}
	/* A second source that disagrees (beyond 0x15's rounding) is worth a
	 * line, not a failure. */
	if (t->tsc_khz && hhv && rhv.eax &&
	    (rhv.eax > t->tsc_khz + t->tsc_khz / 10000 ||
	     rhv.eax + t->tsc_khz / 10000 < t->tsc_khz))
		hc_printf("lapic-calib: note: leaf 0x40000010 says %u kHz, %s says %lu kHz\n",
			  rhv.eax, t->source, t->tsc_khz);
}

/* ---- calibration ----------------------------------------------------------- */

struct calib {
	uint64_t tsc_khz;   /* from CPUID or measured against the PIT */
	uint64_t lapic_khz; /* measured */
	uint64_t loops;	    /* RDTSC spins or port 0x61 polls */
	uint32_t ports;	    /* port accesses this calibration made */
	unsigned tries;	    /* windows timed: more than 1 if one was disturbed */
	uint64_t pit_ticks; /* PIT clocks between the two latched reads */
	uint64_t unc_bp;    /* how uncertain the window's ends left the rate (1/100 %) */
};

/* TSC before and after one read of the LAPIC current count: the read's
 * moment is taken as the midpoint, so the read's own cost cancels out;
 * *width (if asked) is how uncertain that moment is. */
static uint32_t lapic_count_at(uint64_t *tsc, uint64_t *width)
{
	uint64_t a = rdtsc();
	uint32_t c = apic_read(APIC_TMCCT);
	uint64_t b = rdtsc();

	*tsc = a + (b - a) / 2;
	if (width)
		*width = b - a;
	return c;
}

/*
 * Either method times a 1 ms window with the LAPIC counting down (one-shot,
 * masked, from 0xffffffff). A vCPU preempted at the wrong moment (between
 * the start of the window and its own timestamp) would skew the window, so
 * each attempt checks its ends were not disturbed and is retried up to
 * CALIB_TRIES times (Linux's pit_calibrate_tsc similarly rejects a window
 * whose slowest step is more than 10 times its fastest).
 */
#define CALIB_TRIES 12

static void lapic_oneshot_start(void)
{
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | TIMER_VECTOR);
	apic_write(APIC_TMICT, 0xffffffffu);
}

static int calibrate_rdtsc(uint64_t tsc_khz, struct calib *c)
{
	uint64_t t0, t1, w0, w1, end, now, n, best = ~0ull;
	uint32_t c0, c1;

	c->tsc_khz = tsc_khz;
	c->ports = 0;
	for (c->tries = 1; c->tries <= CALIB_TRIES; c->tries++) {
		lapic_oneshot_start();
		c0 = lapic_count_at(&t0, &w0);
		end = t0 + tsc_khz; /* 1 ms of TSC cycles */
		n = 0;
		do {
			now = rdtsc();
		} while (now < end && ++n < SPIN_GUARD);
		c1 = lapic_count_at(&t1, &w1);
		apic_write(APIC_TMICT, 0);
		c->loops = n;
		if (n >= SPIN_GUARD) {
			hc_printf(
			    "lapic-calib: the TSC did not cover 1 ms in %u reads: giving up\n",
			    SPIN_GUARD);
			return STATUS_GUARD;
		}
		if (c0 <= c1 || t1 <= t0) {
			hc_printf("lapic-calib: the LAPIC timer did not count (0x%x -> 0x%x)\n", c0,
				  c1);
			return STATUS_CHECK;
		}
		/* Each end is known to +-width/2. A read is one exit (~8 us when
		 * nested, 2.5% of the window for both); a preempted one is far more.
		 * Keep the least disturbed window; stop at a good one. */
		if (w0 + w1 < best) {
			best = w0 + w1;
			c->lapic_khz = muldiv(c0 - c1, tsc_khz, t1 - t0);
			c->unc_bp = muldiv(best / 2, 10000, t1 - t0);
		}
		if (best <= tsc_khz / 40)
			break;
	}
	if (c->tries > CALIB_TRIES)
		c->tries = CALIB_TRIES;
	return 0;
}

/* PIT channel 2 in mode 0 with its gate on port 0x61: OUT2 (bit 5 of port
 * 0x61) rises when the 1 ms count runs out. Linux's pit_calibrate_tsc does
 * the same; every access here is a port exit, which is the point. */
#define PORT_PIT_CH2 0x42u
#define PORT_PIT_CMD 0x43u
#define PORT_SYS_CTRL 0x61u
#define SYS_CTRL_GATE2 0x01u
#define SYS_CTRL_SPEAKER 0x02u
#define SYS_CTRL_OUT2 0x20u

/* Latch PIT channel 2 and read its count (3 port accesses). *tsc is the
 * middle of the latch command, *width how uncertain that is. */
static uint16_t pit_count_at(uint64_t *tsc, uint64_t *width)
{
	uint64_t a = rdtsc(), b;
	uint8_t lo, hi;

	outb(PORT_PIT_CMD, 0x80); /* counter latch, channel 2 */
	b = rdtsc();
	lo = inb(PORT_PIT_CH2);
	hi = inb(PORT_PIT_CH2);
	*tsc = a + (b - a) / 2;
	*width = b - a;
	return (uint16_t)(hi << 8 | lo);
}

static int calibrate_pit(struct calib *c)
{
	uint64_t t0, t1, w0, w1, ts, te, ws, we, tp, tn, gap, gmin, n, ticks;
	uint32_t c0, c1;
	uint16_t p0, p1, d0, d1;
	uint8_t ctl, v;

	c->ports = 0;
	for (c->tries = 1;; c->tries++) {
		lapic_oneshot_start();
		ctl = inb(PORT_SYS_CTRL);
		outb(PORT_SYS_CTRL, (uint8_t)((ctl & ~SYS_CTRL_SPEAKER) | SYS_CTRL_GATE2));
		outb(PORT_PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
		outb(PORT_PIT_CH2, PIT_LATCH & 0xff);
		outb(PORT_PIT_CH2, PIT_LATCH >> 8); /* counting starts here */
		/* The window's ends are two latched reads of the counter, so the
		 * time it took to notice OUT2 drops out: mode 0 keeps counting
		 * down (through 0, to 0xffff ...) after it runs out. */
		p0 = pit_count_at(&ts, &ws);
		c0 = lapic_count_at(&t0, &w0);
		gmin = ~0ull;
		tp = t0;
		n = 0;
		do {
			v = inb(PORT_SYS_CTRL);
			tn = rdtsc();
			gap = tn - tp;
			gmin = gap < gmin ? gap : gmin;
			tp = tn;
		} while (!(v & SYS_CTRL_OUT2) && ++n < PIT_POLL_GUARD);
		p1 = pit_count_at(&te, &we);
		c1 = lapic_count_at(&t1, &w1);
		apic_write(APIC_TMICT, 0);
		c->ports += 5 + 6 + (uint32_t)(n < PIT_POLL_GUARD ? n + 1 : n);
		c->loops = n;
		if (n >= PIT_POLL_GUARD) {
			hc_printf(
			    "lapic-calib: PIT channel 2 never ran out after %u polls: giving up\n",
			    PIT_POLL_GUARD);
			return STATUS_GUARD;
		}
		/* PIT clocks from the load to the first latch, and past the end to
		 * the second: both small unless the vCPU was held up there (and
		 * the second under 65536, or the count wrapped). The latches and
		 * the LAPIC reads must each be quick, like a poll. */
		d0 = (uint16_t)(PIT_LATCH - p0);
		d1 = (uint16_t)(0 - p1);
		ticks = (uint16_t)(p0 - p1);
		if ((d0 <= PIT_LATCH / 4 && d1 <= PIT_LATCH / 4 && ws <= 10 * gmin &&
		     we <= 10 * gmin && w0 + w1 <= (t1 - t0) / 40) ||
		    c->tries == CALIB_TRIES)
			break;
	}
	if (c0 <= c1 || t1 <= t0 || te <= ts || ticks == 0) {
		hc_printf(
		    "lapic-calib: the LAPIC timer or the PIT did not count (0x%x -> 0x%x, %lu PIT "
		    "clocks)\n",
		    c0, c1, ticks);
		return STATUS_CHECK;
	}
	/* The TSC against the PIT clocks between the latches, then the LAPIC
	 * against the TSC over its own reads. */
	c->tsc_khz = muldiv(te - ts, PIT_HZ, ticks * 1000);
	c->lapic_khz = muldiv(c0 - c1, c->tsc_khz, t1 - t0);
	c->pit_ticks = ticks;
	return 0;
}

/* Signed difference of got from want in hundredths of a percent. */
static int64_t dev_bp(uint64_t got, uint64_t want)
{
	return want ? ((int64_t)got - (int64_t)want) * 10000 / (int64_t)want : 0;
}

static const char *bp_str(int64_t bp, char *buf, size_t len)
{
	uint64_t a = (uint64_t)(bp < 0 ? -bp : bp);

	snprintf(buf, len, "%c%lu.%02lu%%", bp < 0 ? '-' : '+', a / 100, a % 100);
	return buf;
}

/* ---- periodic ticks --------------------------------------------------------- */

/* The period as the least-squares slope of expiry against period number.
 * (last - first) / periods rests on two expiries alone, and one late count
 * read at either end (hundreds of microseconds on a busy nested host) moves
 * a 20-tick average by over 1%; the fit spreads each point's error over all
 * of them. In integers, exactly: with X = n*x - sum(x) (n times x's distance
 * from its mean), slope = sum(X * (y - my)) / (n*sum(x^2) - sum(x)^2) for any
 * my, since sum(X) = 0. Within 64 bits for MAX_TICKS ticks of a few ms. */
static uint64_t fit_period(const uint64_t *x, const int64_t *y, uint64_t n)
{
	int64_t sx = 0, sxx = 0, sy = 0, my, num = 0, den;

	if (n < 2)
		return 0;
	for (uint64_t i = 0; i < n; i++) {
		sx += (int64_t)x[i];
		sxx += (int64_t)(x[i] * x[i]);
		sy += y[i];
	}
	my = sy / (int64_t)n;
	for (uint64_t i = 0; i < n; i++)
		num += ((int64_t)n * (int64_t)x[i] - sx) * (y[i] - my);
	den = (int64_t)n * sxx - sx * sx;
	return den > 0 && num > 0 ? (uint64_t)(num / den) : 0;
}

static int check_ticks(const struct calib *c, unsigned nticks)
{
	uint32_t count = (uint32_t)(c->lapic_khz * TICK_US / 1000);
	uint64_t want = muldiv(count, c->tsc_khz, c->lapic_khz); /* TSC cycles per tick */
	uint64_t limit = c->tsc_khz * 1000 * TICK_WAIT_SECONDS, start;
	uint64_t first = 0, prev = 0, periods = 0, singles = 0, repeats = 0, period, lat_max = 0;
	uint64_t wmin = ~0ull, valid = 0, skipped = 0;
	char b1[24];
	int64_t d;

	ticks = 0;
	ticks_wanted = nticks + 1;
	apic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | TIMER_VECTOR);
	start = rdtsc();
	apic_write(APIC_TMICT, count);
	/* Check with interrupts off, then `sti; hlt`: the STI shadow makes the
	 * pair atomic, so a tick cannot slip in between and leave us asleep. */
	for (;;) {
		__asm__ volatile("cli" : : : "memory");
		if (ticks >= ticks_wanted)
			break;
		if (rdtsc() - start > limit) {
			apic_write(APIC_TMICT, 0);
			hc_printf("lapic-calib: only %u of %u ticks in %u s\n", ticks, ticks_wanted,
				  TICK_WAIT_SECONDS);
			return STATUS_GUARD;
		}
		__asm__ volatile("sti; hlt" : : : "memory");
	}
	/* When did each tick's period actually end? The handler ran some time
	 * after it (a vCPU descheduled on a busy host runs late), and the
	 * current count it read says how far into the next period it was, so
	 * subtracting that drops the delivery latency out. Consecutive expiries
	 * must then be whole periods apart; more than one means ticks merged
	 * (KVM's periodic timer does not queue missed ticks). A tick whose
	 * count read was slow (preempted in it) says nothing exact: skip it. */
	for (unsigned i = 0; i <= nticks; i++)
		wmin = tick_width[i] < wmin ? tick_width[i] : wmin;
	for (unsigned i = 0; i <= nticks; i++) {
		uint32_t ran = tick_ccr[i] <= count ? count - tick_ccr[i] : 0;
		uint64_t e;
		latency[i] = muldiv(ran, c->tsc_khz, c->lapic_khz);
		e = tick_tsc[i] - latency[i];
		lat_max = latency[i] > lat_max ? latency[i] : lat_max;
		for (unsigned j = i; j > 0 && latency[j - 1] > latency[j];
		     j--) { /* insertion sort */
			uint64_t x = latency[j];
			latency[j] = latency[j - 1];
			latency[j - 1] = x;
		}
		if (tick_width[i] > 10 * wmin) {
			skipped++;
			continue;
		}
		if (!valid++) {
			first = e;
			fit_x[0] = fit_y[0] = 0;
		} else {
			/* k == 0: a handler held up past the next expiry (vCPU preempted
			 * in it) saw that expiry, and so does the tick queued behind it. */
			uint64_t k = e > prev ? (e - prev + want / 2) / want : 0;
			periods += k;
			singles += k == 1;
			repeats += k == 0;
			fit_x[valid - 1] = periods;
			fit_y[valid - 1] = (int64_t)(e - first);
		}
		prev = e;
	}
	period = fit_period(fit_x, fit_y, valid);
	d = dev_bp(period, want);
	hc_printf(
	    "lapic-calib: %u ticks checked: period %lu TSC cycles = %lu us (want %lu, %s); "
	    "delivery latency median %lu us, max %lu us; %lu of %lu gaps one period, %lu repeats, "
	    "%lu periods in all; %lu ticks skipped (slow count read)\n",
	    nticks, period, period * 1000 / c->tsc_khz, want, bp_str(d, b1, sizeof(b1)),
	    latency[nticks / 2] * 1000 / c->tsc_khz, lat_max * 1000 / c->tsc_khz, singles,
	    valid ? valid - 1 : 0, repeats, periods, skipped);
	/* A real period that is a whole multiple of the expected one passes the
	 * average with every gap "merged" (a late tick's correction, made at the
	 * wrong rate, can still fake a single one); a much shorter one makes
	 * every gap a "repeat". With the right period most neighbours are one
	 * period apart even on a busy host: ask for a quarter of them. */
	if (valid < 2 || singles * 4 < valid - 1 || repeats > (valid - 1) / 2) {
		hc_printf("lapic-calib: too few ticks one period apart\n");
		return STATUS_CHECK;
	}
	if (d > TICK_TOL || d < -TICK_TOL) {
		hc_printf("lapic-calib: tick period is off by more than %d.%02d%%\n",
			  TICK_TOL / 100, TICK_TOL % 100);
		return STATUS_CHECK;
	}
	return 0;
}

/* ---- main -------------------------------------------------------------------- */

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	struct cpuid_regs r1;
	struct timing t;
	struct calib c = {0};
	uint64_t nticks, cal0, cal1 = 0;
	char b1[24];
	int st;

	if (cpu != 0)
		return 0;
	nticks = cmdline_uint_or(bi, DEFAULT_TICKS);
	if (nticks < MIN_TICKS || nticks > MAX_TICKS) {
		hc_printf("lapic-calib: tick count %lu is outside %u..%u\n", nticks, MIN_TICKS,
			  MAX_TICKS);
		return STATUS_CHECK;
	}

	cpuid_init();
	if (!cpuid_leaf(1, 0, &r1) || !(r1.edx & (1u << 9))) {
		hc_printf("lapic-calib: CPUID says there is no local APIC\n");
		return STATUS_CHECK;
	}
	trap_init("lapic-calib");
	trap_set(TIMER_VECTOR, timer_isr);
	apic_init((r1.ecx & (1u << 21)) && !cmdline_has_word(bi, "xapic"));
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | TIMER_VECTOR);
	hc_printf("lapic-calib: %s, APIC ID %u\n", apic_x2apic ? "x2APIC (MSRs)" : "xAPIC (MMIO)",
		  apic_id());

	timing_from_cpuid(&t);
	cal0 = rdtsc();
	if (t.tsc_khz) {
		st = calibrate_rdtsc(t.tsc_khz, &c);
		if (st)
			return st;
		cal1 = rdtsc();
		hc_printf("lapic-calib: method rdtsc: TSC %lu kHz from %s, 1 ms spin of %lu reads, "
			  "%u window(s), 0 port accesses\n",
			  t.tsc_khz, t.source, c.loops, c.tries);
	} else {
		st = calibrate_pit(&c);
		if (st)
			return st;
		cal1 = rdtsc();
		hc_printf(
		    "lapic-calib: method pit: no TSC rate in CPUID; 1 ms PIT window, %lu polls "
		    "of port 0x61, %lu PIT clocks latched, %u window(s), %u port accesses; TSC %lu "
		    "kHz "
		    "measured\n",
		    c.loops, c.pit_ticks, c.tries, c.ports, c.tsc_khz);
	}
	hc_printf("lapic-calib: LAPIC timer %lu kHz measured; calibration took %lu us\n",
		  c.lapic_khz, (cal1 - cal0) * 1000 / c.tsc_khz);

	/* The claims CPUID and kestrel made, against what was measured. */
	if (t.lapic_khz) {
		int64_t d = dev_bp(c.lapic_khz, t.lapic_khz);
		/* The bound widens by what the window's own ends leave unknown (a
		 * loaded host delays a count read by tens of microseconds). */
		/* Capped at 3%, so the check can still fail on a host that disturbed
		 * every window. */
		int64_t tol = ADVERTISED_TOL + (int64_t)(c.unc_bp < 300 ? c.unc_bp : 300);
		hc_printf("lapic-calib: %s implies a %lu kHz LAPIC timer: measured %s "
			  "(bound +-%ld.%02ld%%: 2%% and the window's +-%lu.%02lu%%)\n",
			  t.source, t.lapic_khz, bp_str(d, b1, sizeof(b1)), tol / 100, tol % 100,
			  c.unc_bp / 100, c.unc_bp % 100);
		if (d > tol || d < -tol)
			return STATUS_CHECK;
	}
	if (!t.tsc_khz && bi->tsc_khz) {
		int64_t d = dev_bp(c.tsc_khz, bi->tsc_khz);
		hc_printf("lapic-calib: boot info says TSC %lu kHz: PIT measurement %s\n",
			  bi->tsc_khz, bp_str(d, b1, sizeof(b1)));
		if (d > PIT_TSC_TOL || d < -PIT_TSC_TOL)
			return STATUS_CHECK;
	}

	/* Self-test of the tick check: `skew` believes the LAPIC runs at twice
	 * its measured rate, as a guest given a wrong crystal would; every tick
	 * then takes two expected periods and the check must fail. */
	if (cmdline_has_word(bi, "skew")) {
		c.lapic_khz *= 2;
		hc_printf("lapic-calib: skew: pretending the LAPIC timer runs at %lu kHz\n",
			  c.lapic_khz);
	}
	st = check_ticks(&c, (unsigned)nticks);
	if (st)
		return st;
	if (trap_spurious)
		hc_printf("lapic-calib: %u spurious interrupts\n", trap_spurious);
	hc_printf("KESTREL-LAPIC-CALIB-OK method=%s lapic_khz=%lu ticks=%lu\n",
		  t.tsc_khz ? "rdtsc" : "pit", c.lapic_khz, nticks);
	return 0;
}
