/* Unit tests of libbox's watch: events by the caller's name, the
 * directory itself going away, and the polling fallback's tick. */
#include "../../libbox/box.h"
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct seen {
	int event[8];
	char name[8][32];
	int n;
};

static void record(void *ctx, int event, const char *name, const char *child)
{
	(void)child;
	struct seen *s = ctx;
	if (s->n < 8) {
		s->event[s->n] = event;
		snprintf(s->name[s->n++], 32, "%s", name ? name : "(null)");
	}
}

UNIT_GROUP(watch, "watch")
{
	char dir[] = "/tmp/box_watch.XXXXXX";
	struct box_watch w;
	struct seen s = { 0 };

	CHECK(mkdtemp(dir) != NULL);
	if (box_watch_open(&w, BOX_NSEC, 0, record, &s) == 0) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		CHECK(box_watch_add(&w, fd, dir, "top", BOX_WATCH_CONTENT | BOX_WATCH_DIR) == 0);
		close(fd);
		char *f = box_xpath_join(dir, "f");
		close(open(f, O_WRONLY | O_CREAT, 0600));
		CHECK(box_watch_read(&w) > 0);
		CHECK(s.n > 0 && s.event[0] == BOX_WATCH_CHANGED && !strcmp(s.name[0], "top"));
		unlink(f);
		free(f);
		s.n = 0;
		rmdir(dir);
		box_watch_read(&w);
		int gone = 0;
		for (int i = 0; i < s.n; i++)
			gone |= s.event[i] == BOX_WATCH_GONE && !strcmp(s.name[i], "top");
		CHECK(gone);
		CHECK(!w.polling && box_watch_due(&w) == 0);
		box_watch_close(&w);
	} else {
		rmdir(dir);
	}

	/* polling: nothing is added, a tick is due once interval has passed */
	struct box_loop l = { .sigfd = -1 };
	CHECK(box_watch_open(&w, 1000000, 1, record, &s) == 0);
	CHECK(w.polling && w.fd < 0);
	CHECK(box_watch_add(&w, -1, "/", "root", BOX_WATCH_CONTENT) == 0);
	CHECK(box_watch_due(&w) == 0);
	box_loop_begin(&l);
	box_watch_turn(&w, &l);
	CHECK(l.deadline > 0);
	CHECK(box_loop_wait(&l) == 0);
	CHECK(box_watch_due(&w) == 1);
	CHECK(box_watch_due(&w) == 0);
	box_watch_close(&w);
	box_loop_free(&l);
}
