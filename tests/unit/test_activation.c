/* SPDX-License-Identifier: MIT */
/*
 * activation.c speaks socket activation and sd_notify itself (issue 12);
 * libsystemd is the reference. Each case runs both implementations on the
 * same environment and the same descriptors, in a child process of its own
 * (the cases put sockets on fds 3.., where Check keeps its own files), and
 * compares what they return, what they leave in the environment, the
 * descriptors' close-on-exec flags, and the datagrams and descriptors that
 * reach a notification socket.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "activation.h"

#define OUT_FD 200 /* where a case's child writes its results */
#define SEP "\x1e" /* between the two results (states hold newlines) */

/* The state after one call, as text: return value, names, env, flags. */
static void describe_listen(char *buf, size_t len, int r, char **names, int nfds)
{
	size_t off = (size_t)snprintf(buf, len, "r=%d names=", r);

	for (int i = 0; r > 0 && names && names[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "[%s]", names[i]);
	if (r > 0 && names && names[r] != NULL && off < len)
		off += (size_t)snprintf(buf + off, len - off, "(not NULL-terminated)");
	for (const char *const *v = (const char *const[]){ "LISTEN_PID", "LISTEN_FDS",
							   "LISTEN_FDNAMES", NULL };
	     *v && off < len; v++)
		off += (size_t)snprintf(buf + off, len - off, " %s=%s", *v,
					getenv(*v) ? getenv(*v) : "(unset)");
	for (int fd = 3; fd < 3 + nfds && off < len; fd++)
		off += (size_t)snprintf(buf + off, len - off, " fd%d:%s", fd,
					fcntl(fd, F_GETFD) < 0		 ? "closed"
					: fcntl(fd, F_GETFD) & FD_CLOEXEC ? "cloexec"
									 : "inherit");
}

struct listen_case {
	const char *pid;   /* "$" = our pid, "$+1" another, NULL = unset */
	const char *fds;
	const char *names;
	int open_fds;      /* sockets put on 3.. without FD_CLOEXEC */
	int unset;
	bool with_names;
};

static void set_pid_env(const char *var, const char *v)
{
	char buf[64];

	if (!v) {
		unsetenv(var);
		return;
	}
	if (!strcmp(v, "$"))
		snprintf(buf, sizeof buf, "%d", (int)getpid());
	else if (!strcmp(v, "$+1"))
		snprintf(buf, sizeof buf, "%d", (int)getpid() + 1);
	else if (!strcmp(v, "0x$"))
		snprintf(buf, sizeof buf, "0x%x", (unsigned)getpid());
	else if (!strcmp(v, " $"))
		snprintf(buf, sizeof buf, " \t%d", (int)getpid());
	else if (!strcmp(v, "+$"))
		snprintf(buf, sizeof buf, "+%d", (int)getpid());
	else if (!strcmp(v, "$ "))
		snprintf(buf, sizeof buf, "%d ", (int)getpid());
	else
		snprintf(buf, sizeof buf, "%s", v);
	setenv(var, buf, 1);
}

static void prepare_listen(const struct listen_case *c)
{
	for (int i = 0; i < c->open_fds; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		ck_assert_int_ge(fd, 0);
		if (fd != 3 + i) {
			ck_assert_int_eq(dup2(fd, 3 + i), 3 + i);
			close(fd);
		}
	}
	for (int fd = 3 + c->open_fds; fd < 3 + c->open_fds + 4; fd++)
		close(fd);
	set_pid_env("LISTEN_PID", c->pid);
	c->fds ? setenv("LISTEN_FDS", c->fds, 1) : unsetenv("LISTEN_FDS");
	c->names ? setenv("LISTEN_FDNAMES", c->names, 1) : unsetenv("LISTEN_FDNAMES");
}

/* Runs fn in a child that first moves the result pipe out of 3.. */
static void in_child(void (*fn)(const void *), const void *arg, char *out, size_t len)
{
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(p[1], OUT_FD) < 0)
			_exit(2);
		close(p[0]);
		close(p[1]);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, len - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "case child failed");
}

static void emit(const char *s)
{
	size_t n = strlen(s);

	if (write(OUT_FD, s, n) != (ssize_t)n)
		_exit(3);
}

