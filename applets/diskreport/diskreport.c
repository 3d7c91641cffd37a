/* diskreport: df's table of mounted filesystems with the same numbers,
 * thresholds that turn it into a monitoring check (Nagios exit codes),
 * JSON/CSV output, and mail over SMTP without a local sendmail.
 *
 * This file is the applet: options, the report (mounts chosen as df
 * chooses them, mounts.c; probed without hanging, probe.c; rows and
 * output, table.c), the mail, the exit status. */
#include "diskreport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char usage[] =
	"diskreport [-aliTHhkmP] [-B SIZE] [--total] [--output[=FIELDS]] [-t TYPE] [-x TYPE] "
	"[--warn LIMIT] [--crit LIMIT] [--iwarn LIMIT] [--icrit LIMIT] [--timeout DUR] "
	"[--json|--csv|--nagios] "
	"[--mail-to ADDR,... [MAIL OPTIONS]] [PATH...]";

static const char help[] =
	"Report filesystem usage like df -h; check thresholds; mail the report.\n"
	"\n"
	"  PATH...              report the filesystems holding these paths\n"
	"  -a, --all            include pseudo, duplicate and inaccessible filesystems\n"
	"  -l, --local          local filesystems only\n"
	"  -t, --type TYPE      only filesystems of TYPE (repeatable)\n"
	"  -x, --exclude-type TYPE  not filesystems of TYPE (repeatable)\n"
	"  -T, --print-type     show the filesystem type\n"
	"  -i, --inodes         inode usage instead of block usage\n"
	"  -h, --human-readable sizes in powers of 1024 (default)\n"
	"  -H, --si             sizes in powers of 1000\n"
	"  -k                   sizes in 1024-byte blocks\n"
	"  -m                   sizes in 1048576-byte blocks\n"
	"  -B, --block-size SIZE  sizes in blocks of SIZE (4096, 1K, 1M, 1MB, ...)\n"
	"  -P, --portability    df -P's format: 1024-blocks, Capacity\n"
	"      --total          a last row with the sums, as df --total\n"
	"      --output[=FIELDS]  df's columns: source,fstype,itotal,iused,iavail,\n"
	"                       ipcent,size,used,avail,pcent,file,target\n"
	"  --warn LIMIT, --crit LIMIT  mark rows whose usage reaches LIMIT:\n"
	"                       [/MOUNT=|type:TYPE=][used:|free:]PCT[%]|SIZE\n"
	"  --iwarn LIMIT, --icrit LIMIT  the same for inodes, in percent\n"
	"  --nagios             check_disk's status line and perfdata, its codes\n"
	"  --timeout DUR        give up on a mount after DUR (default 5s)\n"
	"  --json, --csv        machine-readable output, sizes in bytes\n"
	"  --mail-to ADDR,...   mail the report to these addresses over SMTP\n"
	"  --mail-from ADDR     envelope and From: address (default LOGNAME@HOST)\n"
	"  --smtp HOST[:PORT]   SMTP server (default 127.0.0.1, port 25; 465 for tls)\n"
	"  --smtp-timeout DUR   limit for connecting and for each reply (default 30s)\n"
	"  --smtp-retries N     attempts more after a 4xx or a failed connection (3)\n"
	"  --smtp-retry-delay DUR  before the first of them, doubling (default 30s)\n"
	"  --smtp-tls starttls|tls  encrypt through a helper: STARTTLS, or TLS from\n"
	"                       the start (port 465)\n"
	"  --smtp-tls-helper CMD  the helper, its stdin and stdout the session; %h\n"
	"                       host, %p port, %a HOST:PORT (default openssl s_client)\n"
	"  --smtp-auth-file FILE  AUTH PLAIN or LOGIN: user name on the first line,\n"
	"                       password on the second; mode 600 or stricter\n"
	"  --subject TEXT       Subject: (default \"Disk usage on HOST: STATUS\")\n"
	"  --mail-if always|warn|crit  when to mail (default always)\n"
	"\n"
	"Exit status: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (usage error, a mount that\n"
	"did not answer or failed); 4 the mail could not be delivered.\n";

const char *const status_name[] = { "OK", "WARN", "CRIT", "UNKNOWN" };
#define MAIL_FAILED 4

