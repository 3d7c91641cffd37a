/* supervise: the control verbs, supervisorctl's, as a table. Each verb
 * writes its reply lines and code; start, stop, restart and update wait
 * for the processes (verbs_progress), tail -f streams. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


static int visible(const struct proc *p)
{
	return !p->removing;
}

/* A list of processes named on the command line. */
struct proc_list {
	struct proc **v;
	size_t n, cap;
};

/* Names: "all", "group:*", "group:", "group:name", "name" (the process
 * "name" of group "name", else the whole group "name"). */
static int resolve(const char *spec, struct proc_list *l)
{
	char *copy = box_xstrdup(spec), *colon = strchr(copy, ':');
	const char *group = copy, *name = NULL;
	int found = 0, all = !strcmp(spec, "all");

	if (colon) {
		*colon = 0;
		name = colon[1] && strcmp(colon + 1, "*") ? colon + 1 : NULL;
	}
	for (int pass = 0; pass < 2 && !found && !all; pass++) {
		for (size_t i = 0; i < sv.nprocs; i++) {
			struct proc *p = sv.procs[i];
			if (!visible(p) || strcmp(p->c->group, group))
				continue;
			if (colon ? (name && strcmp(p->c->name, name)) :
			    (pass == 0 && strcmp(p->c->name, group)))
				continue;
			*BOX_PUSH(l->v, l->n, l->cap) = p;
			found = 1;
		}
		if (colon)
			break;
	}
	for (size_t i = 0; all && i < sv.nprocs; i++)
		if (visible(sv.procs[i])) {
			*BOX_PUSH(l->v, l->n, l->cap) = sv.procs[i];
			found = 1;
		}
	free(copy);
	return found;
}

static int is_group_spec(const char *s)
{
	const char *c = strchr(s, ':');
	return c && (!c[1] || !strcmp(c + 1, "*"));
}

/* "a: ERROR (no such process)", or "(no such group)" for "g:*" */
static void no_such(struct client *cl, const char *spec, int process_code, int group_code)
{
	if (is_group_spec(spec)) {
		reply(cl, "%.*s: ERROR (no such group)", (int)strcspn(spec, ":"), spec);
		cl->code = group_code;
	} else {
		reply(cl, "%s: ERROR (no such process)", spec);
		cl->code = process_code;
	}
}

/* The processes named by av; unknown names are told with the codes. */
static void collect(struct client *cl, char **av, int ac, struct proc_list *l,
	int process_code, int group_code)
{
	for (int i = 0; i < ac; i++)
		if (!resolve(av[i], l))
			no_such(cl, av[i], process_code, group_code);
}

static int no_args(struct client *cl, const char *verb, int ac)
{
	if (!ac)
		return 0;
	reply(cl, "Error: %s accepts no arguments", verb);
	cl->code = 1;
	return 1;
}

/* ---- status ------------------------------------------------------------------ */