static void run_listen(const void *arg)
{
	const struct listen_case *c = arg;
	char a[1024], b[1024], **na = NULL, **nb = NULL;
	int ra, rb, n = c->open_fds + 2;

	prepare_listen(c);
	ra = c->with_names ? activation_listen_fds_with_names(c->unset, &na)
			   : activation_listen_fds_with_names(c->unset, NULL);
	describe_listen(a, sizeof a, ra, na, n);
	for (int i = 0; i < c->open_fds; i++) /* the same start for the reference */
		fcntl(3 + i, F_SETFD, 0);
	prepare_listen(c);
	rb = c->with_names ? sd_listen_fds_with_names(c->unset, &nb) : sd_listen_fds(c->unset);
	describe_listen(b, sizeof b, rb, nb, n);
	emit(a);
	emit(SEP);
	emit(b);
}

static void compare(void (*fn)(const void *), const void *arg, const char *what)
{
	char out[4096], *nl;

	in_child(fn, arg, out, sizeof out);
	nl = strstr(out, SEP);
	ck_assert_msg(nl, "%s: no result from the case's child", what);
	*nl = 0;
	ck_assert_msg(strcmp(out, nl + 1) == 0, "%s:\n  sfcgi:      %s\n  libsystemd: %s", what, out,
		      nl + 1);
}

static const struct listen_case listen_cases[] = {
	{ NULL, NULL, NULL, 0, 0, true },
	{ "$", "2", "fcgi:status", 2, 0, true },
	{ "$", "2", "fcgi:status", 2, 1, true },
	{ "$", "2", NULL, 2, 1, true },
	{ "$", "2", NULL, 2, 0, false },
	{ "$", "1", "fcgi", 1, 1, false },
	{ "$+1", "2", "a:b", 2, 1, true },
	{ "$+1", "2", "a:b", 2, 0, true },
	{ "0", "1", "a", 1, 1, true },
	{ "-1", "1", "a", 1, 1, true },
	{ "abc", "1", "a", 1, 1, true },
	{ "", "1", "a", 1, 1, true },
	{ "0x$", "1", "a", 1, 1, true },
	{ " $", "1", "a", 1, 1, true },
	{ "+$", "1", "a", 1, 1, true },
	{ "$ ", "1", "a", 1, 1, true },
	{ "99999999999999999999999", "1", "a", 1, 1, true },
	{ "$", NULL, "a", 1, 1, true },
	{ "$", "0", NULL, 1, 1, true },
	{ "$", "-1", NULL, 1, 1, true },
	{ "$", "abc", NULL, 1, 1, true },
	{ "$", "1x", NULL, 1, 1, true },
	{ "$", "0b11", NULL, 3, 1, true },
	{ "$", "0o2", NULL, 2, 1, true },
	{ "$", "0x2", NULL, 2, 1, true },
	{ "$", "02", NULL, 2, 1, true },
	{ "$", " 2", NULL, 2, 1, true },
	{ "$", "99999999999", NULL, 1, 1, true },
	{ "$", "2147483647", NULL, 1, 1, true },
	{ "$", "3", NULL, 2, 1, true },   /* fd 5 is not open */
	{ "$", "2", "a", 2, 1, true },    /* fewer names than fds */
	{ "$", "1", "a:b", 1, 1, true },  /* more names than fds */
	{ "$", "1", "", 1, 1, true },
	{ "$", "2", ":", 2, 1, true },
	{ "$", "3", "a::b", 3, 1, true },
	{ "$", "2", "a:", 2, 1, true },
	{ "$", "2", ":b", 2, 1, true },
	{ "$", "1", "a b\\:c", 1, 1, true },
	{ "$", "2", "a\\\\:b", 2, 1, true },
	{ "$", "1", "a\\", 1, 1, true },
	{ "$", "1", "\\n\\'\"x\"", 1, 1, true },
	{ "$", "2", "'a:b'", 2, 1, true },
	{ "$", "2", "a:b", 2, 0, false },
};

