/* Fuzz target: dirsync's exclude-pattern matcher. The input is a pattern,
 * a NUL, then a path (a trailing '/' marks a directory). Checks that the
 * matcher stays in bounds and finishes, that a pattern without special
 * characters matches exactly the names equal to it, and that an anchored
 * double star matches every path. */
#include "../../libbox/box.h"
#include "../../applets/dirsync/exclude.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

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
		int m = dirsync_pattern_match(&p, path, isdir);
		assert(m == 0 || m == 1);
		if (!strpbrk(p.text, "*?[\\/") && !p.dironly && !p.anchored) {
			const char *base = strrchr(path, '/');
			base = base ? base + 1 : path;
			assert(m == !strcmp(p.text, base));
		}
		free(p.text);
	}
	/* an anchored double star matches every non-empty path */
	struct dirsync_pattern all;
	assert(dirsync_pattern_parse("/**", &all) == 0);
	assert(!*path || dirsync_pattern_match(&all, path, isdir));
	free(all.text);
	free(buf);
	return 0;
}
