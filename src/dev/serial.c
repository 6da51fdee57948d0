/* serial.c - 16550A UART: transmit to the guest console, receive from the host's console input,
 * a 16-byte RX FIFO, interrupts on IRQ 4, loopback. */
#include "dev/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

/* Register offsets (16550A data sheet); DLAB = LCR bit 7 switches 0/1 to the divisor latch. */
enum {
	UART_THR_RBR = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7
};

#define UART_IER_RDI 0x01  /* received data available (and the character timeout) */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status: overrun, parity, framing, break */
#define UART_IER_MSI 0x08  /* modem status changed */

#define UART_IIR_NONE 0x01    /* no interrupt pending */
#define UART_IIR_MSI 0x00     /* priority 4: modem status */
#define UART_IIR_THRI 0x02    /* priority 3: THR empty */
#define UART_IIR_RDI 0x04     /* priority 2: received data at the trigger level */
#define UART_IIR_RLSI 0x06    /* priority 1: receiver line status */
#define UART_IIR_TIMEOUT 0x0c /* priority 2: data below the trigger level, line idle */
#define UART_IIR_FIFO 0xc0    /* FIFOs enabled (a 16550A, not an 8250) */

#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_FCR_KEEP 0xc9 /* enable, DMA mode, trigger level: what FCR holds */

#define UART_LCR_DLAB 0x80 /* offsets 0/1 are the divisor latch */

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* on a PC, gates the UART's interrupt to the PIC/IOAPIC */
#define UART_MCR_LOOP 0x10 /* loopback: THR feeds RBR, MCR feeds MSR, nothing leaves */

#define UART_LSR_DR 0x01   /* data ready */
#define UART_LSR_OE 0x02   /* overrun: a byte was lost */
#define UART_LSR_ERRS 0x1e /* OE, PE, FE, BI: cleared by reading LSR */
#define UART_LSR_THRE 0x20 /* transmit holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */
#define UART_LSR_FIFOE 0x80

#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80
#define UART_MSR_TERI 0x04 /* RI went from on to off */
/* Outside loopback: a peer is always there. */
#define UART_MSR_IDLE (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

struct serial {
	struct dev_host *h;
	pthread_mutex_t lock; /* register state; vCPUs, the main thread and an embedder share it */
	/* Read without the lock by the fast paths (THR, LSR): written with
	 * __atomic stores under the lock. */
	uint8_t ier, lcr, mcr, lsr_err;
	uint8_t rx_count;
	/* Under the lock only. */
	uint8_t scr, dll, dlm, fcr;
	uint8_t msr_delta; /* DCTS/DDSR/TERI/DDCD since the last MSR read */
	bool thr_ipending; /* the THRE interrupt: set when THR empties, cleared by IIR/THR */
	bool line;	   /* the level last put on the interrupt line */
	bool irq_warned;
	uint8_t rx_head;
	uint8_t rx[SERIAL_FIFO_SIZE];
};

