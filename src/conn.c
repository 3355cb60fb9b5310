/* SPDX-License-Identifier: MIT */
/*
 * Connection I/O and record dispatch. Input is parsed a whole record at a
 * time; a record that cannot be handled yet (a full body buffer) stays in
 * the buffer and reading stops until the application drains it.
 */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcgi.h"
#include "log.h"
#include "request.h"
#include "worker.h"
#include "wstats.h"

#define READ_CHUNK 16384
#define IN_KEEP READ_CHUNK /* an idle connection keeps no more buffer than this */
#define DRAIN_GRACE_MS 1000

static const char *const type_names[] = {
	"0", "BEGIN_REQUEST", "ABORT_REQUEST", "END_REQUEST", "PARAMS", "STDIN", "STDOUT",
	"STDERR", "DATA", "GET_VALUES", "GET_VALUES_RESULT", "UNKNOWN_TYPE",
};

static const char *type_name(uint8_t t)
{
	return t <= FCGI_MAXTYPE ? type_names[t] : "unknown";
}

struct conn *conn_new(struct worker *w, int fd)
{
	struct conn *c = calloc(1, sizeof *c);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };

	if (!c) {
		close(fd);
		return NULL;
	}
	c->kind = EV_CONN;
	c->fd = fd;
	c->w = w;
	c->last_io_ms = c->opened_ms = c->req_start_ms = w->now_ms;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_err("epoll_ctl(ADD, fd %d): %m", fd);
		close(fd);
		free(c);
		return NULL;
	}
	c->events = ev.events;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	w->dirty_heap = true;
	return c;
}

static struct request *find(struct conn *c, uint16_t id)
{
	for (struct request *r = c->reqs; r; r = r->conn_next)
		if (r->id == id)
			return r;
	return NULL;
}

static uint32_t active(const struct conn *c)
{
	uint32_t n = 0;

	for (const struct request *r = c->reqs; r; r = r->conn_next)
		n += r->phase != REQ_DISCARD;
	return n;
}

static void send_raw(struct conn *c, const void *p, size_t n)
{
	if (!c->dead && buf_append(&c->out, p, n) < 0)
		conn_close(c, "out of memory for output");
}

/* FCGI_GET_VALUES (FastCGI §4.1): answer the names we know, from real limits. */
static void get_values(struct conn *c, const struct fcgi_record *rec)
{
	const struct settings *s = &c->w->set;
	uint8_t out[FCGI_HEADER_LEN + 256];
	size_t off = FCGI_HEADER_LEN, pos = 0;
	uint64_t conns = (uint64_t)s->max_conns * c->w->nworkers;
	char v[3][24];

	snprintf(v[0], sizeof v[0], "%llu", (unsigned long long)conns);
	snprintf(v[1], sizeof v[1], "%llu", (unsigned long long)(conns * s->max_reqs_per_conn));
	snprintf(v[2], sizeof v[2], "%d", s->max_reqs_per_conn > 1);
	while (pos < rec->content_length) {
		static const char *const names[] = { "FCGI_MAX_CONNS", "FCGI_MAX_REQS",
						     "FCGI_MPXS_CONNS" };
		struct fcgi_pair p;
		ssize_t k = fcgi_pair_decode(rec->content + pos, rec->content_length - pos, &p);

		if (k <= 0) {
			log_warning("fd %d: malformed name-value pair in GET_VALUES, rest ignored",
				    c->fd);
			break;
		}
		pos += (size_t)k;
		for (int i = 0; i < 3; i++) {
			size_t nl = strlen(names[i]), vl = strlen(v[i]);

			if (p.name_len != nl || memcmp(p.name, names[i], nl) != 0)
				continue;
			off += fcgi_pair_encode(out + off, sizeof out - off - 8, names[i], nl, v[i],
						vl);
		}
	}
	{
		size_t clen = off - FCGI_HEADER_LEN;
		uint8_t pad = fcgi_padding_for(clen);

		fcgi_header_encode(out, FCGI_GET_VALUES_RESULT, 0, (uint16_t)clen, pad);
		memset(out + off, 0, pad);
		send_raw(c, out, off + pad);
	}
}

