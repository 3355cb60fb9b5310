/* SPDX-License-Identifier: MIT */
/*
 * loadgen — a FastCGI load generator, playing the part of nginx.
 *
 * Closed loop: each of --connections connections keeps --pipeline requests
 * outstanding and sends the next one as soon as an answer is complete.
 * Every request carries the parameters nginx's fastcgi_params sends (plus
 * a few HTTP_* headers) and, with --body, a POST body as STDIN records. An
 * answer is read record by record up to FCGI_END_REQUEST and counted as an
 * error unless protocolStatus is REQUEST_COMPLETE and some STDOUT came.
 *
 * Latencies (send of the first byte, or connect() with --no-keep-conn, to
 * END_REQUEST) go to a log-linear histogram in microseconds. "max wait" is
 * the longest any single request waited, counting the ones still without
 * an answer when the run ends: a connection the server never serves
 * (starvation) shows there even though it adds nothing to the histogram.
 *
 * Single-threaded epoll; --threads N splits the connections over N
 * threads, each with its own epoll set. Uses the project's pure codec
 * (src/fcgi.h) to encode requests and split answers into records.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"

#define MAX_PIPELINE 64
#define IN_CAP (2 * FCGI_MAX_RECORD)
#define RETRY_US 1000 /* back-off after a refused or failed connect */

/* Histogram: exact below 2^SUB_BITS+1 us, then 2^SUB_BITS buckets per octave. */
#define SUB_BITS 5
#define SUB (1u << SUB_BITS)
#define LINEAR (2 * SUB)
#define OCTAVES 40
#define NBUCKETS (LINEAR + OCTAVES * SUB)

struct hist {
	uint64_t n;
	uint64_t max;
	uint64_t count[NBUCKETS];
};

struct opts {
	const char *connect;
	unsigned conns;
	double duration, warmup;
	bool keep;
	size_t body;
	unsigned pipeline;
	unsigned threads;
	bool kv;
};

enum cstate { C_IDLE, C_CONNECTING, C_OPEN, C_RETRY };

struct lconn {
	int fd;
	enum cstate state;
	uint32_t events;
	uint8_t *in;
	size_t in_len;
	/* Output: whole requests queued by id, the first one partly sent. */
	uint16_t outq[MAX_PIPELINE];
	unsigned outq_n;
	size_t out_off;
	/* Per request id 1..pipeline: when it was sent (0 = not outstanding). */
	uint64_t sent_us[MAX_PIPELINE + 1];
	uint64_t stdout_bytes[MAX_PIPELINE + 1];
	unsigned outstanding;
	uint64_t retry_at_us;
	uint64_t done; /* answers counted in the measured window */
};

struct worker {
	const struct opts *o;
	struct lconn *conns;
	unsigned nconns;
	int epfd;
	uint64_t start_us, measure_us, end_us;
	bool measuring;
	struct hist h;
	uint64_t ok, errors, connects, refused, stderr_recs, max_wait_us;
	uint64_t err_status, err_empty, err_closed, err_proto, err_connect;
	pthread_t tid;
};

static struct sockaddr_storage target;
static socklen_t target_len;
static bool target_tcp;
/* Encoded request per request id (index 1..pipeline). */
static uint8_t *req_bytes[MAX_PIPELINE + 1];
static size_t req_len;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Histogram --------------------------------------------------------------- */

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < LINEAR)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* v in [2^e, 2^(e+1)), e >= SUB_BITS+1 */
	if (e - (SUB_BITS + 1) >= OCTAVES)
		return NBUCKETS - 1;
	return LINEAR + (e - (SUB_BITS + 1)) * SUB + (unsigned)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* Middle of a bucket: at most half a bucket (1.6%) from any value in it. */
