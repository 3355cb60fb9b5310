/* SPDX-License-Identifier: MIT */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/*
 * The two protocols systemd documents as stable interfaces for programs to
 * speak themselves (sd_listen_fds(3), sd_notify(3)), spoken here so that no
 * libsystemd, and none of the compression and crypto libraries it maps,
 * enters a worker's address space. Each function behaves as its libsystemd
 * 252 namesake, checks and return values included: the unit test
 * test_activation.c runs both on the same environments and compares.
 */

#define WHITESPACE " \t\n\r"

/* "0b"/"0o" prefixes as Python writes them; strtoull's base 0 does "0x"
 * and C's leading-0 octal (systemd's safe_atollu_full). */
static const char *mangle_base(const char *s, int *base)
{
	if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		*base = 2;
		return s + 2;
	}
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		*base = 8;
		return s + 2;
	}
	return s;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long l;
	int base = 0;
	char *x = NULL;

	s += strspn(s, WHITESPACE);
	s = mangle_base(s, &base);
	errno = 0;
	l = strtoull(s, &x, base);
	if (errno > 0)
		return -errno;
	if (!x || x == s || *x != 0)
		return -EINVAL;
	if (l != 0 && s[0] == '-')
		return -ERANGE;
	*ret = l;
	return 0;
}

static int parse_int(const char *s, int *ret)
{
	int base = 0;
	char *x = NULL;
	long l;

	s += strspn(s, WHITESPACE);
	s = mangle_base(s, &base);
	errno = 0;
	l = strtol(s, &x, base);
	if (errno > 0)
		return -errno;
	if (!x || x == s || *x != 0)
		return -EINVAL;
	if ((long)(int)l != l)
		return -ERANGE;
	*ret = (int)l;
	return 0;
}

static int parse_pid(const char *s, pid_t *ret)
{
	uint64_t u;
	int r = parse_u64(s, &u);

	if (r < 0)
		return r;
	if ((uint64_t)(pid_t)u != u || (pid_t)u <= 0)
		return -ERANGE;
	*ret = (pid_t)u;
	return 0;
}

