/* Unit tests of libbox, one group per topic: libbox_test GROUP.
 * Prints each failed check and exits 1 when any failed. */
#include "../../libbox/box.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int unit_failures;
static struct unit_group *registered;

void unit_register(struct unit_group *g)
{
	g->next = registered;
	registered = g;
}

static void test_numbers(void)
{
	long long v = 0;
	CHECK(box_parse_ll("42", 0, 100, &v) == BOX_PARSE_OK && v == 42);
	CHECK(box_parse_ll("-7", -10, 10, &v) == BOX_PARSE_OK && v == -7);
	CHECK(box_parse_ll("+7", 0, 10, &v) == BOX_PARSE_OK && v == 7);
	CHECK(box_parse_ll("101", 0, 100, &v) == BOX_PARSE_RANGE);
	CHECK(box_parse_ll("99999999999999999999", 0, 100, &v) == BOX_PARSE_RANGE);
	CHECK(box_parse_ll("9223372036854775807", 0, 0x7fffffffffffffffLL, &v) == BOX_PARSE_OK);
	CHECK(box_parse_ll("", 0, 10, &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_ll(" 1", 0, 10, &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_ll("1 ", 0, 10, &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_ll("0x10", 0, 100, &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_ll("1e3", 0, 10000, &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_ll("-", 0, 10, &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_ll("99999999999999999999x", 0, 10, &v) == BOX_PARSE_INVALID);
}

static void test_durations(void)
{
	int64_t ns = 0;
	CHECK(box_parse_duration("1.5", &ns) == 0 && ns == 1500000000LL);
	CHECK(box_parse_duration("200ms", &ns) == 0 && ns == 200000000LL);
	CHECK(box_parse_duration("2s", &ns) == 0 && ns == 2 * BOX_NSEC);
	CHECK(box_parse_duration("5m", &ns) == 0 && ns == 300 * BOX_NSEC);
	CHECK(box_parse_duration("1h", &ns) == 0 && ns == 3600 * BOX_NSEC);
	CHECK(box_parse_duration("1d", &ns) == 0 && ns == 86400 * BOX_NSEC);
	CHECK(box_parse_duration("0.5d", &ns) == 0 && ns == 43200 * BOX_NSEC);
	CHECK(box_parse_duration("250us", &ns) == 0 && ns == 250000);
	CHECK(box_parse_duration("7ns", &ns) == 0 && ns == 7);
	/* parts of a nanosecond round up, as GNU timeout's: never 0 */
	CHECK(box_parse_duration("0.5ns", &ns) == 0 && ns == 1);
	CHECK(box_parse_duration("0.0000000001", &ns) == 0 && ns == 1);
	CHECK(box_parse_duration("1.0000000001s", &ns) == 0 && ns == BOX_NSEC + 1);
	CHECK(box_parse_duration("0.0000000000", &ns) == 0 && ns == 0);
	CHECK(box_parse_duration("1.5us", &ns) == 0 && ns == 1500);
	CHECK(box_parse_duration("0", &ns) == 0 && ns == 0);
	CHECK(box_parse_duration(".25", &ns) == 0 && ns == 250000000LL);
	CHECK(box_parse_duration("", &ns) == BOX_PARSE_INVALID);
	CHECK(box_parse_duration(".", &ns) == BOX_PARSE_INVALID);
	CHECK(box_parse_duration("s", &ns) == BOX_PARSE_INVALID);
	CHECK(box_parse_duration("-1", &ns) == BOX_PARSE_INVALID);
	CHECK(box_parse_duration("1x", &ns) == BOX_PARSE_INVALID);
	CHECK(box_parse_duration("1 s", &ns) == BOX_PARSE_INVALID);
	CHECK(box_parse_duration("1.5.5", &ns) == BOX_PARSE_INVALID);
	CHECK(box_parse_duration("999999999999d", &ns) == BOX_PARSE_RANGE);
	CHECK(box_parse_duration("99999999999999999999999", &ns) == BOX_PARSE_RANGE);
}

static void test_signals(void)
{
	CHECK(box_signum("TERM") == SIGTERM);
	CHECK(box_signum("SIGTERM") == SIGTERM);
	CHECK(box_signum("term") == SIGTERM);
	CHECK(box_signum("9") == SIGKILL);
	CHECK(box_signum("KILL") == SIGKILL);
	CHECK(box_signum("IOT") == SIGABRT);
	CHECK(box_signum("NOPE") == -1);
	CHECK(box_signum("0") == -1);
	CHECK(box_signum("") == -1);
	CHECK(box_signum("RTMIN-1") == -1);
	CHECK(box_signum("RTMAX+1") == -1);
	CHECK(box_signum("RTMIN+31") == -1);
	CHECK(box_signum("RTMIN++1") == -1);
	CHECK(box_signum("RT31") == -1);
	CHECK(box_signum("RT65") == -1);
	CHECK(box_signum("RT") == -1);
	CHECK(!strcmp(box_signame(SIGHUP), "HUP"));
	CHECK(box_signame(0) == NULL);
	CHECK(box_signame(65) == NULL);
	const char *name;
	for (int i = 0, sig; (sig = box_signal_at(i, &name)); i++)
		CHECK(box_signum(name) == sig);
}

/* The kernel's numbers, named as bash's `kill -l` names them on glibc,
 * whichever libc this was built with. */
static void test_signal_names(void)
{
	static const struct { int sig; const char *name; } rt[] = {
		{ 32, "RT32" }, { 33, "RT33" }, { 34, "RTMIN" }, { 35, "RTMIN+1" },
		{ 49, "RTMIN+15" }, { 50, "RTMAX-14" }, { 63, "RTMAX-1" }, { 64, "RTMAX" },
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(rt); i++) {
		CHECK(box_signame(rt[i].sig) && !strcmp(box_signame(rt[i].sig), rt[i].name));
		CHECK(box_signum(rt[i].name) == rt[i].sig);
	}
	CHECK(box_signum("SIGRTMIN+2") == 36);
	CHECK(box_signum("rtmax-3") == 61);
	CHECK(box_signum("RTMAX-30") == 34);
	CHECK(box_signum("RT40") == 40);
	/* every number has a name, and the name gives the number back */
	for (int sig = 1; sig <= 64; sig++) {
		const char *n = box_signame(sig);
		CHECK(n != NULL);
		if (!n)
			fprintf(stderr, "signal %d has no name\n", sig);
		else if (box_signum(n) != sig)
			fprintf(stderr, "%d -> %s -> %d\n", sig, n, box_signum(n));
		CHECK(n && box_signum(n) == sig);
	}
	/* and the names are distinct */
	for (int a = 1; a <= 64; a++)
		for (int b = a + 1; b <= 64; b++)
			CHECK(strcmp(box_signame(a), box_signame(b)) != 0);
}

static int split_is(const char *s, const char *const *want)
{
	char **argv;
	const char *err;
	int n = box_split(s, &argv, &err), ok = n >= 0;
	for (int i = 0; ok && want[i]; i++)
		ok = i < n && !strcmp(argv[i], want[i]);
	for (int i = 0; ok && i < n; i++)
		ok = want[i] != NULL;
	if (ok)
		ok = argv[n] == NULL;
	if (n >= 0)
		free(argv);
	return ok;
}

static void test_split(void)
{
	char **argv;
	const char *err;
	CHECK(split_is("ls -l /tmp", (const char *[]){ "ls", "-l", "/tmp", NULL }));
	CHECK(split_is("  a\t b\n", (const char *[]){ "a", "b", NULL }));
	CHECK(split_is("", (const char *[]){ NULL }));
	CHECK(split_is("echo 'a b' \"c d\"", (const char *[]){ "echo", "a b", "c d", NULL }));
	CHECK(split_is("a\\ b", (const char *[]){ "a b", NULL }));
	CHECK(split_is("'it''s'", (const char *[]){ "its", NULL }));
	CHECK(split_is("\"a\\\"b\\\\c\\n\"", (const char *[]){ "a\"b\\c\\n", NULL }));
	CHECK(split_is("'$HOME' *", (const char *[]){ "$HOME", "*", NULL }));
	CHECK(split_is("''", (const char *[]){ "", NULL }));
	CHECK(split_is("x\"\"y", (const char *[]){ "xy", NULL }));
	CHECK(box_split("echo 'oops", &argv, &err) == -1 && !strcmp(err, "unterminated single quote"));
	CHECK(box_split("echo \"oops", &argv, &err) == -1 && !strcmp(err, "unterminated double quote"));
	/* a backslash right before the end inside double quotes */
	CHECK(box_split("\"a\\", &argv, &err) == -1 && !strcmp(err, "unterminated double quote"));
	CHECK(box_split("echo oops\\", &argv, &err) == -1 && !strcmp(err, "backslash at end of string"));
	CHECK(box_is_simple_command("ls -l /tmp"));
	CHECK(box_is_simple_command("true"));
	CHECK(!box_is_simple_command("echo $HOME"));
	CHECK(!box_is_simple_command("a | b"));
	CHECK(!box_is_simple_command("a > f"));
	CHECK(!box_is_simple_command("echo 'x'"));
	CHECK(!box_is_simple_command("X=1 cmd"));
}

static void test_json(void)
{
	struct box_buf b = { 0 };
	box_json_str(&b, "a\"b\\c\n\t\x01 é");
	CHECK(!strcmp(b.p, "\"a\\\"b\\\\c\\n\\t\\u0001 é\""));
	b.len = 0;
	box_json_str(&b, "\xff\xc3");
	CHECK(!strcmp(b.p, "\"\\udcff\\udcc3\""));
	b.len = 0;
	box_json_str(&b, "\xed\xa0\x80");  /* a surrogate is not valid UTF-8 */
	CHECK(!strcmp(b.p, "\"\\udced\\udca0\\udc80\""));
	box_buf_free(&b);
}

static void test_buf(void)
{
	struct box_buf b = { 0 };
	for (int i = 0; i < 1000; i++)
		box_buf_printf(&b, "%d,", i);
	CHECK(b.len == strlen(b.p));
	CHECK(!strncmp(b.p, "0,1,2,", 6));
	CHECK(!strcmp(b.p + b.len - 4, "999,"));
	char *s = box_xasprintf("%s-%d", "x", 5);
	CHECK(!strcmp(s, "x-5"));
	free(s);
	box_buf_free(&b);
}

/* This process's ignored signals, bit sig-1, as /proc shows them. */
static unsigned long long ignored_now(void)
{
	struct box_buf st = { 0 };
	const char *ign;
	unsigned long long mask = 0;

	if (box_read_file("/proc/self/status", &st) == 0 && (ign = strstr(st.p, "SigIgn:")))
		mask = strtoull(ign + 7, NULL, 16);
	box_buf_free(&st);
	return mask;
}

static void test_spawn(void)
{
	struct box_spawn_error e;
	int status;

	struct box_spawn ok = { .argv = (char *[]){ "sh", "-c", "exit 3", NULL },
		.fd_in = -1, .fd_out = -1, .fd_err = -1, .pgroup = -1 };
	pid_t pid = box_spawn(&ok, &e);
	CHECK(pid > 0 && e.err == 0);
	CHECK(box_waitpid(pid, &status, 0) == pid && box_status_code(status) == 3);

	/* a program that itself exits 127 is not "not found" */
	struct box_spawn own127 = ok;
	own127.argv = (char *[]){ "sh", "-c", "exit 127", NULL };
	pid = box_spawn(&own127, &e);
	CHECK(pid > 0 && e.err == 0);
	CHECK(box_waitpid(pid, &status, 0) == pid && box_status_code(status) == 127);

	struct box_spawn missing = ok;
	missing.argv = (char *[]){ "/nonexistent/prog", NULL };
	CHECK(box_spawn(&missing, &e) == -1 && e.err == ENOENT);
	CHECK(!strcmp(e.what, "execute") && box_exec_fail_code(e.err) == 127);

	char plain[] = "/tmp/libbox_test.XXXXXX";
	int plainfd = mkstemp(plain);
	CHECK(plainfd >= 0 && fchmod(plainfd, 0644) == 0);
	close(plainfd);
	struct box_spawn noexec = ok;
	noexec.argv = (char *[]){ plain, NULL };
	CHECK(box_spawn(&noexec, &e) == -1 && e.err == EACCES);
	CHECK(box_exec_fail_code(e.err) == 126);
	unlink(plain);

	struct box_spawn killed = ok;
	killed.argv = (char *[]){ "sh", "-c", "kill -TERM $$", NULL };
	pid = box_spawn(&killed, &e);
	CHECK(box_waitpid(pid, &status, 0) == pid && box_status_code(status) == 128 + SIGTERM);

	/* the child gets default dispositions (procbox changes them through
	 * box_signal), an empty mask and no extra fds */
	int leak = open("/dev/null", O_RDONLY);
	CHECK(leak > 2);
	box_signal(SIGPIPE, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	int p[2];
	CHECK(pipe(p) == 0);
	struct box_spawn clean = ok;
	clean.argv = (char *[]){ "sh", "-c",
		"grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd | wc -l", NULL };
	clean.fd_out = p[1];
	pid = box_spawn(&clean, &e);
	close(p[1]);
	struct box_buf out = { 0 };
	box_read_fd_all(p[0], &out);
	close(p[0]);
	box_waitpid(pid, &status, 0);
	/* grep and ls see 0-2 and the fd they read the directory with: 4;
	 * what this test was started with ignored stays ignored, SIGPIPE
	 * that it ignored itself does not */
	char want[128];
	unsigned long long inherited = ignored_now() & ~(1ULL << (SIGPIPE - 1));
	snprintf(want, sizeof(want), "SigBlk:\t0000000000000000\nSigIgn:\t%016llx\n4\n", inherited);
	CHECK(!strcmp(out.p, want));
	if (strcmp(out.p, want))
		fprintf(stderr, "child saw: %s", out.p);
	box_buf_free(&out);
	close(leak);

	/* a new process group */
	struct box_spawn group = ok;
	group.argv = (char *[]){ "sh", "-c", "exit 0", NULL };
	group.pgroup = 0;
	pid = box_spawn(&group, &e);
	CHECK(pid > 0);
	CHECK(getpgid(pid) == pid || errno == ESRCH);
	box_waitpid(pid, &status, 0);
}

static const char *fail_setup(void *ctx)
{
	(void)ctx;
	errno = EPERM;
	return "do the setup step";
}

static void test_spawn_setup(void)
{
	struct box_spawn_error e;
	struct box_spawn sp = { .argv = (char *[]){ "true", NULL }, .fd_in = -1,
		.fd_out = -1, .fd_err = -1, .pgroup = -1, .setup = fail_setup };
	CHECK(box_spawn(&sp, &e) == -1 && e.err == EPERM);
	CHECK(!strcmp(e.what, "do the setup step"));
}

static void test_sigfd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	int fd = box_sigfd_open(&set);
	CHECK(fd >= 0);
	CHECK(box_sigfd_read(fd) == 0);
	kill(getpid(), SIGUSR2);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t t0 = box_now_ns();
	CHECK(box_poll_until(&pfd, 1, t0 + BOX_NSEC) == 1);
	CHECK(box_sigfd_read(fd) == SIGUSR2);
	/* a deadline that passes: returns 0, not early */
	CHECK(box_poll_until(&pfd, 1, box_now_ns() + 30000000) == 0);
	CHECK(box_now_ns() - t0 >= 30000000);
	box_sigfd_close(fd, &set);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

/* Runs sp to the end; its stdout in out. */
static int spawn_output(struct box_spawn *sp, struct box_buf *out)
{
	struct box_spawn_error e;
	int p[2], status = -1;

	CHECK(pipe(p) == 0);
	sp->fd_out = p[1];
	pid_t pid = box_spawn(sp, &e);
	close(p[1]);
	sp->fd_out = -1;
	box_read_fd_all(p[0], out);
	close(p[0]);
	if (pid > 0)
		box_waitpid(pid, &status, 0);
	return pid > 0 ? box_status_code(status) : -e.err;
}

/* exec is POSIX execvp whatever the libc: scripts without #! run through
 * /bin/sh however many arguments they get, PATH is searched past EACCES,
 * and a missing #! interpreter is named. */
static void test_spawn_exec(void)
{
	char dir[] = "/tmp/libbox_exec.XXXXXX", path[400], *oldpath = getenv("PATH");
	struct box_spawn sp = { .fd_in = -1, .fd_err = -1, .pgroup = -1 };
	struct box_spawn_error e;
	struct box_buf out = { 0 };

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/noshebang", dir);
	write_file(path, "echo \"$0 $# $1 ${100000}\"\n", 0755);
	enum { MANY = 100000 };
	char **argv = calloc(MANY + 2, sizeof(*argv));
	argv[0] = path;
	for (int i = 1; i <= MANY; i++)
		argv[i] = i == 1 ? "first" : i == MANY ? "last" : "x";
	sp.argv = argv;
	CHECK(spawn_output(&sp, &out) == 0);
	char want[500];
	snprintf(want, sizeof(want), "%s %d first last\n", path, MANY);
	CHECK(out.p && !strcmp(out.p, want));
	free(argv);

	snprintf(path, sizeof(path), "%s/missing", dir);
	write_file(path, "#! /missing/interp -x\necho never\n", 0755);
	sp.argv = (char *[]){ path, NULL };
	CHECK(box_spawn(&sp, &e) == -1 && e.err == ENOENT);
	CHECK(!strcmp(e.what, "execute its interpreter /missing/interp"));

	/* the first match is not executable, the second is: it runs */
	char d1[64], d2[64], newpath[200];
	snprintf(d1, sizeof(d1), "%s/d1", dir);
	snprintf(d2, sizeof(d2), "%s/d2", dir);
	mkdir(d1, 0755);
	mkdir(d2, 0755);
	snprintf(path, sizeof(path), "%s/prog", d1);
	write_file(path, "echo d1\n", 0644);
	snprintf(path, sizeof(path), "%s/prog", d2);
	write_file(path, "echo d2\n", 0755);
	snprintf(newpath, sizeof(newpath), "/nonexistent:%s:%s", d1, d2);
	setenv("PATH", newpath, 1);
	sp.argv = (char *[]){ "prog", NULL };
	out.len = 0;
	CHECK(spawn_output(&sp, &out) == 0 && !strcmp(out.p, "d2\n"));
	/* only a non-executable one: EACCES, not ENOENT */
	snprintf(newpath, sizeof(newpath), "%s:/nonexistent", d1);
	setenv("PATH", newpath, 1);
	CHECK(box_spawn(&sp, &e) == -1 && e.err == EACCES && !strcmp(e.what, "execute"));
	sp.argv = (char *[]){ "", NULL };
	CHECK(box_spawn(&sp, &e) == -1 && e.err == ENOENT);
	if (oldpath)
		setenv("PATH", oldpath, 1);

	/* box_execvp in a forked child: the same search, the same report */
	pid_t pid = fork();
	if (pid == 0) {
		box_execvp("no-such-command-xyz", (char *[]){ "x", NULL }, &e);
		_exit(e.err == ENOENT && !strcmp(e.what, "execute") ? 42 : 1);
	}
	int status;
	CHECK(box_waitpid(pid, &status, 0) == pid && box_status_code(status) == 42);
	snprintf(path, sizeof(path), "%s/noshebang", dir);
	pid = fork();
	if (pid == 0) {
		dup2(open("/dev/null", O_WRONLY), 1);
		box_execvp(path, (char *[]){ "noshebang", NULL }, &e);
		_exit(1);
	}
	CHECK(box_waitpid(pid, &status, 0) == pid && box_status_code(status) == 0);
	box_buf_free(&out);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK(system(path) == 0);
}

/* An fd procbox inherited reaches the command only with inherit_fds;
 * procbox's own (close-on-exec) fds never do. */
static void test_spawn_fds(void)
{
	struct box_spawn sp = { .argv = (char *[]){ "sh", "-c",
		"for fd in 7 8; do [ -e /proc/self/fd/$fd ] && echo $fd; done; :", NULL },
		.fd_in = -1, .fd_err = -1, .pgroup = -1 };
	struct box_buf out = { 0 };
	int own = box_open("/dev/null", O_RDONLY, 0);

	/* 7 as a caller's shell leaves it, 8 as procbox opens its own */
	CHECK(own >= 0 && dup2(own, 7) == 7 && dup3(own, 8, O_CLOEXEC) == 8);
	CHECK(spawn_output(&sp, &out) == 0 && out.p && !strcmp(out.p, ""));
	sp.inherit_fds = 1;
	out.len = 0;
	CHECK(spawn_output(&sp, &out) == 0 && !strcmp(out.p, "7\n"));
	box_buf_free(&out);
	close(7);
	close(8);
	close(own);
}

/* What a spawned command sees in /proc/self/status for one field. */
static void child_status(struct box_spawn *sp, const char *field, char *out, size_t n)
{
	struct box_spawn_error e;
	struct box_buf b = { 0 };
	char cmd[64];
	int p[2], status;

	snprintf(cmd, sizeof(cmd), "sed -n 's/^%s:[[:space:]]*//p' /proc/self/status", field);
	sp->argv = (char *[]){ "sh", "-c", cmd, NULL };
	CHECK(pipe(p) == 0);
	sp->fd_out = p[1];
	pid_t pid = box_spawn(sp, &e);
	close(p[1]);
	box_read_fd_all(p[0], &b);
	close(p[0]);
	CHECK(pid > 0 && box_waitpid(pid, &status, 0) == pid);
	snprintf(out, n, "%s", b.p ? b.p : "");
	box_buf_free(&b);
}

static void on_signal(int sig)
{
	(void)sig;
}

/* As if procbox had been started by nohup with SIGPIPE ignored too. */
static void test_spawn_ignored(void)
{
	struct box_spawn sp = { .fd_in = -1, .fd_err = -1, .pgroup = -1 };
	char seen[64], want[64];
	unsigned long long base = 0;

	/* what this test was started with ignored stays so too */
	base = ignored_now() & ~(1ULL << (SIGCHLD - 1));
	snprintf(want, sizeof(want), "%016llx\n",
		base | 1ULL << (SIGHUP - 1) | 1ULL << (SIGPIPE - 1));
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);
	box_sig_init();
	CHECK(box_sig_ignored_at_start(SIGHUP) && box_sig_ignored_at_start(SIGPIPE));
	CHECK(!box_sig_ignored_at_start(SIGTERM) && !box_sig_ignored_at_start(0));
	/* procbox needs SIGCHLD to wait for its children */
	CHECK(!box_sig_ignored_at_start(SIGCHLD) && signal(SIGCHLD, SIG_DFL) == SIG_DFL);
	/* the applet catches SIGHUP and ignores SIGINT meanwhile */
	box_signal(SIGHUP, on_signal);
	box_signal(SIGINT, SIG_IGN);
	child_status(&sp, "SigIgn", seen, sizeof(seen));
	CHECK(!strcmp(seen, want));
	if (strcmp(seen, want))
		fprintf(stderr, "child ignores %s, not %s", seen, want);
	sp.default_signals = 1;
	child_status(&sp, "SigIgn", seen, sizeof(seen));
	CHECK(!strcmp(seen, "0000000000000000\n"));
	box_signal(SIGHUP, SIG_IGN);
	box_signal(SIGINT, SIG_DFL);
}

/* The signal fd leaves alone what was ignored at start and still is. */
static void test_sigfd_ignored(void)
{
	sigset_t set, blocked;

	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	box_sig_init();
	signal(SIGUSR1, SIG_DFL);  /* claimed by the applet */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	int fd = box_sigfd_open(&set);
	CHECK(fd >= 0);
	sigprocmask(SIG_BLOCK, NULL, &blocked);
	CHECK(!sigismember(&blocked, SIGHUP));
	CHECK(sigismember(&blocked, SIGUSR1) && sigismember(&blocked, SIGUSR2));
	kill(getpid(), SIGHUP);
	kill(getpid(), SIGUSR1);
	CHECK(box_sigfd_read(fd) == SIGUSR1);
	CHECK(box_sigfd_read(fd) == 0);
	box_sigfd_close(fd, &set);
	CHECK(signal(SIGHUP, SIG_IGN) == SIG_IGN);
}

static const struct {
	const char *name;
	void (*fn)(void);
} groups[] = {
	{ "numbers", test_numbers }, { "durations", test_durations },
	{ "signals", test_signals }, { "signal-names", test_signal_names },
	{ "split", test_split },
	{ "json", test_json }, { "buf", test_buf }, { "spawn", test_spawn },
	{ "spawn-setup", test_spawn_setup }, { "sigfd", test_sigfd },
	{ "spawn-exec", test_spawn_exec }, { "spawn-fds", test_spawn_fds }, { "spawn-ignored", test_spawn_ignored }, { "sigfd-ignored", test_sigfd_ignored },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(groups); i++)
		if (argc < 2 || !strcmp(argv[1], groups[i].name)) {
			groups[i].fn();
			if (argc >= 2)
				return unit_failures != 0;
		}
	/* the groups of the other files: applet parsers and libbox topics */
	for (struct unit_group *g = registered; g; g = g->next)
		if (argc < 2 || !strcmp(argv[1], g->name)) {
			g->fn();
			if (argc >= 2)
				return unit_failures != 0;
		}
	if (argc >= 2) {
		fprintf(stderr, "unknown group %s\n", argv[1]);
		return 2;
	}
	return unit_failures != 0;
}

/* box_strtod against libc's strtod: the same value (bit for bit), the
 * same end and the same ERANGE, on hand-picked and generated numbers. */
static int strtod_same(const char *s)
{
	char *e1, *e2;
	errno = 0;
	double a = strtod(s, &e1);
	int r1 = errno;
	errno = 0;
	double b = box_strtod(s, &e2);
	int r2 = errno;
	if (memcmp(&a, &b, sizeof(a)) || e1 != e2 || (r1 == ERANGE) != (r2 == ERANGE)) {
		fprintf(stderr, "box_strtod(\"%s\") = %a end +%d errno %d; strtod: %a end +%d errno %d\n",
			s, b, (int)(e2 - s), r2, a, (int)(e1 - s), r1);
		return 0;
	}
	return 1;
}

UNIT_GROUP(strtod, "strtod")
{
	static const char *const cases[] = {
		"0", "1", "-1", "+2.5", "10.34", "9.999999999", ".5", "5.", ".1", "0.1", "0.3",
		"123456789012345", "1e3", "1E-3", "2.34e+5d", "1e22", "1e23", "1e-22",
		"1e309", "1e-400", "1.18973149535723176502e+4932", "-1.18973149535723176502e+4932",
		"  7", "\t-7x", "1e", "1e+", "1.5e+x", "x", "", "-", ".", "+.e1", "inf", "-Infinity",
		"infin", "0x10", "0x1p-2", "0X1.8P1", "0x", "0x.8", "0xg", "12%", "50:80", "~:10",
	};
	/* beyond 10^+-22 the result may be an ulp or two off */
	static const char *const far[] = {
		"1e308", "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "123.456e-40",
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(cases); i++)
		CHECK(strtod_same(cases[i]));
	for (size_t i = 0; i < BOX_ARRAY_LEN(far); i++) {
		char *e1, *e2;
		double a = strtod(far[i], &e1), b = box_strtod(far[i], &e2);
		CHECK(e1 == e2 && b != 0 && fabs(a - b) <= fabs(a) * 1e-15);
	}
	/* more digits than a double holds (more than fit in one as an
	 * integer): 300 nines (1e300), 400 nines after the point (1.0), and
	 * 1e-300 written out */
	char longnum[403];
	for (int k = 0; k < 3; k++) {
		char *e1, *e2;
		memset(longnum, k == 2 ? '0' : '9', 401);
		longnum[k == 1 ? 401 : 301] = 0;
		if (k == 1)
			longnum[0] = '.';
		if (k == 2)
			longnum[1] = '.', longnum[300] = '1';
		double a = strtod(longnum, &e1), b = box_strtod(longnum, &e2);
		CHECK(e1 == e2 && b != 0 && fabs(a - b) <= fabs(a) * 1e-15);
	}
	/* up to 15 significant digits, exponents within +-22: exact */
	unsigned long long x = 88172645463325252ULL;
	int bad = 0;
	for (int i = 0; i < 20000 && bad < 5; i++) {
		char buf[64];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned long long m = x % 1000000000000000ULL >> (x >> 60);
		int frac = (int)(x >> 20 & 15), ex = (int)(x >> 24 & 31) - 15;
		if (ex - frac < -22)
			ex = frac - 22;
		int n = snprintf(buf, sizeof(buf), "%llu", m);
		if (frac && frac < n) {
			memmove(buf + n - frac + 1, buf + n - frac, (size_t)frac + 1);
			buf[n - frac] = '.';
		}
		if (x >> 30 & 1)
			snprintf(buf + strlen(buf), 16, "e%d", ex);
		bad += !strtod_same(buf);
	}
	CHECK(!bad);
}
