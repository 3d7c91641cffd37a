/* sweep's target words as tables: an address, CIDR block, range or host
 * name gives its kind, first and last address and count; a bad word gives
 * its reason. The cases are those of tests/sweep.bats, without a sweep. */
#include "../../applets/sweep/targets.h"
#include "../../libbox/box.h"
#include "unit.h"

#include <arpa/inet.h>
#include <string.h>

struct target_case {
	const char *word;
	int kind;
	const char *first, *last;    /* NULL for a host name */
	uint64_t count;
};

static const struct target_case target_cases[] = {
	{ "10.0.1.7", SWEEP_V4, "10.0.1.7", "10.0.1.7", 1 },
	{ "127.0.0.0/24", SWEEP_V4, "127.0.0.1", "127.0.0.254", 254 },
	{ "10.0.1.77/24", SWEEP_V4, "10.0.1.1", "10.0.1.254", 254 },
	{ "10.0.0.0/23", SWEEP_V4, "10.0.0.1", "10.0.1.254", 510 },
	{ "10.0.1.6/31", SWEEP_V4, "10.0.1.6", "10.0.1.7", 2 },
	{ "10.0.1.7/32", SWEEP_V4, "10.0.1.7", "10.0.1.7", 1 },
	{ "0.0.0.0/0", SWEEP_V4, "0.0.0.1", "255.255.255.254", (1ull << 32) - 2 },
	{ "10.0.1.10-20", SWEEP_V4, "10.0.1.10", "10.0.1.20", 11 },
	{ "10.0.1.250-10.0.2.5", SWEEP_V4, "10.0.1.250", "10.0.2.5", 12 },
	{ "10.0.1.5-5", SWEEP_V4, "10.0.1.5", "10.0.1.5", 1 },
	{ "::1", SWEEP_V6, "::1", "::1", 1 },
	{ "fd00::/126", SWEEP_V6, "fd00::", "fd00::3", 4 },
	{ "fd00::1:ff/120", SWEEP_V6, "fd00::1:0", "fd00::1:ff", 256 },
	{ "fd00::/64", SWEEP_V6, "fd00::", NULL, UINT64_MAX },
	{ "localhost", SWEEP_NAME, NULL, NULL, 1 },
	{ "fe80::1%eth0", SWEEP_NAME, NULL, NULL, 1 },
	{ "host_1.example-net.org", SWEEP_NAME, NULL, NULL, 1 },
};

struct target_error_case {
	const char *word, *why;
};

static const struct target_error_case target_errors[] = {
	{ "", "empty target" },
	{ "10.0.0.0/33", "prefix length is not 0-32" },
	{ "::/129", "prefix length is not 0-128" },
	{ "10.0.0.0/x", "invalid prefix length" },
	{ "10.0.0.0/", "invalid prefix length" },
	{ "10.0.0.0/1234", "invalid prefix length" },
	{ "10.0.0/24", "invalid network address" },
	{ "10.0.1.10-256", "range end is not 0-255" },
	{ "10.0.1.10-5", "range end is before its start" },
	{ "10.0.1.10-10.0.0.1", "range end is before its start" },
	{ "10.0.1.10-x", "invalid range end" },
	{ "10.0.1", "invalid IPv4 address" },
	{ "1.2.3.4.5", "invalid IPv4 address" },
	{ "fd00:::1", "invalid IPv6 address" },
	{ "-host", "not an address, range, CIDR block or host name" },
	{ "a b", "not an address, range, CIDR block or host name" },
	{ "host!", "not an address, range, CIDR block or host name" },
};

static void addr_text(const struct sweep_spec *sp, uint64_t i, char *buf, size_t n)
{
	uint8_t a[16];

	sweep_spec_addr(sp, i, a);
	inet_ntop(sp->kind == SWEEP_V6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)n);
}

UNIT_GROUP(targets, "targets")
{
	char first[INET6_ADDRSTRLEN], last[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < BOX_ARRAY_LEN(target_cases); i++) {
		const struct target_case *k = &target_cases[i];
		struct sweep_spec sp;
		int kind = sweep_parse_spec(k->word, &sp);
		int ok = kind == k->kind && sp.kind == k->kind && sp.count == k->count;
		if (ok && k->first) {
			addr_text(&sp, 0, first, sizeof(first));
			ok = !strcmp(first, k->first);
		}
		if (ok && k->last) {
			addr_text(&sp, sp.count - 1, last, sizeof(last));
			ok = !strcmp(last, k->last);
		}
		if (!ok)
			fprintf(stderr, "target '%s': kind %d, count %llu\n", k->word, kind,
				(unsigned long long)sp.count);
		CHECK(ok);
	}
	for (size_t i = 0; i < BOX_ARRAY_LEN(target_errors); i++) {
		struct sweep_spec sp;
		int kind = sweep_parse_spec(target_errors[i].word, &sp);
		int ok = kind == SWEEP_BAD && sp.why && !strcmp(sp.why, target_errors[i].why);
		if (!ok)
			fprintf(stderr, "target '%s': kind %d, %s\n", target_errors[i].word, kind,
				sp.why ? sp.why : "(no reason)");
		CHECK(ok);
	}
}
