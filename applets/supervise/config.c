/* supervise: the INI reader and supervisord's configuration dialect
 * (%(...)s expansion, [include], [group:x], numprocs, typed values). */
#include "supervise.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the INI reader --------------------------------------------------- */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* An inline comment starts with ';' or '#' after whitespace. */
static void cut_comment(char *s)
{
	for (char *p = s; *p; p++)
		if ((*p == ';' || *p == '#') && p > s && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			return;
		}
}

static int ini_error(struct box_buf *err, const char *file, int line, const char *msg,
	const char *arg)
{
	box_buf_printf(err, "%s:%d: %s%s", file, line, msg, arg ? arg : "");
	return -1;
}

int ini_parse_buf(struct ini *ini, const char *buf, size_t len, const char *file,
	struct box_buf *err)
{
	struct ini_section *cur = NULL;
	const char *end = buf + len;
	int lineno = 0;

	ini->files = box_xrealloc(ini->files, sizeof(char *) * (size_t)(ini->nfiles + 1));
	file = ini->files[ini->nfiles++] = box_xstrdup(file);
	while (buf < end) {
		const char *nl = memchr(buf, '\n', (size_t)(end - buf));
		size_t n = nl ? (size_t)(nl - buf) : (size_t)(end - buf);
		char *raw = box_xmalloc(n + 1), *line;
		memcpy(raw, buf, n);
		raw[n] = 0;
		buf += n + (nl != NULL);
		lineno++;
		if (memchr(raw, 0, n)) {
			free(raw);
			return ini_error(err, file, lineno, "NUL byte in line", NULL);
		}
		int indented = raw[0] == ' ' || raw[0] == '\t';
		line = trim(raw);
		if (!*line || *line == ';' || *line == '#') {
			free(raw);
			continue;
		}
		if (indented && cur && cur->nkv) {
			struct ini_kv *kv = &cur->kv[cur->nkv - 1];
			cut_comment(line);
			line = trim(line);
			char *v = box_xasprintf("%s%s%s", kv->value, *kv->value ? "\n" : "", line);
			free(kv->value);
			kv->value = v;
			free(raw);
			continue;
		}
		if (*line == '[') {
			cut_comment(line);
			line = trim(line);
			size_t l = strlen(line);
			if (l < 3 || line[l - 1] != ']') {
				free(raw);
				return ini_error(err, file, lineno, "malformed section header", NULL);
			}
			line[l - 1] = 0;
			char *name = trim(line + 1);
			for (int i = 0; i < ini->nsec; i++)
				if (!strcmp(ini->sec[i].name, name)) {
					ini_error(err, file, lineno, "duplicate section ", "");
					box_buf_printf(err, "[%s] (first at %s:%d)", name,
						ini->sec[i].file, ini->sec[i].line);
					free(raw);
					return -1;
				}
			ini->sec = box_xrealloc(ini->sec, sizeof(*ini->sec) * (size_t)(ini->nsec + 1));
			cur = &ini->sec[ini->nsec++];
			memset(cur, 0, sizeof(*cur));
			cur->name = box_xstrdup(name);
			cur->file = file;
			cur->line = lineno;
			free(raw);
			continue;
		}
		size_t sep = strcspn(line, "=:");
		int has_sep = line[sep] != 0;
		line[sep] = 0;
		char *key = trim(line), *value = line + sep + (has_sep ? 1 : 0);
		if (!has_sep || !*key) {
			free(raw);
			return ini_error(err, file, lineno, "expected 'key = value'", NULL);
		}
		if (!cur) {
			free(raw);
			return ini_error(err, file, lineno, "key outside of a section", NULL);
		}
		cut_comment(value);
		value = trim(value);
		for (char *k = key; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		cur->kv = box_xrealloc(cur->kv, sizeof(*cur->kv) * (size_t)(cur->nkv + 1));
		cur->kv[cur->nkv].key = box_xstrdup(key);
		cur->kv[cur->nkv].value = box_xstrdup(value);
		cur->kv[cur->nkv].line = lineno;
		cur->nkv++;
		free(raw);
	}
	return 0;
}

void ini_free(struct ini *ini)
{
	for (int i = 0; i < ini->nsec; i++) {
		for (int k = 0; k < ini->sec[i].nkv; k++) {
			free(ini->sec[i].kv[k].key);
			free(ini->sec[i].kv[k].value);
		}
		free(ini->sec[i].kv);
		free(ini->sec[i].name);
	}
	for (int i = 0; i < ini->nfiles; i++)
		free(ini->files[i]);
	free(ini->sec);
	free(ini->files);
	memset(ini, 0, sizeof(*ini));
}

/* The last value of key in the section (later lines win). */
static struct ini_kv *ini_get(const struct ini_section *s, const char *key)
{
	for (int i = s->nkv - 1; i >= 0; i--)
		if (!strcmp(s->kv[i].key, key))
			return &s->kv[i];
	return NULL;
}

/* ---- %(name)s expansion ------------------------------------------------ */

struct expand_ctx {
	const char *program_name, *group_name, *here;
	int process_num, numprocs;   /* -1: not available */
};

static const char *expand_lookup(const struct expand_ctx *x, const char *name,
	char *num, size_t numsz, int *is_num)
{
	static char host[256];
	*is_num = 0;
	if (!strncmp(name, "ENV_", 4))
		return getenv(name + 4);
	if (!strcmp(name, "here"))
		return x->here;
	if (!strcmp(name, "host_node_name")) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			host[0] = 0;
		return host;
	}
	if (!strcmp(name, "program_name"))
		return x->program_name;
	if (!strcmp(name, "group_name"))
		return x->group_name;
	int v = !strcmp(name, "process_num") ? x->process_num :
		!strcmp(name, "numprocs") ? x->numprocs : -1;
	if (v < 0)
		return NULL;
	snprintf(num, numsz, "%d", v);
	*is_num = 1;
	return num;
}

