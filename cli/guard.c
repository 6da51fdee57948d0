/* guard.c - closed std fds, signals that must not kill kestrel, and a --stats-json report that is
 * whole or absent. */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const int guard_stop_signals[6] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGALRM};

int guard_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* open() returns the lowest free fd: this one. */
		int n = open("/dev/null", O_RDWR);
		if (n != fd) {
			if (n >= 0)
				close(n);
			return -1;
		}
	}
	return 0;
}

void guard_ignore_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
}

/*
 * The rename (or removal) is done by a helper process forked before the boot:
 * kestrel's own thread is under seccomp by then (confine_caller), with no
 * rename or unlink. The helper holds no fd but its pipe, and does one of two
 * things to its two fixed paths: 'c' renames the temporary file onto the
 * target, anything else (EOF too: kestrel died) removes it. Its exit status
 * is 0 or the rename's errno.
 */
static int report_helper(struct guard_report *r)
{
	int p[2];
	char cmd = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	r->helper = fork();
	if (r->helper < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (r->helper == 0) {
		for (unsigned i = 0; i < sizeof(guard_stop_signals) / sizeof(guard_stop_signals[0]);
		     i++)
			signal(guard_stop_signals[i],
			       SIG_IGN); /* ^C reaches it too: kestrel decides */
		if (p[0] != 3 && dup2(p[0], 3) < 0)
			_exit(EIO);
		closefrom(4);
		while (read(3, &cmd, 1) < 0 && errno == EINTR)
			;
		if (cmd == 'c' && rename(r->tmp, r->path) == 0)
			_exit(0);
		int e = cmd == 'c' ? errno : 0;
		unlink(r->tmp);
		_exit(e ? (e > 255 ? EIO : e) : 0);
	}
	close(p[0]);
	r->helper_fd = p[1];
	return 0;
}

int guard_report_open(struct guard_report *r, const char *path, FILE *dash, char *why, size_t len)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	int fd, e;

	*r = (struct guard_report){.path = path};
	if (!strcmp(path, "-")) {
		r->f = dash;
		r->is_stdout = true;
		return 0;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(why, len,
			 "not a regular file (give a file path, or - for standard output)");
		return -EINVAL;
	}
	if (slash && !slash[1]) {
		snprintf(why, len, "names a folder, not a file");
		return -EISDIR;
	}
	if (snprintf(r->tmp, sizeof(r->tmp), "%.*s.%s.kestrel-XXXXXX", (int)dirlen, path,
		     path + dirlen) >= (int)sizeof(r->tmp)) {
		snprintf(why, len, "%s", strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = mkostemp(r->tmp, O_CLOEXEC);
	if (fd < 0 || !(r->f = fdopen(fd, "w"))) {
		e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(r->tmp);
		}
		snprintf(why, len, "%s", strerror(e));
		r->tmp[0] = '\0';
		return -e;
	}
	/* As a plain open(path, "w") would have made it, not mkstemp's 0600. */
	mode_t um = umask(0);
	umask(um);
	fchmod(fd, 0666 & ~um);
	if ((e = report_helper(r)) < 0) {
		fclose(r->f);
		r->f = NULL;
		unlink(r->tmp);
		snprintf(why, len, "cannot start the report helper: %s", strerror(-e));
		return e;
	}
	return 0;
}

int guard_report_send(struct guard_report *r, bool ok)
{
	int e = 0;

	if (!r->f)
		return 0;
	if (r->is_stdout) {
		e = fflush(r->f) == 0 ? 0 : -errno;
		r->f = NULL;
		return e;
	}
	if (ferror(r->f))
		e = -EIO;
	if (fclose(r->f) != 0 && !e)
		e = -errno;
	r->f = NULL;
	/* The helper renames or removes (see report_helper). */
	r->cmd = ok && !e ? 'c' : 'a';
	if (write(r->helper_fd, &r->cmd, 1) != 1 && !e)
		e = -EIO;
	close(r->helper_fd);
	r->helper_fd = -1;
	return e;
}

int guard_report_wait(struct guard_report *r, int sent)
{
	int st = 0;

	if (!r->cmd)
		return sent; /* nothing sent: stdout, or never opened */
	while (waitpid(r->helper, &st, 0) < 0 && errno == EINTR)
		;
	if (!sent && r->cmd == 'c' && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		sent = WIFEXITED(st) ? -WEXITSTATUS(st) : -EIO;
	r->cmd = 0;
	return sent;
}

int guard_report_commit(struct guard_report *r, bool ok)
{
	return guard_report_wait(r, guard_report_send(r, ok));
}
