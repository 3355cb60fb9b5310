/* SPDX-License-Identifier: MIT */
/*
 * Reload: SIGHUP -> RELOADING=1 -> the config is checked -> the supervisor
 * re-executes itself (sfcgi run, so a new binary or config is picked up)
 * keeping its PID, listening sockets, scoreboard, handoff channels and
 * queued connections -> the new generation starts -> once it serves, the
 * old one is told to drain (drain_signal, then SIGKILL after
 * drain_timeout) -> READY=1.
 *
 * A new generation whose workers fail before they serve (ROLLBACK_FAILURES
 * failures and none serving, or none serving after READY_WAIT_MS) is rolled
 * back: its workers are killed, the old generation, never told to drain,
 * is the current one again, and READY=1 with a STATUS= saying so. A foreign
 * instance re-executes once more with the previous image's config text
 * (kept in a memfd across the exec: the file on disk is the new one), so
 * the workers it starts from then on are the previous configuration's; a
 * native one keeps its new image, whose program is the one on disk.
 *
 * A SIGHUP during a reload (or a rollback) is remembered: once that reload
 * is done, the old generation drained or the new one rolled back, exactly
 * one more runs, reading the configuration as it is then, however many
 * came. READY=1 waits for that one, and `sfcgi reload` callers get its
 * outcome (outcome.h: "after:"), so a configuration written between two
 * close reloads is never lost.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "config.h"
#include "log.h"
#include "outcome.h"

#define READY_WAIT_MS 30000 /* new generation not ready by then: drain old anyway */
#define ROLLBACK_FAILURES 3 /* new workers failing this often, none serving: roll back */

/* Listening sockets at 3.., the scoreboard right after: LISTEN_FDS layout. */
int sup_place_fds(struct sup *s, bool for_exec)
{
	size_t n = s->o->nfds;
	int tmp[n + 1];

	for (size_t i = 0; i <= n; i++) {
		int fd = i < n ? s->o->fds[i] : s->sbfd;

		/* above the places they go to: also under a low open files limit */
		tmp[i] = fcntl(fd, F_DUPFD_CLOEXEC, ACTIVATION_LISTEN_FDS_START + (int)n + 1);
		if (tmp[i] < 0)
			return -errno;
	}
	for (size_t i = 0; i <= n; i++) {
		int target = ACTIVATION_LISTEN_FDS_START + (int)i;

		if (dup3(tmp[i], target, for_exec ? 0 : O_CLOEXEC) < 0)
			return -errno;
		close(tmp[i]);
		if (i < n)
			s->o->fds[i] = target;
		else
			s->sbfd = target;
	}
	return 0;
}

/* The handoff channels and queued connections survive the re-exec: their
 * numbers are in the scoreboard and SFCGI_PENDING_FDS. */
static void keep_across_exec(struct sup *s, bool keep)
{
	char list[4096] = "";

	for (size_t i = 0; i < s->sb->hiwater; i++) {
		if (SB_LOAD(slot_of(s, i)->chan) >= 0)
			fcntl(SB_LOAD(slot_of(s, i)->chan), F_SETFD, keep ? 0 : FD_CLOEXEC);
		if (SB_LOAD(slot_of(s, i)->notif) > 0)
			fcntl(SB_LOAD(slot_of(s, i)->notif), F_SETFD, keep ? 0 : FD_CLOEXEC);
	}
	for (size_t i = 0; i < s->npending; i++) {
		fcntl(s->pending[i], F_SETFD, keep ? 0 : FD_CLOEXEC);
		if (strlen(list) + 16 < sizeof list)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "",
				 s->pending[i]);
	}
	if (keep && s->npending)
		setenv("SFCGI_PENDING_FDS", list, 1);
	else
		unsetenv("SFCGI_PENDING_FDS");
}

/* The config text to start with (rollback) or to keep for a rollback: fd
 * across the exec, named in the environment. */