/* Python's "%(name)[flags][width][.prec]conv" for conv s, d, i, r. */
static int expand(const struct expand_ctx *x, const char *s, struct box_buf *out,
	struct box_buf *why)
{
	out->len = 0;
	box_buf_add(out, "", 0);
	while (*s) {
		if (*s != '%') {
			box_buf_addc(out, *s++);
			continue;
		}
		if (s[1] == '%') {
			box_buf_addc(out, '%');
			s += 2;
			continue;
		}
		if (s[1] != '(') {
			box_buf_adds(why, "'%' must be followed by '%' or '('");
			return -1;
		}
		const char *close = strchr(s + 2, ')');
		if (!close || close - s - 2 > 60) {
			box_buf_adds(why, "unterminated %(");
			return -1;
		}
		char name[64], num[32], fmt[32];
		memcpy(name, s + 2, (size_t)(close - s - 2));
		name[close - s - 2] = 0;
		const char *f = close + 1, *spec = f;
		for (int d = 0; *f && strchr("-0 +#", *f) && d < 5; d++)
			f++;
		/* widths and precisions up to 999: a config cannot ask for megabytes */
		for (int d = 0; isdigit((unsigned char)*f) && d < 3; d++)
			f++;
		if (*f == '.')
			for (int d = 0; isdigit((unsigned char)*++f) && d < 3; d++)
				;
		if (!*f || !strchr("sdir", *f)) {
			box_buf_printf(why, "bad format for %%(%s)", name);
			return -1;
		}
		int is_num;
		const char *v = expand_lookup(x, name, num, sizeof(num), &is_num);
		if (!v) {
			box_buf_printf(why, "unknown name '%s' in %%(%s)", name, name);
			return -1;
		}
		char conv = *f == 'i' ? 'd' : *f == 'r' ? 's' : *f;
		if (conv == 'd' && !is_num) {
			box_buf_printf(why, "%%(%s) is not a number", name);
			return -1;
		}
		snprintf(fmt, sizeof(fmt), "%%%.*s%c", (int)(f - spec), spec, conv);
		if (conv == 'd')
			box_buf_printf(out, fmt, atoi(v));
		else
			box_buf_printf(out, fmt, v);
		s = f + 1;
	}
	return 0;
}

/* ---- typed values ------------------------------------------------------ */