START_TEST(listen_fds_like_libsystemd)
{
	char what[256];
	const struct listen_case *c = &listen_cases[_i];

	snprintf(what, sizeof what, "LISTEN_PID=%s LISTEN_FDS=%s LISTEN_FDNAMES=%s, %d open, unset=%d",
		 c->pid ? c->pid : "(unset)", c->fds ? c->fds : "(unset)",
		 c->names ? c->names : "(unset)", c->open_fds, c->unset);
	compare(run_listen, c, what);
}
END_TEST

/* --- sd_is_socket --- */

static void run_is_socket(const void *arg)
{
	int kinds[8], nk = 0, sv[2], p[2];
	char buf[2][2048];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const int fams[] = { 0, AF_UNIX, AF_INET, AF_INET6, -1 };
	static const int types[] = { 0, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, -1 };
	static const int lis[] = { -1, 0, 1, 2 };

	(void)arg;
	kinds[nk] = socket(AF_UNIX, SOCK_STREAM, 0); /* listening, abstract */
	snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "sfcgi-test-is-socket-%d", (int)getpid());
	ck_assert_int_eq(bind(kinds[nk], (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(kinds[nk++], 4), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	kinds[nk++] = sv[0];
	kinds[nk++] = socket(AF_UNIX, SOCK_DGRAM, 0);
	kinds[nk++] = socket(AF_INET, SOCK_STREAM, 0); /* unbound: AF_INET, not listening */
	ck_assert_int_eq(pipe(p), 0);
	kinds[nk++] = p[0];
	kinds[nk++] = open("/dev/null", O_RDONLY);
	kinds[nk++] = 150; /* not open */
	kinds[nk++] = -1;
	for (int impl = 0; impl < 2; impl++) {
		size_t off = 0;

		for (int k = 0; k < nk; k++)
			for (size_t f = 0; f < sizeof fams / sizeof *fams; f++)
				for (size_t t = 0; t < sizeof types / sizeof *types; t++)
					for (size_t l = 0; l < sizeof lis / sizeof *lis; l++) {
						int r = impl ? sd_is_socket(kinds[k], fams[f], types[t], lis[l])
							     : activation_is_socket(kinds[k], fams[f],
										    types[t], lis[l]);

						off += (size_t)snprintf(buf[impl] + off,
									sizeof buf[impl] - off, "%d",
									r);
					}
	}
	emit(buf[0]);
	emit(SEP);
	emit(buf[1]);
}

START_TEST(is_socket_like_libsystemd)
{
	compare(run_is_socket, NULL,
		"sd_is_socket over listening/connected/dgram/inet/pipe/file/closed/-1 fds, "
		"every family, type and listening value");
}
END_TEST

/* --- sd_watchdog_enabled --- */

struct wd_case {
	const char *usec, *pid;
	int unset;
};

static const struct wd_case wd_cases[] = {
	{ NULL, NULL, 1 },
	{ "30000000", NULL, 1 },
	{ "30000000", NULL, 0 },
	{ "30000000", "$", 1 },
	{ "30000000", "$+1", 1 },
	{ "30000000", "$+1", 0 },
	{ "30000000", "abc", 1 },
	{ "30000000", "0", 1 },
	{ "0", NULL, 1 },
	{ "18446744073709551615", NULL, 1 },
	{ "18446744073709551616", NULL, 1 },
	{ "-5", NULL, 1 },
	{ "abc", "$", 1 },
	{ "0x10", NULL, 1 },
	{ " 7", NULL, 1 },
	{ "7 ", NULL, 1 },
	{ "", NULL, 1 },
	{ NULL, "$", 1 },
};

static void describe_wd(char *buf, size_t len, int r, uint64_t u)
{
	snprintf(buf, len, "r=%d usec=%llu WATCHDOG_USEC=%s WATCHDOG_PID=%s", r,
		 (unsigned long long)u, getenv("WATCHDOG_USEC") ? getenv("WATCHDOG_USEC") : "(unset)",
		 getenv("WATCHDOG_PID") ? getenv("WATCHDOG_PID") : "(unset)");
}

static void run_wd(const void *arg)
{
	const struct wd_case *c = arg;
	char a[256], b[256];
	uint64_t ua = 0, ub = 0;
	int r;

	c->usec ? setenv("WATCHDOG_USEC", c->usec, 1) : unsetenv("WATCHDOG_USEC");
	set_pid_env("WATCHDOG_PID", c->pid);
	r = activation_watchdog_enabled(c->unset, &ua);
	describe_wd(a, sizeof a, r, ua);
	c->usec ? setenv("WATCHDOG_USEC", c->usec, 1) : unsetenv("WATCHDOG_USEC");
	set_pid_env("WATCHDOG_PID", c->pid);
	r = sd_watchdog_enabled(c->unset, &ub);
	describe_wd(b, sizeof b, r, ub);
	emit(a);
	emit(SEP);
	emit(b);
}

START_TEST(watchdog_like_libsystemd)
{
	char what[128];

	snprintf(what, sizeof what, "WATCHDOG_USEC=%s WATCHDOG_PID=%s unset=%d",
		 wd_cases[_i].usec ? wd_cases[_i].usec : "(unset)",
		 wd_cases[_i].pid ? wd_cases[_i].pid : "(unset)", wd_cases[_i].unset);
	compare(run_wd, &wd_cases[_i], what);
}
END_TEST

/* --- sd_notify, with and without descriptors --- */

struct notify_case {
	const char *socket; /* "PATH" / "@ABSTRACT": ours, bound; others as given */
	const char *state;
	int nfds;
	int unset;
};

static const struct notify_case notify_cases[] = {
	{ "PATH", "READY=1", 0, 0 },
	{ "PATH", "READY=1\nSTATUS=serving, generation 2", 0, 1 },
	{ "@ABSTRACT", "RELOADING=1\nMONOTONIC_USEC=123", 0, 0 },
	{ "@ABSTRACT", "WATCHDOG=1", 0, 1 },
	{ "PATH", "FDSTORE=1\nFDNAME=connection", 1, 0 },
	{ "@ABSTRACT", "FDSTORE=1\nFDNAME=connection", 3, 0 },
	{ "PATH", "FDSTOREREMOVE=1\nFDNAME=connection", 0, 0 },
	{ "PATH", "", 0, 0 },
	{ NULL, "READY=1", 0, 1 },
	{ "relative/path", "READY=1", 0, 1 },
	{ "@", "READY=1", 0, 1 },
	{ "/", "READY=1", 0, 1 },
	{ "/nonexistent/notify", "READY=1", 0, 1 },
	{ "LONG/108", "READY=1", 0, 1 },
	{ "LONG@108", "READY=1", 0, 1 },
	{ "LONG/107", "READY=1", 0, 1 },
	{ "LONG@107", "READY=1", 0, 1 },
	{ "vsock:2:1", "READY=1", 0, 1 },
};

/* One datagram and its descriptors, described by what they are. */
static void receive(int s, char *buf, size_t len)
{
	char data[4096], ctl[CMSG_SPACE(sizeof(int) * 16)];
	struct iovec iov = { data, sizeof data };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof ctl };
	ssize_t n = recvmsg(s, &mh, MSG_DONTWAIT);
	size_t off;

	if (n < 0) {
		snprintf(buf, len, " nothing received (%s)", strerror(errno));
		return;
	}
	off = (size_t)snprintf(buf, len, " got %zd bytes \"%.*s\" flags=%d", n, (int)n, data,
			       mh.msg_flags);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		off += (size_t)snprintf(buf + off, len - off, " cmsg(%d,%d)", c->cmsg_level,
					c->cmsg_type);
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)CMSG_DATA(c);
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				struct stat st;

				fstat(fds[i], &st);
				off += (size_t)snprintf(buf + off, len - off, " fd(ino %lu)",
							(unsigned long)st.st_ino);
				close(fds[i]);
			}
		}
	}
}

