/* SPDX-License-Identifier: MIT */
/*
 * The status socket: the supervisor answers FastCGI on it, from its own
 * loop, with what the scoreboard holds (/metrics, /status, /ping; see
 * docs/metrics.md and sfcgi.json(5) "status"). Any web server publishes it
 * with its own access rules.
 *
 * It never blocks the supervisor and a peer cannot make it hold more than
 * bounded memory: non-blocking sockets, at most STATUS_CONNS connections
 * (one more is accepted and closed at once), a request's params at most
 * STATUS_PARAMS_MAX bytes, each connection closed STATUS_TIMEOUT_MS after
 * it was opened or last answered, malformed records closed.
 */
#ifndef SFCGI_STATUS_H
#define SFCGI_STATUS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define STATUS_CONNS 64
#define STATUS_TIMEOUT_MS 2000 /* a web server sends its request at once */
#define STATUS_PARAMS_MAX 16384 /* nginx passes every request header: cookies */
#define STATUS_READ_MAX (1u << 20) /* bytes one connection may send */
#define STATUS_ACCEPT_BURST 64     /* connections accepted per turn of the loop */

struct status_conn {
	int fd;           /* -1: free */
	int64_t deadline; /* closed then */
	uint16_t req_id;
	uint8_t flags;    /* of its BEGIN_REQUEST (FCGI_KEEP_CONN) */
	bool begun;       /* a BEGIN_REQUEST was read, its answer not queued yet */
	bool closing;     /* answered without FCGI_KEEP_CONN: close once sent */
	uint8_t hdr[8];   /* the record header being read */
	uint8_t hlen;
	uint8_t type;
	uint16_t rid;     /* request id of the record being read */
	uint16_t clen;    /* its content length */
	uint16_t cread;   /* content bytes read so far */
	uint8_t plen;     /* its padding */
	uint8_t pread;
	uint8_t begin[8];
	size_t total;     /* bytes read from this connection */
	size_t nparams;
	uint8_t params[STATUS_PARAMS_MAX]; /* PARAMS (or GET_VALUES) content */
	struct buf out;
};

struct sup;

struct status {
	int fd;           /* the listening socket, -1 = none */
	struct status_conn c[STATUS_CONNS];
	uint64_t rejected; /* connections closed at once: STATUS_CONNS were open */
	int64_t resume_at; /* out of descriptors: not accepting until then, 0 = accepting */
	bool init;
};

/* fd: the listening socket (made non-blocking here), or -1. */
void status_init(struct status *st, int fd);
/* In a forked worker: closes everything of it. */
void status_close_all(struct status *st);
/* pollfds: the listening socket and every connection; returns how many. */
size_t status_pollfds(struct status *st, struct pollfd *p);
/* After poll: the work for fd (listening or a connection). */
void status_event(struct sup *s, struct status *st, int fd, short revents);
/* Closes connections past their deadline. */
void status_expire(struct status *st, int64_t now);

/* The answer for a request path: its body into body, content type into
 * *ret_type; 200, or 404 for an unknown path (statusdata.c). */
int status_answer(struct sup *s, const char *path, const char *accept, struct buf *body,
		  const char **ret_type);

#endif
