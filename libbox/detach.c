/* daemon(7)'s detach, used by daemonize (for the command it executes) and
 * by supervise (for itself): fork, setsid, fork again, then in the daemon
 * signals reset, the pidfile committed through pidfile.c (never seen
 * empty), umask, privileges, directory; stdio when the applet is up.
 *
 * The caller tells the truth because it waits on a pipe that only the
 * leader and the daemon hold: each sends fixed-size records (atomic, below
 * PIPE_BUF), and the pipe's end of file means both are done, so an exec
 * that fails after "up" still overrides it. */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void box_detach_send(struct box_detach *d, const struct box_detach_msg *m)
{
	box_write_all(d->report, m, sizeof(*m));
}

BOX_NORETURN void box_detach_fail(struct box_detach *d, int code, const char *fmt, ...)
{
	struct box_detach_msg m = { .kind = BOX_DETACH_FAIL, .code = code, .err = errno,
		.pid = getpid() };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.what, sizeof(m.what), fmt, ap);
	va_end(ap);
	if (d->report < 0)
		box_die(code, "unable to %s: %s", m.what, strerror(m.err));
	box_detach_send(d, &m);
	_exit(code);
}

/* The daemon's own steps: the pidfile before privileges go, the directory
 * after, so it is entered as the user. */
static void box_detach_settle(struct box_detach *d)
{
	int code = box_applet->fail_code;

	if (d->report >= 0)
		box_reset_signals();
	/* locked: another daemon took the pidfile since prepare */
	if (d->pidfile && box_pidfile_commit(d->pidfile, d->pid) < 0)
		box_detach_fail(d, errno == EWOULDBLOCK && d->busy_code ? d->busy_code : code,
			"write pidfile %s", d->pidfile->path);
	if (d->umask >= 0)
		umask((mode_t)d->umask);
	if (d->user) {
		const char *step = box_drop_privileges(d->user);
		if (step)
			box_detach_fail(d, code, "%s", step);
	}
	if (d->dir && chdir(d->dir) < 0)
		box_detach_fail(d, code, "change directory to %s", d->dir);
}

pid_t box_detach(struct box_detach *d)
{
	int p[2], code = box_applet->fail_code;

	if (d->stay) {
		d->report = -1;
		d->pid = getpid();
		box_detach_settle(d);
		return 0;
	}
	box_xpipe(p);
	pid_t pid = box_xfork();
	if (pid > 0) {
		close(p[1]);
		d->report = p[0];
		return pid;
	}
	close(p[0]);
	d->report = p[1];
	if (setsid() < 0)
		box_detach_fail(d, code, "create a session");
	pid = fork();
	if (pid < 0)
		box_detach_fail(d, code, "fork");
	d->pid = pid ? pid : getpid();
	if (pid > 0) {
		if (d->leader)
			d->leader(d);
		_exit(0);
	}
	box_detach_settle(d);
	return 0;
}

void box_detach_stdio(struct box_detach *d)
{
	int null = box_open("/dev/null", O_RDWR, 0);

	for (int fd = 0; fd < 3; fd++)
		if (dup2(d->stdio[fd] < 3 ? null : d->stdio[fd], fd) < 0)
			box_detach_fail(d, box_applet->fail_code, "redirect standard i/o");
	box_close(null);
}

static void box_detach_say_up(struct box_detach *d)
{
	struct box_detach_msg m = { .kind = BOX_DETACH_UP, .pid = d->pid };
	box_detach_send(d, &m);
}

void box_detach_up(struct box_detach *d)
{
	if (d->report < 0)
		return;
	box_detach_stdio(d);
	box_detach_say_up(d);
	box_close(d->report);
	d->report = -1;
}

BOX_NORETURN void box_detach_exec(struct box_detach *d, const char *path, char *const argv[])
{
	struct box_spawn_error e;

	box_detach_say_up(d);
	/* POSIX execvp on every libc: a script without #! runs through
	 * /bin/sh, and a missing #! interpreter is named */
	box_execvp(path, argv, &e);
	errno = e.err;
	if (!strcmp(e.what, "execute"))
		box_detach_fail(d, box_exec_fail_code(e.err), "execute %s", argv[0]);
	box_detach_fail(d, box_exec_fail_code(e.err), "%s for %s", e.what, argv[0]);
}

int box_detach_wait(struct box_detach *d)
{
	struct box_detach_msg m;

	d->pid = 0;
	while (box_read_full(d->report, &m, sizeof(m)) == (ssize_t)sizeof(m)) {
		if (m.kind == BOX_DETACH_UP)
			d->pid = m.pid;
		else if (m.kind == BOX_DETACH_FAIL && !d->fail.kind)
			d->fail = m;
		else if (m.kind >= BOX_DETACH_NOTE)
			d->note = m;
	}
	box_close(d->report);
	d->report = -1;
	if (d->pid && !d->fail.kind)
		return 0;
	if (d->pidfile)
		box_pidfile_abort(d->pidfile);
	return -1;
}

BOX_NORETURN void box_detach_exit(struct box_detach *d)
{
	if (d->report >= 0)
		box_detach_wait(d);
	if (d->pid && !d->fail.kind)
		_exit(0);
	if (!d->fail.kind)
		_exit(box_applet->fail_code);
	errno = d->fail.err;
	box_warn_errno("unable to %s", d->fail.what);
	_exit(d->fail.code);
}