int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(s, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

static int parse_size(const char *s, long long *out)
{
	char *end;
	long long mult = 1;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	long long v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	if (!strcasecmp(end, "KB"))
		mult = 1024;
	else if (!strcasecmp(end, "MB"))
		mult = 1024 * 1024;
	else if (!strcasecmp(end, "GB"))
		mult = 1024 * 1024 * 1024;
	else if (*end)
		return -1;
	if (v > LLONG_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int parse_exitcodes(const char *s, unsigned char map[32])
{
	char *copy = box_xstrdup(s), *save = NULL;
	int n = 0;
	memset(map, 0, 32);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long long c;
		if (box_parse_ll(trim(t), 0, 255, &c)) {
			free(copy);
			return -1;
		}
		map[c / 8] |= (unsigned char)(1 << (c % 8));
		n++;
	}
	free(copy);
	return n ? 0 : -1;
}

/* environment=K="v",K2='v2',K3=v3 */
static int parse_env(const char *s, char ***env, int *nenv)
{
	while (*s) {
		while (isspace((unsigned char)*s) || *s == ',')
			s++;
		if (!*s)
			break;
		const char *eq = strchr(s, '=');
		if (!eq || eq == s)
			return -1;
		struct box_buf kv = { 0 };
		const char *k = s;
		while (k < eq && !isspace((unsigned char)*k))
			k++;
		box_buf_add(&kv, s, (size_t)(k - s));
		box_buf_addc(&kv, '=');
		s = eq + 1;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '"' || *s == '\'') {
			char q = *s++;
			while (*s && *s != q) {
				if (*s == '\\' && q == '"' && s[1])
					s++;
				box_buf_addc(&kv, *s++);
			}
			if (*s != q) {
				box_buf_free(&kv);
				return -1;
			}
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s && *s != ',') {
				box_buf_free(&kv);
				return -1;
			}
		} else {
			const char *e = s + strcspn(s, ",");
			const char *t = e;
			while (t > s && isspace((unsigned char)t[-1]))
				t--;
			box_buf_add(&kv, s, (size_t)(t - s));
			s = e;
		}
		*env = box_xrealloc(*env, sizeof(char *) * (size_t)(*nenv + 2));
		(*env)[(*nenv)++] = kv.p;
		(*env)[*nenv] = NULL;
	}
	return 0;
}

/* ---- sections ----------------------------------------------------------- */

struct loader {
	struct ini ini;
	struct config *c;
	struct box_buf *err;
	const char *sv_env;     /* [supervisord] environment */
	int sv_env_line;
	const char *sv_env_file;
};

static int bad(struct loader *L, const char *file, int line, const char *key,
	const char *value, const char *why)
{
	box_buf_printf(L->err, "%s:%d: invalid value '%s' for %s: %s", file, line,
		value, key, why);
	return -1;
}

static char *dir_of(const char *file)
{
	char *d = box_xstrdup(file), *slash = strrchr(d, '/');
	if (!slash)
		return free(d), box_xstrdup(".");
	if (slash == d)
		slash[1] = 0;
	else
		*slash = 0;
	return d;
}

static int load_file(struct loader *L, const char *path, int depth);

static int do_include(struct loader *L, const struct ini_section *s, int depth)
{
	struct ini_kv *kv = ini_get(s, "files");
	if (!kv) {
		box_buf_printf(L->err, "%s:%d: [include] section must define a 'files' key",
			s->file, s->line);
		return -1;
	}
	char *here = dir_of(s->file), *copy = box_xstrdup(kv->value), *save = NULL;
	int rc = 0;
	for (char *pat = strtok_r(copy, " \t\n", &save); pat && !rc;
	     pat = strtok_r(NULL, " \t\n", &save)) {
		char *full = pat[0] == '/' ? box_xstrdup(pat) : box_xasprintf("%s/%s", here, pat);
		glob_t g;
		int gr = glob(full, 0, NULL, &g);
		if (gr == GLOB_NOMATCH)
			box_warn("%s:%d: no file matches via include \"%s\"", s->file, kv->line, full);
		for (size_t i = 0; gr == 0 && i < g.gl_pathc && !rc; i++)
			rc = load_file(L, g.gl_pathv[i], depth + 1);
		if (gr == 0)
			globfree(&g);
		free(full);
	}
	free(copy);
	free(here);
	return rc;
}

static int load_file(struct loader *L, const char *path, int depth)
{
	struct box_buf b = { 0 };
	if (depth > 10) {
		box_buf_printf(L->err, "%s: includes nested too deeply", path);
		return -1;
	}
	if (box_read_file(path, &b) < 0) {
		box_buf_printf(L->err, "unable to read %s: %s", path, strerror(errno));
		box_buf_free(&b);
		return -1;
	}
	int first = L->ini.nsec;
	int rc = ini_parse_buf(&L->ini, b.p, b.len, path, L->err);
	box_buf_free(&b);
	for (int i = first; rc == 0 && i < L->ini.nsec; i++) {
		if (!strcmp(L->ini.sec[i].name, "include")) {
			/* renamed so an included file may have its own [include] */
			L->ini.sec[i].name[0] = '\001';
			rc = do_include(L, &L->ini.sec[i], depth);
		}
	}
	return rc;
}

static void warn_key(const struct ini_section *s, const struct ini_kv *kv, const char *what)
{
	box_warn("%s:%d: %s '%s' in [%s]; ignored", s->file, kv->line, what, kv->key, s->name);
}

static int expand_kv(struct loader *L, const struct ini_section *s, const struct ini_kv *kv,
	const struct expand_ctx *x, struct box_buf *out)
{
	struct box_buf why = { 0 };
	if (expand(x, kv->value, out, &why) < 0) {
		box_buf_printf(L->err, "%s:%d: bad expansion in %s: %s", s->file, kv->line,
			kv->key, why.p);
		box_buf_free(&why);
		return -1;
	}
	return 0;
}

