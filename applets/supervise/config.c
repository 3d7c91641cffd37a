/* supervise: supervisord's configuration dialect on top of the INI reader
 * (ini.c): %(...)s expansion, [include], [group:x], numprocs, and every
 * section's keys as a table of key -> parser -> field. */
#include "supervise.h"
#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- %(name)s expansion ------------------------------------------------ */

struct expand_ctx {
	const char *program_name, *group_name, *here;
	int process_num, numprocs;   /* -1: not available */
	const struct env_list *env;  /* seen by %(ENV_X)s before the daemon's */
};

static const char *host_node_name(void)
{
	static char host[256];
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = 0;
	return host;
}

/* name's value in env (the last one set wins), else in the daemon's. */
static const char *env_lookup(const struct env_list *env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = env ? env->n : 0; i-- > 0;)
		if (!strncmp(env->v[i], name, n) && env->v[i][n] == '=')
			return env->v[i] + n + 1;
	return getenv(name);
}

static const char *expand_lookup(const struct expand_ctx *x, const char *name,
	char *num, size_t numsz, int *is_num)
{
	const struct {
		const char *name, *text;
		int number;            /* -1: not available */
	} names[] = {
		{ "here", x->here, -1 },
		{ "program_name", x->program_name, -1 },
		{ "group_name", x->group_name, -1 },
		{ "process_num", NULL, x->process_num },
		{ "numprocs", NULL, x->numprocs },
	};

	*is_num = 0;
	if (!strncmp(name, "ENV_", 4))
		return env_lookup(x->env, name + 4);
	if (!strcmp(name, "host_node_name"))
		return host_node_name();
	for (size_t i = 0; i < BOX_ARRAY_LEN(names); i++) {
		if (strcmp(names[i].name, name))
			continue;
		if (names[i].text || names[i].number < 0)
			return names[i].text;
		snprintf(num, numsz, "%d", names[i].number);
		*is_num = 1;
		return num;
	}
	return NULL;
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


/* ---- typed values ------------------------------------------------------ */

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < BOX_ARRAY_LEN(yes); i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(s, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

int parse_autorestart(const char *s, int *out)
{
	int b;
	if (!strcasecmp(s, "unexpected"))
		*out = AR_UNEXPECTED;
	else if (parse_bool(s, &b) == 0)
		*out = b ? AR_TRUE : AR_FALSE;
	else
		return -1;
	return 0;
}

/* "1024", "10KB", "50MB", "1GB" */
static int parse_size(const char *s, long long *out)
{
	static const struct { const char *suffix; long long mult; } units[] = {
		{ "", 1 }, { "KB", 1024 }, { "MB", 1024 * 1024 }, { "GB", 1024 * 1024 * 1024 },
	};
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	long long v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < BOX_ARRAY_LEN(units); i++)
		if (!strcasecmp(end, units[i].suffix)) {
			if (v > LLONG_MAX / units[i].mult)
				return -1;
			*out = v * units[i].mult;
			return 0;
		}
	return -1;
}

static int parse_exitcodes(const char *s, unsigned char map[32])
{
	char *copy = box_xstrdup(s), *save = NULL;
	int n = 0;
	memset(map, 0, 32);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long long c;
		if (box_parse_ll(ini_trim(t), 0, 255, &c)) {
			free(copy);
			return -1;
		}
		map[c / 8] |= (unsigned char)(1 << (c % 8));
		n++;
	}
	free(copy);
	return n ? 0 : -1;
}

/* One value of environment=: "v", 'v' (as written) or v (trimmed). NULL
 * when a quote is not closed or something follows it. */
static const char *env_value(const char *s, struct box_buf *kv)
{
	if (*s != '"' && *s != '\'') {
		const char *e = s + strcspn(s, ","), *t = e;
		while (t > s && isspace((unsigned char)t[-1]))
			t--;
		box_buf_add(kv, s, (size_t)(t - s));
		return e;
	}
	char q = *s++;
	while (*s && *s != q) {
		if (*s == '\\' && q == '"' && s[1])
			s++;
		box_buf_addc(kv, *s++);
	}
	if (*s != q)
		return NULL;
	s++;
	while (*s == ' ' || *s == '\t')
		s++;
	return *s && *s != ',' ? NULL : s;
}

/* environment=K="v",K2='v2',K3=v3 */
static int parse_env(const char *s, struct env_list *env)
{
	while (*s) {
		while (isspace((unsigned char)*s) || *s == ',')
			s++;
		if (!*s)
			break;
		const char *eq = strchr(s, '='), *k = s;
		if (!eq || eq == s)
			return -1;
		struct box_buf kv = { 0 };
		while (k < eq && !isspace((unsigned char)*k))
			k++;
		box_buf_add(&kv, s, (size_t)(k - s));
		box_buf_addc(&kv, '=');
		s = eq + 1;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!(s = env_value(s, &kv))) {
			box_buf_free(&kv);
			return -1;
		}
		*BOX_PUSH(env->v, env->n, env->cap) = kv.p;
	}
	return 0;
}

