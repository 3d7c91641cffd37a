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
	int line;
};

struct ini_section {
	char *name;
	const char *file;        /* owned by struct ini's file list */
	int line;
	struct ini_kv *kv;
	size_t nkv, cap;
};

struct ini {
	struct ini_section *sec;
	size_t nsec, cap;
	char **files;
	size_t nfiles, fcap;
};

/* Parses buf into ini (sections are appended; a section name may appear
 * once across every file). 0, or -1 with "FILE:LINE: message" in *err. */
int ini_parse_buf(struct ini *ini, const char *buf, size_t len, const char *file,
	struct box_buf *err);
void ini_free(struct ini *ini);
/* The last value of key in the section (later lines win), or NULL. */
struct ini_kv *ini_get(const struct ini_section *s, const char *key);
/* s without leading and trailing blanks (spaces, tabs, CRs), in place. */
char *ini_trim(char *s);

#endif
