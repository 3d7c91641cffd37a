/* dirsync's exclude patterns, shared with their unit test and fuzz target. */
#ifndef DIRSYNC_EXCLUDE_H
#define DIRSYNC_EXCLUDE_H

struct dirsync_pattern {
	char *text;          /* without the leading and trailing '/' */
	int anchored;        /* leading '/': matched from the top of SRC */
	int dironly;         /* trailing '/': directories only */
	int path;            /* has a '/': matched against path tails */
};

/* Returns 0, or -1 for a pattern that can never match (empty, too long). */
int dirsync_pattern_parse(const char *s, struct dirsync_pattern *p);
/* rel: the entry's path below SRC, no leading '/'. Returns 1 on a match. */
int dirsync_pattern_match(const struct dirsync_pattern *p, const char *rel, int isdir);

#endif
