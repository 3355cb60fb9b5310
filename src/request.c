/* SPDX-License-Identifier: MIT */
/*
 * Per-request state machine (INPUT -> QUEUED -> RUNNING -> ended, with
 * DISCARD for a request answered before its input was complete), the
 * params store, body streams and the response writer; the public request
 * accessors of sfcgi.h built on them are in api.c.
 */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "reason.h"
#include "sfcgi.h"
#include "scoreboard.h"
#include "worker.h"
#include "wstats.h"

#define POOL_MAX 8

struct request *request_new(struct conn *c, uint16_t id, uint16_t role, uint8_t flags)
{
	struct worker *w = c->w;
	struct sfcgi_request *o;
	struct request *r;

	if (w->pool) {
		r = w->pool;
		w->pool = r->conn_next;
		w->npool--;
		o = request_outer(r);
	} else {
		o = calloc(1, sizeof *o);
		if (!o)
			return NULL;
		r = &o->r;
	}
	o->magic = REQ_MAGIC;
	r->c = c;
	r->id = id;
	r->role = role;
	r->flags = flags;
	r->phase = REQ_INPUT;
	r->begun_ms = w->now_ms;
	r->conn_next = c->reqs;
	c->reqs = r;
	return r;
}

static void unlink_conn(struct request *r)
{
	struct request **pp;

	if (!r->c)
		return;
	for (pp = &r->c->reqs; *pp; pp = &(*pp)->conn_next)
		if (*pp == r) {
			*pp = r->conn_next;
			break;
		}
	if (r->queued)
		worker_dequeue(r->c->w, r);
}

/* The held body's bytes on disk go with the request that held them. */
static void drop_spills(struct request *r)
{
	if (!r->c)
		return;
	if (r->body_sp.wr)
		spill_drop(r->c->w, SPILL_BODY, &r->body_sp);
	if (r->data_sp.wr)
		spill_drop(r->c->w, SPILL_DATA, &r->data_sp);
}

static void clear(struct request *r)
{
	struct buf params = r->params, body = r->body, data = r->data, head = r->head;
	struct param_ix *ix = r->ix;
	uint32_t ixcap = r->ixcap;

	drop_spills(r);
	buf_reset(&params, REQ_KEEP_BYTES);
	buf_reset(&body, REQ_KEEP_BYTES);
	buf_reset(&data, REQ_KEEP_BYTES);
	buf_reset(&head, REQ_KEEP_BYTES);
	if (ixcap > 256) {
		free(ix);
		ix = NULL;
		ixcap = 0;
	}
	memset(r, 0, sizeof *r);
	r->params = params;
	r->body = body;
	r->data = data;
	r->head = head;
	r->ix = ix;
	r->ixcap = ixcap;
}

void request_destroy(struct request *r)
{
	drop_spills(r);
	unlink_conn(r);
	buf_free(&r->params);
	buf_free(&r->body);
	buf_free(&r->data);
	buf_free(&r->head);
	free(r->ix);
	request_outer(r)->magic = 0;
	free(request_outer(r));
}

void request_release(struct request *r)
{
	struct worker *w = r->c->w;

	if (w->npool >= POOL_MAX) {
		request_destroy(r);
		return;
	}
	unlink_conn(r);
	clear(r);
	request_outer(r)->magic = 0;
	r->conn_next = w->pool;
	w->pool = r;
	w->npool++;
}

void request_pool_drain(struct worker *w)
{
	while (w->pool) {
		struct request *r = w->pool;

		w->pool = r->conn_next;
		w->npool--;
		request_destroy(r); /* clear() left r->c NULL: on no list */
	}
}

bool request_input_done(const struct request *r)
{
	return r->params_done && (r->stdin_done || r->role == FCGI_AUTHORIZER) &&
	       (r->data_done || r->role != FCGI_FILTER);
}

/* Output ------------------------------------------------------------------ */

static uint8_t *rec_header(struct request *r)
{
	return r->c->out.data + r->c->out.off + r->rec_rel;
}

void request_seal(struct request *r)
{
	struct buf *out = &r->c->out;
	size_t clen;
	uint8_t pad;
	static const uint8_t zeros[8];

	if (!r->rec_open)
		return;
	r->rec_open = false;
	clen = out->len - out->off - r->rec_rel - FCGI_HEADER_LEN;
	pad = fcgi_padding_for(clen);
	fcgi_header_encode(rec_header(r), r->rec_type, r->id, (uint16_t)clen, pad);
	/* Room for the padding was reserved when the record was opened. */
	memcpy(out->data + out->len, zeros, pad);
	out->len += pad;
	r->out_added += pad;
}

