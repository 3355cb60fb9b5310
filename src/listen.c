/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets made here, for --listen and a config's "listen": a
 * stale socket file replaced, a socket file's mode, owner and group set
 * before its name appears, and the file removed when this process exits
 * (activation.h). The sockets systemd or a web server pass are adopted in
 * activation.c.
 */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/*
 * A socket file left behind by a dead process (a crash, SIGKILL) is
 * removed; anything else at the path is refused with what to do. Only a
 * refused connection proves nobody listens: EACCES and the like are not.
 */
static int clear_stale(const struct sockaddr_un *sa, socklen_t len)
{
	struct stat st;
	int fd, r;

	if (sa->sun_path[0] == 0 || lstat(sa->sun_path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("listen %s: exists and is not a socket; remove it or choose another path",
			sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, len) == 0 ? 0 : -errno;
	close(fd);
	if (r == 0) {
		log_err("listen %s: another process is listening there (a second instance?); "
			"stop it or choose another path",
			sa->sun_path);
		return -EADDRINUSE;
	}
	if (r != -ECONNREFUSED) {
		log_err("listen %s: a socket is there and cannot be probed (%s); remove it if no "
			"process uses it",
			sa->sun_path, strerror(-r));
		return r;
	}
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	log_info("listen %s: removed a stale socket no process listened on", sa->sun_path);
	return 0;
}

/*
 * The socket file this process made, removed when it exits (stop, idle
 * exit, a failed start) and not on a reload's re-exec, which keeps the
 * socket: SFCGI_LISTEN_CREATED carries it to the next image of the same
 * PID. Forked workers exit with another PID and leave it alone; a file
 * replaced meanwhile (another dev/ino) is not ours any more.
 */
enum { CREATED_LISTEN, CREATED_STATUS, CREATED_MAX }; /* "listen", the status socket */
static const char *const created_env[CREATED_MAX] = { "SFCGI_LISTEN_CREATED",
						     "SFCGI_STATUS_CREATED" };
static struct {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} created[CREATED_MAX];

static void remove_created(void)
{
	struct stat st;

	for (int i = 0; i < CREATED_MAX; i++) {
		if (created[i].pid != getpid() || !created[i].path[0])
			continue;
		if (lstat(created[i].path, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    st.st_dev == created[i].dev && st.st_ino == created[i].ino)
			unlink(created[i].path);
		created[i].path[0] = 0;
	}
}

static void record_created(int i, const char *path, dev_t dev, ino_t ino)
{
	static bool registered;

	created[i].pid = getpid();
	created[i].dev = dev;
	created[i].ino = ino;
	snprintf(created[i].path, sizeof created[i].path, "%s", path);
	if (!registered)
		registered = atexit(remove_created) == 0;
}

void activation_forget_created(void)
{
	for (int i = 0; i < CREATED_MAX; i++)
		created[i].path[0] = 0;
}

void activation_keep_created(bool keep)
{
	char v[sizeof created[0].path + 64];

	for (int i = 0; i < CREATED_MAX; i++) {
		if (!keep || created[i].pid != getpid() || !created[i].path[0]) {
			unsetenv(created_env[i]);
			continue;
		}
		snprintf(v, sizeof v, "%d:%ju:%ju:%s", (int)created[i].pid,
			 (uintmax_t)created[i].dev, (uintmax_t)created[i].ino, created[i].path);
		setenv(created_env[i], v, 1);
	}
}

/* After a reload's re-exec: the socket files are still ours to remove. */
void activation_adopt_created(void)
{
	for (int i = 0; i < CREATED_MAX; i++) {
		const char *e = getenv(created_env[i]);
		uintmax_t dev, ino;
		int pid, n = 0;

		if (e && sscanf(e, "%d:%ju:%ju:%n", &pid, &dev, &ino, &n) == 3 && n > 0 &&
		    pid == (int)getpid() && e[n] == '/')
			record_created(i, e + n, (dev_t)dev, (ino_t)ino);
		unsetenv(created_env[i]);
	}
}

/* Mode, owner and group of the temporary name, before it becomes the real one. */
static int own_file(const char *path, const struct activation_opts *o)
{
	int mode = o->listen_mode >= 0 ? o->listen_mode : ACTIVATION_LISTEN_MODE;

	if (chown(path, o->listen_uid, o->listen_gid) < 0 || chmod(path, (mode_t)mode) < 0)
		return -errno;
	return 0;
}

/*
 * Binds under a temporary name, born 0600 (umask 0177: no other user can
 * connect to it even for an instant), sets mode, owner and group, listens,
 * then renames: the path never names a socket with the wrong permissions
 * or one that refuses connections.
 */
static int listen_unix(const char *path, const struct activation_opts *o, int which)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, tmp;
	size_t n = strlen(path);
	bool abstract = path[0] == '@';
	struct stat st;
	socklen_t len;
	mode_t mask;
	int fd, r;

	if (n + 16 >= sizeof sa.sun_path) {
		log_err("listen %s: path longer than %zu bytes", path, sizeof sa.sun_path - 17);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, n);
	if (abstract)
		sa.sun_path[0] = 0;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + !abstract);
	if ((r = clear_stale(&sa, len)) < 0)
		return r;
	tmp = sa;
	if (!abstract)
		snprintf(tmp.sun_path, sizeof tmp.sun_path, "%s.%d.tmp", path, (int)getpid());
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(tmp.sun_path);
	mask = umask(0177);
	r = bind(fd, (struct sockaddr *)&tmp, abstract ? len : (socklen_t)sizeof tmp);
	r = r < 0 ? -errno : 0;
	umask(mask);
	if (r == 0 && !abstract)
		r = own_file(tmp.sun_path, o);
	if (r == 0 && (listen(fd, SOMAXCONN) < 0 || (!abstract && rename(tmp.sun_path, path) < 0)))
		r = -errno;
	if (r == 0 && !abstract && lstat(path, &st) == 0)
		record_created(which, path, st.st_dev, st.st_ino);
	if (r < 0) {
		log_err("listen %s: %s%s", path, strerror(-r),
			r == -ENOENT ? " (create its directory first, e.g. RuntimeDirectory= in "
				       "the unit)" : "");
		if (!abstract)
			unlink(tmp.sun_path);
		close(fd);
		return r;
	}
	return fd;
}

static int listen_inet(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
			*res = NULL;
	char host[256];
	const char *port, *h = spec;
	size_t hl;
	int r, fd = -1;

	if (spec[0] == '[') {
		const char *e = strchr(spec, ']');

		if (!e || e[1] != ':')
			goto bad;
		h = spec + 1;
		hl = (size_t)(e - h);
		port = e + 2;
	} else {
		port = strrchr(spec, ':');
		if (!port)
			goto bad;
		hl = (size_t)(port - spec);
		port++;
	}
	if (hl >= sizeof host || !*port)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = 0;
	r = getaddrinfo(hl && strcmp(host, "*") ? host : NULL, port, &hints, &res);
	if (r) {
		log_err("--listen %s: %s", spec, gai_strerror(r));
		return -EADDRNOTAVAIL;
	}
	r = -EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, sizeof(int));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
			break;
		r = -errno;
		log_err("--listen %s: %m", spec);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : r;
bad:
	log_err("--listen %s: expected /path.sock, @abstract, HOST:PORT or [IPv6]:PORT", spec);
	return -EINVAL;
}

