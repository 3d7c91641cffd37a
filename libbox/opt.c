/* Option parsing shared by every applet (see box.h for the rules). */
#include "box.h"

#include <string.h>

void box_getopt_init(struct box_getopt *g, int argc, char **argv)
{
	g->argc = argc;
	g->argv = argv;
	g->ind = 1;
	g->arg = NULL;
	g->cluster = NULL;
	g->dashdash = 0;
}

static int box_getopt_long(struct box_getopt *g, const struct box_opt *opts, char *word)
{
	char *name = word + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	for (const struct box_opt *o = opts; o->key; o++) {
		if (!o->longname || strlen(o->longname) != len || strncmp(o->longname, name, len))
			continue;
		if (o->arg == 0 && eq)
			box_usage("option '--%s' takes no argument", o->longname);
		if (eq)
			g->arg = eq + 1;
		else if (o->arg == 1) {
			if (g->ind >= g->argc)
				box_usage("option '--%s' needs an argument", o->longname);
			g->arg = g->argv[g->ind++];
		}
		return o->key;
	}
	box_usage("unknown option '--%.*s'", (int)len, name);
}

static int box_getopt_short(struct box_getopt *g, const struct box_opt *opts)
{
	char c = *g->cluster++;

	for (const struct box_opt *o = opts; o->key; o++) {
		if (!o->shortname || o->shortname != c)
			continue;
		if (o->arg == 1) {
			if (*g->cluster)
				g->arg = (char *)g->cluster;
			else if (g->ind < g->argc)
				g->arg = g->argv[g->ind++];
			else
				box_usage("option '-%c' needs an argument", c);
			g->cluster = NULL;
		}
		if (g->cluster && !*g->cluster)
			g->cluster = NULL;
		return o->key;
	}
	box_usage("unknown option '-%c'", c);
}

int box_getopt(struct box_getopt *g, const struct box_opt *opts)
{
	g->arg = NULL;
	if (g->cluster)
		return box_getopt_short(g, opts);
	if (g->ind >= g->argc)
		return -1;
	char *word = g->argv[g->ind];
	if (word[0] != '-' || !word[1])
		return -1;
	g->ind++;
	if (word[1] == '-') {
		if (!word[2]) {
			g->dashdash = 1;
			return -1;
		}
		return box_getopt_long(g, opts, word);
	}
	g->cluster = word + 1;
	return box_getopt_short(g, opts);
}