/* Appends to the open record of this type, opening new ones as they fill. */
static int out_append(struct request *r, uint8_t type, const void *p, size_t n)
{
	struct buf *out = &r->c->out;
	const uint8_t *src = p;

	/* An empty record is the end of its stream (FastCGI §3.3): writing
	 * nothing must not open one. */
	if (n == 0)
		return 0;
	if (r->c->w->slot && r == r->c->w->current)
		SB_STORE(r->c->w->slot->req_clean, 0); /* request_timeout: no clean 504 now */
	if (!r->out_marked) {
		r->out_marked = true;
		r->out_mark = buf_used(out);
	}
	do {
		size_t room, chunk;

		if (r->rec_open && r->rec_type != type)
			request_seal(r);
		if (!r->rec_open) {
			if (buf_reserve(out, FCGI_HEADER_LEN + 8) < 0)
				return -ENOMEM;
			r->rec_open = true;
			r->rec_type = type;
			r->rec_rel = out->len - out->off;
			out->len += FCGI_HEADER_LEN;
			r->out_added += FCGI_HEADER_LEN;
		}
		room = FCGI_MAX_CONTENT - (out->len - out->off - r->rec_rel - FCGI_HEADER_LEN);
		chunk = n < room ? n : room;
		/* +8: the padding written at seal time never needs a reallocation. */
		if (buf_reserve(out, chunk + 8) < 0)
			return -ENOMEM;
		if (chunk)
			memcpy(out->data + out->len, src, chunk);
		out->len += chunk;
		r->out_added += chunk;
		src += chunk;
		n -= chunk;
		if (chunk == room)
			request_seal(r);
	} while (n > 0);
	return 0;
}

static void out_record(struct request *r, const uint8_t *rec, size_t n)
{
	request_seal(r);
	r->out_added += n;
	if (buf_append(&r->c->out, rec, n) < 0) {
		/* Closing here would free requests under our callers' feet. */
		log_err("fd %d: out of memory for output", r->c->fd);
		r->c->close_after = true;
	}
}

/* Polls the worker until the deadline; -ETIMEDOUT once it has passed. */
static int wait_peer(struct request *r, int64_t deadline)
{
	struct worker *w = r->c->w;
	int64_t left = deadline - w->now_ms;
	int k;

	if (left <= 0)
		return -ETIMEDOUT;
	request_seal(r);
	conn_flush(r->c); /* holds output back while r's input is incomplete */
	conn_update(r->c);
	k = worker_poll(w, left > 1000 ? 1000 : (int)left);
	return k < 0 ? k : 0;
}

/* One step of waiting for more of r's input: buffered records first, then
 * the peer, within read_timeout and body_min_rate. 0 to look again, or negative errno. */
int request_more_input(struct request *r)
{
	struct conn *c = r->c;
	const char *what;
	int k;

	if (c->paused) {
		size_t before = buf_used(&c->in);

		conn_resume(c);
		if (c->paused && buf_used(&c->in) == before) {
			/* The next record can only be taken after r ends (another
			 * request's full buffer, or a BEGIN whose id is still being
			 * answered) and r's input is behind it: looking again would
			 * spin for ever. A peer interleaved more than we hold. */
			log_warning("fd %d: request %u: its input is queued behind a record that "
				    "can only be taken after it ends (interleaved requests): "
				    "closing the connection", c->fd, r->id);
			conn_close(c, NULL);
			return -ECONNABORTED;
		}
		return 0;
	}
	k = wait_peer(r, conn_peer_turn(c, true, &what));
	conn_peer_turn(c, false, NULL); /* the handler's own time is not the peer's */
	if (k == -ETIMEDOUT) {
		log_warning("fd %d: request %u: the peer sends its body too slowly (%s): closing "
			    "the connection", c->fd, r->id, what);
		conn_close(c, NULL);
	}
	return k;
}

/*
 * Reads the rest of the input (up to max_stdin_bytes): request_memory
 * bytes of each stream in memory, the rest in the worker's spill files
 * (spill_hold()). -EIO once it is all in if it could not be held (answered 500).
 */
