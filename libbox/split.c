/* The command-string word splitter: shell quoting without expansion. */
#include "box.h"

#include <stdlib.h>
#include <string.h>

/* Words are written into one block after the pointer vector, so a single
 * free() releases everything. The unquoted text never grows when quotes
 * are removed, so strlen(s) + 1 bytes per word boundary is enough. */
int box_split(const char *s, char ***argvp, const char **err)
{
	size_t len = strlen(s), maxwords = len / 2 + 2;
	char **argv = box_xmalloc(maxwords * sizeof(char *) + 2 * len + 2);
	char *out = (char *)(argv + maxwords);
	int argc = 0;
	const char *p = s;

	*err = NULL;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		argv[argc++] = out;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');
				if (!end) {
					*err = "unterminated single quote";
					goto fail;
				}
				memcpy(out, p + 1, (size_t)(end - p - 1));
				out += end - p - 1;
				p = end + 1;
			} else if (*p == '"') {
				for (p++; *p != '"'; p++) {
					if (!*p) {
						*err = "unterminated double quote";
						goto fail;
					}
					if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
						if (*++p == '\n')
							continue;
					}
					*out++ = *p;
				}
				p++;
			} else if (*p == '\\') {
				if (!p[1]) {
					*err = "backslash at end of string";
					goto fail;
				}
				if (p[1] != '\n')
					*out++ = p[1];
				p += 2;
			} else {
				*out++ = *p++;
			}
		}
		*out++ = 0;
	}
	argv[argc] = NULL;
	*argvp = argv;
	return argc;
fail:
	free(argv);
	*argvp = NULL;
	return -1;
}

int box_is_simple_command(const char *s)
{
	for (; *s; s++)
		if (strchr("$`;&|<>()*?[~#={}!'\"\\\n", *s))
			return 0;
	return 1;
}