static void uptime_str(time_t secs, char *buf, size_t n)
{
	long d = (long)(secs / 86400), s = (long)(secs % 86400);
	if (d)
		snprintf(buf, n, "%ld day%s, %ld:%02ld:%02ld", d, d == 1 ? "" : "s", s / 3600,
			s / 60 % 60, s % 60);
	else
		snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

static void proc_desc(const struct proc *p, char *buf, size_t n)
{
	buf[0] = 0;
	if (p->state == ST_RUNNING) {
		char up[48];
		time_t now = time(NULL);
		uptime_str(now > p->start_wall ? now - p->start_wall : 0, up, sizeof(up));
		snprintf(buf, n, "pid %d, uptime %s", (int)p->pid, up);
	} else if (p->state == ST_FATAL || p->state == ST_BACKOFF) {
		if (p->spawnerr[0])
			snprintf(buf, n, "%s", p->spawnerr);
		else
			snprintf(buf, n, "unknown error (try \"tail %s\")", p->c->name);
	} else if (p->state == ST_STOPPED || p->state == ST_EXITED) {
		if (p->start_wall) {
			struct tm tm;
			localtime_r(&p->stop_wall, &tm);
			/* supervisorctl's "%b %d %I:%M %p", in the C locale */
			static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
			snprintf(buf, n, "%.3s %02d %02d:%02d %s", mon + 3 * tm.tm_mon, tm.tm_mday,
				(tm.tm_hour + 11) % 12 + 1, tm.tm_min, tm.tm_hour < 12 ? "AM" : "PM");
		} else
			snprintf(buf, n, "Not started");
	}
}

static void status_json(struct client *cl, const struct proc_list *l)
{
	box_buf_addc(&cl->reply, '[');
	for (size_t i = 0; i < l->n; i++) {
		const struct proc *p = l->v[i];
		struct box_json j;
		char desc[256];
		proc_desc(p, desc, sizeof(desc));
		if (i)
			box_buf_adds(&cl->reply, ",\n");
		box_json_begin(&j, &cl->reply);
		box_json_s(&j, "name", p->c->name);
		box_json_s(&j, "group", p->c->group);
		box_json_s(&j, "state", proc_state_name[p->state]);
		box_json_i(&j, "pid", p->pid);
		box_json_i(&j, "uptime", p->state == ST_RUNNING ?
			(long long)(time(NULL) - p->start_wall) : 0);
		if (p->status >= 0) {
			box_json_status(&j, p->status);
		} else {
			box_json_null(&j, "exit");
			box_json_null(&j, "signal");
			box_json_null(&j, "signum");
			box_json_b(&j, "core_dumped", 0);
		}
		box_json_i(&j, "backoff", p->backoff);
		box_json_i(&j, "log_dropped", (long long)(logw_dropped(&p->log[0]) +
			logw_dropped(&p->log[1])));
		box_json_s(&j, "description", desc);
		box_json_end(&j);
	}
	box_buf_adds(&cl->reply, "]\n");
}

/* Columns count characters as supervisorctl's Python does: a UTF-8 name
 * is as wide as its code points, not its bytes. */
static int chars(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += (*s & 0xC0) != 0x80;
	return n;
}

/* The blanks after s in a column width wide (none when s is wider). */
static int pad(const char *s, int width)
{
	int n = width - chars(s);
	return n > 0 ? n : 0;
}

static void status_table(struct client *cl, const struct proc_list *l)
{
	int width = 30;
	char nb[256], desc[256];
	for (size_t i = 0; i < l->n; i++) {
		int n = chars(namespec(l->v[i], nb, sizeof(nb)));
		if (n > width)
			width = n;
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *name = namespec(l->v[i], nb, sizeof(nb));
		proc_desc(l->v[i], desc, sizeof(desc));
		reply(cl, "%s%*s%-10s%s", name, pad(name, width + 3), "",
			proc_state_name[l->v[i]->state], desc);
	}
}

/* supervisord lists processes by group name, then name. */
static int by_group_and_name(const void *a, const void *b)
{
	const struct pconf *x = (*(struct proc *const *)a)->c, *y = (*(struct proc *const *)b)->c;
	int r = strcmp(x->group, y->group);
	return r ? r : strcmp(x->name, y->name);
}

static void cmd_status(struct client *cl, char **av, int ac)
{
	struct proc_list l = { 0 };
	int json = 0, all = ac == 0;

	for (int i = 0; i < ac; i++) {
		if (!strcmp(av[i], "--json")) {
			json = 1;
			all |= ac == 1;
		} else if (!strcmp(av[i], "all")) {
			all = 1;
		}
	}
	if (all) {
		resolve("all", &l);
		if (l.n)
			qsort(l.v, l.n, sizeof(*l.v), by_group_and_name);
	} else {
		for (int i = 0; i < ac; i++) {
			size_t from = l.n;
			if (strcmp(av[i], "--json") && !resolve(av[i], &l))
				no_such(cl, av[i], 4, 4);
			if (l.n > from)
				qsort(l.v + from, l.n - from, sizeof(*l.v), by_group_and_name);
		}
	}
	if (json)
		status_json(cl, &l);
	else
		status_table(cl, &l);
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i]->state == ST_STOPPED || l.v[i]->state == ST_EXITED ||
		    l.v[i]->state == ST_FATAL)
			cl->code = 3;
	free(l.v);
}