struct opts o;

/* ---- options ------------------------------------------------------------------ */

enum {
	OPT_WARN = 256, OPT_CRIT, OPT_IWARN, OPT_ICRIT, OPT_TIMEOUT, OPT_JSON, OPT_CSV,
	OPT_MAIL_TO, OPT_MAIL_FROM, OPT_SMTP, OPT_SUBJECT, OPT_MAIL_IF, OPT_SMTP_TIMEOUT,
	OPT_TOTAL, OPT_SMTP_RETRIES, OPT_SMTP_RETRY_DELAY, OPT_OUTPUT, OPT_SMTP_TLS,
	OPT_SMTP_TLS_HELPER, OPT_SMTP_AUTH_FILE, OPT_NAGIOS,
};

static const struct box_opt opts[] = {
	{ "all", 'a', 'a', 0 },
	{ "local", 'l', 'l', 0 },
	{ "type", 't', 't', 1 },
	{ "exclude-type", 'x', 'x', 1 },
	{ "print-type", 'T', 'T', 0 },
	{ "inodes", 'i', 'i', 0 },
	{ "human-readable", 'h', 'h', 0 },
	{ "si", 'H', 'H', 0 },
	{ NULL, 'k', 'k', 0 },
	{ NULL, 'm', 'm', 0 },
	{ "block-size", 'B', 'B', 1 },
	{ "portability", 'P', 'P', 0 },
	{ "total", OPT_TOTAL, 0, 0 },
	{ "output", OPT_OUTPUT, 0, 2 },
	{ "warn", OPT_WARN, 0, 1 },
	{ "crit", OPT_CRIT, 0, 1 },
	{ "iwarn", OPT_IWARN, 0, 1 },
	{ "icrit", OPT_ICRIT, 0, 1 },
	{ "timeout", OPT_TIMEOUT, 0, 1 },
	{ "json", OPT_JSON, 0, 0 },
	{ "nagios", OPT_NAGIOS, 0, 0 },
	{ "csv", OPT_CSV, 0, 0 },
	{ "mail-to", OPT_MAIL_TO, 0, 1 },
	{ "mail-from", OPT_MAIL_FROM, 0, 1 },
	{ "smtp", OPT_SMTP, 0, 1 },
	{ "subject", OPT_SUBJECT, 0, 1 },
	{ "mail-if", OPT_MAIL_IF, 0, 1 },
	{ "smtp-timeout", OPT_SMTP_TIMEOUT, 0, 1 },
	{ "smtp-retries", OPT_SMTP_RETRIES, 0, 1 },
	{ "smtp-retry-delay", OPT_SMTP_RETRY_DELAY, 0, 1 },
	{ "smtp-tls", OPT_SMTP_TLS, 0, 1 },
	{ "smtp-tls-helper", OPT_SMTP_TLS_HELPER, 0, 1 },
	{ "smtp-auth-file", OPT_SMTP_AUTH_FILE, 0, 1 },
	{ 0 },
};

static int parse_pct(const char *what, const char *s)
{
	char buf[16];
	size_t n = strlen(s);
	if (n && n < sizeof(buf) && s[n - 1] == '%') {
		memcpy(buf, s, n - 1);
		buf[n - 1] = 0;
		long long v;
		if (box_parse_ll(buf, 0, 100, &v) == BOX_PARSE_OK)
			return (int)v;
	} else {
		long long v;
		if (box_parse_ll(s, 0, 100, &v) == BOX_PARSE_OK)
			return (int)v;
	}
	box_usage("invalid %s '%s': expected a percentage 0-100", what, s);
}

static void add_type(char ***list, size_t *n, size_t *cap, const char *t)
{
	if (!*t)
		box_usage("empty filesystem type");
	*BOX_PUSH(*list, *n, *cap) = (char *)t;
}

static void parse_mail_to(const char *spec, size_t *cap)
{
	char *copy = box_xstrdup(spec), *save = NULL;
	for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		while (*a == ' ')
			a++;
		if (!box_smtp_valid_address(a))
			box_usage("invalid mail address '%s'", a);
		*BOX_PUSH(o.mail_to, o.nmail_to, *cap) = a;
	}
	if (!o.nmail_to)
		box_usage("invalid --mail-to '%s': no address", spec);
}

