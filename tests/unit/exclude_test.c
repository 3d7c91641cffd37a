/* Unit tests of dirsync's exclude patterns: pattern, path, directory or
 * not, and whether it matches, one behaviour per row. */
#include "../../libbox/box.h"
#include "../../applets/dirsync/exclude.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

struct exclude_case {
	const char *pattern, *path;
	int isdir, match;
};

static const struct exclude_case exclude_cases[] = {
	/* no '/': the name at any depth */
	{ "*.o", "a.o", 0, 1 },
	{ "*.o", "src/deep/a.o", 0, 1 },
	{ "*.o", "a.oo", 0, 0 },
	{ "*.o", "a.o/x", 0, 0 },
	{ "cache", "x/cache", 1, 1 },
	{ "cache", "x/cache2", 1, 0 },
	/* leading '/': from the top of SRC */
	{ "/build", "build", 1, 1 },
	{ "/build", "src/build", 1, 0 },
	{ "/src/*.c", "src/a.c", 0, 1 },
	{ "/src/*.c", "x/src/a.c", 0, 0 },
	/* trailing '/': directories only */
	{ "build/", "build", 0, 0 },
	{ "build/", "src/build", 1, 1 },
	{ "/tmp/", "tmp", 1, 1 },
	/* a '/' inside: the path's tail at a component boundary */
	{ "src/*.c", "src/a.c", 0, 1 },
	{ "src/*.c", "x/src/a.c", 0, 1 },
	{ "src/*.c", "xsrc/a.c", 0, 0 },
	{ "src/*.c", "src/sub/a.c", 0, 0 },
	{ "src/**.c", "src/sub/a.c", 0, 1 },
	{ "/**", "a/b/c", 0, 1 },
	{ "/**", "a", 1, 1 },
	/* ? and classes never match '/' */
	{ "?", "a", 0, 1 },
	{ "?", "ab", 0, 0 },
	{ "/a?c", "a/c", 0, 0 },
	{ "/a[/]c", "a/c", 0, 0 },
	{ "[a-c]x", "bx", 0, 1 },
	{ "[a-c]x", "dx", 0, 0 },
	{ "[!a-c]x", "bx", 0, 0 },
	{ "[!a-c]x", "dx", 0, 1 },
	{ "[^a-c]x", "dx", 0, 1 },
	{ "[]]", "]", 0, 1 },
	{ "[a\\]]", "]", 0, 1 },
	/* an unclosed class is a literal '[' */
	{ "[ab", "[ab", 0, 1 },
	{ "[ab", "a", 0, 0 },
	/* a backslash quotes the next byte */
	{ "\\*", "*", 0, 1 },
	{ "\\*", "a", 0, 0 },
	{ "a\\?", "a?", 0, 1 },
	/* many stars: bounded backtracking, still exact */
	{ "*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0 },
	{ "*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 0, 1 },
	{ "/**/x/**", "a/b/x/c/d", 0, 1 },
	{ "/**/x/**", "a/b/y/c/d", 0, 0 },
};

/* Patterns that can never match are refused. */
static const char *const exclude_invalid[] = { "", "/", "//", "///" };

UNIT_GROUP(exclude, "exclude")
{
	struct dirsync_pattern p;

	for (size_t i = 0; i < BOX_ARRAY_LEN(exclude_cases); i++) {
		const struct exclude_case *c = &exclude_cases[i];
		CHECK(dirsync_pattern_parse(c->pattern, &p) == 0);
		if (dirsync_pattern_match(&p, c->path, c->isdir) != c->match) {
			fprintf(stderr, "exclude: '%s' on '%s'%s: expected %d\n",
				c->pattern, c->path, c->isdir ? " (dir)" : "", c->match);
			unit_failures++;
		}
		free(p.text);
	}
	for (size_t i = 0; i < BOX_ARRAY_LEN(exclude_invalid); i++)
		CHECK(dirsync_pattern_parse(exclude_invalid[i], &p) == -1);
	char *longest = malloc(1026);
	memset(longest, 'x', 1025);
	longest[1025] = 0;
	CHECK(dirsync_pattern_parse(longest, &p) == -1);
	longest[1024] = 0;
	CHECK(dirsync_pattern_parse(longest, &p) == 0 && !strcmp(p.text, longest));
	free(p.text);
	free(longest);
	CHECK(dirsync_pattern_parse("/a/b/", &p) == 0);
	CHECK(p.anchored && p.dironly && p.path && !strcmp(p.text, "a/b"));
	free(p.text);
	CHECK(dirsync_pattern_parse("x*y*", &p) == 0);
	CHECK(!p.anchored && !p.dironly && !p.path);
	free(p.text);
}
