/* sweep's target words: an IPv4 or IPv6 address, a CIDR block, an IPv4
 * range (a.b.c.d-e, a.b.c.d-a.b.c.e) or a host name. Kept apart from the
 * engine so the fuzz target can drive it without any network. */
#include "targets.h"

#include <arpa/inet.h>
#include <string.h>

static int is_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int parse_v4(const char *s, size_t n, uint32_t *out)
{
	char buf[16];
	struct in_addr a;

	if (!n || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return 0;
	*out = ntohl(a.s_addr);
	return 1;
}

static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (!n || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	return inet_pton(AF_INET6, buf, out) == 1;
}

/* Letters, digits, '-', '.', '_'; "%" and ':' for a scoped IPv6 address
 * (fe80::1%eth0) that getaddrinfo resolves. */
static int is_host_name(const char *s)
{
	if (*s == '-' || *s == '.')
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		      c == '%' || c == ':'))
			return 0;
	}
	return 1;
}

static int bad(struct sweep_spec *sp, const char *why)
{
	sp->kind = SWEEP_BAD;
	sp->why = why;
	return SWEEP_BAD;
}

static int v4_run(struct sweep_spec *sp, uint32_t first, uint64_t count)
{
	sp->kind = SWEEP_V4;
	sp->v4_first = first;
	sp->count = count;
	return SWEEP_V4;
}

static int parse_cidr(const char *s, const char *slash, struct sweep_spec *sp)
{
	const char *bits = slash + 1;
	size_t blen = strlen(bits);
	uint32_t a;

	if (!is_digits(bits, blen) || blen > 3)
		return bad(sp, "invalid prefix length");
	unsigned plen = (unsigned)(bits[0] - '0');
	for (size_t i = 1; i < blen; i++)
		plen = plen * 10 + (unsigned)(bits[i] - '0');
	if (parse_v4(s, (size_t)(slash - s), &a)) {
		if (plen > 32)
			return bad(sp, "prefix length is not 0-32");
		uint32_t mask = plen ? ~0u << (32 - plen) : 0;
		uint32_t net = a & mask;
		if (plen == 32)
			return v4_run(sp, a, 1);
		if (plen == 31)
			return v4_run(sp, net, 2);
		/* below /31 the network and broadcast addresses are not hosts */
		return v4_run(sp, net + 1, (1ull << (32 - plen)) - 2);
	}
	if (parse_v6(s, (size_t)(slash - s), sp->v6_first)) {
		if (plen > 128)
			return bad(sp, "prefix length is not 0-128");
		for (unsigned i = 0; i < 16; i++) {
			unsigned keep = plen > i * 8 ? plen - i * 8 : 0;
			if (keep < 8)
				sp->v6_first[i] &= (uint8_t)(0xff00 >> keep);
		}
		unsigned host_bits = 128 - plen;
		sp->kind = SWEEP_V6;
		sp->count = host_bits >= 63 ? UINT64_MAX : 1ull << host_bits;
		return SWEEP_V6;
	}
	return bad(sp, "invalid network address");
}

static int parse_range(uint32_t first, const char *end, struct sweep_spec *sp)
{
	size_t n = strlen(end);
	uint32_t last;

	if (is_digits(end, n) && n <= 3) {
		unsigned octet = 0;
		for (size_t i = 0; i < n; i++)
			octet = octet * 10 + (unsigned)(end[i] - '0');
		if (octet > 255)
			return bad(sp, "range end is not 0-255");
		last = (first & ~0xffu) | octet;
	} else if (!parse_v4(end, n, &last)) {
		return bad(sp, "invalid range end");
	}
	if (last < first)
		return bad(sp, "range end is before its start");
	return v4_run(sp, first, (uint64_t)last - first + 1);
}

int sweep_parse_spec(const char *s, struct sweep_spec *sp)
{
	size_t len = strlen(s);
	const char *slash = strchr(s, '/'), *dash = strchr(s, '-');
	uint32_t a;

	memset(sp, 0, sizeof(*sp));
	if (!len)
		return bad(sp, "empty target");
	if (len > 253)
		return bad(sp, "too long");
	if (slash)
		return parse_cidr(s, slash, sp);
	if (dash && parse_v4(s, (size_t)(dash - s), &a))
		return parse_range(a, dash + 1, sp);
	if (parse_v4(s, len, &a))
		return v4_run(sp, a, 1);
	if (parse_v6(s, len, sp->v6_first)) {
		sp->kind = SWEEP_V6;
		sp->count = 1;
		return SWEEP_V6;
	}
	if (strspn(s, "0123456789.") == len)
		return bad(sp, "invalid IPv4 address");
	if (strchr(s, ':') && !strchr(s, '%'))
		return bad(sp, "invalid IPv6 address");
	if (!is_host_name(s))
		return bad(sp, "not an address, range, CIDR block or host name");
	sp->kind = SWEEP_NAME;
	sp->count = 1;
	return SWEEP_NAME;
}

void sweep_spec_addr(const struct sweep_spec *sp, uint64_t i, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (sp->kind == SWEEP_V4) {
		uint32_t a = htonl(sp->v4_first + (uint32_t)i);
		memcpy(addr, &a, 4);
		return;
	}
	memcpy(addr, sp->v6_first, 16);
	for (int b = 15; b >= 0 && i; b--) {
		uint64_t sum = addr[b] + (i & 0xff);
		addr[b] = (uint8_t)sum;
		i = (i >> 8) + (sum >> 8);
	}
}