static void check_smtp(const char *spec)
{
	char host[256];
	const char *port;
	int r = box_smtp_parse_server(spec, host, sizeof(host), &port);
	if (r == BOX_PARSE_INVALID)
		box_usage("invalid --smtp '%s': expected HOST[:PORT] or [ADDR]:PORT", spec);
	if (r == BOX_PARSE_RANGE)
		box_usage("invalid --smtp port '%s': expected 1-65535", port);
}

static const struct {
	const char *name;
	int status;            /* the least status that is mailed, -1 any */
} mail_ifs[] = {
	{ "always", -1 }, { "warn", ST_WARN }, { "crit", ST_CRIT },
};

static int parse_mail_if(const char *s)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(mail_ifs); i++)
		if (!strcmp(s, mail_ifs[i].name))
			return mail_ifs[i].status;
	box_usage("invalid --mail-if '%s': expected always, warn or crit", s);
}

/* df's SIZE: a number with an optional unit, K M G T P E Z Y R Q for
 * powers of 1024 (KiB too), KB MB ... for powers of 1000; a unit alone
 * is one of it. */
static uint64_t parse_size(const char *what, const char *s)
{
	static const char units[] = "KMGTPEZYRQ";
	const char *p = s;
	uint64_t n = 1;

	if (*p >= '0' && *p <= '9') {
		errno = 0;
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (errno || !v)
			goto bad;
		n = v;
		p = end;
	}
	if (*p) {
		const char *u = strchr(units, *p == 'k' ? 'K' : *p);
		if (!u || !*u)
			goto bad;
		unsigned base = !strcmp(p + 1, "B") ? 1000 : (!p[1] || !strcmp(p + 1, "iB")) ? 1024 : 0;
		if (!base)
			goto bad;
		/* a unit without a number is printed after each number, as df
		 * does: "20817M", "21827367kB" */
		if (p == s && !what)
			snprintf(o.block_unit, sizeof(o.block_unit), "%c%s",
				base == 1000 && *u == 'K' ? 'k' : *u, p + 1);
		for (long e = u - units + 1; e > 0; e--) {
			if (n > UINT64_MAX / base)
				goto bad;
			n *= base;
		}
	} else if (p == s) {
		goto bad;
	}
	return n;
bad:
	if (what)
		box_usage("invalid %s '%s': expected a percentage 0-100 or a size such as 500G",
			what, s);
	box_usage("invalid block size '%s'", s);
}

/* --warn/--crit/--iwarn/--icrit [SCOPE=][used:|free:]AMOUNT: a percentage
 * ("80", "80%") or, for space, a size ("500G", "10GB"); SCOPE a mount
 * point ("/srv") or "type:TYPE". */
static void parse_limit(const char *what, int kind, char *arg, size_t *cap)
{
	struct rule r = { .kind = kind };
	char *eq = strrchr(arg, '='), *a = arg;

	if (eq) {
		*eq = 0;
		if (!strncmp(arg, "type:", 5) && arg[5])
			r.type = arg + 5;
		else if (arg[0] == '/')
			r.path = arg;
		else
			box_usage("invalid %s scope '%s': expected a /path or type:TYPE", what, arg);
		a = eq + 1;
	}
	if (!strncmp(a, "free:", 5) || !strncmp(a, "used:", 5)) {
		r.free = a[0] == 'f';
		a += 5;
	}
	size_t n = strlen(a);
	if (n && (a[n - 1] == '%' || strspn(a, "0123456789") == n)) {
		r.pct = 1;
		r.v = (uint64_t)parse_pct(what, a);
	} else if (kind == L_IWARN || kind == L_ICRIT) {
		box_usage("invalid %s '%s': expected a percentage 0-100", what, a);
	} else {
		r.v = parse_size(what, a);
	}
	*BOX_PUSH(o.rules, o.nrules, *cap) = r;
}

/* A warning level past its critical one (both unscoped, used percent,
 * as before scopes) is a mistake worth stopping for. */
