/* Unit tests of libbox's shared mechanisms: the event loop, the JSON
 * writer, the one wording of statuses and durations, paths, arrays. */
#include "../../libbox/box.h"
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

struct fmt_case {
	int64_t ns;
	const char *text;
};

UNIT_GROUP(fmt, "fmt")
{
	static const struct fmt_case durations[] = {
		{ 5 * BOX_NSEC, "5s" }, { 300000000, "300ms" }, { 1500000000, "1500ms" },
		{ 250000, "250us" }, { 7, "7ns" }, { 0, "0s" },
	};
	char buf[128];

	for (size_t i = 0; i < BOX_ARRAY_LEN(durations); i++)
		CHECK(!strcmp(box_fmt_duration(buf, sizeof(buf), durations[i].ns), durations[i].text));
	CHECK(!strcmp(box_fmt_status(buf, sizeof(buf), 3 << 8), "exited with status 3"));
	CHECK(!strcmp(box_fmt_status(buf, sizeof(buf), SIGTERM), "killed by SIGTERM (Terminated)"));
	CHECK(!strcmp(box_fmt_status(buf, sizeof(buf), SIGSEGV | 0x80),
		"killed by SIGSEGV (Segmentation fault), core dumped"));
	struct box_spawn_error e = { ENOENT, "execute" };
	CHECK(!strcmp(box_fmt_spawn_error(buf, sizeof(buf), "nope", &e),
		"unable to execute nope: No such file or directory"));
	struct box_spawn_error c = { ENOENT, "chdir to /x" };
	CHECK(!strcmp(box_fmt_spawn_error(buf, sizeof(buf), "sh", &c),
		"unable to chdir to /x for sh: No such file or directory"));
}

UNIT_GROUP(json_writer, "json-writer")
{
	struct box_buf b = { 0 };
	struct box_json j;

	box_json_begin(&j, &b);
	box_json_s(&j, "a", "x\"y");
	box_json_s(&j, "n", NULL);
	box_json_open(&j, "v", '[');
	box_json_i(&j, NULL, 1);
	box_json_b(&j, NULL, 0);
	box_json_open(&j, NULL, '{');
	box_json_f(&j, "ms", "%.3f", 0.5);
	box_json_close(&j);
	box_json_close(&j);
	box_json_open(&j, "e", '[');
	box_json_close(&j);
	box_json_status(&j, 2 << 8);
	box_json_end(&j);
	CHECK(!strcmp(b.p, "{\"a\":\"x\\\"y\",\"n\":null,\"v\":[1,false,{\"ms\":0.500}],\"e\":[],"
		"\"exit\":2,\"signal\":null,\"signum\":null,\"core_dumped\":false}"));
	b.len = 0;
	box_json_begin(&j, &b);
	box_json_status(&j, SIGKILL);
	box_json_end(&j);
	CHECK(!strcmp(b.p, "{\"exit\":null,\"signal\":\"SIGKILL\",\"signum\":9,\"core_dumped\":false}"));
	box_buf_free(&b);
}

struct path_case {
	const char *path, *dir, *base;
};

UNIT_GROUP(path, "path")
{
	static const struct path_case cases[] = {
		{ "a/b", "a", "b" }, { "b", ".", "b" }, { "/b", "/", "b" },
		{ "/a//b", "/a", "b" }, { "a/", "a", "" }, { "//x", "/", "x" },
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(cases); i++) {
		char *d = box_xdirname(cases[i].path);
		CHECK(!strcmp(d, cases[i].dir));
		CHECK(!strcmp(box_basename(cases[i].path), cases[i].base));
		free(d);
	}
	char *p = box_xpath_join("/a/", "b");
	CHECK(!strcmp(p, "/a/b"));
	free(p);
	p = box_xpath_join("/a", "b");
	CHECK(!strcmp(p, "/a/b"));
	free(p);
	mode_t m;
	CHECK(box_parse_mode("022", &m) == BOX_PARSE_OK && m == 022);
	CHECK(box_parse_mode("8", &m) == BOX_PARSE_INVALID);
	CHECK(box_parse_mode("", &m) == BOX_PARSE_INVALID);
	CHECK(box_parse_mode("77777", &m) == BOX_PARSE_RANGE);
}

UNIT_GROUP(grow, "grow")
{
	int *v = NULL;
	size_t n = 0, cap = 0;

	for (int i = 0; i < 1000; i++)
		*BOX_PUSH(v, n, cap) = i;
	CHECK(n == 1000 && cap >= 1000);
	for (int i = 0; i < 1000; i++)
		CHECK(v[i] == i);
	free(v);
}

struct loop_seen {
	int reads, sig;
};

static void loop_read(void *ctx, int fd, short revents)
{
	char c;
	struct loop_seen *s = ctx;
	(void)revents;
	if (read(fd, &c, 1) == 1)
		s->reads++;
}

static void loop_signal(void *ctx, int sig)
{
	((struct loop_seen *)ctx)->sig = sig;
}

