/* sweep -m: hosts on directly connected IPv4 networks found by ARP, as
 * arp-scan does, when a packet socket may be opened: a host that drops
 * ICMP still answers ARP, and no neighbour-table entry is used, so a /20
 * is not cut at the table's size. Otherwise the MACs of the hosts ICMP
 * found alive come from what the kernel's neighbour table learnt. Routed
 * hosts get no MAC: a MAC behind a gateway is the gateway's. */
#include "sweep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	int64_t sent;            /* the last request to it */
};

struct iface_list {
	struct iface *v;
	size_t n, cap;
};

static struct iface *iface_get(struct iface_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	struct iface *f = BOX_PUSH(l->v, l->n, l->cap);
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->index = (int)if_nametoindex(name);
	return f;
}

static void load_ifaces(struct iface_list *l)
{
	struct ifaddrs *list;

	if (getifaddrs(&list) < 0)
		box_fatal_errno("unable to list network interfaces");
	for (struct ifaddrs *a = list; a; a = a->ifa_next) {
		if (!a->ifa_addr || (a->ifa_flags & IFF_LOOPBACK))
			continue;
		if (a->ifa_addr->sa_family == AF_PACKET) {
			struct sockaddr_ll *ll = (struct sockaddr_ll *)a->ifa_addr;
			struct iface *f = iface_get(l, a->ifa_name);
			if (ll->sll_hatype == ARPHRD_ETHER && ll->sll_halen == 6) {
				f->ether = 1;
				memcpy(f->mac, ll->sll_addr, 6);
			}
		} else if (a->ifa_addr->sa_family == AF_INET && a->ifa_netmask) {
			struct iface *f = iface_get(l, a->ifa_name);
			if (!f->addr) {
				f->addr = ntohl(((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr);
				f->mask = ntohl(((struct sockaddr_in *)a->ifa_netmask)->sin_addr.s_addr);
			}
		}
	}
	freeifaddrs(list);
}

/* The interface through which ip is reached without a gateway, from the
 * main routing table (longest prefix, then lowest metric); NULL when the
 * route goes through a gateway or leaves by a non-Ethernet link. */
/* "aa:bb:cc:dd:ee:ff" */
static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		char *end;
		unsigned long v = strtoul(s, &end, 16);
		if (end == s || end - s > 2 || v > 255 || *end != (i < 5 ? ':' : 0))
			return 0;
		mac[i] = (uint8_t)v;
		s = end + 1;
	}
	return 1;
}

static struct iface *direct_iface(const char *routes, uint32_t ip, const struct iface_list *ifs)
{
	char best_dev[IF_NAMESIZE + 1] = "", buf[256], *f[8];
	unsigned long dest, gw, flags, metric, mask;
	int best_len = -1, best_gw = 0;
	unsigned best_metric = 0;
	const char *line = routes;

	while ((line = strchr(line, '\n'))) {
		line++;
		/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
		if (box_fields(line, buf, sizeof(buf), f, 8) < 8 || strlen(f[0]) > IF_NAMESIZE ||
		    box_parse_hex(f[1], &dest) || box_parse_hex(f[2], &gw) ||
		    box_parse_hex(f[3], &flags) || box_parse_hex(f[7], &mask) ||
		    box_parse_hex(f[6], &metric))
			continue;
		uint32_t d = ntohl((uint32_t)dest), m = ntohl((uint32_t)mask);
		if (!(flags & 0x1) || (flags & 0x200) || (ip & m) != d)
			continue;	/* not RTF_UP, or RTF_REJECT */
		int len = __builtin_popcount(m);
		if (len > best_len || (len == best_len && metric < best_metric)) {
			best_len = len, best_metric = metric;
			best_gw = (flags & 0x2) || gw;	/* RTF_GATEWAY */
			snprintf(best_dev, sizeof(best_dev), "%s", f[0]);
		}
	}
	if (best_len < 0 || best_gw)
		return NULL;
	for (size_t i = 0; i < ifs->n; i++)
		if (!strcmp(ifs->v[i].name, best_dev))
			return ifs->v[i].ether && ifs->v[i].index > 0 ? &ifs->v[i] : NULL;
	return NULL;
}

static void arp_send(int fd, struct mac_want *w, int64_t now)
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
	w->sent = now;
}

/* The hosts asked for in this stage, and how many have answered; with
 * discover, an answer is the host's result (alive). */
struct arp_round {
	struct sweep *S;
	struct mac_want *want;
	size_t nwant, found;
	int discover;
};

