/* SPDX-License-Identifier: MIT */
/*
 * Shared memory between the supervisor and its workers (as Apache's and
 * php-fpm's scoreboards): one cache line per worker, written by the worker
 * with plain stores (no syscall per request), read by the supervisor on
 * its timer. Backed by a memfd so it survives the supervisor's re-exec on
 * reload: old workers keep writing, the new image maps the same pages.
 */
#ifndef SFCGI_SCOREBOARD_H
#define SFCGI_SCOREBOARD_H

#include <stdint.h>

#define SCOREBOARD_MAGIC 0x53464342u /* "SFCB" */
#define SCOREBOARD_SLOTS 2048         /* two generations of CONFIG_MAX_WORKERS */

enum slot_state {
	SLOT_FREE = 0,
	SLOT_STARTING, /* forked, running the app's init */
	SLOT_READY,    /* serving */
	SLOT_DRAINING, /* finishing what it holds, then exiting */
};

struct slot {
	int32_t pid;
	uint32_t generation;
	uint32_t state;     /* enum slot_state */
	uint32_t conns;     /* open connections */
	uint64_t served;    /* requests finished */
	int64_t busy_since; /* CLOCK_MONOTONIC ms when the running request began, 0 = idle */
	int64_t last_active; /* ms of the last request end or connection close */
	int32_t req_fd;      /* connection and id of the running request */
	uint16_t req_id;
	uint8_t req_clean;   /* nothing of its response written yet */
	uint8_t recycle;     /* exiting because of max_requests */
	int32_t sigsys;      /* seccomp: refused syscall number + 1, 0 = none */
	int32_t chan;        /* supervisor's end of the handoff channel, -1 = none */
	int32_t wchan;       /* the worker's end (meaningful in the worker only) */
	int32_t notif;       /* foreign: the supervisor's seccomp listener for the
			      * worker's filter (filter.c), -1 = none */
} __attribute__((aligned(64)));

/* Request duration histogram: upper bounds in ms of all but the last
 * bucket (+Inf); the per-bucket counts are not cumulative. */
#define SB_BUCKETS 12
#define SB_BUCKET_BOUNDS_MS { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 }

/*
 * Request counters (/metrics, /status: status.c). A worker adds to its own
 * slot's only (one writer: a relaxed load and store, no lock, no syscall);
 * the supervisor folds a worker's into the scoreboard's `exited` when it
 * reaps it, so that totals never go backwards.
 */
struct counters {
	uint64_t completed, aborted, timed_out, refused; /* requests, by outcome */
	uint64_t role[3];          /* requests begun, by role (responder, authorizer, filter) */
	uint64_t bytes_in, bytes_out;
	uint64_t accepted;         /* connections */
	uint64_t refused_allow;    /* connections refused: not in FCGI_WEB_SERVER_ADDRS */
	uint64_t refused_limit;    /* connections closed to make room at max_conns */
	uint64_t dur[SB_BUCKETS];  /* finished requests by duration (see SB_BUCKET_BOUNDS_MS) */
	uint64_t dur_sum_us;
};

/* Per worker, beside its slot (so that the slot stays one cache line). */
struct slot_stats {
	struct counters c;
	uint64_t last_duration_us;
	int64_t started_ns;  /* CLOCK_MONOTONIC ns when the running request began */
	/* Even: method and uri are whole; odd: the worker is writing them (a
	 * seqlock; seq / 2 numbers the worker's requests). */
	uint32_t seq;
	uint32_t slow_seq;   /* supervisor: the seq of the request it logged as slow */
	uint32_t restarts;   /* supervisor: restarts of this slot (kept across spawns) */
	char method[16];
	char uri[256];       /* the running request's REQUEST_URI, cut to fit */
} __attribute__((aligned(64)));

enum restart_cause {
	CAUSE_CRASH, CAUSE_SANDBOX, CAUSE_RECYCLE, CAUSE_TIMEOUT, CAUSE_HANG, CAUSE_OOM,
	CAUSE_EXIT, CAUSE_MAX
};

/* The supervisor's own counters (it alone writes them). */
struct sup_counters {
	struct counters exited;   /* of workers that have exited */
	uint64_t restarts[CAUSE_MAX];
	uint64_t reloads_ok, reloads_rolled_back;
	uint64_t slow;            /* requests logged as slow */
	uint64_t answered_503;    /* requests the supervisor answered itself (unavailable.h) */
	uint64_t listen_queue_max; /* the longest listen queue seen (statusdata.c) */
	int64_t start_realtime_ms; /* when this instance (PID) started */
};

struct scoreboard {
	uint32_t magic;
	uint32_t generation; /* the supervisor's current generation */
	uint64_t served_by_exited; /* requests served by workers that have exited */
	uint32_t hiwater;    /* slots [0, hiwater) have been used: loops stop there */
	uint8_t pad[44];
	struct slot slots[SCOREBOARD_SLOTS];
	/* Added after the slots: an image of an older layout maps a prefix. */
	struct sup_counters sup;
	struct slot_stats stats[SCOREBOARD_SLOTS];
};

_Static_assert(sizeof(struct slot) == 64, "one cache line per worker");

/* Creates (fd < 0) or maps an inherited memfd: 0, *ret and *ret_fd; or -errno. */
int scoreboard_map(int fd, struct scoreboard **ret, int *ret_fd);

#define SB_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define SB_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* A counter with one writer: a relaxed load and store, no locked instruction. */
#define SB_ADD(x, n) SB_STORE(x, SB_LOAD(x) + (n))

#endif