static int octal(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 8);
	if (!*s || *end || errno || v < 0 || v > 07777)
		return -1;
	*out = (int)v;
	return 0;
}

static int section_supervisord(struct loader *L, const struct ini_section *s)
{
	struct config *c = L->c;
	char *here = dir_of(s->file);
	struct expand_ctx x = { "", "", here, -1, -1 };
	struct box_buf v = { 0 };
	int rc = 0;

	for (int i = 0; i < s->nkv && !rc; i++) {
		const struct ini_kv *kv = &s->kv[i];
		const char *k = kv->key;
		if ((rc = expand_kv(L, s, kv, &x, &v)))
			break;
		long long n;
		if (!strcmp(k, "logfile"))
			free(c->logfile), c->logfile = box_xstrdup(v.p);
		else if (!strcmp(k, "pidfile"))
			free(c->pidfile), c->pidfile = box_xstrdup(v.p);
		else if (!strcmp(k, "childlogdir"))
			free(c->childlogdir), c->childlogdir = box_xstrdup(v.p);
		else if (!strcmp(k, "directory"))
			free(c->directory), c->directory = box_xstrdup(v.p);
		else if (!strcmp(k, "logfile_maxbytes")) {
			if (parse_size(v.p, &c->log_maxbytes))
				rc = bad(L, s->file, kv->line, k, v.p, "not a byte size");
		} else if (!strcmp(k, "logfile_backups")) {
			if (box_parse_ll(v.p, 0, 1000, &n))
				rc = bad(L, s->file, kv->line, k, v.p, "not a number 0-1000");
			c->log_backups = (int)n;
		} else if (!strcmp(k, "nodaemon")) {
			if (parse_bool(v.p, &c->nodaemon))
				rc = bad(L, s->file, kv->line, k, v.p, "not a boolean");
		} else if (!strcmp(k, "umask")) {
			if (octal(v.p, &c->umask))
				rc = bad(L, s->file, kv->line, k, v.p, "not an octal mode");
		} else if (!strcmp(k, "minfds")) {
			if (box_parse_ll(v.p, 1, 1 << 20, &n))
				rc = bad(L, s->file, kv->line, k, v.p, "not a number");
			c->minfds = (int)n;
		} else if (!strcmp(k, "environment")) {
			char **e = NULL;
			int ne = 0;
			if (parse_env(v.p, &e, &ne))
				rc = bad(L, s->file, kv->line, k, v.p, "expected KEY=\"value\",...");
			for (int j = 0; j < ne; j++)
				free(e[j]);
			free(e);
			L->sv_env = kv->value;
			L->sv_env_line = kv->line;
			L->sv_env_file = s->file;
		} else if (!strcmp(k, "loglevel") || !strcmp(k, "identifier") ||
			   !strcmp(k, "minprocs") || !strcmp(k, "nocleanup") ||
			   !strcmp(k, "strip_ansi") || !strcmp(k, "silent")) {
			continue;
		} else if (!strcmp(k, "user")) {
			warn_key(s, kv, "not implemented:");
		} else
			warn_key(s, kv, "unknown key");
	}
	box_buf_free(&v);
	free(here);
	return rc;
}

static int section_unix_http(struct loader *L, const struct ini_section *s)
{
	struct config *c = L->c;
	char *here = dir_of(s->file);
	struct expand_ctx x = { "", "", here, -1, -1 };
	struct box_buf v = { 0 };
	int rc = 0;

	for (int i = 0; i < s->nkv && !rc; i++) {
		const struct ini_kv *kv = &s->kv[i];
		if ((rc = expand_kv(L, s, kv, &x, &v)))
			break;
		if (!strcmp(kv->key, "file"))
			free(c->sock), c->sock = box_xstrdup(v.p);
		else if (!strcmp(kv->key, "chmod")) {
			if (octal(v.p, &c->sock_mode))
				rc = bad(L, s->file, kv->line, kv->key, v.p, "not an octal mode");
		} else if (!strcmp(kv->key, "chown")) {
			struct box_user u;
			const char *why;
			if (box_lookup_user(v.p, &u, &why) < 0)
				rc = bad(L, s->file, kv->line, kv->key, v.p, why);
			else {
				box_user_free(&u);
				free(c->sock_owner);
				c->sock_owner = box_xstrdup(v.p);
			}
		} else if (!strcmp(kv->key, "username") || !strcmp(kv->key, "password"))
			warn_key(s, kv, "not implemented (access is checked by peer credentials):");
		else
			warn_key(s, kv, "unknown key");
	}
	box_buf_free(&v);
	free(here);
	return rc;
}

