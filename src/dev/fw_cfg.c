/* fw_cfg.c - QEMU's fw_cfg, legacy I/O interface: selector/data state machine and a keyed store of
 * items and files. */
#include "dev/fw_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_CFG_KEY_MASK ((uint16_t)~FW_CFG_WRITE_CHANNEL)

static int fw_cfg_why(char *why, size_t whylen, int err, const char *msg)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", msg);
	return err;
}

static bool fw_cfg_is_file_key(uint16_t key)
{
	return key >= FW_CFG_FILE_FIRST && key < FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS;
}

static struct fw_cfg_item *fw_cfg_find(struct fw_cfg *f, uint16_t key)
{
	for (unsigned i = 0; i < f->nitems; i++)
		if (f->items[i].key == key)
			return &f->items[i];
	return NULL;
}

/* Put a copy of data under key (locked). Slots are never removed, so the
 * guest's `cur` stays valid; it restarts at 0 when its data is replaced. */
static int fw_cfg_put(struct fw_cfg *f, uint16_t key, const void *data, size_t len,
		      const char *name, char *why, size_t whylen)
{
	struct fw_cfg_item *it = fw_cfg_find(f, key);
	uint8_t *copy = NULL;

	if (len > FW_CFG_ITEM_MAX)
		return fw_cfg_why(why, whylen, -EFBIG,
				  "fw_cfg item is larger than 4 GiB - 1 (its size is 32 bits)");
	if (len && !data)
		return fw_cfg_why(why, whylen, -EINVAL, "fw_cfg item has a length but no data");
	if (!it && f->nitems == FW_CFG_MAX_ITEMS)
		return fw_cfg_why(why, whylen, -ENOSPC,
				  "fw_cfg store is full (raise FW_CFG_MAX_ITEMS)");
	if (len) {
		copy = malloc(len);
		if (!copy)
			return fw_cfg_why(why, whylen, -ENOMEM, "out of memory for a fw_cfg item");
		memcpy(copy, data, len);
	}
	if (!it)
		it = &f->items[f->nitems++];
	else
		free(it->data);
	*it = (struct fw_cfg_item){.key = key, .len = (uint32_t)len, .data = copy};
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
	if (f->cur == it)
		f->offset = 0;
	return fw_cfg_why(why, whylen, 0, "");
}

static void fw_cfg_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The directory, rebuilt from the files (locked): BE32 count, then 64-byte
 * entries in the order the files were added. */
static int fw_cfg_put_dir(struct fw_cfg *f, char *why, size_t whylen)
{
	uint8_t dir[4 + FW_CFG_FILE_SLOTS * FW_CFG_DIR_ENTRY] = {0};
	uint8_t *e = dir + 4;

	fw_cfg_be32(dir, f->nfiles);
	for (unsigned i = 0; i < f->nitems; i++) {
		const struct fw_cfg_item *it = &f->items[i];
		if (!fw_cfg_is_file_key(it->key))
			continue;
		fw_cfg_be32(e, it->len);
		e[4] = (uint8_t)(it->key >> 8), e[5] = (uint8_t)it->key;
		memcpy(e + 8, it->name, FW_CFG_NAME_MAX);
		e += FW_CFG_DIR_ENTRY;
	}
	return fw_cfg_put(f, FW_CFG_FILE_DIR, dir, (size_t)(e - dir), NULL, why, whylen);
}

int fw_cfg_add(struct fw_cfg *f, uint16_t key, const void *data, size_t len, char *why,
	       size_t whylen)
{
	int r;

	key &= FW_CFG_KEY_MASK;
	if (key == FW_CFG_FILE_DIR || fw_cfg_is_file_key(key)) {
		char msg[120];
		snprintf(
		    msg, sizeof(msg),
		    "fw_cfg key 0x%04x is the file directory's or a file's: use fw_cfg_add_file",
		    key);
		return fw_cfg_why(why, whylen, -EINVAL, msg);
	}
	pthread_mutex_lock(&f->lock);
	r = fw_cfg_put(f, key, data, len, NULL, why, whylen);
	pthread_mutex_unlock(&f->lock);
	return r;
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len, uint16_t *key,
		    char *why, size_t whylen)
{
	size_t n = name ? strnlen(name, FW_CFG_NAME_MAX) : 0;
	uint16_t k;
	int r;

	if (n == 0 || n == FW_CFG_NAME_MAX)
		return fw_cfg_why(why, whylen, -EINVAL,
				  "fw_cfg file name must have 1 to 55 characters");
	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return fw_cfg_why(
			    why, whylen, -EINVAL,
			    "fw_cfg file name must be printable ASCII without blanks");
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->nitems; i++)
		if (fw_cfg_is_file_key(f->items[i].key) && !strcmp(f->items[i].name, name)) {
			pthread_mutex_unlock(&f->lock);
			return fw_cfg_why(why, whylen, -EEXIST,
					  "fw_cfg already has a file of that name");
		}
	if (f->nfiles == FW_CFG_FILE_SLOTS) {
		pthread_mutex_unlock(&f->lock);
		return fw_cfg_why(why, whylen, -ENOSPC, "all 32 fw_cfg file slots are taken");
	}
	k = (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles);
	r = fw_cfg_put(f, k, data, len, name, why, whylen);
	if (r == 0) {
		f->nfiles++;
		r = fw_cfg_put_dir(f, why, whylen);
		/* The directory's slot exists from init, so this cannot run out of
		 * slots; only of memory, and then the file stays unlisted. */
	}
	pthread_mutex_unlock(&f->lock);
	if (r == 0 && key)
		*key = k;
	return r;
}

