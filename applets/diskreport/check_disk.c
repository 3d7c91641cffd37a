/* check_disk: the Nagios/Icinga plugin's command line, status line,
 * perfdata and exit codes (monitoring-plugins 2.3.3), on diskreport's
 * mount table and bounded prober, so a monitoring setup that calls
 * check_disk keeps its checks, graphs and alerts unchanged.
 *
 * Thresholds follow check_disk exactly: each -w/-c/-W/-K is a range in
 * the Monitoring Plugins syntax, "@" prepended (alert inside), copied
 * into the paths selected after it; the free-space percent is rounded
 * down as check_disk rounds it. Where check_disk hangs (a dead mount:
 * its -t is parsed but never used) or guesses (a path matched to a mount
 * by a byte prefix, the previous filesystem's numbers after a failed
 * statvfs), this one gives up after -t seconds with CRITICAL, matches by
 * path components, and reports the failure. */
#include "diskreport.h"

#include <errno.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"check_disk -w LIMIT -c LIMIT [-W PCT] [-K PCT] {-p PATH|-r RE|-R RE|-A} [OPTION...]";

static const char help[] =
	"diskreport under the Nagios plugin check_disk's command line (monitoring-\n"
	"plugins 2.3.3): its status line, perfdata and codes. -w/-c free space as\n"
	"N units or PCT% (or a range), -W/-K free inodes, applied to the paths named\n"
	"after them (-p PATH, -r/-R RE, -A; -C clears); -t SECS bounds every mount.\n"
	"See check_disk(1).\n"
	"Exit status: 0 OK, 1 WARNING, 2 CRITICAL (also a path not accessible, not\n"
	"found or not answering), 3 UNKNOWN.\n";

