/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the worker side of one connection: the input is what a peer (the
 * web server) sends, fed over a socketpair into the library's own
 * connection, request and worker code (conn.c, request.c, worker.c), with a
 * handler that drives the request API (api.c) as the input says.
 *
 * Input: a 32-byte header (missing bytes read as 0), then the stream.
 *   [0]      bits 0-1: max_reqs_per_conn 1, 2, 4 or 16; bit 2: read_ahead = 4 KiB;
 *            bit 3: write_buffer = 4 KiB; bit 4: at the end of the stream
 *            close the peer socket (else shut down its sending side and
 *            read the rest of the answer); bit 5: small SO_SNDBUF (4 KiB)
 *            on the worker's socket
 *   [1]      max_params_bytes = 256 + 16 * b (0: the default)
 *   [2]      max_params = b (0: the default)
 *   [3]      max_stdin_bytes = 32 * (b - 1) (0: the default)
 *   [4]      the peer reads at most 64 * b bytes of answer per round (0: all)
 *   [5]      SIGTERM (drain) at poll round b (0: never)
 *   [6..7]   reserved
 *   [8..23]  actions: two bytes per handler run, cycling (see handle())
 *   [24..31] chunk sizes, cycling: 0 = the rest, 1..127 bytes, or
 *            (b - 127) * 64 bytes
 *
 * The peer writes one chunk per epoll_wait of the worker: the binary is
 * linked with -Wl,--wrap=epoll_wait, and __wrap_epoll_wait below first
 * "pumps" the peer (write a chunk, read and check the answer), then polls
 * without blocking. So the run is deterministic and needs no thread, and
 * the library runs unchanged: its loop, its waits inside sfcgi_read() and
 * sfcgi_write(), its pause/resume, all as in production.
 *
 * Checked (abort on violation): no sanitizer report and no leak; the run
 * ends (a bounded number of poll rounds, and no round-after-round idling
 * once the peer has sent everything and shut down: a worker that waits
 * then waits for nothing until its timeouts); every byte the worker sends
 * is a well-formed record (version 1, zero reserved byte, padding to 8 with
 * zeros) of an answer type; STDOUT, STDERR and END_REQUEST carry ids the
 * peer has begun and not yet seen ended, no stream data after its end,
 * END_REQUEST at most once per BEGIN, COMPLETE only after the end of
 * STDOUT (and of STDERR if used); GET_VALUES_RESULT and UNKNOWN_TYPE only
 * as answers to records that call for them; the parameters and the body and
 * DATA bytes the handler reads are exactly what the peer sent for that
 * request; the STDOUT and STDERR a handler's END_REQUEST closes are what
 * that handler wrote (after the header block); every API call answers one
 * of its documented values; the worker closes its socket in the end. And
 * liveness: unless the worker logged a warning (a protocol error, a limit,
 * a peer gone; the log goes through -Wl,--wrap=log_msg) or dropped an
 * incomplete request, or the run drained, every BEGIN_REQUEST of a stream
 * that asks to keep the connection (all but its last) gets its END_REQUEST.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "fcgi.h"
#include "fuzz.h"
#include "log.h"
#include "request.h"
#include "settings.h"
#include "sfcgi.h"
#include "worker.h"

#define HDR_LEN 32
#define MAX_ROUNDS 200000 /* epoll_wait calls per input */
#define MAX_IDLE 64       /* rounds without any progress once the peer is done */
#define OUT_BUDGET (256 * 1024) /* response bytes the handlers write per input */
#define RUN_TAG 0x5f000000u     /* app_status of a handler run: RUN_TAG | run number */

/* One record of the peer's stream, complete in the input. */
struct mrec {
	const uint8_t *p; /* content */
	size_t end;       /* stream offset just past the record */
	uint32_t inc;     /* which BEGIN of its id it follows: 1 for the first */
	uint16_t id, n;
	uint8_t type;
};

/* The peer's view of one request id. */
struct idstate {
	uint32_t incs;         /* BEGINs in the whole stream */
	uint32_t begins, ends; /* BEGINs sent so far, END_REQUESTs received */
	bool out_data, out_closed, err_data, err_closed;
	struct buf out, err; /* STDOUT and STDERR of the open response */
};

/* One handler run: what its END_REQUEST must close. */
struct run {
	uint16_t id;
	bool head, ended, maybe_err;
	struct buf out, err, maybe; /* maybe: the one write that failed late */
};