static void fw_cfg_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int fw_cfg_store_init(struct fw_cfg *f, const struct dev_machine *m)
{
	uint8_t id[4], ram[8], cpus[2], e820[40];
	size_t ne820 = 20;
	int r;

	/* No memset: f is zeroed (a device's state, or fini's), and clearing all
	 * ~120 KB of it was ~30 page faults of a cold start. */
	pthread_mutex_init(&f->lock, NULL);
	fw_cfg_le(id, FW_CFG_ID_TRADITIONAL, 4);
	fw_cfg_le(ram, m->ram_size, 8);
	fw_cfg_le(cpus, m->ncpus, 2);
	/* etc/e820: RAM below the hole from 0, the rest from 4 GiB (abi.h). */
	fw_cfg_le(e820, 0, 8);
	fw_cfg_le(e820 + 8, m->ram_below_4g, 8);
	fw_cfg_le(e820 + 16, 1, 4); /* E820_RAM */
	if (m->ram_above_4g) {
		fw_cfg_le(e820 + 20, KESTREL_HIGH_START, 8);
		fw_cfg_le(e820 + 28, m->ram_above_4g, 8);
		fw_cfg_le(e820 + 36, 1, 4);
		ne820 = 40;
	}
	r = fw_cfg_add(f, FW_CFG_SIGNATURE, "QEMU", 4, NULL, 0);
	if (r == 0)
		r = fw_cfg_add(f, FW_CFG_ID, id, sizeof(id), NULL, 0);
	if (r == 0)
		r = fw_cfg_add(f, FW_CFG_RAM_SIZE, ram, sizeof(ram), NULL, 0);
	if (r == 0)
		r = fw_cfg_add(f, FW_CFG_NB_CPUS, cpus, sizeof(cpus), NULL, 0);
	if (r == 0)
		r = fw_cfg_add(f, FW_CFG_MAX_CPUS, cpus, sizeof(cpus), NULL, 0);
	if (r == 0) {
		pthread_mutex_lock(&f->lock);
		r = fw_cfg_put_dir(f, NULL, 0);
		pthread_mutex_unlock(&f->lock);
	}
	if (r == 0)
		r = fw_cfg_add_file(f, "etc/e820", e820, ne820, NULL, NULL, 0);
	if (r < 0)
		fw_cfg_store_fini(f);
	return r;
}

void fw_cfg_store_fini(struct fw_cfg *f)
{
	for (unsigned i = 0; i < f->nitems; i++)
		free(f->items[i].data);
	pthread_mutex_destroy(&f->lock);
	memset(f, 0, sizeof(*f)); /* ready for fw_cfg_store_init again */
}

/* ---- the guest's side ---- */

static void fw_cfg_select_locked(struct fw_cfg *f, uint16_t selector)
{
	f->selector = selector;
	f->cur = fw_cfg_find(f, selector & FW_CFG_KEY_MASK);
	f->offset = 0;
}

static uint8_t fw_cfg_read_locked(struct fw_cfg *f)
{
	if (!f->cur || f->offset >= f->cur->len)
		return 0; /* no such item, or past its end: 0, the offset stays */
	return f->cur->data[f->offset++];
}

void fw_cfg_select(struct fw_cfg *f, uint16_t selector)
{
	pthread_mutex_lock(&f->lock);
	fw_cfg_select_locked(f, selector);
	pthread_mutex_unlock(&f->lock);
}

uint8_t fw_cfg_read_byte(struct fw_cfg *f)
{
	uint8_t b;

	pthread_mutex_lock(&f->lock);
	b = fw_cfg_read_locked(f);
	pthread_mutex_unlock(&f->lock);
	return b;
}

void fw_cfg_io(struct fw_cfg *f, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	(void)off; /* QEMU decodes 0x510 and 0x511 as one register pair */
	if (is_write) {
		if (len == 2)
			fw_cfg_select(f, (uint16_t)(data[0] | data[1] << 8));
		/* 1 byte: a data write, ignored since QEMU 2.4; wider: invalid */
		return;
	}
	memset(data, 0, len);
	if (len == 1)
		data[0] = fw_cfg_read_byte(f);
}

/* ---- the device ---- */

static int fw_cfg_port_io(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	(void)v;
	fw_cfg_io(opaque, off, data, len, is_write);
	return 0;
}

static int fw_cfg_init(struct dev_host *h, void *state)
{
	struct fw_cfg *f = state;
	int r = fw_cfg_store_init(f, dev_machine(h));

	if (r < 0)
		return r;
	r = dev_register(h, &(struct dev_region){.space = BUS_PIO,
						 .base = KESTREL_PORT_FW_CFG,
						 .len = 2,
						 .fn = fw_cfg_port_io,
						 .opaque = f,
						 .name = "fw_cfg"});
	if (r < 0)
		fw_cfg_store_fini(f);
	return r;
}

static void fw_cfg_fini(void *state)
{
	fw_cfg_store_fini(state);
}

const struct dev_ops fw_cfg_dev = {
    .name = "fw_cfg",
    .state_size = sizeof(struct fw_cfg),
    .init = fw_cfg_init,
    .fini = fw_cfg_fini,
};
