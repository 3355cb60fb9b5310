/* SPDX-License-Identifier: MIT */
/*
 * The client side of an instance's status socket (STATUS-SPEC, "Transport"):
 * one FastCGI Responder request for /status, /metrics or /ping on a fresh
 * connection, the response's body kept whole. Errors come back as text for
 * the caller to print (sfcgi status) or to show on screen (--watch), each
 * saying what to do about it.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "fcgi.h"

#define STATUS_MAX_BODY (4u << 20) /* a status answer is tens of KiB */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What to do when connecting to a status socket failed with errno e. */
static void explain(const struct status_target *t, int e, char *err, size_t n)
{
	const char *how = t->user ? "systemctl --user" : "systemctl";

	if (e == ENOENT && t->instance)
		snprintf(err, n,
			 "no status socket at %s: is app@%s.socket enabled with the status socket "
			 "(%s enable --now app@%s.socket starts app-status@%s.socket)? see sfcgi(1)",
			 t->addr, t->instance, how, t->instance, t->instance);
	else if (e == ENOENT)
		snprintf(err, n, "no status socket at %s: see sfcgi(1), sfcgi status", t->addr);
	else if ((e == EACCES || e == EPERM) && !t->user && t->instance)
		snprintf(err, n,
			 "%s: permission denied: the status socket is root's only (mode 0600): "
			 "run sfcgi status as root",
			 t->addr);
	else if (e == EACCES || e == EPERM)
		snprintf(err, n, "%s: permission denied: run sfcgi status as the socket's owner",
			 t->addr);
	else if (e == ECONNREFUSED && t->instance)
		snprintf(err, n,
			 "nothing listens on %s: app-status@%s.socket is stopped (%s start "
			 "app@%s.socket)",
			 t->addr, t->instance, how, t->instance);
	else if (e == ECONNREFUSED)
		snprintf(err, n, "nothing listens on %s: the instance is not running", t->addr);
	else
		snprintf(err, n, "connecting to %s: %s", t->addr, strerror(e));
}

/* A connected socket, or -errno with err set. */
static int dial(const struct status_target *t, char *err, size_t n)
{
	int fd = cli_dial(t->addr, err, n);

	if (fd < 0 && !err[0])
		explain(t, -fd, err, n);
	return fd;
}

static int param(struct buf *p, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), sz = fcgi_pair_size(nl, vl);

	if (buf_reserve(p, sz) < 0)
		return -1;
	p->len += fcgi_pair_encode(p->data + p->len, sz, name, nl, value, vl);
	return 0;
}

/* BEGIN_REQUEST (Responder, no keep-alive), PARAMS, empty PARAMS, empty STDIN. */
static int build(const char *uri, struct buf *out)
{
	struct buf p = { 0 };
	uint8_t begin[16];
	int r = param(&p, "REQUEST_METHOD", "GET");

	if (r == 0)
		r = param(&p, "REQUEST_URI", uri);
	if (r == 0)
		r = param(&p, "SCRIPT_NAME", uri);
	if (r == 0)
		r = param(&p, "SERVER_SOFTWARE", "sfcgi-status");
	if (r == 0)
		r = buf_append(out, begin, fcgi_begin_request_encode(begin, 1, FCGI_RESPONDER, 0));
	if (r == 0)
		r = buf_reserve(out, fcgi_stream_size(p.len) + 2 * FCGI_HEADER_LEN);
	if (r == 0) {
		out->len += fcgi_stream_encode(out->data + out->len, out->cap - out->len,
					       FCGI_PARAMS, 1, p.data, p.len);
		out->len += fcgi_stream_encode(out->data + out->len, out->cap - out->len,
					       FCGI_PARAMS, 1, NULL, 0);
		out->len += fcgi_stream_encode(out->data + out->len, out->cap - out->len,
					       FCGI_STDIN, 1, NULL, 0);
	}
	buf_free(&p);
	return r;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	int64_t left = deadline - now_ms();
	int r;

	do
		r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
	while (r < 0 && errno == EINTR && (left = deadline - now_ms()) > 0);
	return r > 0 ? 0 : -1;
}

/* Sends req, collects STDOUT into out until END_REQUEST. 0, or -EPROTO (not
 * a status socket), -ETIMEDOUT, -EIO, with err. */