/* ---- start, stop, restart: wait for the processes ------------------------------ */

static void add_wait(struct client *cl, struct proc *p, enum wait_kind kind,
	enum wait_phase phase)
{
	*BOX_PUSH(cl->w, cl->nw, cl->wcap) = (struct waitent){ p->id, kind, phase };
}

static void issue(struct client *cl, struct waitent *w)
{
	static const char *const refusal[] = {
		[WAIT_STOP] = "not running", [WAIT_START] = "already started",
	};
	struct proc *p = proc_by_id(w->id);
	char nb[256];

	w->phase = WAIT_DONE;
	if (!p)
		return;
	if (w->kind == WAIT_START && proc_event(p, EV_START) < 0)
		reply(cl, "%s: ERROR (%s)", namespec(p, nb, sizeof(nb)), refusal[w->kind]);
	else if (w->kind == WAIT_STOP && proc_event(p, EV_STOP) < 0)
		reply(cl, "%s: ERROR (%s)", namespec(p, nb, sizeof(nb)), refusal[w->kind]);
	else
		w->phase = WAIT_PENDING;
}

/* Why a start did not reach RUNNING, as supervisorctl tells it. */
static void start_failed(struct client *cl, const struct proc *p)
{
	static const struct { int err; const char *why; int code; } failures[] = {
		{ ENOENT, "no such file", 1 },
		{ EACCES, "file is not executable", 1 },
		{ 0, "spawn error", 7 },
	};
	char nb[256];
	size_t i = 0;
	while (failures[i].err && failures[i].err != p->spawn_errno)
		i++;
	reply(cl, "%s: ERROR (%s)", namespec(p, nb, sizeof(nb)), failures[i].why);
	cl->code = failures[i].code;
}

/* 0 while the wait is still pending. */
static int wait_done(struct client *cl, struct waitent *w)
{
	struct proc *p = proc_by_id(w->id);
	char nb[256];

	switch (w->kind) {
	case WAIT_GONE:   /* retired by update: until it is freed */
		if (p)
			return 0;
		break;
	case WAIT_STOP:
		if (p && !proc_settled(p))
			return 0;
		if (p)
			reply(cl, "%s: stopped", namespec(p, nb, sizeof(nb)));
		break;
	case WAIT_START:
		if (p && p->state == ST_STARTING)
			return 0;
		if (p && p->state == ST_RUNNING)
			reply(cl, "%s: started", namespec(p, nb, sizeof(nb)));
		else if (p)
			start_failed(cl, p);
		break;
	}
	w->phase = WAIT_DONE;
	return 1;
}

/* In order: a restart's starts are issued once its stops are done. */
void verbs_progress(struct client *cl)
{
	for (size_t i = 0; i < cl->nw; i++) {
		struct waitent *w = &cl->w[i];
		if (w->phase == WAIT_NOT_ISSUED)
			issue(cl, w);
		if (w->phase == WAIT_PENDING && !wait_done(cl, w))
			return;
	}
	free(cl->w);
	cl->w = NULL;
	cl->nw = cl->wcap = 0;
	reply_finish(cl);
}

static const char *const help_text[][2] = {
	{ "start", "start <name>\t\tStart a process\nstart <gname>:*\t\tStart all processes in a group\nstart <name> <name>\tStart multiple processes or groups\nstart all\t\tStart all processes" },
	{ "stop", "stop <name>\t\tStop a process\nstop <gname>:*\t\tStop all processes in a group\nstop <name> <name>\tStop multiple processes or groups\nstop all\t\tStop all processes" },
	{ "restart", "restart <name>\t\tRestart a process\nrestart <gname>:*\tRestart all processes in a group\nrestart <name> <name>\tRestart multiple processes or groups\nrestart all\t\tRestart all processes\nNote: restart does not reread config files. For that, see reread and update." },
	{ "signal", "signal <signal name> <name>\t\tSignal a process\nsignal <signal name> <gname>:*\t\tSignal all processes in a group\nsignal <signal name> <name> <name>\tSignal multiple processes or groups\nsignal <signal name> all\t\tSignal all processes" },
};