static int slurp(struct request *r)
{
	struct conn *c = r->c;

	r->slurp = true;
	while (!request_input_done(r)) {
		int k;

		if (c->dead || r->aborted)
			return -ECONNABORTED;
		if ((k = request_more_input(r)) < 0)
			return k;
		if (r->lost_close) {
			conn_close(c, NULL); /* see lose_body() */
			return -ECONNABORTED;
		}
	}
	return r->body_lost ? -EIO : 0;
}

int request_flush_until(struct request *r, size_t below)
{
	struct conn *c = r->c;
	int k;

	request_seal(r);
	if (!request_input_done(r) && (k = slurp(r)) < 0)
		return k;
	for (;;) {
		if (c->dead || r->aborted)
			return -ECONNABORTED;
		conn_flush(c);
		if (c->dead)
			return -ECONNABORTED;
		if (buf_used(&c->out) <= below)
			return 0;
		k = wait_peer(r, c->last_io_ms + c->w->set.write_timeout_ms);
		if (k == -ETIMEDOUT) {
			log_warning("fd %d: request %u: peer read nothing for %u ms (write_timeout)",
				    c->fd, r->id, c->w->set.write_timeout_ms);
			conn_close(c, NULL);
			return -ETIMEDOUT;
		}
		if (k < 0)
			return k;
	}
}

int request_emit_head(struct request *r)
{
	char line[64];
	int n, k;

	if (r->body_started)
		return 0;
	r->body_started = true;
	if (!r->head_pending)
		return 0;
	if (r->status) {
		n = snprintf(line, sizeof line, "Status: %d %s\r\n", r->status, http_reason(r->status));
		if ((k = out_append(r, FCGI_STDOUT, line, (size_t)n)) < 0)
			return k;
	}
	if ((k = out_append(r, FCGI_STDOUT, buf_head(&r->head), buf_used(&r->head))) < 0)
		return k;
	return out_append(r, FCGI_STDOUT, "\r\n", 2);
}

int request_out_write(struct request *r, uint8_t type, const void *p, size_t n)
{
	int k;

	if (r->aborted || r->c->dead)
		return -ECONNABORTED;
	if (r->body_lost)
		return -EIO; /* answered 500 already */
	if ((type == FCGI_STDOUT && (k = request_emit_head(r)) < 0) || (k = out_append(r, type, p, n)) < 0)
		return k;
	if (type == FCGI_STDERR)
		r->stderr_used = true;
	if (buf_used(&r->c->out) >= r->c->w->set.write_buffer)
		return request_flush_until(r, r->c->w->set.write_buffer / 2);
	return 0;
}

/* END_REQUEST and the end of the output streams (FastCGI §5.5). */
void request_end(struct request *r, uint32_t app_status, uint8_t protocol_status)
{
	struct conn *c = r->c;
	uint8_t rec[3 * 16];
	size_t n = 0;

	if (!c->dead) {
		request_seal(r);
		if (protocol_status == FCGI_REQUEST_COMPLETE) {
			n += fcgi_header_encode(rec + n, FCGI_STDOUT, r->id, 0, 0);
			if (r->stderr_used)
				n += fcgi_header_encode(rec + n, FCGI_STDERR, r->id, 0, 0);
		}
		n += fcgi_end_request_encode(rec + n, r->id, app_status, protocol_status);
		out_record(r, rec, n);
		/* Draining: close right behind END_REQUEST, so the web server sees
		 * the end of the connection before it could reuse it. */
		if (!(r->flags & FCGI_KEEP_CONN) || (c->w->draining && !c->w->handoff))
			c->close_after = true;
		c->served++;
	}
	buf_reset(&r->body, REQ_KEEP_BYTES);
	buf_reset(&r->data, REQ_KEEP_BYTES);
	drop_spills(r);
	r->phase = REQ_DISCARD;
}

/* An ended request is released once nothing more of its input can come. */
void request_settle(struct request *r)
{
	if (r->phase == REQ_DISCARD && (request_input_done(r) || r->c->dead || r->c->eof))
		request_release(r);
}

void request_reject(struct request *r, uint8_t protocol_status)
{
	WSTATS_ADD(r->c->w->stats, refused, 1);
	request_end(r, 0, protocol_status);
	request_settle(r);
}

