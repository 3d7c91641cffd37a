/* runner's ssh side. ssh exits 255 both when it could not connect and
 * when the remote command exited 255; the remote shell prints a marker
 * line before it runs the command, so 255 without the marker means the
 * command never started ("unreachable"). */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Where the remote shell's start marker must show up, at the latest. */
#define SENTINEL_WINDOW (1 << 16)

void make_sentinel(struct runner *r)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)box_wall_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)box_now_ns();
	snprintf(r->sentinel, sizeof(r->sentinel), "procbox-runner-%016llx",
		(unsigned long long)v);
}

/* ssh [--ssh words] -o BatchMode=yes HOST -- "echo MARKER;CMD"; *remote
 * is the last word, for the caller to free. */
char **remote_argv(struct runner *r, struct job *j, char **remote)
{
	char **argv = box_xcalloc((size_t)r->ssh_argc + 6, sizeof(char *));
	memcpy(argv, r->ssh_argv, (size_t)r->ssh_argc * sizeof(char *));
	*remote = box_xasprintf("echo %s;%s", r->sentinel, j->cmd);
	argv[r->ssh_argc] = "-o";
	argv[r->ssh_argc + 1] = "BatchMode=yes";
	argv[r->ssh_argc + 2] = (char *)j->host;
	argv[r->ssh_argc + 3] = "--";
	argv[r->ssh_argc + 4] = *remote;
	return argv;
}

/* Whatever a login script printed before the marker is kept; the marker
 * line is removed. */
void find_sentinel(struct runner *r, struct job *j)
{
	struct sink *s = &j->out[0];
	size_t n = strlen(r->sentinel);
	char *p = s->mem.p, *end = p + s->mem.len, *hit;

	while ((hit = memmem(p, (size_t)(end - p), r->sentinel, n))) {
		if (hit + n >= end)
			return;    /* the rest of the line is still to come */
		if ((hit == s->mem.p || hit[-1] == '\n') && hit[n] == '\n') {
			memmove(hit, hit + n + 1, (size_t)(end - hit) - n - 1);
			s->mem.len -= n + 1;
			s->mem.p[s->mem.len] = 0;
			s->bytes -= n + 1;
			j->sentinel_pending = 0;
			return;
		}
		p = hit + 1;
	}
	if (s->mem.len > SENTINEL_WINDOW)
		j->sentinel_pending = 0;
}
