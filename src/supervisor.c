/* SPDX-License-Identifier: MIT */
/*
 * Prefork supervision. State lives in three places: the scoreboard (shared
 * with the workers, survives re-exec), `local` (restart bookkeeping, this
 * image only) and `phase` (RUNNING, RELOADING, STOPPING); struct sup (sup.h)
 * holds them. Reload (re-exec, generations) is in reload.c.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "activation.h"
#include "fdpass.h"
#include "heap.h"
#include "log.h"
#include "nofile.h"
#include "orphans.h"
#include "outcome.h"
#include "progress.h"
#include "sandbox.h"
#include "scoreboard.h"
#include "worker.h"
#include "layout.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define STABLE_MS 10000    /* a worker that lived this long resets the backoff */
#define KILL_GRACE_MS 2000 /* after the request_timeout signal, SIGKILL */
#define SWEEP_MS 250       /* orphans looked for this often, and at each reap */
#define ORPHAN_WAIT_MS 5000 /* stopping: how long killed orphans may take to go */
#define EXIT0_MIN_LIFE_MS 100 /* a slot starts at most 10 programs a second that exit 0 */

size_t sup_count(struct sup *s, bool current, uint32_t state)
{
	size_t n = 0;

	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (alive(sl) && (SB_LOAD(sl->generation) == s->gen) == current &&
		    (!state || SB_LOAD(sl->state) == state))
			n++;
	}
	return n;
}

/* The scoreboard as a worker sees it (supervisor_other_idle). */
static struct scoreboard *worker_board;

bool supervisor_other_idle(const struct slot *self, bool empty)
{
	struct scoreboard *sb = worker_board;
	uint32_t gen = SB_LOAD(self->generation);

	if (!sb)
		return false;
	for (size_t i = 0; i < SB_LOAD(sb->hiwater) && i < SCOREBOARD_SLOTS; i++) {
		const struct slot *sl = &sb->slots[i];

		if (sl != self && alive(sl) && SB_LOAD(sl->generation) == gen &&
		    SB_LOAD(sl->state) == SLOT_READY && !SB_LOAD(sl->busy_since) &&
		    (!empty || !SB_LOAD(sl->conns)))
			return true;
	}
	return false;
}

WORKER_TEXT struct slot_stats *supervisor_slot_stats(const struct slot *slot)
{
	return worker_board ? &worker_board->stats[slot - worker_board->slots] : NULL;
}

WORKER_TEXT uint64_t *supervisor_refused_allow(void)
{
	return worker_board ? &worker_board->refused_allow : NULL;
}