static void run_notify(const void *arg)
{
	const struct notify_case *c = arg;
	char a[4096], b[4096], path[108], value[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t salen = sizeof sa;
	int s = -1, fds[3];

	for (int i = 0; i < 3; i++)
		fds[i] = open(i == 1 ? "/dev/zero" : "/dev/null", O_RDONLY | O_CLOEXEC);
	if (c->socket && !strcmp(c->socket, "PATH")) {
		snprintf(path, sizeof path, "/tmp/sfcgi-test-notify-%d", (int)getpid());
		unlink(path);
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
		snprintf(value, sizeof value, "%s", path);
	} else if (c->socket && !strcmp(c->socket, "@ABSTRACT")) {
		snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "sfcgi-test-notify-%d",
			 (int)getpid());
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				    strlen(sa.sun_path + 1));
		snprintf(value, sizeof value, "@%s", sa.sun_path + 1);
	} else if (c->socket && !strncmp(c->socket, "LONG", 4)) {
		/* around sun_path's 108 bytes: a path needs room for its NUL */
		size_t n = (size_t)atoi(c->socket + 5);

		memset(value, 'x', n);
		value[0] = c->socket[4];
		value[n] = 0;
	} else if (c->socket) {
		snprintf(value, sizeof value, "%s", c->socket);
	}
	if (c->socket && (!strcmp(c->socket, "PATH") || !strcmp(c->socket, "@ABSTRACT"))) {
		s = socket(AF_UNIX, SOCK_DGRAM, 0);
		ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, salen), 0);
	}
	for (int impl = 0; impl < 2; impl++) {
		char *out = impl ? b : a;
		int r;
		size_t off;

		c->socket ? setenv("NOTIFY_SOCKET", value, 1) : unsetenv("NOTIFY_SOCKET");
		r = impl ? sd_pid_notify_with_fds(0, c->unset, c->state, fds, (unsigned)c->nfds)
			 : activation_notify_with_fds(c->unset, c->state, fds, (unsigned)c->nfds);
		off = (size_t)snprintf(out, 4096, "r=%d NOTIFY_SOCKET %s", r,
				       getenv("NOTIFY_SOCKET") ? "kept" : "unset");
		if (s >= 0)
			receive(s, out + off, 4096 - off);
	}
	if (c->socket && !strcmp(c->socket, "PATH"))
		unlink(path);
	emit(a);
	emit(SEP);
	emit(b);
}

