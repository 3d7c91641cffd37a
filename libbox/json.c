/* JSON: string literals and a writer for objects and arrays that keeps
 * the commas and the nesting. */
#include "box.h"

#include <string.h>
#include <sys/wait.h>

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t box_utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, min = 0x80, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, min = 0x800, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void box_json_strn(struct box_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	box_buf_addc(b, '"');
	while (p < end) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			box_buf_addc(b, '\\');
			box_buf_addc(b, (char)c);
			p++;
		} else if (c == '\n') {
			box_buf_adds(b, "\\n"), p++;
		} else if (c == '\t') {
			box_buf_adds(b, "\\t"), p++;
		} else if (c == '\r') {
			box_buf_adds(b, "\\r"), p++;
		} else if (c < 0x20 || c == 0x7f) {
			box_buf_printf(b, "\\u%04x", c), p++;
		} else {
			size_t len = box_utf8_len(p, (size_t)(end - p));
			if (!len) {
				/* a byte that is not UTF-8 (a file name in another
				 * encoding) as PEP 383's surrogate escape: reversible,
				 * where U+FFFD would lose it */
				box_buf_printf(b, "\\udc%02x", c);
				p++;
			} else {
				box_buf_add(b, p, len);
				p += len;
			}
		}
	}
	box_buf_addc(b, '"');
}

void box_json_str(struct box_buf *b, const char *s)
{
	box_json_strn(b, s, strlen(s));
}

/* ---- the object writer ---- */

static void box_json_sep(struct box_json *j, const char *key)
{
	unsigned bit = 1u << j->depth;

	if (j->more & bit)
		box_buf_addc(j->b, ',');
	j->more |= bit;
	if (key) {
		box_json_str(j->b, key);
		box_buf_addc(j->b, ':');
	}
}

void box_json_open(struct box_json *j, const char *key, char brace)
{
	box_json_sep(j, key);
	box_buf_addc(j->b, brace);
	j->depth++;
	j->more &= ~(1u << j->depth);
	j->close[j->depth] = brace == '{' ? '}' : ']';
}

void box_json_close(struct box_json *j)
{
	box_buf_addc(j->b, j->close[j->depth]);
	j->depth--;
}

void box_json_begin(struct box_json *j, struct box_buf *b)
{
	*j = (struct box_json){ .b = b };
	box_json_open(j, NULL, '{');
}

void box_json_end(struct box_json *j)
{
	while (j->depth > 0)
		box_json_close(j);
}

void box_json_s(struct box_json *j, const char *key, const char *s)
{
	box_json_sep(j, key);
	if (s)
		box_json_str(j->b, s);
	else
		box_buf_adds(j->b, "null");
}

void box_json_sn(struct box_json *j, const char *key, const char *s, size_t n)
{
	box_json_sep(j, key);
	box_json_strn(j->b, s, n);
}

void box_json_i(struct box_json *j, const char *key, long long v)
{
	box_json_sep(j, key);
	box_buf_printf(j->b, "%lld", v);
}

void box_json_b(struct box_json *j, const char *key, int v)
{
	box_json_raw(j, key, v ? "true" : "false");
}

void box_json_null(struct box_json *j, const char *key)
{
	box_json_raw(j, key, "null");
}

void box_json_raw(struct box_json *j, const char *key, const char *raw)
{
	box_json_sep(j, key);
	box_buf_adds(j->b, raw);
}

void box_json_f(struct box_json *j, const char *key, const char *fmt, double v)
{
	box_json_sep(j, key);
	box_buf_printf(j->b, fmt, v);
}

/* A wait status: "exit" and "signal" (one of them null), the signal's
 * number and whether it dumped core. */
void box_json_status(struct box_json *j, int status)
{
	if (WIFSIGNALED(status)) {
		const char *name = box_signame(WTERMSIG(status));
		box_json_null(j, "exit");
		box_json_sep(j, "signal");
		box_buf_printf(j->b, "\"SIG%s\"", name ? name : "?");
		box_json_i(j, "signum", WTERMSIG(status));
		box_json_b(j, "core_dumped", WCOREDUMP(status) != 0);
	} else {
		box_json_i(j, "exit", WEXITSTATUS(status));
		box_json_null(j, "signal");
		box_json_null(j, "signum");
		box_json_b(j, "core_dumped", 0);
	}
}
