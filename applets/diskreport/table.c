/* diskreport's rows and output: df's numbers exactly as df prints them,
 * each row's status against the thresholds, and the table, JSON and CSV. */
#include "diskreport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row *rows;
size_t nrows;
static size_t rows_cap;
int worst = ST_OK;

/* The table's columns; the numbers are picked by them too. */
enum { C_SOURCE, C_TYPE, C_SIZE, C_USED, C_AVAIL, C_PCENT, C_BAR, C_STATUS, C_FILE, C_TARGET,
	NCOL };

/* ---- numbers exactly as df prints them ----------------------------------- */

static int known(uint64_t n)
{
	return n < UINT64_MAX - 1;
}

/* gnulib's human_readable() with the options df uses: round up, and
 * with autoscale one decimal below 10 ("4.0K", "9.9G", "10G"). */
static char *human(char *end, uint64_t n, uint64_t from, uint64_t to, int base)
{
	static const char letters[] = "\0KMGTPEZYRQ";
	unsigned __int128 big = (unsigned __int128)n * from, amt = big / to;
	unsigned r10 = (unsigned)((big % to) * 10 / to);
	uint64_t rem2 = (uint64_t)((big % to) * 10 % to) * 2;
	int tenths = (int)r10, rounding = rem2 < to ? rem2 > 0 : 2 + (to < rem2);
	int exponent = 0;
	char *p = end;

	*p = 0;
	if (base && (unsigned)base <= amt) {
		do {
			unsigned r = (unsigned)(amt % (unsigned)base) * 10 + (unsigned)tenths;
			unsigned r2 = (r % (unsigned)base) * 2 + (unsigned)(rounding >> 1);
			amt /= (unsigned)base;
			tenths = (int)(r / (unsigned)base);
			rounding = r2 < (unsigned)base ? (r2 + (unsigned)rounding) != 0
				: 2 + ((unsigned)base < r2 + (unsigned)rounding);
			exponent++;
		} while ((unsigned)base <= amt && exponent < 10);
		if (amt < 10) {
			if (rounding > 0) {
				tenths++;
				rounding = 0;
				if (tenths == 10) {
					amt++;
					tenths = 0;
				}
			}
			if (amt < 10) {
				*--p = (char)('0' + tenths);
				*--p = '.';
				tenths = rounding = 0;
			}
		}
	}
	if (tenths + rounding > 0) {
		amt++;
		if (base && amt == (unsigned)base && exponent < 10) {
			exponent++;
			*--p = '0';
			*--p = '.';
			amt = 1;
		}
	}
	do
		*--p = (char)('0' + (int)(amt % 10));
	while ((amt /= 10) != 0);
	if (exponent) {
		end[0] = base == 1000 && exponent == 1 ? 'k' : letters[exponent];
		end[1] = 0;
	}
	return p;
}

struct values {
	uint64_t in_units, out_units, total, avail, used;
	int neg_avail, neg_used;
};

static void get_values(const struct fsu *f, int inodes, struct values *v)
{
	if (inodes) {
		v->in_units = v->out_units = 1;
		v->total = f->files;
		v->avail = f->ffree;
		v->neg_avail = 0;
		v->used = UINT64_MAX;
		v->neg_used = 0;
		if (known(f->files) && known(f->ffree)) {
			v->used = f->files - f->ffree;
			v->neg_used = f->files < f->ffree;
		}
		return;
	}
	v->in_units = f->bsize;
	v->out_units = o.base ? 1 : o.block;
	v->total = f->blocks;
	v->avail = f->bavail;
	v->neg_avail = f->bavail_neg && known(f->bavail);
	v->used = UINT64_MAX;
	v->neg_used = 0;
	if (known(f->blocks) && known(f->bfree)) {
		v->used = f->blocks - f->bfree;
		v->neg_used = f->blocks < f->bfree;
	}
}

/* The size, used or available amount of a row's values (by column). */
static uint64_t value_of(const struct values *v, int column, int *negative)
{
	switch (column) {
	case C_SIZE: *negative = 0; return v->total;
	case C_USED: *negative = v->neg_used; return v->used;
	default: *negative = v->neg_avail; return v->avail;
	}
}