static int section_supervisorctl(struct loader *L, const struct ini_section *s)
{
	struct ini_kv *kv = ini_get(s, "serverurl");
	if (kv) {
		char *here = dir_of(s->file);
		struct expand_ctx x = { "", "", here, -1, -1 };
		struct box_buf v = { 0 };
		int rc = expand_kv(L, s, kv, &x, &v);
		free(here);
		if (rc)
			return box_buf_free(&v), -1;
		free(L->c->serverurl);
		L->c->serverurl = v.p;
	}
	return 0;
}

struct pconf *pconf_new(void)
{
	struct pconf *p = box_xcalloc(1, sizeof(*p));

	p->priority = 999;
	p->autostart = 1;
	p->autorestart = AR_UNEXPECTED;
	p->exitcodes[0] = 1;	/* exit status 0 is expected */
	p->startsecs = BOX_NSEC;
	p->startretries = 3;
	p->stopsignal = SIGTERM;
	p->stopwaitsecs = 10 * BOX_NSEC;
	p->backoff_max = 60 * BOX_NSEC;
	p->umask = -1;
	p->ready_fd = -1;
	for (int i = 0; i < 2; i++) {
		p->logkind[i] = LOG_FILE;
		p->maxbytes[i] = 50LL * 1024 * 1024;
		p->backups[i] = 10;
	}
	return p;
}

