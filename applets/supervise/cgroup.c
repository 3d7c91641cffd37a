/* supervise: memory_max, cpu_max=N% and pids_max through cgroup v2.
 * supervise uses a cgroup only when it has one to itself (delegated, as
 * systemd's Delegate=yes or a container gives it): every process in it is
 * the daemon or one of its programs. It then moves them into the leaf
 * OWN/supervise, as cgroup v2 keeps processes out of inner nodes, and each
 * limited program gets the sibling OWN/GROUP:NAME for as long as it runs.
 * Anywhere else (no cgroup v2, not writable, shared with others) nothing
 * is touched and the limits fall back to setrlimit. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[PATH_MAX];     /* "": no cgroup of our own */

/* base/NAME/FILE (NAME "" for base itself) into path: 0, or -1. */
static int cg_path(char *path, const char *name, const char *file)
{
	return snprintf(path, PATH_MAX, "%s/%s/%s", base, name, file) < PATH_MAX ? 0 : -1;
}

static int cg_open(const char *name, const char *file)
{
	char path[PATH_MAX];
	return cg_path(path, name, file) < 0 ? -1 : box_open(path, O_WRONLY, 0);
}

static int cg_write(const char *name, const char *file, const char *s)
{
	int fd = cg_open(name, file);
	int rc = fd < 0 ? -1 : box_write_str(fd, s);
	box_close(fd);
	return rc;
}

/* base/NAME made (or already there): 0, or -1; rm removes it instead. */
static int cg_dir(const char *name, int rm)
{
	char path[PATH_MAX];
	if (cg_path(path, name, "") < 0)
		return -1;
	if (rm)
		return rmdir(path);
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int is_ours(long pid)
{
	if (pid == getpid())
		return 1;
	for (size_t i = 0; i < sv.nprocs; i++)
		if (sv.procs[i]->pid == pid)
			return 1;
	return 0;
}

/* Moves the daemon and its programs into base/supervise, if nobody else
 * is in base: 0, or -1. */
static int move_into_leaf(void)
{
	struct box_buf b = { 0 };
	char path[PATH_MAX], pid[24];
	int rc = cg_path(path, "", "cgroup.procs") < 0 ? -1 : box_read_file(path, &b);

	for (char *s = b.p, *end; rc == 0; s = end) {
		long n = strtol(s, &end, 10);
		if (end == s)
			break;
		rc = is_ours(n) ? 0 : -1;
	}
	box_buf_free(&b);
	if (rc < 0 || cg_dir("supervise", 0) < 0 || cg_write("supervise", "cgroup.procs", "0") < 0)
		return -1;
	for (size_t i = 0; i < sv.nprocs; i++) {
		snprintf(pid, sizeof(pid), "%d", (int)sv.procs[i]->pid);
		if (sv.procs[i]->pid)
			cg_write("supervise", "cgroup.procs", pid);
	}
	return 0;
}

/* The daemon's own cgroup, set up the first time a program needs it. */
static int cg_setup(void)
{
	static int tried;
	struct box_buf b = { 0 };
	char *l;

	if (tried++)
		return base[0] ? 0 : -1;
	/* the cgroup v2 line, "0::/PATH" */
	if (box_read_file("/proc/self/cgroup", &b) == 0 && (l = strstr(b.p, "0::/"))) {
		l[3 + strcspn(l + 3, "\n")] = 0;
		if (snprintf(base, sizeof(base), "/sys/fs/cgroup%s", l + 3) >= PATH_MAX)
			base[0] = 0;
	}
	box_buf_free(&b);
	/* already in the leaf: a reload, or a manager that put it there */
	l = strrchr(base, '/');
	if (l && !strcmp(l, "/supervise"))
		*l = 0;
	else if (base[0] && move_into_leaf() < 0)
		base[0] = 0;
	if (!base[0])
		return -1;
	cg_write("", "cgroup.subtree_control", "+memory");
	cg_write("", "cgroup.subtree_control", "+cpu");
	cg_write("", "cgroup.subtree_control", "+pids");
	return 0;
}

/* GROUP:NAME, never the daemon's "supervise" */
static int cg_name(const struct proc *p, char *buf)
{
	return snprintf(buf, NAME_MAX + 1, "%s:%s", p->c->group, p->c->name) <= NAME_MAX ? 0 : -1;
}

int cgroup_enter(struct proc *p)
{
	const struct pconf *c = p->c;
	long long cpu = c->cpu_max < 0 ? -c->cpu_max : 0;
	const struct { const char *file, *fmt; long long value; } limit[] = {
		{ "memory.max", "%lld", c->memory_max },
		/* N% of a CPU: N ms in every 100 ms */
		{ "cpu.max", "%lld 100000", cpu * 1000 },
		{ "pids.max", "%lld", c->pids_max },
	};
	char name[NAME_MAX + 1], v[32];
	int fd;

	if (!(c->memory_max || cpu || c->pids_max))
		return -1;
	if (cg_setup() < 0 || cg_name(p, name) < 0 || cg_dir(name, 0) < 0)
		goto unlimited;
	for (size_t i = 0; i < BOX_ARRAY_LEN(limit); i++) {
		snprintf(v, sizeof(v), limit[i].fmt, limit[i].value);
		if (limit[i].value && cg_write(name, limit[i].file, v) < 0)
			goto failed;
	}
	if ((fd = cg_open(name, "cgroup.procs")) >= 0) {
		p->cgroup = 1;
		return fd;
	}
failed:
	cg_dir(name, 1);
unlimited:
	if (cpu || c->pids_max)
		mlog("WARN", "unable to apply %s to %s: no cgroup v2 of its own",
			c->pids_max ? "pids_max" : "cpu_max=N%", c->name);
	return -1;
}

void cgroup_leave(struct proc *p)
{
	char name[NAME_MAX + 1], path[PATH_MAX];
	struct box_buf b = { 0 };

	p->oom = 0;
	if (!p->cgroup)
		return;
	p->cgroup = 0;
	cg_name(p, name);
	if (WIFSIGNALED(p->status) && WTERMSIG(p->status) == SIGKILL &&
	    cg_path(path, name, "memory.events") == 0 && box_read_file(path, &b) == 0) {
		char *k = strstr(b.p, "oom_kill ");
		p->oom = k && atoi(k + 9) > 0;
	}
	box_buf_free(&b);
	cg_dir(name, 1);
}
