/* supervise: the control socket. Clients connect, send one request line
 * and read the reply (see supervise.h); access is decided by the peer's
 * credentials. A client closed during a turn is marked and freed after
 * it, since another slot of the turn may point to it. */
#include "supervise.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FOLLOW_MAX (1 << 20)   /* bytes queued for one `tail -f` client */
#define REQUEST_MAX 8192

static struct client **clients;
static size_t nclients, clients_cap;

/* ---- the socket -------------------------------------------------------------- */

void server_open(const char *path, int mode, const char *owner)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		box_fatal("unable to bind %s: path too long", path);
	strcpy(a.sun_path, path);
	sv.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sv.listen_fd < 0)
		box_fatal_errno("unable to create a socket");
	mode_t old = umask(0177);
	int r = bind(sv.listen_fd, (struct sockaddr *)&a, sizeof(a));
	if (r < 0 && errno == EADDRINUSE) {
		int t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (t >= 0 && connect(t, (struct sockaddr *)&a, sizeof(a)) == 0)
			box_fatal("another supervise is already listening on %s", path);
		box_close(t);
		/* nobody answers: a stale socket from a daemon that died */
		unlink(path);
		r = bind(sv.listen_fd, (struct sockaddr *)&a, sizeof(a));
	}
	umask(old);
	if (r < 0)
		box_fatal_errno("unable to bind %s", path);
	if (chmod(path, (mode_t)mode) < 0)
		box_fatal_errno("unable to chmod %s", path);
	if (owner) {
		struct box_user u;
		const char *why;
		if (box_lookup_user(owner, &u, &why) == 0) {
			if (chown(path, u.uid, u.gid) < 0)
				box_fatal_errno("unable to chown %s to %s", path, owner);
			sv.sock_uid = u.uid;
			sv.sock_gid = u.gid;
			box_user_free(&u);
		}
	}
	if (listen(sv.listen_fd, 64) < 0)
		box_fatal_errno("unable to listen on %s", path);
}

/* A member of gid, by the Groups: line of /proc/PID/status. */
static int in_group(pid_t pid, gid_t gid)
{
	char path[64];
	struct box_buf b = { 0 };
	int ok = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (box_read_file(path, &b) == 0) {
		char *g = strstr(b.p, "\nGroups:");
		for (char *s = g ? g + 8 : NULL, *e; s && *s && *s != '\n'; s = e) {
			long v = strtol(s, &e, 10);
			if (e == s)
				break;
			ok |= (gid_t)v == gid;
		}
	}
	box_buf_free(&b);
	return ok;
}

/* Root, our own uid, the chown user, or a member of the chown group. */
static int peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	if (cr.uid == 0 || cr.uid == geteuid() || cr.uid == sv.sock_uid)
		return 1;
	if (sv.sock_gid == (gid_t)-1)
		return 0;
	return cr.gid == sv.sock_gid || in_group(cr.pid, sv.sock_gid);
}

/* ---- replies ------------------------------------------------------------------- */

void reply_finish(struct client *cl)
{
	box_buf_printf(&cl->out, "%d %zu\n", cl->code, cl->reply.len);
	if (cl->reply.len)
		box_buf_add(&cl->out, cl->reply.p, cl->reply.len);
	cl->closing = 1;
}

void reply(struct client *cl, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	if (n > 0)
		box_buf_add(&cl->reply, line, (size_t)n);
	box_buf_addc(&cl->reply, '\n');
}

static void client_send(struct client *cl, const char *p, size_t n)
{
	if (cl->out.len - cl->off + n > FOLLOW_MAX) {
		cl->dropped += n;
		return;
	}
	box_buf_add(&cl->out, p, n);
}

void server_follow_push(int id, int stream, const char *p, size_t n)
{
	for (size_t i = 0; i < nclients; i++)
		if (clients[i]->follow_id == id && clients[i]->follow_stream == stream)
			client_send(clients[i], p, n);
}