static struct {
	/* the stream and the model of what was sent */
	const uint8_t *s;
	size_t n, written;
	struct mrec *recs;
	size_t nrecs, sent; /* records parsed, records fully written */
	uint32_t exp_values, exp_unknown, got_values, got_unknown;
	struct idstate *ids; /* 65536 */
	/* the peer socket */
	int peer;
	bool shut, eof, hangup;
	size_t drain;
	uint8_t chunks[8];
	unsigned nchunk;
	struct buf in; /* answer bytes received, [off, len) not yet decoded */
	/* the loop */
	unsigned rounds, idle, drain_at;
	bool drained;    /* the SIGTERM was raised */
	bool complained; /* the worker logged a warning, or dropped a request */
	bool trace; /* FUZZ_CONN_TRACE=1: what the peer sends and receives, on stderr */
	struct worker *w;
	/* handler runs */
	struct settings set;
	uint8_t act[16];
	struct run *runs;
	size_t nruns, runcap;
	size_t budget;
} P;

/* The peer's stream model ------------------------------------------------ */

static void model_parse(void)
{
	size_t off = 0;

	P.nrecs = 0;
	for (;;) {
		struct fcgi_record rec;
		ssize_t k = fcgi_record_decode(P.s + off, P.n - off, &rec);
		struct mrec *m;

		if (k <= 0)
			break; /* incomplete, or a bad version: the worker stops there */
		if (!(P.nrecs & (P.nrecs - 1))) {
			P.recs = realloc(P.recs, (P.nrecs ? 2 * P.nrecs : 16) * sizeof *P.recs);
			CHECK(P.recs);
		}
		m = &P.recs[P.nrecs++];
		off += (size_t)k;
		m->p = rec.content;
		m->end = off;
		m->id = rec.request_id;
		m->n = rec.content_length;
		m->type = rec.type;
		if (m->id && m->type == FCGI_BEGIN_REQUEST)
			P.ids[m->id].incs++;
		m->inc = P.ids[m->id].incs;
	}
}

/* Accounts for the records now fully written. */
static void model_advance(void)
{
	for (; P.sent < P.nrecs && P.recs[P.sent].end <= P.written; P.sent++) {
		const struct mrec *m = &P.recs[P.sent];

		if (m->id == FCGI_NULL_REQUEST_ID) {
			if (m->type == FCGI_GET_VALUES)
				P.exp_values++;
			else
				P.exp_unknown++;
		} else if (m->type == FCGI_BEGIN_REQUEST) {
			P.ids[m->id].begins++;
		} else if (m->type != FCGI_ABORT_REQUEST && m->type != FCGI_PARAMS &&
			   m->type != FCGI_STDIN && m->type != FCGI_DATA) {
			P.exp_unknown++;
		}
	}
}

/* The content of id's stream `type` after its BEGIN number inc, up to the
 * empty record that ends it: appended to b; true if that end was sent. */
static bool model_stream(uint16_t id, uint32_t inc, uint8_t type, struct buf *b)
{
	for (size_t i = 0; i < P.nrecs; i++) {
		const struct mrec *m = &P.recs[i];

		if (m->id != id || m->inc != inc || m->type != type)
			continue;
		if (m->n == 0)
			return true;
		CHECK(buf_append(b, m->p, m->n) == 0);
	}
	return false;
}

/* Is got a prefix of (whole: all of) id's stream `type` after some BEGIN? */
static bool model_match(uint16_t id, uint8_t type, const struct buf *got, bool whole)
{
	bool ok = false;

	for (uint32_t inc = 1; inc <= P.ids[id].incs && !ok; inc++) {
		struct buf b = { 0 };
		bool ended = model_stream(id, inc, type, &b);

		if (whole)
			ok = ended && buf_used(&b) == buf_used(got);
		else
			ok = buf_used(&b) >= buf_used(got);
		ok = ok && (!buf_used(got) || memcmp(buf_head(&b), buf_head(got), buf_used(got)) == 0);
		buf_free(&b);
	}
	return ok || (!whole && !buf_used(got));
}

