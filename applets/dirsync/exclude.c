/* dirsync's exclude patterns: a small glob matcher over paths below SRC,
 * with a bound on backtracking so no pattern can take exponential time. */
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
struct glob {
	const char *p, *s;
	size_t plen, slen;
	unsigned char *failed;	/* (pattern pos, string pos) pairs known to fail */
};

/* Matches one byte against the class at p[*pi] ('['); advances *pi past
 * ']'. Returns -1 when the class is not closed (then '[' is literal). */
static int glob_class(const struct glob *g, size_t *pi, unsigned char c)
{
	size_t i = *pi + 1;
	int neg = 0, hit = 0;

	if (i < g->plen && (g->p[i] == '!' || g->p[i] == '^')) {
		neg = 1;
		i++;
	}
	for (int first = 1; i < g->plen; first = 0) {
		unsigned char lo = (unsigned char)g->p[i];
		if (lo == ']' && !first) {
			*pi = i;
			return c != '/' && hit != neg;
		}
		if (lo == '\\' && i + 1 < g->plen)
			lo = (unsigned char)g->p[++i];
		i++;
		unsigned char hi = lo;
		if (i + 1 < g->plen && g->p[i] == '-' && g->p[i + 1] != ']') {
			hi = (unsigned char)g->p[i + 1];
			if (hi == '\\' && i + 2 < g->plen)
				hi = (unsigned char)g->p[++i + 1];
			i += 2;
		}
		if (c >= lo && c <= hi)
			hit = 1;
	}
	return -1;
}

static int glob_at(struct glob *g, size_t pi, size_t si)
{
	while (pi < g->plen) {
		unsigned char c = (unsigned char)g->p[pi];
		if (c == '*') {
			int any = pi + 1 < g->plen && g->p[pi + 1] == '*';
			size_t next = pi + 1 + (size_t)any, key = pi * (g->slen + 1) + si;
			if (g->failed && (g->failed[key >> 3] & (1u << (key & 7))))
				return 0;
			for (size_t k = si;; k++) {
				if (glob_at(g, next, k))
					return 1;
				if (k == g->slen || (!any && g->s[k] == '/'))
					break;
			}
			if (g->failed)
				g->failed[key >> 3] |= (unsigned char)(1u << (key & 7));
			return 0;
		}
		if (si == g->slen)
			return 0;
		unsigned char sc = (unsigned char)g->s[si];
		if (c == '?') {
			if (sc == '/')
				return 0;
		} else if (c == '[') {
			size_t end = pi;
			int r = glob_class(g, &end, sc);
			if (r == 0)
				return 0;
			if (r < 0 && sc != '[')
				return 0;
			pi = r < 0 ? pi : end;
		} else {
			if (c == '\\' && pi + 1 < g->plen)
				c = (unsigned char)g->p[++pi];
			if (c != sc)
				return 0;
		}
		pi++;
		si++;
	}
	return si == g->slen;
}

static int glob_match(const struct dirsync_pattern *p, const char *s)
{
	struct glob g = { p->text, s, strlen(p->text), strlen(s), NULL };
	/* Two or more stars can backtrack exponentially: remember failures. */
	if (p->stars > 1)
		g.failed = box_xcalloc((g.plen + 1) * (g.slen + 1) / 8 + 1, 1);
	int r = glob_at(&g, 0, 0);
	free(g.failed);
	return r;
}

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
	for (size_t i = 0; i < n; i++)
		if (p->text[i] == '*')
			p->stars++;
	return 0;
}

int dirsync_pattern_match(const struct dirsync_pattern *p, const char *rel, int isdir)
{
	if (p->dironly && !isdir)
		return 0;
	if (p->anchored)
		return glob_match(p, rel);
	if (!p->path) {
		const char *base = strrchr(rel, '/');
		return glob_match(p, base ? base + 1 : rel);
	}
	for (const char *s = rel;;) {
		if (glob_match(p, s))
			return 1;
		s = strchr(s, '/');
		if (!s)
			return 0;
		s++;
	}
}
