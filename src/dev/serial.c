/* serial.c - 16550A UART: enough of the register file for polled transmit (Linux earlyprintk,
 * bare-metal putc). */
#include "dev/serial.h"

#include <pthread.h>
#include <stdbool.h>

struct serial {
	struct dev_host *h;
	pthread_mutex_t lock; /* register state; vCPUs may share the port */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
};

#define SERIAL_LCR_DLAB 0x80 /* LCR bit 7: offsets 0/1 are the divisor latch */
#define SERIAL_MCR_LOOP 0x10 /* MCR bit 4: loopback, nothing leaves the UART */

/* serial_transmits - a byte written to THR now goes to the console (DLAB
 * clear, no loopback). Read without the lock: the transmit paths (an exit,
 * the coalesced ring's drain) only need a value some write left there. */
static inline bool serial_transmits(const struct serial *s)
{
	return !(s->lcr & SERIAL_LCR_DLAB) && !(s->mcr & SERIAL_MCR_LOOP);
}

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
#define UART_LSR_THRE 0x20 /* transmit holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */
#define UART_IIR_NONE 0x01 /* no interrupt pending */
#define UART_IIR_FIFO 0xc0 /* FIFOs enabled (a 16550A, not an 8250) */
#define UART_MSR_IDLE 0xb0 /* DCD | DSR | CTS: a peer is always there */

static int serial_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write)
{
	struct serial *s = opaque;
	uint8_t val = data[0];

	/* The hot paths take no lock. Transmit needs no register state beyond
	 * DLAB and loopback (with coalesced PIO these writes do not even exit:
	 * the ring's drain sends them, src/console.c). The line status, polled
	 * before every byte by Linux's 8250 early console and kestrel's guests,
	 * is a constant: the transmitter is always empty. */
	if (is_write && off == UART_THR_RBR && serial_transmits(s)) {
		dev_console_write(s->h, &val, 1);
		return 0;
	}
	if (!is_write && off == UART_LSR) {
		data[0] = UART_LSR_THRE | UART_LSR_TEMT;
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	bool dlab = s->lcr & SERIAL_LCR_DLAB;
	if (is_write) {
		switch (off) {
		case UART_THR_RBR:
			if (dlab)
				s->dll = val;
			break; /* loopback: transmitted bytes vanish */
		case UART_IER:
			if (dlab)
				s->dlm = val;
			else
				s->ier = val & 0x0f;
			break;
		case UART_LCR:
			s->lcr = val;
			break;
		case UART_MCR:
			s->mcr = val & 0x1f;
			break;
		case UART_SCR:
			s->scr = val;
			break;
		default: /* FCR, LSR, MSR writes: nothing to emulate */
			break;
		}
	} else {
		switch (off) {
		case UART_THR_RBR:
			data[0] = dlab ? s->dll : 0; /* no input yet */
			break;
		case UART_IER:
			data[0] = dlab ? s->dlm : s->ier;
			break;
		case UART_IIR_FCR:
			data[0] = UART_IIR_NONE | UART_IIR_FIFO;
			break;
		case UART_LCR:
			data[0] = s->lcr;
			break;
		case UART_MCR:
			data[0] = s->mcr;
			break;
		case UART_LSR:
			data[0] = UART_LSR_THRE | UART_LSR_TEMT;
			break;
		case UART_MSR:
			data[0] = UART_MSR_IDLE;
			break;
		case UART_SCR:
			data[0] = s->scr;
			break;
		}
	}
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

static int serial_init(struct dev_host *h, void *state)
{
	struct serial *s = state;
	int r;

	*s = (struct serial){.h = h, .lcr = 0x03 /* 8N1 */, .mcr = 0x08 /* OUT2 */};
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
};