/* One process of a [program:x] section. */
static int program_proc(struct loader *L, const struct ini_section *s, const char *pname,
	int num, int numprocs, struct pconf **out)
{
	struct pconf *p = pconf_new();
	char *here = dir_of(s->file);
	struct expand_ctx x = { pname, pname, here, num, numprocs };
	struct box_buf v = { 0 }, fp = { 0 };
	const char *stream[2] = { "stdout", "stderr" };
	int rc = 0;
	long long n;

	*out = p;
	p->group = box_xstrdup(pname);
	if (L->sv_env) {
		box_buf_adds(&v, "");
		struct expand_ctx sx = { "", "", here, -1, -1 };
		struct box_buf why = { 0 };
		if (expand(&sx, L->sv_env, &v, &why) == 0)
			parse_env(v.p, &p->env, &p->nenv);
		box_buf_free(&why);
	}

	struct ini_kv *pn = ini_get(s, "process_name");
	if (pn) {
		if (expand_kv(L, s, pn, &x, &v))
			goto fail;
		p->name = box_xstrdup(v.p);
	} else
		p->name = box_xstrdup(pname);
	if (!*p->name || strpbrk(p->name, ": \t\n")) {
		rc = bad(L, s->file, pn ? pn->line : s->line, "process_name", p->name,
			"empty or contains ':' or blanks");
		goto fail;
	}
	x.program_name = pname;
	box_buf_printf(&fp, "%s|%d|", p->name, num);

	for (int i = 0; i < s->nkv && !rc; i++) {
		const struct ini_kv *kv = &s->kv[i];
		const char *k = kv->key;
		int si = !strncmp(k, "stderr_", 7);
		const char *sub = si || !strncmp(k, "stdout_", 7) ? k + 7 : NULL;
		if ((rc = expand_kv(L, s, kv, &x, &v)))
			break;
		box_buf_printf(&fp, "%s=%s\n", k, v.p);
		if (!strcmp(k, "command"))
			free(p->command), p->command = box_xstrdup(v.p);
		else if (!strcmp(k, "process_name") || !strcmp(k, "numprocs") ||
			 !strcmp(k, "numprocs_start"))
			continue;
		else if (!strcmp(k, "priority")) {
			if (box_parse_ll(v.p, -999999, 999999, &n))
				rc = bad(L, s->file, kv->line, k, v.p, "not an integer");
			p->priority = (int)n;
		} else if (!strcmp(k, "autostart") || !strcmp(k, "redirect_stderr") ||
			   !strcmp(k, "stopasgroup") || !strcmp(k, "killasgroup")) {
			int b;
			if (parse_bool(v.p, &b))
				rc = bad(L, s->file, kv->line, k, v.p, "not a boolean");
			else if (k[0] == 'a')
				p->autostart = b;
			else if (k[0] == 'r')
				p->redirect_stderr = b;
			else if (k[4] == 'a')
				p->stopasgroup = b;
			else
				p->killasgroup = b;
		} else if (!strcmp(k, "autorestart")) {
			int b;
			if (!strcasecmp(v.p, "unexpected"))
				p->autorestart = AR_UNEXPECTED;
			else if (parse_bool(v.p, &b))
				rc = bad(L, s->file, kv->line, k, v.p, "expected true, false or unexpected");
			else
				p->autorestart = b ? AR_TRUE : AR_FALSE;
		} else if (!strcmp(k, "exitcodes")) {
			if (parse_exitcodes(v.p, p->exitcodes))
				rc = bad(L, s->file, kv->line, k, v.p, "expected a list of codes 0-255");
		} else if (!strcmp(k, "startsecs") || !strcmp(k, "stopwaitsecs") ||
			   !strcmp(k, "backoff_max")) {
			int64_t ns;
			if (box_parse_duration(v.p, &ns))
				rc = bad(L, s->file, kv->line, k, v.p, "not a duration");
			else
				*(k[0] == 'b' ? &p->backoff_max : k[2] == 'a' ? &p->startsecs :
					&p->stopwaitsecs) = ns;
		} else if (!strcmp(k, "startretries")) {
			if (box_parse_ll(v.p, -1, 1000000, &n))
				rc = bad(L, s->file, kv->line, k, v.p, "not an integer >= -1");
			p->startretries = (int)n;
		} else if (!strcmp(k, "stopsignal")) {
			if ((p->stopsignal = box_signum(v.p)) < 0)
				rc = bad(L, s->file, kv->line, k, v.p, "unknown signal");
		} else if (!strcmp(k, "user")) {
			struct box_user u;
			const char *why;
			if (box_lookup_user(v.p, &u, &why) < 0)
				rc = bad(L, s->file, kv->line, k, v.p, why);
			else {
				box_user_free(&u);
				free(p->user);
				p->user = box_xstrdup(v.p);
			}
		} else if (!strcmp(k, "directory"))
			free(p->directory), p->directory = box_xstrdup(v.p);
		else if (!strcmp(k, "umask")) {
			if (octal(v.p, &p->umask))
				rc = bad(L, s->file, kv->line, k, v.p, "not an octal mode");
		} else if (!strcmp(k, "environment")) {
			if (parse_env(v.p, &p->env, &p->nenv))
				rc = bad(L, s->file, kv->line, k, v.p, "expected KEY=\"value\",...");
		} else if (sub && !strcmp(sub, "logfile")) {
			free(p->logfile[si]);
			p->logfile[si] = NULL;
			if (!strcmp(v.p, "NONE") || !strcasecmp(v.p, "syslog")) {
				if (!strcasecmp(v.p, "syslog") && num == 0)
					warn_key(s, kv, "syslog is not implemented for");
				p->logkind[si] = LOG_NONE;
			} else {
				p->logkind[si] = LOG_FILE;
				if (strcmp(v.p, "AUTO"))
					p->logfile[si] = box_xstrdup(v.p);
			}
		} else if (sub && !strcmp(sub, "logfile_maxbytes")) {
			if (parse_size(v.p, &p->maxbytes[si]))
				rc = bad(L, s->file, kv->line, k, v.p, "not a byte size");
		} else if (sub && !strcmp(sub, "logfile_backups")) {
			if (box_parse_ll(v.p, 0, 1000, &n))
				rc = bad(L, s->file, kv->line, k, v.p, "not a number 0-1000");
			p->backups[si] = (int)n;
		} else if (sub && (!strcmp(sub, "capture_maxbytes") || !strcmp(sub, "events_enabled") ||
			   !strcmp(sub, "syslog"))) {
			if (num == 0)
				warn_key(s, kv, "not implemented:");
		} else if (!strcmp(k, "memory_max")) {
			if (parse_size(v.p, &p->memory_max))
				rc = bad(L, s->file, kv->line, k, v.p, "not a byte size");
		} else if (!strcmp(k, "cpu_max")) {
			int64_t ns;
			if (box_parse_duration(v.p, &ns))
				rc = bad(L, s->file, kv->line, k, v.p, "not a duration");
			p->cpu_max = (ns + BOX_NSEC - 1) / BOX_NSEC;
		} else if (!strcmp(k, "nofile_max")) {
			if (box_parse_ll(v.p, 1, 1 << 30, &p->nofile_max))
				rc = bad(L, s->file, kv->line, k, v.p, "not a positive number");
		} else if (!strcmp(k, "ready_fd")) {
			if (box_parse_ll(v.p, 3, 1023, &n))
				rc = bad(L, s->file, kv->line, k, v.p, "not a file descriptor 3-1023");
			p->ready_fd = (int)n;
		} else if (!strcmp(k, "serverurl")) {
			continue;
		} else if (num == 0)
			warn_key(s, kv, "unknown key");
	}
	if (rc)
		goto fail;
	if (!p->command || !*p->command) {
		box_buf_printf(L->err, "%s:%d: [%s] does not specify a command", s->file,
			s->line, s->name);
		goto fail;
	}
	const char *why;
	if (box_split(p->command, &p->argv, &why) < 0 || !p->argv[0]) {
		struct ini_kv *ck = ini_get(s, "command");
		bad(L, s->file, ck->line, "command", p->command, p->argv ? "empty command" : why);
		goto fail;
	}
	for (int i = 0; i < 2; i++)
		if (p->logkind[i] == LOG_FILE && !p->logfile[i])
			p->logfile[i] = box_xasprintf("%s/%s-%s.log", L->c->childlogdir, p->name,
				stream[i]);
	p->fingerprint = fp.p;
	box_buf_free(&v);
	free(here);
	return 0;
fail:
	box_buf_free(&v);
	box_buf_free(&fp);
	free(here);
	return -1;
}