/* A response of the library's own, for a request the app never sees. */
static void fail(struct request *r, int status, const char *msg)
{
	char text[256];
	int n;

	n = snprintf(text, sizeof text, "Status: %d %s\r\nContent-Type: text/plain\r\n\r\n%s\n",
		     status, http_reason(status), msg);
	if (r->phase != REQ_RUNNING) /* one the application runs ends in wstats_end() */
		WSTATS_ADD(r->c->w->stats, refused, 1);
	if (r->queued)
		worker_dequeue(r->c->w, r);
	r->body_started = true;
	r->head_pending = false;
	if (out_append(r, FCGI_STDOUT, text, (size_t)n) < 0) {
		log_err("fd %d: out of memory for output", r->c->fd);
		r->c->close_after = true;
		r->phase = REQ_DISCARD;
		return;
	}
	request_end(r, (uint32_t)status, FCGI_REQUEST_COMPLETE);
}

/* Input ------------------------------------------------------------------- */

int request_lookup(const struct request *r, const char *name, const char **ret_value,
		   size_t *ret_len)
{
	const char *base = (const char *)buf_head(&r->params);
	size_t nl = strlen(name);

	for (uint32_t i = 0; i < r->nparams; i++) {
		const struct param_ix *ix = &r->ix[i];

		if (ix->name_len == nl && memcmp(base + ix->name, name, nl) == 0) {
			if (ret_value)
				*ret_value = base + ix->value;
			if (ret_len)
				*ret_len = ix->value_len;
			return 0;
		}
	}
	return -ENOENT;
}

static void check_ready(struct request *r)
{
	if (r->phase != REQ_INPUT || !r->params_done)
		return;
	if (r->role == FCGI_AUTHORIZER || r->stdin_done || buf_used(&r->body) >= r->c->w->set.read_ahead) {
		r->phase = REQ_QUEUED;
		worker_enqueue(r->c->w, r);
	}
}

/*
 * CONTENT_LENGTH (RFC 3875 4.1.2: 1*digit, or absent or empty for no body).
 * Absent, empty and "-1" mean the length is unknown and the body streams
 * until the empty STDIN record: Caddy sends -1 for a chunked or HTTP/2
 * upload of unknown length, nginx an empty value for a request without a
 * body. 0 with *ret set, 1 when the length is unknown; -ERANGE for digits past
 * 2^64 - 1; -EINVAL for anything else ("+5", " 5", "5x", an embedded NUL).
 */
static int content_length(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || n == 0 || (n == 2 && !memcmp(s, "-1", 2)))
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10) {
			while (++i < n) /* still a number: too large, not malformed */
				if ((unsigned)(unsigned char)s[i] - '0' > 9)
					return -EINVAL;
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* Decodes the PARAMS stream in place into "name\0value\0" strings: each
 * pair's output (name + value + 2) is never longer than its input (two
 * length bytes at least), so the write position never passes the read. */