static inline uint8_t ld8(const uint8_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void st8(uint8_t *p, uint8_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* The modem status inputs: a peer that is always there, or in loopback the
 * MCR's outputs wired back (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD). */
static uint8_t serial_msr_lines(uint8_t mcr)
{
	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_IDLE;
	return (uint8_t)(((mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
			 ((mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
			 ((mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
			 ((mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
}

/* What the RX FIFO holds at most: 16 bytes, or 1 (the 16450's RBR) with FIFOs off. */
static unsigned serial_rx_cap(const struct serial *s)
{
	return (s->fcr & UART_FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

/* The receiver's trigger level, FCR bits 7:6. */
static unsigned serial_rx_trigger(const struct serial *s)
{
	static const uint8_t level[4] = {1, 4, 8, 14};

	return (s->fcr & UART_FCR_ENABLE) ? level[s->fcr >> 6] : 1;
}

static void serial_rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_count >= serial_rx_cap(s)) {
		st8(&s->lsr_err, s->lsr_err | UART_LSR_OE); /* the new byte is lost */
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = b;
	st8(&s->rx_count, (uint8_t)(s->rx_count + 1));
}

/* Top the FIFO up from the host's console input, as the line would. Not in
 * loopback: the receiver then hears only the transmitter. */
static void serial_rx_fill(struct serial *s)
{
	uint8_t buf[SERIAL_FIFO_SIZE];
	unsigned cap = serial_rx_cap(s);

	if (s->mcr & UART_MCR_LOOP || s->rx_count >= cap)
		return;
	size_t n = dev_console_read(s->h, buf, cap - s->rx_count);
	for (size_t i = 0; i < n; i++)
		serial_rx_push(s, buf[i]);
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = 0;
	st8(&s->rx_count, 0);
}

/* The pending interrupt of highest priority, as IIR bits 3:0 (UART_IIR_NONE: none). */
static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr_err & UART_LSR_ERRS))
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return s->rx_count >= serial_rx_trigger(s) ? UART_IIR_RDI : UART_IIR_TIMEOUT;
	if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && s->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NONE;
}

/*
 * Drive IRQ 4 to the UART's INTR output, gated by OUT2 as on a PC (and cut
 * in loopback, where the OUT2 pin is forced inactive). KVM's PIC and IOAPIC
 * take ISA IRQ 4 as edge-triggered: the line follows INTR, and a new
 * interrupt needs INTR to drop first, which is what Linux's 8250 driver
 * expects (its handler reads IIR until it says "none"). Only changes reach
 * KVM: one KVM_IRQ_LINE per edge. Lock held.
 */
static void serial_update_irq(struct serial *s)
{
	bool level = serial_iir_id(s) != UART_IIR_NONE && (s->mcr & UART_MCR_OUT2) &&
		     !(s->mcr & UART_MCR_LOOP);

	if (level == s->line)
		return;
	s->line = level;
	int r = dev_irq_line(s->h, SERIAL_IRQ, level);
	if (r < 0 && level && !s->irq_warned) {
		s->irq_warned = true;
		if (r == -ENODEV)
			dev_log(
			    s->h,
			    "serial: the guest enabled UART interrupts, but this VM has no "
			    "in-kernel PIC/IOAPIC for IRQ %u (%s adds one): they are not delivered",
			    SERIAL_IRQ, dev_config_name(s->h, "pit"));
		else
			dev_log(s->h, "serial: raising IRQ %u failed: %s", SERIAL_IRQ,
				strerror(-r));
	}
}

/* THR: to the console (or, in loopback, to the receiver). The console write
 * happens outside the lock: the drain of the coalesced ring calls this with
 * the console's lock held, and the lock order is console -> serial. */
static void serial_thr_write(struct serial *s, uint8_t val)
{
	bool out;

	pthread_mutex_lock(&s->lock);
	out = !(s->mcr & UART_MCR_LOOP);
	if (!out)
		serial_rx_push(s, val);
	/* It leaves at once: THR is empty again, which is an interrupt. */
	s->thr_ipending = true;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (out)
		dev_console_write(s->h, &val, 1);
}

static uint8_t serial_read_locked(struct serial *s, uint64_t off)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v = 0, id;

	switch (off) {
	case UART_THR_RBR:
		if (dlab)
			return s->dll;
		if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (uint8_t)((s->rx_head + 1) % SERIAL_FIFO_SIZE);
			st8(&s->rx_count, (uint8_t)(s->rx_count - 1));
		}
		serial_rx_fill(s);
		break; /* an empty RBR reads 0 */
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR:
		id = serial_iir_id(s);
		if (id == UART_IIR_THRI)
			s->thr_ipending = false; /* reading IIR that shows it clears it */
		v = (uint8_t)(id | ((s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0));
		break;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = (uint8_t)(s->lsr_err | UART_LSR_THRE | UART_LSR_TEMT |
			      (s->rx_count ? UART_LSR_DR : 0));
		if ((s->fcr & UART_FCR_ENABLE) && (s->lsr_err & (UART_LSR_ERRS & ~UART_LSR_OE)))
			v |= UART_LSR_FIFOE;
		st8(&s->lsr_err, 0);
		break;
	case UART_MSR:
		v = (uint8_t)(serial_msr_lines(s->mcr) | s->msr_delta);
		s->msr_delta = 0;
		break;
	case UART_SCR:
		return s->scr;
	}
	serial_update_irq(s);
	return v;
}

static void serial_write_locked(struct serial *s, uint64_t off, uint8_t val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t old;

	switch (off) {
	case UART_THR_RBR: /* only the divisor latch: serial_thr_write has the rest */
		s->dll = val;
		return;
	case UART_IER:
		if (dlab) {
			s->dlm = val;
			return;
		}
		old = s->ier;
		st8(&s->ier, val & 0x0f);
		/* Enabling the THRE interrupt while THR is empty raises it. */
		if ((val & UART_IER_THRI) && !(old & UART_IER_THRI))
			s->thr_ipending = true;
		break;
	case UART_IIR_FCR:
		/*
		 * FCR's other bits are programmed only with bit 0 set (data
		 * sheet). Switching the FIFOs off clears them; switching them on
		 * keeps the byte the 16450-mode RBR holds (it is in no FIFO yet),
		 * so a guest that does not ask for a clear loses nothing that
		 * arrived before it set the UART up.
		 */
		if (!(val & UART_FCR_ENABLE)) {
			if (s->fcr & UART_FCR_ENABLE)
				serial_rx_clear(s);
			s->fcr = 0;
		} else {
			if (val & UART_FCR_CLEAR_RX)
				serial_rx_clear(s);
			s->fcr = val & UART_FCR_KEEP;
		}
		serial_rx_fill(s);
		break;
	case UART_LCR:
		st8(&s->lcr, val);
		return;
	case UART_MCR: {
		uint8_t before = serial_msr_lines(s->mcr), after;
		st8(&s->mcr, val & 0x1f);
		after = serial_msr_lines(s->mcr);
		/* Deltas: DCTS, DDSR, DDCD on any change, TERI when RI goes off. */
		if ((before ^ after) & UART_MSR_CTS)
			s->msr_delta |= 0x01;
		if ((before ^ after) & UART_MSR_DSR)
			s->msr_delta |= 0x02;
		if ((before & UART_MSR_RI) && !(after & UART_MSR_RI))
			s->msr_delta |= UART_MSR_TERI;
		if ((before ^ after) & UART_MSR_DCD)
			s->msr_delta |= 0x08;
		serial_rx_fill(s); /* out of loopback: the line is back */
		break;
	}
	case UART_SCR:
		s->scr = val;
		return;
	default: /* LSR, MSR: read-only (factory test writes) */
		return;
	}
	serial_update_irq(s);
}

/* The registers are bytes: a wider access reaches the first one only (the
 * others read as 0, the bus zero-fills reads; written, they are dropped). */
static int serial_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write)
{
	struct serial *s = opaque;
	uint8_t val = data[0];

	/*
	 * The hot paths take no lock. Transmit with the THRE interrupt off needs no
	 * register state beyond DLAB and loopback (with coalesced PIO these writes
	 * do not even exit: the ring's drain sends them, src/core/console.c). The
	 * line status, polled before every byte by Linux's 8250 early console and
	 * kestrel's guests, is the FIFO count unless an error bit waits.
	 */
	if (is_write && off == UART_THR_RBR) {
		uint8_t lcr = ld8(&s->lcr), mcr = ld8(&s->mcr), ier = ld8(&s->ier);
		if (!(lcr & UART_LCR_DLAB)) {
			if (!(mcr & UART_MCR_LOOP) && !(ier & UART_IER_THRI))
				dev_console_write(s->h, &val, 1);
			else
				serial_thr_write(s, val);
			return 0;
		}
	}
	if (!is_write && off == UART_LSR && !ld8(&s->lsr_err)) {
		data[0] = (uint8_t)(UART_LSR_THRE | UART_LSR_TEMT |
				    (ld8(&s->rx_count) ? UART_LSR_DR : 0));
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write_locked(s, off, val);
	else
		data[0] = serial_read_locked(s, off);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* THR/RBR (and DLL) alone, so that it can be a coalesced zone; offset 0 of both. */
static int serial_thr_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write)
{
	return serial_io(v, opaque, UART_THR_RBR, data, len, is_write);
}

static int serial_regs_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	return serial_io(v, opaque, off + 1, data, len, is_write);
}

/* Console input arrived (the main thread's wait, or kestrel_vm_console_input). */
static void serial_input(void *state)
{
	struct serial *s = state;

	pthread_mutex_lock(&s->lock);
	serial_rx_fill(s);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static int serial_init(struct dev_host *h, void *state)
{
	struct serial *s = state;
	int r;

	*s = (struct serial){.h = h, .lcr = 0x03 /* 8N1 */, .mcr = UART_MCR_OUT2};
	pthread_mutex_init(&s->lock, NULL);
	r = dev_register(h, &(struct dev_region){.space = BUS_PIO,
						 .base = KESTREL_PORT_COM1,
						 .len = 1,
						 .fn = serial_thr_io,
						 .opaque = s,
						 .name = "serial",
						 .flags = DEV_COALESCED});
	if (r == 0)
		r = dev_register(h, &(struct dev_region){.space = BUS_PIO,
							 .base = KESTREL_PORT_COM1 + 1,
							 .len = 7,
							 .fn = serial_regs_io,
							 .opaque = s,
							 .name = "serial"});
	if (r < 0)
		pthread_mutex_destroy(&s->lock);
	return r;
}

static void serial_fini(void *state)
{
	struct serial *s = state;

	pthread_mutex_destroy(&s->lock);
}

const struct dev_ops serial_dev = {
    .name = "serial",
    .state_size = sizeof(struct serial),
    .init = serial_init,
    .fini = serial_fini,
    .input = serial_input,
};