static void add_proc(struct config *c, struct pconf *p)
{
	c->procs = box_xrealloc(c->procs, sizeof(*c->procs) * (size_t)(c->nprocs + 1));
	c->procs[c->nprocs++] = p;
}

static int section_program(struct loader *L, const struct ini_section *s)
{
	const char *pname = s->name + 8;
	char *here = dir_of(s->file);
	struct expand_ctx x = { pname, pname, here, 0, 1 };
	struct box_buf v = { 0 };
	long long numprocs = 1, start = 0;
	struct ini_kv *kv;
	int rc = 0;

	if (!*pname || strpbrk(pname, ": \t")) {
		box_buf_printf(L->err, "%s:%d: invalid program name '%s'", s->file, s->line, pname);
		rc = -1;
	}
	if (!rc && (kv = ini_get(s, "numprocs"))) {
		if ((rc = expand_kv(L, s, kv, &x, &v)) == 0 && box_parse_ll(v.p, 1, 10000, &numprocs))
			rc = bad(L, s->file, kv->line, "numprocs", v.p, "not a number 1-10000");
	}
	if (!rc && (kv = ini_get(s, "numprocs_start"))) {
		if ((rc = expand_kv(L, s, kv, &x, &v)) == 0 && box_parse_ll(v.p, 0, 1000000, &start))
			rc = bad(L, s->file, kv->line, "numprocs_start", v.p, "not a number");
	}
	kv = ini_get(s, "process_name");
	if (!rc && numprocs > 1 && (!kv || !strstr(kv->value, "%(process_num"))) {
		box_buf_printf(L->err, "%s:%d: %%(process_num) must be present within "
			"process_name when numprocs > 1", s->file, kv ? kv->line : s->line);
		rc = -1;
	}
	for (long long i = 0; !rc && i < numprocs; i++) {
		struct pconf *p;
		rc = program_proc(L, s, pname, (int)(start + i), (int)numprocs, &p);
		if (rc)
			pconf_free(p);
		else {
			p->group_priority = p->priority;
			add_proc(L->c, p);
		}
	}
	box_buf_free(&v);
	free(here);
	return rc;
}

