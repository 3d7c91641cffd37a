/* One wording for what several applets print: how a process ended, why a
 * command could not be started, and a duration. */
#include "box.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

const char *box_fmt_status(char *buf, size_t n, int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *name = box_signame(sig);
		snprintf(buf, n, "killed by SIG%s (%s)%s", name ? name : "?", strsignal(sig),
			WCOREDUMP(status) ? ", core dumped" : "");
	} else {
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	}
	return buf;
}

const char *box_fmt_spawn_error(char *buf, size_t n, const char *cmd,
	const struct box_spawn_error *e)
{
	if (!strcmp(e->what, "execute"))
		snprintf(buf, n, "unable to execute %s: %s", cmd, strerror(e->err));
	else
		snprintf(buf, n, "unable to %s for %s: %s", e->what, cmd, strerror(e->err));
	return buf;
}

const char *box_fmt_duration(char *buf, size_t n, int64_t ns)
{
	if (ns % BOX_NSEC == 0)
		snprintf(buf, n, "%llds", (long long)(ns / BOX_NSEC));
	else if (ns % 1000000 == 0)
		snprintf(buf, n, "%lldms", (long long)(ns / 1000000));
	else if (ns % 1000 == 0)
		snprintf(buf, n, "%lldus", (long long)(ns / 1000));
	else
		snprintf(buf, n, "%lldns", (long long)ns);
	return buf;
}

void box_base64(struct box_buf *b, const void *data, size_t n)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *q = data;
	for (size_t k = 0; k < n; k += 3) {
		size_t left = n - k;
		unsigned v = (unsigned)q[k] << 16 | (left > 1 ? (unsigned)q[k + 1] << 8 : 0) |
			(left > 2 ? q[k + 2] : 0);
		box_buf_addc(b, digits[v >> 18 & 63]);
		box_buf_addc(b, digits[v >> 12 & 63]);
		box_buf_addc(b, left > 1 ? digits[v >> 6 & 63] : '=');
		box_buf_addc(b, left > 2 ? digits[v & 63] : '=');
	}
}
