/* procbox: the multi-call dispatcher.
 *
 * Runs the applet named by basename(argv[0]) (a leading '-' stripped, as
 * login shells are started), or by argv[1] when called as procbox. */
#include "../libbox/box.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROCBOX_VERSION "0.1.0"

#define APPLET(name) extern const struct applet applet_##name;
#define COMPAT(name, applet) APPLET(name)
#include "applets.h"
#undef APPLET
#undef COMPAT

/* Applets and compat names, sorted; a compat name is listed and linked
 * only when asked for (--compat), so procbox never shadows a real tool. */
static const struct entry {
	const struct applet *a;
	int compat;
} applets[] = {
#define APPLET(name) { &applet_##name, 0 },
#define COMPAT(name, applet) { &applet_##name, 1 },
#include "applets.h"
#undef APPLET
#undef COMPAT
};

static const char procbox_usage[] =
	"usage: procbox APPLET [ARG...]\n"
	"       procbox --list [--compat] | --install [-s] [--compat] DIR | --help [APPLET]\n"
	"       procbox --version\n";

static const struct applet *find_applet(const char *name)
{
	for (size_t i = 0; i < BOX_ARRAY_LEN(applets); i++)
		if (!strcmp(applets[i].a->name, name))
			return applets[i].a;
	return NULL;
}

/* Takes --compat out of argv: 1 when it was there. */
static int take_compat(int *argc, char **argv)
{
	for (int i = 0; i < *argc; i++)
		if (!strcmp(argv[i], "--compat")) {
			memmove(argv + i, argv + i + 1, sizeof(char *) * (size_t)(*argc - i));
			--*argc;
			return 1;
		}
	return 0;
}

static void print_help(const struct applet *a)
{
	struct box_buf b = { 0 };
	box_buf_printf(&b, "usage: %s\n\n%s", a->usage, a->help);
	box_write_all(1, b.p, b.len);
	box_buf_free(&b);
}

static int run_applet(const struct applet *a, int argc, char **argv)
{
	box_applet = a;
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		print_help(a);
		return 0;
	}
	return a->main(argc, argv);
}

static int list_applets(int compat)
{
	struct box_buf b = { 0 };
	for (size_t i = 0; i < BOX_ARRAY_LEN(applets); i++)
		if (compat || !applets[i].compat)
			box_buf_printf(&b, "%s\n", applets[i].a->name);
	box_write_all(1, b.p, b.len);
	box_buf_free(&b);
	return 0;
}

static int install_links(int argc, char **argv)
{
	int compat = take_compat(&argc, argv), sym = 0, failed = 0;
	char self[PATH_MAX];

	if (argc > 0 && !strcmp(argv[0], "-s"))
		sym = 1, argc--, argv++;
	if (argc != 1)
		box_usage("--install needs one directory");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		box_fatal_errno("unable to find the procbox binary");
	self[n] = 0;
	for (size_t i = 0; i < BOX_ARRAY_LEN(applets); i++) {
		if (applets[i].compat && !compat)
			continue;
		char *path = box_xasprintf("%s/%s", argv[0], applets[i].a->name);
		unlink(path);
		if ((sym ? symlink(self, path) : link(self, path)) < 0) {
			box_warn_errno("unable to link %s", path);
			failed = 1;
		}
		free(path);
	}
	return failed;
}

static int procbox_main(int argc, char **argv)
{
	if (argc < 2) {
		box_write_str(2, procbox_usage);
		return 1;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--list")) {
		int compat = take_compat(&argc, argv);
		if (argc > 2)
			box_usage("unexpected argument '%s' after --list", argv[2]);
		return list_applets(compat);
	}
	if (!strcmp(cmd, "--version")) {
		box_write_str(1, "procbox " PROCBOX_VERSION "\n");
		return 0;
	}
	if (!strcmp(cmd, "--install"))
		return install_links(argc - 2, argv + 2);
	if (!strcmp(cmd, "--help")) {
		if (argc < 3) {
			box_write_str(1, procbox_usage);
			box_write_str(1, "\napplets:\n");
			return list_applets(0);
		}
		const struct applet *a = find_applet(argv[2]);
		if (!a)
			box_die(127, "applet not found: %s", argv[2]);
		print_help(a);
		return 0;
	}
	if (cmd[0] == '-') {
		box_warn("unknown option '%s'", cmd);
		box_write_str(2, procbox_usage);
		return 1;
	}
	const struct applet *a = find_applet(cmd);
	if (!a)
		box_die(127, "applet not found: %s", cmd);
	return run_applet(a, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	box_sig_init();
	const char *name = argc > 0 && argv[0] ? argv[0] : "procbox";
	const char *slash = strrchr(name, '/');
	if (slash)
		name = slash + 1;
	if (*name == '-')
		name++;
	if (!strcmp(name, "procbox"))
		return procbox_main(argc, argv);
	const struct applet *a = find_applet(name);
	if (!a)
		box_die(127, "applet not found: %s", name);
	return run_applet(a, argc, argv);
}