START_TEST(notify_like_libsystemd)
{
	char what[256];

	snprintf(what, sizeof what, "NOTIFY_SOCKET=%s state=\"%s\" %d fd(s) unset=%d",
		 notify_cases[_i].socket ? notify_cases[_i].socket : "(unset)",
		 notify_cases[_i].state, notify_cases[_i].nfds, notify_cases[_i].unset);
	compare(run_notify, &notify_cases[_i], what);
}
END_TEST

/* The notification socket opened before lock-down (activation_notify_prepare)
 * carries later messages. */
static void run_prepared(const void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char a[512], b[512];
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), r;
	socklen_t len;

	(void)arg;
	snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "sfcgi-test-prepared-%d", (int)getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1));
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, len), 0);
	snprintf(a, sizeof a, "@%s", sa.sun_path + 1);
	setenv("NOTIFY_SOCKET", a, 1);
	r = activation_notify_prepare();
	snprintf(a, sizeof a, "prepare=%d", r);
	r = activation_notify_with_fds(0, "STATUS=prepared", NULL, 0);
	snprintf(a + strlen(a), sizeof a - strlen(a), " r=%d", r);
	receive(s, a + strlen(a), sizeof a - strlen(a));
	snprintf(b, sizeof b, "prepare=0 r=1 got 15 bytes \"STATUS=prepared\" flags=0");
	emit(a);
	emit(SEP);
	emit(b);
}

START_TEST(notify_prepared_socket)
{
	compare(run_prepared, NULL, "notify through the socket opened before lock-down");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("activation");
	TCase *tc = tcase_create("differential");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, listen_fds_like_libsystemd, 0,
			    (int)(sizeof listen_cases / sizeof *listen_cases));
	tcase_add_test(tc, is_socket_like_libsystemd);
	tcase_add_loop_test(tc, watchdog_like_libsystemd, 0,
			    (int)(sizeof wd_cases / sizeof *wd_cases));
	tcase_add_loop_test(tc, notify_like_libsystemd, 0,
			    (int)(sizeof notify_cases / sizeof *notify_cases));
	tcase_add_test(tc, notify_prepared_socket);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