static void env_free(struct env_list *env)
{
	for (size_t i = 0; i < env->n; i++)
		free(env->v[i]);
	free(env->v);
	memset(env, 0, sizeof(*env));
}

/* ---- the loader ---------------------------------------------------------- */

struct loader {
	struct ini ini;
	struct config *c;
	struct box_buf *err;
	struct env_list sv_env; /* [supervisord] environment= */
};

static int bad(struct loader *L, const char *file, int line, const char *key,
	const char *value, const char *why)
{
	box_buf_printf(L->err, "%s:%d: invalid value '%s' for %s: %s", file, line,
		value, key, why);
	return -1;
}

static void warn_key(const struct ini_section *s, const struct ini_kv *kv, const char *what)
{
	box_warn("%s:%d: %s '%s' in [%s]; ignored", kv->file, kv->line, what, kv->key, s->name);
}

/* kv's value expanded, %(here)s being the directory of kv's own file (a
 * merged section has keys from several). */
static int expand_kv(struct loader *L, const struct ini_kv *kv, const struct expand_ctx *x,
	struct box_buf *out)
{
	struct box_buf why = { 0 };
	struct expand_ctx y = *x;
	char *here = box_xdirname(kv->file);
	y.here = here;
	int rc = expand(&y, kv->value, out, &why);
	free(here);
	if (rc < 0)
		box_buf_printf(L->err, "%s:%d: bad expansion in %s: %s", kv->file, kv->line,
			kv->key, why.p);
	box_buf_free(&why);
	return rc;
}

/* ---- keys: a table per section of key -> parser -> field ------------------ */

/* One key's value, expanded, where it was written. */
struct value {
	struct loader *L;
	const char *text;
	const struct ini_section *s;
	const struct ini_kv *kv;
	int warn;               /* warnings wanted (the first process only) */
};

struct key;
/* Stores v into field: NULL, or why the value is invalid. */
typedef const char *key_parser(const struct key *k, const struct value *v, void *field);

/* The bounds of a number, or for p_warn_only the warning. */
enum limit { L_NONE, L_BACKUPS, L_MINFDS, L_PRIORITY, L_RETRIES, L_NOFILE, L_READY_FD,
	L_NOT_IMPLEMENTED, L_PEERCRED };
static const struct {
	int min, max;
	const char *why;        /* what a bad value is not, or the warning */
} limits[] = {
	[L_BACKUPS] = { 0, 1000, "not a number 0-1000" },
	[L_MINFDS] = { 1, 1 << 20, "not a number" },
	[L_PRIORITY] = { -999999, 999999, "not an integer" },
	[L_RETRIES] = { -1, 1000000, "not an integer >= -1" },
	[L_NOFILE] = { 1, 1 << 30, "not a positive number" },
	[L_READY_FD] = { 3, 1023, "not a file descriptor 3-1023" },
	[L_NOT_IMPLEMENTED] = { 0, 0, "not implemented:" },
	[L_PEERCRED] = { 0, 0, "not implemented (access is checked by peer credentials):" },
};

/* The parsers below, by name, so a key's row stays small. */
enum parser { P_STRING, P_INT, P_LLONG, P_BOOL, P_SIZE, P_DURATION, P_SECONDS, P_MODE, P_SIGNAL, P_USER, P_SV_USER, P_SV_ENV, P_EXITCODES, P_AUTORESTART, P_LOGFILE, P_IGNORE, P_WARN_ONLY };

struct key {
	const char *name;
	unsigned char parse;    /* enum parser */
	unsigned char limit;    /* enum limit */
	unsigned short field;   /* offset in the section's struct */
};

static const char *p_string(const struct key *k, const struct value *v, void *field)
{
	char **s = field;
	(void)k;
	free(*s);
	*s = box_xstrdup(v->text);
	return NULL;
}

static const char *p_int(const struct key *k, const struct value *v, void *field)
{
	long long n;
	if (box_parse_ll(v->text, limits[k->limit].min, limits[k->limit].max, &n))
		return limits[k->limit].why;
	*(int *)field = (int)n;
	return NULL;
}

static const char *p_llong(const struct key *k, const struct value *v, void *field)
{
	return box_parse_ll(v->text, limits[k->limit].min, limits[k->limit].max, field) ?
		limits[k->limit].why : NULL;
}

static const char *p_bool(const struct key *k, const struct value *v, void *field)
{
	(void)k;
	return parse_bool(v->text, field) ? "not a boolean" : NULL;
}

