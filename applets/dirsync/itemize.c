/* dirsync's report of what it changes: one rsync-style line per change
 * with -i ("YXcstpoguax name"), the name alone with -v. */
#include "dirsync.h"

#include <stdio.h>

/* The columns of the code, by enum ds_update, enum ds_kind and bit. */
static const char update_letter[] = ".>c*h";
static const char kind_letter[] = "fdLSD";
static const char changed_letter[] = "  cstpoguax";

void ds_out_flush(struct ds *d)
{
	if (d->out.len)
		box_write_all(1, d->out.p, d->out.len);
	d->out.len = 0;
}

/* Names as rsync prints them: control bytes become \#ooo, so every entry
 * stays on one line whatever its name holds. */
static void out_name(struct ds *d, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 32 || c == 127)
			box_buf_printf(&d->out, "\\#%03o", c);
		else
			box_buf_addc(&d->out, (char)c);
	}
}

static void out_code(struct ds *d, enum ds_update u, enum ds_kind k, unsigned changed)
{
	char code[12] = "*deleting  ";

	if (u != UPDATE_DELETE) {
		code[0] = update_letter[u];
		code[1] = kind_letter[k];
		for (int i = 2; i < 11; i++)
			code[i] = changed & CHANGED_NEW ? '+' :
				changed & (1u << i) ? changed_letter[i] : '.';
	}
	box_buf_adds(&d->out, code);
	box_buf_addc(&d->out, ' ');
}

/* Which of SRC's attributes DST's entry lacks. */
unsigned ds_attr_changes(const struct ds *d, const struct stat *src, const struct stat *dst)
{
	unsigned changed = 0;

	if (ds_times_differ(d, &src->st_mtim, &dst->st_mtim))
		changed |= CHANGED_TIME;
	if (!S_ISLNK(src->st_mode) && (src->st_mode & 07777) != (dst->st_mode & 07777))
		changed |= CHANGED_PERMS;
	if (d->root && src->st_uid != dst->st_uid)
		changed |= CHANGED_OWNER;
	if (d->root && src->st_gid != dst->st_gid)
		changed |= CHANGED_GROUP;
	return changed;
}

void ds_report(struct ds *d, enum ds_update u, enum ds_kind k, unsigned changed,
	const char *rel, const char *target)
{
	d->changes++;
	if (!d->itemize && !d->verbose)
		return;
	if (d->itemize)
		out_code(d, u, k, changed);
	else if (u == UPDATE_DELETE)
		box_buf_adds(&d->out, "deleting ");
	out_name(d, *rel ? rel : ".");
	if (k == KIND_DIR)
		box_buf_addc(&d->out, '/');
	if (target) {
		box_buf_adds(&d->out, u == UPDATE_LINK ? " => " : " -> ");
		out_name(d, target);
	}
	box_buf_addc(&d->out, '\n');
	if (d->out.len > 65536)
		ds_out_flush(d);
}

/* A name for a message: control bytes as \#ooo, so no name can break a
 * message in two; valid for the next three calls. */
const char *ds_esc(const char *name)
{
	static char ring[3][1024];
	static int at;
	char *out = ring[at++ % 3];
	size_t o = 0;

	for (const unsigned char *s = (const unsigned char *)name; *s && o < 1018; s++) {
		if (*s < 32 || *s == 127)
			o += (size_t)snprintf(out + o, 6, "\\#%03o", *s);
		else
			out[o++] = (char)*s;
	}
	out[o] = 0;
	return out;
}
