/* Fuzz target: the command-string word splitter. Checks that it never
 * reads or writes out of bounds, that words contain no NUL, that success
 * and failure are consistent, and that re-quoting the words and splitting
 * again gives the same words. */
#include "../../libbox/box.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1), **argv, **again;
	const char *err;
	memcpy(s, data, size);
	s[size] = 0;

	int n = box_split(s, &argv, &err);
	if (n < 0) {
		assert(err && argv == NULL);
		free(s);
		return 0;
	}
	assert(argv[n] == NULL);
	struct box_buf q = { 0 };
	for (int i = 0; i < n; i++) {
		box_buf_addc(&q, '\'');
		for (const char *p = argv[i]; *p; p++) {
			if (*p == '\'')
				box_buf_adds(&q, "'\\''");
			else
				box_buf_addc(&q, *p);
		}
		box_buf_adds(&q, "' ");
	}
	box_buf_addc(&q, 0);
	int m = box_split(q.p, &again, &err);
	assert(m == n);
	for (int i = 0; i < n; i++)
		assert(!strcmp(argv[i], again[i]));
	free(again);
	free(argv);
	box_buf_free(&q);
	free(s);
	return 0;
}
