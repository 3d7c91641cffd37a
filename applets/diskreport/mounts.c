/* diskreport's mount table: /proc/self/mountinfo (the getmntent(3)
 * tables where it is missing), and the mounts chosen as GNU df chooses
 * them, so the same ones are hidden. */
#include "diskreport.h"

#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

struct mount_list {
	struct mount *v;
	size_t n, cap;
};

/* As gnulib's mountlist.c decides it, so the same mounts are hidden. */
static int is_dummy(const char *type)
{
	static const char *const dummies[] = {
		"autofs", "proc", "subfs", "debugfs", "devpts", "fusectl",
		"fuse.portal", "mqueue", "rpc_pipefs", "sysfs", "devfs", "kernfs",
		"ignore", "none",
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(dummies); i++)
		if (!strcmp(type, dummies[i]))
			return 1;
	return 0;
}

static int is_remote(const char *dev, const char *type)
{
	static const char *const remotes[] = {
		"acfs", "afs", "coda", "auristorfs", "fhgfs", "gpfs", "ibrix",
		"ocfs2", "vxfs",
	};
	if (strchr(dev, ':') || !strcmp(dev, "-hosts"))
		return 1;
	if (dev[0] == '/' && dev[1] == '/' && (!strcmp(type, "smbfs") ||
	    !strcmp(type, "smb3") || !strcmp(type, "cifs")))
		return 1;
	for (size_t i = 0; i < BOX_ARRAY_LEN(remotes); i++)
		if (!strcmp(type, remotes[i]))
			return 1;
	return 0;
}

static void add_mount(struct mount_list *l, char *dev, char *dir, char *root,
		      char *type, dev_t me_dev)
{
	*BOX_PUSH(l->v, l->n, l->cap) = (struct mount){
		.dev = box_xstrdup(dev),
		.dir = box_xstrdup(dir),
		.root = root ? box_xstrdup(root) : NULL,
		.type = box_xstrdup(type),
		.me_dev = me_dev,
		.dummy = is_dummy(type),
		.remote = is_remote(dev, type),
		.probe = -1,
	};
}

static int mount_seen(void *ctx, const struct box_mount *m)
{
	add_mount(ctx, m->source, m->dir, m->root, m->type, m->dev);
	return 0;
}

/* -1 when there is no mountinfo, or nothing in it to use. */
static int read_mountinfo(struct mount_list *l)
{
	return box_mountinfo(mount_seen, l) < 0 || !l->n ? -1 : 0;
}

/* The getmntent(3) format, "fsname dir type options freq passno", read
 * here rather than with getmntent so no stdio is linked for it. */
static void read_mtab(struct mount_list *l)
{
	static const char *const tables[] = { "/proc/mounts", "/etc/mtab" };
	struct box_buf b = { 0 };
	int ok = -1;

	for (size_t i = 0; i < BOX_ARRAY_LEN(tables) && ok < 0; i++)
		ok = box_read_file(tables[i], &b);
	if (ok < 0)
		box_fatal_errno("unable to read the mount table");
	for (char *line = b.p, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		char *p = line, *dev = box_mount_field(&p), *dir = box_mount_field(&p), *type = box_mount_field(&p);
		if (!type || dev[0] == '#')
			continue;
		box_mount_unescape(dev);
		box_mount_unescape(dir);
		box_mount_unescape(type);
		add_mount(l, dev, dir, NULL, type, (dev_t)-1);
	}
	box_buf_free(&b);
}

void read_mounts(struct mount **list, size_t *n)
{
	struct mount_list l = { 0 };
	if (read_mountinfo(&l) < 0)
		read_mtab(&l);
	*list = l.v;
	*n = l.n;
}

/* ---- choosing mounts as df does ---------------------------------------- */

static int type_selected(const char *type)
{
	int sel = o.ntypes == 0;
	for (size_t i = 0; i < o.ntypes; i++)
		sel |= !strcmp(type, o.types[i]);
	for (size_t i = 0; i < o.nxtypes; i++)
		if (!strcmp(type, o.xtypes[i]))
			return 0;
	return sel;
}

