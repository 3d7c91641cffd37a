/* Fuzz target: supervise's INI reader (supervisord's dialect). */
#include "../../applets/supervise/ini.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ini ini = { 0 };
	struct box_buf err = { 0 };

	if (ini_parse_buf(&ini, (const char *)data, size, "fuzz.conf", &err) == 0) {
		for (size_t i = 0; i < ini.nsec; i++)
			for (size_t k = 0; k < ini.sec[i].nkv; k++)
				/* every key is non-empty and on a real line */
				if (!ini.sec[i].kv[k].key[0] || ini.sec[i].kv[k].line <= 0)
					__builtin_trap();
	} else if (!err.len || !strstr(err.p, "fuzz.conf:")) {
		__builtin_trap();
	}
	ini_free(&ini);
	box_buf_free(&err);
	return 0;
}
