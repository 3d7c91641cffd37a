/* dirsync's report of what it changes: one rsync-style line per change
 * with -i ("YXcstpoguax name"), the name alone with -v; and names made
 * safe for messages. */
#include "dirsync.h"

#include <stdint.h>
#include <string.h>

/* The columns of the code, by enum ds_update, enum ds_kind and bit. */
static const char update_letter[] = ".>c*";
static const char kind_letter[] = "fdLSD";
static const char changed_letter[] = "  cstpoguax";
enum { CODE_COLUMNS = 11 };

/* ---- escaping ------------------------------------------------------------ */

/* rsync prints every line through iconv from the locale's charset to
 * itself (log.c, rwrite): a byte that starts no valid character is
 * printed as \#ooo and the conversion resumes at the next byte. What
 * converts goes out in chunks of at most 1023 bytes, in which
 * filtered_fwrite() escapes the bytes below 32 but tab, and a backslash
 * that starts "\#" and three digits, so that a name holding that text
 * reads apart from an escaped one -- only when all five bytes are in the
 * same chunk, which ESC_RSYNC reproduces. dirsync has no locales and
 * prints as rsync does under a UTF-8 one.
 *
 * ESC_MESSAGE, for names in messages, has no chunks, and escapes tab, DEL
 * and the C1 controls (U+0080 to U+009F) as well: no control character
 * of a name reaches a terminal or a log raw. */
enum esc_mode { ESC_RSYNC, ESC_MESSAGE };
enum { ICONV_CHUNK = 1023 };

/* The length of the character at s as glibc's UTF-8 to UTF-8 conversion
 * takes it, 0 when s starts none: the original UTF-8 of up to six bytes
 * (U+7FFFFFFF), in its shortest form, no surrogate. s is NUL-terminated. */
static size_t utf8_char(const unsigned char *s)
{
	static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000 };
	size_t len = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 :
		s[0] < 0xf8 ? 4 : s[0] < 0xfc ? 5 : s[0] < 0xfe ? 6 : 0;
	uint32_t c = s[0] & (0x7fu >> len);

	if (len < 2)
		return len;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < least[len] || (c >= 0xd800 && c < 0xe000))
		return 0;
	return len;
}

static void add_octal(struct box_buf *b, unsigned char c)
{
	char e[5] = { '\\', '#', (char)('0' + (c >> 6)), (char)('0' + (c >> 3 & 7)),
		(char)('0' + (c & 7)) };
	box_buf_add(b, e, sizeof e);
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One converted chunk: whole valid characters. */
static void add_chunk(struct box_buf *b, const unsigned char *s, size_t n, enum esc_mode mode)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		int control = c < 32 && (c != '\t' || mode == ESC_MESSAGE);
		int escaped_text = i + 4 < n && c == '\\' && s[i + 1] == '#' &&
			is_digit((char)s[i + 2]) && is_digit((char)s[i + 3]) && is_digit((char)s[i + 4]);

		if (mode == ESC_MESSAGE && (c == 0x7f || (c == 0xc2 && s[i + 1] < 0xa0))) {
			add_octal(b, c);
			if (c == 0xc2)
				add_octal(b, s[++i]);
		} else if (control || escaped_text) {
			add_octal(b, c);
		} else {
			box_buf_addc(b, (char)c);
		}
	}
}

/* Appends the NUL-terminated s to b, escaped. */
static void add_escaped(struct box_buf *b, const char *str, enum esc_mode mode)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t chunk = mode == ESC_RSYNC ? ICONV_CHUNK : SIZE_MAX;

	while (*s) {
		size_t n = 0, len;
		while (s[n] && (len = utf8_char(s + n)) && n + len <= chunk)
			n += len;
		add_chunk(b, s, n, mode);
		s += n;
		if (*s && !utf8_char(s))
			add_octal(b, *s++);
	}
}

/* A ring, so that one message can hold several escaped names. */
enum { ESC_RING = 4 };

const char *ds_esc(const char *name)
{
	static struct box_buf ring[ESC_RING];
	static unsigned next;
	struct box_buf *b = &ring[next++ % ESC_RING];

	b->len = 0;
	add_escaped(b, name, ESC_MESSAGE);
	return b->len == strlen(name) ? name : b->p;
}