static void unset_listen_env(int unset)
{
	if (!unset)
		return;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

static int listen_fds(int unset)
{
	const char *e = getenv("LISTEN_PID");
	pid_t pid;
	int n, r;

	if (!e) {
		r = 0;
		goto finish;
	}
	r = parse_pid(e, &pid);
	if (r < 0)
		goto finish;
	if (getpid() != pid) { /* not for us: for a parent that exec'd no one */
		r = 0;
		goto finish;
	}
	e = getenv("LISTEN_FDS");
	if (!e) {
		r = 0;
		goto finish;
	}
	r = parse_int(e, &n);
	if (r < 0)
		goto finish;
	if (n <= 0 || n > INT_MAX - ACTIVATION_LISTEN_FDS_START) {
		r = -EINVAL;
		goto finish;
	}
	for (int fd = ACTIVATION_LISTEN_FDS_START; fd < ACTIVATION_LISTEN_FDS_START + n; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl < 0) {
			r = -errno;
			goto finish;
		}
		if (!(fl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			r = -errno;
			goto finish;
		}
	}
	r = n;
finish:
	unset_listen_env(unset);
	return r;
}

static void free_names(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* LISTEN_FDNAMES split on every ':' (libsystemd's extract_first_word()
 * with EXTRACT_DONT_COALESCE_SEPARATORS): empty names are kept ("" is one,
 * "a::b" three), a backslash takes the next character literally ("a\:b" is
 * one name "a:b"), a trailing backslash is an error. NULL-terminated. */
static int split_names(const char *e, char ***ret)
{
	size_t n = 1, k = 0, len = strlen(e);
	char **v, *w;

	for (const char *p = e; *p; p++) {
		if (*p == '\\') {
			if (!*++p)
				return -EINVAL;
		} else
			n += *p == ':';
	}
	if (!(v = calloc(n + 1, sizeof *v)))
		return -ENOMEM;
	for (const char *p = e;; p++) {
		size_t o = 0;

		if (!(w = v[k++] = malloc(len + 1))) {
			free_names(v);
			return -ENOMEM;
		}
		for (; *p && *p != ':'; p++)
			w[o++] = *p == '\\' ? *++p : *p;
		w[o] = 0;
		if (!*p)
			break;
	}
	*ret = v;
	return (int)n;
}

int activation_listen_fds_with_names(int unset, char ***names)
{
	const char *e = getenv("LISTEN_FDNAMES");
	char **v = NULL;
	int nn = 0, n;

	if (!names)
		return listen_fds(unset);
	if (e) {
		nn = split_names(e, &v);
		if (nn < 0) {
			unset_listen_env(unset);
			return nn;
		}
	}
	n = listen_fds(unset);
	if (n <= 0) {
		free_names(v);
		return n;
	}
	if (e && nn != n) {
		free_names(v);
		return -EINVAL;
	}
	if (!e) {
		if (!(v = calloc((size_t)n + 1, sizeof *v)))
			return -ENOMEM;
		for (int i = 0; i < n; i++)
			if (!(v[i] = strdup("unknown"))) {
				free_names(v);
				return -ENOMEM;
			}
	}
	*names = v;
	return n;
}

int activation_is_socket(int fd, int family, int type, int listening)
{
	struct sockaddr_storage ss;
	socklen_t l;
	struct stat st;
	int v;

	if (fd < 0)
		return -EBADF;
	if (family < 0 || type < 0)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return 0;
	if (type != 0) {
		l = sizeof v;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0)
			return -errno;
		if (l != sizeof v)
			return -EINVAL;
		if (v != type)
			return 0;
	}
	if (listening >= 0) {
		l = sizeof v;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0)
			return -errno;
		if (l != sizeof v)
			return -EINVAL;
		if (!v != !listening)
			return 0;
	}
	if (family > 0) {
		l = sizeof ss;
		memset(&ss, 0, sizeof ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
			return -errno;
		if (l < sizeof(sa_family_t))
			return -EINVAL;
		return ss.ss_family == family;
	}
	return 1;
}

int activation_watchdog_enabled(int unset, uint64_t *usec)
{
	const char *s = getenv("WATCHDOG_USEC"), *p = "";
	uint64_t u;
	pid_t pid;
	int r = 0;

	if (!s)
		goto finish;
	r = parse_u64(s, &u);
	if (r < 0)
		goto finish;
	if (u == 0 || u == UINT64_MAX) { /* unset, or infinity */
		r = -EINVAL;
		goto finish;
	}
	p = getenv("WATCHDOG_PID");
	if (p) {
		r = parse_pid(p, &pid);
		if (r < 0)
			goto finish;
		if (getpid() != pid) {
			r = 0;
			goto finish;
		}
	}
	if (usec)
		*usec = u;
	r = 1;
finish:
	if (unset && s)
		unsetenv("WATCHDOG_USEC");
	if (unset && p)
		unsetenv("WATCHDOG_PID");
	return r;
}

/* NOTIFY_SOCKET: a path ("/run/systemd/notify") or an abstract name
 * ("@..."). Returns the address length, or -EINVAL for any other form
 * (libsystemd 252 knows no other either), -ENAMETOOLONG for a path that
 * does not fit with its NUL. */
static int notify_address(const char *e, struct sockaddr_un *sa)
{
	size_t l = strlen(e);

	if ((e[0] != '/' && e[0] != '@') || l < 2)
		return -EINVAL;
	if (l + 1 > sizeof sa->sun_path) /* libsystemd's limit for both forms */
		return e[0] == '@' ? -EINVAL : -ENAMETOOLONG;
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, e, l);
	if (e[0] == '@') {
		sa->sun_path[0] = 0;
		return (int)(offsetof(struct sockaddr_un, sun_path) + l);
	}
	return (int)(offsetof(struct sockaddr_un, sun_path) + l + 1);
}

/* A datagram socket opened before the sandbox forbids socket(): afterwards
 * notifications go out through it with sendmsg(), which stays allowed. */
