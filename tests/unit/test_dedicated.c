/* test_dedicated.c - unit tests for dedicated-CPU mode, --no-pv and --no-fast-io: option parsing,
 * the exit-disabling mask and its refusals, the pinning map. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "host/dedicated.h"
#include "options.h"
#include "tap.h"

static struct cli_options o;
static char why[256];

/* parse(arg, ..., NULL): cli_parse on {"kestrel", arg, ...}. */
static int parse(const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"kestrel";
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	why[0] = '\0';
	return cli_parse(argc, argv, &o, why, sizeof(why));
}

static void test_options(void)
{
	TAP_EQ_INT(parse("g.elf", NULL), 0, "defaults");
	TAP_OK(!o.cfg.no_pv && !o.cfg.pin && !o.cfg.no_halt_exits && !o.cfg.no_pause_exits &&
		   !o.cfg.set_halt_poll,
	       "PV on, no pinning, exits on, KVM's halt polling by default");

	TAP_EQ_INT(
	    parse("run", "--no-pv", "--pin", "--no-halt-exits", "--no-pause-exits", "g.elf", NULL),
	    0, "--no-pv --pin --no-halt-exits --no-pause-exits");
	TAP_OK(o.cfg.no_pv && o.cfg.pin && o.cfg.no_halt_exits && o.cfg.no_pause_exits &&
		   !o.cfg.set_halt_poll,
	       "all four flags set, halt polling untouched");

	TAP_EQ_INT(parse("--halt-poll", "0", "g.elf", NULL), 0, "--halt-poll 0");
	TAP_OK(o.cfg.set_halt_poll && o.cfg.halt_poll_ns == 0,
	       "0 ns is a setting, not the default");
	TAP_EQ_INT(parse("--halt-poll=4294967295", "g.elf", NULL), 0, "--halt-poll=UINT32_MAX");
	TAP_EQ_U64(o.cfg.halt_poll_ns, 4294967295u, "largest value KVM takes");
	TAP_EQ_INT(parse("--halt-poll", "200000", "g.elf", "--", "x", NULL), 0,
		   "--halt-poll with guest args");
	TAP_OK(o.cfg.halt_poll_ns == 200000 && !strcmp(o.cmdline, "x"),
	       "value and guest args both kept");

	TAP_EQ_INT(parse("--halt-poll", "4294967296", "g.elf", NULL), -EINVAL, "2^32 ns refused");
	TAP_STR_CONTAINS(why, "--halt-poll 4294967296", "message names the option and value");
	TAP_EQ_INT(parse("--halt-poll", "-1", "g.elf", NULL), -EINVAL, "negative refused");
	TAP_EQ_INT(parse("--halt-poll", "1ms", "g.elf", NULL), -EINVAL,
		   "a unit refused (plain ns)");
	TAP_EQ_INT(parse("g.elf", "--halt-poll", NULL), -EINVAL, "missing value refused");
	TAP_STR_CONTAINS(why, "needs nanoseconds", "message says what is missing");
	TAP_EQ_INT(parse("--halt-poll", "--", "g.elf", NULL), -EINVAL, "'--' is not a value");
	TAP_EQ_INT(parse("--pinned", "g.elf", NULL), -EINVAL, "--pinned is not --pin");

	TAP_EQ_INT(parse("g.elf", NULL), 0, "fast I/O by default");
	TAP_OK(!o.cfg.no_fast_io, "coalesced UART and doorbell ioeventfd on by default");
	TAP_EQ_INT(parse("--no-fast-io", "g.elf", NULL), 0, "--no-fast-io");
	TAP_OK(o.cfg.no_fast_io && !o.cfg.no_pv, "--no-fast-io sets only itself");
}

