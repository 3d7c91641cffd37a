/* sweep: which hosts are up. An fping replacement: one thread, one poll
 * loop, one ICMP socket per family (an unprivileged ICMP datagram socket
 * when net.ipv4.ping_group_range allows it, a raw socket otherwise), every
 * send paced; optionally MAC addresses of the live hosts on directly
 * connected networks, or a TCP connect probe that needs no privilege. */
#include "sweep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
	"  -t DUR          timeout of the first probe (500ms; -c: the period, 2s at most)\n"
	"  -r N            retries after the first probe (3)\n"
	"  -B F            each retry waits F times longer than the last (1.5)\n"
	"  -c N            send N probes to every host; print min/avg/max and loss\n"
	"  --period DUR    with -c, the time between two probes to one host (1s)\n"
	"  -p PORT         TCP connect probe: a host that accepts or refuses is up\n"
	"  -m              hosts on directly connected networks by ARP (as root),\n"
	"                  with their MACs (IPv4)\n"
	"  -a              print only the live hosts, bare\n"
	"  -u              print only the unreachable hosts, bare\n"
	"  -s              print in input order (default: as results come)\n"
	"  -j              JSON lines, one per target, then a summary record\n"
	"  -q              quiet: no per-target lines (the -a/-u lists stay)\n"
	"  --force         allow more than 65536 targets\n"
	"\n"
	"Exit status: 0 all alive; 1 some unreachable; 2 a host name did not\n"
	"resolve; 3 bad arguments; 4 a system call failed.\n";

#define SWEEP_BURST 64          /* sends between two reads when unpaced */

/* ---- probe results ------------------------------------------------------- */

static void target_final(struct sweep *S, uint32_t idx)
{
	S->done_order[S->ndone++] = idx;
	sweep_emit_ready(S);
}