static void unknown_type(struct conn *c, const struct fcgi_record *rec)
{
	uint8_t out[16];

	log_warning("fd %d: record type %u (%s) for request %u not understood, answered "
		    "UNKNOWN_TYPE",
		    c->fd, rec->type, type_name(rec->type), rec->request_id);
	send_raw(c, out, fcgi_unknown_type_encode(out, rec->type));
}

/* Active requests whose input is not complete yet: a peer interleaving them. */
static uint32_t receiving(const struct conn *c)
{
	uint32_t n = 0;

	for (const struct request *r = c->reqs; r; r = r->conn_next)
		n += r->phase != REQ_DISCARD && !request_input_done(r);
	return n;
}

/*
 * A new request. While the previous ones have all their input, a BEGIN
 * waits in the buffer until they end (pipelining, even with the same id);
 * a BEGIN that interleaves with a request still receiving is multiplexing,
 * refused with CANT_MPX_CONN beyond max_reqs_per_conn (FastCGI §5.5).
 */
static int begin(struct conn *c, const struct fcgi_record *rec, const char **why)
{
	struct request *r = find(c, rec->request_id);
	uint32_t max = c->w->set.max_reqs_per_conn;
	uint16_t role;
	uint8_t flags;
	bool refuse = false;

	if (fcgi_begin_body_decode(rec, &role, &flags) < 0) {
		*why = "BEGIN_REQUEST body is not 8 bytes";
		return -EBADMSG;
	}
	if (r && r->phase != REQ_DISCARD) {
		if (request_input_done(r))
			return FEED_PAUSE;
		*why = "BEGIN_REQUEST for a request id that is still receiving";
		return -EBADMSG;
	}
	if (active(c) >= max) {
		if (!receiving(c))
			return FEED_PAUSE;
		refuse = true;
	}
	if (r)
		request_release(r); /* id reused: the old one's leftovers are over */
	r = request_new(c, rec->request_id, role, flags);
	if (!r) {
		*why = "out of memory for a request";
		return -ENOMEM;
	}
	if (refuse) {
		log_warning("fd %d: request %u interleaves with another one (max_reqs_per_conn=%u), "
			    "answered CANT_MPX_CONN",
			    c->fd, r->id, max);
		request_reject(r, FCGI_CANT_MPX_CONN);
	} else if (role < FCGI_RESPONDER || role > FCGI_FILTER) {
		log_warning("fd %d: request %u asks for unknown role %u, answered UNKNOWN_ROLE",
			    c->fd, r->id, role);
		request_reject(r, FCGI_UNKNOWN_ROLE);
	}
	return 0;
}

/* Handles one complete record. FEED_OK, FEED_PAUSE, or <0 with *why. */
static int record(struct conn *c, const struct fcgi_record *rec, const char **why)
{
	struct request *r;

	if (rec->request_id == FCGI_NULL_REQUEST_ID) {
		if (rec->type == FCGI_GET_VALUES)
			get_values(c, rec);
		else
			unknown_type(c, rec);
		return FEED_OK;
	}
	switch (rec->type) {
	case FCGI_BEGIN_REQUEST:
		return begin(c, rec, why);
	case FCGI_ABORT_REQUEST:
	case FCGI_PARAMS:
	case FCGI_STDIN:
	case FCGI_DATA:
		r = find(c, rec->request_id);
		if (!r && rec->type == FCGI_ABORT_REQUEST) {
			/* The request has ended and its END_REQUEST is queued or on
			 * the wire: until the peer reads it, the request is still
			 * open for the peer, so this abort crossed the answer
			 * (FastCGI §5.4). Nothing is left to abort. */
			log_debug("fd %d: ABORT_REQUEST for request %u, which has ended", c->fd,
				  rec->request_id);
			return FEED_OK;
		}
		if (!r) {
			log_warning("fd %d: %s for request %u, which was never begun", c->fd,
				    type_name(rec->type), rec->request_id);
			*why = "record for a request that was never begun";
			return -EBADMSG;
		}
		if (rec->type == FCGI_ABORT_REQUEST) {
			request_abort(r);
			return FEED_OK;
		}
		return request_feed(r, rec->type, rec->content, rec->content_length, why);
	default:
		unknown_type(c, rec);
		return FEED_OK;
	}
}

