/* supervise's INI reader (applets/supervise/ini.c): input -> sections,
 * keys and values, or the error with its line. */
#include "../../applets/supervise/ini.h"
#include "unit.h"

#include <string.h>

struct ini_case {
	const char *in;
	/* "[sec] key=value@line ..." for every section and key, or the error */
	const char *want;
};

static void dump(const struct ini *ini, struct box_buf *b)
{
	box_buf_adds(b, "");
	for (size_t i = 0; i < ini->nsec; i++) {
		box_buf_printf(b, "%s[%s]", i ? " " : "", ini->sec[i].name);
		for (size_t k = 0; k < ini->sec[i].nkv; k++)
			box_buf_printf(b, " %s=%s@%d", ini->sec[i].kv[k].key, ini->sec[i].kv[k].value,
				ini->sec[i].kv[k].line);
	}
}

UNIT_GROUP(ini, "ini")
{
	static const struct ini_case cases[] = {
		{ "", "" },
		{ "[a]\nx = 1\n", "[a] x=1@2" },
		{ "[a]\nx: 1\n", "[a] x=1@2" },
		{ "[ a ]\n  Key=Value  \n", "[a] key=Value@2" },
		{ "; c\n# c\n[a]\n\nx=1 ; note\ny=a;b\nz=#x\n", "[a] x=1@5 y=a;b@6 z=#x@7" },
		{ "[a]\nx=1\n  more\n\tlast ; c\n", "[a] x=1\nmore\nlast@2" },
		{ "[a]\nx=\n  one\n", "[a] x=one@2" },
		{ "[a]\r\nx=1\r\n", "[a] x=1@2" },
		{ "[a]\nx=a=b:c\n", "[a] x=a=b:c@2" },
		{ "[a]\nx=1\n[b] ; c\ny=2", "[a] x=1@2 [b] y=2@4" },
		{ "[a]\nx=1\nx=2\n", "[a] x=2@3" },
		/* a section seen again is merged, key by key, as supervisord does */
		{ "[a]\nx=1\n[b]\n[a]\nx=2\ny=3\n", "[a] x=2@5 y=3@6 [b]" },
		{ "[a]\nx=1\ny=2\nx=3\n  more\n", "[a] x=3\nmore@4 y=2@3" },
		{ "[a]\nx=1\n[a]\n  y=2\n", "[a] x=1@2 y=2@4" },
		{ "x=1\n", "t.conf:1: key outside of a section" },
		{ "[a]\njunk\n", "t.conf:2: expected 'key = value'" },
		{ "[a]\n=1\n", "t.conf:2: expected 'key = value'" },
		{ "[]\n", "t.conf:1: malformed section header" },
		{ "[a\n", "t.conf:1: malformed section header" },
		{ "[a]\nx=1\0\n", "t.conf:2: NUL byte in line" },
	};

	for (size_t i = 0; i < BOX_ARRAY_LEN(cases); i++) {
		struct ini ini = { 0 };
		struct box_buf err = { 0 }, got = { 0 };
		size_t len = strlen(cases[i].in);
		if (strstr(cases[i].want, "NUL byte"))
			len += 2;   /* the NUL and the newline after it */
		if (ini_parse_buf(&ini, cases[i].in, len, "t.conf", &err) == 0)
			dump(&ini, &got);
		else
			box_buf_adds(&got, err.p);
		if (strcmp(got.p, cases[i].want))
			fprintf(stderr, "ini case %zu: got '%s', want '%s'\n", i, got.p, cases[i].want);
		CHECK(!strcmp(got.p, cases[i].want));
		ini_free(&ini);
		box_buf_free(&err);
		box_buf_free(&got);
	}

	/* later lines win; ini_trim trims blanks and CRs */
	struct ini ini = { 0 };
	struct box_buf err = { 0 };
	const char *two = "[a]\nx=1\nx=2\n";
	CHECK(ini_parse_buf(&ini, two, strlen(two), "t.conf", &err) == 0);
	CHECK(ini.nsec == 1 && !strcmp(ini_get(&ini.sec[0], "x")->value, "2"));
	CHECK(ini_get(&ini.sec[0], "y") == NULL);
	ini_free(&ini);

	/* merged across files: each key keeps the file it was written in */
	const char *main = "[supervisord]\nnodaemon=false\nlogfile=x\n";
	const char *dropin = "[supervisord]\nnodaemon=true\n";
	CHECK(ini_parse_buf(&ini, main, strlen(main), "main.conf", &err) == 0);
	CHECK(ini_parse_buf(&ini, dropin, strlen(dropin), "conf.d/a.conf", &err) == 0);
	struct ini_kv *nd = ini_get(&ini.sec[0], "nodaemon"), *lf = ini_get(&ini.sec[0], "logfile");
	CHECK(ini.nsec == 1 && !strcmp(nd->value, "true") && nd->line == 2);
	CHECK(!strcmp(nd->file, "conf.d/a.conf") && !strcmp(lf->file, "main.conf"));
	CHECK(!strcmp(ini.sec[0].file, "main.conf") && ini.sec[0].line == 1);
	ini_free(&ini);
	char s[] = " \t x y\r \t";
	CHECK(!strcmp(ini_trim(s), "x y"));
}