static const char *p_size(const struct key *k, const struct value *v, void *field)
{
	(void)k;
	return parse_size(v->text, field) ? "not a byte size" : NULL;
}

static const char *p_duration(const struct key *k, const struct value *v, void *field)
{
	(void)k;
	return box_parse_duration(v->text, field) ? "not a duration" : NULL;
}

/* A duration rounded up to whole seconds (an rlimit), or N% stored as -N. */
static const char *p_seconds(const struct key *k, const struct value *v, void *field)
{
	int64_t ns;
	size_t n = strlen(v->text);
	(void)k;
	if (n > 1 && v->text[n - 1] == '%') {
		char pct[16];
		snprintf(pct, sizeof(pct), "%.*s", (int)n - 1, v->text);
		if (n > sizeof(pct) || box_parse_ll(pct, 1, 100000, field))
			return "not a percentage 1-100000";
		*(long long *)field = -*(long long *)field;
		return NULL;
	}
	if (box_parse_duration(v->text, &ns))
		return "not a duration";
	*(long long *)field = (ns + BOX_NSEC - 1) / BOX_NSEC;
	return NULL;
}

static const char *p_mode(const struct key *k, const struct value *v, void *field)
{
	mode_t m;
	(void)k;
	if (box_parse_mode(v->text, &m))
		return "not an octal mode";
	*(int *)field = (int)m;
	return NULL;
}

static const char *p_signal(const struct key *k, const struct value *v, void *field)
{
	(void)k;
	return (*(int *)field = box_signum(v->text)) < 0 ? "unknown signal" : NULL;
}

/* USER[:GROUP], checked now; program_proc keeps what it names */
static const char *p_user(const struct key *k, const struct value *v, void *field)
{
	struct box_user u;
	const char *why;
	if (box_lookup_user(v->text, &u, &why) < 0)
		return why;
	box_user_free(&u);
	return p_string(k, v, field);
}

/* [supervisord] user=: looked up now, switched to before anything else */
static const char *p_sv_user(const struct key *k, const struct value *v, void *field)
{
	struct box_user **u = field;
	const char *why;
	(void)k;
	if (*u)
		box_user_free(*u);
	else
		*u = box_xcalloc(1, sizeof(**u));
	return box_lookup_user(v->text, *u, &why) < 0 ? why : NULL;
}

static const char *p_env(const struct key *k, const struct value *v, void *field)
{
	(void)k;
	return parse_env(v->text, field) ? "expected KEY=\"value\",..." : NULL;
}

/* [supervisord] environment=: every program's, and seen by %(ENV_X)s in
 * the other sections (loaded after [supervisord]) */
static const char *p_sv_env(const struct key *k, const struct value *v, void *field)
{
	(void)field;
	env_free(&v->L->sv_env);
	return p_env(k, v, &v->L->sv_env);
}

static const char *p_exitcodes(const struct key *k, const struct value *v, void *field)
{
	(void)k;
	return parse_exitcodes(v->text, field) ? "expected a list of codes 0-255" : NULL;
}

static const char *p_autorestart(const struct key *k, const struct value *v, void *field)
{
	(void)k;
	return parse_autorestart(v->text, field) ? "expected true, false or unexpected" : NULL;
}

/* stdout_logfile=PATH, AUTO (in childlogdir), NONE or syslog (no log) */
static const char *p_logfile(const struct key *k, const struct value *v, void *field)
{
	struct stream_conf *sc = field;
	int syslog = !strcasecmp(v->text, "syslog");
	(void)k;
	free(sc->logfile);
	sc->logfile = NULL;
	sc->kind = syslog || !strcmp(v->text, "NONE") ? LOG_NONE : LOG_FILE;
	if (syslog && v->warn)
		warn_key(v->s, v->kv, "syslog is not implemented for");
	if (sc->kind == LOG_FILE && strcmp(v->text, "AUTO"))
		sc->logfile = box_xstrdup(v->text);
	return NULL;
}

static const char *p_ignore(const struct key *k, const struct value *v, void *field)
{
	(void)k, (void)v, (void)field;
	return NULL;
}

static const char *p_warn_only(const struct key *k, const struct value *v, void *field)
{
	(void)field;
	if (v->warn)
		warn_key(v->s, v->kv, limits[k->limit].why);
	return NULL;
}

static key_parser *const parsers[] = {
	[P_STRING] = p_string,
	[P_INT] = p_int,
	[P_LLONG] = p_llong,
	[P_BOOL] = p_bool,
	[P_SIZE] = p_size,
	[P_DURATION] = p_duration,
	[P_SECONDS] = p_seconds,
	[P_MODE] = p_mode,
	[P_SIGNAL] = p_signal,
	[P_USER] = p_user,
	[P_SV_USER] = p_sv_user,
	[P_SV_ENV] = p_sv_env,
	[P_EXITCODES] = p_exitcodes,
	[P_AUTORESTART] = p_autorestart,
	[P_LOGFILE] = p_logfile,
	[P_IGNORE] = p_ignore,
	[P_WARN_ONLY] = p_warn_only,
};

