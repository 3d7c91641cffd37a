/* Glob patterns: matching a name or a path, and finding the files a
 * pattern names (supervise's [include] files=). The rules are rsync's
 * wildmatch, which dirsync's excludes follow exactly:
 *
 *   *   any run of bytes except '/'      **  any run of bytes (*** too)
 *   ?   one byte except '/'              \x  x literally
 *   [a-z] [!a-z] [^a-z] [[:digit:]]      a byte in (not in) a class, never '/'
 *
 * A pattern is compiled once into tokens, a bit each; matching moves the
 * set of tokens reached along the text a byte at a time, a word of 64
 * tokens per instruction (a bit-parallel NFA). There is no backtracking:
 * any pattern takes O(tokens / 64 x bytes) time, which box_glob_steps
 * counts for the tests. */
#include "box.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned long box_glob_steps;

/* The POSIX classes of the C locale as byte ranges, low and high in pairs
 * (NUL is never in a name, so cntrl starts at 1). */
static const struct {
	char name[7], ranges[9];
} glob_classes[] = {
	{ "alnum", "09AZaz" },
	{ "alpha", "AZaz" },
	{ "blank", "\t\t  " },
	{ "cntrl", "\001\037\177\177" },
	{ "digit", "09" },
	{ "graph", "!~" },
	{ "lower", "az" },
	{ "print", " ~" },
	{ "punct", "!/:@[`{~" },
	{ "space", "\t\r  " },
	{ "upper", "AZ" },
	{ "xdigit", "09AFaf" },
};

static void glob_set_range(unsigned char *set, unsigned lo, unsigned hi)
{
	for (unsigned c = lo; c <= hi; c++)
		set[c >> 3] |= (unsigned char)(1u << (c & 7));
}

/* [:name:] at name (after "[:"), len bytes before ":]": 0, or -1 for an
 * unknown name. */
static int glob_posix_class(const char *name, size_t len, unsigned char *set)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(glob_classes); i++) {
		const char *r = glob_classes[i].ranges;
		if (strlen(glob_classes[i].name) != len || memcmp(glob_classes[i].name, name, len))
			continue;
		for (; *r; r += 2)
			glob_set_range(set, (unsigned char)r[0], (unsigned char)r[1]);
		return 0;
	}
	return -1;
}

/* Reads the class at p ('[') into set, as rsync's wildmatch does: a ']'
 * first is literal, a '-' between two bytes makes a range, a "[:" without
 * ":]" is a literal '['. Returns the byte after the closing ']', or NULL
 * when the class is malformed (not closed, an unknown [:name:], a
 * backslash at the end). */
static const char *glob_class(const char *p, unsigned char *set)
{
	unsigned prev = 0;	/* the byte before, a range's start */
	int neg = p[1] == '!' || p[1] == '^';

	p += 1 + neg;
	do {
		unsigned c = (unsigned char)*p;
		if (!c)
			return NULL;
		if (c == '\\') {
			if (!(c = (unsigned char)*++p))
				return NULL;
		} else if (c == '-' && prev && p[1] && p[1] != ']') {
			c = (unsigned char)*++p;
			if (c == '\\' && !(c = (unsigned char)*++p))
				return NULL;
			glob_set_range(set, prev, c);
			prev = 0;
			continue;
		} else if (c == '[' && p[1] == ':') {
			const char *name = p + 2, *end = strchr(name, ']');
			if (!end)
				return NULL;
			if (end > name && end[-1] == ':') {
				if (glob_posix_class(name, (size_t)(end - name - 1), set) < 0)
					return NULL;
				prev = 0;
				p = end;
				continue;
			}
		}
		glob_set_range(set, c, c);
		prev = c;
	} while (*++p != ']');
	for (size_t i = 0; neg && i < 32; i++)
		set[i] = (unsigned char)~set[i];
	return p + 1;
}

/* Reads one token at *p into set, the bytes it takes: 1 for a star (it
 * stays where it is), 0 for one byte, -1 when malformed under
 * BOX_GLOB_STRICT. Only "**" takes '/'. */
