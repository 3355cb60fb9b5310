/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's state, shared by supervisor.c (workers: spawn, reap,
 * restart, timeouts, idle exit, status) and reload.c (re-exec with the same
 * PID, then the new generation before the old one drains).
 */
#ifndef SFCGI_SUP_H
#define SFCGI_SUP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oom.h"
#include "progress.h"
#include "scoreboard.h"
#include "status.h"
#include "supervisor.h"
#include "unavailable.h"

enum phase { RUNNING, RELOADING, STOPPING };

struct local {
	int64_t restart_at; /* 0 = no restart pending */
	int64_t started;
	int64_t kill_at;    /* request_timeout: SIGKILL if still alive then */
	int64_t hung_since; /* killed as hung (foreign): connections waited from then on */
	int chan;           /* private copy of the slot's chan (see become_worker) */
	int notif;          /* and of its seccomp listener */
	int violation;      /* refused syscall + 1 when we killed it for one (refusal.c) */
	bool listener;      /* it passed its seccomp listener: refusals are named */
	uint32_t crashes;
	uint32_t unserved;  /* failures in a row of workers that never served: a loop */
	bool retired;       /* told to drain: not restarted */
};

struct sup {
	struct supervisor_opts *o;
	struct scoreboard *sb;
	int sbfd;
	int sigfd;
	uint32_t gen;
	enum phase phase;
	int64_t now;
	int64_t phase_since;
	int64_t idle_since;
	int64_t next_status;
	int64_t watchdog_usec, next_watchdog;
	bool ready_sent;
	bool old_told;       /* reload: the old generation was told to drain */
	int pending[1024];   /* handed-over connections waiting for a worker */
	size_t npending;
	size_t rr;           /* round robin over workers for handed-over connections */
	int64_t old_told_at;
	char status[512];
	/* Workers failing: the last failure of the current generation (for the
	 * log, STATUS= and the 503 body), and whether "failing" was said. */
	char fail_why[384];
	bool failing_said;
	uint32_t gen_failures;     /* failures of the current generation (reload: rollback) */
	int prev_config_fd;        /* reload: the previous image's config text, 0 = none */
	char reload_note[400];     /* after a rolled-back reload: why, in STATUS= */
	bool reload_again;         /* SIGHUP during a reload: one more once it is done */
	uint64_t reload_since;     /* the reload under way read the config after this
				    * (outcome_clock(); for its outcome) */
	bool answering;            /* no worker can serve: the supervisor answers 503 */
	struct unavailable unavail;
	struct local local[SCOREBOARD_SLOTS];
	struct progress progress; /* foreign: hang detection */
	sigset_t oldmask;
	int64_t next_sweep;      /* orphans.c: when to look for orphans next */
	int orphans;             /* children that are not workers, at the last look */
	int64_t workers_gone_at; /* stopping: when the last worker exited */
	struct oom oom;          /* OOM kills told from other SIGKILLs (oom.h) */
	char instance[256];      /* its name, for /status and the slow log ("" unknown) */
	uint64_t unavail_seen;   /* unavail.answered already in the scoreboard */
	int64_t next_queue;      /* when the listen queue is sampled next */
	struct status statsock;  /* the status socket (status.h) */
};

static inline struct slot *slot_of(struct sup *s, size_t i)
{
	return &s->sb->slots[i];
}

static inline bool alive(const struct slot *sl)
{
	return SB_LOAD(sl->pid) > 0;
}

/* Live workers of the current (or the old) generation, in `state` (0: any). */
size_t sup_count(struct sup *s, bool current, uint32_t state);
/* Sends sig to the current (or old) generation; anything but SIGKILL also
 * retires them (no restart). */
void sup_signal_gen(struct sup *s, bool current, int sig);

