/* supervise: the INI reader (see ini.h for the dialect). */
#include "ini.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *ini_trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* An inline comment starts with ';' or '#' after whitespace. */
static char *cut_comment(char *s)
{
	for (char *p = s; *p; p++)
		if ((*p == ';' || *p == '#') && p > s && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			break;
		}
	return ini_trim(s);
}

static int ini_error(struct box_buf *err, const char *file, int line, const char *msg)
{
	box_buf_printf(err, "%s:%d: %s", file, line, msg);
	return -1;
}

/* An indented line continues the value of the key written last. */
static void continue_value(struct ini_section *cur, char *line)
{
	struct ini_kv *kv = &cur->kv[cur->last - 1];
	char *v = box_xasprintf("%s%s%s", kv->value, *kv->value ? "\n" : "", cut_comment(line));
	free(kv->value);
	kv->value = v;
}

static struct ini_section *open_section(struct ini *ini, char *line, const char *file,
	int lineno, struct box_buf *err)
{
	line = cut_comment(line);
	size_t l = strlen(line);
	if (l < 3 || line[l - 1] != ']') {
		ini_error(err, file, lineno, "malformed section header");
		return NULL;
	}
	line[l - 1] = 0;
	char *name = ini_trim(line + 1);
	for (size_t i = 0; i < ini->nsec; i++)
		if (!strcmp(ini->sec[i].name, name)) {
			ini->sec[i].last = 0;
			return &ini->sec[i];
		}
	struct ini_section *s = BOX_PUSH(ini->sec, ini->nsec, ini->cap);
	*s = (struct ini_section){ .name = box_xstrdup(name), .file = file, .line = lineno };
	return s;
}

static int add_key(struct ini_section *cur, char *line, const char *file, int lineno,
	struct box_buf *err)
{
	size_t sep = strcspn(line, "=:");
	int has_sep = line[sep] != 0;
	line[sep] = 0;
	char *key = ini_trim(line);
	if (!has_sep || !*key)
		return ini_error(err, file, lineno, "expected 'key = value'");
	if (!cur)
		return ini_error(err, file, lineno, "key outside of a section");
	for (char *k = key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	struct ini_kv *kv = ini_get(cur, key);
	if (kv) {
		free(kv->value);
	} else {
		kv = BOX_PUSH(cur->kv, cur->nkv, cur->cap);
		kv->key = box_xstrdup(key);
	}
	kv->value = box_xstrdup(cut_comment(line + sep + 1));
	kv->file = file;
	kv->line = lineno;
	cur->last = (size_t)(kv - cur->kv) + 1;
	return 0;
}

/* One line, already without its newline: 0 or -1 with *err set. */
static int parse_line(struct ini *ini, struct ini_section **cur, char *raw, const char *file,
	int lineno, struct box_buf *err)
{
	int indented = raw[0] == ' ' || raw[0] == '\t';
	char *line = ini_trim(raw);

	if (!*line || *line == ';' || *line == '#')
		return 0;
	if (indented && *cur && (*cur)->last) {
		continue_value(*cur, line);
		return 0;
	}
	if (*line == '[') {
		struct ini_section *s = open_section(ini, line, file, lineno, err);
		*cur = s;
		return s ? 0 : -1;
	}
	return add_key(*cur, line, file, lineno, err);
}

int ini_parse_buf(struct ini *ini, const char *buf, size_t len, const char *file,
	struct box_buf *err)
{
	struct ini_section *cur = NULL;
	const char *end = buf + len;
	int lineno = 0, rc = 0;

	file = *BOX_PUSH(ini->files, ini->nfiles, ini->fcap) = box_xstrdup(file);
	while (buf < end && rc == 0) {
		const char *nl = memchr(buf, '\n', (size_t)(end - buf));
		size_t n = nl ? (size_t)(nl - buf) : (size_t)(end - buf);
		char *raw = box_xmalloc(n + 1);
		memcpy(raw, buf, n);
		raw[n] = 0;
		buf += n + (nl != NULL);
		lineno++;
		if (memchr(raw, 0, n))
			rc = ini_error(err, file, lineno, "NUL byte in line");
		else
			rc = parse_line(ini, &cur, raw, file, lineno, err);
		free(raw);
	}
	return rc;
}

void ini_free(struct ini *ini)
{
	for (size_t i = 0; i < ini->nsec; i++) {
		for (size_t k = 0; k < ini->sec[i].nkv; k++) {
			free(ini->sec[i].kv[k].key);
			free(ini->sec[i].kv[k].value);
		}
		free(ini->sec[i].kv);
		free(ini->sec[i].name);
	}
	for (size_t i = 0; i < ini->nfiles; i++)
		free(ini->files[i]);
	free(ini->sec);
	free(ini->files);
	memset(ini, 0, sizeof(*ini));
}

struct ini_kv *ini_get(const struct ini_section *s, const char *key)
{
	for (size_t i = s->nkv; i-- > 0;)
		if (!strcmp(s->kv[i].key, key))
			return &s->kv[i];
	return NULL;
}
