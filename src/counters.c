/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's side of the counters (status.h): a worker's folded into
 * the scoreboard's totals when it is reaped, restarts counted by cause,
 * and the slow-request log ("slow_request"), on the supervisor's timer.
 * And STATUS= (sup_report), the same story in one line for systemctl status.
 */
#include "sup.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "activation.h"
#include "log.h"

void sup_counters_spawn(struct sup *s, size_t i)
{
	struct slot_stats *st = &s->sb->stats[i];
	uint32_t restarts = st->restarts;

	memset(st, 0, sizeof *st);
	st->restarts = restarts;
}

void sup_counters_reaped(struct sup *s, size_t i)
{
	struct counters *t = &s->sb->sup.exited, *c = &s->sb->stats[i].c;
	uint64_t *to = (uint64_t *)(void *)t, *from = (uint64_t *)(void *)c;

	for (size_t k = 0; k < sizeof *c / sizeof(uint64_t); k++)
		to[k] += from[k];
	memset(c, 0, sizeof *c); /* counted once: the totals have it now */
}

void sup_counters_restart(struct sup *s, size_t i, int status, bool oom)
{
	const struct slot *sl = slot_of(s, i);
	const struct local *l = &s->local[i];
	enum restart_cause why;

	if (WIFSIGNALED(status) && (l->violation || WTERMSIG(status) == SIGSYS))
		why = CAUSE_SANDBOX;
	else if (oom)
		why = CAUSE_OOM;
	else if (l->kill_at)
		why = CAUSE_TIMEOUT;
	else if (l->hung_since)
		why = CAUSE_HANG;
	else if (WIFSIGNALED(status))
		why = CAUSE_CRASH;
	else if (WEXITSTATUS(status) == 0 && (SB_LOAD(sl->recycle) || s->o->exit_is_recycle))
		why = CAUSE_RECYCLE; /* max_requests, or a foreign program's own limit */
	else
		why = CAUSE_EXIT;
	s->sb->sup.restarts[why]++;
	s->sb->stats[i].restarts++;
}

void sup_check_slow(struct sup *s)
{
	for (size_t i = 0; s->o->slow_request_ms && i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);
		struct slot_stats *st = &s->sb->stats[i];
		int64_t busy = SB_LOAD(sl->busy_since);
		uint32_t seq = __atomic_load_n(&st->seq, __ATOMIC_ACQUIRE);
		char method[sizeof st->method], uri[sizeof st->uri];

		if (!alive(sl) || !busy || s->now - busy <= (int64_t)s->o->slow_request_ms ||
		    (seq & 1) || !seq || SB_LOAD(st->slow_seq) == seq)
			continue;
		memcpy(method, st->method, sizeof method);
		memcpy(uri, st->uri, sizeof uri);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&st->seq, __ATOMIC_RELAXED) != seq || !SB_LOAD(sl->busy_since))
			continue; /* it moved on meanwhile: the next turn looks again */
		method[sizeof method - 1] = uri[sizeof uri - 1] = 0;
		/* The worker logs the total when it finishes (wstats.c). */
		SB_STORE(st->slow_seq, seq);
		s->sb->sup.slow++;
		log_notice("slow request%s%s: worker %d has run %s %s for %.1f s (slow_request=%.3g "
			   "s); the worker logs its total when it ends", *s->instance ? " in " : "",
			   s->instance, (int)SB_LOAD(sl->pid), method, uri,
			   (double)(s->now - busy) / 1000, (double)s->o->slow_request_ms / 1000);
	}
}

/* STATUS= is sent when it changed, at most this often: with the 250 ms poll
 * of an idle loop, the request count it shows is never 1 s old. */
#define STATUS_MS 500

void sup_report(struct sup *s)
{
	uint64_t served = s->sb->served_by_exited;
	size_t busy = 0, n = sup_count(s, true, 0);
	const char *why = s->phase == RUNNING ? sup_failing(s) : NULL;
	char status[sizeof s->status];

	if (s->now < s->next_status)
		return;
	s->next_status = s->now + STATUS_MS;
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (alive(sl)) {
			served += SB_LOAD(sl->served);
			busy += SB_LOAD(sl->busy_since) != 0;
		}
	}
	if (why)
		snprintf(status, sizeof status, "STATUS=failing: %s; %zu of %u worker(s) serve, "
			 "%llu requests answered 503%s%s", why, sup_serving(s), s->o->workers,
			 (unsigned long long)s->unavail.answered, *s->reload_note ? "; " : "",
			 s->reload_note);
	else if (!sup_serving(s) && s->phase == RUNNING)
		snprintf(status, sizeof status, "STATUS=starting: %zu worker(s), none has shown it "
			 "serves yet%s%s", n, *s->reload_note ? "; " : "", s->reload_note);
	else
		snprintf(status, sizeof status,
			 "STATUS=%s%zu worker(s), %zu busy, %llu requests served%s%s",
			 s->phase == RELOADING ? "reloading; " : s->phase == STOPPING ? "stopping; " : "",
			 n, busy, (unsigned long long)served, *s->reload_note ? "; " : "",
			 s->reload_note);
	if (strcmp(status, s->status)) {
		memcpy(s->status, status, sizeof status);
		activation_notify(status);
	}
}

void sup_status_setup(struct sup *s)
{
	const char *e = getenv("SFCGI_STATUS_FD"), *inst = getenv("SFCGI_INSTANCE");
	const char *cfg = s->o->config_path, *base;
	int fd = e ? atoi(e) : s->o->status_fd > 0 ? s->o->status_fd : -1;

	unsetenv("SFCGI_STATUS_FD");
	if (fd >= 0) {
		/* above 3.. (the listening sockets, the scoreboard: sup_place_fds) */
		int moved = fcntl(fd, F_DUPFD_CLOEXEC,
				  ACTIVATION_LISTEN_FDS_START + (int)s->o->nfds + 1);

		if (moved < 0)
			log_err("the status socket: %m; /metrics and /status are not served");
		close(fd);
		fd = moved;
	}
	status_init(&s->statsock, fd);
	/* The unit's %i, else the config file's name: /etc/sfcgi/NAME.json. */
	if (inst && *inst) {
		snprintf(s->instance, sizeof s->instance, "%s", inst);
	} else if (cfg) {
		base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
		snprintf(s->instance, sizeof s->instance, "%.*s",
			 (int)(strlen(base) > 5 && !strcmp(base + strlen(base) - 5, ".json")
				       ? strlen(base) - 5 : strlen(base)), base);
	}
}

void sup_status_tick(struct sup *s)
{
	sup_check_slow(s);
	sup_counters_sync(s);
	if (s->statsock.fd < 0)
		return;
	status_expire(&s->statsock, s->now);
	/* The queue's longest: sampled twice a second (and at each scrape). */
	if (s->now >= s->next_queue) {
		s->next_queue = s->now + 500;
		sup_sample_queue(s, NULL);
	}
}