double df_round_up(double pct)
{
	long ip = (long)pct;
	double d = (double)ip;
	return d - 1 < pct && pct <= d + 1 ? d + (d < pct) : pct;
}

double df_percent(uint64_t v, uint64_t t)
{
	if (!t)
		return -1;
	if (v <= UINT64_MAX / 100)
		return (double)(v * 100 / t + (v * 100 % t != 0));
	return df_round_up((double)v * 100 / (double)t);
}

/* Use% as df computes it: used / (used + available), rounded up; in
 * doubles when either is negative (root's reserve exceeded). */
static int percent(const struct values *v)
{
	if (!known(v->used) || !known(v->avail))
		return -1;
	if (!v->neg_used && v->used <= UINT64_MAX / 100 && v->used + v->avail != 0 &&
	    (v->used + v->avail < v->used) == v->neg_avail)
		return (int)df_percent(v->used, v->used + v->avail);
	double u = v->neg_used ? -(double)-v->used : (double)v->used;
	double a = v->neg_avail ? -(double)-v->avail : (double)v->avail;
	double total = u + a;
	if (!total)
		return -1;
	return (int)df_round_up(u * 100 / total);
}

static const char *readable(char *buf, size_t size, int negative, uint64_t n,
			    const struct values *v)
{
	if (!known(n) && !negative)
		return "-";
	char *p = human(buf + size - 3, negative ? -n : n, v->in_units, v->out_units, o.base);
	if (negative)
		*--p = '-';
	return p;
}

/* ---- rows ------------------------------------------------------------------ */

static int severity(int st)
{
	/* Nagios order: CRITICAL > WARNING > UNKNOWN > OK */
	static const int rank[] = { 0, 2, 3, 1 };
	return rank[st];
}

int failures;

void raise_status(int st)
{
	failures += st == ST_UNKNOWN;
	if (severity(st) > severity(worst))
		worst = st;
}

/* The rule of a kind for a row: one for its mount point, else
 * one for its type, else one for all rows; the last given of a scope. */
const struct rule *rule_for(const struct row *r, int kind)
{
	const struct rule *best = NULL;
	int best_rank = -1;
	for (size_t i = 0; i < o.nrules; i++) {
		const struct rule *u = &o.rules[i];
		int rank = u->path ? 2 : u->type ? 1 : 0;
		if (u->kind != kind || rank < best_rank ||
		    (u->path && strcmp(u->path, r->dir)) ||
		    (u->type && strcmp(u->type, r->type)))
			continue;
		best = u;
		best_rank = rank;
	}
	return best;
}

/* Whether a row's space (or inodes) reached the rule. */
static int reached(const struct rule *u, const struct row *r, int pct, int inodes)
{
	if (!u || pct < 0)
		return 0;
	if (u->pct)
		return u->free ? 100 - pct <= (int)u->v : pct >= (int)u->v;
	struct values v;
	get_values(&r->fsu, inodes, &v);
	unsigned __int128 unit = v.in_units;
	if (u->free)
		return v.neg_avail || v.avail * unit <= u->v;
	return !v.neg_used && v.used * unit >= u->v;
}

static int level_for(const struct row *r, int kind, int pct, int inodes)
{
	if (reached(rule_for(r, kind + 1), r, pct, inodes))
		return ST_CRIT;
	if (reached(rule_for(r, kind), r, pct, inodes))
		return ST_WARN;
	return ST_OK;
}

