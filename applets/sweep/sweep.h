/* sweep's engine state, shared by its files: sweep.c (options, the loop,
 * probe results), hosts.c (the host list), queue.c (event queues),
 * icmp.c and tcp.c (the probes), arp.c (the MAC stage), output.c. */
#ifndef SWEEP_H
#define SWEEP_H

#include "../../libbox/box.h"
#include "targets.h"

#include <sys/socket.h>

enum { T_PENDING, T_ALIVE, T_DOWN };

struct target {
	uint8_t addr[16];
	uint8_t family;          /* 0 IPv4, 1 IPv6 */
	uint8_t state;
	uint8_t queued;          /* waiting in the send queue */
	uint8_t has_mac, has_dup;
	uint8_t mac[6];
	uint8_t dup_mac[6];      /* -m: a second MAC that answered for it */
	uint8_t tcp_done;        /* its connect finished this turn */
	uint32_t tries;          /* probes sent */
	uint32_t received;       /* -c: replies */
	uint32_t resolved;       /* -c: probes answered or given up */
	int64_t rtt, rtt_min, rtt_max, rtt_sum;
	const char *name;        /* the host name given, if any */
	uint32_t scope;          /* IPv6 scope (interface) of a link-local address */
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
/* Echo data bytes, fping's and ping's default (64-byte ICMP messages);
 * the payload below leads them. */
#define SWEEP_ICMP_DATA 56

struct payload {
	uint64_t tag;            /* random per run */
	uint32_t idx, probe;
	int64_t sent;
};

struct sweep {
	struct target *t;
	size_t n, cap;
	/* options */
	int64_t interval, timeout, period;
	int timeout_set;         /* -t given */
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
	uint8_t *resolved_bits;  /* -c: one bit per probe, answered or given up */
	uint8_t *answered_bits;  /* -c: one bit per probe, answered in time */
	uint32_t *by_addr, nby_addr;  /* IPv4 targets by address, for ICMP errors */
	size_t bits_stride;
	uint32_t *inflight, ninflight, max_inflight;
	struct box_buf out;
	struct box_loop loop;
	int interrupted;
	unsigned unknown_hosts;
	int name_width;
};

/* hosts.c: the target words, and the hosts they expand to */
struct word_list {
	char **v;
	size_t n, cap;
};
void sweep_read_target_file(const char *path, struct word_list *w);
/* Expands, resolves and deduplicates the words into S->t; a bad word or
 * too many hosts are usage errors. */
void sweep_build_targets(struct sweep *S, struct word_list *w, int force);

/* queue.c */
void fifo_push(struct fifo *q, struct event e);
struct event *fifo_peek(struct fifo *q);
struct event *fifo_at(struct fifo *q, size_t i);   /* i < len */
void fifo_pop(struct fifo *q);
void heap_push(struct heap *h, struct event e);
struct event heap_pop(struct heap *h);

/* sweep.c: what a probe found out */
void sweep_probe_answered(struct sweep *S, uint32_t idx, uint32_t probe, int64_t rtt);
void sweep_probe_lost(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now, int timed_out);
/* A target decided outside the probes (ARP discovery). */
void sweep_set_result(struct sweep *S, uint32_t idx, int alive, int64_t rtt);

/* icmp.c */
void icmp_open(struct sweep *S, int fam);
/* Echo requests for probe[i] of target idx[i], n (at most SWEEP_BATCH)
 * targets of one family, in one sendmmsg: how many went out (a request
 * refused on its way out counts, as a lost probe); fewer than n when the
 * socket is full. */
#define SWEEP_BATCH 32
size_t icmp_send(struct sweep *S, int fam, const uint32_t *idx, const uint32_t *probe,
	size_t n, int64_t now);
void icmp_receive(struct sweep *S, int fam);
void icmp_wait(struct sweep *S);   /* adds the sockets to S->loop */

/* tcp.c */
socklen_t sweep_sockaddr(const struct target *t, int port, struct sockaddr_storage *ss);
int tcp_send(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now);
void tcp_close(struct sweep *S, uint32_t idx);
void tcp_schedule_next(struct sweep *S, uint32_t idx, int64_t now);
/* The turn's connects in flight: tcp_wait adds their fds to S->loop,
 * tcp_finish_marked decides those that finished, after the turn. */
void tcp_wait(struct sweep *S);
void tcp_finish_marked(struct sweep *S);

/* arp.c */
#define SWEEP_DUP_WAIT 50000000  /* ns a discovery waits for duplicates */
/* discover: probe the pending targets of direct networks by ARP (before
 * the probes); else find the MACs of the live ones (after them). */
void sweep_mac_stage(struct sweep *S, int discover);

/* output.c */
const char *sweep_display(const struct target *t, char *buf, size_t len);
void sweep_flush(struct sweep *S);
void sweep_emit_ready(struct sweep *S);
void sweep_print_probe(struct sweep *S, const struct target *t, uint32_t probe, int64_t rtt);
void sweep_print_timeout(struct sweep *S, const struct target *t, uint32_t probe);
void sweep_print_duplicate(struct sweep *S, const struct target *t, uint32_t probe, int64_t rtt);
void sweep_print_count_summary(struct sweep *S);
void sweep_print_summary_json(struct sweep *S);

#endif