static void arp_receive(void *ctx, int fd, short revents)
{
	struct arp_round *round = ctx;
	struct ether_arp rep;
	struct sockaddr_ll from;

	(void)revents;
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
		int64_t now = box_now_ns();
		memcpy(&spa, rep.arp_spa, 4);
		spa = ntohl(spa);
		for (size_t i = 0; i < round->nwant; i++) {
			const struct mac_want *w = &round->want[i];
			struct target *t = &round->S->t[w->idx];
			if (w->ip != spa || w->ifc->index != from.sll_ifindex)
				continue;
			if (!t->has_mac) {
				memcpy(t->mac, rep.arp_sha, 6);
				t->has_mac = 1;
				round->found++;
				if (round->discover)
					sweep_set_result(round->S, w->idx, 1, now - w->sent);
			} else if (memcmp(t->mac, rep.arp_sha, 6) && !t->has_dup) {
				/* a second host claims the address, as arp-scan's DUP */
				memcpy(t->dup_mac, rep.arp_sha, 6);
				t->has_dup = 1;
			}
		}
	}
}

/* Rounds of ARP requests to the hosts still without an answer, each
 * round waiting as long as the matching ICMP try would. */
static void arp_active(struct sweep *S, int fd, struct mac_want *want, size_t nwant, int discover)
{
	struct arp_round r = { S, want, nwant, 0, discover };
	struct box_loop *l = &S->loop;

	for (unsigned round = 0; round <= S->retries && r.found < nwant && !S->interrupted; round++) {
		size_t next = 0;
		int64_t now = box_now_ns(), end = -1;
		while (!S->interrupted) {
			while (next < nwant && now >= S->next_send) {
				if (!S->t[want[next].idx].has_mac)
					arp_send(fd, &want[next], now), S->next_send = now + S->interval;
				next++;
			}
			if (next == nwant && end < 0)
				end = now + S->timeouts[round];
			/* all answered: a moment more for a second claimant's reply */
			if (r.found == nwant && end > now + SWEEP_DUP_WAIT)
				end = now + SWEEP_DUP_WAIT;
			if (end >= 0 && now >= end)
				break;
			box_loop_begin(l);
			box_loop_signals(l);
			box_loop_fd(l, fd, POLLIN, arp_receive, &r);
			box_loop_deadline(l, next < nwant ? S->next_send : end);
			box_loop_wait(l);
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
		char buf[256], *f[6];
		unsigned long flags;
		uint8_t m[6];
		struct in_addr a;
		line++;
		/* IP-address HW-type Flags HW-address Mask Device */
		if (box_fields(line, buf, sizeof(buf), f, 6) < 6 || box_parse_hex(f[2], &flags) ||
		    !(flags & ATF_COM) || !parse_mac(f[3], m) || inet_pton(AF_INET, f[0], &a) != 1)
			continue;
		const char *dev = f[5];
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

/* discover: the pending IPv4 targets of directly connected networks are
 * probed by ARP, and decided by it (a host that does not answer ARP is
 * not on the link); otherwise the live ones without a MAC are asked
 * theirs, from the neighbour table when no packet socket can be opened. */
void sweep_mac_stage(struct sweep *S, int discover)
{
	struct iface_list ifs = { 0 };
	struct box_buf routes = { 0 };
	struct mac_want *want = box_xcalloc(S->n + 1, sizeof(*want));
	size_t nwant = 0;

	load_ifaces(&ifs);
	if (box_read_file("/proc/net/route", &routes) < 0)
		box_warn_errno("unable to read /proc/net/route");
	for (uint32_t i = 0; routes.p && i < S->n; i++) {
		struct target *t = &S->t[i];
		uint32_t ip;
		if (t->state != (discover ? T_PENDING : T_ALIVE) || t->family || t->has_mac)
			continue;
		memcpy(&ip, t->addr, 4);
		ip = ntohl(ip);
		struct iface *f = direct_iface(routes.p, ip, &ifs);
		if (f && f->addr == ip) {
			if (discover)
				continue;	/* our own address: ICMP decides it */
			memcpy(t->mac, f->mac, 6);
			t->has_mac = 1;
		} else if (f && f->addr) {
			want[nwant++] = (struct mac_want){ i, ip, f, 0 };
		}
	}
	if (nwant) {
		int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
		if (fd >= 0) {
			arp_active(S, fd, want, nwant, discover);
			close(fd);
			for (size_t i = 0; discover && i < nwant; i++)
				if (S->t[want[i].idx].state == T_PENDING)
					sweep_set_result(S, want[i].idx, 0, 0);
		} else if (!discover) {
			arp_from_neighbours(S, want, nwant);
		}
	}
	box_buf_free(&routes);
	free(want);
	free(ifs.v);
}
