/* Fuzz target: the SMTP reply parser, fed a server's bytes line by line
 * as the client reads them. A code is 200-599, the line it came from has
 * three digits and then nothing, a blank or a dash, and the dash is
 * exactly what makes a line not the last of its reply. */
#include "../../libbox/box.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		size_t tl = len && s[len - 1] == '\r' ? len - 1 : len;
		char *line = malloc(tl + 1);   /* exact size: ASan sees overreads */
		memcpy(line, s, tl);
		int complete = -1;
		int code = box_smtp_parse_reply(line, tl, &complete);
		if (code != -1) {
			if (code < 200 || code > 599 || tl < 3)
				abort();
			if (code != (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'))
				abort();
			if (complete != (tl == 3 || line[3] == ' '))
				abort();
			if (tl > 3 && line[3] != ' ' && line[3] != '-')
				abort();
		}
		free(line);
		s += len + (nl != NULL);
	}
	return 0;
}
