/* The mount table as the kernel tells it: /proc/self/mountinfo, one
 * mount per line, fields unescaped. Used by diskreport (its table) and
 * dirsync (the source's mount, bind mounts, mounts inside SRC). */
#include "box.h"

#include <string.h>
#include <sys/sysmacros.h>

/* mtab and mountinfo escape blanks, newlines and backslashes as \ooo. */
void box_mount_unescape(char *s)
{
	char *d = s;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

char *box_mount_field(char **p)
{
	char *s = *p, *e;
	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	e = strchr(s, ' ');
	if (e)
		*e++ = 0;
	else
		e = s + strlen(s);
	*p = e;
	return s;
}

/* Decimal digits up to `stop`; -1 when there are none or others. */
static long long box_digits_until(const char **s, char stop)
{
	long long v = 0;
	const char *p = *s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0') > 0xffffffffffLL ? 0xffffffffffLL : v * 10 + (*p - '0');
	if (*p != stop)
		return -1;
	*s = p + 1;
	return v;
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw" */
static int box_mountinfo_line(char *line, struct box_mount *m)
{
	char *p = line, *f[5];
	const char *d;
	long long id, maj, min;

	for (int i = 0; i < 5; i++)
		if (!(f[i] = box_mount_field(&p)))
			return -1;
	d = f[0];
	id = box_digits_until(&d, 0);
	d = f[2];
	if (id < 0 || (maj = box_digits_until(&d, ':')) < 0 || (min = box_digits_until(&d, 0)) < 0)
		return -1;
	/* optional fields, then a lone "-" */
	for (char *opt; (opt = box_mount_field(&p)) && strcmp(opt, "-");)
		;
	m->type = box_mount_field(&p);
	m->source = box_mount_field(&p);
	if (!m->type || !m->source)
		return -1;
	m->id = (unsigned long long)id;
	m->dev = makedev((unsigned)maj, (unsigned)min);
	m->root = f[3];
	m->dir = f[4];
	box_mount_unescape(m->root);
	box_mount_unescape(m->dir);
	box_mount_unescape(m->type);
	box_mount_unescape(m->source);
	return 0;
}

int box_mountinfo(box_mount_fn *fn, void *ctx)
{
	struct box_buf b = { 0 };
	struct box_mount m;
	int seen = 0;

	if (box_read_file("/proc/self/mountinfo", &b) < 0 || !b.len) {
		box_buf_free(&b);
		return -1;
	}
	for (char *line = b.p, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		if (box_mountinfo_line(line, &m) < 0)
			continue;
		seen = 1;
		if (fn(ctx, &m))
			break;
	}
	box_buf_free(&b);
	return seen ? 0 : -1;
}
