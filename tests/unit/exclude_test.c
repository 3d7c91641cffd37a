/* Unit tests of dirsync's exclude patterns: pattern, path, directory or
 * not, and whether rsync's --exclude matches it, one behaviour per row
 * (every row was checked against rsync's own rule_matches and wildmatch);
 * then the work one match takes on a deep path. */
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
	/* no '/' and no "**": the name at any depth */
	{ "*.o", "a.o", 0, 1 },
	{ "*.o", "src/deep/a.o", 0, 1 },
	{ "*.o", "a.oo", 0, 0 },
	{ "*.o", "a.o/x", 0, 0 },
	{ "cache", "x/cache", 1, 1 },
	{ "cache", "x/cache2", 1, 0 },
	{ "cache", "cache/x", 0, 0 },
	/* leading '/': the whole path from the top of SRC */
	{ "/build", "build", 1, 1 },
	{ "/build", "src/build", 1, 0 },
	{ "/src/*.c", "src/a.c", 0, 1 },
	{ "/src/*.c", "x/src/a.c", 0, 0 },
	{ "/*", "a", 0, 1 },
	{ "/*", "a/b", 0, 0 },
	/* one trailing '/': directories only */
	{ "build/", "build", 0, 0 },
	{ "build/", "src/build", 1, 1 },
	{ "/tmp/", "tmp", 1, 1 },
	{ "/tmp/", "tmp", 0, 0 },
	{ "build//", "build", 1, 0 },
	/* an inner '/' without "**": the last N components, N = slashes + 1 */
	{ "src/*.c", "src/a.c", 0, 1 },
	{ "src/*.c", "x/src/a.c", 0, 1 },
	{ "src/*.c", "xsrc/a.c", 0, 0 },
	{ "src/*.c", "src/sub/a.c", 0, 0 },
	{ "*/b", "x/y/b", 0, 1 },
	{ "*/b", "b", 0, 0 },
	{ "b/*", "b/c/d", 0, 0 },
	{ "a/b", "x/a/b", 0, 1 },
	{ "a/b", "a/b/c", 0, 0 },
	{ "a/b", "xa/b", 0, 0 },
	{ "a/*/c", "x/a/b/c", 0, 1 },
	/* "**" crosses '/'; not at the start: from the top or after any '/' */
	{ "src/**.c", "src/sub/a.c", 0, 1 },
	{ "src/**.c", "x/src/sub/a.c", 0, 1 },
	{ "a**b", "x/a/y/b", 0, 1 },
	{ "a**b", "xa/b", 0, 0 },
	{ "deep/**", "deep/a/b", 0, 1 },
	{ "deep/**", "deep", 1, 0 },
	{ "/**", "a/b/c", 0, 1 },
	{ "/**", "a", 1, 1 },
	{ "/**/x/**", "a/b/x/c/d", 0, 1 },
	{ "/**/x/**", "a/b/y/c/d", 0, 0 },
	/* a leading "**" matches the path with a '/' before it: "**" + "/" can
	 * be nothing, but "/" + "**" anchored cannot */
	{ "**/node_modules/", "node_modules", 1, 1 },
	{ "**/node_modules/", "a/b/node_modules", 1, 1 },
	{ "**/node_modules/", "node_modules", 0, 0 },
	{ "**/node_modules", "x/node_modules/y", 0, 0 },
	{ "**foo", "a/bfoo", 0, 1 },
	{ "/**/x", "x", 0, 0 },
	{ "/**/x", "a/x", 0, 1 },
	/* "***" at the end: a directory matches as if followed by '/' */
	{ "dir/***", "dir", 1, 1 },
	{ "dir/***", "dir", 0, 0 },
	{ "dir/***", "dir/a", 0, 1 },
	{ "dir/***", "dir/a/b", 1, 1 },
	{ "dir/***", "x/dir/a", 0, 1 },
	{ "dir/***", "xdir", 1, 0 },
	{ "/dir/***", "x/dir", 1, 0 },
	{ "/dir/***", "dir", 1, 1 },
	{ "foo***", "foo", 0, 1 },
	/* '*' never crosses '/'; runs of stars are "**" */
	{ "/a*", "ab/c", 0, 0 },
	{ "/a***c", "ab/c", 0, 1 },
	/* '?' and classes are one byte, never '/' */
	{ "?", "a", 0, 1 },
	{ "?", "ab", 0, 0 },
	{ "/a?c", "a/c", 0, 0 },
	{ "/a[/]c", "a/c", 0, 0 },
	{ "/a[!x]c", "a/c", 0, 0 },
	{ "[a-c]x", "bx", 0, 1 },
	{ "[a-c]x", "dx", 0, 0 },
	{ "[!a-c]x", "bx", 0, 0 },
	{ "[!a-c]x", "dx", 0, 1 },
	{ "[^a-c]x", "dx", 0, 1 },
	{ "[]]", "]", 0, 1 },
	{ "[!]]", "]", 0, 0 },
	{ "[a\\]]", "]", 0, 1 },
	{ "[-a]", "-", 0, 1 },
	{ "[a-]", "-", 0, 1 },
	{ "[\\a-c]", "b", 0, 1 },
	{ "[a-\\c]", "b", 0, 1 },
	{ "[z-a]", "z", 0, 1 },
	{ "[z-a]", "m", 0, 0 },
	{ "[a-c-e]", "d", 0, 0 },
	{ "[a-c-e]", "-", 0, 1 },
	{ "[:digit:]", "g", 0, 1 },
	{ "[[:]", "[", 0, 1 },
	/* POSIX classes, the C locale's */
	{ "[[:digit:]]", "7", 0, 1 },
	{ "[[:digit:]]", "a", 0, 0 },
	{ "x[[:digit:]][[:digit:]]", "d/x42", 0, 1 },
	{ "[[:alpha:]]", "Q", 0, 1 },
	{ "[[:alpha:]]", "1", 0, 0 },
	{ "[[:alnum:]]", "z", 0, 1 },
	{ "[[:alnum:]]", "_", 0, 0 },
	{ "[[:upper:]]", "A", 0, 1 },
	{ "[[:upper:]]", "a", 0, 0 },
	{ "[[:lower:]]", "a", 0, 1 },
	{ "[[:lower:]]", "A", 0, 0 },
	{ "a[[:space:]]b", "a b", 0, 1 },
	{ "a[[:space:]]b", "a\tb", 0, 1 },
	{ "a[[:space:]]b", "a_b", 0, 0 },
	{ "a[[:blank:]]b", "a\tb", 0, 1 },
	{ "a[[:blank:]]b", "a\nb", 0, 0 },
	{ "[[:punct:]]", "~", 0, 1 },
	{ "[[:punct:]]", "a", 0, 0 },
	{ "[[:xdigit:]]", "F", 0, 1 },
	{ "[[:xdigit:]]", "g", 0, 0 },
	{ "[[:print:]]", " ", 0, 1 },
	{ "[[:print:]]", "\x7f", 0, 0 },
	{ "[[:graph:]]", "!", 0, 1 },
	{ "[[:graph:]]", " ", 0, 0 },
	{ "[[:cntrl:]]", "\x01", 0, 1 },
	{ "[[:cntrl:]]", "a", 0, 0 },
	{ "[[:alpha:]]", "\xe9", 0, 0 },
	{ "[![:digit:]]", "x", 0, 1 },
	{ "[![:digit:]]", "5", 0, 0 },
	{ "[[:digit:][:upper:]_]", "_", 0, 1 },
	/* a malformed class matches nothing at all */
	{ "[ab", "[ab", 0, 0 },
	{ "[ab", "a", 0, 0 },
	{ "[[:foo:]]", "f", 0, 0 },
	{ "[[:digit:]", "1", 0, 0 },
	/* a backslash quotes the next byte, in a pattern with * ? or [ */
	{ "\\*", "*", 0, 1 },
	{ "\\*", "a", 0, 0 },
	{ "a\\?", "a?", 0, 1 },
	{ "a\\?", "ab", 0, 0 },
	{ "\\[x]", "[x]", 0, 1 },
	{ "\\[x]", "x", 0, 0 },
	{ "?\\b", "ab", 0, 1 },
	{ "?\\b", "a\\b", 0, 0 },
	{ "*\\", "a\\", 0, 0 },
	/* without * ? [ a pattern is compared byte for byte, '\' too */
	{ "a\\b", "a\\b", 0, 1 },
	{ "a\\b", "ab", 0, 0 },
	{ "a b", "x/a b", 0, 1 },
	/* many stars: still exact */
	{ "*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0 },
	{ "*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 0, 1 },
	/* rsync's old prefix: "- X" excludes X */
	{ "- *.o", "a.o", 0, 1 },
	{ "- a", "- a", 0, 0 },
	{ "!x", "!x", 0, 1 },
};

/* Refused: empty, only slashes, rsync's include and list-clear rules. */
static const char *const exclude_invalid[] = { "", "/", "//", "///", "- ", "+ x", "!" };

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
		dirsync_pattern_free(&p);
	}
	for (size_t i = 0; i < BOX_ARRAY_LEN(exclude_invalid); i++) {
		CHECK(dirsync_pattern_parse(exclude_invalid[i], &p) == -1);
		CHECK(!dirsync_pattern_match(&p, "x", 1));
	}
	char *longest = malloc(1026);
	memset(longest, 'x', 1025);
	longest[1025] = 0;
	CHECK(dirsync_pattern_parse(longest, &p) == -1);
	longest[1024] = 0;
	CHECK(dirsync_pattern_parse(longest, &p) == 0 && !strcmp(p.text, longest));
	dirsync_pattern_free(&p);
	free(longest);
	CHECK(dirsync_pattern_parse("/a/b/", &p) == 0);
	CHECK(p.flags == (PAT_ANCHORED | PAT_DIRONLY) && p.slashes == 2 && !strcmp(p.text, "a/b"));
	dirsync_pattern_free(&p);
	CHECK(dirsync_pattern_parse("**/x/***", &p) == 0);
	CHECK(p.flags == (PAT_WILD | PAT_WILD2 | PAT_WILD2_PREFIX | PAT_WILD3_SUFFIX));
	dirsync_pattern_free(&p);
}

