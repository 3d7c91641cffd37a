/* Fuzz target: sweep's target parser (addresses, CIDR blocks, ranges,
 * host names). Checks the invariants the engine relies on. */
#include "../../applets/sweep/targets.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct sweep_spec sp;
	uint8_t addr[16];

	memcpy(s, data, size);
	s[size] = 0;
	int kind = sweep_parse_spec(s, &sp);
	if (kind != sp.kind)
		abort();
	if (kind == SWEEP_BAD && !sp.why)
		abort();
	if (kind == SWEEP_V4 || kind == SWEEP_V6 || kind == SWEEP_NAME) {
		if (!sp.count)
			abort();
		if (kind == SWEEP_V4 && sp.count > 1ull << 32)
			abort();
		if (kind == SWEEP_V4 && (uint64_t)sp.v4_first + sp.count - 1 > UINT32_MAX)
			abort();
	}
	if (kind == SWEEP_V4 || kind == SWEEP_V6) {
		/* the first and last few addresses of the run */
		uint64_t n = sp.count;
		for (uint64_t i = 0; i < n && i < 4; i++)
			sweep_spec_addr(&sp, i, addr);
		for (uint64_t i = n > 4 ? n - 4 : 0; i < n && n != UINT64_MAX; i++)
			sweep_spec_addr(&sp, i, addr);
	}
	free(s);
	return 0;
}