/* ---- clients --------------------------------------------------------------------- */

static void client_free(struct client *cl)
{
	box_close(cl->fd);
	box_buf_free(&cl->in);
	box_buf_free(&cl->out);
	box_buf_free(&cl->reply);
	free(cl->w);
	free(cl);
}

static void handle_request(struct client *cl, char *line)
{
	char *av[128];
	int ac = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t && ac < 127;
	     t = strtok_r(NULL, " \t\r", &save))
		av[ac++] = t;
	av[ac] = NULL;
	cl->answered = 1;
	if (!ac)
		reply_finish(cl);
	else
		verbs_handle(cl, av, ac);
}

static void client_read(struct client *cl)
{
	char buf[4096];
	ssize_t r = box_read(cl->fd, buf, sizeof(buf));
	if (r == 0 || (r < 0 && errno != EAGAIN)) {
		cl->dead = 1;
		return;
	}
	if (r < 0 || cl->answered)
		return;
	box_buf_add(&cl->in, buf, (size_t)r);
	char *nl = memchr(cl->in.p, '\n', cl->in.len);
	if (nl) {
		*nl = 0;
		handle_request(cl, cl->in.p);
	} else if (cl->in.len > REQUEST_MAX) {
		cl->dead = 1;
	}
}

static void client_write(struct client *cl)
{
	while (cl->off < cl->out.len) {
		ssize_t w = send(cl->fd, cl->out.p + cl->off, cl->out.len - cl->off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			cl->dead = 1;
			return;
		}
		cl->off += (size_t)w;
	}
	cl->off = cl->out.len = 0;
	if (cl->closing)
		cl->dead = 1;
}

static void on_client(void *ctx, int fd, short revents)
{
	struct client *cl = ctx;
	(void)fd;
	if (!cl->dead && revents & POLLOUT)
		client_write(cl);
	if (!cl->dead && revents & (POLLIN | POLLHUP | POLLERR))
		client_read(cl);
}

static void on_accept(void *ctx, int fd, short revents)
{
	(void)ctx, (void)revents;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0)
			return;
		struct client *cl = box_xcalloc(1, sizeof(*cl));
		cl->fd = cfd;
		cl->follow_id = -1;
		*BOX_PUSH(clients, nclients, clients_cap) = cl;
		if (!peer_allowed(cfd)) {
			reply(cl, "ERROR: permission denied");
			cl->code = 4;
			cl->answered = 1;
			reply_finish(cl);
			mlog("WARN", "refused a control connection: permission denied");
		}
	}
}

void server_watch(struct box_loop *l)
{
	box_loop_fd(l, sv.listen_fd, POLLIN, on_accept, NULL);
	for (size_t i = 0; i < nclients; i++) {
		struct client *cl = clients[i];
		box_loop_fd(l, cl->fd, (short)(POLLIN | (cl->out.len > cl->off ? POLLOUT : 0)),
			on_client, cl);
	}
}

void server_after_turn(void)
{
	size_t k = 0;
	for (size_t i = 0; i < nclients; i++) {
		struct client *cl = clients[i];
		if (!cl->dead && cl->nw)
			verbs_progress(cl);
		if (cl->dead)
			client_free(cl);
		else
			clients[k++] = cl;
	}
	nclients = k;
}

void server_close(void)
{
	if (sv.listen_fd >= 0 && sv.cfg.sock)
		unlink(sv.cfg.sock);
	/* best effort: replies already queued (e.g. to "shutdown") go out */
	for (size_t i = 0; i < nclients; i++) {
		struct client *cl = clients[i];
		if (!cl->dead && cl->out.len > cl->off)
			send(cl->fd, cl->out.p + cl->off, cl->out.len - cl->off,
				MSG_NOSIGNAL | MSG_DONTWAIT);
		client_free(cl);
	}
	free(clients);
	clients = NULL;
	nclients = 0;
}
