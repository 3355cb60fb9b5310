/* SPDX-License-Identifier: MIT */
/*
 * One serving process: an epoll loop over the listening sockets, the
 * connections and a signalfd. Requests whose input is ready wait in a FIFO
 * and are handed out one at a time (worker_next); while a handler waits
 * for its peer (body not yet in, response not yet drained) the loop keeps
 * serving every other connection (worker_poll), so no peer blocks another.
 * With other workers on the same sockets, a worker holding work leaves new
 * connections to idle ones (it leaves the listening set), and one starting
 * a slow request passes its idle kept connections on to an idle worker, so
 * no request waits behind a handler while another worker is idle.
 */
#ifndef SFCGI_WORKER_H
#define SFCGI_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "settings.h"

struct conn;
struct request;

enum ev_kind { EV_LISTENER = 1, EV_CONN, EV_SIGNAL, EV_CHAN };

struct listener {
	int kind; /* EV_LISTENER: first, for epoll's data.ptr */
	int fd;
	bool tcp;
	bool polled;
};

struct worker {
	int epfd;
	int sigfd;
	int sig_kind; /* EV_SIGNAL, epoll tag of sigfd */
	int chan;     /* handoff channel to the supervisor, -1 = none */
	int chan_kind; /* EV_CHAN, epoll tag of chan */
	struct listener *listeners;
	size_t nlisteners;
	struct settings set;
	uint32_t nworkers; /* processes sharing the listeners, for FCGI_GET_VALUES */
	struct conn *conns; /* live connections */
	struct conn *graveyard; /* closed, freed once no request of theirs runs */
	uint32_t nconns;
	struct request *ready_head, *ready_tail;
	struct request *pool; /* released requests kept for reuse */
	uint32_t npool;
	int64_t now_ms;
	int64_t next_sweep_ms;
	bool draining;
	bool handoff;  /* draining for a successor: idle connections go to it */
	bool paused_listeners;
	int64_t room_ms; /* out at max_conns: when a connection may make room, 0 = none */
	bool dirty_heap; /* a connection came since the last malloc_trim() */
	uint64_t served;
	int64_t started_ms;      /* when the current request was handed out */
	uint32_t handler_ms;     /* recent handler durations (moving average) */
	struct request *current; /* handed to the application, until sfcgi_finish() */
	struct slot *slot;       /* our scoreboard line under a supervisor, else NULL */
	struct slot_stats *stats; /* and our counters beside it (wstats.h), else NULL */
	uint64_t max_requests;   /* recycle after this many (0 = never) */
	uint64_t watchdog_ms;    /* single process under systemd: WATCHDOG=1 every half */
	int64_t next_watchdog_ms;
	const char *allowed_addrs; /* FCGI_WEB_SERVER_ADDRS, NULL = any */
	int64_t starved_since;     /* accept() out of descriptors or memory since; 0 = not */
	int64_t starved_last;      /* its last failure */
	uint64_t starved_retries;  /* its attempts that failed again meanwhile */
	int starved_err;
	int spill_fd[2];         /* held body past request_memory, per stream (spill.h) */
	char *spill_dir;         /* where they are, for messages */
};

int64_t worker_clock_ms(void);

/* Takes ownership of the listening fds. 0 or negative errno. */
int worker_init(struct worker *w, const struct settings *set, const int *fds, size_t nfds);
void worker_free(struct worker *w);

/* One round: wait up to timeout_ms, handle what is ready, expire timeouts. */
int worker_poll(struct worker *w, int timeout_ms);

/* Next request with complete input: 1 and *ret, 0 once drained, <0 error. */
int worker_next(struct worker *w, struct request **ret);

/*
 * Stop accepting; finish what was begun; worker_next returns 0 when done.
 * With handoff (reload, recycling), connections without a request in
 * progress are passed to the supervisor for the next generation instead of
 * being closed: the web server never sees them go, so no request is lost.
 */
void worker_drain(struct worker *w, bool handoff);

/* Passes fd to the supervisor (SCM_RIGHTS). 0 or negative errno. */
int worker_handoff(struct worker *w, int fd);

void worker_enqueue(struct worker *w, struct request *r);
void worker_dequeue(struct worker *w, struct request *r);

/* A connection slot freed up: accept again if we had stopped at max_conns. */
void worker_conn_closed(struct worker *w);

/* Bookkeeping when the application finishes a request (scoreboard, recycling). */
void worker_request_done(struct worker *w);

/* Under a supervisor: publish to slot, answer request_timeout (SIGUSR2). */
void worker_attach_slot(struct worker *w, struct slot *slot);

#endif