static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;

int activation_notify_with_fds(int unset, const char *state, const int *fds, unsigned n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * ACTIVATION_NOTIFY_MAX_FDS)];
	} ctl;
	struct sockaddr_un sa;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_name = &sa };
	const char *e;
	int fd = -1, r;

	if (!state || (n > 0 && !fds)) {
		r = -EINVAL;
		goto finish;
	}
	if (n > ACTIVATION_NOTIFY_MAX_FDS) {
		r = -E2BIG;
		goto finish;
	}
	e = getenv("NOTIFY_SOCKET");
	if (!e)
		return 0;
	r = notify_address(e, &sa);
	if (r < 0)
		goto finish;
	mh.msg_namelen = (socklen_t)r;
	if (notify_fd >= 0 && mh.msg_namelen == notify_len &&
	    memcmp(&sa, &notify_addr, notify_len) == 0) {
		fd = notify_fd;
	} else if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		r = -errno;
		goto finish;
	}
	iov = (struct iovec){ .iov_base = (void *)state, .iov_len = strlen(state) };
	if (n > 0) {
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(&ctl.h), fds, sizeof(int) * n);
	}
	r = sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0 ? 1 : -errno;
	if (fd != notify_fd)
		close(fd);
finish:
	if (unset)
		unsetenv("NOTIFY_SOCKET");
	return r;
}

static int cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}


static int check_listening(int fd, const char *name)
{
	int r = activation_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1);

	if (r < 0) {
		log_err("fd %d (%s): %s", fd, name, strerror(-r));
		return r;
	}
	if (r == 0) {
		log_err("fd %d (%s) is not a listening stream socket; check the .socket unit "
			"(ListenStream=, Accept=no)",
			fd, name);
		return -ENOTSOCK;
	}
	return cloexec(fd);
}

static int adopt_systemd(struct activation_opts *o, int n, char **names, int **ret_fds,
			 size_t *ret_n)
{
	const char *fdname = o->fdname;
	int *fds = calloc((size_t)n, sizeof *fds);
	size_t k = 0;
	int r = 0;

	if (!fds)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int fd = ACTIVATION_LISTEN_FDS_START + i;
		const char *name = names && names[i] ? names[i] : "unknown";

		if (!strcmp(name, ACTIVATION_CONN_FDNAME)) {
			/* A connection the previous instance left in the fd store. It
			 * moves out of 3.., which the supervisor keeps for its
			 * listening sockets and scoreboard. */
			int moved = activation_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 0) > 0
					    ? fcntl(fd, F_DUPFD_CLOEXEC, 64) : -1;

			close(fd);
			if (moved >= 0 && (o->conns || (o->conns = calloc((size_t)n, sizeof(int)))))
				o->conns[o->nconns++] = moved;
			else if (moved >= 0)
				close(moved);
			continue;
		}
		if (!strcmp(name, ACTIVATION_STATUS_FDNAME) && !(fdname && !strcmp(fdname, name))) {
			/* the supervisor's (status.h), whatever "fdname" keeps */
			if (o->status_fd <= 0 && check_listening(fd, name) == 0)
				o->status_fd = fd;
			else
				close(fd);
			continue;
		}
		if (fdname && strcmp(name, fdname) != 0) {
			log_info("fd %d (%s): not named %s, closed", fd, name, fdname);
			close(fd);
			continue;
		}
		if (r == 0 && (r = check_listening(fd, name)) == 0)
			fds[k++] = fd;
	}
	if (r == 0 && k == 0) {
		log_err("none of the %d socket(s) passed by systemd is named \"%s\" "
			"(FileDescriptorName= in the .socket unit)",
			n, fdname);
		r = -ENOENT;
	}
	if (r < 0) {
		free(fds);
		return r;
	}
	*ret_fds = fds;
	*ret_n = k;
	return 0;
}

/* Where a socket comes from, for each way of starting: `sfcgi run` takes
 * no --listen, so a config's user is pointed at its "listen" key. */
