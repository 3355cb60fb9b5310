/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's own FastCGI answer while no worker can serve (every one
 * crash-looping or backing off): waiting connections get "Status: 503" with
 * a short reason at once, instead of hanging in the listening socket's
 * backlog until the web server's timeout. Accepting stops as soon as a
 * worker can serve again.
 *
 * Bounded: at most UNAVAILABLE_CONNS connections at a time (the rest stay in
 * the backlog), each read record by record without keeping what it sends
 * (the request's records are only parsed far enough to find its id and its
 * end), and each closed after UNAVAILABLE_TIMEOUT_MS whatever its state.
 * Everything is non-blocking: the supervisor's loop never waits on a peer.
 */
#ifndef SFCGI_UNAVAILABLE_H
#define SFCGI_UNAVAILABLE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gate.h"

#define UNAVAILABLE_CONNS 32
#define UNAVAILABLE_TIMEOUT_MS 2000
#define UNAVAILABLE_READ_MAX (1u << 20) /* a request body past this is not read to its end */

struct unavailable_conn {
	int fd;             /* -1: free */
	int64_t deadline;   /* closed then, answered or not */
	uint16_t req_id;
	bool begun;         /* its FCGI_BEGIN_REQUEST was read */
	bool answered;      /* the answer is in out (maybe partly sent) */
	uint8_t hdr[8];     /* the record header being read */
	uint8_t hlen;
	uint8_t type;       /* of the record whose content is being read */
	uint32_t left;      /* content + padding of that record still to read */
	uint32_t begin_at;  /* BEGIN_REQUEST: content bytes read so far */
	size_t total;       /* bytes read from this connection */
	uint8_t out[768];
	uint16_t olen, ooff;
};

struct unavailable {
	struct unavailable_conn c[UNAVAILABLE_CONNS];
	uint64_t answered;  /* requests answered 503 since start */
	struct gate *gate;  /* who may be answered (gate.h); NULL = anyone */
	bool init;
};

/*
 * Accepts what waits on listening socket fd (non-blocking, whatever the
 * socket's own mode: the workers share it and block in accept) while
 * there is room; each connection is then answered 503 with `reason` in the
 * body. now: CLOCK_MONOTONIC ms.
 */
void unavailable_accept(struct unavailable *u, int fd, int64_t now, const char *reason);

/* Whether there is room for one more connection. */
bool unavailable_room(const struct unavailable *u);

/* Adds the open connections to p (at most UNAVAILABLE_CONNS); returns how many. */
size_t unavailable_pollfds(struct unavailable *u, struct pollfd *p);

/* Work for connection fd after poll said revents (reading, answering, closing). */
void unavailable_event(struct unavailable *u, int fd, short revents, const char *reason);

/* Closes connections past their deadline. */
void unavailable_expire(struct unavailable *u, int64_t now);

#endif