void add_row(const char *dev, const char *type, const char *dir, const struct probe *p,
	int unknown_values)
{
	struct row *r = BOX_PUSH(rows, nrows, rows_cap);
	struct values v;

	memset(r, 0, sizeof(*r));
	r->dev = dev;
	r->type = unknown_values ? "-" : type;
	r->dir = dir;
	r->pct = r->ipct = -1;
	r->hung = p->hung;
	r->unknown_values = unknown_values || p->hung;
	if (r->unknown_values) {
		r->fsu.bsize = r->fsu.blocks = r->fsu.bfree = r->fsu.bavail = UINT64_MAX;
		r->fsu.files = r->fsu.ffree = UINT64_MAX;
		r->level = p->hung ? ST_UNKNOWN : ST_OK;
		raise_status(r->level);
		return;
	}
	r->fsu = p->fsu;
	get_values(&r->fsu, 0, &v);
	r->pct = percent(&v);
	get_values(&r->fsu, 1, &v);
	r->ipct = percent(&v);
	r->level = level_for(r, L_WARN, r->pct, 0);
	int il = level_for(r, L_IWARN, r->ipct, 1);
	if (severity(il) > severity(r->level))
		r->level = il;
	raise_status(r->level);
}

static const char *row_status(const struct row *r)
{
	if (r->is_total)
		return "-";
	return status_name[r->hung ? ST_UNKNOWN : r->level];
}

/* Sums in bytes (inodes as they are), as df's grand total: a negative
 * available amount (root's reserve exceeded) counts as negative. */
void add_total_row(void)
{
	unsigned __int128 blocks = 0, bfree = 0, files = 0, ffree = 0;
	__int128 bavail = 0;
	size_t n = nrows;

	for (size_t i = 0; i < n; i++) {
		const struct fsu *f = &rows[i].fsu;
		if (rows[i].unknown_values)
			continue;
		if (known(f->blocks) && known(f->bfree) && known(f->bavail)) {
			blocks += (unsigned __int128)f->blocks * f->bsize;
			bfree += (unsigned __int128)f->bfree * f->bsize;
			bavail += (f->bavail_neg ? -(__int128)(uint64_t)-f->bavail : (__int128)f->bavail) *
				(__int128)f->bsize;
		}
		if (known(f->files) && known(f->ffree)) {
			files += f->files;
			ffree += f->ffree;
		}
	}
	struct row *r = BOX_PUSH(rows, nrows, rows_cap);
	struct values v;
	uint64_t cap = UINT64_MAX - 2;

	memset(r, 0, sizeof(*r));
	r->dev = "total";
	r->type = "-";
	r->dir = "-";
	r->is_total = 1;
	r->fsu.bsize = 1;
	r->fsu.blocks = blocks > cap ? cap : (uint64_t)blocks;
	r->fsu.bfree = bfree > cap ? cap : (uint64_t)bfree;
	r->fsu.bavail_neg = bavail < 0;
	r->fsu.bavail = bavail < 0 ? (uint64_t)bavail : (unsigned __int128)bavail > cap ? cap :
		(uint64_t)bavail;
	r->fsu.files = files > cap ? cap : (uint64_t)files;
	r->fsu.ffree = ffree > cap ? cap : (uint64_t)ffree;
	get_values(&r->fsu, 0, &v);
	r->pct = percent(&v);
	get_values(&r->fsu, 1, &v);
	r->ipct = percent(&v);
	r->level = ST_OK;
}

/* df's "1K-blocks" header: the block size autoscaled in the base that
 * shows it exactly (1000 when it is a multiple of 1000 further than of
 * 1024), with a B after an SI prefix or a plain number. */
static char *block_header(void)
{
	char buf[64], *num;
	uint64_t q1000 = o.block, q1024 = o.block;
	int by1000, by1024;

	if (o.posix)
		return box_xasprintf("%llu-blocks", (unsigned long long)o.block);
	if (o.block_unit[0])
		return box_xasprintf("1%s-blocks", o.block_unit);
	do {
		by1000 = q1000 % 1000 == 0;
		q1000 /= 1000;
		by1024 = q1024 % 1024 == 0;
		q1024 /= 1024;
	} while (by1000 && by1024);
	num = human(buf + sizeof(buf) - 4, o.block, 1, 1, by1000 ? 1000 : 1024);
	/* df suppresses ".0" */
	char *dot = strstr(num, ".0");
	if (dot)
		memmove(dot, dot + 2, strlen(dot + 2) + 1);
	return box_xasprintf("%s%s-blocks", !strcmp(num, "1k") ? "1k" : num, by1024 ? "" : "B");
}