static int section_group(struct loader *L, const struct ini_section *s)
{
	const char *g = s->name + 6;
	struct ini_kv *progs = ini_get(s, "programs"), *pri = ini_get(s, "priority");
	long long prio = 999;
	if (!progs) {
		box_buf_printf(L->err, "%s:%d: [%s] must define 'programs'", s->file, s->line, s->name);
		return -1;
	}
	if (pri && box_parse_ll(pri->value, -999999, 999999, &prio))
		return bad(L, s->file, pri->line, "priority", pri->value, "not an integer");
	char *copy = box_xstrdup(progs->value), *save = NULL;
	for (char *t = strtok_r(copy, ", \t\n", &save); t; t = strtok_r(NULL, ", \t\n", &save)) {
		int found = 0;
		for (int i = 0; i < L->c->nprocs; i++) {
			struct pconf *p = L->c->procs[i];
			if (strcmp(p->group, t))
				continue;
			found = 1;
			free(p->group);
			p->group = box_xstrdup(g);
			p->group_priority = (int)prio;
			char *fp = box_xasprintf("%sgroup=%s:%lld\n", p->fingerprint, g, prio);
			free(p->fingerprint);
			p->fingerprint = fp;
		}
		if (!found) {
			box_buf_printf(L->err, "%s:%d: program '%s' listed in [%s] does not exist",
				s->file, progs->line, t, s->name);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return 0;
}

static int proc_order(const void *a, const void *b)
{
	const struct pconf *x = *(struct pconf *const *)a, *y = *(struct pconf *const *)b;
	if (x->group_priority != y->group_priority)
		return x->group_priority < y->group_priority ? -1 : 1;
	int r = strcmp(x->group, y->group);
	if (r)
		return r;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return box_xstrdup(path);
	return box_xasprintf("%s/%s", cwd, path);
}

int config_load(const char *path, struct config *c, struct box_buf *err)
{
	struct loader L = { .c = c, .err = err };
	const char *tmp = getenv("TMPDIR");
	int rc;

	memset(c, 0, sizeof(*c));
	c->file = absolute(path);
	c->log_maxbytes = 50LL * 1024 * 1024;
	c->log_backups = 10;
	c->umask = 022;
	c->sock_mode = 0700;
	c->childlogdir = box_xstrdup(tmp && *tmp ? tmp : "/tmp");
	rc = load_file(&L, c->file, 0);
	/* [supervisord] first: childlogdir and environment apply to programs */
	for (int i = 0; !rc && i < L.ini.nsec; i++)
		if (!strcmp(L.ini.sec[i].name, "supervisord"))
			rc = section_supervisord(&L, &L.ini.sec[i]);
	for (int i = 0; !rc && i < L.ini.nsec; i++) {
		const struct ini_section *s = &L.ini.sec[i];
		const char *n = s->name;
		if (!strncmp(n, "program:", 8))
			rc = section_program(&L, s);
		else if (!strcmp(n, "unix_http_server"))
			rc = section_unix_http(&L, s);
		else if (!strcmp(n, "supervisorctl"))
			rc = section_supervisorctl(&L, s);
		else if (!strcmp(n, "supervisord") || !strncmp(n, "group:", 6) || n[0] == '\001')
			continue;
		else if (!strcmp(n, "inet_http_server") || !strncmp(n, "rpcinterface:", 13) ||
			 !strncmp(n, "eventlistener:", 14) || !strncmp(n, "fcgi-program:", 13) ||
			 !strncmp(n, "ctlplugin:", 10))
			box_warn("%s:%d: [%s] is not implemented; ignored", s->file, s->line, n);
		else
			box_warn("%s:%d: unknown section [%s]; ignored", s->file, s->line, n);
	}
	for (int i = 0; !rc && i < L.ini.nsec; i++)
		if (!strncmp(L.ini.sec[i].name, "group:", 6))
			rc = section_group(&L, &L.ini.sec[i]);
	for (int i = 0; !rc && i < c->nprocs; i++)
		for (int j = i + 1; j < c->nprocs; j++)
			if (!strcmp(c->procs[i]->name, c->procs[j]->name) &&
			    !strcmp(c->procs[i]->group, c->procs[j]->group)) {
				box_buf_printf(err, "%s: process '%s:%s' is defined twice", c->file,
					c->procs[i]->group, c->procs[i]->name);
				rc = -1;
				break;
			}
	ini_free(&L.ini);
	if (rc)
		return -1;
	qsort(c->procs, (size_t)c->nprocs, sizeof(*c->procs), proc_order);
	char *p;
	p = absolute(c->logfile ? c->logfile : "supervisord.log");
	free(c->logfile);
	c->logfile = p;
	p = absolute(c->pidfile ? c->pidfile : "supervisord.pid");
	free(c->pidfile);
	c->pidfile = p;
	return 0;
}

void pconf_free(struct pconf *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->group);
	free(p->command);
	free(p->argv);
	free(p->user);
	free(p->directory);
	for (int i = 0; i < p->nenv; i++)
		free(p->env[i]);
	free(p->env);
	free(p->logfile[0]);
	free(p->logfile[1]);
	free(p->fingerprint);
	free(p);
}

void config_free(struct config *c)
{
	for (int i = 0; i < c->nprocs; i++)
		pconf_free(c->procs[i]);
	free(c->procs);
	free(c->file);
	free(c->logfile);
	free(c->pidfile);
	free(c->childlogdir);
	free(c->directory);
	free(c->sock);
	free(c->sock_owner);
	free(c->serverurl);
	memset(c, 0, sizeof(*c));
}

char *config_search(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *dir = NULL, *cand[6];
	struct stat st;

	if (n > 0) {
		exe[n] = 0;
		dir = dir_of(exe);
	}
	cand[0] = dir ? box_xasprintf("%s/../etc/supervisord.conf", dir) : NULL;
	cand[1] = dir ? box_xasprintf("%s/../supervisord.conf", dir) : NULL;
	cand[2] = box_xstrdup("supervisord.conf");
	cand[3] = box_xstrdup("etc/supervisord.conf");
	cand[4] = box_xstrdup("/etc/supervisord.conf");
	cand[5] = box_xstrdup("/etc/supervisor/supervisord.conf");
	char *found = NULL;
	for (int i = 0; i < 6; i++) {
		if (!found && cand[i] && stat(cand[i], &st) == 0)
			found = cand[i];
		else
			free(cand[i]);
	}
	free(dir);
	return found;
}