/* In the child: back to a plain process that serves. */
WORKER_TEXT static void become_worker(struct sup *s, struct slot *sl)
{
	sigset_t all;

	log_worker(); /* its lines name it: under journald they carry our _PID */
	orphans_worker_init(); /* a session of its own, which names it (orphans.c) */
	close(s->sigfd);
	close(s->sbfd); /* the mapping stays */
	/* The other workers' channels, from our private copy of the table: the
	 * shared slots may already name descriptors opened after the fork. */
	for (size_t i = 0; i < s->sb->hiwater; i++)
		if (slot_of(s, i) != sl && s->local[i].chan > 0)
			close(s->local[i].chan);
	for (size_t i = 0; i < s->sb->hiwater; i++)
		if (s->local[i].notif > 0)
			close(s->local[i].notif);
	for (size_t i = 0; i < s->npending; i++)
		close(s->pending[i]);
	for (size_t i = 0; s->unavail.init && i < UNAVAILABLE_CONNS; i++)
		if (s->unavail.c[i].fd >= 0)
			close(s->unavail.c[i].fd);
	if (s->prev_config_fd > 0)
		close(s->prev_config_fd);
	if (s->o->config_fd > 0)
		close(s->o->config_fd);
	if (s->oom.fd >= 0)
		close(s->oom.fd);
	status_close_all(&s->statsock);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	/* The supervisor gone (SIGKILL), the worker drains instead of lingering. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	SB_STORE(sl->pid, (int32_t)getpid());
	worker_board = s->sb;
}

WORKER_TEXT static int spawn(struct sup *s, size_t i, struct slot **ret_slot)
{
	struct slot *sl = slot_of(s, i);
	struct local *l = &s->local[i];
	pid_t pid;

	int sv[2] = { -1, -1 };

	memset(sl, 0, sizeof *sl);
	sup_counters_spawn(s, i);
	if (i >= s->sb->hiwater)
		s->sb->hiwater = (uint32_t)i + 1;
	SB_STORE(sl->generation, s->gen);
	SB_STORE(sl->state, (uint32_t)SLOT_STARTING);
	SB_STORE(sl->last_active, s->now);
	if ((s->o->handoff || s->o->notify) &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		log_warning(s->o->handoff ? "handoff channel: %m; this worker's connections close "
					    "on reload"
					  : "seccomp listener channel: %m; a system call refused "
					    "to this worker will not be named");
	sup_set_chan(s, sl, sv[0]);
	sup_set_notif(s, sl, -1);
	SB_STORE(sl->wchan, sv[1]);
	heap_settle(); /* what we freed since: not a copy in each worker (heap.c) */
	pid = fork();
	if (pid < 0) {
		log_err("fork: %m; retrying in %d ms", BACKOFF_MAX_MS / 10);
		SB_STORE(sl->state, (uint32_t)SLOT_FREE);
		sup_close_chan(s, sl);
		if (sv[1] >= 0)
			close(sv[1]);
		l->restart_at = s->now + BACKOFF_MAX_MS / 10;
		return 0;
	}
	if (pid == 0) {
		become_worker(s, sl);
		if (sv[0] >= 0)
			close(sv[0]);
		*ret_slot = sl;
		return 1;
	}
	if (sv[1] >= 0)
		close(sv[1]);
	SB_STORE(sl->pid, (int32_t)pid);
	l->started = s->now;
	l->restart_at = 0;
	l->kill_at = 0;
	l->hung_since = 0;
	l->violation = 0;
	l->listener = false;
	l->retired = false;
	log_debug("worker %d started (slot %zu, generation %u)", (int)pid, i, s->gen);
	return 0;
}

/* Fills the generation up to `workers`; a slot backing off keeps its place. */
WORKER_TEXT static int fill(struct sup *s, struct slot **ret_slot)
{
	size_t have = sup_count(s, true, 0);
	int k;

	for (size_t i = 0; i < s->sb->hiwater; i++)
		have += !alive(slot_of(s, i)) && s->local[i].restart_at;
	for (size_t i = 0; i < SCOREBOARD_SLOTS; i++) {
		struct local *l = &s->local[i];

		if (i >= s->sb->hiwater && have >= s->o->workers)
			break;
		if (alive(slot_of(s, i)))
			continue;
		if (l->restart_at) {
			if (l->restart_at > s->now)
				continue;
			l->restart_at = 0; /* due: its place is taken by the spawn */
		} else if (have < s->o->workers) {
			have++;
		} else {
			continue;
		}
		if ((k = spawn(s, i, ret_slot)) != 0)
			return k;
	}
	return 0;
}

