/* libbox/detach.c in process: this process is the caller, the daemons
 * forked by box_detach say what they are told to and _exit. */
#include "unit.h"
#include "../../libbox/box.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct applet detach_applet = { "detach", NULL, "", "", 2, 3 };

static void leader_notes(struct box_detach *d)
{
	struct box_detach_msg m = { .kind = BOX_DETACH_NOTE + 1, .status = 42, .pid = d->pid };
	box_detach_send(d, &m);
}

UNIT_GROUP(detach, "detach")
{
	char dir[] = "/tmp/detach_test.XXXXXX";
	struct box_pidfile pf;

	box_applet = &detach_applet;
	CHECK(mkdtemp(dir) != NULL);
	char *path = box_xpath_join(dir, "d.pid");

	/* up: the caller learns the daemon's pid, which the pidfile holds */
	CHECK(box_pidfile_prepare(&pf, path) == 0);
	struct box_detach up = { .pidfile = &pf, .umask = -1, .leader = leader_notes };
	if (box_detach(&up) == 0) {
		box_detach_up(&up);
		_exit(0);
	}
	CHECK(box_detach_wait(&up) == 0);
	CHECK(up.pid > 0 && up.pid != getpid());
	CHECK(!up.fail.kind);
	CHECK(up.note.kind == BOX_DETACH_NOTE + 1 && up.note.status == 42 && up.note.pid == up.pid);
	int fd = box_open(path, O_RDONLY, 0);
	CHECK(fd >= 0 && box_pid_read(fd) == up.pid);
	box_close(fd);
	box_pidfile_abort(&pf);
	CHECK(access(path, F_OK) < 0);

	/* a failed step: its words, errno and the applet's fail_code; the
	 * pidfile the daemon committed is removed */
	CHECK(box_pidfile_prepare(&pf, path) == 0);
	struct box_detach bad = { .pidfile = &pf, .dir = "/nonexistent-detach-test" };
	if (box_detach(&bad) == 0) {
		box_detach_up(&bad);
		_exit(0);
	}
	CHECK(box_detach_wait(&bad) < 0);
	CHECK(bad.fail.kind == BOX_DETACH_FAIL && bad.fail.code == 3 && bad.fail.err == ENOENT);
	CHECK(!strcmp(bad.fail.what, "change directory to /nonexistent-detach-test"));
	CHECK(access(path, F_OK) < 0);

	/* an exec that fails after "up" overrides it, with 127 */
	struct box_detach ex = { .umask = -1 };
	char *argv[] = { "no-such-command-detach-test", NULL };
	if (box_detach(&ex) == 0)
		box_detach_exec(&ex, argv[0], argv);
	CHECK(box_detach_wait(&ex) < 0);
	CHECK(ex.fail.code == 127 && ex.fail.err == ENOENT);
	CHECK(!strcmp(ex.fail.what, "execute no-such-command-detach-test"));

	/* a daemon that dies without a word is not up */
	struct box_detach mute = { .umask = -1 };
	if (box_detach(&mute) == 0)
		_exit(0);
	CHECK(box_detach_wait(&mute) < 0 && !mute.fail.kind && !mute.pid);

	/* stay: the same steps here, no fork; stdio stays */
	int here = box_open(".", O_RDONLY, 0);
	CHECK(box_pidfile_prepare(&pf, path) == 0);
	struct box_detach fg = { .pidfile = &pf, .umask = -1, .dir = dir, .stay = 1 };
	CHECK(box_detach(&fg) == 0 && fg.pid == getpid());
	fd = box_open("d.pid", O_RDONLY, 0);
	CHECK(fd >= 0 && box_pid_read(fd) == getpid());
	box_close(fd);
	box_detach_up(&fg);
	CHECK(fg.report == -1);
	CHECK(fchdir(here) == 0);
	box_close(here);
	box_pidfile_abort(&pf);

	free(path);
	rmdir(dir);
}