static void help_for(struct client *cl, const char *verb)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(help_text); i++)
		if (!strcmp(help_text[i][0], verb))
			reply(cl, "%s", help_text[i][1]);
}

/* stop first, then start: each named process gets the waits of the verb */
static void start_stop(struct client *cl, const char *verb, char **av, int ac, int stop,
	int start, int code)
{
	struct proc_list l = { 0 };
	if (!ac) {
		reply(cl, "Error: %s requires a process name", verb);
		cl->code = code;
		help_for(cl, verb);
		return;
	}
	collect(cl, av, ac, &l, 1, code);
	for (size_t i = 0; stop && i < l.n; i++)
		add_wait(cl, l.v[i], WAIT_STOP, WAIT_NOT_ISSUED);
	for (size_t i = 0; start && i < l.n; i++)
		add_wait(cl, l.v[i], WAIT_START, WAIT_NOT_ISSUED);
	free(l.v);
}

static void cmd_start(struct client *cl, char **av, int ac)
{
	start_stop(cl, "start", av, ac, 0, 1, 2);
}

static void cmd_stop(struct client *cl, char **av, int ac)
{
	start_stop(cl, "stop", av, ac, 1, 0, 1);
}

static void cmd_restart(struct client *cl, char **av, int ac)
{
	start_stop(cl, "restart", av, ac, 1, 1, 1);
}

static void cmd_signal(struct client *cl, char **av, int ac)
{
	struct proc_list l = { 0 };
	char nb[256];
	if (ac < 2) {
		reply(cl, "Error: signal requires a signal name and a process name");
		help_for(cl, "signal");
		cl->code = 1;
		return;
	}
	int sig = box_signum(av[0]);
	collect(cl, av + 1, ac - 1, &l, 1, 1);
	for (size_t i = 0; i < l.n; i++) {
		struct proc *p = l.v[i];
		if (sig < 0) {
			reply(cl, "%s: ERROR (bad signal name)", namespec(p, nb, sizeof(nb)));
			cl->code = 1;
		} else if (p->pid <= 0) {
			reply(cl, "%s: ERROR (not running)", namespec(p, nb, sizeof(nb)));
			cl->code = 7;
		} else {
			kill(p->pid, sig);
			reply(cl, "%s: signalled", namespec(p, nb, sizeof(nb)));
		}
	}
	free(l.v);
}

static void cmd_pid(struct client *cl, char **av, int ac)
{
	if (!ac) {
		reply(cl, "%d", (int)getpid());
		return;
	}
	for (int i = 0; i < ac; i++) {
		struct proc_list l = { 0 };
		int named = strcmp(av[i], "all");
		if (!resolve(av[i], &l)) {
			reply(cl, "No such process %s", av[i]);
			cl->code = 1;
		}
		for (size_t j = 0; j < l.n; j++) {
			reply(cl, "%d", (int)l.v[j]->pid);
			if (!l.v[j]->pid && cl->code == 0 && named)
				cl->code = 7;
		}
		free(l.v);
	}
}

/* ---- reread, update, avail, reload ------------------------------------------------ */

enum change_kind { CHANGE_REMOVED, CHANGE_CHANGED, CHANGE_ADDED, CHANGE_NKINDS };
/* update applies them in this order: removed groups go first */
static const struct {
	const char *reread, *update, *log;
} change_words[CHANGE_NKINDS] = {
	[CHANGE_REMOVED] = { "disappeared", "removed process group", "removed" },
	[CHANGE_CHANGED] = { "changed", "updated process group", "updated" },
	[CHANGE_ADDED] = { "available", "added process group", "added" },
};

struct change {
	char *group;
	enum change_kind kind;
};