static void reaped(struct sup *s, pid_t pid, int status)
{
	char why[1024];

	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);
		struct local *l = &s->local[i];
		bool current = SB_LOAD(sl->generation) == s->gen;
		bool expected = l->retired || !current || s->phase == STOPPING ||
				SB_LOAD(sl->state) == SLOT_DRAINING;
		bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		int64_t lived = s->now - l->started;
		bool served = SB_LOAD(sl->state) == SLOT_READY;
		uint32_t delay = 0;
		bool oom;

		if (SB_LOAD(sl->pid) != pid)
			continue;
		oom = sup_describe_exit(s, status, sl, expected, why, sizeof why);
		if (SB_LOAD(sl->chan) >= 0) {
			sup_receive(s, sl); /* what it handed over just before exiting */
			sup_close_chan(s, sl);
		}
		sup_close_notif(s, sl);
		s->sb->served_by_exited += SB_LOAD(sl->served);
		sup_counters_reaped(s, i);
		SB_STORE(sl->pid, 0);
		SB_STORE(sl->state, (uint32_t)SLOT_FREE);
		if (!current || s->phase == STOPPING || l->retired) {
			if (oom) /* draining, it still took memory someone may miss */
				log_warning("worker %d %s; %s", (int)pid, why, OOM_HINT);
			else
				log_debug("worker %d %s", (int)pid, why);
			return;
		}
		sup_counters_restart(s, i, status, oom);
		if (clean && s->o->exit_is_recycle && !expected) {
			/* A foreign program's own choice (its request limit, an error
			 * page it ends with): no failure, no backoff. Only a program
			 * that exits at once is held to 10 starts a second. */
			if (lived < EXIT0_MIN_LIFE_MS)
				delay = (uint32_t)(EXIT0_MIN_LIFE_MS - lived);
			log_info("worker %d exited with status 0 after %.1f s; replacing it%s", (int)pid,
				 lived / 1000.0, delay ? " in 0.1 s (it ran less than 0.1 s)" : "");
			l->crashes = l->unserved = 0;
		} else if (clean && (SB_LOAD(sl->recycle) || expected)) {
			log_info("worker %d %s; replacing it", (int)pid, why);
			l->crashes = l->unserved = 0;
		} else if (l->kill_at) {
			log_info("worker %d replaced after request_timeout (%s)", (int)pid, why);
			l->crashes = l->unserved = 0;
		} else if (oom && served) {
			/* A request took too much: no crash loop, whose backoff would
			 * only leave the others more to serve. One that is killed
			 * before it serves is a failure like a crash (below). */
			log_warning("worker %d %s while serving (OOM kill %llu of this instance); "
				    "replacing it; %s", (int)pid, why,
				    (unsigned long long)s->oom.kills, OOM_HINT);
		} else {
			/* A hung worker's life counts up to its hang, not its kill. */
			lived = (l->hung_since ? l->hung_since : s->now) - l->started;
			if (lived >= STABLE_MS)
				l->crashes = 0;
			l->crashes++;
			if (l->crashes > 1) {
				delay = BACKOFF_MIN_MS << (l->crashes - 2 < 7 ? l->crashes - 2 : 7);
				if (delay > BACKOFF_MAX_MS)
					delay = BACKOFF_MAX_MS;
			}
			log_warning("worker %d %s; restarting it in %.1f s (failure %u in a row)%s%s",
				    (int)pid, why, delay / 1000.0, l->crashes, oom ? "; " : "",
				    oom ? OOM_HINT : "");
			l->unserved = served ? 0 : l->unserved + 1;
			snprintf(s->fail_why, sizeof s->fail_why, "%.*s", (int)sizeof s->fail_why - 1,
				 why);
			s->gen_failures++;
		}
		l->restart_at = s->now + delay;
		if (l->restart_at == 0)
			l->restart_at = 1;
		return;
	}
	log_debug("reaped process %d (not a worker)", (int)pid);
}

static void reap_all(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		reaped(s, pid, status);
		s->next_sweep = 0; /* what it left behind, now */
	}
}

static bool is_worker(pid_t pid, void *ctx)
{
	struct sup *s = ctx;

	for (size_t i = 0; i < s->sb->hiwater; i++)
		if (SB_LOAD(slot_of(s, i)->pid) == pid)
			return true;
	return false;
}

/* What exited workers left behind is killed (orphans.c). */
static void sweep(struct sup *s)
{
	if (s->now < s->next_sweep)
		return;
	s->next_sweep = s->now + SWEEP_MS;
	s->orphans = orphans_sweep(is_worker, s);
	oom_tick(&s->oom, s->now);
}

void sup_signal_gen(struct sup *s, bool current, int sig)
{
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (!alive(sl) || (SB_LOAD(sl->generation) == s->gen) != current)
			continue;
		if (sig != SIGKILL) {
			s->local[i].retired = true;
			s->local[i].restart_at = 0;
		}
		kill(SB_LOAD(sl->pid), sig);
	}
}

static void stop(struct sup *s, const char *why)
{
	/* With somewhere to keep them (systemd's fd store), workers hand their
	 * kept connections to us as on a reload; they outlive a restart. */
	int sig = !s->o->handoff ? s->o->drain_signal /* a foreign program's own */
		  : getenv("NOTIFY_SOCKET") ? s->o->drain_signal : SIGTERM;

	if (s->phase == STOPPING)
		return;
	if (s->reload_again) /* whoever waits on it learns now */
		outcome_write(outcome_clock(), "failed", "the instance is stopping");
	s->reload_again = false;
	log_info("%s: draining %zu worker(s), then exiting", why, sup_count(s, true, 0) + sup_count(s, false, 0));
	activation_notify("STOPPING=1");
	s->phase = STOPPING;
	s->phase_since = s->now;
	for (size_t i = 0; i < s->sb->hiwater; i++)
		s->local[i].restart_at = 0;
	sup_signal_gen(s, true, sig);
	sup_signal_gen(s, false, sig);
}

