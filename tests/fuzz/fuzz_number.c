/* Fuzz target: the strict number parser. An accepted string is exactly
 * what strtoll would accept in full, and the value is within range. */
#include "../../libbox/box.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1);
	long long v = 0;
	memcpy(s, data, size);
	s[size] = 0;
	int r = box_parse_ll(s, -1000000, 1000000, &v);
	if (r == BOX_PARSE_OK) {
		char *end;
		errno = 0;
		long long w = strtoll(s, &end, 10);
		assert(!*end && errno == 0 && w == v);
		assert(v >= -1000000 && v <= 1000000);
		assert(s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9'));
	}
	free(s);
	return 0;
}