struct changes {
	struct change *v;
	size_t n, cap;
};

static char *group_fingerprint(struct pconf **list, size_t n, const char *group)
{
	struct box_buf b = { 0 };
	box_buf_adds(&b, "");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i]->group, group))
			box_buf_printf(&b, "%s\n%s\n", list[i]->name, list[i]->fingerprint);
	return b.p;
}

static int change_order(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->group, ((const struct change *)b)->group);
}

static int has_group(struct pconf **list, size_t n, const char *g)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i]->group, g))
			return 1;
	return 0;
}

static int listed(const struct changes *ch, const char *g)
{
	for (size_t i = 0; i < ch->n; i++)
		if (!strcmp(ch->v[i].group, g))
			return 1;
	return 0;
}

static void add_change(struct changes *ch, const char *g, enum change_kind kind)
{
	*BOX_PUSH(ch->v, ch->n, ch->cap) = (struct change){ box_xstrdup(g), kind };
}

/* The groups that differ between the running programs and nc. */
static void diff_config(struct config *nc, struct changes *ch)
{
	struct pconf **cur = box_xcalloc(sv.nprocs + 1, sizeof(*cur));
	size_t ncur = 0;
	for (size_t i = 0; i < sv.nprocs; i++)
		if (visible(sv.procs[i]))
			cur[ncur++] = sv.procs[i]->c;
	for (size_t i = 0; i < ncur; i++) {
		const char *g = cur[i]->group;
		if (listed(ch, g) || has_group(cur, i, g))
			continue;
		if (!has_group(nc->procs, nc->nprocs, g)) {
			add_change(ch, g, CHANGE_REMOVED);
			continue;
		}
		char *f1 = group_fingerprint(cur, ncur, g);
		char *f2 = group_fingerprint(nc->procs, nc->nprocs, g);
		if (strcmp(f1, f2))
			add_change(ch, g, CHANGE_CHANGED);
		free(f1);
		free(f2);
	}
	for (size_t i = 0; i < nc->nprocs; i++) {
		const char *g = nc->procs[i]->group;
		if (!listed(ch, g) && !has_group(nc->procs, i, g) && !has_group(cur, ncur, g))
			add_change(ch, g, CHANGE_ADDED);
	}
	free(cur);
	if (ch->n)
		qsort(ch->v, ch->n, sizeof(*ch->v), change_order);
}

static int reparse(struct client *cl, struct config *nc)
{
	struct box_buf err = { 0 };
	if (config_load(sv.cfg.file, nc, &err) < 0) {
		if (cl) {
			reply(cl, "ERROR: CANT_REREAD: %s", err.p);
			cl->code = 1;
		}
		mlog("ERROR", "unable to reread the configuration: %s", err.p);
		box_buf_free(&err);
		config_free(nc);
		return -1;
	}
	box_buf_free(&err);
	return 0;
}

/* Stops a group's programs; they are freed once stopped. cl, if any, gets
 * its reply only then. */
static void retire_group(const char *g, struct client *cl)
{
	for (size_t i = 0; i < sv.nprocs; i++) {
		struct proc *p = sv.procs[i];
		if (!p->removing && !strcmp(p->c->group, g)) {
			p->removing = 1;
			p->start_pending = 0;
			proc_event(p, EV_STOP);
			if (cl)
				add_wait(cl, p, WAIT_GONE, WAIT_PENDING);
		}
	}
}

/* The group's programs of nc become processes, started once the group's
 * old processes are gone (procs_retire_and_replace). */
static void adopt_group(struct config *nc, const char *g)
{
	for (size_t i = 0; i < nc->nprocs; i++) {
		if (!nc->procs[i] || strcmp(nc->procs[i]->group, g))
			continue;
		struct proc *p = proc_new(nc->procs[i]);
		nc->procs[i] = NULL;
		p->start_pending = p->c->autostart;
	}
}

static void drop_adopted(struct config *nc)
{
	size_t k = 0;
	for (size_t i = 0; i < nc->nprocs; i++)
		if (nc->procs[i])
			nc->procs[k++] = nc->procs[i];
	nc->nprocs = k;
	config_free(nc);
}