#define NOT_IMPLEMENTED(name) { name, P_WARN_ONLY, L_NOT_IMPLEMENTED, 0 }
#define IGNORED(name) { name, P_IGNORE, L_NONE, 0 }
#define SV(f) offsetof(struct config, f)
#define PC(f) offsetof(struct pconf, f)

static const struct key supervisord_keys[] = {
	{ "logfile", P_STRING, L_NONE, SV(logfile) },
	{ "pidfile", P_STRING, L_NONE, SV(pidfile) },
	{ "childlogdir", P_STRING, L_NONE, SV(childlogdir) },
	{ "directory", P_STRING, L_NONE, SV(directory) },
	{ "logfile_maxbytes", P_SIZE, L_NONE, SV(log_maxbytes) },
	{ "logfile_backups", P_INT, L_BACKUPS, SV(log_backups) },
	{ "nodaemon", P_BOOL, L_NONE, SV(nodaemon) },
	{ "umask", P_MODE, L_NONE, SV(umask) },
	{ "minfds", P_INT, L_MINFDS, SV(minfds) },
	{ "environment", P_SV_ENV, L_NONE, 0 },
	IGNORED("loglevel"), IGNORED("identifier"), IGNORED("minprocs"),
	IGNORED("nocleanup"), IGNORED("strip_ansi"), IGNORED("silent"),
	{ "user", P_SV_USER, L_NONE, SV(user) },
	{ 0 },
};

static const struct key unix_http_keys[] = {
	{ "file", P_STRING, L_NONE, SV(sock) },
	{ "chmod", P_MODE, L_NONE, SV(sock_mode) },
	{ "chown", P_USER, L_NONE, SV(sock_owner) },
	{ "username", P_WARN_ONLY, L_PEERCRED, 0 },
	{ "password", P_WARN_ONLY, L_PEERCRED, 0 },
	{ 0 },
};

#define STREAM_KEYS(prefix, i) \
	{ prefix "logfile", P_LOGFILE, L_NONE, PC(out[i]) }, \
	{ prefix "logfile_maxbytes", P_SIZE, L_NONE, PC(out[i].maxbytes) }, \
	{ prefix "logfile_backups", P_INT, L_BACKUPS, PC(out[i].backups) }, \
	NOT_IMPLEMENTED(prefix "capture_maxbytes"), NOT_IMPLEMENTED(prefix "events_enabled"), \
	NOT_IMPLEMENTED(prefix "syslog")

static const struct key program_keys[] = {
	{ "command", P_STRING, L_NONE, PC(command) },
	{ "priority", P_INT, L_PRIORITY, PC(priority) },
	{ "autostart", P_BOOL, L_NONE, PC(autostart) },
	{ "autorestart", P_AUTORESTART, L_NONE, PC(autorestart) },
	{ "exitcodes", P_EXITCODES, L_NONE, PC(exitcodes) },
	{ "startsecs", P_DURATION, L_NONE, PC(startsecs) },
	{ "startretries", P_INT, L_RETRIES, PC(startretries) },
	{ "stopsignal", P_SIGNAL, L_NONE, PC(stopsignal) },
	{ "stopwaitsecs", P_DURATION, L_NONE, PC(stopwaitsecs) },
	{ "backoff_max", P_DURATION, L_NONE, PC(backoff_max) },
	{ "stopasgroup", P_BOOL, L_NONE, PC(stopasgroup) },
	{ "killasgroup", P_BOOL, L_NONE, PC(killasgroup) },
	{ "user", P_USER, L_NONE, PC(user) },
	{ "directory", P_STRING, L_NONE, PC(directory) },
	{ "umask", P_MODE, L_NONE, PC(umask) },
	/* read before the other keys: they see it (program_proc) */
	IGNORED("environment"),
	{ "redirect_stderr", P_BOOL, L_NONE, PC(redirect_stderr) },
	STREAM_KEYS("stdout_", 0),
	STREAM_KEYS("stderr_", 1),
	{ "memory_max", P_SIZE, L_NONE, PC(memory_max) },
	{ "cpu_max", P_SECONDS, L_NONE, PC(cpu_max) },
	{ "nofile_max", P_LLONG, L_NOFILE, PC(nofile_max) },
	{ "pids_max", P_LLONG, L_NOFILE, PC(pids_max) },
	{ "ready_fd", P_INT, L_READY_FD, PC(ready_fd) },
	/* read before the other keys (section_program, program_proc) */
	IGNORED("process_name"), IGNORED("numprocs"), IGNORED("numprocs_start"),
	IGNORED("serverurl"),
	{ 0 },
};