static void no_socket(const struct activation_opts *o)
{
	const char *inst = getenv("SFCGI_INSTANCE");

	if (o->config)
		log_err("no listening socket: start the instance through its socket unit "
			"(systemctl start app@%s.socket), or set \"listen\": "
			"{\"path\": \"/run/sfcgi/%s.sock\", \"group\": \"www-data\"} in %s, or "
			"pass a listening socket on fd 0 (spawn-fcgi)",
			inst ? inst : "NAME", inst ? inst : "NAME", o->config);
	else
		log_err("no listening socket: start me from a systemd .socket unit, with "
			"--listen PATH|HOST:PORT (or \"listen\" in a --config file), or with a "
			"listening socket on fd 0 (spawn-fcgi)");
}

int activation_adopt(struct activation_opts *o, int **ret_fds, size_t *ret_n)
{
	char **names = NULL;
	int n, r, fd;

	activation_adopt_created();
	/* unset_environment=1: children we fork must not think they got them. */
	n = activation_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_err("LISTEN_FDS: %s", strerror(-n));
		return n;
	}
	if (o->listen) {
		if (n > 0)
			log_notice("--listen given: ignoring the %d socket(s) passed by systemd", n);
		for (int i = 0; i < n; i++)
			close(ACTIVATION_LISTEN_FDS_START + i);
		r = 0;
		fd = activation_listen(o);
		if (fd < 0)
			r = fd;
		else if (!(*ret_fds = malloc(sizeof(int)))) {
			close(fd);
			r = -ENOMEM;
		} else {
			(*ret_fds)[0] = fd;
			*ret_n = 1;
		}
	} else if (n > 0) {
		r = adopt_systemd(o, n, names, ret_fds, ret_n);
		if (o->nconns) {
			log_info("%zu connection(s) kept open across the restart (fd store)", o->nconns);
			/* systemd keeps its own copies in the store: while it does,
			 * closing ours would not end a connection for the web server. */
			activation_notify("FDSTOREREMOVE=1\nFDNAME=" ACTIVATION_CONN_FDNAME);
		}
		o->from_systemd = r == 0;
	} else if (activation_is_socket(STDIN_FILENO, AF_UNSPEC, SOCK_STREAM, 1) > 0) {
		/* FCGI_LISTENSOCK_FILENO: started by a web server or spawn-fcgi. */
		r = cloexec(STDIN_FILENO);
		if (r == 0 && !(*ret_fds = malloc(sizeof(int))))
			r = -ENOMEM;
		if (r == 0) {
			(*ret_fds)[0] = STDIN_FILENO;
			*ret_n = 1;
		}
	} else {
		no_socket(o);
		r = -ENOENT;
	}
	if (names)
		for (int i = 0; i < n; i++)
			free(names[i]);
	free(names);
	return r;
}

uint64_t activation_watchdog_ms(void)
{
	uint64_t usec = 0;

	return activation_watchdog_enabled(1, &usec) > 0 ? usec / 1000 : 0;
}

int activation_fdstore(const int *fds, size_t n)
{
	for (size_t off = 0; off < n;) {
		size_t k = n - off > ACTIVATION_NOTIFY_MAX_FDS ? ACTIVATION_NOTIFY_MAX_FDS : n - off;
		int r = activation_notify_with_fds(0, "FDSTORE=1\nFDNAME=" ACTIVATION_CONN_FDNAME,
						   fds + off, (unsigned)k);

		if (r <= 0)
			return r < 0 ? r : -ENOTCONN;
		off += k;
	}
	return 0;
}

int activation_notify_prepare(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	int r;

	if (!e || notify_fd >= 0)
		return 0;
	r = notify_address(e, &notify_addr);
	if (r < 0)
		return 0; /* activation_notify() reports it, once per message */
	notify_len = (socklen_t)r;
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return notify_fd < 0 ? -errno : 0;
}

void activation_notify(const char *state)
{
	int r = activation_notify_with_fds(0, state, NULL, 0);

	if (r < 0)
		log_warning("sd_notify(%s): %s", state, strerror(-r));
}