static uint64_t bucket_value(unsigned b)
{
	unsigned e, sub;
	uint64_t lo, width;

	if (b < LINEAR)
		return b;
	e = (b - LINEAR) / SUB + SUB_BITS + 1;
	sub = (b - LINEAR) % SUB;
	width = 1ull << (e - SUB_BITS);
	lo = (1ull << e) + sub * width;
	return lo + width / 2;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->count[bucket_of(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *to, const struct hist *from)
{
	for (unsigned i = 0; i < NBUCKETS; i++)
		to->count[i] += from->count[i];
	to->n += from->n;
	if (from->max > to->max)
		to->max = from->max;
}

static uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->n)
		return 0;
	rank = (uint64_t)(q * (double)h->n + 0.5);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank) {
			uint64_t v = bucket_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* The request ---------------------------------------------------------------- */

static size_t put_pair(uint8_t *p, size_t cap, const char *name, const char *value)
{
	size_t n = fcgi_pair_encode(p, cap, name, strlen(name), value, strlen(value));

	if (!n) {
		fprintf(stderr, "loadgen: params do not fit\n");
		exit(2);
	}
	return n;
}

/*
 * What nginx sends for "POST /index.php?..." (or GET without a body) with
 * the stock fastcgi_params, as records padded to 8 bytes like nginx's.
 */
static void build_requests(const struct opts *o)
{
	uint8_t params[4096];
	char clen[32];
	size_t np = 0, cap;
	const char *method = o->body ? "POST" : "GET";
	const char *ctype = o->body ? "application/x-www-form-urlencoded" : "";
	uint8_t *body = NULL;

	if (o->body)
		snprintf(clen, sizeof clen, "%zu", o->body);
	else
		clen[0] = 0;
	np += put_pair(params + np, sizeof params - np, "SCRIPT_FILENAME", "/srv/www/app/index.php");
	np += put_pair(params + np, sizeof params - np, "QUERY_STRING", "page=1&sort=date&q=bench");
	np += put_pair(params + np, sizeof params - np, "REQUEST_METHOD", method);
	np += put_pair(params + np, sizeof params - np, "CONTENT_TYPE", ctype);
	np += put_pair(params + np, sizeof params - np, "CONTENT_LENGTH", clen);
	np += put_pair(params + np, sizeof params - np, "SCRIPT_NAME", "/index.php");
	np += put_pair(params + np, sizeof params - np, "REQUEST_URI",
		       "/index.php?page=1&sort=date&q=bench");
	np += put_pair(params + np, sizeof params - np, "DOCUMENT_URI", "/index.php");
	np += put_pair(params + np, sizeof params - np, "DOCUMENT_ROOT", "/srv/www/app");
	np += put_pair(params + np, sizeof params - np, "SERVER_PROTOCOL", "HTTP/1.1");
	np += put_pair(params + np, sizeof params - np, "REQUEST_SCHEME", "http");
	np += put_pair(params + np, sizeof params - np, "GATEWAY_INTERFACE", "CGI/1.1");
	np += put_pair(params + np, sizeof params - np, "SERVER_SOFTWARE", "nginx/1.22.1");
	np += put_pair(params + np, sizeof params - np, "REMOTE_ADDR", "192.0.2.17");
	np += put_pair(params + np, sizeof params - np, "REMOTE_PORT", "51234");
	np += put_pair(params + np, sizeof params - np, "SERVER_ADDR", "192.0.2.1");
	np += put_pair(params + np, sizeof params - np, "SERVER_PORT", "80");
	np += put_pair(params + np, sizeof params - np, "SERVER_NAME", "bench.example");
	np += put_pair(params + np, sizeof params - np, "REDIRECT_STATUS", "200");
	np += put_pair(params + np, sizeof params - np, "HTTP_HOST", "bench.example");
	np += put_pair(params + np, sizeof params - np, "HTTP_USER_AGENT",
		       "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0");
	np += put_pair(params + np, sizeof params - np, "HTTP_ACCEPT",
		       "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
	np += put_pair(params + np, sizeof params - np, "HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.5");
	np += put_pair(params + np, sizeof params - np, "HTTP_ACCEPT_ENCODING", "gzip, deflate");
	np += put_pair(params + np, sizeof params - np, "HTTP_CONNECTION", "keep-alive");

	if (o->body) {
		body = malloc(o->body);
		if (!body) {
			perror("loadgen: malloc");
			exit(2);
		}
		for (size_t i = 0; i < o->body; i++)
			body[i] = (uint8_t)('a' + i % 26);
	}
	cap = 16 + fcgi_stream_size(np) + FCGI_HEADER_LEN + (o->body ? fcgi_stream_size(o->body) : 0) +
	      FCGI_HEADER_LEN;
	for (unsigned id = 1; id <= o->pipeline; id++) {
		uint8_t *p = malloc(cap);
		size_t n = 0;

		if (!p) {
			perror("loadgen: malloc");
			exit(2);
		}
		n += fcgi_begin_request_encode(p, (uint16_t)id, FCGI_RESPONDER,
					       o->keep ? FCGI_KEEP_CONN : 0);
		/* Each stream, then its empty end-of-stream record. */
		n += fcgi_stream_encode(p + n, cap - n, FCGI_PARAMS, (uint16_t)id, params, np);
		n += fcgi_stream_encode(p + n, cap - n, FCGI_PARAMS, (uint16_t)id, NULL, 0);
		if (o->body)
			n += fcgi_stream_encode(p + n, cap - n, FCGI_STDIN, (uint16_t)id, body,
						o->body);
		n += fcgi_stream_encode(p + n, cap - n, FCGI_STDIN, (uint16_t)id, NULL, 0);
		if (n != cap) {
			fprintf(stderr, "loadgen: request encoding: %zu of %zu bytes\n", n, cap);
			exit(2);
		}
		req_bytes[id] = p;
		req_len = n;
	}
	free(body);
}

/* Address: /path or @abstract (unix), HOST:PORT or [V6]:PORT (TCP). */
static int resolve(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char host[256];
	const char *port;
	size_t hl;

	if (spec[0] == '/' || spec[0] == '@' || spec[0] == '.') {
		struct sockaddr_un *sa = (struct sockaddr_un *)&target;
		size_t n = strlen(spec);

		if (n >= sizeof sa->sun_path)
			return -ENAMETOOLONG;
		sa->sun_family = AF_UNIX;
		memcpy(sa->sun_path, spec, n);
		if (spec[0] == '@')
			sa->sun_path[0] = 0;
		target_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (spec[0] != '@'));
		return 0;
	}
	port = strrchr(spec, ':');
	if (!port)
		return -EINVAL;
	hl = (size_t)(port - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = 0;
	if (getaddrinfo(hl ? host : "127.0.0.1", port + 1, &hints, &res) != 0 || !res)
		return -EADDRNOTAVAIL;
	memcpy(&target, res->ai_addr, res->ai_addrlen);
	target_len = res->ai_addrlen;
	target_tcp = true;
	freeaddrinfo(res);
	return 0;
}

/* Connections --------------------------------------------------------------- */

static void set_events(struct worker *w, struct lconn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (ev == c->events)
		return;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &e) < 0) {
		perror("loadgen: epoll_ctl(MOD)");
		exit(2);
	}
	c->events = ev;
}

