/* sweep's target words (targets.c): what the parser tells the engine, the
 * unit tests and the fuzz target. */
#ifndef SWEEP_TARGETS_H
#define SWEEP_TARGETS_H

#include <stdint.h>

enum sweep_kind { SWEEP_BAD = -1, SWEEP_NAME, SWEEP_V4, SWEEP_V6 };

/* One target word, classified. V4 and V6 are runs of consecutive
 * addresses (a single address is a run of one). */
struct sweep_spec {
	int kind;
	uint32_t v4_first;     /* host byte order */
	uint8_t v6_first[16];
	uint64_t count;        /* UINT64_MAX: more than 2^63 addresses */
	const char *why;       /* SWEEP_BAD: what is wrong, for the message */
};

int sweep_parse_spec(const char *s, struct sweep_spec *sp);
/* Address i (< count) of a V4 or V6 spec in network byte order; an IPv4
 * address fills the first 4 bytes. */
void sweep_spec_addr(const struct sweep_spec *sp, uint64_t i, uint8_t addr[16]);

#endif