enum { ST_OK_ = 0, ST_WARNING = 1, ST_CRITICAL = 2, ST_UNKNOWN_ = 3 };
static const char *const state_text[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

/* A range in the Monitoring Plugins syntax: [@][START:][END], START "~"
 * for minus infinity, END empty for infinity. */
struct range {
	int set, inside, start_inf, end_inf;
	double start, end;
};

/* The thresholds: free units, free percent, free inode percent, and the
 * legacy positional used percent; [0] warning, [1] critical. */
enum { T_FREE_UNITS, T_FREE_PCT, T_IFREE_PCT, T_USED_PCT, T_KINDS };

struct cpath {
	char *name;
	const char *group;
	struct range th[T_KINDS][2];
	const struct mount *m;   /* the mount it is on, once known */
	int probe;
};

static struct cd {
	struct mount *ms;
	size_t nms;
	struct cpath *paths;
	size_t npaths, cap;
	const char *cur[T_KINDS][2];   /* as given, before the next selection */
	const char *group;
	int exact, errors_only, ignore_reserved, iperf, local, stat_remote, by_device,
		verbose, selected;
	uint64_t mult;
	const char *unit;
	long timeout;
	char **xdev, **xtype, **itype;
	size_t nxdev, nxtype, nitype, cxdev, cxtype, citype;
} cd;

static BOX_NORETURN void cd_exit(int state, const char *fmt, ...) BOX_PRINTF(2, 3);
static void cd_exit(int state, const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		box_write_all(1, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	exit(state);
}

static int parse_range(const char *s, struct range *r)
{
	char *end;
	*r = (struct range){ .set = 1, .end_inf = 1 };
	if (*s == '@') {
		r->inside = 1;
		s++;
	}
	const char *colon = strchr(s, ':');
	if (colon) {
		if (*s == '~')
			r->start_inf = 1;
		else
			r->start = box_strtod(s, &end);
		s = colon + 1;
	}
	if (*s) {
		r->end = box_strtod(s, &end);
		r->end_inf = 0;
	}
	return r->start_inf || r->end_inf || r->start <= r->end ? 0 : -1;
}

/* Whether value raises the alert of r. */
static int alerts(const struct range *r, double v)
{
	int in = (r->start_inf || r->start <= v) && (r->end_inf || v <= r->end);
	return r->inside ? in : !in;
}

static int threshold_state(const struct range t[2], double v)
{
	if (t[1].set && alerts(&t[1], v))
		return ST_CRITICAL;
	if (t[0].set && alerts(&t[0], v))
		return ST_WARNING;
	return ST_OK_;
}

/* ---- selecting paths ------------------------------------------------------- */

static struct cpath *find_path(const char *name)
{
	for (size_t i = 0; i < cd.npaths; i++)
		if (!strcmp(cd.paths[i].name, name))
			return &cd.paths[i];
	return NULL;
}

/* Selects name (again) with the current thresholds and group, as
 * check_disk copies them into a path when it is named. */
static struct cpath *select_path(const char *name, const struct mount *m)
{
	struct cpath *p = find_path(name);
	if (!p) {
		p = BOX_PUSH(cd.paths, cd.npaths, cd.cap);
		*p = (struct cpath){ .name = box_xstrdup(name), .probe = -1 };
	}
	for (int k = 0; k < T_KINDS; k++)
		for (int w = 0; w < 2; w++) {
			p->th[k][w] = (struct range){ 0 };
			if (cd.cur[k][w] && parse_range(cd.cur[k][w], &p->th[k][w]) < 0)
				cd_exit(ST_UNKNOWN_, "Range format incorrect");
		}
	p->group = cd.group;
	if (m)
		p->m = m;
	return p;
}

/* Every mount point once, at its first place in the table, on the mount
 * that is visible there (the last one). */
static void select_all(void)
{
	for (size_t i = 0; i < cd.nms; i++) {
		const struct mount *last = &cd.ms[i];
		for (size_t k = i + 1; k < cd.nms; k++)
			if (!strcmp(cd.ms[k].dir, last->dir))
				last = &cd.ms[k];
		select_path(cd.ms[i].dir, last);
	}
}

static int has_threshold(void)
{
	for (int k = 0; k < T_KINDS; k++)
		if (cd.cur[k][0] || cd.cur[k][1])
			return 1;
	return 0;
}

/* ---- -r, -R, -i, -I: regular expressions ------------------------------------ */

/* The extended regular expressions that select mounts, matched in
 * linear time: literals, '.', bracket expressions, '\\' escapes, the
 * anchors and the quantifiers '*', '+', '?' on one item. Groups,
 * alternatives and counts are refused (libc's regcomp would be a tenth
 * of the binary). */
#define RE_MAX 128

struct re {
	int icase, bol, eol, n;
	struct { const char *atom; unsigned char min, many; } it[RE_MAX];
};

static size_t atom_len(const char *a)
{
	if (*a == '\\')
		return a[1] ? 2 : 0;
	if (*a != '[')
		return 1;
	const char *e = a + 1;
	if (*e == '^')
		e++;
	if (*e == ']')
		e++;
	while (*e && *e != ']') {
		if (*e == '[' && (e[1] == ':' || e[1] == '.' || e[1] == '=')) {
			const char *c = strstr(e + 2, (char[]){ e[1], ']', 0 });
			if (!c)
				return 0;
			e = c + 1;
		}
		e++;
	}
	return *e ? (size_t)(e - a) + 1 : 0;
}

static const char *re_compile(struct re *re, const char *s, int icase)
{
	*re = (struct re){ .icase = icase };
	if (*s == '^') {
		re->bol = 1;
		s++;
	}
	while (*s) {
		if (*s == '$' && !s[1]) {
			re->eol = 1;
			break;
		}
		if (strchr("()|{}", *s))
			return "groups, alternatives and counts are not supported";
		if (strchr("*+?", *s))
			return "Invalid preceding regular expression";
		size_t len = atom_len(s);
		if (!len)
			return *s == '\\' ? "Trailing backslash" : "Unmatched [, [^, [:, [., or [=";
		if (re->n == RE_MAX)
			return "Regular expression too big";
		re->it[re->n].atom = s;
		s += len;
		re->it[re->n].min = *s != '*' && *s != '?';
		re->it[re->n].many = *s == '*' || *s == '+';
		if (*s && strchr("*+?", *s))
			s++;
		re->n++;
	}
	return NULL;
}

static int class_has(const char *a, int c, int icase)
{
	static const struct { const char *name; int (*is)(int); } classes[] = {
		{ "alnum", isalnum }, { "alpha", isalpha }, { "blank", isblank },
		{ "cntrl", iscntrl }, { "digit", isdigit }, { "graph", isgraph },
		{ "lower", islower }, { "print", isprint }, { "punct", ispunct },
		{ "space", isspace }, { "upper", isupper }, { "xdigit", isxdigit },
	};
	int neg = *++a == '^', in = 0;
	a += neg;
	for (const char *p = a; *p && (*p != ']' || p == a); p++) {
		if (p[0] == '[' && p[1] == ':') {
			for (size_t i = 0; i < BOX_ARRAY_LEN(classes); i++)
				if (!strncmp(p + 2, classes[i].name, strlen(classes[i].name)))
					in |= classes[i].is(c) != 0;
			p = strstr(p + 2, ":]") + 1;
		} else if (p[1] == '-' && p[2] && p[2] != ']') {
			in |= (c >= (unsigned char)p[0] && c <= (unsigned char)p[2]) ||
				(icase && ((tolower(c) >= (unsigned char)p[0] &&
				tolower(c) <= (unsigned char)p[2]) || (toupper(c) >= (unsigned char)p[0] &&
				toupper(c) <= (unsigned char)p[2])));
			p += 2;
		} else {
			in |= c == (unsigned char)*p || (icase && tolower(c) == tolower(*p));
		}
	}
	return in != neg;
}

static int atom_has(const char *a, int c, int icase)
{
	if (*a == '.')
		return 1;
	if (*a == '[')
		return class_has(a, c, icase);
	if (*a == '\\')
		a++;
	return c == (unsigned char)*a || (icase && tolower(c) == tolower((unsigned char)*a));
}

/* Adds state i and the states reachable from it without a character. */
static void re_add(const struct re *re, char *set, int i)
{
	for (; !set[i]; i++) {
		set[i] = 1;
		if (i == re->n || re->it[i].min)
			break;
	}
}

/* Whether s has a match: the states of all partial matches at once. */
static int re_match(const struct re *re, const char *s)
{
	char a[RE_MAX + 1], b[RE_MAX + 1], *cur = a, *next = b;
	memset(cur, 0, sizeof(a));
	re_add(re, cur, 0);
	for (;; s++) {
		if (cur[re->n] && (!re->eol || !*s))
			return 1;
		if (!*s)
			return 0;
		memset(next, 0, sizeof(a));
		for (int i = 0; i < re->n; i++)
			if (cur[i] && atom_has(re->it[i].atom, (unsigned char)*s, re->icase)) {
				if (re->it[i].many)
					re_add(re, next, i);
				re_add(re, next, i + 1);
			}
		if (!re->bol)
			re_add(re, next, 0);
		char *t = cur;
		cur = next;
		next = t;
	}
}

static void compile(struct re *re, const char *s, int icase)
{
	const char *why = re_compile(re, s, icase);
	if (why)
		cd_exit(ST_UNKNOWN_, "DISK UNKNOWN: Could not compile regular expression - %s\n", why);
}

static void select_regex(const char *s, int icase)
{
	struct re re;
	int found = 0;
	if (!has_threshold())
		cd_exit(ST_UNKNOWN_, "DISK UNKNOWN: Must set a threshold value before using -r/-R/-A "
			"(--ereg-path/--eregi-path/--all)\n");
	compile(&re, s, icase);
	for (size_t i = 0; i < cd.nms; i++)
		if (re_match(&re, cd.ms[i].dev) || re_match(&re, cd.ms[i].dir)) {
			select_path(cd.ms[i].dir, NULL);
			found = 1;
		}
	if (!found)
		cd_exit(ST_UNKNOWN_, "DISK UNKNOWN: Regular expression did not match any path or "
			"disk - %s\n", s);
	cd.selected = 1;
}

/* The mount a name is on without looking at the filesystem: a device
 * name (the last mount of it), else a mount point (the one visible). */
static const struct mount *mount_by_name(const char *name)
{
	const struct mount *m = NULL;
	for (size_t i = 0; i < cd.nms; i++)
		if (!strcmp(cd.ms[i].dev, name))
			m = &cd.ms[i];
	if (m)
		return m;
	for (size_t i = 0; i < cd.nms; i++)
		if (!strcmp(cd.ms[i].dir, name))
			m = &cd.ms[i];
	return m;
}

/* -i/-I: drops the paths chosen so far whose mount (device or
 * directory), or name when it is not known yet, matches. */
static void ignore_regex(const char *s, int icase)
{
	struct re re;
	size_t k = 0;
	if (!cd.selected)
		cd_exit(ST_UNKNOWN_, "DISK UNKNOWN: Paths need to be selected before using -i/-I. "
			"Use -A to select all paths explicitly\n");
	compile(&re, s, icase);
	for (size_t i = 0; i < cd.npaths; i++) {
		struct cpath *p = &cd.paths[i];
		const struct mount *m = p->m ? p->m : mount_by_name(p->name);
		int match = m ? re_match(&re, m->dev) || re_match(&re, m->dir)
			: re_match(&re, p->name);
		if (match)
			free(p->name);
		else
			cd.paths[k++] = *p;
	}
	cd.npaths = k;
}

/* ---- options ----------------------------------------------------------------- */

static const struct { const char *name, *unit; uint64_t mult; } units[] = {
	{ "kB", "kiB", 1ull << 10 }, { "KiB", "kiB", 1ull << 10 },
	{ "MB", "MiB", 1ull << 20 }, { "MiB", "MiB", 1ull << 20 },
	{ "GB", "GiB", 1ull << 30 }, { "GiB", "GiB", 1ull << 30 },
	{ "TB", "TiB", 1ull << 40 }, { "TiB", "TiB", 1ull << 40 },
	{ "PB", "PiB", 1ull << 50 }, { "PiB", "PiB", 1ull << 50 },
};

static void set_unit(const char *s)
{
	if (!strcasecmp(s, "bytes")) {
		cd.unit = "B";
		cd.mult = 1;
		return;
	}
	for (size_t i = 0; i < BOX_ARRAY_LEN(units); i++)
		if (!strcmp(s, units[i].name)) {
			cd.unit = units[i].unit;
			cd.mult = units[i].mult;
			return;
		}
	cd_exit(ST_UNKNOWN_, "unit type %s not known\n", s);
}

/* -w/-c: a range with '%' somewhere is a percentage of free space, else
 * an amount in the unit; "@" (alert inside) unless it has one. */
static void set_threshold(int kind, int crit, const char *arg)
{
	cd.cur[kind][crit] = *arg == '@' ? arg : box_xasprintf("@%s", arg);
}

static const struct box_opt opts[] = {
	{ "timeout", 't', 't', 1 }, { "warning", 'w', 'w', 1 }, { "critical", 'c', 'c', 1 },
	{ "iwarning", 'W', 'W', 1 }, { "icritical", 'K', 'K', 1 },
	{ "kilobytes", 'k', 'k', 0 }, { "megabytes", 'm', 'm', 0 }, { "units", 'u', 'u', 1 },
	{ "path", 'p', 'p', 1 }, { "partition", 'p', 0, 1 },
	{ "exclude_device", 'x', 'x', 1 }, { "exclude-type", 'X', 'X', 1 },
	{ "include-type", 'N', 'N', 1 }, { "group", 'g', 'g', 1 },
	{ "eregi-path", 'R', 'R', 1 }, { "eregi-partition", 'R', 0, 1 },
	{ "ereg-path", 'r', 'r', 1 }, { "ereg-partition", 'r', 0, 1 },
	{ "freespace-ignore-reserved", 'f', 'f', 0 },
	{ "ignore-ereg-path", 'i', 'i', 1 }, { "ignore-ereg-partition", 'i', 0, 1 },
	{ "ignore-eregi-path", 'I', 'I', 1 }, { "ignore-eregi-partition", 'I', 0, 1 },
	{ "local", 'l', 'l', 0 }, { "stat-remote-fs", 'L', 'L', 0 },
	{ "iperfdata", 'P', 'P', 0 }, { "mountpoint", 'M', 'M', 0 },
	{ "errors-only", 'e', 'e', 0 }, { "quiet", 'q', 'q', 0 },
	{ "exact-match", 'E', 'E', 0 }, { "all", 'A', 'A', 0 },
	{ "verbose", 'v', 'v', 0 }, { "clear", 'C', 'C', 0 },
	{ "version", 'V', 'V', 0 }, { "help", 'h', 'h', 0 },
	{ 0 },
};

/* The plugin's usage text, printed after its argument errors. */
static const char plugin_usage[] =
	"Usage:\n"
	" check_disk {-w absolute_limit |-w  percentage_limit% | -W inode_percentage_limit } "
	"{-c absolute_limit|-c percentage_limit% | -K inode_percentage_limit } "
	"{-p path | -x device}\n"
	"[-C] [-E] [-e] [-f] [-g group ] [-k] [-l] [-M] [-m] [-R path ] [-r path ]\n"
	"[-t timeout] [-u unit] [-v] [-X type] [-N type]\n";

static void print_help(void)
{
	struct box_buf b = { 0 };
	box_buf_printf(&b, "usage: %s\n\n%s", usage, help);
	box_write_all(1, b.p, b.len);
	box_buf_free(&b);
}

static void parse_args(int argc, char **argv)
{
	struct box_getopt g;
	int key;

	if (argc < 2)
		cd_exit(ST_UNKNOWN_, "check_disk: Could not parse arguments\n%s", plugin_usage);
	box_getopt_init(&g, argc, argv);
	while ((key = box_getopt(&g, opts)) != -1) {
		switch (key) {
		case 't': {
			long long v;
			if (box_parse_ll(g.arg, 1, 86400, &v) != BOX_PARSE_OK)
				cd_exit(ST_UNKNOWN_, "check_disk: Timeout interval must be a positive "
					"integer - %s\n%s", g.arg, plugin_usage);
			cd.timeout = (long)v;
			break;
		}
		case 'w': case 'c':
			set_threshold(strchr(g.arg, '%') ? T_FREE_PCT : T_FREE_UNITS, key == 'c', g.arg);
			break;
		case 'W': case 'K': set_threshold(T_IFREE_PCT, key == 'K', g.arg); break;
		case 'k': set_unit("kB"); break;
		case 'm': set_unit("MB"); break;
		case 'u': set_unit(g.arg); break;
		case 'p': {
			if (!has_threshold())
				cd_exit(ST_UNKNOWN_, "DISK UNKNOWN: Must set a threshold value before "
					"using -p\n");
			select_path(g.arg, NULL);
			cd.selected = 1;
			break;
		}
		case 'x': *BOX_PUSH(cd.xdev, cd.nxdev, cd.cxdev) = g.arg; break;
		case 'X': *BOX_PUSH(cd.xtype, cd.nxtype, cd.cxtype) = g.arg; break;
		case 'N': *BOX_PUSH(cd.itype, cd.nitype, cd.citype) = g.arg; break;
		case 'g':
			if (cd.selected)
				cd_exit(ST_UNKNOWN_, "DISK UNKNOWN: Must set group value before "
					"selecting paths\n");
			cd.group = g.arg;
			break;
		case 'E':
			if (cd.selected)
				cd_exit(ST_UNKNOWN_, "DISK UNKNOWN: Must set -E before selecting paths\n");
			cd.exact = 1;
			break;
		case 'r': select_regex(g.arg, 0); break;
		case 'R': select_regex(g.arg, 1); break;
		case 'A': select_regex(".*", 1); break;
		case 'i': ignore_regex(g.arg, 0); break;
		case 'I': ignore_regex(g.arg, 1); break;
		case 'f': cd.ignore_reserved = 1; break;
		case 'l': cd.local = 1; break;
		case 'L': cd.local = cd.stat_remote = 1; break;
		case 'P': cd.iperf = 1; break;
		case 'M': cd.by_device = 1; break;
		case 'e': case 'q': cd.errors_only = 1; break;
		case 'v': cd.verbose++; break;
		case 'C':
			if (!cd.selected)
				select_all();
			memset(cd.cur, 0, sizeof(cd.cur));
			cd.group = NULL;
			cd.selected = 0;
			break;
		case 'V': cd_exit(ST_UNKNOWN_, "check_disk (procbox) compatible with v2.3.3\n");
		case 'h': print_help(); exit(ST_UNKNOWN_);
		}
	}
	/* the old form: WARN CRIT [PATH], used-space percentages */
	char **rest = argv + g.ind;
	for (int k = 0; k < 2 && *rest && **rest && strspn(*rest, "0123456789") == strlen(*rest);
	     k++, rest++)
		cd.cur[T_USED_PCT][k] = *rest;
	if (*rest) {
		select_path(*rest, NULL);
		cd.selected = 1;
	}
	if (!cd.selected)
		select_all();
}

/* ---- checking ---------------------------------------------------------------- */

static int in_list(char **l, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i], s))
			return 1;
	return 0;
}

