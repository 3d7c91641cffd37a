/* Looking up a USER[:GROUP] and dropping privileges to it. */
#include "box.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The supplementary groups initgroups(3) would set, looked up now so that
 * switching to the user later needs no file access or allocation. */
static void lookup_groups(struct box_user *u)
{
	int n = 16;

	for (;;) {
		int got = n;
		gid_t *g = box_xcalloc((size_t)n, sizeof(gid_t));
		if (getgrouplist(u->name, u->gid, g, &got) >= 0) {
			u->groups = g;
			u->ngroups = got;
			return;
		}
		free(g);
		if (n >= 65536) {	/* NGROUPS_MAX: setgroups would refuse more */
			u->groups = NULL;
			u->ngroups = 0;
			return;
		}
		n = got > n ? got : n * 2;
	}
}

int box_lookup_user(const char *spec, struct box_user *u, const char **err)
{
	char *name = box_xstrdup(spec), *group = strchr(name, ':');
	struct passwd *pw;
	long long id;

	memset(u, 0, sizeof(*u));
	if (group)
		*group++ = 0;
	errno = 0;
	pw = getpwnam(name);
	if (!pw && box_parse_ll(name, 0, 0x7fffffff, &id) == BOX_PARSE_OK)
		pw = getpwuid((uid_t)id);
	if (!pw) {
		*err = "unknown user";
		free(name);
		return -1;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->name = box_xstrdup(pw->pw_name);
	u->home = box_xstrdup(pw->pw_dir);
	if (group && *group) {
		struct group *gr = getgrnam(group);
		if (!gr && box_parse_ll(group, 0, 0x7fffffff, &id) == BOX_PARSE_OK)
			gr = getgrgid((gid_t)id);
		if (!gr) {
			*err = "unknown group";
			free(name);
			box_user_free(u);
			return -1;
		}
		u->gid = gr->gr_gid;
	}
	free(name);
	lookup_groups(u);
	return 0;
}

void box_user_free(struct box_user *u)
{
	free(u->name);
	free(u->home);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

/* The id syscalls made directly: libc's wrappers may signal every thread
 * of the process to keep them in step, which is wrong (and unsafe) in a
 * child that shares its parent's memory. */
#if defined(SYS_setuid32)
#define BOX_SYS_SETGROUPS SYS_setgroups32
#define BOX_SYS_SETGID SYS_setgid32
#define BOX_SYS_SETUID SYS_setuid32
#else
#define BOX_SYS_SETGROUPS SYS_setgroups
#define BOX_SYS_SETGID SYS_setgid
#define BOX_SYS_SETUID SYS_setuid
#endif

const char *box_become_user(const struct box_user *u)
{
	gid_t primary = u->gid;

	if (syscall(BOX_SYS_SETGROUPS, u->groups ? u->ngroups : 1,
			u->groups ? u->groups : &primary) < 0)
		return "set supplementary groups";
	if (syscall(BOX_SYS_SETGID, u->gid) < 0)
		return "set group id";
	if (syscall(BOX_SYS_SETUID, u->uid) < 0)
		return "set user id";
	if (u->uid != 0 && syscall(BOX_SYS_SETUID, 0) == 0) {
		errno = EPERM;
		return "drop root for good";
	}
	return NULL;
}

const char *box_drop_privileges(const struct box_user *u)
{
	const char *what = box_become_user(u);

	if (what)
		return what;
	if (setenv("HOME", u->home, 1) < 0 || setenv("USER", u->name, 1) < 0 ||
	    setenv("LOGNAME", u->name, 1) < 0)
		return "set HOME, USER and LOGNAME";
	return NULL;
}
