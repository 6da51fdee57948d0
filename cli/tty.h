/* tty.h - the guest console's input side for the kestrel command: which fd, raw mode on a
 * terminal, and a restore that happens on every way out. */
#ifndef KESTREL_CLI_TTY_H
#define KESTREL_CLI_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <termios.h>

/*
 * Standard input becomes the guest's console input (kestrel_config.console_in):
 *   - a terminal in the foreground: put in raw mode for the run (no echo, no
 *     line editing, no ^C/^Z signals: those bytes are the guest's; output
 *     processing stays on, so "\n" still starts a new line), with the
 *     console escape Ctrl-A (Ctrl-A x quits with status 130, Ctrl-A Ctrl-A
 *     sends Ctrl-A, Ctrl-A h lists them). A terminal in the background (the
 *     shell's job control would stop kestrel at the first read) gives no input;
 *   - anything else (a pipe, a file, /dev/null): read as it is, no escape.
 * Pipes and terminals are reopened through /proc/self/fd/0 with O_NONBLOCK,
 * so that the shell's own description of them keeps its flags and a read can
 * never block kestrel's thread. --no-stdin: none of this.
 *
 * The terminal is restored by a helper process forked before the boot (kestrel's
 * thread runs under seccomp during and after the run, see kestrel.h's
 * confine_caller): tty_restore() asks it and waits for it, and if kestrel
 * dies any other way (SIGKILL, SIGSYS, a crash) the helper sees its pipe close
 * and restores the terminal anyway.
 */
struct tty_input {
	int fd;		 /* the fd for console_in_fd, -1: no input */
	bool own_fd;	 /* opened here (closed by tty_close) */
	bool terminal;	 /* a foreground terminal: raw mode and the escape */
	bool raw;	 /* raw mode is on */
	bool background; /* stdin is a terminal of another process group: no input */
	pid_t helper;	 /* the restore helper (terminal only), -1: none */
	int helper_fd;	 /* our end of its pipe */
	struct termios saved;
};

/* tty_open - choose the input and, for a terminal, start the helper (no mode
 * change yet). Before kestrel_vm_create. 0, or -errno with `why`. */
int tty_open(struct tty_input *t, bool no_stdin, char *why, size_t len);

/* tty_raw - a terminal: raw mode, right before kestrel_vm_run. 0 or -errno. */
int tty_raw(struct tty_input *t);

/* tty_restore - the terminal as tty_open found it (through the helper, which
 * then exits); nothing for other inputs. Allowed under confine_caller. */
void tty_restore(struct tty_input *t);

/* tty_close - tty_restore, and the fd tty_open opened. */
void tty_close(struct tty_input *t);

#endif