/* serving.c */
/* Workers of the current generation that have shown they serve (SLOT_READY). */
size_t sup_serving(struct sup *s);
/* Foreign workers past serve_grace_ms serve (SLOT_READY). */
void sup_promote(struct sup *s);
/* Why the current generation keeps failing before it serves, or NULL. */
const char *sup_failing(struct sup *s);
/* Says "failing" / "serving again" once each; answers 503 while no worker can. */
void sup_check_failing(struct sup *s);

/* Closes the slot's seccomp listener. */
void sup_close_notif(struct sup *s, struct slot *sl);

/* handoff.c: a worker's channel, and the connections handed over. */
void sup_set_chan(struct sup *s, struct slot *sl, int fd);
void sup_close_chan(struct sup *s, struct slot *sl);
/* Records fd as the slot's seccomp listener (-1: none); closes nothing. */
void sup_set_notif(struct sup *s, struct slot *sl, int fd);
/* Takes what sl's worker sent up; closes the channel once it is gone. */
void sup_receive(struct sup *s, struct slot *sl);
/* Queues a handed-over connection (closed, logged, when the queue is full). */
void sup_pend(struct sup *s, int fd);
/* Sends queued connections to workers that serve, idle ones first. */
void sup_dispatch(struct sup *s);

/* refusal.c */
/* The slot's seccomp listener is readable: a call its filter refused. */
void sup_refusal(struct sup *s, struct slot *sl);
/* Learning mode: the summary line, if calls were seen since the last one
 * (when: why now, for the line). */
void sup_learn_summary(struct sup *s, const char *when);
/* Learning mode: the summary once no new call came for a while. */
void sup_learn_tick(struct sup *s);

/* exitwhy.c */
/* What a worker killed by the OOM killer is told to do about it. */
#define OOM_HINT "give the instance more memory (MemoryMax= in a drop-in, systemctl edit; by " \
		 "hand, the cgroup's limit) or its requests less (\"request_memory\", " \
		 "sfcgi.json(5))"
/* Why the worker in sl ended (wait status), in buf; 1 if the kernel's OOM
 * killer killed it (then accounted for, oom.h). */
int sup_describe_exit(struct sup *s, int status, const struct slot *sl, bool expected,
		      char *buf, size_t len);

/* counters.c: the counters of /metrics and /status (status.h) */
/* A slot about to be spawned: its counters start at zero (its restarts stay). */
void sup_counters_spawn(struct sup *s, size_t i);
/* Its worker reaped: its counters join the totals. */
void sup_counters_reaped(struct sup *s, size_t i);
/* Its worker is replaced: the cause counted (status: its wait status). */
void sup_counters_restart(struct sup *s, size_t i, int status, bool oom);
/* "slow_request": one line per request past it (the worker logs its end). */
void sup_check_slow(struct sup *s);

/* At start: the status socket (SFCGI_STATUS_FD after a re-exec, else the
 * options'), out of the way of the listening sockets; the instance's name. */
void sup_status_setup(struct sup *s);
/* Each turn of the loop: slow requests, the listen queue's sample, deadlines. */
void sup_status_tick(struct sup *s);

/* STATUS= for systemd, when it changed (at most every STATUS_MS). */
void sup_report(struct sup *s);

/* statusdata.c */
struct snap;
/* The listen queue now (into sn, if not NULL), and its longest seen. */
void sup_sample_queue(struct sup *s, struct snap *sn);
/* The supervisor's own 503 answers into the scoreboard's totals. */
void sup_counters_sync(struct sup *s);

/* reload.c */
/* Listening sockets at 3.., the scoreboard right after (LISTEN_FDS layout);
 * inherited across exec with for_exec. 0 or -errno. */
int sup_place_fds(struct sup *s, bool for_exec);
/* SIGHUP: check the config, then re-execute; returns only if refused or failed (logged).
 * During a reload: remembered, one more reload follows (sup_reload_again). */
void sup_reload(struct sup *s);
/* Running again after a reload: the one asked for during it, if any. */
void sup_reload_again(struct sup *s);
/* After a re-exec: promotes the new generation, drains the old one. */
void sup_reload_progress(struct sup *s);

#endif