int activation_listen(const struct activation_opts *o)
{
	const char *spec = o->listen;

	if (!spec || !*spec)
		return -EINVAL;
	if (spec[0] == '/' || spec[0] == '@' || spec[0] == '.')
		return listen_unix(spec, o, CREATED_LISTEN);
	return listen_inet(spec); /* a mode or group is a file's: config.c refuses them here */
}

int activation_status_socket(int adopted, const char *option, const char *config)
{
	const char *spec = option ? option : getenv("SFCGI_STATUS_LISTEN");

	spec = spec ? spec : config;
	unsetenv("SFCGI_STATUS_LISTEN"); /* sfcgi run --status-listen: ours, not the app's */
	if (getenv("SFCGI_STATUS_FD"))
		return 0; /* a reload's re-exec: the previous image's (counters.c) */
	if (adopted > 0)
		return adopted;
	return spec ? activation_listen_status(spec) : 0;
}

int activation_listen_status(const char *spec)
{
	/* root's (or the user's) only: the web server connects as root, or
	 * the unit's socket gives it a group (units/app@.socket) */
	const struct activation_opts o = { .listen = spec, .listen_mode = 0600,
					   .listen_uid = (uid_t)-1, .listen_gid = (gid_t)-1 };

	if (!spec || !*spec)
		return -EINVAL;
	if (spec[0] == '/' || spec[0] == '@' || spec[0] == '.')
		return listen_unix(spec, &o, CREATED_STATUS);
	return listen_inet(spec);
}