static void on_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap_all(s);
			break;
		case SIGHUP:
			sup_learn_summary(s, "reloading");
			sup_reload(s);
			break;
		default:
			stop(s, strsignal((int)si.ssi_signo));
		}
	}
	reap_all(s); /* SIGCHLDs coalesce */
}

/* request_timeout: the stuck worker answers 504 itself if it can, then exits. */
static void check_stuck(struct sup *s)
{
	for (size_t i = 0; i < s->sb->hiwater && s->o->request_timeout_ms; i++) {
		struct slot *sl = slot_of(s, i);
		struct local *l = &s->local[i];
		int64_t busy = SB_LOAD(sl->busy_since);
		pid_t pid = SB_LOAD(sl->pid);

		if (pid <= 0)
			continue;
		if (l->kill_at && s->now >= l->kill_at) {
			log_warning("worker %d did not stop after the request_timeout signal: SIGKILL",
				    (int)pid);
			kill(pid, SIGKILL);
			l->kill_at = s->now + KILL_GRACE_MS;
		} else if (!l->kill_at && busy && s->now - busy > (int64_t)s->o->request_timeout_ms) {
			log_warning("worker %d: request %u has run for %lld s (request_timeout=%u s); "
				    "replacing the worker",
				    (int)pid, SB_LOAD(sl->req_id), (long long)(s->now - busy) / 1000,
				    s->o->request_timeout_ms / 1000);
			kill(pid, SIGUSR2);
			s->sb->sup.exited.timed_out++; /* the request ends with the worker */
			l->kill_at = s->now + KILL_GRACE_MS;
		}
	}
}

/*
 * Foreign workers (request_timeout as hang_timeout): their requests are
 * invisible, so every worker of the generation making no progress while
 * connections wait is the sign (progress.h). Killed as a failure: a program
 * that hangs at every start backs off like one that crashes. Not while a
 * reload or a stop drains workers: drain_timeout covers those.
 */
static void check_hung(struct sup *s)
{
	static int32_t pids[SCOREBOARD_SLOTS];
	int64_t since;

	if (!s->o->hang_timeout_ms || !s->o->nfds)
		return;
	if (s->phase != RUNNING) {
		progress_reset(&s->progress);
		return;
	}
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		pids[i] = alive(sl) && SB_LOAD(sl->generation) == s->gen ? SB_LOAD(sl->pid) : 0;
	}
	/* A foreign program serves the first socket only (run_foreign). */
	if (!progress_check(&s->progress, s->o->fds[0], pids, s->sb->hiwater, s->now,
			    s->o->hang_timeout_ms, &since))
		return;
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		if (!pids[i])
			continue;
		log_warning("worker %d (program %s): no progress for %lld s while connections "
			    "wait (request_timeout=%u s): hung; SIGKILL",
			    (int)pids[i], s->o->program ? s->o->program : "?",
			    (long long)(s->now - since) / 1000, s->o->hang_timeout_ms / 1000);
		s->local[i].hung_since = since;
		kill(pids[i], SIGKILL);
	}
}

static bool all_idle(struct sup *s)
{
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (alive(sl) && (SB_LOAD(sl->conns) || SB_LOAD(sl->busy_since) ||
				  SB_LOAD(sl->state) != SLOT_READY))
			return false;
	}
	return true;
}

static void check_idle(struct sup *s)
{
	if (!s->o->idle_timeout_ms || !s->o->socket_activated || s->phase != RUNNING)
		return;
	if (!all_idle(s)) {
		s->idle_since = s->now;
		return;
	}
	if (s->now - s->idle_since >= (int64_t)s->o->idle_timeout_ms) {
		char why[96];

		snprintf(why, sizeof why, "idle for %u s (idle_timeout); systemd starts me again "
			 "on the next connection", s->o->idle_timeout_ms / 1000);
		stop(s, why);
	}
}

static void watchdog(struct sup *s)
{
	if (!s->watchdog_usec || s->now < s->next_watchdog)
		return;
	activation_notify("WATCHDOG=1");
	s->next_watchdog = s->now + (int64_t)(s->watchdog_usec / 2000);
}

