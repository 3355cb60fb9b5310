/* SPDX-License-Identifier: MIT */
/*
 * One transport connection: input buffer parsed a whole record at a time
 * ("whole record or wait"), output buffer drained as the socket allows,
 * the requests multiplexed on it, and the timeouts that bound its peer.
 */
#ifndef SFCGI_CONN_H
#define SFCGI_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

struct worker;
struct request;

struct conn {
	int kind; /* EV_CONN: first, for epoll's data.ptr */
	int fd;
	struct worker *w;
	struct conn *prev, *next; /* worker's list */
	struct buf in, out;
	struct request *reqs; /* requests with this connection, any phase */
	uint32_t events;      /* epoll mask registered now */
	uint32_t running;     /* requests handed to the application */
	uint32_t served;      /* requests answered on this connection */
	int64_t opened_ms;
	int64_t last_io_ms;
	/* Overall deadlines (params_timeout, body_min_rate), which a trickle
	 * cannot stretch as it does read_timeout. Clocks start at the first
	 * byte of a request (accept for the first one) and at the end of its
	 * params; time the peer spends waiting on us (a full body buffer, a
	 * request queued or in the handler) moves them on (stall_ms). */
	int64_t req_start_ms;  /* the request now arriving began */
	int64_t body_clock_ms; /* its body began, 0 = no body arriving */
	int64_t stall_ms;      /* the peer waits on us since, 0 = it does not */
	uint64_t rx_bytes;     /* received on this connection */
	uint64_t req_rx0;      /* rx_bytes at req_start_ms */
	bool eof;         /* no more input: the peer shut down its sending side, or broke the protocol */
	bool dead;        /* closed: no more I/O */
	bool paused;      /* a request's body buffer is full: stop reading */
	bool close_after; /* close once the output is flushed and no request is left */
	bool fresh;       /* accepted, nothing received yet: work on its way (worker.c) */
	bool peer_turn;   /* the running handler waits for this peer's input */
};

/* Takes the accepted, non-blocking fd. NULL on allocation failure (fd closed). */
struct conn *conn_new(struct worker *w, int fd);

/* epoll reported events on c. */
void conn_event(struct conn *c, uint32_t events);

/* Sends what is buffered. 0, or -ECONNABORTED once the connection is gone. */
int conn_flush(struct conn *c);

/* Re-parses buffered input after a request drained its body buffer. */
void conn_resume(struct conn *c);

/* Re-checks the epoll mask and whether the connection is finished with. */
void conn_update(struct conn *c);

/* Nothing in progress: no request, nothing buffered either way, open both ways. */
bool conn_idle(const struct conn *c);

/* Passes an idle connection to the supervisor for another worker (what is
 * unread in the socket goes with it) and closes our copy: 0, or negative
 * errno with c kept (-EBUSY: not idle; -EAGAIN: the channel is full). */
int conn_pass_on(struct conn *c);

/* Closes the socket; why (or NULL for a normal close) is logged. */
void conn_close(struct conn *c, const char *why);

/* Frees a closed connection whose requests are all released. */
void conn_free(struct conn *c);

/* c's current deadline (worker clock), or INT64_MAX; *ret_what (if not
 * NULL) names it for the log ("params_timeout", ...). */
int64_t conn_deadline(const struct conn *c, const char **ret_what);

/*
 * The running handler waits for more of its input (true) or goes back to
 * work (false): only the time it waits counts against the body's minimum
 * rate. Returns, for true, the deadline of that wait (read_timeout or the
 * body's minimum rate, whichever comes first) with *ret_what naming it.
 */
int64_t conn_peer_turn(struct conn *c, bool waiting, const char **ret_what);

/* Eviction at max_conns (worker.c). A kept connection idle between
 * requests, or -1 if c is not one: when its last byte moved. */
int64_t conn_idle_since(const struct conn *c);

/* Bytes wait in c's socket, not read yet. */
bool conn_unread(const struct conn *c);

/* A request still arriving that no one but the peer waits for (nothing
 * queued, running or unsent): 1 with when it began and the bytes received
 * since, else 0. */
int conn_arriving(const struct conn *c, int64_t *ret_since, uint64_t *ret_bytes);

#endif