static int wanted(char **av, int ac, const char *group)
{
	int yes = !ac;
	for (int k = 0; k < ac; k++)
		yes |= !strcmp(av[k], "all") || !strcmp(av[k], group);
	return yes;
}

static void apply_change(struct client *cl, struct config *nc, const struct change *c)
{
	if (c->kind != CHANGE_ADDED) {
		retire_group(c->group, cl);
		if (cl)
			reply(cl, "%s: stopped", c->group);
	}
	if (c->kind != CHANGE_REMOVED)
		adopt_group(nc, c->group);
	if (cl)
		reply(cl, "%s: %s", c->group, change_words[c->kind].update);
	mlog("INFO", "%s: %s", c->group, change_words[c->kind].log);
}

/* update [GROUP...]: the named (or every) changed group stops, is removed
 * and starts again from the file. cl is NULL for SIGHUP. */
static void update(struct client *cl, char **av, int ac)
{
	struct config nc;
	struct changes ch = { 0 };

	if (reparse(cl, &nc) < 0)
		return;
	diff_config(&nc, &ch);
	for (int i = 0; i < ac; i++) {
		int known = !strcmp(av[i], "all") || listed(&ch, av[i]);
		for (size_t k = 0; k < sv.nprocs && !known; k++)
			known = visible(sv.procs[k]) && !strcmp(sv.procs[k]->c->group, av[i]);
		if (!known) {
			reply(cl, "ERROR: no such group: %s", av[i]);
			cl->code = 1;
		}
	}
	for (int kind = 0; kind < CHANGE_NKINDS; kind++)
		for (size_t i = 0; i < ch.n; i++)
			if ((int)ch.v[i].kind == kind && wanted(av, ac, ch.v[i].group))
				apply_change(cl, &nc, &ch.v[i]);
	for (size_t i = 0; i < ch.n; i++)
		free(ch.v[i].group);
	free(ch.v);
	drop_adopted(&nc);
}

static void cmd_update(struct client *cl, char **av, int ac)
{
	update(cl, av, ac);
}

void verbs_update_all(void)
{
	update(NULL, NULL, 0);
}

static void cmd_reread(struct client *cl, char **av, int ac)
{
	struct config nc;
	struct changes ch = { 0 };
	(void)av;
	if (no_args(cl, "reread", ac) || reparse(cl, &nc) < 0)
		return;
	diff_config(&nc, &ch);
	for (size_t i = 0; i < ch.n; i++) {
		reply(cl, "%s: %s", ch.v[i].group, change_words[ch.v[i].kind].reread);
		free(ch.v[i].group);
	}
	if (!ch.n)
		reply(cl, "No config updates to processes");
	free(ch.v);
	config_free(&nc);
}

struct avail {
	const struct pconf *c;
	const char *use;
};

/* supervisord lists them by process name; the same name in several
 * groups in the groups' order. */
static int by_process_name(const void *a, const void *b)
{
	const struct pconf *x = ((const struct avail *)a)->c, *y = ((const struct avail *)b)->c;
	int r = strcmp(x->name, y->name);
	if (!r && x->group_priority != y->group_priority)
		return x->group_priority < y->group_priority ? -1 : 1;
	return r ? r : strcmp(x->group, y->group);
}

static int in_use(const struct pconf *c)
{
	for (size_t k = 0; k < sv.nprocs; k++)
		if (visible(sv.procs[k]) && !strcmp(sv.procs[k]->c->group, c->group) &&
		    !strcmp(sv.procs[k]->c->name, c->name))
			return 1;
	return 0;
}