/*
 * The peer broke the protocol: nothing more is read, and the connection
 * closes as at the peer's end of input: requests whose input is incomplete
 * are dropped (a running one is aborted), those whose input is all in are
 * still answered, and the answers go out before the close. So whatever
 * came ahead of the bad bytes is answered whole, never cut short
 * mid-record, however the bytes were split into reads. write_timeout
 * bounds the wait.
 */
static void fail(struct conn *c, const char *why)
{
	struct request *r, *next;

	log_warning("fd %d: %s: closing the connection", c->fd, why);
	c->eof = true; /* read no more */
	c->paused = false;
	c->close_after = true;
	buf_reset(&c->in, 0);
	for (r = c->reqs; r; r = next) {
		next = r->conn_next;
		if (!request_input_done(r))
			request_conn_lost(r);
	}
}

/* A request of c receiving its input (not queued, running or answered). */
static bool input_arriving(const struct conn *c)
{
	for (const struct request *r = c->reqs; r; r = r->conn_next)
		if (r->phase == REQ_INPUT)
			return true;
	return false;
}

/*
 * Keeps the deadline clocks (see struct conn): starts the body's once a
 * request's params are in, and moves both on by the time the peer spent
 * waiting on us, so that neither counts our delays against the peer.
 */
static void clocks(struct conn *c)
{
	int64_t now = c->w->now_ms;
	bool body = false, ours = c->paused;

	for (const struct request *r = c->reqs; r; r = r->conn_next) {
		if (r->phase == REQ_DISCARD)
			continue;
		body |= r->params_done && !request_input_done(r);
		ours |= r->phase == REQ_QUEUED || (r->phase == REQ_RUNNING && !c->peer_turn);
	}
	if (ours && !c->stall_ms) {
		c->stall_ms = now;
	} else if (!ours && c->stall_ms) {
		int64_t d = now - c->stall_ms;

		c->req_start_ms += d;
		if (c->body_clock_ms)
			c->body_clock_ms += d;
		c->stall_ms = 0;
	}
	if (!body) {
		c->body_clock_ms = 0;
	} else if (!c->body_clock_ms) {
		c->body_clock_ms = now;
	}
}

static void parse(struct conn *c)
{
	struct request *cur = c->w->current;

	/* The running request writes its output records in place and seals
	 * each one only when it moves on. The records parsed here may queue
	 * answers (GET_VALUES_RESULT, UNKNOWN_TYPE, other requests' ends):
	 * they must come after its open record, not land inside it. Parsing
	 * while it runs happens when a read resumes a paused connection. */
	if (cur && cur->c == c)
		request_seal(cur);
	while (!c->dead && !c->paused) {
		struct fcgi_record rec;
		const char *why = NULL;
		ssize_t n = fcgi_record_decode(buf_head(&c->in), buf_used(&c->in), &rec);
		int r;

		if (n == 0)
			break;
		if (n < 0) {
			log_warning("fd %d: record with FastCGI version %u (only 1 exists)", c->fd,
				    buf_head(&c->in)[0]);
			fail(c, "protocol error: bad version");
			return;
		}
		r = record(c, &rec, &why);
		if (r == FEED_PAUSE) {
			c->paused = true;
			break;
		}
		if (r < 0) {
			fail(c, why ? why : "protocol error");
			return;
		}
		buf_consume(&c->in, (size_t)n);
	}
	if (!buf_used(&c->in))
		buf_reset(&c->in, IN_KEEP);
	clocks(c);
}

