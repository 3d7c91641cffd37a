/* Glob patterns: matching a name or a path, and finding the files a
 * pattern names (supervise's [include] files=). One matcher, with a bound
 * on backtracking so no pattern can take exponential time. Used by
 * dirsync's exclude patterns and supervise's [include].
 *
 *   *   any run of bytes except '/'      **  any run of bytes
 *   ?   one byte except '/'              [a-z] [!x] a class, never '/'
 *   \x  x literally */
#include "box.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int box_glob_match(const char *pattern, const char *s)
{
	struct glob g = { pattern, s, strlen(pattern), strlen(s), NULL };
	int stars = 0;

	for (const char *p = pattern; *p; p++)
		stars += *p == '*';
	/* Two or more stars can backtrack exponentially: remember failures. */
	if (stars > 1)
		g.failed = box_xcalloc((g.plen + 1) * (g.slen + 1) / 8 + 1, 1);
	int r = glob_at(&g, 0, 0);
	free(g.failed);
	return r;
}


static int box_glob_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the paths below dir that match the components of rest. */
static void box_glob_walk(char *dir, const char *rest, char ***v, size_t *n, size_t *cap)
{
	const char *slash = strchr(rest, '/');
	size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
	char *comp = box_xmalloc(len + 1);

	memcpy(comp, rest, len);
	comp[len] = 0;
	if (!comp[strcspn(comp, "*?[\\")]) {
		/* a literal component: no directory to read */
		char *path = box_xpath_join(dir, comp);
		if (slash)
			box_glob_walk(path, slash + 1, v, n, cap);
		else if (access(path, F_OK) == 0)
			*BOX_PUSH(*v, *n, *cap) = box_xstrdup(path);
		free(path);
	} else {
		DIR *d = opendir(*dir ? dir : ".");
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.' || comp[0] == '.') {
				if (!box_glob_match(comp, e->d_name))
					continue;
				char *path = box_xpath_join(dir, e->d_name);
				if (slash)
					box_glob_walk(path, slash + 1, v, n, cap);
				else
					*BOX_PUSH(*v, *n, *cap) = box_xstrdup(path);
				free(path);
			}
		if (d)
			closedir(d);
	}
	free(comp);
}

size_t box_glob(const char *pattern, char ***paths)
{
	size_t n = 0, cap = 0;
	char **v = NULL;

	box_glob_walk(pattern[0] == '/' ? "/" : "", pattern + (pattern[0] == '/'), &v, &n, &cap);
	if (n)
		qsort(v, n, sizeof(*v), box_glob_cmp);
	*paths = v;
	return n;
}