static void cmd_avail(struct client *cl, char **av, int ac)
{
	struct config nc = { 0 };
	struct avail *v = NULL;
	size_t n = 0, cap = 0;
	char nb[256];
	(void)av;
	if (no_args(cl, "avail", ac))
		return;
	for (size_t i = 0; i < sv.nprocs; i++)
		if (visible(sv.procs[i]))
			*BOX_PUSH(v, n, cap) = (struct avail){ sv.procs[i]->c, "in use" };
	if (!sv.single && reparse(NULL, &nc) == 0)
		for (size_t i = 0; i < nc.nprocs; i++)
			if (!in_use(nc.procs[i]))
				*BOX_PUSH(v, n, cap) = (struct avail){ nc.procs[i], "avail" };
	if (n)
		qsort(v, n, sizeof(*v), by_process_name);
	for (size_t i = 0; i < n; i++) {
		const struct pconf *c = v[i].c;
		int grouped = strcmp(c->group, c->name);
		snprintf(nb, sizeof(nb), "%s%s%s", grouped ? c->group : "", grouped ? ":" : "",
			c->name);
		reply(cl, "%s%*s %-9s %-9s %d:%d", nb, pad(nb, 32), "", v[i].use,
			c->autostart ? "auto" : "manual", c->group_priority, c->priority);
	}
	free(v);
	config_free(&nc);
}

/* supervisord's reload: every program stops, then the daemon starts over
 * from the configuration, [supervisord] and [unix_http_server] included
 * (log file, pidfile, socket and its mode...). It re-executes itself in the
 * same process, so the pid a service manager knows stays the same. */
static void cmd_reload(struct client *cl, char **av, int ac)
{
	struct config nc;
	(void)av;
	if (no_args(cl, "reload", ac) || reparse(cl, &nc) < 0)
		return;
	config_free(&nc);
	reply(cl, "Restarted supervisord");
	mlog("INFO", "reload: stopping every program, then starting over from %s", sv.cfg.file);
	sv.reloading = 1;
	begin_shutdown();
}

void verbs_reexec(void)
{
	char *argv[] = { "supervise", "-n", "-c", sv.cfg.file, NULL };

	execv("/proc/self/exe", argv);
	if (strchr(supervise_argv0, '/'))
		execv(supervise_argv0, argv);
	else
		execvp("supervise", argv);
	mlog("ERROR", "unable to start over: %s", strerror(errno));
	logw_flush(BOX_NSEC);
	exit(1);
}

static void cmd_shutdown(struct client *cl, char **av, int ac)
{
	(void)av;
	if (no_args(cl, "shutdown", ac))
		return;
	if (sv.shutting_down) {
		reply(cl, "ERROR: already shutting down");
		cl->code = 1;
		return;
	}
	reply(cl, "Shut down");
	begin_shutdown();
}

static void cmd_version(struct client *cl, char **av, int ac)
{
	(void)av, (void)ac;
	reply(cl, "%s", SUPERVISE_VERSION);
}

/* ---- tail ---------------------------------------------------------------------- */

/* -f and -BYTES; the number of words they took, or -1 after a reply. */
static int tail_options(struct client *cl, char **av, int ac, int *follow, long long *bytes)
{
	int n = 0;
	for (; n < ac && av[n][0] == '-'; n++) {
		if (!strcmp(av[n], "-f")) {
			*follow = 1;
		} else if (box_parse_ll(av[n] + 1, 0, 1LL << 40, bytes)) {
			reply(cl, "Error: bad argument %s", av[n]);
			cl->code = 2;
			return -1;
		}
	}
	return n;
}

/* Sends what the file has, then, for -f, what is written to it. A log
 * that is not a regular file (/dev/stdout) or is a symbolic link has
 * nothing to send. */
static void tail_log(struct client *cl, const char *who, struct logw *w, int id, int stream,
	int follow, long long bytes)
{
	struct stat st;
	if (!w->path) {
		reply(cl, "%s: ERROR (no log file)", who);
		cl->code = 1;
		return;
	}
	int fd = box_open(w->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		box_close(fd);
		fd = -1;
	}
	off_t size = fd < 0 ? 0 : st.st_size;
	if (follow) {
		cl->follow_id = id;
		cl->follow_stream = stream;
	}
	client_send_file(cl, fd, size > bytes ? size - (off_t)bytes : 0, follow ? -1 : size);
}

