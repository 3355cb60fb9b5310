/* SPDX-License-Identifier: MIT */
/* See status.h. The FastCGI side; the answers are made in statusdata.c. */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcgi.h"
#include "log.h"
#include "reason.h"
#include "sup.h"
#include "layout.h"

#define OUT_MAX (8u << 20) /* an answer never grows past this: the peer is not reading */

/* Closes and frees the connection; c->fd is -1 after (the caller's cue). */
static void drop(struct status_conn *c)
{
	close(c->fd);
	buf_free(&c->out);
	c->fd = -1;
}

/* Frees the connections drop() closed. */
static void sweep(struct status *st)
{
	for (size_t i = 0; i < STATUS_CONNS; i++)
		if (st->c[i] && st->c[i]->fd < 0) {
			free(st->c[i]);
			st->c[i] = NULL;
		}
}

void status_init(struct status *st, int fd)
{
	st->fd = fd;
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK); /* ours alone: workers close it */
	}
	st->init = true;
}

WORKER_TEXT void status_close_all(struct status *st)
{
	if (!st->init)
		return;
	for (size_t i = 0; i < STATUS_CONNS; i++)
		if (st->c[i] && st->c[i]->fd >= 0)
			close(st->c[i]->fd); /* the memory is the supervisor's: left alone */
	if (st->fd >= 0)
		close(st->fd);
}

