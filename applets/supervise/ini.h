/* supervise's INI reader: supervisord's dialect of the format. Sections
 * "[name]", "key = value" or "key: value", comments on their own line
 * (';' or '#') or inline after a blank, indented lines continuing the
 * previous value, keys lowercased. Used by config.c, the unit test
 * (tests/unit/ini_test.c) and the fuzz target (tests/fuzz/fuzz_ini.c). */
#ifndef SUPERVISE_INI_H
#define SUPERVISE_INI_H

#include "../../libbox/box.h"

struct ini_kv {
	char *key, *value;
	const char *file;        /* where the line is: owned by struct ini */
	int line;
};

struct ini_section {
	char *name;
	const char *file;        /* owned by struct ini's file list */
	int line;
	struct ini_kv *kv;
	size_t nkv, cap;
	size_t last;             /* 1 + the key an indented line continues */
};

struct ini {
	struct ini_section *sec;
	size_t nsec, cap;
	char **files;
	size_t nfiles, fcap;
};

/* Parses buf into ini. Sections are appended; a section seen before, in
 * this file or an earlier one, is merged into the first as supervisord's
 * ConfigParser merges it: new keys are appended, a key seen before takes
 * the new value (and its file and line) in its place. 0, or -1 with
 * "FILE:LINE: message" in *err. */
int ini_parse_buf(struct ini *ini, const char *buf, size_t len, const char *file,
	struct box_buf *err);
void ini_free(struct ini *ini);
/* The value of key in the section, or NULL. */
struct ini_kv *ini_get(const struct ini_section *s, const char *key);
/* s without leading and trailing blanks (spaces, tabs, CRs), in place. */
char *ini_trim(char *s);

#endif
