/* sweep's TCP probe (-p PORT): a non-blocking connect per host, as many
 * at once as descriptors allow; a host that accepts or refuses is up. It
 * needs no privilege. */
#include "sweep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

/* -c over TCP: one connect per host at a time, the next one a period
 * after the last started. */
void tcp_schedule_next(struct sweep *S, uint32_t idx, int64_t now)
{
	struct target *t = &S->t[idx];
	if (S->count && S->port && t->tries < S->count && t->state == T_PENDING) {
		int64_t when = t->tcp_sent + S->period;
		heap_push(&S->laterq, (struct event){ when > now ? when : now, idx, 0 });
	}
}

void tcp_close(struct sweep *S, uint32_t idx)
{
	struct target *t = &S->t[idx];
	struct linger lg = { 1, 0 };

	if (t->tcp_fd < 0)
		return;
	/* a reset, not a FIN: no TIME_WAIT left behind for every host */
	setsockopt(t->tcp_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(t->tcp_fd);
	t->tcp_fd = -1;
	if (t->tcp_slot < S->ninflight && S->inflight[t->tcp_slot] == idx) {
		uint32_t last = S->inflight[--S->ninflight];
		S->inflight[t->tcp_slot] = last;
		S->t[last].tcp_slot = t->tcp_slot;
	}
}

static void tcp_finish(struct sweep *S, uint32_t idx, int err, int64_t now)
{
	struct target *t = &S->t[idx];
	uint32_t probe = t->tcp_probe;

	tcp_close(S, idx);
	if (!err || err == ECONNREFUSED)
		sweep_probe_answered(S, idx, probe, now - t->tcp_sent);
	else
		sweep_probe_lost(S, idx, probe, now, 0);
	tcp_schedule_next(S, idx, now);
}

socklen_t sweep_sockaddr(const struct target *t, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (t->family) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, t->addr, 16);
		s6->sin6_scope_id = t->scope;
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	memcpy(&s4->sin_addr, t->addr, 4);
	return sizeof(*s4);
}

/* Returns 0 when out of descriptors for now (try again later). */
int tcp_send(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now)
{
	struct target *t = &S->t[idx];
	struct sockaddr_storage ss;
	socklen_t len = sweep_sockaddr(t, S->port, &ss);

	int fd = socket(t->family ? AF_INET6 : AF_INET,
		SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		/* out of descriptors: wait for a connect in flight to free one;
		 * with none in flight nothing ever will */
		if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
		    S->ninflight)
			return 0;
		box_fatal_errno("unable to open a TCP socket");
	}
	t->tcp_fd = fd;
	t->tcp_done = 0;
	t->tcp_probe = probe;
	t->tcp_sent = now;
	t->tcp_slot = S->ninflight;
	S->inflight[S->ninflight++] = idx;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		tcp_finish(S, idx, 0, box_now_ns());
	else if (errno != EINPROGRESS)
		tcp_finish(S, idx, errno, box_now_ns());
	return 1;
}

static void tcp_ready(struct sweep *S, uint32_t idx)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(S->t[idx].tcp_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	tcp_finish(S, idx, err, box_now_ns());
}

/* A connect that finished is only marked during the turn: finishing it
 * closes its fd and moves the last slot into its place. */
static void tcp_mark(void *ctx, int fd, short revents)
{
	struct target *t = ctx;

	(void)fd, (void)revents;
	t->tcp_done = 1;
}

void tcp_wait(struct sweep *S)
{
	for (uint32_t i = 0; i < S->ninflight; i++) {
		struct target *t = &S->t[S->inflight[i]];
		box_loop_fd(&S->loop, t->tcp_fd, POLLOUT, tcp_mark, t);
	}
}

void tcp_finish_marked(struct sweep *S)
{
	/* backwards: finishing slot s moves the last slot into s, and every
	 * slot above s is done already */
	for (uint32_t i = S->ninflight; i-- > 0; )
		if (S->t[S->inflight[i]].tcp_done)
			tcp_ready(S, S->inflight[i]);
}