static void pass_config(const char *name, int fd, bool keep)
{
	char num[32];

	if (fd <= 0)
		return;
	fcntl(fd, F_SETFD, keep ? 0 : FD_CLOEXEC);
	snprintf(num, sizeof num, "%d", fd);
	if (keep)
		setenv(name, num, 1);
	else
		unsetenv(name);
}

/* Why the last reexec() returned, for the outcome (`sfcgi reload`). */
static char reexec_why[512];

/* rollback: NULL for a reload; else why, and the previous config (foreign) */
static void reexec(struct sup *s, const char *rollback)
{
	const char *run = rollback ? NULL : getenv("SFCGI_RUN");
	char num[32], exe[4096];
	char *run_argv[] = { (char *)run, "run", "--config", (char *)s->o->config_path, NULL };
	/* a rollback re-executes this very program (sfcgi-foreign) on the old text */
	char *self_argv[] = { exe, "--config", (char *)s->o->config_path, NULL };
	char *const *argv = run && s->o->config_path ? run_argv
			    : rollback ? self_argv : s->o->argv;
	ssize_t n;
	int r;

	if (argv != run_argv) {
		n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n <= 0) {
			log_err("reload: /proc/self/exe: %m; still serving");
			snprintf(reexec_why, sizeof reexec_why, "/proc/self/exe: %m");
			return;
		}
		exe[n] = 0;
		if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
			exe[n - 10] = 0; /* upgraded in place: exec the new file */
	} else {
		snprintf(exe, sizeof exe, "%s", run);
	}
	if (access(exe, X_OK) < 0) {
		log_err("reload refused: %s: %m; still serving", exe);
		snprintf(reexec_why, sizeof reexec_why, "%.400s: %m", exe);
		return;
	}
	if ((r = sup_place_fds(s, true)) < 0) {
		log_err("reload: arranging file descriptors: %s; still serving", strerror(-r));
		snprintf(reexec_why, sizeof reexec_why, "arranging file descriptors: %s",
			 strerror(-r));
		return;
	}
	snprintf(num, sizeof num, "%zu", s->o->nfds);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof num, "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
	if (s->o->fdname) {
		char names[4096] = "";

		for (size_t i = 0; i < s->o->nfds && strlen(names) + 300 < sizeof names; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
				 i ? ":" : "", s->o->fdname);
		setenv("LISTEN_FDNAMES", names, 1);
	}
	snprintf(num, sizeof num, "%d", s->sbfd);
	setenv("SFCGI_SCOREBOARD_FD", num, 1);
	if (s->statsock.fd >= 0) { /* the status socket too, and its connections close */
		fcntl(s->statsock.fd, F_SETFD, 0);
		snprintf(num, sizeof num, "%d", s->statsock.fd);
		setenv("SFCGI_STATUS_FD", num, 1);
	}
	keep_across_exec(s, true);
	setenv("SFCGI_RELOADING", "1", 1);
	setenv("SFCGI_SOCKET_ACTIVATED", s->o->socket_activated ? "1" : "0", 1);
	activation_keep_created(true); /* the next image removes our "listen" file at exit */
	snprintf(num, sizeof num, "%llu", (unsigned long long)s->reload_since);
	setenv("SFCGI_RELOAD_SINCE", num, 1);
	if (s->reload_again)
		setenv("SFCGI_RELOAD_AGAIN", "1", 1);
	oom_keep(&s->oom);
	if (rollback) {
		setenv("SFCGI_ROLLBACK", rollback, 1);
		pass_config("SFCGI_CONFIG_FD", s->prev_config_fd, true);
	} else {
		pass_config("SFCGI_PREVIOUS_CONFIG_FD", s->o->config_fd, true);
	}
	log_flush(); /* what the rate limit held: the next image starts its own counts */
	log_info("%s: executing %s", rollback ? "rollback" : "reload", exe);
	execv(exe, argv);
	log_err("%s: exec %s: %m; still serving", rollback ? "rollback" : "reload", exe);
	snprintf(reexec_why, sizeof reexec_why, "executing %.400s: %m", exe);
	keep_across_exec(s, false);
	pass_config("SFCGI_CONFIG_FD", s->prev_config_fd, false);
	pass_config("SFCGI_PREVIOUS_CONFIG_FD", s->o->config_fd, false);
	unsetenv("SFCGI_ROLLBACK");
	unsetenv("SFCGI_RELOAD_SINCE");
	unsetenv("SFCGI_RELOAD_AGAIN");
	unsetenv("SFCGI_OOM_SEEN");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("SFCGI_SCOREBOARD_FD");
	unsetenv("SFCGI_STATUS_FD");
	if (s->statsock.fd >= 0)
		fcntl(s->statsock.fd, F_SETFD, FD_CLOEXEC);
	unsetenv("SFCGI_RELOADING");
	unsetenv("SFCGI_SOCKET_ACTIVATED");
	activation_keep_created(false);
	sup_place_fds(s, false);
}

