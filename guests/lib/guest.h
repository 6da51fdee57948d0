/* guest.h - the tiny freestanding library every kestrel test guest links against. */
#ifndef KESTREL_GUEST_H
#define KESTREL_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kestrel/abi.h"

/*
 * Each guest defines main(). The library's _start validates the boot info,
 * calls main on every vCPU and then:
 *   - on CPU 0, ends the VM with the exit hypercall and main's return value;
 *   - on any other CPU, halts that CPU forever (cli; hlt).
 * RSP, RDI (cpu index) and RSI (boot info) come from kestrel (see abi.h).
 */
int main(unsigned cpu, const struct kestrel_boot_info *bi);

/* Exit status used by the library itself when the boot info is unusable. */
#define GUEST_STATUS_BAD_BOOT_INFO 100

/* The boot info, set by the library before main runs on any CPU. */
extern const struct kestrel_boot_info *guest_boot_info;

#define GUEST_NORETURN __attribute__((noreturn))
#define GUEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- port I/O ---------------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* ---- hypercalls ---------------------------------------------------------- */

/*
 * hypercallN(nr, ...) - register hypercall `nr` (a compile-time constant,
 * one of enum kestrel_hypercall): `out %al, $(KESTREL_HC_PORT_BASE + nr)`
 * with arguments in RDI, RSI, RDX, RCX. Evaluates to RAX (uint64_t). Only
 * RAX is declared as changed: the ABI promises every other register survives.
 * The "memory" clobber makes buffers passed by address visible to kestrel.
 */
#define HC_CHECK_NR_(nr)                                                                           \
	_Static_assert((nr) >= 0 && (nr) < (int)KESTREL_HC_COUNT, "bad hypercall number")

#define hypercall0(nr)                                                                             \
	__extension__({                                                                            \
		HC_CHECK_NR_(nr);                                                                  \
		uint64_t hc_ret_;                                                                  \
		__asm__ volatile("outb %%al, %[port]"                                              \
				 : "=a"(hc_ret_)                                                   \
				 : [port] "i"(KESTREL_HC_PORT_BASE + (nr))                         \
				 : "memory");                                                      \
		hc_ret_;                                                                           \
	})

#define hypercall1(nr, a)                                                                          \
	__extension__({                                                                            \
		HC_CHECK_NR_(nr);                                                                  \
		uint64_t hc_ret_;                                                                  \
		__asm__ volatile("outb %%al, %[port]"                                              \
				 : "=a"(hc_ret_)                                                   \
				 : [port] "i"(KESTREL_HC_PORT_BASE + (nr)), "D"((uint64_t)(a))     \
				 : "memory");                                                      \
		hc_ret_;                                                                           \
	})

#define hypercall2(nr, a, b)                                                                       \
	__extension__({                                                                            \
		HC_CHECK_NR_(nr);                                                                  \
		uint64_t hc_ret_;                                                                  \
		__asm__ volatile("outb %%al, %[port]"                                              \
				 : "=a"(hc_ret_)                                                   \
				 : [port] "i"(KESTREL_HC_PORT_BASE + (nr)), "D"((uint64_t)(a)),    \
				   "S"((uint64_t)(b))                                              \
				 : "memory");                                                      \
		hc_ret_;                                                                           \
	})

#define hypercall3(nr, a, b, c)                                                                    \
	__extension__({                                                                            \
		HC_CHECK_NR_(nr);                                                                  \
		uint64_t hc_ret_;                                                                  \
		__asm__ volatile("outb %%al, %[port]"                                              \
				 : "=a"(hc_ret_)                                                   \
				 : [port] "i"(KESTREL_HC_PORT_BASE + (nr)), "D"((uint64_t)(a)),    \
				   "S"((uint64_t)(b)), "d"((uint64_t)(c))                          \
				 : "memory");                                                      \
		hc_ret_;                                                                           \
	})

#define hypercall4(nr, a, b, c, d)                                                                 \
	__extension__({                                                                            \
		HC_CHECK_NR_(nr);                                                                  \
		uint64_t hc_ret_;                                                                  \
		__asm__ volatile("outb %%al, %[port]"                                              \
				 : "=a"(hc_ret_)                                                   \
				 : [port] "i"(KESTREL_HC_PORT_BASE + (nr)), "D"((uint64_t)(a)),    \
				   "S"((uint64_t)(b)), "d"((uint64_t)(c)), "c"((uint64_t)(d))      \
				 : "memory");                                                      \
		hc_ret_;                                                                           \
	})