/* Skipped by -l, -X (and iso9660, as check_disk always), -x, -N. */
static int filtered(const struct mount *m)
{
	if (m->remote && cd.local)
		return 1;
	if (!strcmp(m->type, "iso9660") || in_list(cd.xtype, cd.nxtype, m->type))
		return 1;
	if (in_list(cd.xdev, cd.nxdev, m->dev) || in_list(cd.xdev, cd.nxdev, m->dir))
		return 1;
	return cd.nitype && !in_list(cd.itype, cd.nitype, m->type);
}

/* A double as C converts it to uint64 on x86-64: through int64 below
 * 2^63, so a negative amount wraps (check_disk's perfdata shows that). */
static uint64_t to_u64(double d)
{
	if (d < 9223372036854775808.0)
		return d <= -9223372036854775808.0 ? 1ull << 63 : (uint64_t)(int64_t)d;
	return d < 18446744073709551616.0 ? (uint64_t)d : 0;
}

struct usage {
	uint64_t used, avail, total;   /* blocks, as bytes for a group */
	uint64_t used_u, free_u, total_u;
	uint64_t ino_total, ino_free, ino_used;
};

static void add_usage(struct usage *u, const struct fsu *f)
{
	uint64_t used = f->blocks - f->bfree, avail = f->bavail;
	uint64_t total = cd.ignore_reserved ? used + avail : f->blocks;
	u->used += used * f->bsize;
	u->avail += avail * f->bsize;
	u->total += total * f->bsize;
	u->used_u += used * f->bsize / cd.mult;
	u->free_u += avail * f->bsize / cd.mult;
	u->total_u += total * f->bsize / cd.mult;
	u->ino_total += f->files;
	u->ino_free += f->ffree;
	u->ino_used += f->files - f->ffree;
}