/* Do the request's parameters, in order, decode from id's PARAMS after some BEGIN? */
static bool model_params(struct sfcgi_request *req, uint16_t id)
{
	bool ok = false;

	for (uint32_t inc = 1; inc <= P.ids[id].incs && !ok; inc++) {
		struct buf b = { 0 };
		size_t off = 0, cursor = 0;
		const char *name, *value;
		struct fcgi_pair pair;
		ssize_t k;

		model_stream(id, inc, FCGI_PARAMS, &b);
		ok = true;
		while (ok && sfcgi_param_next(req, &cursor, &name, &value) == 1) {
			size_t nl, vl;

			if (off == buf_used(&b)) {
				ok = false; /* more parameters than the stream holds */
				break;
			}
			k = fcgi_pair_decode(buf_head(&b) + off, buf_used(&b) - off, &pair);
			if (k <= 0) {
				ok = false;
				break;
			}
			off += (size_t)k;
			nl = strlen(name);
			vl = strlen(value);
			/* NUL-terminated copies: cut short at a NUL inside */
			ok = nl <= pair.name_len && !memcmp(name, pair.name, nl) &&
			     (nl == pair.name_len || pair.name[nl] == 0) && vl <= pair.value_len &&
			     !memcmp(value, pair.value, vl) &&
			     (vl == pair.value_len || pair.value[vl] == 0);
		}
		ok = ok && off == buf_used(&b);
		buf_free(&b);
	}
	return ok;
}

/* Checking the answer ------------------------------------------------------ */

static bool open_id(uint16_t id)
{
	return id != FCGI_NULL_REQUEST_ID && P.ids[id].begins > P.ids[id].ends;
}

/* got must be [head block] + want (+ maybe): the handler's bytes, after a
 * header block when it set a status or headers. */
static void check_body(const struct buf *got, const struct buf *want, const struct buf *maybe,
		       bool head_allowed)
{
	size_t g = buf_used(got), wl = buf_used(want), ml = maybe ? buf_used(maybe) : 0;
	size_t tail;

	if (ml && g >= wl + ml && !memcmp(buf_head(got) + g - ml, buf_head(maybe), ml) &&
	    (!wl || !memcmp(buf_head(got) + g - ml - wl, buf_head(want), wl)))
		tail = wl + ml;
	else {
		CHECK(g >= wl);
		CHECK(!wl || !memcmp(buf_head(got) + g - wl, buf_head(want), wl));
		tail = wl;
	}
	if (g > tail) {
		CHECK(head_allowed);
		CHECK(g - tail >= 2 && !memcmp(buf_head(got) + g - tail - 2, "\r\n", 2));
	}
}

static void end_request(const struct fcgi_record *rec)
{
	struct idstate *st = &P.ids[rec->request_id];
	uint32_t app;
	uint8_t ps;

	CHECK(fcgi_end_body_decode(rec, &app, &ps) == 0);
	CHECK(ps == FCGI_REQUEST_COMPLETE || ps == FCGI_CANT_MPX_CONN || ps == FCGI_UNKNOWN_ROLE);
	if (ps == FCGI_REQUEST_COMPLETE) {
		CHECK(st->out_closed);
		CHECK(!st->err_data || st->err_closed);
	} else {
		CHECK(!st->out_data && !st->err_data && !st->out_closed && !st->err_closed);
	}
	if ((app & 0xff000000u) == RUN_TAG) {
		size_t i = app & 0xffffffu;
		struct run *r = &P.runs[i];

		CHECK(i < P.nruns && r->id == rec->request_id && !r->ended);
		CHECK(ps == FCGI_REQUEST_COMPLETE);
		r->ended = true;
		check_body(&st->out, &r->out, r->maybe_err ? NULL : &r->maybe, r->head);
		check_body(&st->err, &r->err, r->maybe_err ? &r->maybe : NULL, false);
	}
	st->ends++;
	st->out_data = st->out_closed = st->err_data = st->err_closed = false;
	buf_free(&st->out);
	buf_free(&st->err);
}

