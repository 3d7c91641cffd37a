/* Fuzz target: the duration parser. A parsed duration is never negative
 * nor above BOX_DURATION_MAX, and anything accepted has the documented
 * shape: digits, at most one '.', then a known unit. */
#include "../../libbox/box.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1);
	int64_t ns = -1;
	memcpy(s, data, size);
	s[size] = 0;
	int r = box_parse_duration(s, &ns);
	assert(r == BOX_PARSE_OK || r == BOX_PARSE_INVALID || r == BOX_PARSE_RANGE);
	if (r == BOX_PARSE_OK) {
		assert(ns >= 0 && ns <= BOX_DURATION_MAX);
		size_t digits = strspn(s, "0123456789.");
		const char *unit = s + digits;
		assert(digits > 0 && memchr(s, '.', digits) == strrchr(s, '.'));
		assert(!*unit || !strcmp(unit, "ns") || !strcmp(unit, "us") ||
		       !strcmp(unit, "ms") || !strcmp(unit, "s") || !strcmp(unit, "m") ||
		       !strcmp(unit, "h") || !strcmp(unit, "d"));
	}
	free(s);
	return 0;
}
