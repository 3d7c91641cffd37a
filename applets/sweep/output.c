/* sweep's output: a line per host (fping's wording), -c's per-probe
 * lines and summary, and JSON lines with libbox's writer. Everything goes
 * through S->out, flushed in large writes. */
#include "sweep.h"

#include <arpa/inet.h>
#include <stdio.h>

static void format_addr(const struct target *t, char *buf, size_t len)
{
	inet_ntop(t->family ? AF_INET6 : AF_INET, t->addr, buf, (socklen_t)len);
}

const char *sweep_display(const struct target *t, char *buf, size_t len)
{
	if (t->name)
		return t->name;
	format_addr(t, buf, len);
	return buf;
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

/* fping's precision: three significant digits or so. */
static void add_ms(struct box_buf *b, int64_t ns)
{
	double v = ms(ns);
	const char *fmt = v < 1 ? "%.3f" : v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f";
	box_buf_printf(b, fmt, v);
}

static const char *format_mac(const uint8_t *m, char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static unsigned loss_pct(const struct target *t)
{
	return t->tries ? (t->tries - t->received) * 100 / t->tries : 0;
}

void sweep_flush(struct sweep *S)
{
	if (S->out.len && box_write_all(1, S->out.p, S->out.len) < 0)
		box_fatal_errno("unable to write");
	S->out.len = 0;
}

static void print_json(struct sweep *S, const struct target *t)
{
	char addr[INET6_ADDRSTRLEN], mac[18];
	struct box_json j;

	format_addr(t, addr, sizeof(addr));
	box_json_begin(&j, &S->out);
	box_json_s(&j, "address", addr);
	box_json_s(&j, "name", t->name);
	box_json_b(&j, "alive", t->state == T_ALIVE);
	if (t->state == T_ALIVE)
		box_json_f(&j, "rtt_ms", "%.3f", ms(S->count ? t->rtt_sum / t->received : t->rtt));
	else
		box_json_null(&j, "rtt_ms");
	box_json_i(&j, "tries", t->tries);
	box_json_s(&j, "mac", t->has_mac ? format_mac(t->mac, mac) : NULL);
	if (t->has_dup)
		box_json_s(&j, "duplicate_mac", format_mac(t->dup_mac, mac));
	if (S->count) {
		box_json_i(&j, "sent", t->tries);
		box_json_i(&j, "received", t->received);
		box_json_i(&j, "loss_pct", loss_pct(t));
		if (t->received) {
			box_json_f(&j, "min_ms", "%.3f", ms(t->rtt_min));
			box_json_f(&j, "avg_ms", "%.3f", ms(t->rtt_sum / t->received));
			box_json_f(&j, "max_ms", "%.3f", ms(t->rtt_max));
		}
	}
	box_json_end(&j);
	box_buf_addc(&S->out, '\n');
}

static void print_target(struct sweep *S, const struct target *t)
{
	char buf[INET6_ADDRSTRLEN];
	int alive = t->state == T_ALIVE;

	/* -q silences the per-target lines, not the -a/-u lists (fping -aq) */
	if (S->quiet && !S->show_alive && !S->show_unreach)
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
	box_buf_adds(&S->out, sweep_display(t, buf, sizeof(buf)));
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
		char mac[18];
		box_buf_addc(&S->out, ' ');
		box_buf_adds(&S->out, format_mac(t->mac, mac));
		if (t->has_dup) {
			box_buf_adds(&S->out, " DUP ");
			box_buf_adds(&S->out, format_mac(t->dup_mac, mac));
		}
	}
	box_buf_addc(&S->out, '\n');
}

/* Prints every final result that may be printed now. */
void sweep_emit_ready(struct sweep *S)
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
		sweep_flush(S);
}

/* -c: the end of fping's per-probe lines, " (0.045 avg, 0% loss)" */
static void add_avg_loss(struct box_buf *b, const struct target *t)
{
	box_buf_adds(b, " (");
	if (t->received)
		add_ms(b, t->rtt_sum / t->received);
	else
		box_buf_adds(b, "NaN");
	box_buf_printf(b, " avg, %u%% loss)\n", loss_pct(t));
}