static void check_record(const struct fcgi_record *rec, const uint8_t *raw)
{
	struct idstate *st = &P.ids[rec->request_id];
	const uint8_t *pad = rec->content + rec->content_length;

	if (P.trace)
		fprintf(stderr, "fuzz-conn: round %u: received type %u id %u, %u bytes\n", P.rounds,
			rec->type, rec->request_id, rec->content_length);
	CHECK(raw[7] == 0);
	CHECK(rec->padding_length == fcgi_padding_for(rec->content_length));
	for (unsigned i = 0; i < rec->padding_length; i++)
		CHECK(pad[i] == 0);
	switch (rec->type) {
	case FCGI_STDOUT:
	case FCGI_STDERR: {
		bool out = rec->type == FCGI_STDOUT;

		CHECK(open_id(rec->request_id));
		CHECK(!(out ? st->out_closed : st->err_closed));
		if (rec->content_length == 0) {
			*(out ? &st->out_closed : &st->err_closed) = true;
			break;
		}
		*(out ? &st->out_data : &st->err_data) = true;
		CHECK(buf_append(out ? &st->out : &st->err, rec->content, rec->content_length) == 0);
		break;
	}
	case FCGI_END_REQUEST:
		CHECK(open_id(rec->request_id));
		CHECK(rec->content_length == 8);
		end_request(rec);
		break;
	case FCGI_GET_VALUES_RESULT: {
		size_t off = 0;

		CHECK(rec->request_id == FCGI_NULL_REQUEST_ID);
		CHECK(++P.got_values <= P.exp_values);
		while (off < rec->content_length) {
			struct fcgi_pair pair;
			ssize_t k = fcgi_pair_decode(rec->content + off, rec->content_length - off,
						     &pair);

			CHECK(k > 0);
			CHECK((pair.name_len == 13 && !memcmp(pair.name, "FCGI_MAX_REQS", 13)) ||
			      (pair.name_len == 14 && !memcmp(pair.name, "FCGI_MAX_CONNS", 14)) ||
			      (pair.name_len == 15 && !memcmp(pair.name, "FCGI_MPXS_CONNS", 15)));
			off += (size_t)k;
		}
		break;
	}
	case FCGI_UNKNOWN_TYPE:
		CHECK(rec->request_id == FCGI_NULL_REQUEST_ID && rec->content_length == 8);
		CHECK(++P.got_unknown <= P.exp_unknown);
		break;
	default:
		CHECK(!"a record type the worker never sends");
	}
}

static void check_answer(void)
{
	for (;;) {
		struct fcgi_record rec;
		ssize_t k = fcgi_record_decode(buf_head(&P.in), buf_used(&P.in), &rec);

		CHECK(k >= 0); /* version 1 */
		if (k == 0)
			break;
		check_record(&rec, buf_head(&P.in));
		buf_consume(&P.in, (size_t)k);
	}
}

/* The peer ---------------------------------------------------------------- */

static size_t next_chunk(void)
{
	uint8_t c = P.chunks[P.nchunk++ % sizeof P.chunks];
	size_t rest = P.n - P.written;
	size_t want = c == 0 ? rest : c < 128 ? c : (size_t)(c - 127) * 64;

	return want < rest ? want : rest;
}

/* One round of the peer: a chunk out, some answer in. True if anything moved. */
static bool pump(void)
{
	bool moved = false;
	size_t got = 0;

	if (P.peer < 0)
		return false;
	if (P.written < P.n) {
		ssize_t k = send(P.peer, P.s + P.written, next_chunk(), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (P.trace)
			fprintf(stderr, "fuzz-conn: round %u: sent %zd bytes at %zu\n", P.rounds, k,
				P.written);
		if (k > 0) {
			P.written += (size_t)k;
			model_advance();
			moved = true;
		} else if (k < 0 && errno != EAGAIN) {
			CHECK(errno == EPIPE || errno == ECONNRESET); /* the worker closed */
			P.n = P.written;
		}
	} else if (!P.shut) {
		P.shut = moved = true;
		if (P.hangup) {
			close(P.peer);
			P.peer = -1;
			return true;
		}
		CHECK(shutdown(P.peer, SHUT_WR) == 0);
	}
	while (!P.eof && (!P.drain || got < P.drain)) {
		size_t room = P.drain ? P.drain - got : 65536;
		ssize_t k;

		CHECK(buf_reserve(&P.in, room) == 0);
		k = recv(P.peer, P.in.data + P.in.len, room, MSG_DONTWAIT);
		if (k < 0) {
			CHECK(errno == EAGAIN || errno == ECONNRESET);
			break;
		}
		if (k == 0) {
			P.eof = true;
			break;
		}
		P.in.len += (size_t)k;
		got += (size_t)k;
		moved = true;
	}
	check_answer();
	return moved;
}

int __real_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout);
int __wrap_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout);

