/* SPDX-License-Identifier: MIT */
/*
 * At max_conns, a new connection takes the place of another instead of
 * waiting in the backlog: the kept connection idle longest, else the
 * request arriving slowest. So slow or silent peers cannot hold every
 * place while the web server's connections wait.
 */
#include "evict.h"

#include <stdint.h>
#include <sys/epoll.h>

#include "conn.h"
#include "log.h"
#include "worker.h"
#include "wstats.h"

/* At max_conns a new connection gets the place of an idle kept one, never
 * one that was busy this recently: nginx keeps its idle upstream
 * connections most recently used first (ngx_http_upstream_keepalive_module
 * puts a freed one at the head of its cache and takes the head), so the
 * one idle longest is the last it would send a request on. */
#define EVICT_IDLE_MS 1000
/* ... or of the slowest sender, once its request had this long to arrive
 * (a web server sends its params in one write) */
#define EVICT_ARRIVAL_MS 1000

/*
 * At max_conns: the connection whose place a new one takes, or NULL (then
 * new connections wait in the backlog). First the kept connection idle
 * longest (EVICT_IDLE_MS at least), then the request arriving slowest
 * (fewest bytes a second since it began, EVICT_ARRIVAL_MS at least): a
 * slow or silent peer cannot hold a place a web server needs. Never one
 * whose request is queued, running or being answered.
 */
struct conn *evict_victim(const struct worker *w, int64_t *ret_next)
{
	struct conn *idle = NULL, *slow = NULL;
	int64_t idle_since = INT64_MAX, slow_since = 0, next = INT64_MAX;
	uint64_t slow_bytes = 0;

	for (struct conn *c = w->conns; c; c = c->next) {
		int64_t since = conn_idle_since(c);
		uint64_t bytes;

		if (since >= 0) {
			if (w->now_ms - since >= EVICT_IDLE_MS && since < idle_since) {
				idle = c;
				idle_since = since;
			}
			if (since + EVICT_IDLE_MS < next)
				next = since + EVICT_IDLE_MS;
			continue;
		}
		if (!conn_arriving(c, &since, &bytes))
			continue;
		if (w->now_ms - since < EVICT_ARRIVAL_MS) {
			if (since + EVICT_ARRIVAL_MS < next)
				next = since + EVICT_ARRIVAL_MS;
			continue;
		}
		if (idle)
			continue;
		/* bytes / age below the slowest so far; older on a tie */
		if (!slow || (double)bytes * (double)(w->now_ms - slow_since) <
				     (double)slow_bytes * (double)(w->now_ms - since) ||
		    (bytes * (uint64_t)(w->now_ms - slow_since) ==
			     slow_bytes * (uint64_t)(w->now_ms - since) &&
		     since < slow_since)) {
			slow = c;
			slow_since = since;
			slow_bytes = bytes;
		}
	}
	if (ret_next)
		*ret_next = next;
	return idle ? idle : slow;
}

/*
 * The victim, but not one whose bytes wait unread in its socket: a kept
 * connection whose next request the web server has just written, or one
 * accepted while we were busy and left unread. That one is read now (it
 * is no longer idle, or no longer silent) and another is chosen. What
 * remains is a request written between this look and the close.
 */
struct conn *evict_choose(struct worker *w)
{
	struct conn *c = evict_victim(w, NULL);

	for (int i = 0; i < 4 && c && conn_unread(c); i++) {
		conn_event(c, EPOLLIN);
		c = evict_victim(w, NULL);
	}
	return c && conn_unread(c) ? NULL : c;
}

void evict_close(struct worker *w, struct conn *c)
{
	int64_t since;
	uint64_t bytes;

	WSTATS_ADD(w->stats, refused_limit, 1);
	if (conn_idle_since(c) >= 0)
		log_info("max_conns=%u reached: closed a kept connection idle for %lld ms to make "
			 "room for a new one (raise max_conns if the web server keeps more)",
			 w->set.max_conns, (long long)(w->now_ms - c->last_io_ms));
	else if (conn_arriving(c, &since, &bytes))
		log_warning("max_conns=%u reached: closed the slowest sender (%llu bytes in %lld "
			    "ms) to make room for a new connection",
			    w->set.max_conns, (unsigned long long)bytes,
			    (long long)(w->now_ms - since));
	conn_close(c, NULL);
}