static void check_limits(void)
{
	static const char *const names[] = { "--warn", "--crit", "--iwarn", "--icrit" };
	const struct rule *last[4] = { 0 };
	for (size_t i = 0; i < o.nrules; i++)
		if (!o.rules[i].path && !o.rules[i].type && o.rules[i].pct && !o.rules[i].free)
			last[o.rules[i].kind] = &o.rules[i];
	for (int k = 0; k < 4; k += 2)
		if (last[k] && last[k + 1] && last[k]->v > last[k + 1]->v)
			box_usage("%s %d is above %s %d", names[k], (int)last[k]->v, names[k + 1],
				(int)last[k + 1]->v);
}

/* Options may follow the paths, as with df; the paths are moved to
 * argv[1...] in their order and counted. */
static size_t parse_options(int argc, char **argv, struct box_getopt *g)
{
	size_t npaths = 0, types_cap = 0, xtypes_cap = 0, mail_to_cap = 0, rules_cap = 0;
	int c;
	o.base = 1024;
	o.block = 1024;
	int unit_given = 0;
	o.timeout = 5 * BOX_NSEC;
	o.smtp_timeout = 30 * BOX_NSEC;
	o.smtp_retries = 3;
	o.smtp_retry_delay = 30 * BOX_NSEC;
	o.smtp = "127.0.0.1";
	o.mail_if = -1;
	int mail_opt = 0;

	box_getopt_init(g, argc, argv);
	for (;;) {
		c = box_getopt(g, opts);
		if (c == -1) {
			if (g->ind >= argc)
				break;
			argv[1 + npaths++] = argv[g->ind++];
			if (g->dashdash) {
				while (g->ind < argc)
					argv[1 + npaths++] = argv[g->ind++];
				break;
			}
			continue;
		}
		switch (c) {
		case 'a': o.all = 1; break;
		case 'l': o.local = 1; break;
		case 't': add_type(&o.types, &o.ntypes, &types_cap, g->arg); break;
		case 'x': add_type(&o.xtypes, &o.nxtypes, &xtypes_cap, g->arg); break;
		case 'T': o.print_type = 1; break;
		case 'i': o.inodes = 1; break;
		case 'h': o.base = 1024; unit_given = 1; break;
		case 'H': o.base = 1000; unit_given = 1; break;
		case 'k': o.base = 0; o.block = 1024; o.block_unit[0] = 0; unit_given = 1; break;
		case 'm': o.base = 0; o.block = 1 << 20; o.block_unit[0] = 0; unit_given = 1; break;
		case 'B':
			o.base = 0;
			o.block_unit[0] = 0;
			o.block = parse_size(NULL, g->arg);
			unit_given = 1;
			break;
		case 'P': o.posix = 1; break;
		case OPT_TOTAL: o.total = 1; break;
		case OPT_OUTPUT: {
			int f[16];
			o.output = 1;
			o.output_list = g->arg;
			output_fields(g->arg, f, 16);   /* checked now: a usage error */
			break;
		}
		case OPT_WARN: parse_limit("--warn", L_WARN, g->arg, &rules_cap); break;
		case OPT_CRIT: parse_limit("--crit", L_CRIT, g->arg, &rules_cap); break;
		case OPT_IWARN: parse_limit("--iwarn", L_IWARN, g->arg, &rules_cap); break;
		case OPT_ICRIT: parse_limit("--icrit", L_ICRIT, g->arg, &rules_cap); break;
		case OPT_TIMEOUT:
			o.timeout = box_xparse_duration("--timeout", g->arg);
			if (!o.timeout)
				box_usage("invalid --timeout '%s': must be more than 0", g->arg);
			break;
		case OPT_SMTP_TIMEOUT:
			o.smtp_timeout = box_xparse_duration("--smtp-timeout", g->arg);
			if (!o.smtp_timeout)
				box_usage("invalid --smtp-timeout '%s': must be more than 0", g->arg);
			break;
		case OPT_SMTP_RETRIES:
			o.smtp_retries = (int)box_xparse_ll("--smtp-retries", g->arg, 0, 10);
			mail_opt = 1;
			break;
		case OPT_SMTP_RETRY_DELAY:
			o.smtp_retry_delay = box_xparse_duration("--smtp-retry-delay", g->arg);
			if (!o.smtp_retry_delay)
				box_usage("invalid --smtp-retry-delay '%s': must be more than 0", g->arg);
			mail_opt = 1;
			break;
		case OPT_JSON: o.json = 1; break;
		case OPT_NAGIOS: o.nagios = 1; break;
		case OPT_CSV: o.csv = 1; break;
		case OPT_MAIL_TO: parse_mail_to(g->arg, &mail_to_cap); break;
		case OPT_MAIL_FROM:
			if (!box_smtp_valid_address(g->arg))
				box_usage("invalid mail address '%s'", g->arg);
			o.mail_from = g->arg;
			mail_opt = 1;
			break;
		case OPT_SMTP: check_smtp(g->arg); o.smtp = g->arg; mail_opt = 1; break;
		case OPT_SUBJECT:
			if (strpbrk(g->arg, "\r\n"))
				box_usage("invalid --subject: it must be one line");
			o.subject = g->arg;
			mail_opt = 1;
			break;
		case OPT_MAIL_IF:
			o.mail_if = parse_mail_if(g->arg);
			mail_opt = 1;
			break;
		case OPT_SMTP_TLS:
			if (!strcmp(g->arg, "starttls"))
				o.smtp_tls = BOX_SMTP_STARTTLS;
			else if (!strcmp(g->arg, "tls"))
				o.smtp_tls = BOX_SMTP_TLS;
			else
				box_usage("invalid --smtp-tls '%s': expected starttls or tls", g->arg);
			mail_opt = 1;
			break;
		case OPT_SMTP_TLS_HELPER:
			if (!*g->arg)
				box_usage("empty --smtp-tls-helper");
			o.smtp_tls_helper = g->arg;
			mail_opt = 1;
			break;
		case OPT_SMTP_AUTH_FILE: o.smtp_auth_file = g->arg; mail_opt = 1; break;
		}
	}
	if (o.smtp_tls_helper && !o.smtp_tls)
		box_usage("--smtp-tls-helper needs --smtp-tls starttls or tls");
	if (o.json && o.csv)
		box_usage("--json and --csv cannot be combined");
	if (o.output && (o.posix || o.inodes || o.print_type || o.json || o.csv))
		box_usage("--output cannot be combined with %s", o.posix ? "-P" : o.inodes ? "-i" :
			o.print_type ? "-T" : o.json ? "--json" : "--csv");
	if (o.nagios && (o.json || o.csv || o.output))
		box_usage("--nagios cannot be combined with %s", o.json ? "--json" : o.csv ? "--csv" :
			"--output");
	/* df -P counts in 1024-byte blocks unless told otherwise */
	if (o.posix && !unit_given)
		o.base = 0;
	check_limits();
	if (mail_opt && !o.nmail_to)
		box_usage("mail options need --mail-to");
	return npaths;
}