/* One perfdata warning or critical value, in used bytes; UINT64_MAX
 * when neither kind of free-space threshold is set. */
static uint64_t high_tide(const struct cpath *p, int crit, uint64_t total_u)
{
	uint64_t t = UINT64_MAX;
	const struct range *units = &p->th[T_FREE_UNITS][crit], *pct = &p->th[T_FREE_PCT][crit];
	if (units->set)
		t = to_u64(((double)total_u - units->end) * (double)cd.mult);
	if (pct->set) {
		uint64_t v = to_u64((1.0 - pct->end / 100) * (double)(total_u * cd.mult));
		t = v < t ? v : t;
	}
	return t;
}

static void perf_item(struct box_buf *b, const char *label, uint64_t val, const char *uom,
	uint64_t warn, uint64_t crit, uint64_t max)
{
	box_buf_printf(b, strpbrk(label, "'= ") ? " '%s'=%llu%s;" : " %s=%llu%s;", label,
		(unsigned long long)val, uom);
	if (warn != UINT64_MAX)
		box_buf_printf(b, "%llu", (unsigned long long)warn);
	box_buf_addc(b, ';');
	if (crit != UINT64_MAX)
		box_buf_printf(b, "%llu", (unsigned long long)crit);
	box_buf_printf(b, ";0;%llu", (unsigned long long)max);
}