/* Expands and stores every key of s into the struct at base; unknown keys
 * are warned about when warn is set. fp, if any, collects "key=value". */
static int load_keys(struct loader *L, const struct ini_section *s, const struct key *keys,
	void *base, const struct expand_ctx *x, struct box_buf *fp, int warn)
{
	struct box_buf text = { 0 };
	int rc = 0;

	for (size_t i = 0; i < s->nkv && !rc; i++) {
		const struct ini_kv *kv = &s->kv[i];
		if ((rc = expand_kv(L, kv, x, &text)))
			break;
		if (fp)
			box_buf_printf(fp, "%s=%s\n", kv->key, text.p);
		const struct key *k = keys;
		while (k->name && strcmp(k->name, kv->key))
			k++;
		if (!k->name) {
			if (warn)
				warn_key(s, kv, "unknown key");
			continue;
		}
		struct value v = { L, text.p, s, kv, warn };
		const char *why = parsers[k->parse](k, &v, (char *)base + k->field);
		if (why)
			rc = bad(L, kv->file, kv->line, kv->key, text.p, why);
	}
	box_buf_free(&text);
	return rc;
}

/* ---- sections ------------------------------------------------------------- */

static int load_file(struct loader *L, const char *path, int depth);

/* A section's own expansions: %(here)s and %(ENV_X)s; [supervisord]'s
 * environment= is seen by the others, as supervisord reads it between. */
static int load_plain(struct loader *L, const struct ini_section *s, const struct key *keys,
	void *base)
{
	struct expand_ctx x = { "", "", NULL, -1, -1,
		keys == supervisord_keys ? NULL : &L->sv_env };
	return load_keys(L, s, keys, base, &x, NULL, 1);
}

static int section_supervisord(struct loader *L, const struct ini_section *s)
{
	return load_plain(L, s, supervisord_keys, L->c);
}

static int section_unix_http(struct loader *L, const struct ini_section *s)
{
	return load_plain(L, s, unix_http_keys, L->c);
}

static int section_supervisorctl(struct loader *L, const struct ini_section *s)
{
	struct ini_kv *kv = ini_get(s, "serverurl");
	if (!kv)
		return 0;
	struct expand_ctx x = { "", "", NULL, -1, -1, &L->sv_env };
	struct box_buf v = { 0 };
	int rc = expand_kv(L, kv, &x, &v);
	if (rc)
		return box_buf_free(&v), -1;
	free(L->c->serverurl);
	L->c->serverurl = v.p;
	return 0;
}

static int section_not_implemented(struct loader *L, const struct ini_section *s)
{
	(void)L;
	box_warn("%s:%d: [%s] is not implemented; ignored", s->file, s->line, s->name);
	return 0;
}

/* [include] files=GLOB...: relative to the including file */
static int do_include(struct loader *L, const struct ini_section *s, int depth)
{
	struct ini_kv *kv = ini_get(s, "files");
	if (!kv) {
		box_buf_printf(L->err, "%s:%d: [include] section must define a 'files' key",
			s->file, s->line);
		return -1;
	}
	char *here = box_xdirname(kv->file), *copy = box_xstrdup(kv->value), *save = NULL;
	int rc = 0;
	for (char *pat = strtok_r(copy, " \t\n", &save); pat && !rc;
	     pat = strtok_r(NULL, " \t\n", &save)) {
		char *full = pat[0] == '/' ? box_xstrdup(pat) : box_xpath_join(here, pat);
		char **paths;
		size_t n = box_glob(full, &paths);
		if (!n)
			box_warn("%s:%d: no file matches via include \"%s\"", kv->file, kv->line, full);
		for (size_t i = 0; i < n; i++) {
			if (!rc)
				rc = load_file(L, paths[i], depth + 1);
			free(paths[i]);
		}
		free(paths);
		free(full);
	}
	free(copy);
	free(here);
	return rc;
}

/* An [include] already followed is renamed to a name no header can give
 * (names are trimmed), so an included file may have its own [include]. */
#define INCLUDE_DONE " include"

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
	size_t first = L->ini.nsec;
	int rc = ini_parse_buf(&L->ini, b.p, b.len, path, L->err);
	box_buf_free(&b);
	for (size_t i = first; rc == 0 && i < L->ini.nsec; i++) {
		if (!strcmp(L->ini.sec[i].name, "include")) {
			free(L->ini.sec[i].name);
			L->ini.sec[i].name = box_xstrdup(INCLUDE_DONE);
			rc = do_include(L, &L->ini.sec[i], depth);
		}
	}
	return rc;
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
	for (int i = 0; i < 2; i++)
		p->out[i] = (struct stream_conf){ LOG_FILE, NULL, 50LL * 1024 * 1024, 10 };
	return p;
}

