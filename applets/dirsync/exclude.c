/* dirsync's exclude patterns over paths below SRC: rsync's rules (its
 * exclude.c, rule_matches) on libbox's glob matcher, rsync's wildmatch. */
#include "../../libbox/box.h"
#include "exclude.h"

#include <stdlib.h>
#include <string.h>

/* What rsync reads from --exclude PAT (documented in dirsync.1):
 *   - one trailing '/' (not of "/" alone): directories only;
 *   - a leading '/': the whole path from the top of SRC;
 *   - otherwise, without "**": the last N components of the path, N the
 *     number of '/' plus one (a name at any depth when there is none);
 *   - with "**" but not at its start: the path from the top or from after
 *     any '/'; starting with "**": the path with a '/' in front, so that
 *     "**" + "/" can match nothing;
 *   - ending with "***": a directory matches as if followed by '/', so
 *     that dir/ then *** is dir and everything in it;
 *   - without * ? [ : compared byte for byte ('\' too).
 * The flags are rsync's, taken from the raw text (an escaped "\**" still
 * counts as "**"). Only slashes can never match: refused. */
int dirsync_pattern_parse(const char *s, struct dirsync_pattern *p)
{
	memset(p, 0, sizeof(*p));
	if ((s[0] == '+' && s[1] == ' ') || !strcmp(s, "!"))
		return -1;
	if (s[0] == '-' && s[1] == ' ')
		s += 2;
	size_t n = strlen(s);
	if (n > 1 && s[n - 1] == '/') {
		p->flags |= PAT_DIRONLY;
		n--;
	}
	if (strspn(s, "/") >= n || n > 1024)
		return -1;
	char *pat = box_xmalloc(n + 1);
	memcpy(pat, s, n);
	pat[n] = 0;
	for (const char *c = pat; *c; c++)
		p->slashes += *c == '/';
	if (strpbrk(pat, "*?["))
		p->flags |= PAT_WILD;
	const char *two = strstr(pat, "**");
	if (two)
		p->flags |= PAT_WILD2 | (two == pat ? PAT_WILD2_PREFIX : 0) |
			(n >= 3 && !strcmp(pat + n - 3, "***") ? PAT_WILD3_SUFFIX : 0);
	if (pat[0] == '/') {
		p->flags |= PAT_ANCHORED;
		memmove(pat, pat + 1, n);
	}
	p->text = pat;
	if (p->flags & PAT_WILD)
		box_glob_compile(&p->glob, pat, BOX_GLOB_STRICT);
	return 0;
}

/* The last n components of path, or NULL when it has fewer. */
static const char *last_components(const char *path, unsigned n)
{
	for (const char *s = path + strlen(path); s > path; s--)
		if (s[-1] == '/' && !--n)
			return s;
	return n == 1 ? path : NULL;
}

int dirsync_pattern_match(const struct dirsync_pattern *p, const char *rel, int isdir)
{
	unsigned f = p->flags;
	const char *name = rel;

	if (!p->text || !*rel || ((f & PAT_DIRONLY) && !isdir))
		return 0;
	if (!(f & (PAT_ANCHORED | PAT_WILD2)))
		name = last_components(rel, p->slashes + 1);
	if (!name)
		return 0;
	if (!(f & PAT_WILD))
		return !strcmp(name, p->text);
	const char *texts[] = { "/", name, "/", NULL }, *const *from = texts + 1;
	if (f & PAT_WILD2_PREFIX)
		from = texts;
	if (!(isdir && (f & PAT_WILD3_SUFFIX)))
		texts[2] = NULL;
	int anywhere = (f & PAT_WILD2) && !(f & (PAT_ANCHORED | PAT_WILD2_PREFIX));
	return box_glob_exec(&p->glob, from, anywhere ? BOX_GLOB_AFTER_SLASH : 0);
}

void dirsync_pattern_free(struct dirsync_pattern *p)
{
	free(p->text);
	box_glob_free(&p->glob);
	p->text = NULL;
}