/* A path of depth levels "d/d/.../d/f.tmp" */
static char *deep_path(size_t depth)
{
	char *s = malloc(depth * 2 + 6);
	for (size_t i = 0; i < depth; i++)
		memcpy(s + 2 * i, "d/", 2);
	strcpy(s + 2 * depth, "f.tmp");
	return s;
}

/* One match looks at each byte of the path once per pattern token (plus
 * the '/' rsync adds around it): no retry from every '/', so a tree
 * 1,500 levels deep is walked in time linear in its paths' length. */
UNIT_GROUP(exclude_steps, "exclude-steps")
{
	static const struct {
		const char *pattern;
		int match;
	} cases[] = {
		{ "**/*.tmp", 1 }, { "*.tmp", 1 }, { "d/**/*.tmp", 1 }, { "d/d/*.tmp", 1 },
		{ "/d/**/*.tmp", 1 }, { "d**x", 0 }, { "**/e/**", 0 }, { "d/***", 1 },
		{ "*d*d*d*d*d*d*d*d*d*d*x", 0 }, { "**d**d**d**d**d**d**x", 0 },
	};
	char *path = deep_path(1500);
	size_t len = strlen(path);

	for (size_t i = 0; i < BOX_ARRAY_LEN(cases); i++) {
		struct dirsync_pattern p;
		CHECK(dirsync_pattern_parse(cases[i].pattern, &p) == 0);
		box_glob_steps = 0;
		CHECK(dirsync_pattern_match(&p, path, 0) == cases[i].match);
		if (box_glob_steps > (len + 2) * p.glob.words) {
			fprintf(stderr, "exclude-steps: '%s' took %lu steps on %zu bytes\n",
				cases[i].pattern, box_glob_steps, len);
			unit_failures++;
		}
		dirsync_pattern_free(&p);
	}
	free(path);
}