/* -c: whether fping's per-probe lines are printed */
static int per_probe(const struct sweep *S)
{
	return !S->quiet && !S->json && !S->show_alive && !S->show_unreach;
}

/* -c: fping's line for a probe that timed out. */
void sweep_print_timeout(struct sweep *S, const struct target *t, uint32_t probe)
{
	char buf[INET6_ADDRSTRLEN];
	struct box_buf *b = &S->out;

	if (!per_probe(S))
		return;
	box_buf_printf(b, "%-*s : [%u], timed out", S->name_width, sweep_display(t, buf, sizeof(buf)), probe);
	add_avg_loss(b, t);
}

/* -c: fping's line, on stderr, for a second reply to a probe, when there
 * are no per-probe lines. */
void sweep_print_duplicate(struct sweep *S, const struct target *t, uint32_t probe, int64_t rtt)
{
	char buf[INET6_ADDRSTRLEN];
	struct box_buf b = { 0 };

	if (per_probe(S) || S->json)
		return;
	box_buf_printf(&b, "%s : duplicate for [%u], %d bytes, ", sweep_display(t, buf, sizeof(buf)),
		probe, 8 + SWEEP_ICMP_DATA);
	add_ms(&b, rtt);
	box_buf_adds(&b, " ms\n");
	box_write_all(2, b.p, b.len);
	box_buf_free(&b);
}

/* -c: fping's per-reply line. */
void sweep_print_probe(struct sweep *S, const struct target *t, uint32_t probe, int64_t rtt)
{
	char buf[INET6_ADDRSTRLEN];
	struct box_buf *b = &S->out;

	if (!per_probe(S))
		return;
	box_buf_printf(b, "%-*s : [%u], ", S->name_width, sweep_display(t, buf, sizeof(buf)), probe);
	if (S->port)
		box_buf_printf(b, "port %d, ", S->port);
	else
		box_buf_printf(b, "%d bytes, ", 8 + SWEEP_ICMP_DATA);
	add_ms(b, rtt);
	box_buf_adds(b, " ms");
	add_avg_loss(b, t);
}

/* -c: fping's summary lines, on stderr like fping's. */
void sweep_print_count_summary(struct sweep *S)
{
	struct box_buf b = { 0 };
	char buf[INET6_ADDRSTRLEN];

	if (S->json)
		return;
	/* fping's blank line between the per-probe lines and the summary */
	if (per_probe(S))
		box_buf_addc(&b, '\n');
	for (uint32_t i = 0; i < S->n; i++) {
		const struct target *t = &S->t[i];
		box_buf_printf(&b, "%-*s : xmt/rcv/%%loss = %u/%u/%u%%", S->name_width,
			sweep_display(t, buf, sizeof(buf)), t->tries, t->received, loss_pct(t));
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

/* How the hosts were probed, for the JSON summary. */
static const char *probe_method(const struct sweep *S)
{
	static const char *const icmp_kind[2] = { "icmp-raw", "icmp-dgram" };

	if (S->port)
		return "tcp";
	for (int fam = 0; fam < 2; fam++)
		if (S->icmp_fd[fam] >= 0)
			return icmp_kind[S->icmp_dgram[fam]];
	return "none";
}

void sweep_print_summary_json(struct sweep *S)
{
	struct box_json j;
	uint32_t alive = 0;

	for (size_t i = 0; i < S->n; i++)
		alive += S->t[i].state == T_ALIVE;
	box_json_begin(&j, &S->out);
	box_json_b(&j, "summary", 1);
	box_json_i(&j, "targets", (long long)S->n);
	box_json_i(&j, "alive", alive);
	box_json_i(&j, "unreachable", (long long)(S->n - alive));
	box_json_i(&j, "unknown_hosts", S->unknown_hosts);
	box_json_s(&j, "method", probe_method(S));
	box_json_b(&j, "interrupted", S->interrupted);
	box_json_f(&j, "elapsed_ms", "%.3f", ms(box_now_ns() - S->start));
	box_json_end(&j);
	box_buf_addc(&S->out, '\n');
}