/* A peer that hangs up (reset, closed pipe) is routine, logged at info: web
 * servers drop kept connections and clients leave mid-response all day.
 * Any other error is not. */
static bool peer_hung_up(int err)
{
	return err == ECONNRESET || err == EPIPE || err == ECONNABORTED;
}

static void on_eof(struct conn *c)
{
	struct request *r, *next;

	c->eof = true;
	if (buf_used(&c->in) && !c->paused)
		log_warning("fd %d: peer closed the connection mid-record (%zu bytes of an "
			    "incomplete record)",
			    c->fd, buf_used(&c->in));
	for (r = c->reqs; r; r = next) {
		next = r->conn_next;
		if (!request_input_done(r) && !(c->paused && r->phase != REQ_DISCARD))
			request_conn_lost(r);
	}
}

static void readable(struct conn *c)
{
	size_t want = READ_CHUNK;
	struct fcgi_record rec;
	bool between;
	ssize_t n;

	/* Whole record or wait: make room for the record being received. */
	if (fcgi_record_peek(buf_head(&c->in), buf_used(&c->in), &rec) > 0) {
		size_t total = FCGI_HEADER_LEN + (size_t)rec.content_length + rec.padding_length;

		if (total > buf_used(&c->in) && total - buf_used(&c->in) > want)
			want = total - buf_used(&c->in);
	}
	if (buf_reserve(&c->in, want) < 0) {
		conn_close(c, "out of memory for input");
		return;
	}
	/* between requests: these bytes begin the next one (params_timeout) */
	between = !buf_used(&c->in) && !input_arriving(c);
	n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		/* a web server dropping a kept connection is routine */
		log_msg(peer_hung_up(errno) ? LOG_INFO : LOG_WARNING,
			"fd %d: peer went away (recv: %m)", c->fd);
		conn_close(c, NULL);
		return;
	}
	c->last_io_ms = c->w->now_ms;
	if (n > 0 && between && !c->fresh) {
		c->req_start_ms = c->w->now_ms;
		c->req_rx0 = c->rx_bytes;
	}
	c->fresh = false;
	if (n == 0) {
		on_eof(c);
		return;
	}
	c->in.len += (size_t)n;
	c->rx_bytes += (uint64_t)n;
	WSTATS_ADD(c->w->stats, bytes_in, n);
	parse(c);
}

/*
 * nginx stops sending the body once it has passed a response header on,
 * so the running request's output waits until its whole input is in.
 */
static bool output_held(const struct conn *c)
{
	const struct request *cur = c->w->current;

	return cur && cur->c == c && !request_input_done(cur);
}

int conn_flush(struct conn *c)
{
	if (output_held(c))
		return c->dead ? -ECONNABORTED : 0;
	while (!c->dead && buf_used(&c->out)) {
		ssize_t n = send(c->fd, buf_head(&c->out), buf_used(&c->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN)
				break;
			if (errno == EINTR)
				continue;
			/* a client gone mid-response (nginx closes upstream) */
			log_msg(peer_hung_up(errno) ? LOG_INFO : LOG_WARNING,
				"fd %d: peer went away during the response (send: %m)", c->fd);
			conn_close(c, NULL);
			break;
		}
		c->last_io_ms = c->w->now_ms;
		WSTATS_ADD(c->w->stats, bytes_out, n);
		buf_consume(&c->out, (size_t)n);
	}
	if (c->dead)
		return -ECONNABORTED;
	if (!buf_used(&c->out))
		buf_reset(&c->out, IN_KEEP);
	return 0;
}

void conn_resume(struct conn *c)
{
	if (!c->paused || c->dead)
		return;
	c->paused = false;
	parse(c);
	if (c->eof && !c->paused)
		on_eof(c);
	conn_update(c);
}

/*
 * Draining: may this connection without a request be closed now? Not if a
 * request is arriving: bytes buffered or waiting in the socket, or a fresh
 * connection whose first request is surely on its way (DRAIN_GRACE_MS).
 */
