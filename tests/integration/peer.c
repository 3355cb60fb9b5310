/* SPDX-License-Identifier: MIT */
#include "peer.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void app_start(struct app *a, const char *env_name, const char *const *extra)
{
	const char *bin = getenv(env_name);
	const char *argv[32];
	int n = 0, logfd;

	ck_assert_msg(bin, "%s is not set (run through meson test)", env_name);
	memset(a, 0, sizeof *a);
	snprintf(a->dir, sizeof a->dir, "/tmp/sfcgi-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(a->dir));
	snprintf(a->sock, sizeof a->sock, "%s/app.sock", a->dir);
	snprintf(a->log, sizeof a->log, "%s/app.log", a->dir);
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = a->sock;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	logfd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(logfd, 0);
	a->pid = fork();
	ck_assert_int_ge(a->pid, 0);
	if (a->pid == 0) {
		dup2(logfd, STDERR_FILENO);
		setenv("SFCGI_LOG_LEVEL", "debug", 1);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(logfd);
	for (int i = 0; i < 300; i++) { /* up to 3 s for the socket to appear */
		struct stat st;

		if (stat(a->sock, &st) == 0)
			return;
		if (waitpid(a->pid, NULL, WNOHANG) == a->pid)
			break;
		usleep(10000);
	}
	ck_abort_msg("the app did not start listening on %s", a->sock);
}

void app_stop(struct app *a)
{
	int status;

	if (a->pid > 0) {
		kill(a->pid, SIGTERM);
		for (int i = 0; i < 300 && waitpid(a->pid, &status, WNOHANG) == 0; i++)
			usleep(10000);
		kill(a->pid, SIGKILL);
		waitpid(a->pid, &status, 0);
	}
	unlink(a->sock);
	unlink(a->log);
	rmdir(a->dir);
}

static char *read_log(const struct app *a)
{
	FILE *f = fopen(a->log, "r");
	char *p = calloc(1, 1 << 20);
	size_t n;

	if (!f)
		return p;
	n = fread(p, 1, (1 << 20) - 1, f);
	p[n] = 0;
	fclose(f);
	return p;
}

void app_log_mark(struct app *a)
{
	char *p = read_log(a);

	a->log_mark = strlen(p);
	free(p);
}

int app_log_has(struct app *a, const char *text)
{
	int64_t end = now_ms() + 3000;

	do {
		char *p = read_log(a);
		int found = strlen(p) >= a->log_mark && strstr(p + a->log_mark, text);

		free(p);
		if (found)
			return 1;
		usleep(10000);
	} while (now_ms() < end);
	return 0;
}

/* Bytes received but not yet parsed, per fd: replies may arrive together. */
static struct buf inbufs[1024];

int peer_connect(const struct app *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", a->sock);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s",
		      strerror(errno));
	ck_assert_int_lt(fd, 1024);
	buf_reset(&inbufs[fd], 0);
	return fd;
}

void peer_send(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n) {
		ssize_t k = send(fd, q, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		ck_assert_msg(k > 0, "send: %s", strerror(errno));
		q += k;
		n -= (size_t)k;
	}
}

void rec(struct buf *b, uint8_t type, uint16_t id, const void *content, size_t n)
{
	uint8_t h[FCGI_HEADER_LEN];
	static const uint8_t zeros[8];
	uint8_t pad = fcgi_padding_for(n);

	fcgi_header_encode(h, type, id, (uint16_t)n, pad);
	buf_append(b, h, sizeof h);
	buf_append(b, content, n);
	buf_append(b, zeros, pad);
}

void begin(struct buf *b, uint16_t id, uint16_t role, uint8_t flags)
{
	uint8_t r[16];

	buf_append(b, r, fcgi_begin_request_encode(r, id, role, flags));
}

void pair(struct buf *b, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), sz = fcgi_pair_size(nl, vl);

	buf_reserve(b, sz);
	b->len += fcgi_pair_encode(b->data + b->len, sz, name, nl, value, vl);
}