static int glob_token(const char **p, unsigned char *set, int flags)
{
	const char *s = *p, *end;
	int star = *s == '*';

	memset(set, 0, 32);
	if (star || *s == '?') {
		size_t stars = strspn(s, "*");
		memset(set, 0xff, 32);
		*p = s + (star ? stars : 1);
		if (stars > 1)
			return 1;
	} else if (*s == '[' && (end = glob_class(s, set))) {
		*p = end;
	} else if ((*s == '[' || (*s == '\\' && !s[1])) && (flags & BOX_GLOB_STRICT)) {
		return -1;
	} else {
		memset(set, 0, 32);
		s += *s == '\\' && s[1];
		glob_set_range(set, (unsigned char)*s, (unsigned char)*s);
		*p = s + 1;
		return 0;
	}
	set['/' >> 3] &= (unsigned char)~(1u << ('/' & 7));
	return star;
}

/* Compiled, a pattern is a bit per token: mask[c] has the tokens that take
 * byte c, stars the ones that stay, bit ntok is the end (a match). */
void box_glob_compile(struct box_glob *g, const char *pattern, int flags)
{
	unsigned char set[32];
	const char *p = pattern;
	size_t n = 0;

	memset(g, 0, sizeof(*g));
	for (; *p; n++)
		if (glob_token(&p, set, flags) < 0) {
			g->never = 1;
			return;
		}
	g->ntok = n;
	g->words = n / 64 + 1;
	g->mask = box_xcalloc(259 * g->words, sizeof(uint64_t));
	g->stars = g->mask + 256 * g->words;
	g->on = g->stars + g->words;
	g->next = g->on + g->words;
	p = pattern;
	for (size_t i = 0; i < n; i++) {
		uint64_t bit = (uint64_t)1 << (i & 63);
		if (glob_token(&p, set, flags))
			g->stars[i / 64] |= bit;
		for (unsigned c = 0; c < 256; c++)
			if (set[c >> 3] >> (c & 7) & 1)
				g->mask[c * g->words + i / 64] |= bit;
	}
}

void box_glob_free(struct box_glob *g)
{
	free(g->mask);
	g->mask = NULL;
}

/* Token 0 reached, and token 1 when token 0 is a star (matching nothing). */
static void glob_start(const struct box_glob *g, uint64_t *on)
{
	on[0] |= 1 | (g->stars[0] & 1) << 1;
}

/* The tokens reached after byte c: those that took it move on by one
 * (stars stay), then a star reached lets the next token be reached too
 * (stars are never next to each other: "**" is one token). Returns
 * whether any is. */
static int glob_step(const struct box_glob *g, const uint64_t *on, uint64_t *next, unsigned c)
{
	const uint64_t *m = g->mask + c * g->words, *stars = g->stars;
	uint64_t moved_carry = 0, empty_carry = 0, any = 0;

	for (size_t w = 0; w < g->words; w++) {
		uint64_t took = on[w] & m[w], moved = took & ~stars[w];
		uint64_t v = (took & stars[w]) | moved << 1 | moved_carry;
		uint64_t empty = v & stars[w];
		next[w] = v | empty << 1 | empty_carry;
		moved_carry = moved >> 63;
		empty_carry = empty >> 63;
		any |= next[w];
	}
	return any != 0;
}

int box_glob_exec(const struct box_glob *g, const char *const *texts, int flags)
{
	uint64_t *on = g->on, *next = g->next, *swap;
	int alive = 1;

	if (g->never)
		return 0;
	memset(on, 0, g->words * sizeof(*on));
	glob_start(g, on);
	for (; *texts; texts++)
		for (const unsigned char *s = (const unsigned char *)*texts; *s; s++) {
			/* nothing reached: only a '/' can start it again */
			if (!alive && *s != '/')
				continue;
			alive = glob_step(g, on, next, *s);
			box_glob_steps += g->words;
			if (*s == '/' && (flags & BOX_GLOB_AFTER_SLASH)) {
				glob_start(g, next);
				alive = 1;
			}
			if (!alive && !(flags & BOX_GLOB_AFTER_SLASH))
				return 0;
			swap = on;
			on = next;
			next = swap;
		}
	return on[g->ntok / 64] >> (g->ntok & 63) & 1;
}

int box_glob_match(const char *pattern, const char *s)
{
	struct box_glob g;
	const char *texts[] = { s, NULL };

	box_glob_compile(&g, pattern, 0);
	int r = box_glob_exec(&g, texts, 0);
	box_glob_free(&g);
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