static bool drain_idle(struct conn *c)
{
	char b;

	if (buf_used(&c->in))
		return false;
	if (!c->served && c->w->now_ms - c->opened_ms < DRAIN_GRACE_MS)
		return false;
	return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

/* Draining for a successor: the connection (idle, nothing buffered) goes to
 * the next generation through the supervisor; the peer sees nothing. */
static void handoff(struct conn *c)
{
	int r = worker_handoff(c->w, c->fd);

	if (r == -EAGAIN) {
		/* The channel is full (net.unix.max_dgram_qlen): keep the
		 * connection and try again shortly, from the sweep. */
		c->w->next_sweep_ms = c->w->now_ms + 10;
		return;
	}
	if (r < 0) {
		log_warning("fd %d: handing the connection over: %s; closing it", c->fd,
			    strerror(-r));
		conn_close(c, NULL);
		return;
	}
	conn_close(c, NULL); /* our copy only: the supervisor holds the connection */
}

bool conn_idle(const struct conn *c)
{
	return !c->dead && !c->reqs && !c->running && !buf_used(&c->in) && !buf_used(&c->out) &&
	       !c->eof && !c->close_after;
}

int conn_pass_on(struct conn *c)
{
	int r;

	if (!conn_idle(c))
		return -EBUSY;
	r = worker_handoff(c->w, c->fd);
	if (r < 0)
		return r;
	conn_close(c, NULL); /* our copy only: the supervisor holds the connection */
	return 0;
}

void conn_update(struct conn *c)
{
	uint32_t ev = 0;
	bool busy = false;

	if (c->dead)
		return;
	clocks(c);
	for (struct request *r = c->reqs; r; r = r->conn_next)
		busy |= r->phase != REQ_DISCARD;
	if (!busy && !buf_used(&c->out) && !c->eof && !c->close_after && c->w->handoff &&
	    !c->reqs && !buf_used(&c->in)) {
		handoff(c);
		return;
	}
	if (!busy && !buf_used(&c->out) &&
	    (c->eof || c->close_after || (c->w->draining && !c->w->handoff && drain_idle(c)))) {
		conn_close(c, NULL);
		return;
	}
	if (!c->eof && !c->paused)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (buf_used(&c->out) && !output_held(c))
		ev |= EPOLLOUT;
	if (ev != c->events) {
		struct epoll_event e = { .events = ev, .data.ptr = c };

		if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &e) < 0) {
			log_err("epoll_ctl(MOD, fd %d): %m", c->fd);
			conn_close(c, NULL);
			return;
		}
		c->events = ev;
	}
}

void conn_event(struct conn *c, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLRDHUP))
		readable(c);
	if (!c->dead && (events & (EPOLLHUP | EPOLLERR))) {
		/* Both directions are gone: nobody will read a response. */
		if (c->reqs || buf_used(&c->out))
			log_info("fd %d: peer hung up with a request in progress", c->fd);
		conn_close(c, (events & EPOLLERR) ? "socket error" : NULL);
		return;
	}
	if (!c->dead && (events & EPOLLOUT))
		conn_flush(c);
	conn_update(c);
}

void conn_close(struct conn *c, const char *why)
{
	struct worker *w = c->w;
	struct request *r, *next;

	if (c->dead)
		return;
	if (why)
		log_warning("fd %d: %s: closing the connection", c->fd, why);
	c->dead = true;
	/* Out of the epoll set first: close() alone leaves it there while
	 * another descriptor shares the socket (a connection just handed to
	 * the next generation, or a copy in systemd's fd store), and its
	 * events would then name this freed connection. */
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	for (r = c->reqs; r; r = next) {
		next = r->conn_next;
		request_conn_lost(r);
	}
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = w->graveyard;
	w->graveyard = c;
	w->nconns--;
	worker_conn_closed(w);
}