void request(struct buf *b, uint16_t id, uint8_t flags, const char *const *params,
	     const char *body)
{
	struct buf p = { 0 };

	begin(b, id, FCGI_RESPONDER, flags);
	for (; params && *params; params++) {
		char name[256];
		const char *eq = strchr(*params, '=');

		snprintf(name, sizeof name, "%.*s", (int)(eq - *params), *params);
		pair(&p, name, eq + 1);
	}
	rec(b, FCGI_PARAMS, id, p.data, p.len);
	rec(b, FCGI_PARAMS, id, NULL, 0);
	if (body && *body)
		rec(b, FCGI_STDIN, id, body, strlen(body));
	rec(b, FCGI_STDIN, id, NULL, 0);
	buf_free(&p);
}

void reply_read(int fd, struct reply *r, int want_unknown, int timeout_ms)
{
	struct buf in = inbufs[fd];
	int64_t end = now_ms() + timeout_ms;

	memset(r, 0, sizeof *r);
	r->unknown_type = -1;
	for (;;) {
		struct fcgi_record x;
		ssize_t k = fcgi_record_decode(buf_head(&in), buf_used(&in), &x), n;
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ck_assert_msg(k >= 0, "the app sent a malformed record");
		if (k > 0) {
			buf_consume(&in, (size_t)k);
			switch (x.type) {
			case FCGI_STDOUT:
				buf_append(&r->out, x.content, x.content_length);
				r->stdout_ends += x.content_length == 0;
				break;
			case FCGI_STDERR:
				buf_append(&r->err, x.content, x.content_length);
				break;
			case FCGI_END_REQUEST:
				fcgi_end_body_decode(&x, &r->app_status, &r->protocol_status);
				r->end_id = x.request_id;
				r->ended = 1;
				goto out;
			case FCGI_UNKNOWN_TYPE:
				r->unknown_type = x.content[0];
				if (want_unknown)
					goto out;
				break;
			case FCGI_GET_VALUES_RESULT:
				buf_append(&r->values, x.content, x.content_length);
				if (want_unknown)
					goto out;
				break;
			default:
				ck_abort_msg("unexpected record type %u from the app", x.type);
			}
			continue;
		}
		if (poll(&p, 1, (int)(end - now_ms() > 0 ? end - now_ms() : 0)) <= 0) {
			r->timed_out = 1;
			goto out;
		}
		buf_reserve(&in, 65536);
		n = recv(fd, in.data + in.len, in.cap - in.len, 0);
		if (n <= 0) {
			r->closed = 1;
			goto out;
		}
		in.len += (size_t)n;
	}
out:
	buf_append(&r->out, "", 1); /* NUL-terminate for string checks */
	r->out.len--;
	inbufs[fd] = in;
}

size_t peer_read_some(int fd, int timeout_ms)
{
	struct buf *in = &inbufs[fd];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	buf_reserve(in, 65536);
	n = recv(fd, in->data + in->len, in->cap - in->len, 0);
	if (n <= 0)
		return 0;
	in->len += (size_t)n;
	return (size_t)n;
}

void peer_send_async(int fd, const void *p, size_t n)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const uint8_t *q = p;

		while (n) {
			ssize_t k = send(fd, q, n, MSG_NOSIGNAL);

			if (k <= 0)
				_exit(1);
			q += k;
			n -= (size_t)k;
		}
		_exit(0);
	}
}

void reply_free(struct reply *r)
{
	buf_free(&r->out);
	buf_free(&r->err);
	buf_free(&r->values);
}

int reply_has(const struct reply *r, const char *text)
{
	return r->out.data && memmem(r->out.data, r->out.len, text, strlen(text)) != NULL;
}

int peer_closed(int fd, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	char tmp[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, (int)(end - now_ms() > 0 ? end - now_ms() : 0)) <= 0)
			return 0;
		n = recv(fd, tmp, sizeof tmp, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (n < 0)
			return 0;
	}
}