static BOX_NORETURN void not_accessible(const char *name, const struct probe *pr)
{
	if (pr->hung)
		cd_exit(ST_CRITICAL, "DISK CRITICAL - %s is not accessible: no answer within %lds\n",
			name, cd.timeout);
	cd_exit(ST_CRITICAL, "DISK CRITICAL - %s is not accessible: %s\n", name,
		strerror(pr->stat_err ? pr->stat_err : pr->vfs_err));
}

/* Finds each path's mount: by name (a device, a mount point), else the
 * mount holding the resolved path; then every statvfs. Both rounds run
 * in the prober, bounded by -t. */
static struct probe *probe_paths(void)
{
	struct probe *pr = NULL, *vf = NULL;
	size_t npr = 0, nvf = 0, c1 = 0, c2 = 0;
	int64_t timeout = (int64_t)cd.timeout * BOX_NSEC;

	for (size_t i = 0; i < cd.npaths; i++) {
		struct cpath *p = &cd.paths[i];
		struct probe *q = new_probe(&pr, &npr, &c1);
		if (!p->m)
			p->m = mount_by_name(p->name);
		q->stat_path = p->name;
		q->want_real = !p->m;
	}
	probe_all(pr, npr, timeout);
	for (size_t i = 0; i < cd.npaths; i++) {
		struct cpath *p = &cd.paths[i];
		struct probe *q = new_probe(&vf, &nvf, &c2);
		if (pr[i].hung || pr[i].stat_err)
			continue;
		if (!p->m && !cd.exact && !pr[i].real_err && pr[i].real)
			p->m = point_mount(cd.ms, cd.nms, pr[i].real);
		if (p->m)
			q->vfs_path = p->m->dir;
	}
	probe_all(vf, nvf, timeout);
	for (size_t i = 0; i < cd.npaths; i++) {
		pr[i].vfs_err = vf[i].vfs_err;
		pr[i].hung |= vf[i].hung;
		pr[i].fsu = vf[i].fsu;
	}
	free(vf);
	return pr;
}

