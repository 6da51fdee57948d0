/* tty.c - standard input as the guest's console input: raw mode on a terminal, restored by a
 * helper process whatever way kestrel ends. */
#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"

/*
 * The helper: it keeps fd 0 (the terminal) and the read end of its pipe as
 * fd 3, nothing else. One byte or end of file (kestrel is gone, however it
 * went) and it puts the saved settings back, then exits. It ignores the
 * signals that stop kestrel (^C reaches the whole process group) and SIGTTOU,
 * so that it can restore a terminal kestrel's job was moved away from.
 */
static void tty_helper(const struct termios *saved, int rfd)
{
	char c;

	for (unsigned i = 0; i < sizeof(guard_stop_signals) / sizeof(guard_stop_signals[0]); i++)
		signal(guard_stop_signals[i], SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	if (rfd != 3 && dup2(rfd, 3) < 0)
		_exit(1);
	close(1);
	close(2);
	closefrom(4);
	while (read(3, &c, 1) < 0 && errno == EINTR)
		;
	_exit(tcsetattr(0, TCSADRAIN, saved) == 0 ? 0 : 1);
}

static int tty_start_helper(struct tty_input *t)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	t->helper = fork();
	if (t->helper < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (t->helper == 0)
		tty_helper(&t->saved, p[0]);
	close(p[0]);
	t->helper_fd = p[1];
	return 0;
}

/* A new open file description of fd 0, non-blocking: the shell's stays as it was. */
static int tty_reopen(void)
{
	return open("/proc/self/fd/0", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

int tty_open(struct tty_input *t, bool no_stdin, char *why, size_t len)
{
	struct stat st;
	int r;

	*t = (struct tty_input){.fd = -1, .helper = -1, .helper_fd = -1};
	if (no_stdin || fstat(0, &st) < 0)
		return 0;
	if (isatty(0)) {
		pid_t fg = tcgetpgrp(0);
		if (fg < 0 || fg != getpgrp()) {
			t->background = true; /* reading would stop us (SIGTTIN) */
			return 0;
		}
		if (tcgetattr(0, &t->saved) < 0) {
			r = -errno;
			snprintf(why, len, "standard input is a terminal, but tcgetattr failed: %s",
				 strerror(-r));
			return r;
		}
		if ((r = tty_start_helper(t)) < 0) {
			snprintf(why, len, "cannot start the terminal's restore helper: %s",
				 strerror(-r));
			return r;
		}
		t->terminal = true;
	}
	if (t->terminal || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		t->fd = tty_reopen();
		t->own_fd = t->fd >= 0;
	}
	if (t->fd < 0)
		t->fd = 0; /* a file, /dev/null: reads never block; a socket /proc cannot reopen */
	return 0;
}

int tty_raw(struct tty_input *t)
{
	struct termios raw;

	if (!t->terminal)
		return 0;
	raw = t->saved;
	raw.c_iflag &=
	    ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSANOW, &raw) < 0)
		return -errno;
	t->raw = true;
	return 0;
}

void tty_restore(struct tty_input *t)
{
	int st;

	if (t->helper < 0)
		return;
	if (write(t->helper_fd, "r", 1) < 0) {
		/* it restores on the close below anyway */
	}
	close(t->helper_fd);
	while (waitpid(t->helper, &st, 0) < 0 && errno == EINTR)
		;
	t->helper = -1;
	t->helper_fd = -1;
	t->raw = false;
}

void tty_close(struct tty_input *t)
{
	tty_restore(t);
	if (t->own_fd)
		close(t->fd);
	t->fd = -1;
	t->own_fd = false;
}
