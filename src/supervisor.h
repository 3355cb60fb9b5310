/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: holds the listening sockets, keeps `workers` prefork
 * processes, restarts crashed ones with backoff, recycles them after
 * max_requests, replaces a worker stuck past request_timeout (foreign
 * programs: all workers, when none moves while connections wait; see
 * progress.h), exits when idle (socket activation brings it back), pets
 * the watchdog, and reloads on SIGHUP by re-executing itself with the same
 * PID, sockets and scoreboard: the new generation starts, then the old one
 * drains.
 */
#ifndef SFCGI_SUPERVISOR_H
#define SFCGI_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slot;

struct supervisor_opts {
	uint32_t workers;
	uint64_t max_requests;
	uint32_t idle_timeout_ms;
	uint32_t request_timeout_ms;
	uint32_t hang_timeout_ms; /* foreign: every worker without progress this long while
				   * connections wait is killed (progress.h); 0 = never */
	uint32_t drain_timeout_ms;
	bool socket_activated;   /* the sockets came from systemd: idle exit allowed */
	bool lockdown;           /* the supervisor's own seccomp deny-list */
	bool handoff;            /* native workers: pass connections on at reload */
	bool notify;             /* workers pass their seccomp listener (filter.c) over the
				  * channel: refused calls are named, and the caller (the
				  * worker or a program it runs) killed (refusal.c) */
	bool learning;           /* "on_violation": "log": notified calls go through,
				  * each logged once, with a summary (refusal.c) */
	int drain_signal;        /* what tells the old generation to drain on reload */
	bool exit_is_recycle;    /* foreign: a clean exit (status 0) is the program's own
				  * choice (a request limit such as PHP_FCGI_MAX_REQUESTS,
				  * an error page): replaced at once, never a failure */
	uint32_t serve_grace_ms; /* foreign: a worker that has lived this long serves (it
				  * cannot say so itself); 0 = workers say so
				  * (supervisor_worker_ready) */
	int config_fd;           /* foreign: this image's config text (a memfd), kept by
				  * the next image to roll a failed reload back; 0 = none */
	uint32_t sandbox_allow;  /* groups the workers have: violation hints skip them */
	char *const *sandbox_syscalls; /* the config's "syscalls", for learning's summary */
	const int *conns;        /* connections from systemd's fd store, for the workers */
	size_t nconns;
	int *fds;                /* listening sockets; moved to 3.. (updated here) */
	size_t nfds;
	const char *fdname;      /* their FileDescriptorName=, for the re-exec */
	const char *config_path; /* validated again before a reload, NULL if none */
	const char *program;     /* foreign: the program, for log lines */
	int status_fd;           /* the status socket (status.h), 0 or -1 = none */
	uint32_t slow_request_ms; /* "slow_request": logged past this; 0 = never */
	char *const *argv;       /* to re-execute on reload */
};

/*
 * Runs the supervisor loop. Returns 1 in each forked worker, with
 * *ret_slot its scoreboard slot; in the supervisor itself it never returns
 * but exits the process (status 0 after a clean stop or idle exit).
 * Returns a negative errno if it could not start (logged).
 */
int supervisor_run(struct supervisor_opts *o, struct slot **ret_slot);

/* For the worker: its counters beside its slot (wstats.h). */
struct slot_stats *supervisor_slot_stats(const struct slot *slot);

/* For the worker: tells the supervisor this worker serves now. */
void supervisor_worker_ready(struct slot *slot);

/* In a worker: whether another worker of its generation serves and runs no
 * request right now, with empty: and holds no connection either (the
 * shared scoreboard; a hint, it may change at once). */
bool supervisor_other_idle(const struct slot *self, bool empty);

#endif