/* ---- output ------------------------------------------------------------------ */

#define BAR_WIDTH 20

static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Control characters (a newline in a mount point) would break the table. */
static char *cell_text(const char *s)
{
	char *c = box_xstrdup(s);
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

static char *number_cell(const struct row *r, int column, int inodes)
{
	char buf[64];
	struct values v;
	int neg;

	get_values(&r->fsu, inodes, &v);
	uint64_t n = value_of(&v, column, &neg);
	const char *t = readable(buf, sizeof(buf), neg, n, &v);
	if (!inodes && !o.base && o.block_unit[0] && strcmp(t, "-"))
		return box_xasprintf("%s%s", t, o.block_unit);
	return box_xstrdup(t);
}

static char *bar_cell(int pct)
{
	char bar[BAR_WIDTH + 3];
	int fill = pct < 0 ? 0 : (pct > 100 ? 100 : pct) * BAR_WIDTH / 100;

	bar[0] = '[';
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i + 1] = pct < 0 ? ' ' : i < fill ? '#' : '.';
	bar[BAR_WIDTH + 1] = ']';
	bar[BAR_WIDTH + 2] = 0;
	return box_xstrdup(bar);
}

static int has_thresholds(void)
{
	return o.nrules != 0;
}

/* --output's fields, in df's order and with df's names. */
static const struct {
	const char *name;
	int column, inodes;
} fields[] = {
	{ "source", C_SOURCE, 0 }, { "fstype", C_TYPE, 0 }, { "itotal", C_SIZE, 1 },
	{ "iused", C_USED, 1 }, { "iavail", C_AVAIL, 1 }, { "ipcent", C_PCENT, 1 },
	{ "size", C_SIZE, 0 }, { "used", C_USED, 0 }, { "avail", C_AVAIL, 0 },
	{ "pcent", C_PCENT, 0 }, { "file", C_FILE, 0 }, { "target", C_TARGET, 0 },
};

int output_fields(const char *list, int *cols, int max)
{
	int n = 0;

	if (!list) {
		for (size_t k = 0; k < BOX_ARRAY_LEN(fields) && n < max; k++)
			cols[n++] = (int)k;
		return n;
	}
	for (const char *f = list; *f;) {
		size_t len = strcspn(f, ",");
		size_t k;
		for (k = 0; k < BOX_ARRAY_LEN(fields); k++)
			if (strlen(fields[k].name) == len && !strncmp(fields[k].name, f, len))
				break;
		if (k == BOX_ARRAY_LEN(fields))
			box_usage("option --output: field '%.*s' unknown", (int)len, f);
		for (int i = 0; i < n; i++)
			if (cols[i] == (int)k)
				box_usage("option --output: field '%.*s' used more than once", (int)len, f);
		if (n < max)
			cols[n++] = (int)k;
		f += len;
		if (*f == ',')
			f++;
	}
	return n;
}

struct col {
	int column, inodes;
};

static char *header_cell(const struct col *c)
{
	static const char *const heads[NCOL] = { "Filesystem", "Type", "Size", "Used",
		"Avail", "Use%", "Usage", "Status", "File", "Mounted on" };
	if (c->inodes && c->column >= C_SIZE && c->column <= C_PCENT)
		return box_xstrdup((const char *[]){ "Inodes", "IUsed", "IFree", "IUse%" }
			[c->column - C_SIZE]);
	if (!o.base && c->column == C_SIZE)
		return block_header();
	if (!o.base && !o.output && c->column == C_AVAIL)
		return box_xstrdup("Available");
	if (!o.base && o.posix && c->column == C_PCENT)
		return box_xstrdup("Capacity");
	return box_xstrdup(heads[c->column]);
}

