/* pci_conf.c - PCI configuration mechanism #1 answering "no device" for every bus/device/function,
 * and the 0xcf9 reset control. */
#include "dev/pci_conf.h"

#include <pthread.h>

bool pci_conf_io(struct pci_conf *p, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	if (off >= 4) { /* CONFIG_DATA: nothing on the bus */
		if (!is_write)
			for (uint32_t i = 0; i < len; i++)
				data[i] = 0xff;
		return false;
	}
	if (off == 1 && len == 1) { /* 0xcf9, the reset control register */
		if (!is_write) {
			data[0] = p->rcr;
			return false;
		}
		if (data[0] & PCI_CONF_RCR_RST_CPU)
			return true;
		p->rcr = data[0] & 0x0a; /* SYS_RST, FULL_RST: remembered, act with RST_CPU */
		return false;
	}
	if (is_write) {
		if (off == 0 && len == 4)
			p->addr = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
				  (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
		return false;
	}
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < 4 ? (uint8_t)(p->addr >> (8 * (off + i))) : 0xff;
	return false;
}

/* ---- the device ---- */

struct pci_conf_dev_state {
	struct dev_host *h;
	pthread_mutex_t lock;
	struct pci_conf c;
};

static int pci_conf_port_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			    bool is_write)
{
	struct pci_conf_dev_state *s = opaque;
	bool reset;

	pthread_mutex_lock(&s->lock);
	reset = pci_conf_io(&s->c, off, data, len, is_write);
	pthread_mutex_unlock(&s->lock);
	if (reset)
		return dev_stop(s->h, v, KESTREL_EXIT_RESET, KESTREL_STATUS_RESET,
				"guest reset the machine (0x%02x to the reset control port 0xcf9)",
				data[0]);
	return 0;
}

static int pci_conf_init(struct dev_host *h, void *state)
{
	struct pci_conf_dev_state *s = state;
	int r;

	s->h = h;
	pthread_mutex_init(&s->lock, NULL);
	r = dev_register(h, &(struct dev_region){.space = BUS_PIO,
						 .base = KESTREL_PORT_PCI_ADDR,
						 .len = 8,
						 .fn = pci_conf_port_io,
						 .opaque = s,
						 .name = "pci-conf"});
	if (r < 0)
		pthread_mutex_destroy(&s->lock);
	return r;
}

static void pci_conf_fini(void *state)
{
	struct pci_conf_dev_state *s = state;

	pthread_mutex_destroy(&s->lock);
}

const struct dev_ops pci_conf_dev = {
    .name = "pci-conf",
    .state_size = sizeof(struct pci_conf_dev_state),
    .init = pci_conf_init,
    .fini = pci_conf_fini,
};