static int setup(struct sup *s)
{
	const char *e = getenv("SFCGI_SCOREBOARD_FD");
	/* after a reload rolled back (reload.c): the previous generation is ours again */
	const char *rollback = e ? getenv("SFCGI_ROLLBACK") : NULL;
	const char *prev = e ? getenv("SFCGI_PREVIOUS_CONFIG_FD") : NULL;
	char *pending;
	sigset_t mask;
	uint64_t usec = 0;
	int r;

	s->reexeced = e != NULL;
	r = scoreboard_map(e ? atoi(e) : -1, &s->sb, &s->sbfd);
	unsetenv("SFCGI_SCOREBOARD_FD");
	if (r < 0) {
		log_err("scoreboard: %s", strerror(-r));
		return r;
	}
	oom_init(&s->oom); /* before the lock-down (it opens a file) and the first fork */
	sup_status_setup(s); /* before sup_place_fds(): its fd moves out of their way */
	if (s->o->lockdown && (r = sandbox_supervisor()) < 0)
		return r;
	orphans_supervisor_init(); /* logged; kept across exec, set again all the same */
	if ((r = sup_place_fds(s, false)) < 0) {
		if (r == -EMFILE || r == -EINVAL)
			log_err("arranging the listening sockets: the open files limit "
				"(RLIMIT_NOFILE), %lu, is too low even to place %zu socket(s) and the "
				"scoreboard (it takes %zu); raise it (LimitNOFILE= in a drop-in, "
				"systemctl edit; by hand, ulimit -n)", nofile_limit(), s->o->nfds,
				ACTIVATION_LISTEN_FDS_START + 2 * (s->o->nfds + 1));
		else
			log_err("arranging the listening sockets: %s", strerror(-r));
		return r;
	}
	s->gen = rollback ? s->sb->generation : ++s->sb->generation;
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (!alive(sl)) {
			SB_STORE(sl->chan, -1);
			SB_STORE(sl->notif, -1);
		} else {
			if (SB_LOAD(sl->chan) >= 0)
				fcntl(SB_LOAD(sl->chan), F_SETFD, FD_CLOEXEC);
			if (SB_LOAD(sl->notif) > 0)
				fcntl(SB_LOAD(sl->notif), F_SETFD, FD_CLOEXEC);
		}
		s->local[i].chan = SB_LOAD(sl->chan);
		s->local[i].notif = SB_LOAD(sl->notif);
	}
	for (size_t i = 0; i < s->o->nconns; i++)
		sup_pend(s, s->o->conns[i]);
	if ((pending = getenv("SFCGI_PENDING_FDS"))) {
		for (char *p = pending; *p;) {
			int fd = (int)strtol(p, &p, 10);

			fcntl(fd, F_SETFD, FD_CLOEXEC);
			sup_pend(s, fd);
			p += *p == ',';
		}
		unsetenv("SFCGI_PENDING_FDS");
	}
	if (prev && !rollback && (s->prev_config_fd = atoi(prev)) > 0)
		fcntl(s->prev_config_fd, F_SETFD, FD_CLOEXEC);
	if (e && getenv("SFCGI_RELOAD_SINCE"))
		s->reload_since = strtoull(getenv("SFCGI_RELOAD_SINCE"), NULL, 10);
	s->reload_again = e && getenv("SFCGI_RELOAD_AGAIN"); /* a SIGHUP during the last image */
	if (e && getenv("SFCGI_RELOADING") && !rollback) {
		s->phase = RELOADING; /* the previous image's workers are the old generation */
		s->phase_since = s->now;
	}
	if (rollback) {
		char state[sizeof s->reload_note + 64];

		snprintf(s->reload_note, sizeof s->reload_note, "last reload failed: %s", rollback);
		snprintf(state, sizeof state, "READY=1\nSTATUS=reload failed: %s; generation %u "
			 "serving with the previous configuration", rollback, s->gen);
		activation_notify(s->reload_again ? state + 8 : state); /* READY=1: reload.c */
		memcpy(s->status, state + 8, strlen(state + 8) + 1);
		s->ready_sent = true;
		s->next_status = s->now + 1000;
	}
	unsetenv("SFCGI_RELOADING");
	unsetenv("SFCGI_RELOAD_SINCE");
	unsetenv("SFCGI_RELOAD_AGAIN");
	unsetenv("SFCGI_ROLLBACK");
	unsetenv("SFCGI_PREVIOUS_CONFIG_FD");
	if (activation_watchdog_enabled(0, &usec) > 0) /* kept for our next image after a reload */
		s->watchdog_usec = (int64_t)usec;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &mask, &s->oldmask) < 0)
		return -errno;
	s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/*
 * What setup() leaves until the first workers are forked (supervisor_run):
 * on a fresh start, the outcome `sfcgi reload` looks for. Before anything
 * is reaped or reported. (The cgroup's OOM-kill baseline is not among
 * them: read after the fork, a worker killed in its first milliseconds
 * would be reported as a plain SIGKILL.)
 */