size_t status_pollfds(struct status *st, struct pollfd *p)
{
	size_t n = 0;

	if (!st->init || st->fd < 0)
		return 0;
	if (!st->resume_at)
		p[n++] = (struct pollfd){ .fd = st->fd, .events = POLLIN };
	for (size_t i = 0; i < STATUS_CONNS; i++) {
		struct status_conn *c = st->c[i];

		short ev = POLLIN;

		if (c && buf_used(&c->out))
			ev |= POLLOUT;
		if (c && c->fd >= 0)
			p[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	return n;
}

static void accept_some(struct sup *s, struct status *st)
{
	for (int k = 0; k < STATUS_ACCEPT_BURST; k++) {
		size_t slot = STATUS_CONNS;
		struct status_conn *c = NULL;
		int fd = accept4(st->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* what is waiting stays readable: no busy loop meanwhile */
				log_warning("status socket: accept: %m; not accepting for 1 s");
				st->resume_at = s->now + 1000;
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED &&
			    errno != EINTR)
				log_warning("status socket: accept: %m");
			if (errno != ECONNABORTED && errno != EINTR)
				return;
			continue;
		}
		sweep(st);
		for (size_t i = 0; i < STATUS_CONNS && slot == STATUS_CONNS; i++)
			if (!st->c[i])
				slot = i;
		/* full (or out of memory): the backlog would only hold it until its timeout */
		if (slot == STATUS_CONNS || !(c = malloc(sizeof *c))) {
			close(fd);
			st->rejected++;
			continue;
		}
		memset(c, 0, offsetof(struct status_conn, params));
		memset(&c->out, 0, sizeof c->out);
		st->c[slot] = c;
		c->fd = fd;
		c->deadline = s->now + STATUS_TIMEOUT_MS;
	}
}

/* Sends what is queued; false if the connection was closed. */
static bool flush(struct status_conn *c)
{
	while (buf_used(&c->out)) {
		ssize_t k = send(c->fd, buf_head(&c->out), buf_used(&c->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (k <= 0) {
			drop(c);
			return false;
		}
		buf_consume(&c->out, (size_t)k);
	}
	/* Sent: the peer reads it and closes; what it still sends is read and
	 * dropped until then (closing with unread data would reset the
	 * connection and could lose the answer). */
	if (c->closing)
		shutdown(c->fd, SHUT_WR);
	return true;
}

static int queue(struct status_conn *c, const void *p, size_t n)
{
	if (buf_used(&c->out) + n > OUT_MAX)
		return -ENOBUFS;
	return buf_append(&c->out, p, n);
}

static int end_request(struct status_conn *c, uint32_t app_status, uint8_t protocol_status)
{
	uint8_t rec[16];

	fcgi_end_request_encode(rec, c->req_id, app_status, protocol_status);
	c->begun = false;
	c->closing = !(c->flags & FCGI_KEEP_CONN);
	return queue(c, rec, sizeof rec);
}

/* The value of a param of the request, or NULL; copied NUL-terminated into v. */
static const char *param(const struct status_conn *c, const char *name, char *v, size_t cap)
{
	size_t off = 0, nl = strlen(name);

	while (off < c->nparams) {
		struct fcgi_pair pr;
		ssize_t k = fcgi_pair_decode(c->params + off, c->nparams - off, &pr);

		if (k <= 0)
			return NULL;
		off += (size_t)k;
		if (pr.name_len == nl && !memcmp(pr.name, name, nl)) {
			size_t n = pr.value_len < cap - 1 ? pr.value_len : cap - 1;

			memcpy(v, pr.value, n);
			v[n] = 0;
			return v;
		}
	}
	return NULL;
}

/* The path the spec names (status.h): REQUEST_URI without its query, or
 * SCRIPT_NAME + PATH_INFO, or DOCUMENT_URI. */
static void request_path(const struct status_conn *c, char *path, size_t cap)
{
	char a[512], b[512]; /* together they fit path (1024): no truncation */

	if (param(c, "REQUEST_URI", path, cap)) {
		path[strcspn(path, "?")] = 0;
	} else if (param(c, "SCRIPT_NAME", a, sizeof a)) {
		snprintf(path, cap, "%s%s", a, param(c, "PATH_INFO", b, sizeof b) ? b : "");
	} else if (!param(c, "DOCUMENT_URI", path, cap)) {
		path[0] = 0;
	}
}

static int answer(struct sup *s, struct status_conn *c)
{
	struct buf body = { 0 }, head = { 0 };
	char path[1024], accept[1024], line[256];
	const char *type = "text/plain; charset=utf-8";
	uint8_t *out;
	size_t need, n;
	int status, r;

	request_path(c, path, sizeof path);
	if (!param(c, "HTTP_ACCEPT", accept, sizeof accept))
		accept[0] = 0;
	status = status_answer(s, path, accept, &body, &type);
	n = (size_t)snprintf(line, sizeof line, "Status: %d %s\r\nContent-Type: %s\r\n"
			     "Cache-Control: no-store\r\n\r\n", status,
			     http_reason(status), type);
	r = buf_append(&head, line, n);
	if (r == 0)
		r = buf_append(&head, buf_head(&body), buf_used(&body));
	need = fcgi_stream_size(buf_used(&head)) + FCGI_HEADER_LEN;
	if (r == 0 && buf_used(&c->out) + need > OUT_MAX)
		r = -ENOBUFS;
	if (r == 0 && (r = buf_reserve(&c->out, need)) == 0) {
		out = c->out.data + c->out.len;
		n = fcgi_stream_encode(out, need, FCGI_STDOUT, c->req_id, buf_head(&head),
				       buf_used(&head));
		n += fcgi_stream_encode(out + n, need - n, FCGI_STDOUT, c->req_id, NULL, 0);
		c->out.len += n;
		r = end_request(c, 0, FCGI_REQUEST_COMPLETE);
	}
	buf_free(&body);
	buf_free(&head);
	c->deadline = s->now + STATUS_TIMEOUT_MS; /* a kept connection gets its time again */
	return r;
}

/* FCGI_GET_VALUES (FastCGI 4.1): the names asked for that we know. */
static int get_values(struct status_conn *c)
{
	uint8_t res[256], rec[FCGI_HEADER_LEN];
	size_t off = 0, n = 0;

	while (off < c->nparams) {
		struct fcgi_pair pr;
		ssize_t k = fcgi_pair_decode(c->params + off, c->nparams - off, &pr);
		const char *v = NULL;

		if (k <= 0)
			return -EBADMSG;
		off += (size_t)k;
#define IS(s) (pr.name_len == sizeof s - 1 && !memcmp(pr.name, s, sizeof s - 1))
		if (IS("FCGI_MAX_CONNS"))
			v = "64";
		else if (IS("FCGI_MAX_REQS"))
			v = "64";
		else if (IS("FCGI_MPXS_CONNS"))
			v = "0";
#undef IS
		if (v)
			n += fcgi_pair_encode(res + n, sizeof res - n, pr.name, pr.name_len, v,
					      strlen(v));
	}
	fcgi_header_encode(rec, FCGI_GET_VALUES_RESULT, 0, (uint16_t)n, fcgi_padding_for(n));
	if (queue(c, rec, sizeof rec) < 0 || queue(c, res, n) < 0 ||
	    queue(c, "\0\0\0\0\0\0\0", fcgi_padding_for(n)) < 0)
		return -ENOBUFS;
	return 0;
}

/* A whole record's content is in (params, begin): what it means. 0 or -errno (close). */
static int record_done(struct sup *s, struct status_conn *c)
{
	uint8_t rec[16];

	switch (c->type) {
	case FCGI_BEGIN_REQUEST:
		if (c->begun || c->clen != 8)
			return -EBADMSG; /* one request at a time: no multiplexing */
		c->req_id = c->rid;
		c->flags = c->begin[2];
		c->nparams = 0;
		if (((uint16_t)c->begin[0] << 8 | c->begin[1]) != FCGI_RESPONDER)
			return end_request(c, 0, FCGI_UNKNOWN_ROLE);
		c->begun = true;
		return 0;
	case FCGI_PARAMS:
	case FCGI_STDIN:
	case FCGI_DATA:
		if (!c->begun && c->closing && c->rid == c->req_id)
			return 0; /* the rest of a request answered already (its role) */
		if (!c->begun || c->rid != c->req_id)
			return -EBADMSG;
		if (c->type == FCGI_STDIN && c->clen == 0)
			return answer(s, c); /* the request is all in */
		return 0;
	case FCGI_ABORT_REQUEST:
		return -ECONNABORTED;
	case FCGI_GET_VALUES:
		if (c->rid != 0)
			return -EBADMSG;
		return get_values(c);
	default:
		if (c->rid != 0 || c->type <= FCGI_MAXTYPE)
			return -EBADMSG; /* a record only an application sends */
		return queue(c, rec, fcgi_unknown_type_encode(rec, c->type));
	}
}

/* Parses what arrived; 0, or -errno to close the connection. */
static int parse(struct sup *s, struct status_conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k;

		if (c->hlen < FCGI_HEADER_LEN) {
			struct fcgi_record rec;

			k = (size_t)FCGI_HEADER_LEN - c->hlen;
			k = k < n ? k : n;
			memcpy(c->hdr + c->hlen, p, k);
			c->hlen = (uint8_t)(c->hlen + k);
			p += k;
			n -= k;
			if (c->hlen < FCGI_HEADER_LEN)
				return 0;
			if (fcgi_record_peek(c->hdr, FCGI_HEADER_LEN, &rec) <= 0)
				return -EPROTO;
			c->type = rec.type;
			c->rid = rec.request_id;
			c->clen = rec.content_length;
			c->plen = rec.padding_length;
			c->cread = c->pread = 0;
			if ((c->type == FCGI_PARAMS || c->type == FCGI_GET_VALUES) &&
			    c->nparams + c->clen > STATUS_PARAMS_MAX)
				return -E2BIG;
			if (c->type == FCGI_GET_VALUES)
				c->nparams = 0;
		} else if (c->cread < c->clen) {
			k = (size_t)(c->clen - c->cread);
			k = k < n ? k : n;
			if (c->type == FCGI_BEGIN_REQUEST && c->cread + k <= sizeof c->begin)
				memcpy(c->begin + c->cread, p, k);
			else if (c->type == FCGI_PARAMS || c->type == FCGI_GET_VALUES)
				memcpy(c->params + c->nparams + c->cread, p, k);
			c->cread = (uint16_t)(c->cread + k);
			p += k;
			n -= k;
		} else {
			k = (size_t)(c->plen - c->pread);
			k = k < n ? k : n;
			c->pread = (uint8_t)(c->pread + k);
			p += k;
			n -= k;
		}
		if (c->hlen == FCGI_HEADER_LEN && c->cread == c->clen && c->pread == c->plen) {
			int r;

			if (c->type == FCGI_PARAMS || c->type == FCGI_GET_VALUES)
				c->nparams += c->clen;
			c->hlen = 0;
			if ((r = record_done(s, c)) < 0)
				return r;
		}
	}
	return 0;
}

static void on_conn(struct sup *s, struct status_conn *c, short revents)
{
	uint8_t buf[4096];

	if ((revents & POLLOUT) && !flush(c))
		return;
	for (int round = 0; round < 16; round++) { /* a fast sender waits for the next turn */
		ssize_t k = recv(c->fd, buf, sizeof buf, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (k <= 0 || (c->total += (size_t)k) > STATUS_READ_MAX) {
			drop(c); /* the peer is done, gone, or sends too much */
			return;
		}
		if (c->closing && !c->begun)
			continue; /* answered: read and dropped, see flush() */
		if (parse(s, c, buf, (size_t)k) < 0) {
			drop(c); /* not FastCGI as the status socket speaks it */
			return;
		}
	}
	if (buf_used(&c->out))
		flush(c);
}

void status_event(struct sup *s, struct status *st, int fd, short revents)
{
	if (!st->init || st->fd < 0)
		return;
	if (fd == st->fd) {
		accept_some(s, st);
		return;
	}
	for (size_t i = 0; i < STATUS_CONNS; i++)
		if (st->c[i] && st->c[i]->fd == fd) {
			on_conn(s, st->c[i], revents);
			return;
		}
}

void status_expire(struct status *st, int64_t now)
{
	if (st->resume_at && now >= st->resume_at)
		st->resume_at = 0;
	for (size_t i = 0; st->init && i < STATUS_CONNS; i++)
		if (st->c[i] && st->c[i]->fd >= 0 && now >= st->c[i]->deadline)
			drop(st->c[i]);
	if (st->init)
		sweep(st);
}