/* process_name=, expanded, or the program's name. */
static int process_name(struct loader *L, const struct ini_section *s, struct pconf *p,
	const struct expand_ctx *x, struct box_buf *v)
{
	struct ini_kv *pn = ini_get(s, "process_name");
	if (pn && expand_kv(L, pn, x, v))
		return -1;
	p->name = box_xstrdup(pn ? v->p : x->program_name);
	if (!*p->name || strpbrk(p->name, ": \t\n"))
		return bad(L, pn ? pn->file : s->file, pn ? pn->line : s->line, "process_name",
			p->name, "empty or contains ':' or blanks");
	return 0;
}

/* One process of a [program:x] section. */
static int program_proc(struct loader *L, const struct ini_section *s, const char *pname,
	int num, int numprocs, struct pconf *p)
{
	static const char *const stream[2] = { "stdout", "stderr" };
	struct expand_ctx x = { pname, pname, NULL, num, numprocs, &p->env };
	struct box_buf v = { 0 }, fp = { 0 };
	const char *why;
	int rc = -1;

	p->group = box_xstrdup(pname);
	/* [supervisord]'s environment=, then the program's: as in supervisord,
	 * %(ENV_X)s sees both in every other key of the program */
	for (size_t i = 0; i < L->sv_env.n; i++)
		*BOX_PUSH(p->env.v, p->env.n, p->env.cap) = box_xstrdup(L->sv_env.v[i]);
	struct ini_kv *ek = ini_get(s, "environment");
	if (ek) {
		struct value ev = { L, NULL, s, ek, 0 };
		if (expand_kv(L, ek, &x, &v))
			goto out;
		ev.text = v.p;
		if ((why = p_env(NULL, &ev, &p->env))) {
			bad(L, ek->file, ek->line, ek->key, v.p, why);
			goto out;
		}
	}
	if (process_name(L, s, p, &x, &v))
		goto out;
	box_buf_printf(&fp, "%s|%d|", p->name, num);
	if (load_keys(L, s, program_keys, p, &x, &fp, num == 0))
		goto out;
	if (!p->command || !*p->command) {
		box_buf_printf(L->err, "%s:%d: [%s] does not specify a command", s->file,
			s->line, s->name);
		goto out;
	}
	if (box_split(p->command, &p->argv, &why) < 0 || !p->argv[0]) {
		struct ini_kv *ck = ini_get(s, "command");
		bad(L, ck->file, ck->line, "command", p->command, p->argv ? "empty command" : why);
		goto out;
	}
	for (int i = 0; i < 2; i++)
		if (p->out[i].kind == LOG_FILE && !p->out[i].logfile)
			p->out[i].logfile = box_xasprintf("%s/" LOG_AUTO_DIR "/%s-%s.log", L->c->childlogdir,
				p->name, stream[i]);
	p->fingerprint = fp.p;
	fp.p = NULL;
	rc = 0;
out:
	box_buf_free(&v);
	box_buf_free(&fp);
	return rc;
}

/* numprocs= and numprocs_start=, expanded. */
static int program_count(struct loader *L, const struct ini_section *s,
	const struct expand_ctx *x, long long *numprocs, long long *start)
{
	static const struct { const char *key; long long min, max; const char *why; } keys[] = {
		{ "numprocs", 0, 10000, "not a number 0-10000" },
		{ "numprocs_start", 0, 1000000, "not a number" },
	};
	long long *out[] = { numprocs, start };
	struct box_buf v = { 0 };
	int rc = 0;

	for (size_t i = 0; i < BOX_ARRAY_LEN(keys) && !rc; i++) {
		struct ini_kv *kv = ini_get(s, keys[i].key);
		if (kv && (rc = expand_kv(L, kv, x, &v)) == 0 &&
		    box_parse_ll(v.p, keys[i].min, keys[i].max, out[i]))
			rc = bad(L, kv->file, kv->line, keys[i].key, v.p, keys[i].why);
	}
	box_buf_free(&v);
	return rc;
}

