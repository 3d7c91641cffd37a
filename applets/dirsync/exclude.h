/* dirsync's exclude patterns, shared with their unit test and fuzz target. */
#ifndef DIRSYNC_EXCLUDE_H
#define DIRSYNC_EXCLUDE_H

#include "../../libbox/box.h"

/* What rsync's add_rule notes about a pattern. */
enum {
	PAT_ANCHORED = 1,	/* a leading '/': matched from the top of SRC */
	PAT_DIRONLY = 2,	/* a trailing '/': directories only */
	PAT_WILD = 4,		/* has * ? or [ (else compared byte for byte) */
	PAT_WILD2 = 8,		/* has "**" */
	PAT_WILD2_PREFIX = 16,	/* starts with "**" */
	PAT_WILD3_SUFFIX = 32,	/* ends with "***" */
};

struct dirsync_pattern {
	char *text;		/* without the leading '/' and one trailing '/' */
	struct box_glob glob;	/* text compiled, for a PAT_WILD pattern */
	unsigned flags;		/* PAT_* */
	unsigned slashes;	/* the '/' in the pattern, the leading one too */
};

/* Returns 0, or -1 for a pattern that is refused: empty, longer than 1024
 * bytes, or an rsync include ("+ X") or list clear ("!"). "- X" is X. */
int dirsync_pattern_parse(const char *s, struct dirsync_pattern *p);
/* rel: the entry's path below SRC, no leading '/'. Returns 1 on a match. */
int dirsync_pattern_match(const struct dirsync_pattern *p, const char *rel, int isdir);
void dirsync_pattern_free(struct dirsync_pattern *p);

#endif
