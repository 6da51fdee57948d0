/* bochs_shutdown.c - port 0x8900: the string "Shutdown", byte by byte, ends the VM with status 0
 * (as Bochs and old QEMU BIOSes). */
#include "dev/bochs_shutdown.h"

#include <pthread.h>

static const char bochs_shutdown_word[] = "Shutdown";

bool bochs_shutdown_feed(uint8_t *matched, uint8_t byte)
{
	if (*matched >= sizeof(bochs_shutdown_word) - 1)
		*matched = 0;
	if (byte == (uint8_t)bochs_shutdown_word[*matched])
		(*matched)++;
	else
		*matched = byte == (uint8_t)bochs_shutdown_word[0];
	if (*matched == sizeof(bochs_shutdown_word) - 1) {
		*matched = 0;
		return true;
	}
	return false;
}

struct bochs_shutdown {
	struct dev_host *h;
	pthread_mutex_t lock;
	uint8_t matched;
};

static int bochs_shutdown_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data,
			     uint32_t len, bool is_write)
{
	struct bochs_shutdown *s = opaque;
	bool done = false;

	(void)off;
	if (!is_write)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len && !done; i++)
		done = bochs_shutdown_feed(&s->matched, data[i]);
	pthread_mutex_unlock(&s->lock);
	if (done)
		return dev_stop(s->h, v, KESTREL_EXIT_POWEROFF, 0,
				"guest powered off (\"Shutdown\" to port 0x%x)",
				KESTREL_PORT_BOCHS_SHUTDOWN);
	return 0;
}

static int bochs_shutdown_init(struct dev_host *h, void *state)
{
	struct bochs_shutdown *s = state;
	int r;

	s->h = h;
	pthread_mutex_init(&s->lock, NULL);
	r = dev_register(h, &(struct dev_region){.space = BUS_PIO,
						 .base = KESTREL_PORT_BOCHS_SHUTDOWN,
						 .len = 1,
						 .fn = bochs_shutdown_io,
						 .opaque = s,
						 .name = "bochs-shutdown"});
	if (r < 0)
		pthread_mutex_destroy(&s->lock);
	return r;
}

static void bochs_shutdown_fini(void *state)
{
	struct bochs_shutdown *s = state;

	pthread_mutex_destroy(&s->lock);
}

const struct dev_ops bochs_shutdown_dev = {
    .name = "bochs-shutdown",
    .state_size = sizeof(struct bochs_shutdown),
    .init = bochs_shutdown_init,
    .fini = bochs_shutdown_fini,
};
