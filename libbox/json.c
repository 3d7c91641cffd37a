/* JSON string literals. */
#include "box.h"

#include <string.h>

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
				box_buf_adds(b, "\\ufffd");
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