/* True if a hypercall result is a negative errno (-4095 .. -1). */
static inline bool hc_is_error(uint64_t ret)
{
	return ret >= (uint64_t)-4095;
}

/* End the VM with `status` (0..255) via KESTREL_HC_EXIT; never returns. */
GUEST_NORETURN void exit(int status);

/*
 * Write `len` bytes at `s` to the console with KESTREL_HC_PUTS (one call per
 * KESTREL_PUTS_MAX bytes, so a short line is one atomic write even with many
 * vCPUs). Returns the bytes written or a negative errno.
 */
int64_t puts_hc(const void *s, size_t len);

/* printf into a buffer, then one PUTS hypercall (at most 512 bytes). */
int hc_printf(const char *fmt, ...) GUEST_PRINTF(1, 2);

/* ---- serial console (16550 UART at KESTREL_PORT_COM1) ---------------------- */

void serial_putc(char c);
void serial_write(const char *s, size_t len);
void serial_puts(const char *s); /* no newline added */
int printf(const char *fmt, ...) GUEST_PRINTF(1, 2);
int vprintf(const char *fmt, va_list ap) GUEST_PRINTF(1, 0);

/*
 * Formatting: %d %i %u %x %X %p %s %c %% with the l / ll / z / h length
 * modifiers, '-' and '0' flags, a field width (number or *) and, for %s,
 * a precision (.N or .*). Returns the length the full output would have.
 */
int snprintf(char *buf, size_t size, const char *fmt, ...) GUEST_PRINTF(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) GUEST_PRINTF(3, 0);

/* ---- CPU helpers ----------------------------------------------------------- */

static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *a, uint32_t *b, uint32_t *c,
			 uint32_t *d)
{
	uint32_t ra, rb, rc, rd;

	__asm__ volatile("cpuid"
			 : "=a"(ra), "=b"(rb), "=c"(rc), "=d"(rd)
			 : "a"(leaf), "c"(subleaf));
	*a = ra;
	*b = rb;
	*c = rc;
	*d = rd;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

GUEST_NORETURN static inline void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

/* ---- atomics (lock-prefixed read-modify-write; never cmpxchg16b) ----------- */

static inline uint32_t atomic_load_u32(const volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void atomic_store_u32(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Returns the value before the addition (lock xadd). */
static inline uint32_t atomic_fetch_add_u32(volatile uint32_t *p, uint32_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

/* Returns the value after the increment. */
static inline uint32_t atomic_inc_u32(volatile uint32_t *p)
{
	return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

static inline uint64_t atomic_load_u64(const volatile uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint64_t atomic_fetch_add_u64(volatile uint64_t *p, uint64_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

/* Sets bits without returning the old value, so this is a plain lock or. */
static inline void atomic_or_u64(volatile uint64_t *p, uint64_t v)
{
	__atomic_or_fetch(p, v, __ATOMIC_SEQ_CST);
}

/* ---- strings --------------------------------------------------------------- */

/* Real functions: gcc may emit calls to memset/memcpy/memmove/memcmp itself. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- boot info command line ------------------------------------------------ */

/* The command line and its length, bounded by KESTREL_CMDLINE_MAX - 1 and the first NUL. */
const char *cmdline_str(const struct kestrel_boot_info *bi, size_t *len);

/*
 * cmdline_uint - the index-th (0-based) unsigned decimal number in the command
 * line. A number is a run of digits at the start of the line or after a blank,
 * ',' or '=' that ends at the end of the line, a blank or ','; so "5000",
 * "n=5000" and "x 5000" all give 5000, while "cpu2" gives nothing. Returns
 * false if there is no such number or it does not fit in 64 bits.
 */
bool cmdline_uint(const struct kestrel_boot_info *bi, unsigned index, uint64_t *out);

/* cmdline_has_word - whether `w` stands in the command line as a whole
 * space-separated word ("nop", "xapic", ...). */
bool cmdline_has_word(const struct kestrel_boot_info *bi, const char *w);

/* cmdline_uint(bi, 0, ...) or `def` when there is no first number. */
uint64_t cmdline_uint_or(const struct kestrel_boot_info *bi, uint64_t def);

#endif