/* ---- the report ------------------------------------------------------------ */

static void report_hung(const char *what)
{
	char d[32];
	box_warn("%s: not answering after %s", what, box_fmt_duration(d, sizeof(d), o.timeout));
}

/* df's get_dev: the row for one mount, or nothing. */
static void get_dev(const struct mount *m, const char *dev, const char *dir,
		    const struct probe *p, int listed, int process_all,
		    const struct mount *winner)
{
	int unknown = 0;

	if (p->hung) {
		report_hung(dir);
		add_row(dev, m ? m->type : "-", dir, p, 0);
		return;
	}
	if (p->vfs_err) {
		if (process_all && (p->vfs_err == EACCES || p->vfs_err == ENOENT)) {
			if (!o.all)
				return;
			unknown = 1;
		} else {
			errno = p->vfs_err;
			box_warn_errno("unable to statvfs %s", p->vfs_path);
			raise_status(ST_UNKNOWN);
			return;
		}
	} else if (process_all && o.all && !p->stat_err && winner && m &&
		   strcmp(winner->dev, dev) && (!winner->remote || !m->remote)) {
		unknown = 1;   /* over-mounted: the numbers belong to another device */
	}
	if (!unknown && p->fsu.blocks == 0 && !o.all && !listed)
		return;
	add_row(dev, m ? m->type : "-", dir, p, unknown);
}