static void later(struct sup *s)
{
	if (!s->reexeced) /* a fresh start: `sfcgi reload` learns that we report outcomes */
		outcome_write(outcome_clock(), "serving", "generation %u", s->gen);
	s->later_done = true;
}

/* One visible step per state: fill, promote, stop, report. */
static int step(struct sup *s, struct slot **ret_slot)
{
	int k;

	log_tick(s->now);
	if (s->phase != STOPPING && (k = fill(s, ret_slot)) != 0)
		return k;
	if (s->phase == RELOADING)
		sup_reload_progress(s);
	sup_reload_again(s); /* after a rollback */
	sweep(s);
	if (s->phase == STOPPING) {
		bool gone = !sup_count(s, true, 0) && !sup_count(s, false, 0);

		if (gone && !s->workers_gone_at)
			s->workers_gone_at = s->now;
		/* Orphans killed but not reaped yet would go to PID 1 with theirs. */
		if (gone && s->orphans && s->now - s->workers_gone_at >= ORPHAN_WAIT_MS)
			log_warning("%d process(es) left by the workers did not end within %d s of "
				    "SIGKILL (stuck in the kernel?); exiting without them",
				    s->orphans, ORPHAN_WAIT_MS / 1000);
		if (gone && (!s->orphans || s->now - s->workers_gone_at >= ORPHAN_WAIT_MS)) {
			sup_keep_for_restart(s);
			sup_learn_summary(s, "stopping");
			log_info("all workers have exited");
			exit(0);
		}
		if (s->now - s->phase_since > (int64_t)s->o->drain_timeout_ms) {
			log_warning("drain_timeout (%u s) reached: killing the remaining workers",
				    s->o->drain_timeout_ms / 1000);
			sup_signal_gen(s, true, SIGKILL);
			sup_signal_gen(s, false, SIGKILL);
			s->phase_since = s->now; /* once more after another drain_timeout */
		}
	}
	sup_promote(s);
	if (!s->ready_sent && s->phase == RUNNING && sup_serving(s) >= s->o->workers) {
		s->ready_sent = true;
		activation_notify("READY=1");
		log_info("%u worker(s) serving", s->o->workers);
	}
	sup_check_failing(s);
	if (!s->ready_sent && s->phase == RUNNING && s->failing_said) {
		/* up, and answering for the workers: STATUS= says "failing" */
		s->ready_sent = true;
		activation_notify("READY=1");
	}
	check_stuck(s);
	check_hung(s);
	check_idle(s);
	sup_learn_tick(s);
	sup_status_tick(s);
	sup_report(s);
	watchdog(s);
	return 0;
}

enum { LISTEN_MAX = 16 }; /* listening sockets watched while answering 503 */

/* What supervisor_run() keeps, in one anonymous mapping (see there). */
struct sup_mem {
	struct sup s;
	struct pollfd p[1 + 2 * SCOREBOARD_SLOTS + LISTEN_MAX + UNAVAILABLE_CONNS + 1 +
			STATUS_CONNS];
	struct slot *of[1 + 2 * SCOREBOARD_SLOTS];
};

