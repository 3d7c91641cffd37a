/* dirsync's exclude patterns over paths below SRC, on libbox's glob
 * matcher (box_glob_match). */
#include "../../libbox/box.h"
#include "exclude.h"

#include <stdlib.h>
#include <string.h>

/* Matching rules (documented in dirsync.1):
 *   *   any run of bytes except '/'      **  any run of bytes
 *   ?   one byte except '/'              [a-z] [!x] a class, never '/'
 *   \x  x literally
 * A pattern without '/' matches an entry's name at any depth; a pattern
 * with a leading '/' matches the path from the top of SRC; another '/'
 * makes it match the path's tail at a component boundary; a trailing '/'
 * matches directories only. An excluded directory is skipped whole. */
int dirsync_pattern_parse(const char *s, struct dirsync_pattern *p)
{
	size_t n = strlen(s);

	memset(p, 0, sizeof(*p));
	p->anchored = s[0] == '/';
	while (*s == '/' && n) {
		s++;
		n--;
	}
	while (n && s[n - 1] == '/') {
		p->dironly = 1;
		n--;
	}
	if (!n || n > 1024)
		return -1;
	p->text = box_xmalloc(n + 1);
	memcpy(p->text, s, n);
	p->text[n] = 0;
	p->path = p->anchored || memchr(p->text, '/', n) != NULL;
	return 0;
}

int dirsync_pattern_match(const struct dirsync_pattern *p, const char *rel, int isdir)
{
	if (p->dironly && !isdir)
		return 0;
	if (p->anchored)
		return box_glob_match(p->text, rel);
	if (!p->path) {
		const char *base = strrchr(rel, '/');
		return box_glob_match(p->text, base ? base + 1 : rel);
	}
	for (const char *s = rel;;) {
		if (box_glob_match(p->text, s))
			return 1;
		s = strchr(s, '/');
		if (!s)
			return 0;
		s++;
	}
}
