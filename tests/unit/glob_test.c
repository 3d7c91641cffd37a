/* Unit tests of libbox's compiled glob matcher (rsync's wildmatch): the
 * two readings of a malformed pattern, texts read as one, starting after
 * any '/', and patterns longer than one word of token bits. */
#include "../../libbox/box.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static int glob_run(const char *pattern, int cflags, const char *const *texts, int flags)
{
	struct box_glob g;

	box_glob_compile(&g, pattern, cflags);
	int m = box_glob_exec(&g, texts, flags);
	box_glob_free(&g);
	return m;
}

static int glob_one(const char *pattern, int cflags, const char *s)
{
	const char *texts[] = { s, NULL };

	return glob_run(pattern, cflags, texts, 0);
}

UNIT_GROUP(wildmatch, "wildmatch")
{
	/* malformed: rsync matches nothing, glob(3) reads the byte itself */
	CHECK(!glob_one("[ab", BOX_GLOB_STRICT, "[ab"));
	CHECK(glob_one("[ab", 0, "[ab"));
	CHECK(!glob_one("a\\", BOX_GLOB_STRICT, "a\\"));
	CHECK(glob_one("a\\", 0, "a\\"));
	CHECK(!glob_one("[[:nope:]]", BOX_GLOB_STRICT, "n"));
	CHECK(glob_one("[[:nope:]]x", 0, "[n]x"));
	CHECK(box_glob_match("[ab", "[ab") && !box_glob_match("[ab", "a"));

	/* several texts are one string */
	const char *split[] = { "/", "a/b", "/", NULL };
	CHECK(glob_run("**/b/", BOX_GLOB_STRICT, split, 0));
	CHECK(!glob_run("a/*", BOX_GLOB_STRICT, split, 0));
	CHECK(glob_run("/a?b/", BOX_GLOB_STRICT, split, 0) == 0);

	/* starting after any '/' as well as at the start */
	const char *path[] = { "x/a/y/b", NULL };
	CHECK(glob_run("a/*/b", BOX_GLOB_STRICT, path, BOX_GLOB_AFTER_SLASH));
	CHECK(!glob_run("a/*/b", BOX_GLOB_STRICT, path, 0));
	CHECK(glob_run("x/a**", BOX_GLOB_STRICT, path, BOX_GLOB_AFTER_SLASH));
	CHECK(!glob_run("/b", BOX_GLOB_STRICT, path, BOX_GLOB_AFTER_SLASH));
	CHECK(!glob_run("a/y", BOX_GLOB_STRICT, path, BOX_GLOB_AFTER_SLASH));

	/* the empty pattern matches the empty text only */
	CHECK(glob_one("", 0, "") && !glob_one("", 0, "a"));

	/* 200 tokens: state bits carried across words, for moves and stars */
	char pat[512], text[512];
	for (int i = 0; i < 200; i++) {
		pat[i] = i % 10 == 9 ? '*' : i % 7 == 3 ? '?' : 'a' + i % 26;
		text[i] = 'a' + i % 26;
	}
	pat[200] = text[200] = 0;
	CHECK(glob_one(pat, BOX_GLOB_STRICT, text));
	text[149] = '/';
	CHECK(!glob_one(pat, BOX_GLOB_STRICT, text));
	memmove(pat + 150, pat + 149, 52);
	CHECK(glob_one(pat, BOX_GLOB_STRICT, text));
	text[198] = '#';
	CHECK(!glob_one(pat, BOX_GLOB_STRICT, text));
}