WORKER_TEXT int supervisor_run(struct supervisor_opts *o, struct slot **ret_slot)
{
	/* Large (per-slot bookkeeping, the poll set): a mapping of its own, zero
	 * already, whose pages are touched only as slots get used; a worker
	 * unmaps it (below): each page of it we write after a fork would
	 * otherwise stay in every worker as a private copy it never reads. */
	struct sup_mem *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sup *s = &m->s;
	struct pollfd *p = m->p;
	struct slot **of = m->of;
	int r;

	if (m == MAP_FAILED)
		return -errno;
	s->o = o;
	s->sigfd = -1;
	s->now = worker_clock_ms();
	s->idle_since = s->now;
	if ((r = setup(s)) < 0)
		return r;
	/*
	 * The first workers come before the rest of a round: a new worker
	 * often waits for the CPU its parent holds until the parent sleeps in
	 * poll(), and nothing else the supervisor does is needed before a
	 * worker's first answer. The next round (at most 10 ms later, while
	 * starting) does the rest.
	 */
	s->now = worker_clock_ms();
	log_tick(s->now);
	if ((r = fill(s, ret_slot)) != 0) {
		if (*ret_slot)
			munmap(m, sizeof *m);
		return r;
	}
	for (;;) {
		nfds_t nslots, nlisten, nunavail;
		int k;
		bool starting = sup_count(s, true, SLOT_STARTING) || s->phase != RUNNING || s->npending;
		int timeout = starting ? 10 : 250;

		/* a restart due sooner (backoff, exit 0) is on time */
		for (size_t i = 0; i < s->sb->hiwater; i++)
			if (s->local[i].restart_at && s->local[i].restart_at - s->now < timeout)
				timeout = s->local[i].restart_at > s->now
						  ? (int)(s->local[i].restart_at - s->now) : 0;
		nfds_t n = 1;

		s->now = worker_clock_ms();
		if (s->later_done && (r = step(s, ret_slot)) != 0) { /* the first round: see above */
			if (*ret_slot) /* a worker: the supervisor's state is not ours */
				munmap(m, sizeof *m);
			return r;
		}
		p[0] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
		for (size_t i = 0; i < s->sb->hiwater; i++)
			if (SB_LOAD(slot_of(s, i)->chan) >= 0) {
				of[n] = slot_of(s, i);
				p[n] = (struct pollfd){ .fd = SB_LOAD(of[n]->chan), .events = POLLIN };
				n++;
			}
		for (size_t i = 0; i < s->sb->hiwater; i++)
			if (SB_LOAD(slot_of(s, i)->notif) > 0) {
				of[n] = slot_of(s, i);
				p[n] = (struct pollfd){ .fd = SB_LOAD(of[n]->notif), .events = POLLIN };
				n++;
			}
		nslots = n;
		/* answering 503: a waiting connection is taken at once (step()) */
		for (size_t i = 0; s->answering && unavailable_room(&s->unavail) &&
				   i < (s->o->handoff ? s->o->nfds : 1) && i < LISTEN_MAX; i++)
			p[n++] = (struct pollfd){ .fd = s->o->fds[i], .events = POLLIN };
		nlisten = n;
		n += unavailable_pollfds(&s->unavail, p + n);
		nunavail = n;
		n += status_pollfds(&s->statsock, p + n);
		k = poll(p, n, timeout);
		if (!s->later_done)
			later(s);
		if (k > 0) {
			s->now = worker_clock_ms();
			for (nfds_t i = nlisten; i < nunavail; i++)
				if (p[i].revents)
					unavailable_event(&s->unavail, p[i].fd, p[i].revents, s->fail_why);
			for (nfds_t i = nunavail; i < n; i++)
				if (p[i].revents)
					status_event(s, &s->statsock, p[i].fd, p[i].revents);
			for (nfds_t i = 1; i < nslots; i++) {
				if (!p[i].revents)
					continue;
				if (p[i].fd == SB_LOAD(of[i]->chan))
					sup_receive(s, of[i]);
				else if (p[i].fd != SB_LOAD(of[i]->notif))
					; /* closed by an earlier entry of this round */
				else if (p[i].revents & POLLIN)
					sup_refusal(s, of[i]);
				else if (p[i].revents & (POLLHUP | POLLERR | POLLNVAL))
					sup_close_notif(s, of[i]); /* the filter has no process left */
			}
			if (p[0].revents)
				on_signals(s);
		}
		if (s->npending)
			sup_dispatch(s);
	}
}

WORKER_TEXT void supervisor_worker_ready(struct slot *slot)
{
	if (slot)
		SB_STORE(slot->state, (uint32_t)SLOT_READY);
}