static int check_disk_main(int argc, char **argv)
{
	cd.mult = 1ull << 20;
	cd.unit = "MiB";
	cd.timeout = 10;
	read_mounts(&cd.ms, &cd.nms);
	parse_args(argc, argv);

	struct probe *pr = probe_paths();
	struct box_buf text = { 0 }, perf = { 0 };
	char **seen = box_xcalloc(cd.npaths + 1, sizeof(*seen));
	size_t nseen = 0;
	int result = ST_UNKNOWN_;

	for (size_t i = 0; i < cd.npaths; i++)
		if (!cd.paths[i].m && !pr[i].hung && !pr[i].stat_err)
			cd_exit(ST_CRITICAL, "DISK CRITICAL: %s not found\n", cd.paths[i].name);
	for (size_t i = 0; i < cd.npaths; i++) {
		struct cpath *p = &cd.paths[i];
		const struct mount *m = p->m;
		if (m && in_list(seen, nseen, m->dir))
			continue;
		if (m)
			seen[nseen++] = m->dir;
		if (m && !p->group && filtered(m)) {
			if (m->remote && cd.stat_remote && (pr[i].hung || pr[i].stat_err))
				not_accessible(p->name, &pr[i]);
			continue;
		}
		if (pr[i].hung || pr[i].stat_err || pr[i].vfs_err)
			not_accessible(p->name, &pr[i]);
		if (!pr[i].fsu.blocks || !strcmp(m->dir, "none"))
			continue;

		struct usage u = { 0 };
		const char *name = !strcmp(m->dir, "none") || cd.by_device ? m->dev : m->dir;
		if (p->group) {
			/* the group's members, each once, summed into one check */
			for (size_t k = i; k < cd.npaths; k++) {
				struct cpath *q = &cd.paths[k];
				if (!q->group || strcmp(q->group, p->group))
					continue;
				if (pr[k].hung || pr[k].stat_err || pr[k].vfs_err)
					not_accessible(q->name, &pr[k]);
				add_usage(&u, &pr[k].fsu);
				if (q->m && !in_list(seen, nseen, q->m->dir))
					seen[nseen++] = q->m->dir;
			}
			name = p->group;
		} else {
			add_usage(&u, &pr[i].fsu);
		}
		double used_pct = df_percent(u.used, u.used + u.avail);
		double free_pct = 100 - used_pct;
		double iused_pct = df_percent(u.ino_total - u.ino_free, u.ino_total);
		double ifree_pct = 100 - iused_pct;
		int st = threshold_state(p->th[T_FREE_UNITS], (double)u.free_u);
		int s2 = threshold_state(p->th[T_FREE_PCT], free_pct);
		st = s2 > st ? s2 : st;
		s2 = threshold_state(p->th[T_USED_PCT], used_pct);
		st = s2 > st ? s2 : st;
		s2 = threshold_state(p->th[T_IFREE_PCT], ifree_pct);
		st = s2 > st ? s2 : st;
		result = result == ST_UNKNOWN_ || st > result ? st : result;

		perf_item(&perf, name, u.used_u * cd.mult, "B", high_tide(p, 0, u.total_u),
			high_tide(p, 1, u.total_u), u.total_u * cd.mult);
		if (cd.iperf) {
			uint64_t tide[2];
			for (int w = 0; w < 2; w++) {
				const struct range *r = &p->th[T_IFREE_PCT][w];
				tide[w] = r->set ? (uint64_t)fabs((1.0 - r->end / 100) *
					(double)u.ino_total) : UINT64_MAX;
			}
			char *label = box_xasprintf("%s (inodes)", name);
			perf_item(&perf, label, u.ino_used, "", tide[0], tide[1], u.ino_total);
			free(label);
		}
		if (st == ST_OK_ && cd.errors_only && !cd.verbose)
			continue;
		int flag = st && cd.verbose;
		if (flag)
			box_buf_printf(&text, " %s [", state_text[st]);
		box_buf_printf(&text, " %s %llu%s (%.0f%%", name, (unsigned long long)u.free_u,
			cd.unit, free_pct);
		if (iused_pct < 0)
			box_buf_printf(&text, " inode=-)%s;", st ? "]" : "");
		else
			box_buf_printf(&text, " inode=%.0f%%)%s;", ifree_pct, flag ? "]" : "");
	}
	struct box_buf out = { 0 };
	box_buf_printf(&out, "DISK %s%s%s|%s\n", state_text[result],
		cd.errors_only && result == ST_OK_ ? "" : " - free space:", text.p ? text.p : "",
		perf.p ? perf.p : "");
	if (box_write_all(1, out.p, out.len) < 0)
		result = ST_UNKNOWN_;
	box_buf_free(&out);
	box_buf_free(&text);
	box_buf_free(&perf);
	free(seen);
	free(pr);
	return result;
}