UNIT_GROUP(loop, "loop")
{
	struct box_loop l = { 0 };
	struct loop_seen seen = { 0 };
	sigset_t set;
	int p[2];

	CHECK(box_earliest(-1, 5) == 5 && box_earliest(5, -1) == 5 && box_earliest(3, 5) == 3);
	CHECK(box_earliest(-1, -1) == -1);
	box_sigset(&set, SIGUSR1, 0);
	box_loop_open_signals(&l, &set, loop_signal, &seen);
	box_xpipe(p);
	/* a deadline and nothing ready: 0, not early */
	int64_t t0 = box_now_ns();
	box_loop_begin(&l);
	box_loop_signals(&l);
	box_loop_fd(&l, p[0], POLLIN, loop_read, &seen);
	box_loop_deadline(&l, t0 + 20000000);
	box_loop_deadline(&l, -1);
	box_loop_deadline(&l, t0 + 90000000);
	CHECK(box_loop_wait(&l) == 0);
	CHECK(box_now_ns() - t0 >= 20000000 && box_now_ns() - t0 < 90000000);
	/* a ready fd and a signal in one turn: both handlers run */
	CHECK(write(p[1], "x", 1) == 1);
	kill(getpid(), SIGUSR1);
	box_loop_begin(&l);
	box_loop_signals(&l);
	box_loop_fd(&l, p[0], POLLIN, loop_read, &seen);
	CHECK(box_loop_wait(&l) == 2);
	CHECK(seen.reads == 1 && seen.sig == SIGUSR1);
	box_sigfd_close(l.sigfd, &set);
	box_loop_free(&l);
	close(p[0]);
	close(p[1]);
}

UNIT_GROUP(fields, "fields")
{
	char buf[64], *f[8];
	unsigned long v;

	CHECK(box_fields("eth0\t0001A8C0 00000000 0001\n0 0 0 00FFFFFF\n", buf, sizeof(buf), f, 8) == 4);
	CHECK(!strcmp(f[0], "eth0") && !strcmp(f[3], "0001"));
	CHECK(box_fields("  a  b ", buf, sizeof(buf), f, 8) == 2 && !strcmp(f[1], "b"));
	CHECK(box_fields("", buf, sizeof(buf), f, 8) == 0);
	CHECK(box_fields("a b c d", buf, sizeof(buf), f, 2) == 2 && !strcmp(f[1], "b"));
	CHECK(box_fields("abcdefgh", buf, 4, f, 8) == 1 && !strcmp(f[0], "abc"));
	CHECK(box_parse_hex("00FFFFFF", &v) == BOX_PARSE_OK && v == 0xffffff);
	CHECK(box_parse_hex("0x1A", &v) == BOX_PARSE_OK && v == 0x1a);
	CHECK(box_parse_hex("0x", &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_hex("", &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_hex("-1", &v) == BOX_PARSE_INVALID);
	CHECK(box_parse_hex("12g", &v) == BOX_PARSE_INVALID);
}

struct glob_case {
	const char *pattern, *s;
	int match;
};

UNIT_GROUP(glob, "glob")
{
	static const struct glob_case cases[] = {
		{ "*.conf", "a.conf", 1 }, { "*.conf", "a.conf.bak", 0 }, { "*", "a/b", 0 },
		{ "**", "a/b", 1 }, { "a?c", "abc", 1 }, { "a?c", "a/c", 0 },
		{ "[a-c]x", "bx", 1 }, { "[!a-c]x", "bx", 0 }, { "[ab", "[ab", 1 },
		{ "\\*", "*", 1 }, { "\\*", "x", 0 }, { "", "", 1 },
		{ "*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(cases); i++)
		CHECK(box_glob_match(cases[i].pattern, cases[i].s) == cases[i].match);

	char dir[] = "/tmp/box-glob-XXXXXX", path[128], **paths;
	CHECK(mkdtemp(dir) != NULL);
	static const char *const files[] = { "b.conf", "a.conf", ".h.conf", "c.txt", "sub/d.conf" };
	snprintf(path, sizeof(path), "%s/sub", dir);
	CHECK(mkdir(path, 0700) == 0);
	for (size_t i = 0; i < BOX_ARRAY_LEN(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		close(open(path, O_CREAT | O_WRONLY, 0600));
	}
	snprintf(path, sizeof(path), "%s/*.conf", dir);
	size_t n = box_glob(path, &paths);
	CHECK(n == 2);
	if (n == 2) {
		CHECK(!strcmp(box_basename(paths[0]), "a.conf") && !strcmp(box_basename(paths[1]), "b.conf"));
		free(paths[0]);
		free(paths[1]);
	}
	free(paths);
	snprintf(path, sizeof(path), "%s/s*/*.conf", dir);
	n = box_glob(path, &paths);
	CHECK(n == 1 && !strcmp(box_basename(paths[0]), "d.conf"));
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	snprintf(path, sizeof(path), "%s/none/*.conf", dir);
	CHECK(box_glob(path, &paths) == 0);
	free(paths);
	for (size_t i = 0; i < BOX_ARRAY_LEN(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}
