/* supervise: the control socket. Clients connect, send one request line
 * and read the reply (see supervise.h); access is decided by the peer's
 * credentials. A client closed during a turn is marked and freed after
 * it, since another slot of the turn may point to it.
 *
 * Every client is bounded: CLIENTS_MAX of them, REQUEST_WAIT to send the
 * request, FOLLOW_MAX bytes queued (a follower that falls behind skips
 * ahead), a file sent FILE_PIECE at a time. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FOLLOW_MAX (256 << 10)
#define FILE_PIECE (64 << 10)
#define REQUEST_MAX 8192
#define REQUEST_WAIT (10 * BOX_NSEC)
#define CLIENTS_MAX 64
#define REFUSED_EVERY (60 * BOX_NSEC)   /* at most one line a minute */

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

static struct client **clients;
static size_t nclients, clients_cap;
/* given up to accept and close a connection when out of descriptors */
static int spare_fd = -1;

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
	struct stat st;
	/* only a socket nobody answers on is ever removed */
	if (r < 0 && errno == EADDRINUSE && lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		box_fatal("unable to bind %s: it exists and is not a socket", path);
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
	spare_fd = box_open("/dev/null", O_RDONLY, 0);
}

/* A member of gid: the groups the peer had when it connected, or where
 * the kernel cannot say (before 4.13, or more than 256 groups), the
 * Groups: line of /proc/PID/status. */
static int in_group(int fd, pid_t pid, gid_t gid)
{
	char path[64];
	struct box_buf b = { 0 };
	gid_t g[256];
	socklen_t len = sizeof(g);
	int ok = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			ok |= g[i] == gid;
		return ok;
	}
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
static int peer_allowed(int fd, struct ucred *cr_out)
{
	struct ucred cr = { 0, (uid_t)-1, (gid_t)-1 };
	socklen_t len = sizeof(cr);
	int r = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len);
	*cr_out = cr;
	if (r < 0)
		return 0;
	if (cr.uid == 0 || cr.uid == geteuid() || cr.uid == sv.sock_uid)
		return 1;
	if (sv.sock_gid == (gid_t)-1)
		return 0;
	return cr.gid == sv.sock_gid || in_group(fd, cr.pid, sv.sock_gid);
}

/* The first refusal, then at most one line a minute with the count, so a
 * local user who connects in a loop cannot fill the log. */
static void log_refusal(uid_t uid)
{
	static int64_t next;
	static unsigned n;
	char more[64] = "";
	int64_t now = box_now_ns();
	if (++n > 1)
		snprintf(more, sizeof(more), " (%u refused since the last such line)", n);
	if (now < next)
		return;
	mlog("WARN", "refused a control connection from uid %d: permission denied%s",
		(int)uid, more);
	next = now + REFUSED_EVERY;
	n = 0;
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

/* Pushed output: while the file is being sent it is in the file too (or
 * about to be); beyond FOLLOW_MAX it is skipped until the queue is out. */
static void client_send(struct client *cl, const char *p, size_t n)
{
	if (cl->file_fd >= 0)
		return;
	if (cl->dropped || cl->out.len - cl->off + n > FOLLOW_MAX) {
		cl->dropped += n;
		return;
	}
	if (cl->off > cl->out.len / 2) {
		cl->out.len -= cl->off;
		memmove(cl->out.p, cl->out.p + cl->off, cl->out.len);
		cl->off = 0;
	}
	box_buf_add(&cl->out, p, n);
}

void client_send_file(struct client *cl, int fd, off_t from, off_t end)
{
	box_buf_adds(&cl->out, "0 -1\n");
	cl->file_fd = fd;
	cl->file_off = from;
	cl->file_end = end;
	cl->closing = fd < 0 && cl->follow_id < 0;
	cl->streaming = 1;
}

/* The next piece of the file; at its end a follower goes on with what is
 * pushed, and anyone else is done. */
static void client_fill(struct client *cl)
{
	char buf[FILE_PIECE];
	off_t left = cl->file_end < 0 ? FILE_PIECE : cl->file_end - cl->file_off;
	ssize_t r = pread(cl->file_fd, buf, left < FILE_PIECE ? (size_t)left : FILE_PIECE,
		cl->file_off);
	if (r > 0) {
		box_buf_add(&cl->out, buf, (size_t)r);
		cl->file_off += r;
		return;
	}
	box_close(cl->file_fd);
	cl->file_fd = -1;
	cl->closing = cl->follow_id < 0;
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
	box_close(cl->file_fd);
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
	for (;;) {
		if (cl->off == cl->out.len) {
			int nl = !cl->out.len || cl->out.p[cl->out.len - 1] == '\n';
			cl->off = cl->out.len = 0;
			if (cl->file_fd >= 0) {
				client_fill(cl);
			} else if (cl->dropped) {
				box_buf_printf(&cl->out, "%s==> supervise: skipped %llu bytes, the reader"
					" fell behind <==\n", nl ? "" : "\n", cl->dropped);
				cl->dropped = 0;
			} else {
				cl->dead = cl->closing;
				return;
			}
			continue;
		}
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

/* Makes room: closes the oldest client that has not sent its request.
 * 0 when there is none. */
static int evict_idle(void)
{
	for (size_t i = 0; i < nclients; i++) {
		struct client *cl = clients[i];
		if (!cl->answered && !cl->dead) {
			box_close(cl->fd);
			cl->fd = -1;
			cl->dead = 1;
			return 1;
		}
	}
	return 0;
}

/* A bounded number a turn: connecting in a loop cannot hold the loop. */
static void on_accept(void *ctx, int fd, short revents)
{
	(void)ctx, (void)revents;
	for (int i = 0; i < CLIENTS_MAX; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0 && errno != EMFILE && errno != ENFILE)
			return;
		if (cfd < 0) {
			/* out of descriptors: the connection is taken from the queue
			 * all the same, or poll would say it is there at once again */
			if (!evict_idle()) {
				box_close(spare_fd);
				box_close(accept(fd, NULL, NULL));
				spare_fd = box_open("/dev/null", O_RDONLY, 0);
			}
			continue;
		}
		if (nclients >= CLIENTS_MAX && !evict_idle()) {
			box_close(cfd);
			continue;
		}
		struct client *cl = box_xcalloc(1, sizeof(*cl));
		struct ucred cr;
		cl->fd = cfd;
		cl->file_fd = cl->follow_id = -1;
		cl->idle_until = box_now_ns() + REQUEST_WAIT;
		*BOX_PUSH(clients, nclients, clients_cap) = cl;
		if (!peer_allowed(cfd, &cr)) {
			reply(cl, "ERROR: permission denied");
			cl->code = 4;
			cl->answered = 1;
			reply_finish(cl);
			log_refusal(cr.uid);
		}
	}
}

void server_watch(struct box_loop *l)
{
	box_loop_fd(l, sv.listen_fd, POLLIN, on_accept, NULL);
	for (size_t i = 0; i < nclients; i++) {
		struct client *cl = clients[i];
		int more = cl->out.len > cl->off || cl->file_fd >= 0 || cl->dropped;
		box_loop_fd(l, cl->fd, (short)(POLLIN | (more ? POLLOUT : 0)), on_client, cl);
		if (!cl->answered)
			box_loop_deadline(l, cl->idle_until);
	}
}

void server_after_turn(void)
{
	size_t k = 0;
	int64_t now = nclients ? box_now_ns() : 0;
	for (size_t i = 0; i < nclients; i++) {
		struct client *cl = clients[i];
		cl->dead |= !cl->answered && now >= cl->idle_until;
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