int __wrap_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	bool moved = pump();
	int n;

	(void)timeout; /* the peer is us: nothing to wait for but what pump() did */
	if (P.drain_at && P.rounds == P.drain_at) {
		raise(SIGTERM); /* blocked: the worker's signalfd gets it, as in production */
		P.drained = true;
	}
	n = __real_epoll_wait(epfd, evs, max, 0);
	P.rounds++;
	if (P.rounds >= MAX_ROUNDS) {
		fprintf(stderr, "fuzz-conn: no end after %u poll rounds\n", P.rounds);
		CHECK(!"the worker loops");
	}
	P.idle = n > 0 || moved || !P.shut ? 0 : P.idle + 1;
	if (P.idle >= MAX_IDLE) {
		fprintf(stderr,
			"fuzz-conn: the peer sent everything and shut down, the worker still holds "
			"the connection and waits (%u rounds idle; in production until a timeout)\n",
			P.idle);
		CHECK(!"the worker waits for a peer that is done");
	}
	return n;
}

/*
 * The worker's log, through -Wl,--wrap=log_msg: a warning (a protocol
 * error, a limit, a peer gone) or a dropped request means that not every
 * request gets an answer; otherwise every one must.
 */
void __real_log_msg(int prio, const char *fmt, ...) SFCGI_FMT(2, 3);
void __wrap_log_msg(int prio, const char *fmt, ...) SFCGI_FMT(2, 3);

void __wrap_log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (prio <= LOG_WARNING || strstr(line, " dropped"))
		P.complained = true;
	__real_log_msg(prio, "%s", line);
}

/* Liveness: a peer that keeps to the protocol gets every request answered. */
static void check_all_answered(void)
{
	size_t last = P.nrecs;

	if (P.hangup || P.drained || P.complained || P.written < P.n)
		return;
	for (size_t i = 0; i < P.nrecs; i++)
		if (P.recs[i].type == FCGI_BEGIN_REQUEST && P.recs[i].id)
			last = i;
	for (size_t i = 0; i < P.nrecs; i++) {
		const struct mrec *m = &P.recs[i];

		/* without FCGI_KEEP_CONN the connection ends with that request */
		if (m->type == FCGI_BEGIN_REQUEST && m->id && i != last &&
		    (m->n != 8 || !(m->p[2] & FCGI_KEEP_CONN)))
			return;
	}
	if (P.trace)
		fprintf(stderr, "fuzz-conn: every request must have been answered\n");
	for (size_t i = 0; i < P.nrecs; i++) {
		const struct idstate *st = &P.ids[P.recs[i].id];

		if (P.recs[i].id && st->begins != st->ends) {
			fprintf(stderr, "fuzz-conn: request %u: %u BEGIN_REQUEST, %u END_REQUEST\n",
				P.recs[i].id, st->begins, st->ends);
			CHECK(!"a request of a well-behaved peer went unanswered");
		}
	}
}

/* The handler ------------------------------------------------------------- */

static uint8_t rbuf[70000];
static const size_t rsizes[4] = { 1, 97, 4096, sizeof rbuf };

static struct run *cur_run(void)
{
	return &P.runs[P.nruns - 1];
}

/* Records a write's outcome: its bytes are due, or (failed late) may be. */
static void wrote(bool err, const void *p, size_t n, ssize_t k)
{
	struct run *r = cur_run();

	if (k == (ssize_t)n) {
		CHECK(buf_append(err ? &r->err : &r->out, p, n) == 0);
		return;
	}
	CHECK(k == -ECONNABORTED);
	if (!buf_used(&r->maybe) && n) {
		/* Appended, then the flush that followed failed; later writes fail
		 * before appending anything. */
		CHECK(buf_append(&r->maybe, p, n) == 0);
		r->maybe_err = err;
	}
}

static void put(struct sfcgi_request *req, bool err, const void *p, size_t n)
{
	if (n > P.budget)
		n = P.budget;
	P.budget -= n;
	wrote(err, p, n, err ? sfcgi_write_err(req, p, n) : sfcgi_write(req, p, n));
}

static void fill(struct sfcgi_request *req, size_t n)
{
	static char pattern[70000];

	if (!pattern[0])
		for (size_t i = 0; i < sizeof pattern; i++)
			pattern[i] = (char)('a' + i % 26);
	put(req, false, pattern, n < sizeof pattern ? n : sizeof pattern);
}