/* ---- diskreport --nagios --------------------------------------------------- */

/* A rule as a used-bytes level in perfdata (UINT64_MAX: none). */
static uint64_t rule_tide(const struct rule *u, uint64_t total)
{
	if (!u)
		return UINT64_MAX;
	if (u->pct)
		return (uint64_t)((u->free ? 1.0 - (double)u->v / 100 : (double)u->v / 100) *
			(double)total);
	return u->free ? (u->v < total ? total - u->v : 0) : u->v;
}

int format_nagios(struct box_buf *out)
{
	static const int nagios[] = { ST_OK_, ST_WARNING, ST_CRITICAL, ST_UNKNOWN_ };
	struct box_buf text = { 0 }, perf = { 0 };
	const uint64_t mib = 1 << 20;
	int st = nrows ? ST_OK_ : ST_UNKNOWN_;

	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		int rs = r->hung || r->unknown_values ? ST_CRITICAL : nagios[r->level];
		st = rs > st ? rs : st;
		if (r->hung) {
			box_buf_printf(&text, " %s not answering;", r->dir);
			continue;
		}
		if (r->unknown_values || r->is_total)
			continue;
		/* each filesystem once, as check_disk lists it */
		size_t k = 0;
		while (k < i && strcmp(rows[k].dir, r->dir))
			k++;
		if (k < i)
			continue;
		const struct fsu *f = &r->fsu;
		uint64_t total = f->blocks * f->bsize / mib * mib;
		box_buf_printf(&text, " %s %lluMiB (%d%%", r->dir,
			(unsigned long long)(f->bavail_neg ? 0 : f->bavail * f->bsize / mib),
			r->pct < 0 ? 101 : 100 - r->pct);
		if (r->ipct < 0)
			box_buf_adds(&text, " inode=-);");
		else
			box_buf_printf(&text, " inode=%d%%);", 100 - r->ipct);
		perf_item(&perf, r->dir, (f->blocks - f->bfree) * f->bsize / mib * mib, "B",
			rule_tide(rule_for(r, L_WARN), total), rule_tide(rule_for(r, L_CRIT), total),
			total);
	}
	/* a PATH that failed has no row: it is said on standard error, and
	 * counts as check_disk counts a path it cannot access */
	if (failures)
		st = ST_CRITICAL;
	box_buf_printf(out, "DISK %s - free space:%s|%s\n", state_text[st], text.p ? text.p : "",
		perf.p ? perf.p : "");
	box_buf_free(&text);
	box_buf_free(&perf);
	return st;
}

const struct applet applet_check_disk = {
	"check_disk", check_disk_main, usage, help, ST_UNKNOWN_, ST_UNKNOWN_,
};
