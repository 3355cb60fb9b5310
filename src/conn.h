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
	bool eof;         /* no more input: the peer shut down its sending side, or broke the protocol */
	bool dead;        /* closed: no more I/O */
	bool paused;      /* a request's body buffer is full: stop reading */
	bool close_after; /* close once the output is flushed and no request is left */
	bool fresh;       /* accepted, nothing received yet: work on its way (worker.c) */
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

/* Milliseconds until c's current deadline (<= 0: expired), or INT64_MAX. */
int64_t conn_deadline(const struct conn *c);

#endif
