/* Fuzz target: dirsync's exclude-pattern matcher. The input is a pattern,
 * a NUL, then a path (a trailing '/' marks a directory). Checks that the
 * matcher stays in bounds and does at most one step per byte of the path
 * and word of the pattern; that a pattern without special characters
 * matches exactly the names equal to it; that an anchored double star
 * matches every path; and that a pattern P with "**" inside matches
 * exactly when P anchored at the top or below some directory does
 * (rsync retries it after every '/'). */
#include "../../libbox/box.h"
#include "../../applets/dirsync/exclude.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int match(const char *pattern, const char *path, int isdir)
{
	struct dirsync_pattern p;

	assert(dirsync_pattern_parse(pattern, &p) == 0);
	int m = dirsync_pattern_match(&p, path, isdir);
	dirsync_pattern_free(&p);
	return m;
}

/* P with "**" inside, not at its start, not anchored. */
static void check_anywhere(const struct dirsync_pattern *p, const char *path, int isdir, int m)
{
	char top[1100], below[1100];
	const char *dir = (p->flags & PAT_DIRONLY) ? "/" : "";

	snprintf(top, sizeof(top), "/%s%s", p->text, dir);
	snprintf(below, sizeof(below), "/**/%s%s", p->text, dir);
	assert(m == (match(top, path, isdir) || match(below, path, isdir)));
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 2);
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = 0;
	char *pat = buf, *path = buf + strlen(buf) + 1;
	if (path > buf + size)
		path = buf + size;
	size_t n = strlen(path);
	int isdir = n && path[n - 1] == '/';
	if (isdir)
		path[--n] = 0;

	struct dirsync_pattern p;
	if (dirsync_pattern_parse(pat, &p) == 0) {
		box_glob_steps = 0;
		int m = dirsync_pattern_match(&p, path, isdir);
		assert(m == 0 || m == 1);
		assert(box_glob_steps <= (n + 2) * p.glob.words);
		if (!strpbrk(p.text, "*?[\\/") && !(p.flags & (PAT_DIRONLY | PAT_ANCHORED))) {
			const char *base = strrchr(path, '/');
			base = base ? base + 1 : path;
			assert(m == !strcmp(p.text, base));
		}
		if ((p.flags & (PAT_WILD2 | PAT_WILD2_PREFIX | PAT_ANCHORED)) == PAT_WILD2 &&
		    strlen(p.text) < 1020 && *path)
			check_anywhere(&p, path, isdir, m);
		dirsync_pattern_free(&p);
	}
	/* an anchored double star matches every non-empty path */
	assert(!*path || match("/**", path, isdir));
	free(buf);
	return 0;
}
