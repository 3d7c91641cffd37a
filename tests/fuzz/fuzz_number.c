/* Fuzz target: the strict number parser. An accepted string is exactly
 * what strtoll would accept in full, and the value is within range. And
 * box_strtod stops where libc's strtod stops (nan aside, which it does not
 * read), with the same value but for the last bits, and for results at the
 * edges of the range (subnormal, or rounding to the largest double). */
#include "../../libbox/box.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <strings.h>
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
	char *e1, *e2;
	double a = strtod(s, &e1), b = box_strtod(s, &e2);
	const char *p = s + strspn(s, " \t\n\v\f\r");
	p += *p == '+' || *p == '-';
	if (strncasecmp(p, "nan", 3)) {
		assert(e1 == e2);
		double fa = fabs(a), fb = fabs(b);
		if (isinf(a) || isinf(b))
			assert(fa >= DBL_MAX / 2 && fb >= DBL_MAX / 2);
		else if (fa < DBL_MIN * 1024 || fb < DBL_MIN * 1024)
			assert(fa <= DBL_MIN * 2048 && fb <= DBL_MIN * 2048);
		else
			assert(fabs(a - b) <= fa * 1e-14 && signbit(a) == signbit(b));
	}
	free(s);
	return 0;
}