static int section_program(struct loader *L, const struct ini_section *s)
{
	const char *pname = s->name + strlen("program:");
	struct expand_ctx x = { pname, pname, NULL, 0, 1, &L->sv_env };
	long long numprocs = 1, start = 0;
	int rc = 0;

	if (!*pname || strpbrk(pname, ": \t")) {
		box_buf_printf(L->err, "%s:%d: invalid program name '%s'", s->file, s->line, pname);
		rc = -1;
	}
	if (!rc)
		rc = program_count(L, s, &x, &numprocs, &start);
	struct ini_kv *kv = ini_get(s, "process_name");
	if (!rc && numprocs > 1 && (!kv || !strstr(kv->value, "%(process_num"))) {
		box_buf_printf(L->err, "%s:%d: %%(process_num) must be present within "
			"process_name when numprocs > 1", kv ? kv->file : s->file,
			kv ? kv->line : s->line);
		rc = -1;
	}
	for (long long i = 0; !rc && i < numprocs; i++) {
		struct pconf *p = pconf_new();
		rc = program_proc(L, s, pname, (int)(start + i), (int)numprocs, p);
		const char *why;
		if (!rc && p->user) {
			p->uinfo = box_xcalloc(1, sizeof(*p->uinfo));
			if (box_lookup_user(p->user, p->uinfo, &why) < 0)
				rc = bad(L, s->file, s->line, "user", p->user, why);
		}
		if (rc) {
			pconf_free(p);
		} else {
			p->group_priority = p->priority;
			*BOX_PUSH(L->c->procs, L->c->nprocs, L->c->procs_cap) = p;
		}
	}
	return rc;
}

/* [program:name] is there with numprocs=0 (loaded before the groups) */
static int no_processes(struct loader *L, const char *name)
{
	for (size_t i = 0; i < L->ini.nsec; i++) {
		const struct ini_section *s = &L->ini.sec[i];
		struct expand_ctx x = { name, name, NULL, 0, 1, &L->sv_env };
		long long n = 1, start;
		if (!strncmp(s->name, "program:", 8) && !strcmp(s->name + 8, name))
			return program_count(L, s, &x, &n, &start) == 0 && n == 0;
	}
	return 0;
}