static char *row_cell(const struct row *r, const struct col *c)
{
	int pct = c->inodes ? r->ipct : r->pct;

	switch (c->column) {
	case C_SOURCE: return cell_text(r->dev);
	case C_TYPE: return cell_text(r->type);
	case C_PCENT: return pct < 0 ? box_xstrdup("-") : box_xasprintf("%d%%", pct);
	case C_BAR: return bar_cell(pct);
	case C_STATUS: return box_xstrdup(row_status(r));
	case C_FILE: return cell_text(r->file ? r->file : "-");
	case C_TARGET: return cell_text(r->dir);
	default: return number_cell(r, c->column, c->inodes);
	}
}

static void format_table(struct box_buf *out, int bar, int color)
{
	static const size_t min_width[NCOL] = { 14, 4, 5, 5, 5, 4, 0, 0, 0, 0 };
	struct col cols[NCOL + BOX_ARRAY_LEN(fields)];
	int ncols = 0;

	if (o.output) {
		int f[BOX_ARRAY_LEN(fields)];
		int n = output_fields(o.output_list, f, (int)BOX_ARRAY_LEN(f));
		for (int k = 0; k < n; k++)
			cols[ncols++] = (struct col){ fields[f[k]].column, fields[f[k]].inodes };
	} else {
		int use[NCOL] = { 1, o.print_type, 1, 1, 1, 1, bar, has_thresholds(), 0, 1 };
		for (int c = 0; c < NCOL; c++)
			if (use[c])
				cols[ncols++] = (struct col){ c, o.inodes };
	}
	char ***cells = box_xcalloc(nrows + 1, sizeof(*cells));
	size_t width[BOX_ARRAY_LEN(cols)];

	for (int k = 0; k < ncols; k++)
		width[k] = min_width[cols[k].column];
	for (size_t i = 0; i <= nrows; i++) {
		cells[i] = box_xcalloc((size_t)ncols, sizeof(**cells));
		for (int k = 0; k < ncols; k++) {
			cells[i][k] = i ? row_cell(&rows[i - 1], &cols[k]) : header_cell(&cols[k]);
			size_t w = text_width(cells[i][k]);
			if (w > width[k])
				width[k] = w;
		}
	}
	for (size_t i = 0; i <= nrows; i++) {
		for (int k = 0; k < ncols; k++) {
			int c = cols[k].column;
			const char *s = cells[i][k];
			size_t fill = width[k] - text_width(s);
			int right = c >= C_SIZE && c <= C_PCENT;
			if (k)
				box_buf_addc(out, ' ');
			for (; right && fill; fill--)
				box_buf_addc(out, ' ');
			const char *sgr = NULL;
			if (color && i > 0 && (c == C_BAR || c == C_STATUS)) {
				static const char *const colors[] = { "32", "33", "31", "35" };
				const struct row *r = &rows[i - 1];
				int lvl = r->level;
				int pct = o.inodes ? r->ipct : r->pct;
				if (!has_thresholds() && !r->hung)   /* a hint without thresholds */
					lvl = pct >= 90 ? ST_CRIT : pct >= 80 ? ST_WARN : ST_OK;
				sgr = colors[r->hung ? ST_UNKNOWN : lvl];
			}
			if (sgr)
				box_buf_printf(out, "\033[%sm%s\033[0m", sgr, s);
			else
				box_buf_adds(out, s);
			if (k < ncols - 1)
				for (; fill; fill--)
					box_buf_addc(out, ' ');
			free(cells[i][k]);
		}
		box_buf_addc(out, '\n');
		free(cells[i]);
	}
	free(cells);
}

/* The machine-readable numbers: sizes in bytes, and percentages. */
static const struct {
	const char *key;
	int inodes, column;
} machine_cols[] = {
	{ "size", 0, C_SIZE }, { "used", 0, C_USED }, { "avail", 0, C_AVAIL },
	{ "use_percent", 0, C_PCENT }, { "inodes", 1, C_SIZE }, { "iused", 1, C_USED },
	{ "ifree", 1, C_AVAIL }, { "iuse_percent", 1, C_PCENT },
};

