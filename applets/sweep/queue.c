/* sweep's event queues: a ring for events that arrive in time order (the
 * send queue, one wait queue per timeout) and a min-heap for -c probes
 * scheduled at varying times. */
#include "sweep.h"

#include <stdlib.h>

void fifo_push(struct fifo *q, struct event e)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		struct event *v = box_xmalloc(cap * sizeof(*v));
		for (size_t i = 0; i < q->len; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v, q->cap = cap, q->head = 0;
	}
	q->v[(q->head + q->len++) % q->cap] = e;
}

struct event *fifo_peek(struct fifo *q)
{
	return q->len ? &q->v[q->head] : NULL;
}

struct event *fifo_at(struct fifo *q, size_t i)
{
	return &q->v[(q->head + i) % q->cap];
}

void fifo_pop(struct fifo *q)
{
	q->head = (q->head + 1) % q->cap;
	q->len--;
}

void heap_push(struct heap *h, struct event e)
{
	h->v = box_grow(h->v, &h->cap, h->len + 1, sizeof(*h->v));
	size_t i = h->len++;
	while (i && h->v[(i - 1) / 2].when > e.when) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = e;
}

struct event heap_pop(struct heap *h)
{
	struct event top = h->v[0], last = h->v[--h->len];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->len)
			break;
		if (c + 1 < h->len && h->v[c + 1].when < h->v[c].when)
			c++;
		if (last.when <= h->v[c].when)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->len)
		h->v[i] = last;
	return top;
}