/* -c: the bit of a probe in one of the per-probe bit sets */
static int bit_test_set(struct sweep *S, uint8_t *bits, uint32_t idx, uint32_t probe, int set)
{
	uint8_t *p = &bits[idx * S->bits_stride + probe / 8];
	int was = *p >> (probe % 8) & 1;
	if (set)
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

static void count_resolved(struct sweep *S, uint32_t idx)
{
	struct target *t = &S->t[idx];
	if (++t->resolved == S->count) {
		t->state = t->received ? T_ALIVE : T_DOWN;
		target_final(S, idx);
	}
}

void sweep_probe_answered(struct sweep *S, uint32_t idx, uint32_t probe, int64_t rtt)
{
	struct target *t = &S->t[idx];

	/* a second reply to an answered probe: fping's duplicate line */
	if (S->count && bit_test_set(S, S->answered_bits, idx, probe, 0)) {
		sweep_print_duplicate(S, t, probe, rtt);
		return;
	}
	if (t->state != T_PENDING)
		return;
	if (!S->count) {
		t->state = T_ALIVE;
		t->rtt = rtt;
		target_final(S, idx);
		return;
	}
	if (bit_test_set(S, S->resolved_bits, idx, probe, 1))
		return;	/* late: already counted as lost */
	bit_test_set(S, S->answered_bits, idx, probe, 1);
	if (!t->received || rtt < t->rtt_min)
		t->rtt_min = rtt;
	if (!t->received || rtt > t->rtt_max)
		t->rtt_max = rtt;
	t->received++;
	t->rtt_sum += rtt;
	sweep_print_probe(S, t, probe, rtt);
	count_resolved(S, idx);
}

void sweep_set_result(struct sweep *S, uint32_t idx, int alive, int64_t rtt)
{
	struct target *t = &S->t[idx];
	t->state = alive ? T_ALIVE : T_DOWN;
	t->rtt = rtt;
	target_final(S, idx);
}

/* A probe that timed out, or failed at once (TCP: unreachable). */
void sweep_probe_lost(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now, int timed_out)
{
	struct target *t = &S->t[idx];

	if (t->state != T_PENDING)
		return;
	if (S->count) {
		if (!bit_test_set(S, S->resolved_bits, idx, probe, 1)) {
			if (timed_out)
				sweep_print_timeout(S, t, probe);
			count_resolved(S, idx);
		}
		return;
	}
	if (probe + 1 == t->tries)
		schedule_retry(S, idx, now);
}

/* ---- the event loop ----------------------------------------------------------- */

/* A probe is out: its timeout, and with -c the next one. */
static void probe_sent(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now)
{
	/* the wait queues get their entries in time order: one per timeout */
	unsigned cls = S->count ? 0 : probe;
	fifo_push(&S->waitq[cls], (struct event){ now + S->timeouts[cls], idx, probe });
	if (S->count && !S->port && S->t[idx].tries < S->count)
		heap_push(&S->laterq, (struct event){ now + S->period, idx, 0 });
}

/* Returns 0 when the socket (or descriptor table) is full for now. */
static int probe_send(struct sweep *S, uint32_t idx, int64_t now)
{
	struct target *t = &S->t[idx];
	uint32_t probe = t->tries;

	t->tries++;	/* first: a TCP connect may be decided at once */
	if (!(S->port ? tcp_send(S, idx, probe, now) : (int)icmp_send(S, t->family, &idx, &probe, 1, now))) {
		t->tries--;
		return 0;
	}
	probe_sent(S, idx, probe, now);
	return 1;
}

/* Unpaced ICMP: the queue's head sent SWEEP_BATCH at a time, one family
 * per batch, a third less time per probe than a sendto each. Returns 1
 * when the socket is full for now. */
static int send_batches(struct sweep *S, int64_t now)
{
	for (unsigned sent = 0; sent < SWEEP_BURST && S->sendq.len; ) {
		uint32_t idx[SWEEP_BATCH], probe[SWEEP_BATCH];
		size_t n = 0;
		int fam = S->t[fifo_at(&S->sendq, 0)->idx].family;
		while (n < SWEEP_BATCH && n < S->sendq.len &&
		       S->t[fifo_at(&S->sendq, n)->idx].family == fam) {
			idx[n] = fifo_at(&S->sendq, n)->idx;
			probe[n] = S->t[idx[n]].tries;
			n++;
		}
		size_t k = icmp_send(S, fam, idx, probe, n, now);
		for (size_t i = 0; i < k; i++) {
			struct target *t = &S->t[idx[i]];
			fifo_pop(&S->sendq);
			t->queued = 0;
			probe_sent(S, idx[i], t->tries++, now);
		}
		sent += (unsigned)k;
		if (k < n)
			return 1;
	}
	return 0;
}

static int send_some(struct sweep *S, int64_t now)
{
	if (!S->port && !S->interval)
		return send_batches(S, now);
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
				sweep_probe_lost(S, ev.idx, ev.probe, now, 1);
				tcp_schedule_next(S, ev.idx, now);
			} else if (!S->port) {
				sweep_probe_lost(S, ev.idx, ev.probe, now, 1);
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

/* The deadlines of the turn: the next send (soon again when the socket
 * was full), the next -c probe, the oldest probe of each timeout. */
static void add_deadlines(struct sweep *S, int blocked, int64_t now)
{
	struct box_loop *l = &S->loop;

	if (S->sendq.len && !(S->port && S->ninflight >= S->max_inflight))
		box_loop_deadline(l, blocked ? now + 1000000 : S->next_send);
	if (S->laterq.len)
		box_loop_deadline(l, S->laterq.v[0].when);
	for (unsigned k = 0; k < S->nwait; k++)
		if (S->waitq[k].len)
			box_loop_deadline(l, fifo_peek(&S->waitq[k])->when);
}

static void on_signal(void *ctx, int sig)
{
	struct sweep *S = ctx;

	(void)sig;
	S->interrupted = 1;
}

static void run_probes(struct sweep *S)
{
	struct box_loop *l = &S->loop;

	for (uint32_t i = 0; i < S->n; i++) {
		if (S->t[i].state != T_PENDING)
			continue;	/* decided by ARP */
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
		box_loop_begin(l);
		box_loop_signals(l);
		icmp_wait(S);
		tcp_wait(S);
		add_deadlines(S, blocked, now);
		sweep_flush(S);
		box_loop_wait(l);
		tcp_finish_marked(S);
	}
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

/* ---- options and setup ------------------------------------------------------- */

static double parse_backoff(const char *s)
{
	char *end;
	errno = 0;
	double f = box_strtod(s, &end);
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

enum { OPT_PERIOD = 256, OPT_FORCE };

static const struct box_opt opts[] = {
	{ "alive", 'a', 'a', 0 },
	{ "unreachable", 'u', 'u', 0 },
	{ "sorted", 's', 's', 0 },
	{ "quiet", 'q', 'q', 0 },
	{ "json", 'j', 'j', 0 },
	{ "mac", 'm', 'm', 0 },
	{ "count", 'c', 'c', 1 },
	{ "interval", 'i', 'i', 1 },
	{ "timeout", 't', 't', 1 },
	{ "retry", 'r', 'r', 1 },
	{ "backoff", 'B', 'B', 1 },
	{ "port", 'p', 'p', 1 },
	{ "file", 'f', 'f', 1 },
	{ "period", OPT_PERIOD, 0, 1 },
	{ "force", OPT_FORCE, 0, 0 },
	{ 0 },
};

/* Options and target words may mix, as with fping. */
static void parse_args(struct sweep *S, int argc, char **argv, struct word_list *words,
	int *force)
{
	struct box_getopt g;
	int c;

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
			case 't':
				S->timeout = parse_positive_duration("timeout", g.arg);
				S->timeout_set = 1;
				break;
			case 'r': S->retries = (unsigned)box_xparse_ll("retry count", g.arg, 0, 20); break;
			case 'B': S->backoff = parse_backoff(g.arg); break;
			case 'p': S->port = (int)box_xparse_ll("port", g.arg, 1, 65535); break;
			case 'f': sweep_read_target_file(g.arg, words); break;
			case OPT_PERIOD: S->period = parse_positive_duration("period", g.arg); break;
			case OPT_FORCE: *force = 1; break;
			}
		}
		if (g.ind >= argc)
			break;
		if (g.dashdash) {
			while (g.ind < argc)
				*BOX_PUSH(words->v, words->n, words->cap) = argv[g.ind++];
			break;
		}
		*BOX_PUSH(words->v, words->n, words->cap) = argv[g.ind++];
	}
	if (!words->n)
		box_usage("no targets given");
}

/* The engine's tables, sized by the hosts and the options. */
static void setup_engine(struct sweep *S)
{
	S->done_order = box_xmalloc((S->n + 1) * sizeof(*S->done_order));
	S->nwait = S->count ? 1 : S->retries + 1;
	S->waitq = box_xcalloc(S->nwait, sizeof(*S->waitq));
	S->timeouts = box_xcalloc(S->retries + 1, sizeof(*S->timeouts));
	/* -c: a reply may take up to the period (2 s at most), as in fping */
	if (S->count && !S->timeout_set)
		S->timeout = S->period < 2 * BOX_NSEC ? S->period : 2 * BOX_NSEC;
	double tmo = (double)S->timeout;
	for (unsigned k = 0; k <= S->retries; k++, tmo *= S->backoff)
		S->timeouts[k] = tmo > (double)BOX_DURATION_MAX ? BOX_DURATION_MAX : (int64_t)tmo;
	if (S->count) {
		S->bits_stride = (S->count + 7) / 8;
		S->resolved_bits = box_xcalloc(S->n + 1, S->bits_stride);
		S->answered_bits = box_xcalloc(S->n + 1, S->bits_stride);
		for (uint32_t i = 0; i < S->n; i++) {
			char buf[INET6_ADDRSTRLEN];
			int w = (int)strlen(sweep_display(&S->t[i], buf, sizeof(buf)));
			if (w > S->name_width)
				S->name_width = w;
		}
	}
	S->icmp_fd[0] = S->icmp_fd[1] = -1;
	if (getrandom(&S->tag, sizeof(S->tag), GRND_NONBLOCK) != sizeof(S->tag))
		S->tag = (uint64_t)S->start ^ ((uint64_t)getpid() << 32);
	if (S->port) {
		unsigned long nofile = box_raise_nofile(0);
		S->max_inflight = nofile > 64 ? (uint32_t)(nofile - 32 < 4096 ? nofile - 32 : 4096) : 32;
		S->inflight = box_xcalloc(S->max_inflight, sizeof(*S->inflight));
	} else {
		/* open before sweeping: no permission is the same error every time */
		for (uint32_t i = 0; i < S->n; i++)
			if (S->icmp_fd[S->t[i].family] < 0)
				icmp_open(S, S->t[i].family);
	}
}

enum { EXIT_ALL_ALIVE, EXIT_SOME_DOWN, EXIT_UNKNOWN_HOST, EXIT_USAGE, EXIT_FAIL };

static int sweep_main(int argc, char **argv)
{
	struct sweep sw = { .interval = 1000000, .timeout = 500000000, .period = BOX_NSEC,
		.backoff = 1.5, .retries = 3 }, *S = &sw;
	struct word_list words = { 0 };
	int force = 0;
	sigset_t sigs;

	parse_args(S, argc, argv, &words, &force);
	S->start = box_now_ns();
	sweep_build_targets(S, &words, force);
	setup_engine(S);
	box_sigset(&sigs, SIGINT, SIGTERM, 0);
	box_loop_open_signals(&S->loop, &sigs, on_signal, S);

	if (S->want_mac && !S->count && !S->port)
		sweep_mac_stage(S, 1);
	run_probes(S);
	if (S->interrupted)
		finish_interrupted(S);
	if (S->want_mac) {
		sweep_mac_stage(S, 0);
		S->want_mac = 0;
		sweep_emit_ready(S);
	}
	sweep_flush(S);
	if (S->count)
		sweep_print_count_summary(S);
	if (S->json)
		sweep_print_summary_json(S);
	sweep_flush(S);

	if (S->unknown_hosts)
		return EXIT_UNKNOWN_HOST;
	for (uint32_t i = 0; i < S->n; i++)
		if (S->t[i].state != T_ALIVE)
			return EXIT_SOME_DOWN;
	return EXIT_ALL_ALIVE;
}

const struct applet applet_sweep = {
	"sweep", sweep_main, usage, help, EXIT_USAGE, EXIT_FAIL,
};