static int exchange(int fd, const struct status_target *t, const struct buf *req,
		    int64_t deadline, struct buf *out, char *err, size_t n)
{
	struct buf in = { 0 };
	size_t sent = 0;
	int r = -EIO;

	while (sent < req->len) {
		ssize_t k = send(fd, req->data + sent, req->len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				goto timeout;
			continue;
		}
		if (k < 0) {
			snprintf(err, n, "%s: sending the request: %s", t->addr, strerror(errno));
			goto out;
		}
		sent += (size_t)k;
	}
	for (;;) {
		struct fcgi_record rec;
		ssize_t k = fcgi_record_decode(buf_head(&in), buf_used(&in), &rec);
		uint32_t app_status;
		uint8_t proto;

		if (k < 0)
			goto not_sfcgi;
		if (k > 0) {
			if (rec.type == FCGI_STDOUT &&
			    (out->len + rec.content_length > STATUS_MAX_BODY ||
			     buf_append(out, rec.content, rec.content_length) < 0)) {
				snprintf(err, n, "%s: the answer is larger than %u bytes", t->addr,
					 STATUS_MAX_BODY);
				goto out;
			}
			if (rec.type == FCGI_END_REQUEST) {
				if (fcgi_end_body_decode(&rec, &app_status, &proto) < 0 ||
				    proto != FCGI_REQUEST_COMPLETE)
					goto not_sfcgi;
				r = 0;
				goto out;
			}
			buf_consume(&in, (size_t)k);
			continue;
		}
		if (wait_fd(fd, POLLIN, deadline) < 0)
			goto timeout;
		if (buf_reserve(&in, 65536) < 0)
			goto out;
		k = recv(fd, in.data + in.len, in.cap - in.len, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			snprintf(err, n, "%s closed the connection before answering: is it an sfcgi "
					 "status socket (NAME.status.sock)?", t->addr);
			goto out;
		}
		in.len += (size_t)k;
	}
timeout:
	if (t->instance)
		snprintf(err, n, "%s did not answer within %d s: the supervisor of app@%s.service "
				 "does not serve it (%s status app@%s.service)",
			 t->addr, STATUS_TIMEOUT_MS / 1000, t->instance,
			 t->user ? "systemctl --user" : "systemctl", t->instance);
	else
		snprintf(err, n, "%s did not answer within %d s: is it an sfcgi status socket?",
			 t->addr, STATUS_TIMEOUT_MS / 1000);
	r = -ETIMEDOUT;
	goto out;
not_sfcgi:
	r = -EPROTO;
	snprintf(err, n, "%s does not answer as an sfcgi status socket (not FastCGI, or the "
			 "request was refused): is it NAME.status.sock, not the FastCGI socket?",
		 t->addr);
out:
	buf_free(&in);
	return r;
}

/* Splits the CGI response in raw: the Status: code (200 without one) and the body. */
static int split(const struct buf *raw, int *ret_status, struct buf *body)
{
	const char *s = (const char *)raw->data, *end = s + raw->len, *p = s, *eol;
	int status = 200;

	for (;; p = eol + 1) {
		eol = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		if (!eol)
			return -1;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break;
		if (!strncasecmp(p, "Status:", 7))
			status = atoi(p + 7);
	}
	*ret_status = status;
	return buf_append(body, eol + 1, (size_t)(end - eol - 1));
}

int status_fetch(const struct status_target *t, const char *uri, struct buf *body, char *err,
		 size_t n)
{
	struct buf req = { 0 }, raw = { 0 };
	int fd, status, r = -ENOMEM;

	body->len = body->off = 0;
	if (build(uri, &req) < 0) {
		snprintf(err, n, "out of memory");
		goto out;
	}
	if ((fd = dial(t, err, n)) < 0) {
		r = fd;
		goto out;
	}
	r = exchange(fd, t, &req, now_ms() + STATUS_TIMEOUT_MS, &raw, err, n);
	close(fd);
	if (r == 0 && split(&raw, &status, body) < 0) {
		snprintf(err, n, "%s: the answer has no CGI header block: not an sfcgi status "
				 "socket", t->addr);
		r = -EPROTO;
	} else if (r == 0 && status != 200) {
		snprintf(err, n, "%s answered %s with status %d: not an sfcgi status socket "
				 "(NAME.status.sock), or an sfcgi without it",
			 t->addr, uri, status);
		r = -EPROTO;
	}
out:
	buf_free(&req);
	buf_free(&raw);
	return r;
}

int status_target_init(struct status_target *t, const char *arg, int user, char *err, size_t n)
{
	const char *rt;

	memset(t, 0, sizeof *t);
	t->user = user;
	if (strchr(arg, '/') || strchr(arg, ':') || arg[0] == '@') {
		snprintf(t->addr, sizeof t->addr, "%s", arg);
		return 0;
	}
	if (!*arg || strlen(arg) > 64) {
		snprintf(err, n, "'%s': expected an instance name or a socket path", arg);
		return -1;
	}
	t->instance = arg;
	if (!user) {
		snprintf(t->addr, sizeof t->addr, "/run/sfcgi/%s.status.sock", arg);
		return 0;
	}
	rt = getenv("XDG_RUNTIME_DIR");
	if (!rt || rt[0] != '/') {
		snprintf(err, n, "--user: XDG_RUNTIME_DIR is not set: run it in the user's "
				 "session, or give the socket's path");
		return -1;
	}
	if ((size_t)snprintf(t->addr, sizeof t->addr, "%s/sfcgi/%s.status.sock", rt, arg) >=
	    sizeof t->addr) {
		snprintf(err, n, "--user: XDG_RUNTIME_DIR is too long");
		return -1;
	}
	return 0;
}
