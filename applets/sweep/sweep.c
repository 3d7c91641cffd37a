/* sweep: which hosts are up. An fping replacement: one thread, one poll
 * loop, one ICMP socket per family (an unprivileged ICMP datagram socket
 * when net.ipv4.ping_group_range allows it, a raw socket otherwise), every
 * send paced; optionally MAC addresses of the live hosts on directly
 * connected networks, or a TCP connect probe that needs no privilege. */
#include "../../libbox/box.h"
#include "sweep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage[] =
	"sweep [-asuqjm] [-c N] [-i DUR] [-t DUR] [-r N] [-B F] [-p PORT] "
	"[--period DUR] [--force] [-f FILE] [TARGET...]";

static const char help[] =
	"Find out which hosts are up: ICMP echo (or a TCP connect with -p) to\n"
	"every target, paced, with retries and backoff.\n"
	"\n"
	"  TARGET          an IPv4/IPv6 address, a host name, a CIDR block\n"
	"                  (10.0.1.0/24) or a range (10.0.1.10-20, 10.0.1.10-10.0.2.5)\n"
	"  -f FILE         read targets from FILE ('-' for stdin), blank separated,\n"
	"                  '#' starts a comment\n"
	"  -i DUR          pause between any two sends, retries included (1ms; 0: none)\n"
	"  -t DUR          timeout of the first probe (500ms)\n"
	"  -r N            retries after the first probe (3)\n"
	"  -B F            each retry waits F times longer than the last (1.5)\n"
	"  -c N            send N probes to every host; print min/avg/max and loss\n"
	"  --period DUR    with -c, the time between two probes to one host (1s)\n"
	"  -p PORT         TCP connect probe: a host that accepts or refuses is up\n"
	"  -m              also find the MAC addresses of live hosts on directly\n"
	"                  connected networks (IPv4)\n"
	"  -a              print only the live hosts, bare\n"
	"  -u              print only the unreachable hosts, bare\n"
	"  -s              print in input order (default: as results come)\n"
	"  -j              JSON lines, one per target, then a summary record\n"
	"  -q              quiet: no per-target lines\n"
	"  --force         allow more than 65536 targets\n"
	"\n"
	"Exit status: 0 all alive; 1 some unreachable; 2 a host name did not\n"
	"resolve; 3 bad arguments; 4 a system call failed.\n";

#define SWEEP_TARGET_LIMIT 65536u
#define SWEEP_TARGET_HARD_LIMIT (1u << 20)
#define SWEEP_BURST 64          /* sends between two reads when unpaced */
#define SWEEP_RCVBUF (8 << 20)
/* <linux/icmp.h>: raw IPv4 ICMP socket type filter */
#define SWEEP_ICMP_FILTER 1

enum { T_PENDING, T_ALIVE, T_DOWN };

struct target {
	uint8_t addr[16];
	uint8_t family;          /* 0 IPv4, 1 IPv6 */
	uint8_t state;
	uint8_t queued;          /* waiting in the send queue */
	uint8_t has_mac;
	uint8_t mac[6];
	uint32_t tries;          /* probes sent */
	uint32_t received;       /* -c: replies */
	uint32_t resolved;       /* -c: probes answered or given up */
	int64_t rtt, rtt_min, rtt_max, rtt_sum;
	const char *name;        /* the host name given, if any */
	int tcp_fd;
	uint32_t tcp_slot, tcp_probe;
	int64_t tcp_sent;
};

struct event {
	int64_t when;
	uint32_t idx, probe;
};

/* A ring of events; every queue here receives events in time order. */
struct fifo {
	struct event *v;
	size_t head, len, cap;
};

/* A min-heap on `when`, for -c probes scheduled at varying times. */
struct heap {
	struct event *v;
	size_t len, cap;
};

/* What is echoed back in every ICMP reply. */
struct payload {
	uint64_t tag;            /* random per run */
	uint32_t idx, probe;
	int64_t sent;
};

struct sweep {
	struct target *t;
	uint32_t n;
	/* options */
	int64_t interval, timeout, period;
	double backoff;
	unsigned retries, count;
	int port, show_alive, show_unreach, in_order, quiet, json, want_mac;
	/* engine */
	int64_t *timeouts;       /* per try */
	int icmp_fd[2], icmp_dgram[2], icmp_id_known[2];
	uint16_t icmp_id[2];
	uint64_t tag;
	struct fifo sendq;
	struct heap laterq;
	struct fifo *waitq;
	unsigned nwait;
	int64_t next_send, start;
	int blocked_fd;
	uint32_t ndone, nprinted, next_print;
	uint32_t *done_order;
	uint8_t *resolved_bits;  /* -c: one bit per probe */
	size_t bits_stride;
	uint32_t *inflight, ninflight, max_inflight;
	struct box_buf out;
	int sigfd, interrupted;
	unsigned unknown_hosts;
	int name_width;
};

/* ---- queues ---------------------------------------------------------- */

static void fifo_push(struct fifo *q, struct event e)
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

static struct event *fifo_peek(struct fifo *q)
{
	return q->len ? &q->v[q->head] : NULL;
}

static void fifo_pop(struct fifo *q)
{
	q->head = (q->head + 1) % q->cap;
	q->len--;
}

static void heap_push(struct heap *h, struct event e)
{
	if (h->len == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 256;
		h->v = box_xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	size_t i = h->len++;
	while (i && h->v[(i - 1) / 2].when > e.when) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = e;
}

static struct event heap_pop(struct heap *h)
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

/* ---- targets ----------------------------------------------------------- */

static void format_addr(const struct target *t, char *buf, size_t len)
{
	inet_ntop(t->family ? AF_INET6 : AF_INET, t->addr, buf, (socklen_t)len);
}

static const char *display(const struct target *t, char *buf, size_t len)
{
	if (t->name)
		return t->name;
	format_addr(t, buf, len);
	return buf;
}

struct word_list {
	char **v;
	size_t n, cap;
};

static void words_add(struct word_list *w, char *s)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->v = box_xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = s;
}