static void queue_request(struct lconn *c, uint16_t id, uint64_t t)
{
	c->sent_us[id] = t;
	c->stdout_bytes[id] = 0;
	c->outq[c->outq_n++] = id;
	c->outstanding++;
}

/* Sends what is queued; false if the connection failed. */
static bool flush_out(struct worker *w, struct lconn *c)
{
	while (c->outq_n) {
		const uint8_t *p = req_bytes[c->outq[0]];
		ssize_t n = send(c->fd, p + c->out_off, req_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return false;
		}
		c->out_off += (size_t)n;
		if (c->out_off == req_len) {
			c->out_off = 0;
			memmove(c->outq, c->outq + 1, (c->outq_n - 1) * sizeof c->outq[0]);
			c->outq_n--;
		}
	}
	set_events(w, c, EPOLLIN | (c->outq_n ? EPOLLOUT : 0));
	return true;
}

static void start_requests(struct worker *w, struct lconn *c, uint64_t t)
{
	unsigned n = w->o->keep ? w->o->pipeline : 1;

	for (unsigned id = 1; id <= n; id++)
		queue_request(c, (uint16_t)id, t);
}

static void account_wait(struct worker *w, uint64_t waited)
{
	if (w->measuring && waited > w->max_wait_us)
		w->max_wait_us = waited;
}