int wanted(const struct mount *m, int listed)
{
	if (m->remote && o.local)
		return 0;
	if (m->dummy && !o.all && !listed)
		return 0;
	return type_selected(m->type);
}

struct devent *dev_find(struct devent *d, size_t n, dev_t dev)
{
	for (size_t i = n; i-- > 0;)
		if (d[i].dev == dev)
			return &d[i];
	return NULL;
}

/* df's filter_mount_list: of several mounts of one device keep the one
 * with a real device name, else the one nearest the root; with -a only
 * the device table is built (for the over-mount check). Returns the kept
 * mount indexes in order. */
size_t filter_mounts(struct mount *ms, size_t n, struct probe *pr, size_t *kept,
	struct devent *devs, size_t *ndevs)
{
	size_t nkept = 0;

	*ndevs = 0;
	for (size_t i = 0; i < n; i++) {
		struct mount *m = &ms[i];
		struct probe *p = m->probe >= 0 ? &pr[m->probe] : NULL;
		dev_t dev = m->me_dev;
		struct devent *seen = NULL;

		if (p && !p->hung && !p->stat_err) {
			dev = p->st_dev;
			seen = dev_find(devs, *ndevs, dev);
		}
		if (seen) {
			struct mount *sm = &ms[seen->mount];
			int nearer = strlen(sm->dir) > strlen(m->dir);
			int below = sm->root && m->root && strlen(sm->root) < strlen(m->root);
			if (m->remote && sm->remote && strcmp(sm->dev, m->dev))
				;	/* different remote exports: keep both */
			else if ((strchr(m->dev, '/') && !strchr(sm->dev, '/')) ||
				 (nearer && !below) ||
				 (strcmp(sm->dev, m->dev) && !strcmp(m->dir, sm->dir))) {
				for (size_t k = 0; k < nkept; k++)
					if (kept[k] == seen->mount)
						kept[k] = i;
				seen->mount = i;
				continue;
			} else {
				continue;
			}
		}
		devs[*ndevs].dev = dev;
		devs[*ndevs].mount = i;
		(*ndevs)++;
		kept[nkept++] = i;
	}
	if (o.all) {
		for (size_t i = 0; i < n; i++)
			kept[i] = i;
		nkept = n;
	}
	return nkept;
}

int has_uuid_suffix(const char *s)
{
	size_t len = strlen(s);
	return len > 36 && strspn(s + len - 36, "-0123456789abcdefABCDEF") == 36;
}

/* df's get_point: the mount whose directory is the longest prefix of the
 * resolved path, confirmed by device number. */
const struct mount *point_mount(const struct mount *ms, size_t n, const char *real)
{
	const struct mount *best = NULL;
	size_t best_len = 0, rlen = strlen(real);

	for (size_t i = 0; i < n; i++) {
		const struct mount *m = &ms[i];
		if (!strcmp(m->type, "lofs") || (best && !best->dummy && m->dummy))
			continue;
		size_t len = strlen(m->dir);
		if (best_len <= len && len <= rlen && (len == 1 ||
		    ((len == rlen || real[len] == '/') && !strncmp(m->dir, real, len)))) {
			best = m;
			best_len = len;
		}
	}
	return best;
}

const struct mount *dev_mount(const struct mount *ms, size_t n, dev_t dev)
{
	const struct mount *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (ms[i].me_dev == dev && strcmp(ms[i].type, "lofs") &&
		    (!best || best->dummy || !ms[i].dummy))
			best = &ms[i];
	return best;
}

/* A block device given as PATH: the mount of that device with the
 * shortest directory (df's get_device, without its over-mount check). */
const struct mount *device_mount(const struct mount *ms, size_t n, char *const *canon,
	const char *real)
{
	const struct mount *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *name = canon[i] ? canon[i] : ms[i].dev;
		if (!strcmp(name, real) && (!best || strlen(ms[i].dir) < strlen(best->dir)))
			best = &ms[i];
	}
	return best;
}

