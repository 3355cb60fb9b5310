/* SPDX-License-Identifier: MIT */
/* See unavailable.h. */
#include "unavailable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcgi.h"
#include "log.h"

static void init(struct unavailable *u)
{
	if (u->init)
		return;
	for (size_t i = 0; i < UNAVAILABLE_CONNS; i++)
		u->c[i].fd = -1;
	u->init = true;
}

static void drop(struct unavailable_conn *c)
{
	close(c->fd);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

bool unavailable_room(const struct unavailable *u)
{
	if (!u->init)
		return true;
	for (size_t i = 0; i < UNAVAILABLE_CONNS; i++)
		if (u->c[i].fd < 0)
			return true;
	return false;
}

void unavailable_accept(struct unavailable *u, int fd, int64_t now, const char *reason)
{
	int fl = fcntl(fd, F_GETFL);

	(void)reason;
	init(u);
	/* The workers block in accept() on this same open file description:
	 * O_NONBLOCK is set only for the few calls below (a blocked accept
	 * does not look at it again), and no worker is forked meanwhile. */
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return;
	for (size_t i = 0; i < UNAVAILABLE_CONNS; i++) {
		struct unavailable_conn *c = &u->c[i];
		int k;

		if (c->fd >= 0)
			continue;
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;

		k = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (k < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				log_debug("accepting to answer 503: %m");
			break;
		}
		if (u->gate && !gate_admit(u->gate, k, ss.ss_family != AF_UNIX, &ss, len, now)) {
			close(k); /* not even a 503 for a peer the allow-list leaves out */
			i--;
			continue;
		}
		memset(c, 0, sizeof *c);
		c->fd = k;
		c->deadline = now + UNAVAILABLE_TIMEOUT_MS;
	}
	if (!(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl);
}

size_t unavailable_pollfds(struct unavailable *u, struct pollfd *p)
{
	size_t n = 0;

	if (!u->init)
		return 0;
	for (size_t i = 0; i < UNAVAILABLE_CONNS; i++) {
		struct unavailable_conn *c = &u->c[i];

		if (c->fd < 0)
			continue;
		p[n++] = (struct pollfd){ .fd = c->fd,
					  .events = c->answered && c->ooff < c->olen ? POLLOUT
										     : POLLIN };
	}
	return n;
}

/* The whole answer, once: 503 headers, the reason, end of stream, end of request. */
static void answer(struct unavailable *u, struct unavailable_conn *c, const char *reason)
{
	char text[512];
	size_t n, off;

	n = (size_t)snprintf(text, sizeof text,
			     "Status: 503 Service Unavailable\r\n"
			     "Content-Type: text/plain; charset=utf-8\r\n"
			     "Cache-Control: no-store\r\n"
			     "Retry-After: 1\r\n"
			     "\r\n"
			     "503 Service Unavailable: the application is failing (%.300s)\n",
			     reason && *reason ? reason : "no worker can serve");
	if (n >= sizeof text)
		n = sizeof text - 1;
	off = fcgi_stream_encode(c->out, sizeof c->out, FCGI_STDOUT, c->req_id, text, n);
	off += fcgi_stream_encode(c->out + off, sizeof c->out - off, FCGI_STDOUT, c->req_id,
				  NULL, 0);
	off += fcgi_end_request_encode(c->out + off, c->req_id, 503, FCGI_REQUEST_COMPLETE);
	c->olen = (uint16_t)off;
	c->ooff = 0;
	c->answered = true;
	u->answered++;
}

/*
 * Parses what arrived, record by record, keeping only headers: the id of
 * the request, and its end (the empty FCGI_STDIN record). Returns true
 * when it is time to answer.
 */
static bool parse(struct unavailable_conn *c, const uint8_t *p, size_t n)
{
	bool end = false;

	while (n > 0 && !end) {
		if (c->hlen < FCGI_HEADER_LEN) {
			size_t want = (size_t)FCGI_HEADER_LEN - c->hlen, k = want < n ? want : n;
			struct fcgi_record rec;

			memcpy(c->hdr + c->hlen, p, k);
			c->hlen = (uint8_t)(c->hlen + k);
			p += k;
			n -= k;
			if (c->hlen < FCGI_HEADER_LEN)
				break;
			if (fcgi_record_peek(c->hdr, FCGI_HEADER_LEN, &rec) <= 0)
				return true; /* not FastCGI: answered (and closed) all the same */
			c->type = rec.type;
			c->left = rec.content_length + rec.padding_length;
			c->begin_at = 0;
			if (rec.type == FCGI_BEGIN_REQUEST && !c->begun) {
				c->req_id = rec.request_id;
				c->begun = true;
			}
			/* the end of the request: its stdin is over */
			end = rec.type == FCGI_STDIN && rec.content_length == 0 && c->begun;
		} else {
			size_t k = c->left < n ? c->left : n;

			p += k;
			n -= k;
			c->left -= (uint32_t)k;
		}
		if (c->hlen == FCGI_HEADER_LEN && c->left == 0)
			c->hlen = 0; /* the next record */
	}
	return end;
}

static void flush(struct unavailable_conn *c)
{
	while (c->ooff < c->olen) {
		ssize_t k = send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k <= 0) {
			drop(c);
			return;
		}
		c->ooff = (uint16_t)(c->ooff + k);
	}
	/* Sent: the peer reads it and closes; what it still sends is read and
	 * dropped until then (closing with unread data would reset the
	 * connection and could lose the answer). */
	shutdown(c->fd, SHUT_WR);
}

void unavailable_event(struct unavailable *u, int fd, short revents, const char *reason)
{
	struct unavailable_conn *c = NULL;
	uint8_t buf[8192];

	for (size_t i = 0; u->init && i < UNAVAILABLE_CONNS && !c; i++)
		if (u->c[i].fd == fd)
			c = &u->c[i];
	if (!c)
		return;
	if (c->answered && c->ooff < c->olen) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			flush(c);
		return;
	}
	for (int round = 0; round < 16; round++) { /* a fast sender waits for the next turn */
		ssize_t k = recv(c->fd, buf, sizeof buf, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k <= 0) { /* the peer is done (or gone): answer what can be answered */
			if (!c->answered && c->begun && k == 0) {
				answer(u, c, reason);
				flush(c);
			}
			if (c->fd >= 0)
				drop(c);
			return;
		}
		c->total += (size_t)k;
		if (c->answered)
			continue; /* read and dropped: see flush() */
		if (parse(c, buf, (size_t)k) || c->total > UNAVAILABLE_READ_MAX) {
			answer(u, c, reason);
			flush(c);
			if (c->fd < 0 || c->ooff < c->olen)
				return;
		}
	}
}

void unavailable_expire(struct unavailable *u, int64_t now)
{
	for (size_t i = 0; u->init && i < UNAVAILABLE_CONNS; i++)
		if (u->c[i].fd >= 0 && now >= u->c[i].deadline)
			drop(&u->c[i]);
}
