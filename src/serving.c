/* SPDX-License-Identifier: MIT */
/*
 * Whether workers serve, and what is said and done when they do not: a
 * foreign worker is promoted to serving once it has lived serve_grace_ms;
 * workers that keep failing before they serve make the instance "failing"
 * (log, STATUS=), and while none can take connections the supervisor
 * answers them 503 itself (unavailable.h).
 */
#include "sup.h"

#include "log.h"
#include "unavailable.h"

size_t sup_serving(struct sup *s)
{
	return sup_count(s, true, SLOT_READY);
}

/*
 * A foreign program cannot say it serves: a worker of it that has lived
 * serve_grace_ms has. What ends a program that cannot serve (a missing
 * module, a refused system call, a bad setting) ends it while it starts,
 * well within the grace period; see supervisor.h and
 * foreign.c.
 */
void sup_promote(struct sup *s)
{
	for (size_t i = 0; s->o->serve_grace_ms && i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (alive(sl) && SB_LOAD(sl->generation) == s->gen &&
		    SB_LOAD(sl->state) == SLOT_STARTING &&
		    s->now - s->local[i].started >= (int64_t)s->o->serve_grace_ms)
			SB_STORE(sl->state, (uint32_t)SLOT_READY);
	}
}

/*
 * Why the current generation is failing, or NULL: a slot whose workers
 * failed (crashed, were killed, hung) twice or more in a row without
 * having served, and whose replacement, if any, has not shown it serves
 * yet. One failure, replaced at once, is not a loop; nor are workers that
 * serve and then die of a request (each replacement serves again).
 */
const char *sup_failing(struct sup *s)
{
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (SB_LOAD(sl->generation) == s->gen && s->local[i].unserved >= 2 &&
		    !(alive(sl) && SB_LOAD(sl->state) == SLOT_READY))
			return s->fail_why;
	}
	return NULL;
}

/* A worker that takes connections, or will in a moment (it is starting). */
static bool someone_accepts(struct sup *s)
{
	for (size_t i = 0; i < s->sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);

		if (alive(sl) && !s->local[i].retired && SB_LOAD(sl->state) != SLOT_DRAINING)
			return true;
	}
	return false;
}

/*
 * "failing" said once in the log when it begins, "serving again" when it
 * ends; while no worker can take connections at all, the waiting ones are
 * answered 503 with the reason (unavailable.h) instead of waiting for the
 * web server's timeout.
 */
void sup_check_failing(struct sup *s)
{
	const char *why = s->phase == RUNNING ? sup_failing(s) : NULL;
	size_t serving = sup_serving(s);

	if (s->o->allow && !s->unavail.gate) { /* the 503 answer's accept is gated too */
		s->gate = (struct gate){ .allow = s->o->allow, .from_what = s->o->allow_what,
					 .shared = &s->sb->refused_allow };
		s->unavail.gate = &s->gate;
	}
	gate_tick(&s->gate, s->now, false);

	if (why && !s->failing_said) {
		log_err("failing: %s; %s (the lines above say why each worker ended: fix the "
			"program or its configuration, then reload)", why,
			serving ? "some workers still serve"
				: "no worker serves: waiting connections are answered 503 until one "
				  "does");
		s->failing_said = true;
	} else if (!why && s->failing_said && s->phase == RUNNING) {
		log_notice("serving again: %zu worker(s) serving", serving);
		s->failing_said = false;
	}
	s->answering = why && s->phase == RUNNING && !someone_accepts(s);
	for (size_t i = 0; s->answering && i < (s->o->handoff ? s->o->nfds : 1); i++)
		if (unavailable_room(&s->unavail))
			unavailable_accept(&s->unavail, s->o->fds[i], s->now, why);
	unavailable_expire(&s->unavail, s->now);
}
