/* sweep's host list: the target words of the command line and of -f
 * files, expanded (targets.c), host names resolved, duplicates removed. */
#include "sweep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SWEEP_TARGET_LIMIT 65536u
#define SWEEP_TARGET_HARD_LIMIT (1u << 20)

/* Blank-separated words, '#' to the end of the line is a comment. The
 * buffer is kept: the words point into it. */
void sweep_read_target_file(const char *path, struct word_list *w)
{
	struct box_buf b = { 0 };
	int r = strcmp(path, "-") ? box_read_file(path, &b) : box_read_fd_all(0, &b);
	if (r < 0)
		box_fatal_errno("unable to read %s", path);
	char *p = b.p;
	while (*p) {
		if (*p == '#') {
			while (*p && *p != '\n')
				*p++ = 0;
		} else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			*p++ = 0;
		} else {
			*BOX_PUSH(w->v, w->n, w->cap) = p;
			while (*p && !strchr(" \t\r\n#", *p))
				p++;
		}
	}
}

static void add_target(struct sweep *S, int family, const uint8_t *addr, const char *name,
	uint32_t scope)
{
	struct target *t = BOX_PUSH(S->t, S->n, S->cap);

	memset(t, 0, sizeof(*t));
	t->family = (uint8_t)family;
	memcpy(t->addr, addr, family ? 16 : 4);
	t->name = name;
	t->scope = scope;
	t->tcp_fd = -1;
}

/* The address column of the first /etc/hosts line that lists name in any
 * letter case (glibc's rule; musl's getaddrinfo matches case-sensitively,
 * and a name it misses goes on to DNS), copied into buf; NULL when none. */
static const char *hosts_lookup(const char *name, char *buf, size_t size)
{
	static struct box_buf hosts;
	static int loaded;
	const char *found = NULL;

	if (!loaded++ && box_read_file("/etc/hosts", &hosts) < 0)
		return NULL;
	for (const char *line = hosts.p, *next; line && !found; line = next) {
		size_t len = strcspn(line, "#\n");
		next = strchr(line, '\n');
		next = next ? next + 1 : NULL;
		const char *p = line, *end = line + len;
		size_t alen = 0;
		for (int field = 0; p < end; field++) {
			p += strspn(p, " \t\r");
			size_t n = strcspn(p, " \t\r#\n");
			if (!n)
				break;
			if (!field)
				alen = n;
			else if (strlen(name) == n && !strncasecmp(p, name, n) && alen < size) {
				memcpy(buf, line + strspn(line, " \t"), alen);
				buf[alen] = 0;
				found = buf;
				break;
			}
			p += n;
		}
	}
	return found;
}

static void resolve_name(struct sweep *S, const char *name)
{
	struct addrinfo hints = { 0 }, *res;
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *host = hosts_lookup(name, addr, sizeof(addr));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = host ? AI_NUMERICHOST : 0;
	int r = getaddrinfo(host ? host : name, NULL, &hints, &res);
	if (r) {
		box_warn("unable to resolve %s: %s", name,
			r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		S->unknown_hosts++;
		return;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			add_target(S, 0,
				(uint8_t *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr, name, 0);
			break;
		}
		if (ai->ai_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ai->ai_addr;
			add_target(S, 1, (uint8_t *)&s6->sin6_addr, name, s6->sin6_scope_id);
			break;
		}
	}
	freeaddrinfo(res);
}

static struct target *sort_base;

static int cmp_targets(const void *a, const void *b)
{
	const struct target *x = &sort_base[*(const uint32_t *)a];
	const struct target *y = &sort_base[*(const uint32_t *)b];
	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, 16);
	if (!c)
		c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
	if (c)
		return c;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Keeps the first occurrence of every address, in input order; a name is a
 * target of its own (fping lists "localhost" and "127.0.0.1" both). */
static void remove_duplicates(struct sweep *S)
{
	uint32_t *idx = box_xmalloc((S->n + 1) * sizeof(*idx));
	uint8_t *dup = box_xcalloc(S->n + 1, 1);
	for (uint32_t i = 0; i < S->n; i++)
		idx[i] = i;
	sort_base = S->t;
	qsort(idx, S->n, sizeof(*idx), cmp_targets);
	for (uint32_t i = 1; i < S->n; i++) {
		const struct target *a = &S->t[idx[i - 1]], *b = &S->t[idx[i]];
		if (a->family == b->family && !memcmp(a->addr, b->addr, 16) &&
		    !strcmp(a->name ? a->name : "", b->name ? b->name : ""))
			dup[idx[i]] = 1;
	}
	uint32_t kept = 0;
	for (uint32_t i = 0; i < S->n; i++)
		if (!dup[i])
			S->t[kept++] = S->t[i];
	S->n = kept;
	free(idx);
	free(dup);
}

void sweep_build_targets(struct sweep *S, struct word_list *w, int force)
{
	struct sweep_spec *specs = box_xcalloc(w->n + 1, sizeof(*specs));
	uint64_t total = 0;

	for (size_t i = 0; i < w->n; i++) {
		if (sweep_parse_spec(w->v[i], &specs[i]) == SWEEP_BAD)
			box_usage("invalid target '%s': %s", w->v[i], specs[i].why);
		total = specs[i].count > UINT64_MAX - total ? UINT64_MAX : total + specs[i].count;
	}
	if (total > SWEEP_TARGET_LIMIT && !force)
		box_usage("too many targets (%llu, more than %u): use --force",
			(unsigned long long)total, SWEEP_TARGET_LIMIT);
	if (total > SWEEP_TARGET_HARD_LIMIT)
		box_usage("too many targets (%llu, at most %u even with --force)",
			(unsigned long long)total, SWEEP_TARGET_HARD_LIMIT);
	for (size_t i = 0; i < w->n; i++) {
		uint8_t addr[16];
		if (specs[i].kind == SWEEP_NAME) {
			resolve_name(S, w->v[i]);
			continue;
		}
		for (uint64_t k = 0; k < specs[i].count; k++) {
			sweep_spec_addr(&specs[i], k, addr);
			add_target(S, specs[i].kind == SWEEP_V6, addr, NULL, 0);
		}
	}
	free(specs);
	remove_duplicates(S);
}