/*
 * Drops the connection and retries soon; each outstanding request counts as
 * an error (one at least: a kept connection the server closes is one too).
 */
static void conn_fail(struct worker *w, struct lconn *c, uint64_t t, uint64_t *reason)
{
	uint64_t lost = 0;

	for (unsigned id = 1; id <= MAX_PIPELINE; id++) {
		if (!c->sent_us[id])
			continue;
		account_wait(w, t - c->sent_us[id]);
		c->sent_us[id] = 0;
		lost++;
	}
	if (w->measuring) {
		lost += !lost;
		w->errors += lost;
		*reason += lost;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->outstanding = c->outq_n = 0;
	c->out_off = c->in_len = 0;
	c->state = C_RETRY;
	c->retry_at_us = t + RETRY_US;
}

static void conn_open(struct worker *w, struct lconn *c, uint64_t t)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("loadgen: socket");
		exit(2);
	}
	if (target_tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	c->fd = fd;
	c->in_len = c->out_off = 0;
	c->outq_n = c->outstanding = 0;
	w->connects++;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		perror("loadgen: epoll_ctl(ADD)");
		exit(2);
	}
	c->events = e.events;
	/* With --no-keep-conn the latency clock starts at connect(). */
	start_requests(w, c, t);
	if (connect(fd, (struct sockaddr *)&target, target_len) == 0) {
		c->state = C_OPEN;
		if (!flush_out(w, c))
			conn_fail(w, c, t, &w->err_closed);
		return;
	}
	if (errno == EINPROGRESS) {
		c->state = C_CONNECTING;
		return;
	}
	if (errno == EAGAIN) {
		/* Unix listener's backlog is full: not an error, try again soon. */
		w->refused++;
		for (unsigned id = 1; id <= MAX_PIPELINE; id++)
			if (c->sent_us[id]) {
				account_wait(w, t - c->sent_us[id]);
				c->sent_us[id] = 0;
			}
		close(fd);
		c->fd = -1;
		c->state = C_RETRY;
		c->retry_at_us = t + RETRY_US;
		return;
	}
	conn_fail(w, c, t, &w->err_connect);
}

/* One record of an answer. false: the connection is done with (or broken). */
static bool on_record(struct worker *w, struct lconn *c, const struct fcgi_record *rec,
		      uint64_t t, bool *closed)
{
	uint16_t id = rec->request_id;
	uint32_t app_status;
	uint8_t pstatus;

	if (id < 1 || id > MAX_PIPELINE || !c->sent_us[id]) {
		conn_fail(w, c, t, &w->err_proto);
		return false;
	}
	switch (rec->type) {
	case FCGI_STDOUT:
		c->stdout_bytes[id] += rec->content_length;
		return true;
	case FCGI_STDERR:
		if (rec->content_length && w->measuring)
			w->stderr_recs++;
		return true;
	case FCGI_END_REQUEST:
		break;
	default:
		conn_fail(w, c, t, &w->err_proto);
		return false;
	}
	if (fcgi_end_body_decode(rec, &app_status, &pstatus) < 0) {
		conn_fail(w, c, t, &w->err_proto);
		return false;
	}
	account_wait(w, t - c->sent_us[id]);
	if (w->measuring) {
		if (pstatus != FCGI_REQUEST_COMPLETE) {
			w->errors++;
			w->err_status++;
		} else if (!c->stdout_bytes[id]) {
			w->errors++;
			w->err_empty++;
		} else {
			w->ok++;
			c->done++;
			hist_add(&w->h, t - c->sent_us[id]);
		}
	}
	c->sent_us[id] = 0;
	c->outstanding--;
	if (!w->o->keep) {
		/* The server closes too; we do not wait for its FIN. */
		if (target_tcp)
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER,
				   &(struct linger){ .l_onoff = 1, .l_linger = 0 },
				   sizeof(struct linger));
		close(c->fd);
		c->fd = -1;
		c->state = C_IDLE;
		*closed = true;
		if (t < w->end_us)
			conn_open(w, c, t);
		return false;
	}
	if (t < w->end_us)
		queue_request(c, id, t);
	return true;
}