static int params_end(struct request *r)
{
	const struct settings *s = &r->c->w->set;
	uint8_t *base = buf_head(&r->params);
	size_t n = buf_used(&r->params), rd = 0, wr = 0;
	const char *cl = NULL;
	size_t cl_len = 0;
	uint64_t length;
	int cl_r;

	r->nparams = 0;
	r->params_done = true;
	while (rd < n) {
		struct fcgi_pair p;
		ssize_t k = fcgi_pair_decode(base + rd, n - rd, &p);
		struct param_ix *ix;

		if (k <= 0) {
			log_warning("fd %d: request %u: name-value pair at byte %zu overruns the "
				    "PARAMS stream (%zu bytes), answered 400",
				    r->c->fd, r->id, rd, n);
			fail(r, 400, "malformed FastCGI parameters");
			return FEED_OK;
		}
		if (r->nparams >= s->max_params) {
			log_warning("fd %d: request %u: more than max_params=%u parameters, "
				    "answered 431",
				    r->c->fd, r->id, s->max_params);
			fail(r, 431, "too many parameters");
			return FEED_OK;
		}
		if (r->nparams == r->ixcap) {
			uint32_t cap = r->ixcap ? r->ixcap * 2 : 64;

			ix = realloc(r->ix, cap * sizeof *ix);
			if (!ix) {
				fail(r, 500, "out of memory");
				return FEED_OK;
			}
			r->ix = ix;
			r->ixcap = cap;
		}
		ix = &r->ix[r->nparams++];
		rd += (size_t)k;
		ix->name = (uint32_t)wr;
		ix->name_len = p.name_len;
		memmove(base + wr, p.name, p.name_len);
		wr += p.name_len;
		base[wr++] = 0;
		ix->value = (uint32_t)wr;
		ix->value_len = p.value_len;
		memmove(base + wr, p.value, p.value_len);
		wr += p.value_len;
		base[wr++] = 0;
	}
	if (request_lookup(r, "CONTENT_LENGTH", &cl, &cl_len) < 0)
		cl = NULL;
	cl_r = content_length(cl, cl_len, &length);
	if (cl_r == -EINVAL) {
		log_warning("fd %d: request %u: CONTENT_LENGTH \"%.*s\" is not a decimal number of "
			    "bytes (nor -1 or empty: unknown), answered 400; check the web server's "
			    "fastcgi_param CONTENT_LENGTH",
			    r->c->fd, r->id, (int)(cl_len > 40 ? 40 : cl_len), cl);
		fail(r, 400, "malformed CONTENT_LENGTH");
		return FEED_OK;
	}
	if (cl_r == -ERANGE || (cl_r == 0 && length > s->max_stdin_bytes)) {
		log_warning("fd %d: request %u: CONTENT_LENGTH %.*s exceeds max_stdin_bytes=%llu, "
			    "answered 413",
			    r->c->fd, r->id, (int)(cl_len > 40 ? 40 : cl_len), cl,
			    (unsigned long long)s->max_stdin_bytes);
		fail(r, 413, "request body too large");
		return FEED_OK;
	}
	check_ready(r);
	return FEED_OK;
}

static int feed_params(struct request *r, const uint8_t *p, size_t n, const char **why)
{
	const struct settings *s = &r->c->w->set;

	if (r->params_done) {
		*why = "PARAMS after the end of the PARAMS stream";
		return -EBADMSG;
	}
	if (n == 0) {
		if (r->phase == REQ_DISCARD) {
			r->params_done = true;
			return FEED_OK;
		}
		return params_end(r);
	}
	if (r->phase == REQ_DISCARD)
		return FEED_OK;
	if (n > s->max_params_bytes - buf_used(&r->params)) {
		log_warning("fd %d: request %u: PARAMS exceed max_params_bytes=%u, answered 431",
			    r->c->fd, r->id, s->max_params_bytes);
		fail(r, 431, "request parameters too large");
		return FEED_OK;
	}
	if (buf_append(&r->params, p, n) < 0) {
		fail(r, 500, "out of memory");
		return FEED_OK;
	}
	return FEED_OK;
}

/*
 * The held body could not be kept (its spill file failed). Nothing of r's
 * response has left: output waits while its input is incomplete, and only
 * then does a body spill. So what r queued is replaced by a 500, the rest
 * of its input is read and dropped, and its handler's next write or read
 * fails with -EIO. Should other output have come in between (another
 * request's on a multiplexed connection), the connection is closed instead.
 */
static void lose_body(struct request *r, int err)
{
	static const char text[] = "Status: 500 Internal Server Error\r\n"
				   "Content-Type: text/plain\r\n\r\n"
				   "the request body could not be stored\n";
	struct buf *out = &r->c->out;

	log_err("fd %d: request %u: the body held past request_memory=%u bytes (its response "
		"waits for it) could not be written to the spill file in %s: %s; answered 500. %s",
		r->c->fd, r->id, r->c->w->set.request_memory,
		r->c->w->spill_dir ? r->c->w->spill_dir : spill_dir_choose(NULL),
		err == -EBADF ? "no spill file (see the warning at the worker's start)"
			      : strerror(-err),
		err == -EBADF ? "Set \"spill_dir\" to a directory on disk the worker may write"
		: err == -EFBIG ? "Raise the \"fsize\" rlimit, or lower max_stdin_bytes"
				: "Free space there, or set \"spill_dir\" to a directory on a disk "
				  "with room");
	r->body_lost = true;
	buf_reset(&r->body, REQ_KEEP_BYTES);
	buf_reset(&r->data, REQ_KEEP_BYTES);
	drop_spills(r);
	if (r->out_marked && buf_used(out) != r->out_mark + r->out_added) {
		r->lost_close = true;
		return;
	}
	if (r->out_marked)
		out->len = out->off + r->out_mark;
	r->rec_open = false;
	r->out_marked = false;
	r->out_added = 0;
	r->body_started = true;
	r->head_pending = false;
	if (out_append(r, FCGI_STDOUT, text, sizeof text - 1) < 0)
		r->lost_close = true;
}