/* Writing nothing writes nothing: no record, above all no empty one. */
static void zero_writes(struct sfcgi_request *req)
{
	int n;

	put(req, false, "", 0);
	put(req, true, "", 0);
	n = sfcgi_printf(req, "%s", "");
	CHECK(n == 0 || n == -ECONNABORTED);
}

/*
 * Reads a stream (body or DATA) in reads of `size` bytes, echoing them to
 * STDOUT if asked, until its end or an error (or just once). What is read
 * must be what the peer sent; all of it once the read says the end.
 */
static void read_stream(struct sfcgi_request *req, uint16_t id, bool data, size_t size, bool echo,
			bool once)
{
	struct buf got = { 0 };
	int role = sfcgi_role(req);

	for (;;) {
		ssize_t k = data ? sfcgi_read_data(req, rbuf, size) : sfcgi_read(req, rbuf, size);

		if (data && role != SFCGI_FILTER) {
			CHECK(k == -EINVAL);
			break;
		}
		CHECK(k <= (ssize_t)size);
		if (k > 0) {
			CHECK(buf_used(&got) + (size_t)k <= P.n);
			CHECK(buf_append(&got, rbuf, (size_t)k) == 0);
			CHECK(model_match(id, data ? FCGI_DATA : FCGI_STDIN, &got, false));
			if (echo)
				put(req, false, rbuf, (size_t)k);
			if (once)
				break;
			continue;
		}
		if (k == 0) {
			/* An Authorizer's input ends with PARAMS: its body has no end record. */
			CHECK(model_match(id, data ? FCGI_DATA : FCGI_STDIN, &got,
					  data || role != SFCGI_AUTHORIZER));
			/* the end stays the end */
			CHECK((data ? sfcgi_read_data(req, rbuf, 1) : sfcgi_read(req, rbuf, 1)) == 0);
		} else {
			CHECK(k == -ECONNABORTED || k == -EFBIG);
		}
		break;
	}
	buf_free(&got);
}

/*
 * Action bytes a, b of this run:
 *   a bits 0-1  body: 0 not read, 1 read to the end, 2 sfcgi_read_all(4096), 3 one read
 *   a bit 2     read DATA to the end (-EINVAL unless Filter)
 *   a bits 3-4  output: 0 a printf line (longer than 1 KiB for a & 7 >= 6),
 *               1 none, 2 5000 bytes, 3 70000 bytes
 *   a bit 5     a printf line on STDERR
 *   a bit 6     status (by a & 7) and headers (and refused ones)
 *   a bit 7     write before reading
 *   b bit 0     the handler calls sfcgi_finish() itself
 *   b bit 1     sfcgi_flush() after writing
 *   b bit 2     stop producing once sfcgi_aborted()
 *   b bit 3     sfcgi_read_all with max 16 (-EFBIG for longer bodies)
 *   b bits 4-5  read size: 1, 97, 4096, 70000
 *   b bit 6     echo what is read to STDOUT
 *   b bit 7     zero-length writes (STDOUT, STDERR, printf) before and after
 */