static void report_all(struct mount *ms, size_t n)
{
	struct probe *pr = NULL;
	size_t npr = 0, cap = 0;

	for (size_t i = 0; i < n; i++) {
		if (!wanted(&ms[i], 0) || ms[i].dir[0] != '/')
			continue;
		ms[i].probe = (int)npr;
		struct probe *p = new_probe(&pr, &npr, &cap);
		p->stat_path = p->vfs_path = ms[i].dir;
	}
	probe_all(pr, npr, o.timeout);

	size_t *kept = box_xcalloc(n + 1, sizeof(*kept)), ndevs;
	struct devent *devs = box_xcalloc(n + 1, sizeof(*devs));
	size_t nkept = filter_mounts(ms, n, pr, kept, devs, &ndevs);
	char **canon = resolve_sources(ms, n, has_uuid_suffix);

	for (size_t k = 0; k < nkept; k++) {
		struct mount *m = &ms[kept[k]];
		if (m->probe < 0)
			continue;
		struct probe *p = &pr[m->probe];
		const struct devent *w = p->hung || p->stat_err ? NULL
			: dev_find(devs, ndevs, p->st_dev);
		get_dev(m, canon[kept[k]] ? canon[kept[k]] : m->dev, m->dir, p, 0, 1,
			w ? &ms[w->mount] : NULL);
	}
	for (size_t i = 0; i < n; i++)
		free(canon[i]);
	free(canon);
	free(kept);
	free(devs);
}

static void report_paths(struct mount *ms, size_t n, char **paths, size_t npaths)
{
	struct probe *first = NULL, *second = NULL;
	size_t nfirst = 0, nsecond = 0, cap1 = 0, cap2 = 0;
	const struct mount **match = box_xcalloc(npaths + 1, sizeof(*match));

	for (size_t i = 0; i < npaths; i++) {
		struct probe *p = new_probe(&first, &nfirst, &cap1);
		p->stat_path = paths[i];
		p->want_real = 1;
	}
	probe_all(first, nfirst, o.timeout);
	char **canon = NULL;
	for (size_t i = 0; i < npaths; i++) {
		struct probe *p = &first[i];
		struct probe *q = new_probe(&second, &nsecond, &cap2);
		if (p->hung || p->stat_err || p->real_err)
			continue;
		int is_dev = S_ISBLK(p->st_mode) || S_ISCHR(p->st_mode);
		if (is_dev && !canon)
			canon = resolve_sources(ms, n, NULL);
		match[i] = is_dev ? device_mount(ms, n, canon, p->real) : NULL;
		q->vfs_path = match[i] ? match[i]->dir : paths[i];
		if (!match[i])
			match[i] = point_mount(ms, n, p->real);
		q->stat_path = match[i] ? match[i]->dir : NULL;
	}
	probe_all(second, nsecond, o.timeout);
	for (size_t i = 0; i < npaths; i++) {
		struct probe *p = &first[i], *q = &second[i];
		if (p->hung) {
			report_hung(paths[i]);
			add_row("-", "-", paths[i], p, 0);
			continue;
		}
		if (p->stat_err || p->real_err) {
			errno = p->stat_err ? p->stat_err : p->real_err;
			box_warn_errno("unable to stat %s", paths[i]);
			raise_status(ST_UNKNOWN);
			continue;
		}
		const struct mount *m = match[i];
		int is_dev = S_ISBLK(p->st_mode) || S_ISCHR(p->st_mode);
		if (m && !is_dev && !q->hung && (q->stat_err || q->st_dev != p->st_dev))
			m = dev_mount(ms, n, p->st_dev);
		/* df's rule: the numbers at the mount point would be another
		 * filesystem's */
		if (m && S_ISBLK(p->st_mode) && !q->hung && !q->stat_err &&
		    q->st_dev != p->st_rdev) {
			box_warn("cannot access '%s': over-mounted by another device", paths[i]);
			raise_status(ST_UNKNOWN);
			continue;
		}
		if (m && !wanted(m, 1))
			continue;
		size_t before = nrows;
		get_dev(m, m ? m->dev : "-", m ? m->dir : "-", q, 1, 0, NULL);
		if (nrows > before)
			rows[nrows - 1].file = paths[i];
	}
	for (size_t i = 0; canon && i < n; i++)
		free(canon[i]);
	free(canon);
	free(match);
}