/* STDIN or DATA content. */
static int feed_stream(struct request *r, uint8_t type, const uint8_t *p, size_t n,
		       const char **why)
{
	const struct settings *s = &r->c->w->set;
	bool is_data = type == FCGI_DATA;
	bool *done = is_data ? &r->data_done : &r->stdin_done;
	struct buf *b = is_data ? &r->data : &r->body;
	uint64_t *total = is_data ? &r->data_total : &r->body_total;
	int k;

	if (!r->params_done) {
		*why = is_data ? "DATA before the end of PARAMS" : "STDIN before the end of PARAMS";
		return -EBADMSG;
	}
	if (is_data && r->role != FCGI_FILTER) {
		*why = "DATA for a request whose role is not Filter";
		return -EBADMSG;
	}
	if (*done) {
		*why = is_data ? "DATA after the end of DATA" : "STDIN after the end of STDIN";
		return -EBADMSG;
	}
	if (n == 0) {
		*done = true;
		check_ready(r);
		return FEED_OK;
	}
	if (r->phase == REQ_DISCARD || (!is_data && r->skip_stdin) || *total > s->max_stdin_bytes ||
	    r->body_lost)
		return FEED_OK;
	if (buf_used(b) + spill_used(is_data ? &r->data_sp : &r->body_sp) >= s->read_ahead &&
	    !r->slurp)
		return FEED_PAUSE;
	if (n > s->max_stdin_bytes - *total) {
		*total = s->max_stdin_bytes + 1;
		if (r->phase == REQ_RUNNING)
			return FEED_OK; /* sfcgi_read() reports -EFBIG */
		log_warning("fd %d: request %u: body exceeds max_stdin_bytes=%llu, answered 413",
			    r->c->fd, r->id, (unsigned long long)s->max_stdin_bytes);
		fail(r, 413, "request body too large");
		return FEED_OK;
	}
	*total += n;
	k = spill_hold(r->c->w, is_data ? SPILL_DATA : SPILL_BODY, b,
		       is_data ? &r->data_sp : &r->body_sp, r->slurp, p, n);
	if (k == -ENOMEM) {
		fail(r, 500, "out of memory");
		return FEED_OK;
	}
	if (k < 0) {
		lose_body(r, k);
		return FEED_OK;
	}
	check_ready(r);
	return FEED_OK;
}

int request_feed(struct request *r, uint8_t type, const uint8_t *p, size_t n, const char **why)
{
	int k = type == FCGI_PARAMS ? feed_params(r, p, n, why) : feed_stream(r, type, p, n, why);

	if (k >= 0)
		request_settle(r);
	return k;
}

void request_abort(struct request *r)
{
	switch (r->phase) {
	case REQ_RUNNING:
		log_info("fd %d: request %u aborted by the peer while running", r->c->fd, r->id);
		r->aborted = true;
		break;
	case REQ_INPUT:
	case REQ_QUEUED:
		log_info("fd %d: request %u aborted by the peer before it ran", r->c->fd, r->id);
		WSTATS_ADD(r->c->w->stats, aborted, 1);
		if (r->queued)
			worker_dequeue(r->c->w, r);
		request_end(r, 0, FCGI_REQUEST_COMPLETE);
		request_settle(r);
		break;
	case REQ_DISCARD:
		break;
	}
}

void request_conn_lost(struct request *r)
{
	if (r->phase == REQ_RUNNING) {
		r->aborted = true;
		return;
	}
	if (r->phase != REQ_DISCARD) {
		log_info("fd %d: request %u dropped: the peer closed before it was complete",
			 r->c->fd, r->id);
		WSTATS_ADD(r->c->w->stats, aborted, 1);
	}
	request_release(r);
}

/* For worker_next(): the handle the application sees. */
struct sfcgi_request *request_handle(struct request *r)
{
	request_outer(r)->magic = REQ_MAGIC;
	return request_outer(r);
}

bool request_is_running(const struct request *r)
{
	return r->phase == REQ_RUNNING;
}

bool request_arriving_since(const struct request *r, int64_t since_ms)
{
	return r->phase == REQ_INPUT && r->begun_ms >= since_ms;
}