static void test_exits_mask(void)
{
	const int hlt = KVM_X86_DISABLE_EXITS_HLT, pause = KVM_X86_DISABLE_EXITS_PAUSE;
	const int host = hlt | pause | KVM_X86_DISABLE_EXITS_CSTATE; /* this project's hosts: 14 */

	TAP_EQ_INT(dedicated_exits_mask(host, false, false, NULL, why, sizeof(why)), 0,
		   "nothing asked: 0");
	TAP_EQ_INT(dedicated_exits_mask(-1, false, false, NULL, why, sizeof(why)), 0,
		   "nothing asked, no capability: still 0 (not refused)");
	TAP_EQ_INT(dedicated_exits_mask(host, true, false, NULL, why, sizeof(why)), hlt,
		   "--no-halt-exits: HLT only");
	TAP_EQ_INT(dedicated_exits_mask(host, false, true, NULL, why, sizeof(why)), pause,
		   "--no-pause-exits: PAUSE only");
	TAP_EQ_INT(dedicated_exits_mask(host, true, true, NULL, why, sizeof(why)), hlt | pause,
		   "both");

	/* kvm.mitigate_smt_rsb=1: KVM offers PAUSE alone. */
	TAP_EQ_INT(dedicated_exits_mask(pause, true, false, NULL, why, sizeof(why)), -ENOTSUP,
		   "HLT on a PAUSE-only host: refused");
	TAP_STR_CONTAINS(why, "no_halt_exits: this KVM does not allow disabling HLT exits",
			 "names the option and the exit");
	TAP_STR_CONTAINS(why, "offers 0x4: PAUSE", "says what the host offers");
	TAP_STR_CONTAINS(why, "mitigate_smt_rsb", "names the likely reason");
	TAP_EQ_INT(dedicated_exits_mask(pause, false, true, NULL, why, sizeof(why)), pause,
		   "PAUSE on a PAUSE-only host: fine");
	TAP_EQ_INT(dedicated_exits_mask(pause, true, true, NULL, why, sizeof(why)), -ENOTSUP,
		   "both on a PAUSE-only host: refused");

	TAP_EQ_INT(dedicated_exits_mask(hlt, false, true, NULL, why, sizeof(why)), -ENOTSUP,
		   "PAUSE on a host offering HLT only: refused");
	TAP_STR_CONTAINS(why, "no_pause_exits: this KVM does not allow disabling PAUSE exits",
			 "names --no-pause-exits");

	TAP_EQ_INT(dedicated_exits_mask(0, true, false, NULL, why, sizeof(why)), -ENOTSUP,
		   "no capability: refused");
	TAP_STR_CONTAINS(why, "lacks KVM_CAP_X86_DISABLE_EXITS", "says the capability is missing");
	TAP_EQ_INT(dedicated_exits_mask(-1, false, true, NULL, why, sizeof(why)), -ENOTSUP,
		   "failed check: refused");
	TAP_STR_CONTAINS(why, "no_pause_exits", "names the setting asked for");
	TAP_OK(strstr(why, "--no-pause") == NULL, "in library terms: no option name");

	/* The kestrel command's mapping (cfg.field_name): its option names instead. */
	TAP_EQ_INT(dedicated_exits_mask(pause, true, false, cli_field_name, why, sizeof(why)),
		   -ENOTSUP, "HLT on a PAUSE-only host, through the CLI's names: refused");
	TAP_STR_CONTAINS(why, "--no-halt-exits: this KVM does not allow disabling HLT exits",
			 "the CLI's message names --no-halt-exits");
}

static void test_host_cpu(void)
{
	cpu_set_t s;
	int got[6];

	CPU_ZERO(&s);
	TAP_EQ_INT(dedicated_host_cpu(&s, 0), -EINVAL, "no CPU allowed: -EINVAL");

	for (int c = 0; c < 4; c++)
		CPU_SET(c, &s);
	for (unsigned i = 0; i < 6; i++)
		got[i] = dedicated_host_cpu(&s, i);
	TAP_OK(got[0] == 0 && got[1] == 1 && got[2] == 2 && got[3] == 3 && got[4] == 0 &&
		   got[5] == 1,
	       "CPUs 0-3: vCPU i on host CPU i mod 4 (%d %d %d %d %d %d)", got[0], got[1], got[2],
	       got[3], got[4], got[5]);

	/* taskset -c 3,5,9: the allowed CPUs in order, wrapping. */
	CPU_ZERO(&s);
	CPU_SET(3, &s);
	CPU_SET(5, &s);
	CPU_SET(9, &s);
	for (unsigned i = 0; i < 4; i++)
		got[i] = dedicated_host_cpu(&s, i);
	TAP_OK(got[0] == 3 && got[1] == 5 && got[2] == 9 && got[3] == 3,
	       "CPUs 3,5,9: vCPUs 0-3 on 3 5 9 3 (%d %d %d %d)", got[0], got[1], got[2], got[3]);

	CPU_ZERO(&s);
	CPU_SET(CPU_SETSIZE - 1, &s);
	TAP_EQ_INT(dedicated_host_cpu(&s, 7), CPU_SETSIZE - 1, "the last possible CPU is found");
}

int main(void)
{
	test_options();
	test_exits_mask();
	test_host_cpu();
	return tap_done();
}