static void cmd_tail(struct client *cl, char **av, int ac)
{
	static const char *const streams[] = { "stdout", "stderr" };
	struct proc_list l = { 0 };
	long long bytes = 1600;
	int follow = 0, stream = 0, n;
	char nb[256];

	if ((n = tail_options(cl, av, ac, &follow, &bytes)) < 0)
		return;
	av += n, ac -= n;
	int bad_stream = ac == 2 && strcmp(av[1], streams[0]) && strcmp(av[1], streams[1]);
	if (ac < 1 || ac > 2 || bad_stream) {
		reply(cl, "Error: tail [-f] [-BYTES] <name> [stdout|stderr]");
		cl->code = ac < 1 ? 1 : 2;
		return;
	}
	stream = ac == 2 && !strcmp(av[1], streams[1]);
	if (!resolve(av[0], &l) || l.n != 1) {
		reply(cl, "%s: ERROR (no such process name)", av[0]);
		cl->code = 1;
		free(l.v);
		return;
	}
	struct proc *p = l.v[0];
	free(l.v);
	if (stream && p->c->redirect_stderr) {
		reply(cl, "%s: ERROR (no log file)", namespec(p, nb, sizeof(nb)));
		cl->code = 1;
		return;
	}
	tail_log(cl, av[0], &p->log[stream], p->id, stream, follow, bytes);
}

static void cmd_maintail(struct client *cl, char **av, int ac)
{
	long long bytes = 1600;
	int follow = 0, n;

	if ((n = tail_options(cl, av, ac, &follow, &bytes)) < 0)
		return;
	if (ac > n) {
		reply(cl, "Error: maintail [-f] [-BYTES]");
		cl->code = 2;
		return;
	}
	tail_log(cl, "supervisord", &main_log, 0, 0, follow, bytes);
}

/* ---- the table ------------------------------------------------------------------ */

enum {
	NEEDS_CONFIG = 1,       /* refused without a configuration file */
	NOT_WHILE_SHUTTING = 2, /* refused once shutting down */
};

static const struct verb {
	const char *name;
	void (*run)(struct client *cl, char **av, int ac);
	int refuse;
} verbs[] = {
	{ "status", cmd_status, 0 },
	{ "start", cmd_start, NOT_WHILE_SHUTTING },
	{ "stop", cmd_stop, NOT_WHILE_SHUTTING },
	{ "restart", cmd_restart, NOT_WHILE_SHUTTING },
	{ "signal", cmd_signal, 0 },
	{ "pid", cmd_pid, 0 },
	{ "avail", cmd_avail, 0 },
	{ "reread", cmd_reread, NEEDS_CONFIG | NOT_WHILE_SHUTTING },
	{ "update", cmd_update, NEEDS_CONFIG | NOT_WHILE_SHUTTING },
	{ "reload", cmd_reload, NEEDS_CONFIG | NOT_WHILE_SHUTTING },
	{ "shutdown", cmd_shutdown, 0 },
	{ "version", cmd_version, 0 },
	{ "tail", cmd_tail, 0 },
	{ "maintail", cmd_maintail, 0 },
};

static void run_verb(struct client *cl, char **av, int ac)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(verbs); i++) {
		const struct verb *v = &verbs[i];
		if (strcmp(v->name, av[0]))
			continue;
		if (v->refuse & NEEDS_CONFIG && sv.single) {
			reply(cl, "ERROR: no configuration file to reread");
			cl->code = 1;
		} else if (v->refuse & NOT_WHILE_SHUTTING && sv.shutting_down) {
			reply(cl, "ERROR: already shutting down");
			cl->code = 1;
		} else {
			v->run(cl, av + 1, ac - 1);
		}
		return;
	}
	reply(cl, "*** Unknown syntax: %s", av[0]);
	cl->code = 2;
}

void verbs_handle(struct client *cl, char **av, int ac)
{
	run_verb(cl, av, ac);
	if (cl->nw)
		verbs_progress(cl);
	else if (!cl->streaming)
		reply_finish(cl);
}