/* A reload that did not start: said in the log (already), STATUS= and the outcome. */
static void refused(struct sup *s, const char *why)
{
	snprintf(s->reload_note, sizeof s->reload_note, "last reload refused: %.300s", why);
	s->next_status = 0; /* STATUS= says so at once */
	outcome_write(s->reload_since, "failed", "refused: %s; generation %u serves on with "
		      "the previous configuration", why, s->gen);
}

void sup_reload(struct sup *s)
{
	if (s->phase == RELOADING) {
		/* The reload under way may have read the config before this
		 * SIGHUP's sender wrote it: one more follows, whoever waits
		 * gets that one's outcome (a later "after:"). */
		if (!s->reload_again)
			log_notice("SIGHUP during a reload: one more reload follows once this one "
				   "is done, reading the configuration as it is then");
		s->reload_again = true;
		return;
	}
	if (s->phase != RUNNING) {
		log_notice("SIGHUP ignored: the instance is stopping");
		outcome_write(outcome_clock(), "failed", "the instance is stopping");
		return;
	}
	s->reload_since = outcome_clock(); /* the config is read after this */
	activation_notify("RELOADING=1");
	if (s->o->config_path) {
		struct config c;
		struct config_error err;

		/* Through sfcgi run (SFCGI_RUN) the config names the program to
		 * execute; a native program re-executing itself is that program. */
		int r = getenv("SFCGI_RUN") ? config_load(s->o->config_path, &c, &err)
					    : config_load_own(s->o->config_path, &c, &err);

		if (r < 0) {
			log_err("reload refused: %s; still serving with the previous configuration",
				err.msg);
			refused(s, err.msg);
			activation_notify("READY=1");
			return;
		}
		r = sandbox_root_check(&c.sandbox); /* the new image would refuse to start */
		config_free(&c);
		if (r < 0) {
			log_err("reload refused (see above); still serving with the previous "
				"configuration");
			refused(s, "the new configuration's sandbox cannot be set up (the "
				   "supervisor's log says why)");
			activation_notify("READY=1");
			return;
		}
	}
	reexec_why[0] = 0;
	reexec(s, NULL); /* returns only if it failed, logged */
	refused(s, reexec_why);
	activation_notify("READY=1");
}

void sup_reload_again(struct sup *s)
{
	if (!s->reload_again || s->phase != RUNNING)
		return;
	s->reload_again = false;
	log_info("reloading again: a SIGHUP came during the last reload");
	sup_reload(s); /* RELOADING=1 again: systemd still waits, no READY=1 came between */
}

/*
 * The new generation does not serve: its workers go (SIGKILL: they have
 * nothing to finish; their slots leave every generation), the old one is
 * current again. Said in one line, then in STATUS=.
 */