/* The number of machine_cols[k] as text, or NULL when unknown. */
static const char *machine_number(char buf[48], const struct row *r, size_t k)
{
	int inodes = machine_cols[k].inodes, column = machine_cols[k].column, neg;
	struct values v;

	if (column == C_PCENT) {
		int pct = inodes ? r->ipct : r->pct;
		if (pct < 0)
			return NULL;
		snprintf(buf, 48, "%d", pct);
		return buf;
	}
	get_values(&r->fsu, inodes, &v);
	uint64_t n = value_of(&v, column, &neg);
	if (r->unknown_values || (!known(n) && !neg))
		return NULL;
	unsigned __int128 bytes = (unsigned __int128)(neg ? -n : n) * v.in_units;
	char *p = buf + 47;
	*p = 0;
	do
		*--p = (char)('0' + (int)(bytes % 10));
	while ((bytes /= 10) != 0);
	if (neg)
		*--p = '-';
	return p;
}

/* The row's numbers, null where unknown. */
static void json_numbers(struct box_json *j, const struct row *r)
{
	char buf[48];

	for (size_t k = 0; k < BOX_ARRAY_LEN(machine_cols); k++) {
		const char *n = machine_number(buf, r, k);
		if (n)
			box_json_raw(j, machine_cols[k].key, n);
		else
			box_json_null(j, machine_cols[k].key);
	}
}

/* One line per filesystem: each object goes into the array as "\n{...}";
 * --total's sums as "total" after it. */
static void format_json(struct box_buf *out)
{
	struct box_json j, fs;
	struct box_buf one = { 0 };

	box_json_begin(&j, out);
	box_json_open(&j, "filesystems", '[');
	const struct row *total = NULL;
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		if (r->is_total) {
			total = r;
			continue;
		}
		one.len = 0;
		box_buf_addc(&one, '\n');
		box_json_begin(&fs, &one);
		box_json_s(&fs, "filesystem", r->dev);
		box_json_s(&fs, "type", r->type);
		box_json_s(&fs, "mounted_on", r->dir);
		box_json_b(&fs, "answered", !r->hung);
		json_numbers(&fs, r);
		box_json_s(&fs, "status", row_status(r));
		box_json_end(&fs);
		box_json_raw(&j, NULL, one.p);
	}
	box_buf_addc(out, '\n');
	box_json_close(&j);
	if (total) {
		box_json_open(&j, "total", '{');
		json_numbers(&j, total);
		box_json_close(&j);
	}
	box_json_s(&j, "status", status_name[worst]);
	box_json_i(&j, "exit", worst);
	box_json_end(&j);
	box_buf_addc(out, '\n');
	box_buf_free(&one);
}

static void csv_field(struct box_buf *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		box_buf_adds(out, s);
		return;
	}
	box_buf_addc(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			box_buf_addc(out, '"');
		box_buf_addc(out, *s);
	}
	box_buf_addc(out, '"');
}

/* RFC 4180: a header line, CRLF line ends, fields quoted when needed;
 * --total's row last, as df prints it. */
static void format_csv(struct box_buf *out)
{
	char buf[48];

	box_buf_adds(out, "filesystem,type,mounted_on");
	for (size_t k = 0; k < BOX_ARRAY_LEN(machine_cols); k++)
		box_buf_printf(out, ",%s", machine_cols[k].key);
	box_buf_adds(out, ",status\r\n");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		csv_field(out, r->dev);
		box_buf_addc(out, ',');
		csv_field(out, r->type);
		box_buf_addc(out, ',');
		csv_field(out, r->dir);
		for (size_t k = 0; k < BOX_ARRAY_LEN(machine_cols); k++) {
			const char *n = machine_number(buf, r, k);
			box_buf_printf(out, ",%s", n ? n : "");
		}
		box_buf_printf(out, ",%s\r\n", row_status(r));
	}
}

void format_report(struct box_buf *out, int tty)
{
	if (o.json)
		format_json(out);
	else if (o.csv)
		format_csv(out);
	else if (nrows) {
		const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
		int color = tty && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
		format_table(out, tty, color);
	}
}