static void on_readable(struct worker *w, struct lconn *c, uint64_t t)
{
	for (;;) {
		size_t off = 0;
		bool closed = false;
		size_t room = IN_CAP - c->in_len;
		ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_fail(w, c, t, &w->err_closed);
			return;
		}
		if (n == 0) {
			conn_fail(w, c, t, &w->err_closed);
			return;
		}
		c->in_len += (size_t)n;
		while (off < c->in_len) {
			struct fcgi_record rec;
			ssize_t k = fcgi_record_decode(c->in + off, c->in_len - off, &rec);

			if (k == 0)
				break;
			if (k < 0) {
				conn_fail(w, c, t, &w->err_proto);
				return;
			}
			off += (size_t)k;
			if (!on_record(w, c, &rec, t, &closed))
				return; /* closed, failed or reopened: the rest is moot */
		}
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
		if ((size_t)n < room)
			break; /* drained the socket for now */
	}
	if (c->outq_n && !flush_out(w, c))
		conn_fail(w, c, t, &w->err_closed);
}

static void on_event(struct worker *w, struct lconn *c, uint32_t ev, uint64_t t)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			conn_fail(w, c, t, &w->err_connect);
			return;
		}
		c->state = C_OPEN;
	}
	if (c->state != C_OPEN)
		return;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		on_readable(w, c, t);
		if (c->state != C_OPEN || c->fd < 0)
			return;
	}
	if ((ev & EPOLLOUT) && !flush_out(w, c))
		conn_fail(w, c, t, &w->err_closed);
}

static void reset_stats(struct worker *w)
{
	memset(&w->h, 0, sizeof w->h);
	w->ok = w->errors = w->stderr_recs = w->max_wait_us = 0;
	w->err_status = w->err_empty = w->err_closed = w->err_proto = w->err_connect = 0;
	w->refused = 0;
	for (unsigned i = 0; i < w->nconns; i++)
		w->conns[i].done = 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	uint64_t t = now_us();

	w->measuring = w->measure_us <= t;
	for (unsigned i = 0; i < w->nconns; i++)
		conn_open(w, &w->conns[i], t);
	for (;;) {
		uint64_t next = w->measuring ? w->end_us : w->measure_us;
		bool retrying = false;
		int timeout, n;

		for (unsigned i = 0; i < w->nconns; i++)
			retrying |= w->conns[i].state == C_RETRY;
		if (retrying && t + RETRY_US < next)
			next = t + RETRY_US;
		timeout = next > t ? (int)((next - t + 999) / 1000) : 0;
		n = epoll_wait(w->epfd, evs, (int)(sizeof evs / sizeof evs[0]), timeout);
		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_wait");
			exit(2);
		}
		t = now_us();
		if (!w->measuring && t >= w->measure_us) {
			reset_stats(w);
			w->measuring = true;
		}
		for (int i = 0; i < n; i++)
			on_event(w, evs[i].data.ptr, evs[i].events, t);
		if (t >= w->end_us)
			break;
		for (unsigned i = 0; i < w->nconns; i++) {
			struct lconn *c = &w->conns[i];

			if (c->state == C_RETRY && t >= c->retry_at_us)
				conn_open(w, c, t);
		}
	}
	/* Whatever is still unanswered waited at least this long. */
	for (unsigned i = 0; i < w->nconns; i++) {
		struct lconn *c = &w->conns[i];

		for (unsigned id = 1; id <= MAX_PIPELINE; id++)
			if (c->sent_us[id] && c->sent_us[id] < t)
				account_wait(w, t - c->sent_us[id]);
		if (c->fd >= 0)
			close(c->fd);
	}
	return NULL;
}