static void handle(struct sfcgi_request *req, uint16_t id)
{
	size_t k = (P.nruns - 1) % 8;
	uint8_t a = P.act[2 * k], b = P.act[2 * k + 1];
	int role = sfcgi_role(req), st, n;
	size_t rsize = rsizes[(b >> 4) & 3];
	struct run *r = cur_run();
	uint32_t status = RUN_TAG | (uint32_t)(P.nruns - 1);
	const char *v;
	size_t vl;

	CHECK(role >= SFCGI_RESPONDER && role <= SFCGI_FILTER);
	CHECK(model_params(req, id));
	st = sfcgi_param_get(req, "CONTENT_LENGTH", &v, &vl);
	CHECK(st == 0 || st == -ENOENT);
	CHECK(sfcgi_param(req, "") == NULL || sfcgi_param_get(req, "", &v, &vl) == 0);
	if (a & 0x40) {
		static const int statuses[8] = { 200, 204, 302, 304, 404, 413, 503, 999 };

		st = sfcgi_set_status(req, statuses[a & 7]);
		CHECK(st == 0);
		CHECK(sfcgi_set_status(req, 99) == -EINVAL);
		CHECK(sfcgi_add_header(req, "X-Fuzz", "1") == 0);
		CHECK(sfcgi_add_header(req, "Bad: name", "x") == -EINVAL);
		CHECK(sfcgi_add_header(req, "X", "a\r\nb") == -EINVAL);
		r->head = true;
	}
	if (a & 0x80) {
		char line[32];
		size_t len = (size_t)snprintf(line, sizeof line, "early %d\n", role);

		n = sfcgi_printf(req, "early %d\n", role);
		CHECK(n < 0 || n == (int)len);
		wrote(false, line, len, n);
		if (b & 2) {
			st = sfcgi_flush(req);
			CHECK(st == 0 || st == -ECONNABORTED);
		}
		if (a & 0x40) {
			/* the body has started, unless the write was refused at once */
			st = sfcgi_set_status(req, 500);
			CHECK(st == -EALREADY || (n < 0 && st == 0));
		}
	}
	if (b & 0x80)
		zero_writes(req);
	switch (a & 3) {
	case 1:
		read_stream(req, id, false, rsize, b & 0x40, false);
		break;
	case 2: {
		char *all = NULL;
		size_t len = 0, max = b & 8 ? 16 : 4096;

		st = sfcgi_read_all(req, max, &all, &len);
		if (st == 0) {
			struct buf got = { .data = (uint8_t *)all, .len = len, .cap = len + 1 };

			CHECK(len <= max && all[len] == 0);
			CHECK(model_match(id, FCGI_STDIN, &got, role != SFCGI_AUTHORIZER));
			free(all);
		} else {
			CHECK(st == -EFBIG || st == -ECONNABORTED);
			CHECK(all == NULL);
		}
		break;
	}
	case 3:
		read_stream(req, id, false, rsize, b & 0x40, true);
		break;
	}
	if (a & 4) {
		read_stream(req, id, true, rsize, b & 0x40, false);
		if (role == SFCGI_FILTER) /* DATA read: the rest of the body is dropped */
			CHECK(sfcgi_read(req, rbuf, 1) == 0);
	}
	if (!(b & 4) || sfcgi_aborted(req) == 0) {
		switch ((a >> 3) & 3) {
		case 0: {
			/* a printf; past 1 KiB it takes vprint()'s other path */
			int width = (a & 7) * 200;
			char line[1600];

			n = snprintf(line, sizeof line, "role=%d run=%zu %*s\n", role, P.nruns - 1,
				     width, "");
			if ((size_t)n > P.budget) {
				put(req, false, line, (size_t)n);
				break;
			}
			P.budget -= (size_t)n;
			st = sfcgi_printf(req, "role=%d run=%zu %*s\n", role, P.nruns - 1, width, "");
			CHECK(st < 0 || st == n);
			wrote(false, line, (size_t)n, st);
			break;
		}
		case 2:
			fill(req, 5000);
			break;
		case 3:
			fill(req, 70000);
			break;
		}
	}
	if (a & 0x20) {
		char line[32];

		n = snprintf(line, sizeof line, "stderr of run %zu\n", P.nruns - 1);
		if ((size_t)n <= P.budget) {
			P.budget -= (size_t)n;
			st = sfcgi_printf_err(req, "stderr of run %zu\n", P.nruns - 1);
			CHECK(st < 0 || st == n);
			wrote(true, line, (size_t)n, st);
		}
	}
	if (b & 0x80)
		zero_writes(req);
	if (b & 2) {
		st = sfcgi_flush(req);
		CHECK(st == 0 || st == -ECONNABORTED);
	}
	st = sfcgi_aborted(req);
	CHECK(st == 0 || st == 1);
	if (b & 1) {
		st = sfcgi_finish(req, (int)status);
		CHECK(st == 0 || st == -ECONNABORTED);
		return;
	}
	/* What sfcgi_main() does after the handler returns. */
	if (P.w->current) {
		st = sfcgi_finish(req, (int)status);
		CHECK(st == 0 || st == -ECONNABORTED);
	}
}