/* Blank-separated words, '#' to the end of the line is a comment. The
 * buffer is kept: the words point into it. */
static void read_target_file(const char *path, struct word_list *w)
{
	struct box_buf b = { 0 };
	int r = strcmp(path, "-") ? box_read_file(path, &b) : box_read_fd_all(0, &b);
	if (r < 0)
		box_fatal_errno("unable to read %s", path);
	char *p = b.p;
	while (*p) {
		if (*p == '#') {
			while (*p && *p != '\n')
				*p++ = 0;
		} else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			*p++ = 0;
		} else {
			words_add(w, p);
			while (*p && !strchr(" \t\r\n#", *p))
				p++;
		}
	}
}

static void add_target(struct sweep *S, size_t *cap, int family, const uint8_t *addr,
	const char *name)
{
	if (S->n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		S->t = box_xrealloc(S->t, *cap * sizeof(*S->t));
	}
	struct target *t = &S->t[S->n++];
	memset(t, 0, sizeof(*t));
	t->family = (uint8_t)family;
	memcpy(t->addr, addr, family ? 16 : 4);
	t->name = name;
	t->tcp_fd = -1;
}

static int resolve_name(struct sweep *S, size_t *cap, const char *name)
{
	struct addrinfo hints = { 0 }, *res;
	hints.ai_socktype = SOCK_DGRAM;
	int r = getaddrinfo(name, NULL, &hints, &res);
	if (r) {
		box_warn("unable to resolve %s: %s", name,
			r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		S->unknown_hosts++;
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			add_target(S, cap, 0,
				(uint8_t *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr, name);
			break;
		}
		if (ai->ai_family == AF_INET6) {
			add_target(S, cap, 1,
				(uint8_t *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, name);
			break;
		}
	}
	freeaddrinfo(res);
	return 0;
}

static struct target *sort_base;

static int cmp_targets(const void *a, const void *b)
{
	const struct target *x = &sort_base[*(const uint32_t *)a];
	const struct target *y = &sort_base[*(const uint32_t *)b];
	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Keeps the first occurrence of every address, in input order. */
static void remove_duplicates(struct sweep *S)
{
	uint32_t *idx = box_xmalloc((S->n + 1) * sizeof(*idx));
	uint8_t *dup = box_xcalloc(S->n + 1, 1);
	for (uint32_t i = 0; i < S->n; i++)
		idx[i] = i;
	sort_base = S->t;
	qsort(idx, S->n, sizeof(*idx), cmp_targets);
	for (uint32_t i = 1; i < S->n; i++) {
		const struct target *a = &S->t[idx[i - 1]], *b = &S->t[idx[i]];
		if (a->family == b->family && !memcmp(a->addr, b->addr, 16))
			dup[idx[i]] = 1;
	}
	uint32_t kept = 0;
	for (uint32_t i = 0; i < S->n; i++)
		if (!dup[i])
			S->t[kept++] = S->t[i];
	S->n = kept;
	free(idx);
	free(dup);
}

static void build_targets(struct sweep *S, struct word_list *w, int force)
{
	struct sweep_spec *specs = box_xcalloc(w->n + 1, sizeof(*specs));
	uint64_t total = 0;
	size_t cap = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (sweep_parse_spec(w->v[i], &specs[i]) == SWEEP_BAD)
			box_usage("invalid target '%s': %s", w->v[i], specs[i].why);
		total = specs[i].count > UINT64_MAX - total ? UINT64_MAX : total + specs[i].count;
	}
	if (total > SWEEP_TARGET_LIMIT && !force)
		box_usage("too many targets (%llu, more than %u): use --force",
			(unsigned long long)total, SWEEP_TARGET_LIMIT);
	if (total > SWEEP_TARGET_HARD_LIMIT)
		box_usage("too many targets (%llu, at most %u even with --force)",
			(unsigned long long)total, SWEEP_TARGET_HARD_LIMIT);
	for (size_t i = 0; i < w->n; i++) {
		uint8_t addr[16];
		if (specs[i].kind == SWEEP_NAME) {
			resolve_name(S, &cap, w->v[i]);
			continue;
		}
		for (uint64_t k = 0; k < specs[i].count; k++) {
			sweep_spec_addr(&specs[i], k, addr);
			add_target(S, &cap, specs[i].kind == SWEEP_V6, addr, NULL);
		}
	}
	free(specs);
	remove_duplicates(S);
}

/* ---- output ------------------------------------------------------------ */

/* fping's precision: three significant digits or so. */
static void add_ms(struct box_buf *b, int64_t ns)
{
	double ms = (double)ns / 1e6;
	const char *fmt = ms < 1 ? "%.3f" : ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f";
	box_buf_printf(b, fmt, ms);
}

static void add_mac(struct box_buf *b, const uint8_t *m)
{
	box_buf_printf(b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void flush_out(struct sweep *S)
{
	if (S->out.len && box_write_all(1, S->out.p, S->out.len) < 0)
		box_fatal_errno("unable to write");
	S->out.len = 0;
}

static void print_json(struct sweep *S, const struct target *t)
{
	struct box_buf *b = &S->out;
	char addr[INET6_ADDRSTRLEN];

	format_addr(t, addr, sizeof(addr));
	box_buf_printf(b, "{\"address\":\"%s\",\"name\":", addr);
	if (t->name)
		box_json_str(b, t->name);
	else
		box_buf_adds(b, "null");
	box_buf_printf(b, ",\"alive\":%s,\"rtt_ms\":", t->state == T_ALIVE ? "true" : "false");
	if (t->state == T_ALIVE)
		box_buf_printf(b, "%.3f", (double)(S->count ? t->rtt_sum / t->received : t->rtt) / 1e6);
	else
		box_buf_adds(b, "null");
	box_buf_printf(b, ",\"tries\":%u,\"mac\":", t->tries);
	if (t->has_mac) {
		box_buf_addc(b, '"');
		add_mac(b, t->mac);
		box_buf_addc(b, '"');
	} else {
		box_buf_adds(b, "null");
	}
	if (S->count) {
		box_buf_printf(b, ",\"sent\":%u,\"received\":%u,\"loss_pct\":%u", t->tries,
			t->received, t->tries ? (t->tries - t->received) * 100 / t->tries : 0);
		if (t->received)
			box_buf_printf(b, ",\"min_ms\":%.3f,\"avg_ms\":%.3f,\"max_ms\":%.3f",
				(double)t->rtt_min / 1e6,
				(double)(t->rtt_sum / t->received) / 1e6, (double)t->rtt_max / 1e6);
	}
	box_buf_adds(b, "}\n");
}

static void print_target(struct sweep *S, const struct target *t)
{
	char buf[INET6_ADDRSTRLEN];
	int alive = t->state == T_ALIVE;

	if (S->quiet)
		return;
	if ((S->show_alive || S->show_unreach) &&
	    !(alive ? S->show_alive : S->show_unreach))
		return;
	if (S->json) {
		print_json(S, t);
		return;
	}
	if (!S->show_alive && !S->show_unreach && S->count)
		return;	/* -c reports per probe and in the summary */
	box_buf_adds(&S->out, display(t, buf, sizeof(buf)));
	if (!S->show_alive && !S->show_unreach) {
		if (alive) {
			box_buf_adds(&S->out, " is alive (");
			add_ms(&S->out, t->rtt);
			box_buf_adds(&S->out, " ms)");
		} else {
			box_buf_adds(&S->out, " is unreachable");
		}
	}
	if (t->has_mac) {
		box_buf_addc(&S->out, ' ');
		add_mac(&S->out, t->mac);
	}
	box_buf_addc(&S->out, '\n');
}

/* Prints every final result that may be printed now. */
static void emit_ready(struct sweep *S)
{
	if (S->want_mac)
		return;	/* after the MAC stage */
	if (S->in_order) {
		while (S->next_print < S->n && S->t[S->next_print].state != T_PENDING)
			print_target(S, &S->t[S->next_print++]);
	} else {
		while (S->nprinted < S->ndone)
			print_target(S, &S->t[S->done_order[S->nprinted++]]);
	}
	if (S->out.len > 65536)
		flush_out(S);
}

static void target_final(struct sweep *S, uint32_t idx)
{
	S->done_order[S->ndone++] = idx;
	emit_ready(S);
}

/* -c: fping's per-reply line. */
static void print_probe(struct sweep *S, const struct target *t, uint32_t probe, int64_t rtt)
{
	char buf[INET6_ADDRSTRLEN];
	struct box_buf *b = &S->out;

	if (S->quiet || S->json || S->show_alive || S->show_unreach)
		return;
	box_buf_printf(b, "%-*s : [%u], ", S->name_width, display(t, buf, sizeof(buf)), probe);
	if (S->port)
		box_buf_printf(b, "port %d, ", S->port);
	else
		box_buf_printf(b, "%zu bytes, ", 8 + sizeof(struct payload));
	add_ms(b, rtt);
	box_buf_adds(b, " ms (");
	add_ms(b, t->rtt_sum / t->received);
	box_buf_printf(b, " avg, %u%% loss)\n", (t->tries - t->received) * 100 / t->tries);
}

/* -c: fping's summary lines, on stderr like fping's. */
static void print_count_summary(struct sweep *S)
{
	struct box_buf b = { 0 };
	char buf[INET6_ADDRSTRLEN];

	if (S->json)
		return;
	box_buf_addc(&b, '\n');	/* fping's blank line before the summary */
	for (uint32_t i = 0; i < S->n; i++) {
		const struct target *t = &S->t[i];
		box_buf_printf(&b, "%-*s : xmt/rcv/%%loss = %u/%u/%u%%", S->name_width,
			display(t, buf, sizeof(buf)), t->tries, t->received,
			t->tries ? (t->tries - t->received) * 100 / t->tries : 0);
		if (t->received) {
			box_buf_adds(&b, ", min/avg/max = ");
			add_ms(&b, t->rtt_min);
			box_buf_addc(&b, '/');
			add_ms(&b, t->rtt_sum / t->received);
			box_buf_addc(&b, '/');
			add_ms(&b, t->rtt_max);
		}
		box_buf_addc(&b, '\n');
	}
	box_write_all(2, b.p, b.len);
	box_buf_free(&b);
}

/* ---- probe results ------------------------------------------------------- */

static int bit_test_set(struct sweep *S, uint32_t idx, uint32_t probe)
{
	uint8_t *p = &S->resolved_bits[idx * S->bits_stride + probe / 8];
	int was = *p >> (probe % 8) & 1;
	*p |= (uint8_t)(1u << (probe % 8));
	return was;
}

static void schedule_retry(struct sweep *S, uint32_t idx, int64_t now)
{
	struct target *t = &S->t[idx];
	if (t->queued)
		return;
	if (t->tries <= S->retries) {
		t->queued = 1;
		fifo_push(&S->sendq, (struct event){ now, idx, 0 });
	} else {
		t->state = T_DOWN;
		target_final(S, idx);
	}
}

/* -c over TCP: one connect per host at a time, the next one a period
 * after the last started. */
static void schedule_next_tcp(struct sweep *S, uint32_t idx, int64_t now)
{
	struct target *t = &S->t[idx];
	if (S->count && S->port && t->tries < S->count && t->state == T_PENDING) {
		int64_t when = t->tcp_sent + S->period;
		heap_push(&S->laterq, (struct event){ when > now ? when : now, idx, 0 });
	}
}

static void count_resolved(struct sweep *S, uint32_t idx)
{
	struct target *t = &S->t[idx];
	if (++t->resolved == S->count) {
		t->state = t->received ? T_ALIVE : T_DOWN;
		target_final(S, idx);
	}
}

static void probe_answered(struct sweep *S, uint32_t idx, uint32_t probe, int64_t rtt)
{
	struct target *t = &S->t[idx];

	if (t->state != T_PENDING)
		return;
	if (!S->count) {
		t->state = T_ALIVE;
		t->rtt = rtt;
		target_final(S, idx);
		return;
	}
	if (bit_test_set(S, idx, probe))
		return;	/* late: already counted as lost */
	if (!t->received || rtt < t->rtt_min)
		t->rtt_min = rtt;
	if (!t->received || rtt > t->rtt_max)
		t->rtt_max = rtt;
	t->received++;
	t->rtt_sum += rtt;
	print_probe(S, t, probe, rtt);
	count_resolved(S, idx);
}

/* A probe that failed at once (TCP: unreachable) or timed out. */
static void probe_lost(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now)
{
	struct target *t = &S->t[idx];

	if (t->state != T_PENDING)
		return;
	if (S->count) {
		if (!bit_test_set(S, idx, probe))
			count_resolved(S, idx);
		return;
	}
	if (probe + 1 == t->tries)
		schedule_retry(S, idx, now);
}

/* ---- TCP probes ----------------------------------------------------------- */

static void tcp_close(struct sweep *S, uint32_t idx)
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
		probe_answered(S, idx, probe, now - t->tcp_sent);
	else
		probe_lost(S, idx, probe, now);
	schedule_next_tcp(S, idx, now);
}

static socklen_t make_sockaddr(const struct target *t, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (t->family) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, t->addr, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	memcpy(&s4->sin_addr, t->addr, 4);
	return sizeof(*s4);
}

/* Returns 0 when out of descriptors for now (try again later). */
static int tcp_send(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now)
{
	struct target *t = &S->t[idx];
	struct sockaddr_storage ss;
	socklen_t len = make_sockaddr(t, S->port, &ss);

	int fd = socket(t->family ? AF_INET6 : AF_INET,
		SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			return 0;
		box_fatal_errno("unable to open a TCP socket");
	}
	t->tcp_fd = fd;
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

/* ---- ICMP probes ------------------------------------------------------------ */

static uint16_t probe_seq(uint32_t idx, uint32_t probe)
{
	return (uint16_t)(idx * 7u + probe);
}

static uint16_t inet_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void icmp_open(struct sweep *S, int fam)
{
	int domain = fam ? AF_INET6 : AF_INET, proto = fam ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd, size = SWEEP_RCVBUF;

	fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	S->icmp_dgram[fam] = fd >= 0;
	if (fd < 0)
		fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0 && (errno == EPERM || errno == EACCES))
		box_die(4, "unable to open an ICMP%s socket: %s (allow this group in sysctl "
			"net.ipv4.ping_group_range, or run as root or with CAP_NET_RAW, "
			"or probe TCP with -p PORT)", fam ? "v6" : "", strerror(errno));
	if (fd < 0)
		box_die_errno(4, "unable to open an ICMP%s socket", fam ? "v6" : "");
	/* a fast sweep on loopback gets replies faster than one read each */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (!S->icmp_dgram[fam]) {
		/* a raw socket sees every ICMP packet: let only echo replies in */
		if (fam) {
			struct icmp6_filter f;
			ICMP6_FILTER_SETBLOCKALL(&f);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
			setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
		} else {
			uint32_t blocked = ~(1u << 0);	/* all but ICMP_ECHOREPLY */
			setsockopt(fd, SOL_RAW, SWEEP_ICMP_FILTER, &blocked, sizeof(blocked));
		}
		S->icmp_id[fam] = (uint16_t)(S->tag >> 16);
		S->icmp_id_known[fam] = 1;
	}
	S->icmp_fd[fam] = fd;
}

/* The kernel sets the id of a datagram socket's echo requests to the
 * socket's port. */
static void learn_icmp_id(struct sweep *S, int fam)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(S->icmp_fd[fam], (struct sockaddr *)&ss, &len) < 0)
		box_die_errno(4, "unable to read the ICMP socket's port");
	S->icmp_id[fam] = ntohs(ss.ss_family == AF_INET6 ?
		((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	/* still unbound when the first send was refused: ask again later */
	S->icmp_id_known[fam] = S->icmp_id[fam] != 0;
}

/* Returns 0 when the socket cannot take more now. */
static int icmp_send(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now)
{
	struct target *t = &S->t[idx];
	int fam = t->family;
	uint8_t pkt[8 + sizeof(struct payload)];
	struct payload pl = { S->tag, idx, probe, now };
	struct sockaddr_storage ss;
	socklen_t len = make_sockaddr(t, 0, &ss);
	uint16_t id = S->icmp_id[fam], seq = probe_seq(idx, probe);

	if (S->icmp_fd[fam] < 0)
		icmp_open(S, fam);
	pkt[0] = fam ? ICMP6_ECHO_REQUEST : 8;
	pkt[1] = 0;
	pkt[2] = pkt[3] = 0;
	pkt[4] = (uint8_t)(id >> 8), pkt[5] = (uint8_t)id;
	pkt[6] = (uint8_t)(seq >> 8), pkt[7] = (uint8_t)seq;
	memcpy(pkt + 8, &pl, sizeof(pl));
	if (!fam) {
		uint16_t sum = inet_checksum(pkt, sizeof(pkt));
		pkt[2] = (uint8_t)(sum >> 8), pkt[3] = (uint8_t)sum;
	}
	for (;;) {
		if (sendto(S->icmp_fd[fam], pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len) >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			S->blocked_fd = S->icmp_fd[fam];
			return 0;
		}
		/* refused on the way out (unreachable, a firewall): the
		 * probe is lost like one that gets no answer */
		break;
	}
	if (!S->icmp_id_known[fam])
		learn_icmp_id(S, fam);
	return 1;
}

static void icmp_reply(struct sweep *S, int fam, const uint8_t *p, size_t len,
	const struct sockaddr_storage *from, int64_t now)
{
	struct payload pl;

	if (!fam && !S->icmp_dgram[0]) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		if (len < 20 || ihl < 20 || len < ihl)
			return;
		p += ihl, len -= ihl;
	}
	if (len < 8 + sizeof(pl) || p[0] != (fam ? ICMP6_ECHO_REPLY : 0) || p[1])
		return;
	if ((p[4] << 8 | p[5]) != S->icmp_id[fam] || !S->icmp_id_known[fam])
		return;
	memcpy(&pl, p + 8, sizeof(pl));
	if (pl.tag != S->tag || pl.idx >= S->n)
		return;
	const struct target *t = &S->t[pl.idx];
	if (t->family != fam || pl.probe >= t->tries || pl.sent < S->start || pl.sent > now)
		return;
	if ((p[6] << 8 | p[7]) != probe_seq(pl.idx, pl.probe))
		return;
	/* the answer must come from the host we asked */
	const void *src = fam ? (const void *)&((const struct sockaddr_in6 *)from)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)from)->sin_addr;
	if (from->ss_family != (fam ? AF_INET6 : AF_INET) || memcmp(src, t->addr, fam ? 16 : 4))
		return;
	probe_answered(S, pl.idx, pl.probe, now - pl.sent);
}

#define SWEEP_RECV_BATCH 32

static void icmp_receive(struct sweep *S, int fam)
{
	struct mmsghdr msgs[SWEEP_RECV_BATCH];
	struct iovec iov[SWEEP_RECV_BATCH];
	struct sockaddr_storage from[SWEEP_RECV_BATCH];
	uint8_t bufs[SWEEP_RECV_BATCH][128];
	int errors = 0;

	for (;;) {
		for (int i = 0; i < SWEEP_RECV_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int r = recvmmsg(S->icmp_fd[fam], msgs, SWEEP_RECV_BATCH, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* an ICMP error reported on a datagram socket: keep reading */
			if (++errors > SWEEP_RECV_BATCH)
				return;
			continue;
		}
		int64_t now = box_now_ns();
		for (int i = 0; i < r; i++)
			icmp_reply(S, fam, bufs[i], msgs[i].msg_len, &from[i], now);
		if (r < SWEEP_RECV_BATCH)
			return;
	}
}

/* ---- the event loop ----------------------------------------------------------- */

/* Returns 0 when the socket (or descriptor table) is full for now. */
static int probe_send(struct sweep *S, uint32_t idx, int64_t now)
{
	struct target *t = &S->t[idx];
	uint32_t probe = t->tries;

	t->tries++;	/* first: a TCP connect may be decided at once */
	if (!(S->port ? tcp_send(S, idx, probe, now) : icmp_send(S, idx, probe, now))) {
		t->tries--;
		return 0;
	}
	/* the wait queues get their entries in time order: one per timeout */
	unsigned cls = S->count ? 0 : probe;
	fifo_push(&S->waitq[cls], (struct event){ now + S->timeouts[cls], idx, probe });
	if (S->count && !S->port && t->tries < S->count)
		heap_push(&S->laterq, (struct event){ now + S->period, idx, 0 });
	return 1;
}

static int send_some(struct sweep *S, int64_t now)
{
	for (unsigned burst = 0; burst < SWEEP_BURST && S->sendq.len; burst++) {
		struct event *e = fifo_peek(&S->sendq);
		if (now < S->next_send || (S->port && S->ninflight >= S->max_inflight))
			return 0;
		uint32_t idx = e->idx;
		S->t[idx].queued = 0;	/* an instant TCP failure may queue a retry */
		if (!probe_send(S, idx, now)) {
			S->t[idx].queued = 1;
			return 1;
		}
		fifo_pop(&S->sendq);
		S->next_send = now + S->interval;
	}
	return 0;
}

static void expire(struct sweep *S, int64_t now)
{
	/* replies that came while we were not scheduled count before any
	 * timeout is decided */
	for (unsigned k = 0; k < S->nwait; k++) {
		struct event *e = fifo_peek(&S->waitq[k]);
		if (e && e->when <= now) {
			for (int fam = 0; fam < 2; fam++)
				if (S->icmp_fd[fam] >= 0)
					icmp_receive(S, fam);
			break;
		}
	}
	for (unsigned k = 0; k < S->nwait; k++) {
		struct event *e;
		while ((e = fifo_peek(&S->waitq[k])) && e->when <= now) {
			struct event ev = *e;
			fifo_pop(&S->waitq[k]);
			struct target *t = &S->t[ev.idx];
			if (S->port && t->tcp_fd >= 0 && t->tcp_probe == ev.probe) {
				tcp_close(S, ev.idx);
				probe_lost(S, ev.idx, ev.probe, now);
				schedule_next_tcp(S, ev.idx, now);
			} else if (!S->port) {
				probe_lost(S, ev.idx, ev.probe, now);
			}
		}
	}
	while (S->laterq.len && S->laterq.v[0].when <= now) {
		struct event e = heap_pop(&S->laterq);
		if (S->t[e.idx].state == T_PENDING) {
			S->t[e.idx].queued = 1;
			fifo_push(&S->sendq, e);
		}
	}
}

static int64_t earliest(int64_t a, int64_t b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

static int64_t next_deadline(struct sweep *S, int blocked, int64_t now)
{
	int64_t d = -1;
	if (S->sendq.len && !(S->port && S->ninflight >= S->max_inflight))
		d = blocked ? now + 1000000 : S->next_send;
	if (S->laterq.len)
		d = earliest(d, S->laterq.v[0].when);
	for (unsigned k = 0; k < S->nwait; k++)
		if (S->waitq[k].len)
			d = earliest(d, fifo_peek(&S->waitq[k])->when);
	return d;
}

static void handle_signals(struct sweep *S)
{
	int sig;
	while ((sig = box_sigfd_read(S->sigfd)) > 0)
		S->interrupted = 1;
}

static void run_probes(struct sweep *S)
{
	struct pollfd *pf = box_xcalloc(3 + S->max_inflight, sizeof(*pf));

	for (uint32_t i = 0; i < S->n; i++) {
		S->t[i].queued = 1;
		fifo_push(&S->sendq, (struct event){ 0, i, 0 });
	}
	while (S->ndone < S->n && !S->interrupted) {
		int64_t now = box_now_ns();
		expire(S, now);
		S->blocked_fd = -1;
		int blocked = send_some(S, now);
		if (S->ndone == S->n)
			break;
		int64_t deadline = next_deadline(S, blocked, now);
		nfds_t npf = 0;
		pf[npf++] = (struct pollfd){ S->sigfd, POLLIN, 0 };
		for (int fam = 0; fam < 2; fam++)
			pf[npf++] = (struct pollfd){ S->icmp_fd[fam],
				(short)(POLLIN | (S->icmp_fd[fam] == S->blocked_fd ? POLLOUT : 0)), 0 };
		for (uint32_t i = 0; i < S->ninflight; i++)
			pf[npf++] = (struct pollfd){ S->t[S->inflight[i]].tcp_fd, POLLOUT, 0 };
		flush_out(S);
		if (box_poll_until(pf, npf, deadline) < 0)
			box_die_errno(4, "unable to poll");
		if (pf[0].revents)
			handle_signals(S);
		for (int fam = 0; fam < 2; fam++)
			if (pf[1 + fam].revents & (POLLIN | POLLERR))
				icmp_receive(S, fam);
		/* backwards: finishing slot s moves the last slot into s, and
		 * every slot above s is done already */
		for (nfds_t i = npf; i-- > 3; )
			if (pf[i].revents)
				tcp_ready(S, S->inflight[i - 3]);
	}
	free(pf);
}

/* Whatever has no result when interrupted counts as unreachable. */
static void finish_interrupted(struct sweep *S)
{
	for (uint32_t i = 0; i < S->n; i++) {
		struct target *t = &S->t[i];
		if (t->state != T_PENDING)
			continue;
		if (S->port)
			tcp_close(S, i);
		t->state = S->count && t->received ? T_ALIVE : T_DOWN;
		target_final(S, i);
	}
}

/* ---- the MAC stage ---------------------------------------------------- */

struct iface {
	char name[IF_NAMESIZE];
	int index, ether;
	uint8_t mac[6];
	uint32_t addr, mask;     /* host order; 0 when none */
};

struct mac_want {
	uint32_t idx;
	uint32_t ip;             /* host order */
	struct iface *ifc;
};

static struct iface *iface_get(struct iface **v, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name))
			return &(*v)[i];
	*v = box_xrealloc(*v, (*n + 1) * sizeof(**v));
	struct iface *f = &(*v)[(*n)++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->index = (int)if_nametoindex(name);
	return f;
}

static size_t load_ifaces(struct iface **v)
{
	struct ifaddrs *list;
	size_t n = 0;

	*v = NULL;
	if (getifaddrs(&list) < 0)
		box_die_errno(4, "unable to list network interfaces");
	for (struct ifaddrs *a = list; a; a = a->ifa_next) {
		if (!a->ifa_addr || (a->ifa_flags & IFF_LOOPBACK))
			continue;
		if (a->ifa_addr->sa_family == AF_PACKET) {
			struct sockaddr_ll *ll = (struct sockaddr_ll *)a->ifa_addr;
			struct iface *f = iface_get(v, &n, a->ifa_name);
			if (ll->sll_hatype == ARPHRD_ETHER && ll->sll_halen == 6) {
				f->ether = 1;
				memcpy(f->mac, ll->sll_addr, 6);
			}
		} else if (a->ifa_addr->sa_family == AF_INET && a->ifa_netmask) {
			struct iface *f = iface_get(v, &n, a->ifa_name);
			if (!f->addr) {
				f->addr = ntohl(((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr);
				f->mask = ntohl(((struct sockaddr_in *)a->ifa_netmask)->sin_addr.s_addr);
			}
		}
	}
	freeifaddrs(list);
	return n;
}

/* The interface through which ip is reached without a gateway, from the
 * main routing table (longest prefix, then lowest metric); NULL when the
 * route goes through a gateway or leaves by a non-Ethernet link. */
static struct iface *direct_iface(const char *routes, uint32_t ip, struct iface *ifs, size_t nifs)
{
	char dev[IF_NAMESIZE + 1] = "", best_dev[IF_NAMESIZE + 1] = "";
	unsigned dest, gw, flags, metric, mask;
	int best_len = -1, best_gw = 0;
	unsigned best_metric = 0;
	const char *line = routes;

	while ((line = strchr(line, '\n'))) {
		line++;
		if (sscanf(line, "%16s %x %x %x %*d %*d %u %x", dev, &dest, &gw, &flags,
			&metric, &mask) != 6)
			continue;
		uint32_t d = ntohl(dest), m = ntohl(mask);
		if (!(flags & 0x1) || (flags & 0x200) || (ip & m) != d)
			continue;	/* not RTF_UP, or RTF_REJECT */
		int len = __builtin_popcount(m);
		if (len > best_len || (len == best_len && metric < best_metric)) {
			best_len = len, best_metric = metric;
			best_gw = (flags & 0x2) || gw;	/* RTF_GATEWAY */
			snprintf(best_dev, sizeof(best_dev), "%s", dev);
		}
	}
	if (best_len < 0 || best_gw)
		return NULL;
	for (size_t i = 0; i < nifs; i++)
		if (!strcmp(ifs[i].name, best_dev))
			return ifs[i].ether && ifs[i].index > 0 ? &ifs[i] : NULL;
	return NULL;
}

static void arp_send(int fd, const struct mac_want *w)
{
	struct ether_arp req;
	struct sockaddr_ll to = { 0 };
	uint32_t spa = htonl(w->ifc->addr), tpa = htonl(w->ip);

	memset(&req, 0, sizeof(req));
	req.arp_hrd = htons(ARPHRD_ETHER);
	req.arp_pro = htons(ETH_P_IP);
	req.arp_hln = 6;
	req.arp_pln = 4;
	req.arp_op = htons(ARPOP_REQUEST);
	memcpy(req.arp_sha, w->ifc->mac, 6);
	memcpy(req.arp_spa, &spa, 4);
	memcpy(req.arp_tpa, &tpa, 4);
	to.sll_family = AF_PACKET;
	to.sll_protocol = htons(ETH_P_ARP);
	to.sll_ifindex = w->ifc->index;
	to.sll_halen = 6;
	memset(to.sll_addr, 0xff, 6);
	/* a lost request is retried in the next round */
	sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to));
}

static void arp_receive(struct sweep *S, int fd, struct mac_want *want, size_t nwant,
	size_t *found)
{
	struct ether_arp rep;
	struct sockaddr_ll from;

	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(fd, &rep, sizeof(rep), MSG_DONTWAIT,
			(struct sockaddr *)&from, &fl);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return;
		if (r < (ssize_t)sizeof(rep) || ntohs(rep.arp_op) != ARPOP_REPLY ||
		    rep.arp_hln != 6 || rep.arp_pln != 4)
			continue;
		uint32_t spa;
		memcpy(&spa, rep.arp_spa, 4);
		spa = ntohl(spa);
		for (size_t i = 0; i < nwant; i++) {
			struct target *t = &S->t[want[i].idx];
			if (want[i].ip == spa && want[i].ifc->index == from.sll_ifindex &&
			    !t->has_mac) {
				memcpy(t->mac, rep.arp_sha, 6);
				t->has_mac = 1;
				(*found)++;
			}
		}
	}
}

/* Rounds of ARP requests to the hosts still without an answer, each
 * round waiting as long as the matching ICMP try would. */
static void arp_active(struct sweep *S, int fd, struct mac_want *want, size_t nwant)
{
	size_t found = 0;
	struct pollfd pf[2] = { { S->sigfd, POLLIN, 0 }, { fd, POLLIN, 0 } };

	for (unsigned round = 0; round <= S->retries && found < nwant && !S->interrupted; round++) {
		size_t next = 0;
		int64_t now = box_now_ns(), end = -1;
		while (!S->interrupted) {
			while (next < nwant && now >= S->next_send) {
				if (!S->t[want[next].idx].has_mac)
					arp_send(fd, &want[next]), S->next_send = now + S->interval;
				next++;
			}
			if (next == nwant && end < 0)
				end = now + S->timeouts[round];
			if (found == nwant || (end >= 0 && now >= end))
				break;
			if (box_poll_until(pf, 2, next < nwant ? S->next_send : end) < 0)
				box_die_errno(4, "unable to poll");
			if (pf[0].revents)
				handle_signals(S);
			if (pf[1].revents)
				arp_receive(S, fd, want, nwant, &found);
			now = box_now_ns();
		}
	}
}

/* Without privilege: what the kernel learnt while we probed. */
static void arp_from_neighbours(struct sweep *S, struct mac_want *want, size_t nwant)
{
	struct box_buf b = { 0 };
	if (box_read_file("/proc/net/arp", &b) < 0) {
		box_warn_errno("unable to read /proc/net/arp");
		return;
	}
	for (const char *line = b.p; (line = strchr(line, '\n')); ) {
		char ip[64], dev[IF_NAMESIZE + 1];
		unsigned type, flags, m[6];
		struct in_addr a;
		line++;
		if (sscanf(line, "%63s %x %x %x:%x:%x:%x:%x:%x %*s %16s", ip, &type, &flags,
			&m[0], &m[1], &m[2], &m[3], &m[4], &m[5], dev) != 10 ||
		    !(flags & ATF_COM) || inet_pton(AF_INET, ip, &a) != 1)
			continue;
		for (size_t i = 0; i < nwant; i++) {
			struct target *t = &S->t[want[i].idx];
			if (want[i].ip != ntohl(a.s_addr) || strcmp(want[i].ifc->name, dev))
				continue;
			for (int k = 0; k < 6; k++)
				t->mac[k] = (uint8_t)m[k];
			t->has_mac = 1;
		}
	}
	box_buf_free(&b);
}

static void mac_stage(struct sweep *S)
{
	struct iface *ifs;
	struct box_buf routes = { 0 };
	size_t nifs = load_ifaces(&ifs), nwant = 0;
	struct mac_want *want = box_xcalloc(S->n, sizeof(*want));

	if (box_read_file("/proc/net/route", &routes) < 0)
		box_warn_errno("unable to read /proc/net/route");
	for (uint32_t i = 0; routes.p && i < S->n; i++) {
		struct target *t = &S->t[i];
		uint32_t ip;
		if (t->state != T_ALIVE || t->family)
			continue;
		memcpy(&ip, t->addr, 4);
		ip = ntohl(ip);
		struct iface *f = direct_iface(routes.p, ip, ifs, nifs);
		if (f && f->addr == ip) {
			memcpy(t->mac, f->mac, 6);	/* our own address */
			t->has_mac = 1;
		} else if (f && f->addr) {
			want[nwant++] = (struct mac_want){ i, ip, f };
		}
	}
	if (nwant) {
		int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
		if (fd >= 0) {
			arp_active(S, fd, want, nwant);
			close(fd);
		} else {
			arp_from_neighbours(S, want, nwant);
		}
	}
	box_buf_free(&routes);
	free(want);
	free(ifs);
}

/* ---- main ------------------------------------------------------------------- */

static double parse_backoff(const char *s)
{
	char *end;
	errno = 0;
	double f = strtod(s, &end);
	if (!*s || *end || errno || !(f >= 1.0 && f <= 5.0))
		box_usage("invalid backoff '%s': expected a number from 1.0 to 5.0", s);
	return f;
}

static int64_t parse_positive_duration(const char *what, const char *s)
{
	int64_t v = box_xparse_duration(what, s);
	if (!v)
		box_usage("invalid %s '%s': must be more than 0", what, s);
	return v;
}

static void summary_json(struct sweep *S)
{
	uint32_t alive = 0;
	for (uint32_t i = 0; i < S->n; i++)
		alive += S->t[i].state == T_ALIVE;
	const char *method = S->port ? "tcp" :
		S->icmp_fd[0] >= 0 ? (S->icmp_dgram[0] ? "icmp-dgram" : "icmp-raw") :
		S->icmp_fd[1] >= 0 ? (S->icmp_dgram[1] ? "icmp-dgram" : "icmp-raw") : "none";
	box_buf_printf(&S->out, "{\"summary\":true,\"targets\":%u,\"alive\":%u,"
		"\"unreachable\":%u,\"unknown_hosts\":%u,\"method\":\"%s\",\"interrupted\":%s,"
		"\"elapsed_ms\":%.3f}\n", S->n, alive, S->n - alive, S->unknown_hosts, method,
		S->interrupted ? "true" : "false", (double)(box_now_ns() - S->start) / 1e6);
}

static const struct box_opt opts[] = {
	{ 'a', 'a', "alive", 0 },
	{ 'u', 'u', "unreachable", 0 },
	{ 's', 's', "sorted", 0 },
	{ 'q', 'q', "quiet", 0 },
	{ 'j', 'j', "json", 0 },
	{ 'm', 'm', "mac", 0 },
	{ 'c', 'c', "count", 1 },
	{ 'i', 'i', "interval", 1 },
	{ 't', 't', "timeout", 1 },
	{ 'r', 'r', "retry", 1 },
	{ 'B', 'B', "backoff", 1 },
	{ 'p', 'p', "port", 1 },
	{ 'f', 'f', "file", 1 },
	{ 'P', 0, "period", 1 },
	{ 'F', 0, "force", 0 },
	{ 0 },
};

static int sweep_main(int argc, char **argv)
{
	struct sweep sw = { 0 }, *S = &sw;
	struct word_list words = { 0 };
	struct box_getopt g;
	int c, force = 0;

	S->interval = 1000000;
	S->timeout = 500000000;
	S->period = BOX_NSEC;
	S->backoff = 1.5;
	S->retries = 3;
	box_getopt_init(&g, argc, argv);
	for (;;) {
		while ((c = box_getopt(&g, opts)) != -1) {
			switch (c) {
			case 'a': S->show_alive = 1; break;
			case 'u': S->show_unreach = 1; break;
			case 's': S->in_order = 1; break;
			case 'q': S->quiet = 1; break;
			case 'j': S->json = 1; break;
			case 'm': S->want_mac = 1; break;
			case 'c': S->count = (unsigned)box_xparse_ll("count", g.arg, 1, 100000); break;
			case 'i': S->interval = box_xparse_duration("interval", g.arg); break;
			case 't': S->timeout = parse_positive_duration("timeout", g.arg); break;
			case 'r': S->retries = (unsigned)box_xparse_ll("retry count", g.arg, 0, 20); break;
			case 'B': S->backoff = parse_backoff(g.arg); break;
			case 'p': S->port = (int)box_xparse_ll("port", g.arg, 1, 65535); break;
			case 'f': read_target_file(g.arg, &words); break;
			case 'P': S->period = parse_positive_duration("period", g.arg); break;
			case 'F': force = 1; break;
			}
		}
		/* targets and options may mix, as with fping */
		if (g.ind >= argc)
			break;
		if (g.dashdash) {
			while (g.ind < argc)
				words_add(&words, argv[g.ind++]);
			break;
		}
		words_add(&words, argv[g.ind++]);
	}
	if (!words.n)
		box_usage("no targets given");

	S->start = box_now_ns();
	build_targets(S, &words, force);
	S->done_order = box_xmalloc((S->n + 1) * sizeof(*S->done_order));
	S->nwait = S->count ? 1 : S->retries + 1;
	S->waitq = box_xcalloc(S->nwait, sizeof(*S->waitq));
	S->timeouts = box_xcalloc(S->retries + 1, sizeof(*S->timeouts));
	double tmo = (double)S->timeout;
	for (unsigned k = 0; k <= S->retries; k++, tmo *= S->backoff)
		S->timeouts[k] = tmo > (double)BOX_DURATION_MAX ? BOX_DURATION_MAX : (int64_t)tmo;
	if (S->count) {
		S->bits_stride = (S->count + 7) / 8;
		S->resolved_bits = box_xcalloc((size_t)S->n + 1, S->bits_stride);
		for (uint32_t i = 0; i < S->n; i++) {
			char buf[INET6_ADDRSTRLEN];
			int w = (int)strlen(display(&S->t[i], buf, sizeof(buf)));
			if (w > S->name_width)
				S->name_width = w;
		}
	}
	S->icmp_fd[0] = S->icmp_fd[1] = -1;
	if (getrandom(&S->tag, sizeof(S->tag), GRND_NONBLOCK) != sizeof(S->tag))
		S->tag = (uint64_t)S->start ^ ((uint64_t)getpid() << 32);
	if (S->port) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		S->max_inflight = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 64 ?
			(uint32_t)(rl.rlim_cur - 32 < 4096 ? rl.rlim_cur - 32 : 4096) : 32;
		S->inflight = box_xcalloc(S->max_inflight, sizeof(*S->inflight));
	} else {
		/* open before sweeping: no permission is the same error every time */
		for (uint32_t i = 0; i < S->n; i++)
			if (S->icmp_fd[S->t[i].family] < 0)
				icmp_open(S, S->t[i].family);
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	S->sigfd = box_sigfd_open(&sigs);
	if (S->sigfd < 0)
		box_die_errno(4, "unable to set up signal handling");

	run_probes(S);
	if (S->interrupted)
		finish_interrupted(S);
	if (S->want_mac) {
		mac_stage(S);
		S->want_mac = 0;
		emit_ready(S);
	}
	flush_out(S);
	if (S->count)
		print_count_summary(S);
	if (S->json)
		summary_json(S);
	flush_out(S);

	if (S->unknown_hosts)
		return 2;
	for (uint32_t i = 0; i < S->n; i++)
		if (S->t[i].state != T_ALIVE)
			return 1;
	return 0;
}

const struct applet applet_sweep = {
	"sweep", sweep_main, usage, help, 3, 4,
};
