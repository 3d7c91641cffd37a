/* Looking up a USER[:GROUP] and dropping privileges to it. */
#include "box.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
			return -1;
		}
		u->gid = gr->gr_gid;
	}
	free(name);
	return 0;
}

const char *box_drop_privileges(const struct box_user *u)
{
	if (initgroups(u->name, u->gid) < 0)
		return "set supplementary groups";
	if (setgid(u->gid) < 0)
		return "set group id";
	if (setuid(u->uid) < 0)
		return "set user id";
	if (u->uid != 0 && setuid(0) == 0) {
		errno = EPERM;
		return "drop root for good";
	}
	if (setenv("HOME", u->home, 1) < 0 || setenv("USER", u->name, 1) < 0 ||
	    setenv("LOGNAME", u->name, 1) < 0)
		return "set HOME, USER and LOGNAME";
	return NULL;
}