/* ---- the lines ----------------------------------------------------------- */

void ds_out_flush(struct ds *d)
{
	if (d->out.len)
		box_write_all(1, d->out.p, d->out.len);
	d->out.len = 0;
}

/* rsync's %i. A hard link is a local change naming its group's entry
 * ('h' for 'c'). A new entry's columns are all '+'; those of an entry not
 * transferred whose attributes all agree are blank; a symlink has no
 * size. */
static void add_code(struct box_buf *b, enum ds_update u, int hlink, enum ds_kind k,
	unsigned changed)
{
	char code[CODE_COLUMNS + 1] = "*deleting  ";
	int same = 1;

	if (u != UPDATE_DELETE) {
		code[0] = hlink ? 'h' : update_letter[u];
		code[1] = kind_letter[k];
		if (k == KIND_LINK)
			changed &= ~(unsigned)CHANGED_SIZE;
		for (int i = 2; i < CODE_COLUMNS; i++) {
			code[i] = changed & CHANGED_NEW ? '+' :
				changed & (1u << i) ? changed_letter[i] : '.';
			same &= code[i] == '.';
		}
		if (same && u != UPDATE_SEND)
			memset(code + 2, ' ', CODE_COLUMNS - 2);
	}
	box_buf_adds(b, code);
	box_buf_addc(b, ' ');
}

/* One line, escaped as a whole: rsync's chunks count from its start. */
static void out_line(struct ds *d, struct box_buf *line)
{
	add_escaped(&d->out, line->p, ESC_RSYNC);
	box_buf_addc(&d->out, '\n');
	line->len = 0;
}

/* rsync's line when it creates DST, named without trailing slashes. */
static void add_dst_created(struct box_buf *b, const char *dst)
{
	size_t n = strlen(dst);

	while (n > 1 && dst[n - 1] == '/')
		n--;
	box_buf_adds(b, "created directory ");
	box_buf_add(b, dst, n);
}

static void report(struct ds *d, enum ds_update u, int hlink, enum ds_kind k,
	unsigned changed, const char *rel, const char *target)
{
	static struct box_buf line;

	d->changes++;
	if (!d->itemize && !d->verbose)
		return;
	if (u == UPDATE_CREATE && !*rel) {
		add_dst_created(&line, d->dst);
		out_line(d, &line);
	}
	if (d->itemize)
		add_code(&line, u, hlink, k, changed);
	else if (u == UPDATE_DELETE)
		box_buf_adds(&line, "deleting ");
	box_buf_adds(&line, *rel ? rel : ".");
	if (k == KIND_DIR)
		box_buf_addc(&line, '/');
	if (target) {
		box_buf_adds(&line, hlink ? " => " : " -> ");
		box_buf_adds(&line, target);
	}
	out_line(d, &line);
	if (d->out.len > 65536)
		ds_out_flush(d);
}

void ds_report(struct ds *d, enum ds_update u, enum ds_kind k, unsigned changed,
	const char *rel, const char *target)
{
	report(d, u, 0, k, changed, rel, target);
}

void ds_report_hlink(struct ds *d, enum ds_kind k, unsigned changed, const char *rel,
	const char *first)
{
	report(d, UPDATE_CREATE, 1, k, changed, rel, *first ? first : NULL);
}

/* Which of SRC's attributes DST's entry lacks. */
unsigned ds_attr_changes(const struct ds *d, const struct stat *src, const struct stat *dst)
{
	unsigned changed = 0;

	if (ds_times_differ(d, &src->st_mtim, &dst->st_mtim))
		changed |= CHANGED_TIME;
	if (!S_ISLNK(src->st_mode) && (src->st_mode & 07777) != (dst->st_mode & 07777))
		changed |= CHANGED_PERMS;
	if (d->root && src->st_uid != dst->st_uid)
		changed |= CHANGED_OWNER;
	if (d->root && src->st_gid != dst->st_gid)
		changed |= CHANGED_GROUP;
	return changed;
}