static void run_one(struct request *rq)
{
	struct sfcgi_request *req = request_handle(rq);
	struct run *r;

	if (P.nruns == P.runcap) {
		P.runcap = P.runcap ? 2 * P.runcap : 16;
		P.runs = realloc(P.runs, P.runcap * sizeof *P.runs);
		CHECK(P.runs);
	}
	r = &P.runs[P.nruns++];
	memset(r, 0, sizeof *r);
	r->id = rq->id;
	if (P.trace)
		fprintf(stderr, "fuzz-conn: round %u: handler run %zu for request %u (role %u)\n",
			P.rounds, P.nruns - 1, rq->id, rq->role);
	handle(req, r->id);
	CHECK(P.w->current == NULL);
}

/* The run ----------------------------------------------------------------- */

static void setup_once(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("FCGI_WEB_SERVER_ADDRS");
	log_init();
	if (!getenv("SFCGI_LOG_LEVEL"))
		log_set_level(LOG_ERR); /* malformed input is logged at warning: too much */
	P.ids = calloc(65536, sizeof *P.ids);
	CHECK(P.ids);
}

static void configure(const uint8_t *h)
{
	struct settings *s = &P.set;

	settings_defaults(s);
	s->max_reqs_per_conn = (uint32_t[]){ 1, 2, 4, 16 }[h[0] & 3];
	if (h[0] & 4)
		s->read_ahead = 4096;
	if (h[0] & 8)
		s->write_buffer = 4096;
	P.hangup = h[0] & 0x10;
	if (h[1])
		s->max_params_bytes = 256u + 16u * h[1];
	if (h[2])
		s->max_params = h[2];
	if (h[3])
		s->max_stdin_bytes = 32u * (h[3] - 1u);
	P.drain = 64u * h[4];
	P.drain_at = h[5];
	memcpy(P.act, h + 8, 16);
	memcpy(P.chunks, h + 24, 8);
}

static void cleanup(void)
{
	for (size_t i = 0; i < P.nrecs; i++) {
		struct idstate *st = &P.ids[P.recs[i].id];

		buf_free(&st->out);
		buf_free(&st->err);
		memset(st, 0, sizeof *st);
	}
	for (size_t i = 0; i < P.nruns; i++) {
		buf_free(&P.runs[i].out);
		buf_free(&P.runs[i].err);
		buf_free(&P.runs[i].maybe);
	}
	buf_free(&P.in);
	free(P.recs);
	free(P.runs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t h[HDR_LEN] = { 0 };
	struct worker w;
	sigset_t old, term;
	int sv[2];

	setup_once();
	if (size)
		memcpy(h, data, size < HDR_LEN ? size : HDR_LEN);
	{
		struct idstate *ids = P.ids;

		memset(&P, 0, sizeof P);
		P.ids = ids;
	}
	configure(h);
	P.trace = getenv("FUZZ_CONN_TRACE") != NULL;
	P.s = data + (size < HDR_LEN ? size : HDR_LEN);
	P.n = size - (size_t)(P.s - data);
	P.budget = OUT_BUDGET;
	model_parse();

	CHECK(sigprocmask(SIG_BLOCK, NULL, &old) == 0);
	CHECK(worker_init(&w, &P.set, NULL, 0) == 0); /* no listener: the connection is ours */
	P.w = &w;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	if (h[0] & 0x20)
		CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 4096 }, sizeof(int)) == 0);
	P.peer = sv[1];
	CHECK(conn_new(&w, sv[0]) != NULL);

	/* sfcgi_main()'s loop, with worker_poll() where sfcgi_accept() would block. */
	while (w.conns || w.ready_head) {
		struct request *rq;

		if (w.ready_head) {
			CHECK(worker_next(&w, &rq) == 1);
			run_one(rq);
			continue;
		}
		CHECK(worker_poll(&w, 0) >= 0);
	}
	worker_free(&w);
	CHECK(fcntl(sv[0], F_GETFD) < 0 && errno == EBADF); /* the worker closed it */

	if (P.peer >= 0) {
		/* The rest of the answer, to the end: no record may be cut short. */
		P.drain = 0;
		for (int i = 0; i < 1000 && !P.eof; i++) {
			P.written = P.n;
			P.shut = true;
			pump();
		}
		CHECK(P.eof);
		CHECK(buf_used(&P.in) == 0);
		close(P.peer);
		check_all_answered();
	}

	/* A SIGTERM raised but not read stays pending: take it before unblocking. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	while (sigtimedwait(&term, NULL, &(struct timespec){ 0 }) > 0)
		;
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	cleanup();
	return 0;
}