/* Command line and report ------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: loadgen --connect ADDR [OPTION]...\n"
		"A closed-loop FastCGI load generator (nginx-like requests).\n\n"
		"  -c, --connect ADDR     /path.sock, @abstract or HOST:PORT\n"
		"  -n, --connections N    concurrent connections (default 8)\n"
		"  -d, --duration S       measured seconds (default 5)\n"
		"  -w, --warmup S         seconds of load before measuring (default 1)\n"
		"  -k, --keep-conn        FCGI_KEEP_CONN: many requests per connection (default)\n"
		"  -K, --no-keep-conn     a new connection per request\n"
		"  -b, --body BYTES       POST body of BYTES sent as STDIN (default 0: GET)\n"
		"  -p, --pipeline N       requests outstanding per connection, ids 1..N\n"
		"                         (default 1; N > 1 needs a multiplexing server)\n"
		"  -t, --threads N        split the connections over N threads (default 1)\n"
		"      --kv               one key=value line instead of the report\n"
		"  -h, --help\n");
}

static double parse_num(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "loadgen: %s %s: expected a number in %g..%g\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "connections", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "keep-conn", no_argument, NULL, 'k' },
		{ "no-keep-conn", no_argument, NULL, 'K' },
		{ "body", required_argument, NULL, 'b' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "kv", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	*o = (struct opts){ .conns = 8, .duration = 5, .warmup = 1, .keep = true, .pipeline = 1,
			    .threads = 1 };
	while ((ch = getopt_long(argc, argv, "c:n:d:w:kKb:p:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->connect = optarg;
			break;
		case 'n':
			o->conns = (unsigned)parse_num("--connections", optarg, 1, 100000);
			break;
		case 'd':
			o->duration = parse_num("--duration", optarg, 0.1, 86400);
			break;
		case 'w':
			o->warmup = parse_num("--warmup", optarg, 0, 3600);
			break;
		case 'k':
			o->keep = true;
			break;
		case 'K':
			o->keep = false;
			break;
		case 'b':
			o->body = (size_t)parse_num("--body", optarg, 0, 64 << 20);
			break;
		case 'p':
			o->pipeline = (unsigned)parse_num("--pipeline", optarg, 1, MAX_PIPELINE);
			break;
		case 't':
			o->threads = (unsigned)parse_num("--threads", optarg, 1, 1024);
			break;
		case 'v':
			o->kv = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (!o->connect || optind < argc) {
		usage(stderr);
		exit(2);
	}
	if (!o->keep)
		o->pipeline = 1;
	if (o->threads > o->conns)
		o->threads = o->conns;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct worker *ws, total = { 0 };
	struct lconn *conns;
	uint64_t t0, cmin = UINT64_MAX, cmax = 0;
	double secs;
	int r;

	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if ((r = resolve(o.connect)) < 0) {
		fprintf(stderr, "loadgen: --connect %s: %s\n", o.connect, strerror(-r));
		return 2;
	}
	build_requests(&o);
	conns = calloc(o.conns, sizeof *conns);
	ws = calloc(o.threads, sizeof *ws);
	if (!conns || !ws) {
		perror("loadgen: calloc");
		return 2;
	}
	for (unsigned i = 0; i < o.conns; i++) {
		conns[i].fd = -1;
		conns[i].in = malloc(IN_CAP);
		if (!conns[i].in) {
			perror("loadgen: malloc");
			return 2;
		}
	}
	t0 = now_us();
	for (unsigned i = 0, first = 0; i < o.threads; i++) {
		struct worker *w = &ws[i];
		unsigned n = o.conns / o.threads + (i < o.conns % o.threads);

		w->o = &o;
		w->conns = conns + first;
		w->nconns = n;
		first += n;
		w->start_us = t0;
		w->measure_us = t0 + (uint64_t)(o.warmup * 1e6);
		w->end_us = w->measure_us + (uint64_t)(o.duration * 1e6);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0) {
			perror("loadgen: epoll_create1");
			return 2;
		}
		if (o.threads == 1) {
			run(w);
		} else if ((r = pthread_create(&w->tid, NULL, run, w)) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n", strerror(r));
			return 2;
		}
	}
	for (unsigned i = 0; i < o.threads; i++) {
		struct worker *w = &ws[i];

		if (o.threads > 1)
			pthread_join(w->tid, NULL);
		hist_merge(&total.h, &w->h);
		total.ok += w->ok;
		total.errors += w->errors;
		total.connects += w->connects;
		total.refused += w->refused;
		total.stderr_recs += w->stderr_recs;
		total.err_status += w->err_status;
		total.err_empty += w->err_empty;
		total.err_closed += w->err_closed;
		total.err_proto += w->err_proto;
		total.err_connect += w->err_connect;
		if (w->max_wait_us > total.max_wait_us)
			total.max_wait_us = w->max_wait_us;
		close(w->epfd);
	}
	for (unsigned i = 0; i < o.conns; i++) {
		if (conns[i].done < cmin)
			cmin = conns[i].done;
		if (conns[i].done > cmax)
			cmax = conns[i].done;
	}
	secs = o.duration;
	if (o.kv) {
		printf("rps=%.0f requests=%llu errors=%llu p50_us=%llu p99_us=%llu p999_us=%llu "
		       "max_us=%llu max_wait_us=%llu conn_min=%llu conn_max=%llu\n",
		       (double)total.ok / secs, (unsigned long long)total.ok,
		       (unsigned long long)total.errors,
		       (unsigned long long)hist_quantile(&total.h, 0.50),
		       (unsigned long long)hist_quantile(&total.h, 0.99),
		       (unsigned long long)hist_quantile(&total.h, 0.999),
		       (unsigned long long)total.h.max, (unsigned long long)total.max_wait_us,
		       (unsigned long long)cmin, (unsigned long long)cmax);
	} else {
		printf("loadgen: %s, %u connection(s)%s, pipeline %u, body %zu bytes, %u thread(s), "
		       "%.1f s measured after %.1f s warmup\n",
		       o.connect, o.conns, o.keep ? " kept" : ", new one per request", o.pipeline,
		       o.body, o.threads, o.duration, o.warmup);
		printf("  requests    %llu ok (%.0f/s), %llu errors (status %llu, empty %llu, "
		       "closed %llu, protocol %llu, connect %llu), %llu STDERR records\n",
		       (unsigned long long)total.ok, (double)total.ok / secs,
		       (unsigned long long)total.errors, (unsigned long long)total.err_status,
		       (unsigned long long)total.err_empty, (unsigned long long)total.err_closed,
		       (unsigned long long)total.err_proto, (unsigned long long)total.err_connect,
		       (unsigned long long)total.stderr_recs);
		printf("  latency us  p50 %llu  p99 %llu  p99.9 %llu  max %llu\n",
		       (unsigned long long)hist_quantile(&total.h, 0.50),
		       (unsigned long long)hist_quantile(&total.h, 0.99),
		       (unsigned long long)hist_quantile(&total.h, 0.999),
		       (unsigned long long)total.h.max);
		printf("  max wait    %.1f ms (longest any request waited, unanswered ones included)\n",
		       (double)total.max_wait_us / 1000.0);
		printf("  per conn    %llu..%llu answers; %llu connects, %llu refused (backlog full)\n",
		       (unsigned long long)cmin, (unsigned long long)cmax,
		       (unsigned long long)total.connects, (unsigned long long)total.refused);
	}
	for (unsigned i = 0; i < o.conns; i++)
		free(conns[i].in);
	for (unsigned id = 1; id <= o.pipeline; id++)
		free(req_bytes[id]);
	free(conns);
	free(ws);
	return total.errors ? 1 : 0;
}