static void rollback(struct sup *s, const char *why)
{
	char state[sizeof s->reload_note + 96];

	if (sup_count(s, false, 0))
		log_err("reload rolled back: %s; generation %u, never drained, keeps serving%s. "
			"Fix the configuration or program (the lines above say what failed), then "
			"reload again", why, s->gen - 1,
			s->prev_config_fd > 0 ? " with the previous configuration" : "");
	else
		log_err("reload rolled back: %s; no worker of generation %u was left: it starts "
			"again with the previous configuration. Fix the configuration or program "
			"(the lines above say what failed), then reload again", why, s->gen - 1);
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (SB_LOAD(sl->generation) != s->gen)
			continue;
		if (alive(sl))
			kill(SB_LOAD(sl->pid), SIGKILL);
		SB_STORE(sl->generation, 0);
		s->local[i].restart_at = 0;
		s->local[i].crashes = s->local[i].unserved = 0;
		s->local[i].retired = true;
	}
	s->gen--;
	s->sb->generation = s->gen;
	s->sb->sup.reloads_rolled_back++;
	s->gen_failures = 0;
	outcome_write(s->reload_since, "failed", "rolled back: %s; generation %u serves on", why,
		      s->gen);
	if (s->prev_config_fd > 0)
		reexec(s, why); /* returns only if it failed, logged */
	snprintf(s->reload_note, sizeof s->reload_note, "last reload failed: %.300s", why);
	s->phase = RUNNING;
	s->ready_sent = true;
	s->idle_since = s->now;
	snprintf(state, sizeof state, "READY=1\nSTATUS=reload failed: %.300s; generation %u serving",
		 why, s->gen);
	/* with one more reload to come, READY=1 waits for it (sup_reload_again) */
	activation_notify(s->reload_again ? state + 8 : state);
	memcpy(s->status, state + 8, strlen(state + 8) + 1);
	s->next_status = s->now + 1000;
}

/* After a re-exec: the new generation first, then the old one drains. */
void sup_reload_progress(struct sup *s)
{
	size_t ready = sup_count(s, true, SLOT_READY), old = sup_count(s, false, 0);

	if (!s->old_told) {
		bool failed = ready == 0 && s->gen_failures >= ROLLBACK_FAILURES;

		if (!failed && ready < s->o->workers && s->now - s->phase_since < READY_WAIT_MS)
			return;
		/* with none of the old workers left, the previous configuration
		 * (foreign) still beats a generation that does not serve */
		if (ready == 0 && (old || s->prev_config_fd > 0)) {
			char why[sizeof s->fail_why + 96];

			if (failed)
				snprintf(why, sizeof why, "its new workers failed %u times before serving, "
					 "the last one %s", s->gen_failures, s->fail_why);
			else
				snprintf(why, sizeof why, "no new worker served within %d s",
					 READY_WAIT_MS / 1000);
			rollback(s, why);
			return;
		}
		if (ready < s->o->workers)
			log_warning("reload: only %zu of %u new workers ready after %d s; draining "
				    "the old ones anyway",
				    ready, s->o->workers, READY_WAIT_MS / 1000);
		s->sb->sup.reloads_ok += ready != 0;
		if (ready)
			outcome_write(s->reload_since, "ok", "generation %u serves with %zu of %u "
				      "worker(s); the old one drains", s->gen, ready,
				      s->o->workers);
		else
			outcome_write(s->reload_since, "failed", "no worker of generation %u serves "
				      "within %d s and no previous one is left to roll back to: %s",
				      s->gen, READY_WAIT_MS / 1000,
				      *s->fail_why ? s->fail_why : "no reason known");
		sup_signal_gen(s, false, s->o->drain_signal);
		s->old_told = true;
		s->old_told_at = s->now;
		if (s->prev_config_fd > 0) /* no way back from here */
			close(s->prev_config_fd);
		s->prev_config_fd = 0;
		return;
	}
	if (old == 0) {
		s->phase = RUNNING;
		s->ready_sent = true;
		s->idle_since = s->now;
		log_info("reload complete: generation %u serving with %zu worker(s)", s->gen, ready);
		if (s->reload_again)
			sup_reload_again(s);
		else
			activation_notify("READY=1");
		return;
	}
	if (s->now - s->old_told_at > (int64_t)s->o->drain_timeout_ms) {
		log_warning("reload: %zu old worker(s) still busy after drain_timeout (%u s): "
			    "SIGKILL",
			    old, s->o->drain_timeout_ms / 1000);
		sup_signal_gen(s, false, SIGKILL);
		s->old_told_at = s->now;
	}
}