/* ---- the mail ------------------------------------------------------------------ */

static void mail_warn(void *ctx, const char *msg)
{
	(void)ctx;
	box_warn("mail: %s", msg);
}

/* 0 delivered, -1 not delivered to everyone (each reason printed). */
static int send_mail(const char *body)
{
	struct utsname u;
	const char *host = uname(&u) == 0 ? u.nodename : "localhost";
	char *from = NULL, *subject = NULL, err[1200];

	if (!o.mail_from) {
		/* cron sets LOGNAME; no passwd lookup keeps the binary small */
		const char *user = getenv("LOGNAME");
		if (!user || !*user)
			user = getenv("USER");
		if (!user || !*user)
			user = getuid() == 0 ? "root" : "diskreport";
		from = box_xasprintf("%s@%s", user, host);
	}
	if (!o.subject)
		/* a mount that failed is named even when a worse status hides
		 * it in the exit code */
		subject = box_xasprintf(worst != ST_UNKNOWN && failures ?
			"Disk usage on %s: %s, %d UNKNOWN" : "Disk usage on %s: %s", host,
			status_name[worst], failures);
	struct box_mail m = {
		.server = o.smtp, .timeout = o.smtp_timeout, .helo = host,
		.from = from ? from : o.mail_from, .to = o.mail_to, .nto = o.nmail_to,
		.subject = subject ? subject : o.subject, .body = body, .warn = mail_warn,
		.retries = o.smtp_retries, .retry_delay = o.smtp_retry_delay,
		.tls = o.smtp_tls, .tls_helper = o.smtp_tls_helper,
		.auth_user = o.smtp_user, .auth_pass = o.smtp_pass,
	};
	int r = box_smtp_send(&m, err, sizeof(err));
	if (r < 0)
		box_warn("mail: %s", err);
	free(from);
	free(subject);
	return r != 0 ? -1 : 0;
}

/* Whether the status asks for a mail under --mail-if. */
static int mail_wanted(void)
{
	if (o.mail_if < 0)
		return 1;
	if (o.mail_if == ST_WARN)
		return worst != ST_OK;
	return worst == ST_CRIT || worst == ST_UNKNOWN;
}

static int diskreport_main(int argc, char **argv)
{
	struct box_getopt g;
	struct mount *ms = NULL;
	size_t nms = 0;

	size_t npaths = parse_options(argc, argv, &g);
	if (o.smtp_auth_file) {
		/* before the report: a secret that cannot be used is a setup
		 * error to fix, not a mail that fails every night */
		char err[600];
		if (box_smtp_read_auth(o.smtp_auth_file, &o.smtp_user, &o.smtp_pass, err,
			sizeof(err)) < 0)
			box_fatal("--smtp-auth-file %s", err);
	}
	read_mounts(&ms, &nms);
	if (npaths)
		report_paths(ms, nms, argv + 1, npaths);
	else
		report_all(ms, nms);
	if (!nrows && worst == ST_OK) {
		box_warn("no file systems processed");
		worst = ST_UNKNOWN;
	}
	if (o.total && nrows)
		add_total_row();

	struct box_buf out = { 0 };
	int tty = isatty(1);
	int code = worst;
	if (o.nagios)
		code = format_nagios(&out);
	else
		format_report(&out, tty);
	/* a report that did not reach its reader is a failed check */
	if (box_write_all(1, out.p, out.len) < 0) {
		box_warn_errno("unable to write the report");
		code = ST_UNKNOWN;
	}

	if (o.nmail_to && mail_wanted()) {
		/* the mail has the report as it reads off a terminal */
		struct box_buf body = { 0 };
		if (tty)
			format_report(&body, 0);
		const char *text = tty ? body.p : out.p;
		if (send_mail(text ? text : "") < 0)
			code = MAIL_FAILED;
		box_buf_free(&body);
	}
	box_buf_free(&out);
	return code;
}

const struct applet applet_diskreport = {
	"diskreport", diskreport_main, usage, help, ST_UNKNOWN, ST_UNKNOWN,
};

