/* Checked allocation and a growable buffer. */
#include "box.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void box_oom(void)
{
	box_fatal("out of memory");
}

void *box_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		box_oom();
	return p;
}

void *box_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		box_oom();
	return p;
}

void *box_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		box_oom();
	return p;
}

char *box_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(box_xmalloc(n), s, n);
}

static void box_buf_grow(struct box_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need < b->len)
		box_oom();
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->p = box_xrealloc(b->p, cap);
	b->cap = cap;
}

void box_buf_add(struct box_buf *b, const void *data, size_t n)
{
	box_buf_grow(b, n);
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
}

void box_buf_adds(struct box_buf *b, const char *s)
{
	box_buf_add(b, s, strlen(s));
}

void box_buf_addc(struct box_buf *b, char c)
{
	box_buf_add(b, &c, 1);
}

static void box_buf_vprintf(struct box_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	box_buf_grow(b, (size_t)n);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void box_buf_printf(struct box_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	box_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void box_buf_free(struct box_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *box_xasprintf(const char *fmt, ...)
{
	struct box_buf b = { 0 };
	va_list ap;
	va_start(ap, fmt);
	box_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (!b.p)
		return box_xstrdup("");
	return b.p;
}

void *box_grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap : 8;
	while (n < need)
		n *= 2;
	if (n > (size_t)-1 / size)
		box_oom();
	*cap = n;
	return box_xrealloc(p, n * size);
}
