/* sweep's ICMP probes: one socket per family (an unprivileged ICMP
 * datagram socket when net.ipv4.ping_group_range allows it, a raw socket
 * otherwise), echo requests carrying a payload that identifies the probe,
 * and replies matched back to it. */
#include "sweep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SWEEP_RCVBUF (8 << 20)
_Static_assert(sizeof(struct payload) <= SWEEP_ICMP_DATA, "the payload fits the echo data");
/* <linux/icmp.h>: raw IPv4 ICMP socket type filter */
#define SWEEP_ICMP_FILTER 1

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

void icmp_open(struct sweep *S, int fam)
{
	int domain = fam ? AF_INET6 : AF_INET, proto = fam ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd, size = SWEEP_RCVBUF;

	fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	S->icmp_dgram[fam] = fd >= 0;
	if (fd < 0)
		fd = socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0 && (errno == EPERM || errno == EACCES))
		box_fatal("unable to open an ICMP%s socket: %s (allow this group in sysctl "
			"net.ipv4.ping_group_range, or run as root or with CAP_NET_RAW, "
			"or probe TCP with -p PORT)", fam ? "v6" : "", strerror(errno));
	if (fd < 0)
		box_fatal_errno("unable to open an ICMP%s socket", fam ? "v6" : "");
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
			/* echo replies, and the errors fping reports: unreachable,
			 * source quench, redirect, time exceeded, parameter problem */
			uint32_t blocked = ~(1u << 0 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 11 | 1u << 12);
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
		box_fatal_errno("unable to read the ICMP socket's port");
	S->icmp_id[fam] = ntohs(ss.ss_family == AF_INET6 ?
		((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	/* still unbound when the first send was refused: ask again later */
	S->icmp_id_known[fam] = S->icmp_id[fam] != 0;
}

/* An echo request for the probe of target idx into pkt, its address
 * into ss: the address's length. */
static socklen_t icmp_build(struct sweep *S, uint32_t idx, uint32_t probe, int64_t now,
	uint8_t pkt[8 + SWEEP_ICMP_DATA], struct sockaddr_storage *ss)
{
	struct target *t = &S->t[idx];
	int fam = t->family;
	struct payload pl = { S->tag, idx, probe, now };
	uint16_t id = S->icmp_id[fam], seq = probe_seq(idx, probe);

	memset(pkt, 0, 8 + SWEEP_ICMP_DATA);
	pkt[0] = fam ? ICMP6_ECHO_REQUEST : 8;
	pkt[4] = (uint8_t)(id >> 8), pkt[5] = (uint8_t)id;
	pkt[6] = (uint8_t)(seq >> 8), pkt[7] = (uint8_t)seq;
	memcpy(pkt + 8, &pl, sizeof(pl));
	if (!fam) {
		uint16_t sum = inet_checksum(pkt, 8 + SWEEP_ICMP_DATA);
		pkt[2] = (uint8_t)(sum >> 8), pkt[3] = (uint8_t)sum;
	}
	return sweep_sockaddr(t, 0, ss);
}

size_t icmp_send(struct sweep *S, int fam, const uint32_t *idx, const uint32_t *probe,
	size_t n, int64_t now)
{
	static uint8_t pkt[SWEEP_BATCH][8 + SWEEP_ICMP_DATA];
	struct sockaddr_storage ss[SWEEP_BATCH];
	struct mmsghdr msgs[SWEEP_BATCH];
	struct iovec iov[SWEEP_BATCH];

	if (S->icmp_fd[fam] < 0)
		icmp_open(S, fam);
	for (size_t i = 0; i < n; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_namelen = icmp_build(S, idx[i], probe[i], now, pkt[i], &ss[i]);
		msgs[i].msg_hdr.msg_name = &ss[i];
		iov[i] = (struct iovec){ pkt[i], sizeof(pkt[i]) };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	size_t done = 0;
	while (done < n) {
		/* the system call itself: musl's sendmmsg is a loop of sendmsg
		 * (its msghdr pads are zero here, so the kernel reads it as its own) */
		int r = (int)syscall(SYS_sendmmsg, S->icmp_fd[fam], msgs + done, (unsigned)(n - done), 0);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			S->blocked_fd = S->icmp_fd[fam];
			break;
		}
		done++;	/* refused on the way out: lost, like one never answered */
	}
	if (done && !S->icmp_id_known[fam])
		learn_icmp_id(S, fam);
	return done;
}

/* fping's words for the ICMP errors it reports */
static const char *const unreach_names[16] = {
	"Network Unreachable", "Host Unreachable", "Protocol Unreachable", "Port Unreachable",
	"Unreachable (Fragmentation Needed)", "Unreachable (Source Route Failed)",
	"Unreachable (Destination Network Unknown)", "Unreachable (Destination Host Unknown)",
	"Unreachable (Source Host Isolated)",
	"Unreachable (Communication with Network Prohibited)",
	"Unreachable (Communication with Host Prohibited)",
	"Unreachable (Network Unreachable For Type Of Service)",
	"Unreachable (Host Unreachable For Type Of Service)",
	"Unreachable (Communication Administratively Prohibited)",
	"Unreachable (Host Precedence Violation)", "Unreachable (Precedence cutoff in effect)",
};

static struct target *sort_base;

static int cmp_addr(const void *a, const void *b)
{
	return memcmp(sort_base[*(const uint32_t *)a].addr, sort_base[*(const uint32_t *)b].addr, 4);
}

/* The IPv4 target an ICMP error is about: its echo request (id and
 * sequence) is quoted after the error's header. */
static struct target *quoted_target(struct sweep *S, const uint8_t *q, size_t len)
{
	size_t ihl = (size_t)(q[0] & 0x0f) * 4;
	if (len < 20 || ihl < 20 || len < ihl + 8)
		return NULL;
	const uint8_t *o = q + ihl;
	uint16_t seq = (uint16_t)(o[6] << 8 | o[7]);
	if (o[0] != 8 || (o[4] << 8 | o[5]) != S->icmp_id[0])
		return NULL;
	/* the IPv4 targets sorted by address, made at the first error */
	if (!S->by_addr) {
		S->by_addr = box_xmalloc((S->n + 1) * sizeof(*S->by_addr));
		for (uint32_t i = 0; i < S->n; i++)
			if (!S->t[i].family)
				S->by_addr[S->nby_addr++] = i;
		sort_base = S->t;
		qsort(S->by_addr, S->nby_addr, sizeof(*S->by_addr), cmp_addr);
	}
	size_t lo = 0, hi = S->nby_addr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(S->t[S->by_addr[mid]].addr, q + 16, 4) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a name and its address are two targets: the sequence tells them apart */
	for (; lo < S->nby_addr && !memcmp(S->t[S->by_addr[lo]].addr, q + 16, 4); lo++) {
		struct target *t = &S->t[S->by_addr[lo]];
		for (uint32_t p = 0; p < t->tries; p++)
			if (probe_seq(S->by_addr[lo], p) == seq)
				return t;
	}
	return NULL;
}

/* fping's warning for an ICMP error caused by one of our echo requests:
 * "ICMP Host Unreachable from 10.0.0.1 for ICMP Echo sent to 10.0.9.9". */
static void icmp_error(struct sweep *S, const uint8_t *p, size_t len,
	const struct sockaddr_storage *from)
{
	static const char *const names[13] = {
		[4] = "Source Quench", [5] = "Redirect", [11] = "Time Exceeded",
		[12] = "Parameter Problem",
	};
	char buf[INET6_ADDRSTRLEN], src[INET_ADDRSTRLEN];
	struct target *t;

	if (S->quiet || len < 8 || !(t = quoted_target(S, p + 8, len - 8)))
		return;
	inet_ntop(AF_INET, &((const struct sockaddr_in *)from)->sin_addr, src, sizeof(src));
	const char *what = p[0] == 3 ? (p[1] < 16 ? unreach_names[p[1]] : "Unreachable (Invalid Code)")
		: p[0] < 13 && names[p[0]] ? names[p[0]] : NULL;
	if (what)
		dprintf(2, "ICMP %s from %s for ICMP Echo sent to %s\n", what, src,
			sweep_display(t, buf, sizeof(buf)));
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
		if (len >= 8 && p[0] != 0) {
			icmp_error(S, p, len, from);
			return;
		}
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
	sweep_probe_answered(S, pl.idx, pl.probe, now - pl.sent);
}

#define SWEEP_RECV_BATCH 32

void icmp_receive(struct sweep *S, int fam)
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

static void icmp_readable(void *ctx, int fd, short revents)
{
	struct sweep *S = ctx;

	if (revents & (POLLIN | POLLERR))
		icmp_receive(S, fd == S->icmp_fd[1]);
}

void icmp_wait(struct sweep *S)
{
	for (int fam = 0; fam < 2; fam++)
		box_loop_fd(&S->loop, S->icmp_fd[fam],
			(short)(POLLIN | (S->icmp_fd[fam] == S->blocked_fd ? POLLOUT : 0)),
			icmp_readable, S);
}