static int section_group(struct loader *L, const struct ini_section *s)
{
	const char *g = s->name + strlen("group:");
	struct ini_kv *progs = ini_get(s, "programs"), *pri = ini_get(s, "priority");
	long long prio = 999;
	if (!progs) {
		box_buf_printf(L->err, "%s:%d: [%s] must define 'programs'", s->file, s->line, s->name);
		return -1;
	}
	if (pri && box_parse_ll(pri->value, -999999, 999999, &prio))
		return bad(L, pri->file, pri->line, "priority", pri->value, "not an integer");
	char *copy = box_xstrdup(progs->value), *save = NULL;
	for (char *t = strtok_r(copy, ", \t\n", &save); t; t = strtok_r(NULL, ", \t\n", &save)) {
		int found = 0;
		for (size_t i = 0; i < L->c->nprocs; i++) {
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
		if (!found && !no_processes(L, t)) {
			box_buf_printf(L->err, "%s:%d: program '%s' listed in [%s] does not exist",
				progs->file, progs->line, t, s->name);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return 0;
}

static int section_unknown(struct loader *L, const struct ini_section *s)
{
	(void)L;
	box_warn("%s:%d: unknown section [%s]; ignored", s->file, s->line, s->name);
	return 0;
}

/* Sections by name (a name ending in ':' is a prefix), loaded in passes:
 * [supervisord] first (childlogdir and environment apply to programs),
 * then the rest in file order, then the groups (they regroup programs). */
static const struct section_kind {
	const char *name;
	int pass;
	int (*load)(struct loader *L, const struct ini_section *s);
} section_kinds[] = {
	{ "supervisord", 0, section_supervisord },
	{ "program:", 1, section_program },
	{ "unix_http_server", 1, section_unix_http },
	{ "supervisorctl", 1, section_supervisorctl },
	{ "group:", 2, section_group },
	{ INCLUDE_DONE, -1, NULL },
	{ "inet_http_server", 1, section_not_implemented },
	{ "rpcinterface:", 1, section_not_implemented },
	{ "eventlistener:", 1, section_not_implemented },
	{ "fcgi-program:", 1, section_not_implemented },
	{ "ctlplugin:", 1, section_not_implemented },
	{ NULL, 1, section_unknown },
};

static const struct section_kind *section_kind(const char *name)
{
	const struct section_kind *k = section_kinds;
	for (; k->name; k++) {
		size_t n = strlen(k->name);
		if (k->name[n - 1] == ':' ? !strncmp(name, k->name, n) : !strcmp(name, k->name))
			break;
	}
	return k;
}

static int load_sections(struct loader *L)
{
	int rc = 0;
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; !rc && i < L->ini.nsec; i++) {
			const struct section_kind *k = section_kind(L->ini.sec[i].name);
			if (k->pass == pass)
				rc = k->load(L, &L->ini.sec[i]);
		}
	return rc;
}

static int defined_twice(struct config *c, struct box_buf *err)
{
	for (size_t i = 0; i < c->nprocs; i++)
		for (size_t j = i + 1; j < c->nprocs; j++)
			if (!strcmp(c->procs[i]->name, c->procs[j]->name) &&
			    !strcmp(c->procs[i]->group, c->procs[j]->group)) {
				box_buf_printf(err, "%s: process '%s:%s' is defined twice", c->file,
					c->procs[i]->group, c->procs[i]->name);
				return -1;
			}
	return 0;
}

/* ---- the whole file ------------------------------------------------------- */

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

/* path against the current directory; *path is replaced */
static void make_absolute(char **path)
{
	char cwd[PATH_MAX];
	if ((*path)[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return;
	char *abs = box_xpath_join(cwd, *path);
	free(*path);
	*path = abs;
}

int config_load(const char *path, struct config *c, struct box_buf *err)
{
	struct loader L = { .c = c, .err = err };
	const char *tmp = getenv("TMPDIR");

	memset(c, 0, sizeof(*c));
	c->file = box_xstrdup(path);
	make_absolute(&c->file);
	c->log_maxbytes = 50LL * 1024 * 1024;
	c->log_backups = 10;
	c->umask = 022;
	c->sock_mode = 0700;
	c->childlogdir = box_xstrdup(tmp && *tmp ? tmp : "/tmp");
	int rc = load_file(&L, c->file, 0);
	if (!rc)
		rc = load_sections(&L);
	if (!rc)
		rc = defined_twice(c, err);
	ini_free(&L.ini);
	env_free(&L.sv_env);
	if (rc)
		return -1;
	if (c->nprocs)
		qsort(c->procs, c->nprocs, sizeof(*c->procs), proc_order);
	if (!c->logfile)
		c->logfile = box_xstrdup("supervisord.log");
	make_absolute(&c->logfile);
	if (!c->pidfile)
		c->pidfile = box_xstrdup("supervisord.pid");
	make_absolute(&c->pidfile);
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
	if (p->uinfo)
		box_user_free(p->uinfo);
	free(p->uinfo);
	free(p->directory);
	env_free(&p->env);
	free(p->out[0].logfile);
	free(p->out[1].logfile);
	free(p->fingerprint);
	free(p);
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->nprocs; i++)
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
	if (c->user)
		box_user_free(c->user);
	free(c->user);
	memset(c, 0, sizeof(*c));
}

static char *config_search(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *dir = NULL, *cand[6];
	struct stat st;

	if (n > 0) {
		exe[n] = 0;
		dir = box_xdirname(exe);
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

void config_xload(const char *conf, struct config *c, const char *none)
{
	struct box_buf err = { 0 };
	char *path = conf ? box_xstrdup(conf) : config_search();

	if (!path)
		box_usage("%s", none);
	if (config_load(path, c, &err) < 0)
		box_die(2, "%s", err.p);
	free(path);
}

/* ---- where ctl connects ------------------------------------------------------ */

/* The only keys ctl reads, into found[] by row. */
static const struct {
	const char *section, *key;
} ctl_keys[] = {
	{ "supervisorctl", "serverurl" },
	{ "unix_http_server", "file" },
};

/* Each section is parsed on its own and errors are ignored: a program
 * being edited never stops ctl, as supervisorctl reads only its section. */
char *config_xsocket(const char *conf, const char *none)
{
	struct box_buf b = { 0 }, v = { 0 };
	struct ini ini = { 0 };
	char *path = conf ? box_xstrdup(conf) : config_search(), *found[2] = { 0 };
	if (!path)
		box_usage("%s", none);
	make_absolute(&path);
	if (box_read_file(path, &b) < 0)
		box_die(2, "unable to read %s: %s", path, strerror(errno));
	for (char *p = b.p, *start = p; p <= b.p + b.len; p++)
		if (p == b.p + b.len || (*p == '[' && p > start && p[-1] == '\n')) {
			ini_parse_buf(&ini, start, (size_t)(p - start), path, &v);
			start = p;
		}
	char *here = box_xdirname(path);
	struct expand_ctx x = { "", "", here, -1, -1, NULL };
	for (size_t i = 0; i < ini.nsec; i++)
		for (int k = 0; k < 2; k++) {
			struct ini_kv *kv = strcmp(ini.sec[i].name, ctl_keys[k].section) ? NULL :
				ini_get(&ini.sec[i], ctl_keys[k].key);
			if (kv && expand(&x, kv->value, &b, &v) == 0) {
				free(found[k]);
				found[k] = box_xstrdup(b.p);
			}
		}
	char *url = found[0], *sock = url && !strncmp(url, "unix://", 7) ? url + 7 : found[1];
	if (!sock)
		box_usage("%s has no [unix_http_server] file and no unix:// serverurl", path);
	sock = box_xstrdup(sock);
	free(found[0]);
	free(found[1]);
	free(here);
	free(path);
	ini_free(&ini);
	box_buf_free(&b);
	box_buf_free(&v);
	return sock;
}