void conn_free(struct conn *c)
{
	while (c->reqs)
		request_destroy(c->reqs);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

/* The params of the request now arriving are not all in yet. */
static bool params_arriving(const struct conn *c)
{
	bool any = false;

	if (c->fresh)
		return true;
	for (const struct request *r = c->reqs; r; r = r->conn_next) {
		if (r->phase == REQ_DISCARD)
			continue;
		any = true;
		if (r->phase == REQ_INPUT && !r->params_done)
			return true;
	}
	return !any && buf_used(&c->in); /* a BEGIN_REQUEST still arriving */
}

/* When the body arriving now falls below body_min_rate, or INT64_MAX. */
static int64_t body_deadline(const struct conn *c)
{
	const struct settings *s = &c->w->set;
	uint64_t got = 0, rate = s->body_min_rate, ms;

	if (!c->body_clock_ms || !rate)
		return INT64_MAX;
	for (const struct request *r = c->reqs; r; r = r->conn_next)
		got += r->body_total + r->data_total;
	/* got / rate seconds more, without overflow */
	ms = got / rate * 1000 + got % rate * 1000 / rate;
	if (ms > (uint64_t)INT64_MAX / 4)
		return INT64_MAX;
	return c->body_clock_ms + s->body_timeout_ms + (int64_t)ms;
}

static int64_t earliest(int64_t d, int64_t e, const char *what, const char **ret_what)
{
	if (e >= d)
		return d;
	if (ret_what)
		*ret_what = what;
	return e;
}

int64_t conn_deadline(const struct conn *c, const char **ret_what)
{
	const struct settings *s = &c->w->set;
	bool inflight = false;
	int64_t d;

	if (c->dead || c->running)
		return INT64_MAX;
	for (const struct request *r = c->reqs; r; r = r->conn_next) {
		if (r->phase == REQ_QUEUED)
			return INT64_MAX; /* our turn to act, not the peer's */
		inflight |= r->phase == REQ_INPUT;
	}
	if (ret_what)
		*ret_what = "write_timeout";
	if (buf_used(&c->out))
		return c->last_io_ms + s->write_timeout_ms;
	if (c->paused)
		return INT64_MAX;
	if (params_arriving(c)) {
		if (ret_what)
			*ret_what = "params_timeout";
		d = c->req_start_ms + s->params_timeout_ms;
		if (c->fresh)
			return d; /* nothing received yet: read_timeout has not begun */
		return earliest(d, c->last_io_ms + s->read_timeout_ms, "read_timeout", ret_what);
	}
	if (inflight || buf_used(&c->in)) {
		if (ret_what)
			*ret_what = "read_timeout";
		d = c->last_io_ms + s->read_timeout_ms;
		return earliest(d, body_deadline(c), "body_min_rate", ret_what);
	}
	if (ret_what)
		*ret_what = "conn_idle_timeout";
	return c->last_io_ms + s->conn_idle_timeout_ms;
}

int64_t conn_peer_turn(struct conn *c, bool waiting, const char **ret_what)
{
	c->peer_turn = waiting;
	clocks(c);
	if (ret_what)
		*ret_what = "read_timeout";
	return earliest(c->last_io_ms + c->w->set.read_timeout_ms, body_deadline(c),
			"body_min_rate", ret_what);
}

int64_t conn_idle_since(const struct conn *c)
{
	return conn_idle(c) && !c->fresh && !c->paused ? c->last_io_ms : -1;
}

bool conn_unread(const struct conn *c)
{
	char b;

	return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

int conn_arriving(const struct conn *c, int64_t *ret_since, uint64_t *ret_bytes)
{
	if (c->dead || c->running || c->paused || c->eof || c->close_after || buf_used(&c->out))
		return 0;
	for (const struct request *r = c->reqs; r; r = r->conn_next)
		if (r->phase == REQ_QUEUED || r->phase == REQ_RUNNING)
			return 0;
	if (!c->fresh && !buf_used(&c->in) && !input_arriving(c))
		return 0;
	*ret_since = c->req_start_ms;
	*ret_bytes = c->rx_bytes - c->req_rx0;
	return 1;
}
