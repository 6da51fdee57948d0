/* console_in.c - guest console input: a bounded ring between the host (an fd, the embedder) and
 * the UART, and the console escape commands. */
#include "core/console_in.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/vm.h"

void console_in_init(struct console_in *ci, const struct kestrel_config *cfg)
{
	memset(ci, 0, sizeof(*ci));
	pthread_mutex_init(&ci->lock, NULL);
	ci->fd = cfg->console_in ? cfg->console_in_fd : -1;
	ci->escape = ci->fd >= 0 ? cfg->console_escape : 0;
}

void console_in_destroy(struct console_in *ci)
{
	pthread_mutex_destroy(&ci->lock);
}

/* Append what fits of p[0..n) to the ring; returns how much did. Lock held. */
static size_t console_in_put_locked(struct console_in *ci, const uint8_t *p, size_t n)
{
	size_t room = sizeof(ci->buf) - ci->len, k = n < room ? n : room;
	size_t tail = (ci->head + ci->len) % sizeof(ci->buf);
	size_t first = k < sizeof(ci->buf) - tail ? k : sizeof(ci->buf) - tail;

	if (!k)
		return 0; /* p may be NULL then */
	memcpy(ci->buf + tail, p, first);
	memcpy(ci->buf, p + first, k - first);
	ci->len += k;
	return k;
}

size_t console_in_take(struct kestrel_vm *vm, uint8_t *buf, size_t len)
{
	struct console_in *ci = &vm->cin;
	size_t k, first;

	pthread_mutex_lock(&ci->lock);
	k = len < ci->len ? len : ci->len;
	first = k < sizeof(ci->buf) - ci->head ? k : sizeof(ci->buf) - ci->head;
	memcpy(buf, ci->buf + ci->head, first);
	memcpy(buf + first, ci->buf, k - first);
	ci->head = (ci->head + k) % sizeof(ci->buf);
	ci->len -= k;
	ci->taken += k;
	pthread_mutex_unlock(&ci->lock);
	return k;
}

int console_in_wait_fd(struct kestrel_vm *vm, bool *full)
{
	struct console_in *ci = &vm->cin;
	bool room;

	*full = false;
	if (ci->fd < 0)
		return -1;
	if (ci->escape)
		return ci->fd; /* read on, drop what does not fit */
	pthread_mutex_lock(&ci->lock);
	room = ci->len < sizeof(ci->buf);
	pthread_mutex_unlock(&ci->lock);
	*full = !room;
	return room ? ci->fd : -1;
}

/* "Ctrl-A" for a control byte, else its value. */
static void console_in_key_name(uint8_t c, char *buf, size_t len)
{
	if (c < 0x20)
		snprintf(buf, len, "Ctrl-%c", c + 0x40);
	else
		snprintf(buf, len, "0x%02x", c);
}

/* Ctrl-A h: asked for, so written even with verbosity -1 (log_fd -1: nowhere). */
static void console_in_help(const struct kestrel_vm *vm)
{
	char key[16], text[512];
	int n;

	if (vm->cfg.log_fd < 0)
		return;
	console_in_key_name(vm->cin.escape, key, sizeof(key));
	n = snprintf(text, sizeof(text),
		     "kestrel: console escape: %s, then\n"
		     "kestrel:   x       stop the VM (exit kind stopped, SIGINT: status 130)\n"
		     "kestrel:   %-7s send %s itself to the guest\n"
		     "kestrel:   h       this help\n",
		     key, key, key);
	if (n > 0 && write(vm->cfg.log_fd, text,
			   (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1) < 0) {
		/* nowhere to say it */
	}
}

void console_in_read(struct kestrel_vm *vm)
{
	struct console_in *ci = &vm->cin;
	uint8_t raw[512], out[512];
	size_t want = sizeof(raw), m = 0, put;
	bool stop = false, help = false;
	ssize_t n;

	if (ci->fd < 0)
		return;
	if (!ci->escape) {
		pthread_mutex_lock(&ci->lock);
		size_t room = sizeof(ci->buf) - ci->len;
		pthread_mutex_unlock(&ci->lock);
		want = room < want ? room : want;
		if (!want)
			return;
	}
	n = read(ci->fd, raw, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (n < 0)
			vm_log(vm, "console input: reading fd %d failed (%s): no more input",
			       ci->fd, strerror(errno));
		else
			vm_info(vm, "console input: end of file on fd %d", ci->fd);
		ci->fd = -1; /* the guest is not told: a UART has no end of file */
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t c = raw[i];
		if (ci->escaped) {
			ci->escaped = false;
			if (c == ci->escape)
				out[m++] = c;
			else if (c == 'x' || c == 'X')
				stop = true;
			else if (c == 'h' || c == 'H' || c == '?')
				help = true;
			continue; /* anything else: dropped with the escape */
		}
		if (ci->escape && c == ci->escape)
			ci->escaped = true;
		else
			out[m++] = c;
		if (stop)
			break;
	}
	pthread_mutex_lock(&ci->lock);
	put = console_in_put_locked(ci, out, m);
	ci->given += m;
	ci->dropped += m - put;
	pthread_mutex_unlock(&ci->lock);
	if (put)
		vm_devices_input(vm);
	if (help)
		console_in_help(vm);
	if (stop) {
		char key[16];
		console_in_key_name(ci->escape, key, sizeof(key));
		vm_stop_fmt(vm, NULL, KESTREL_EXIT_STOPPED, SIGINT,
			    "stopped from the console (%s x)", key);
	}
}

int kestrel_vm_console_input(struct kestrel_vm *vm, const void *buf, size_t len)
{
	struct console_in *ci;
	size_t put;

	if (!vm || (!buf && len))
		return -EINVAL;
	ci = &vm->cin;
	pthread_mutex_lock(&ci->lock);
	if (ci->closed) {
		pthread_mutex_unlock(&ci->lock);
		return -EPIPE;
	}
	put = console_in_put_locked(ci, buf, len);
	ci->given += put;
	pthread_mutex_unlock(&ci->lock);
	if (put)
		vm_devices_input(vm);
	return (int)put;
}

void console_in_finish(struct kestrel_vm *vm)
{
	struct console_in *ci = &vm->cin;
	uint64_t dropped;

	pthread_mutex_lock(&ci->lock);
	ci->closed = true;
	dropped = ci->dropped;
	pthread_mutex_unlock(&ci->lock);
	if (dropped)
		vm_log(vm,
		       "console input: %llu bytes dropped: %u were already waiting for the guest, "
		       "which was not reading its UART",
		       (unsigned long long)dropped, KESTREL_CONSOLE_IN_MAX);
}
