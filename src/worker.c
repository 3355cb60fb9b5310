/* SPDX-License-Identifier: MIT */
/* The worker's event loop: listeners, connections, signals, timeouts. */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "conn.h"
#include "evict.h"
#include "fdpass.h"
#include "log.h"
#include "request.h"
#include "scoreboard.h"
#include "spill.h"
#include "supervisor.h"
#include "wstats.h"

#define MAX_EVENTS 64
#define ACCEPT_BURST 32 /* one worker alone: take the whole backlog per wake-up */
/* A connection just accepted, or a request just begun, counts as work in
 * hand this long while its request is still arriving (a web server sends
 * it at once), and only while another worker holds nothing at all: so that
 * slow or silent peers cannot keep workers from accepting. */
#define ARRIVAL_GRACE_MS 100
/* Handlers that take this long (recent average) make passing idle
 * connections on worth its cost (a trip through the supervisor each);
 * shorter ones are over before a request on them would notice. */
#define PASS_ON_MIN_MS 10
/* Out of descriptors: accept() is tried again this often (the sweep) for
 * those the application frees; a connection of ours closing retries at once. */
#define STARVED_RETRY_MS 100
/* ...and the episode is over once accept() finds nothing more waiting, or
 * has not failed for this long (a busy worker may never see the backlog
 * empty): a descriptor freed and taken at once by the next connection in
 * the backlog is not the end of it. */
#define STARVED_OVER_MS 1000

int64_t worker_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sweep_period(const struct settings *s)
{
	uint32_t m = s->read_timeout_ms;

	if (s->write_timeout_ms < m)
		m = s->write_timeout_ms;
	if (s->conn_idle_timeout_ms < m)
		m = s->conn_idle_timeout_ms;
	if (s->params_timeout_ms < m)
		m = s->params_timeout_ms;
	if (s->body_min_rate && s->body_timeout_ms < m)
		m = s->body_timeout_ms;
	m /= 4;
	return m < 10 ? 10 : m > 1000 ? 1000 : (int)m;
}

static int listen_ctl(struct worker *w, struct listener *l, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = l };

	if (epoll_ctl(w->epfd, op, l->fd, op == EPOLL_CTL_DEL ? NULL : &ev) < 0) {
		log_err("epoll_ctl(%s, listening fd %d): %m", op == EPOLL_CTL_DEL ? "DEL" : "ADD",
			l->fd);
		return -errno;
	}
	l->polled = op == EPOLL_CTL_ADD;
	return 0;
}

/* A request or a connection on its way (see ARRIVAL_GRACE_MS). */
static bool arriving(const struct worker *w)
{
	int64_t since = w->now_ms - ARRIVAL_GRACE_MS;

	for (const struct conn *c = w->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (c->opened_ms > since && (c->fresh || buf_used(&c->in)))
			return true;
		for (const struct request *r = c->reqs; r; r = r->conn_next)
			if (request_arriving_since(r, since))
				return true;
	}
	return false;
}

/*
 * Work in hand: a request running or queued, or one on its way while
 * another worker is free. With other workers on the same sockets, a worker
 * holding work stops listening (see listeners_sync): a connection it
 * accepted now would wait behind that work while another worker might be
 * idle.
 */
static bool has_work(const struct worker *w)
{
	if (w->current || w->ready_head)
		return true;
	return w->slot && arriving(w) && supervisor_other_idle(w->slot, true);
}

/*
 * Listening sockets are in the epoll set only while this worker should
 * take new connections: not draining, not at max_conns or out of
 * descriptors, and, when other workers share the sockets, holding no work.
 * The kernel wakes one idle waiter per connection (EPOLLEXCLUSIVE), so a
 * worker out of the set leaves new connections to the idle ones; one that
 * comes back while connections wait in the backlog sees them at once.
 */
static bool listeners_sync(struct worker *w)
{
	bool busy = w->nworkers > 1 && has_work(w);
	bool want = !w->draining && !w->paused_listeners && !busy;

	for (size_t i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];

		if (l->fd >= 0 && l->polled != want)
			listen_ctl(w, l, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL);
	}
	/* out only for work on its way: back in when its grace is over */
	return busy && !w->current && !w->ready_head;
}

static void listeners_pause(struct worker *w, bool pause)
{
	w->paused_listeners = pause;
	(void)listeners_sync(w);
}

int worker_init(struct worker *w, const struct settings *set, const int *fds, size_t nfds)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;

	memset(w, 0, sizeof *w);
	w->sigfd = -1;
	w->chan = -1;
	w->spill_fd[0] = w->spill_fd[1] = -1;
	w->set = *set;
	w->nworkers = 1;
	w->now_ms = worker_clock_ms();
	w->next_sweep_ms = w->now_ms + sweep_period(set);
	w->allowed_addrs = getenv("FCGI_WEB_SERVER_ADDRS");
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	w->listeners = calloc(nfds ? nfds : 1, sizeof *w->listeners);
	if (!w->listeners)
		return -ENOMEM;
	for (size_t i = 0; i < nfds; i++) {
		struct listener *l = &w->listeners[i];
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fl = fcntl(fds[i], F_GETFL);

		l->kind = EV_LISTENER;
		l->fd = fds[i];
		w->nlisteners++;
		/* Several workers wait on the same socket: never block in accept. */
		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
		if (getsockname(fds[i], (struct sockaddr *)&ss, &len) == 0)
			l->tcp = ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
		if (listen_ctl(w, l, EPOLL_CTL_ADD) < 0)
			return -errno;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	w->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sigfd < 0)
		return -errno;
	w->sig_kind = EV_SIGNAL;
	ev.data.ptr = &w->sig_kind;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->sigfd, &ev) < 0)
		return -errno;
	return 0;
}

static void reap(struct worker *w)
{
	struct conn **pp = &w->graveyard;

	while (*pp) {
		struct conn *c = *pp;

		if (c->running) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		conn_free(c);
	}
}

void worker_free(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns, NULL);
	for (struct conn *c = w->graveyard; c; c = c->next)
		c->running = 0;
	reap(w);
	request_pool_drain(w);
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i].fd >= 0)
			close(w->listeners[i].fd);
	free(w->listeners);
	if (w->sigfd >= 0)
		close(w->sigfd);
	if (w->chan >= 0)
		close(w->chan);
	if (w->epfd >= 0)
		close(w->epfd);
	spill_close(w);
	memset(w, 0, sizeof *w);
	w->epfd = w->sigfd = w->chan = -1;
	w->spill_fd[0] = w->spill_fd[1] = -1;
}

/* FCGI_WEB_SERVER_ADDRS (FastCGI §3.2): comma-separated IP addresses. */
static bool addr_allowed(const char *list, const struct sockaddr_storage *ss, char *ret_text,
			 size_t len)
{
	const void *a = ss->ss_family == AF_INET6
				? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
				: (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (!inet_ntop(ss->ss_family, a, ret_text, (socklen_t)len))
		return false;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ", ");

		if (n == strlen(ret_text) && strncmp(p, ret_text, n) == 0)
			return true;
		p += n;
		p += strspn(p, ", ");
	}
	return false;
}

/*
 * Out of descriptors (EMFILE, ENFILE) or of kernel memory (ENOBUFS, ENOMEM):
 * accept() fails at once, over and over, while the listener keeps waking
 * us. Accepting pauses until a connection of ours closes (or the sweep's
 * retry); one line says so when an episode begins, one when it ends.
 */
static void starved(struct worker *w, int err)
{
	struct rlimit rl = { 0 };

	listeners_pause(w, true);
	w->next_sweep_ms = w->now_ms + STARVED_RETRY_MS;
	w->starved_last = w->now_ms;
	if (w->starved_since) {
		w->starved_retries++;
		return;
	}
	w->starved_since = w->now_ms > 0 ? w->now_ms : 1;
	w->starved_retries = 0;
	w->starved_err = err;
	if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_err("accept: %s (nofile soft limit %llu, %u connections open): not accepting "
			"until a descriptor is free; raise LimitNOFILE= (the hard limit) or lower "
			"max_conns",
			strerror(err), (unsigned long long)rl.rlim_cur, w->nconns);
	else if (err == EMFILE || err == ENFILE)
		log_err("accept: %s (%u connections open): not accepting until a descriptor is "
			"free; %s",
			strerror(err), w->nconns,
			err == ENFILE ? "raise fs.file-max (sysctl)" : "raise LimitNOFILE=");
	else
		log_err("accept: %s (%u connections open): not accepting until memory is free",
			strerror(err), w->nconns);
}

/* accept() succeeded, or (drained) found a descriptor free with nothing waiting. */
static void fed(struct worker *w, bool drained)
{
	int64_t took;

	if (!w->starved_since || (!drained && w->now_ms - w->starved_last < STARVED_OVER_MS))
		return;
	took = w->now_ms - w->starved_since;
	log_notice("accept: accepting again after %lld.%01lld s without %s (%llu attempt(s) "
		   "failed meanwhile)",
		   (long long)(took / 1000), (long long)(took % 1000 / 100),
		   w->starved_err == EMFILE || w->starved_err == ENFILE ? "a free descriptor"
									 : "free memory",
		   (unsigned long long)w->starved_retries);
	w->starved_since = 0;
}

static void accept_some(struct worker *w, struct listener *l)
{
	/* With other workers waiting, one connection per wake-up: the next one
	 * goes to a worker that is idle, not behind this one's request. */
	int burst = w->nworkers > 1 ? 1 : ACCEPT_BURST;
	/* Woken for a connection in the same round as for work of ours: take
	 * it (the kernel woke no other worker for it) but leave it unread, so
	 * that it can still go to an idle worker (pass_idle_on). */
	bool busy = w->nworkers > 1 && has_work(w);
	bool full = false; /* at max_conns with no connection to close */

	for (int i = 0; i < burst; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		char text[INET6_ADDRSTRLEN];
		struct conn *c, *victim = NULL;
		int fd;

		/* chosen before accept, closed only once a connection needs its place */
		if (w->nconns >= w->set.max_conns && !(victim = evict_choose(w))) {
			full = true;
			break;
		}
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				starved(w, errno);
			else if (errno == EAGAIN)
				fed(w, true); /* a descriptor was free: nothing waits */
			else
				log_err("accept on fd %d: %m", l->fd);
			break;
		}
		fed(w, false);
		WSTATS_ADD(w->stats, accepted, 1);
		if (l->tcp && w->allowed_addrs &&
		    !addr_allowed(w->allowed_addrs, &ss, text, sizeof text)) {
			WSTATS_ADD(w->stats, refused_allow, 1);
			log_warning("refused a connection from %s: not in FCGI_WEB_SERVER_ADDRS", text);
			close(fd);
			continue;
		}
		if (victim)
			evict_close(w, victim);
		if (l->tcp)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c = conn_new(w, fd);
		if (c) {
			c->fresh = true;
			/* The first request is usually in already (nginx writes it
			 * right after connect): read it now, not after another
			 * round of epoll_wait with the listener out of the set. */
			if (!busy)
				conn_event(c, EPOLLIN);
		}
		if (w->slot)
			SB_STORE(w->slot->conns, w->nconns);
	}
	if (full && !w->paused_listeners) {
		/* back as soon as one has had its grace (room_ms), else at a close */
		if (evict_victim(w, &w->room_ms)) {
			w->room_ms = w->now_ms + 10; /* its request was waiting unread */
		} else if (w->room_ms == INT64_MAX) {
			w->room_ms = 0;
			log_notice("max_conns=%u connections open, none idle or arriving slowly: "
				   "new ones wait in the backlog (raise max_conns or workers)",
				   w->set.max_conns);
		}
		listeners_pause(w, true);
	}
}

/*
 * Listening again after running out (a connection closed, or the sweep's
 * retry): accept() says at once whether a descriptor is free, even with
 * nothing waiting (it takes one first). Still out: the retry is due sooner
 * than the wait the caller asked for.
 */
static int starved_probe(struct worker *w, int timeout_ms)
{
	int64_t left;

	for (size_t i = 0; !w->paused_listeners && i < w->nlisteners; i++)
		if (w->listeners[i].fd >= 0 && w->listeners[i].polled)
			accept_some(w, &w->listeners[i]);
	if (!w->starved_since || !w->paused_listeners)
		return timeout_ms;
	left = w->next_sweep_ms - w->now_ms;
	left = left < 0 ? 0 : left;
	return timeout_ms < 0 || timeout_ms > left ? (int)left : timeout_ms;
}

void worker_conn_closed(struct worker *w)
{
	if (w->slot) {
		SB_STORE(w->slot->conns, w->nconns);
		SB_STORE(w->slot->last_active, w->now_ms);
	}
	if (w->paused_listeners && !w->draining && w->nconns < w->set.max_conns)
		listeners_pause(w, false);
}

static void on_signal(struct worker *w)
{
	struct signalfd_siginfo si;

	while (read(w->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			log_notice("SIGHUP: nothing to reload in a single process; run under "
				   "'sfcgi run' or with --workers to reload");
			continue;
		}
		if (si.ssi_signo == SIGUSR1 && w->chan >= 0) {
			/* the supervisor's reload: the next generation takes over */
			log_debug("handing %u connection(s) over to the next generation", w->nconns);
			worker_drain(w, true);
			continue;
		}
		log_info("%s: finishing %u connection(s), then exiting", strsignal((int)si.ssi_signo),
			 w->nconns);
		worker_drain(w, false);
	}
}

/* Connections handed over by the supervisor (another worker's, on reload). */
static void on_chan(struct worker *w)
{
	int fd;

	while ((fd = fd_recv(w->chan, NULL)) >= 0) {
		conn_new(w, fd);
		if (w->slot)
			SB_STORE(w->slot->conns, w->nconns);
	}
	if (fd == -EPIPE || fd == -ECONNRESET)
		/* its end closed: the supervisor died (its SIGTERM, PR_SET_PDEATHSIG, drains us) */
		log_warning("the supervisor is gone (handoff channel closed): no connections are "
			    "handed over any more");
	else if (fd != -EAGAIN)
		log_err("handoff channel: %s", strerror(-fd));
	if (fd != -EAGAIN) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->chan, NULL);
		close(w->chan);
		w->chan = -1;
	}
}

int worker_handoff(struct worker *w, int fd)
{
	return w->chan < 0 ? -ENOTCONN : fd_send(w->chan, fd);
}

static void sweep(struct worker *w)
{
	struct conn *c, *next;

	for (c = w->conns; c; c = next) {
		const char *what = "";
		int64_t d = conn_deadline(c, &what);

		next = c->next;
		if (w->draining) {
			conn_update(c); /* a fresh connection's grace may be over */
			if (c->dead)
				continue;
		}
		if (d > w->now_ms)
			continue;
		if (buf_used(&c->out))
			log_warning("fd %d: peer read nothing for %u ms (write_timeout)", c->fd,
				    w->set.write_timeout_ms);
		else if (!strcmp(what, "params_timeout"))
			log_warning("fd %d: a request's params did not arrive within %u ms of its "
				    "start (params_timeout): closing the connection",
				    c->fd, w->set.params_timeout_ms);
		else if (!strcmp(what, "body_min_rate"))
			log_warning("fd %d: a request body arrived slower than body_min_rate=%u "
				    "bytes/s after body_timeout: closing the connection",
				    c->fd, w->set.body_min_rate);
		else if (c->reqs || buf_used(&c->in))
			log_warning("fd %d: peer sent nothing for %u ms mid-request (read_timeout)",
				    c->fd, w->set.read_timeout_ms);
		else
			log_debug("fd %d: idle for %u ms, closing", c->fd, w->set.conn_idle_timeout_ms);
		conn_close(c, NULL);
	}
	if (w->paused_listeners && !w->draining &&
	    (w->nconns < w->set.max_conns || evict_victim(w, NULL)))
		listeners_pause(w, false);
	if (w->nconns == 0 && w->dirty_heap) {
		/* Idle: give the freed connection and request buffers back, so an
		 * idle worker holds what it holds at start, not its busiest moment. */
		request_pool_drain(w);
		malloc_trim(0);
		w->dirty_heap = false;
	}
	if (w->watchdog_ms && w->now_ms >= w->next_watchdog_ms) {
		activation_notify("WATCHDOG=1");
		w->next_watchdog_ms = w->now_ms + (int64_t)w->watchdog_ms / 2;
	}
	{
		int64_t due = w->now_ms + sweep_period(&w->set);

		/* keep an earlier sweep asked for meanwhile (a handoff to retry) */
		if (!(w->next_sweep_ms > w->now_ms && w->next_sweep_ms < due))
			w->next_sweep_ms = due;
	}
}

/*
 * A request on an idle connection of ours while another request is queued
 * to run first, between handlers: read now, it would wait for that one.
 * Left unread, the connection can still go to an idle worker when the
 * queued request starts (pass_idle_on); if it does not, the next round of
 * epoll_wait reports it again. Never inside a handler (w->current), whose
 * waits would find it ready again and again.
 */
static bool leave_unread(const struct worker *w, const struct conn *c, uint32_t events)
{
	return w->nworkers > 1 && w->handler_ms >= PASS_ON_MIN_MS && !w->current &&
	       w->ready_head && !(events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) && conn_idle(c);
}

int worker_poll(struct worker *w, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n;

	reap(w);
	if (listeners_sync(w) && (timeout_ms < 0 || timeout_ms > ARRIVAL_GRACE_MS))
		timeout_ms = ARRIVAL_GRACE_MS;
	if (w->room_ms) {
		int64_t left = w->room_ms - w->now_ms;

		left = left < 0 ? 0 : left;
		if (timeout_ms < 0 || timeout_ms > left)
			timeout_ms = (int)left;
	}
	if (w->starved_since)
		timeout_ms = starved_probe(w, timeout_ms);
	n = epoll_wait(w->epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	w->now_ms = worker_clock_ms();
	log_tick(w->now_ms);
	for (int i = 0; i < n; i++) {
		int kind = *(int *)evs[i].data.ptr;

		if (kind == EV_CONN) {
			struct conn *c = evs[i].data.ptr;

			if (!c->dead && !leave_unread(w, c, evs[i].events))
				conn_event(c, evs[i].events);
		} else if (kind == EV_LISTENER) {
			struct listener *l = evs[i].data.ptr;

			if (l->fd >= 0 && l->polled)
				accept_some(w, l);
		} else if (kind == EV_CHAN) {
			if (w->chan >= 0)
				on_chan(w);
		} else {
			on_signal(w);
		}
	}
	if (w->room_ms && w->now_ms >= w->room_ms) {
		/* at max_conns: a connection has had its grace, make room for the next */
		w->room_ms = 0;
		if (w->paused_listeners && !w->draining && w->nconns >= w->set.max_conns &&
		    evict_victim(w, NULL))
			listeners_pause(w, false);
	}
	if (w->now_ms >= w->next_sweep_ms)
		sweep(w);
	reap(w);
	return n < 0 ? 0 : n;
}

void worker_enqueue(struct worker *w, struct request *r)
{
	r->queued = true;
	r->ready_next = NULL;
	r->ready_prev = w->ready_tail;
	if (w->ready_tail)
		w->ready_tail->ready_next = r;
	else
		w->ready_head = r;
	w->ready_tail = r;
}

void worker_dequeue(struct worker *w, struct request *r)
{
	if (!r->queued)
		return;
	if (r->ready_prev)
		r->ready_prev->ready_next = r->ready_next;
	else
		w->ready_head = r->ready_next;
	if (r->ready_next)
		r->ready_next->ready_prev = r->ready_prev;
	else
		w->ready_tail = r->ready_prev;
	r->ready_prev = r->ready_next = NULL;
	r->queued = false;
}

/*
 * A request is about to run: our other connections with nothing in
 * progress (kept ones the web server may send its next request on at any
 * moment, or one just accepted) would wait until the handler returns.
 * While another worker is idle they go to it, through the supervisor as
 * at a reload; the peer sees nothing.
 */
static void pass_idle_on(struct worker *w, const struct conn *mine)
{
	struct conn *c, *next;
	unsigned n = 0;
	bool any = false;

	if (w->nworkers < 2 || w->chan < 0 || !w->slot || w->draining ||
	    w->handler_ms < PASS_ON_MIN_MS)
		return;
	for (c = w->conns; c && !any; c = c->next)
		any = c != mine && conn_idle(c);
	if (!any || !supervisor_other_idle(w->slot, false))
		return;
	for (c = w->conns; c; c = next) {
		int r;

		next = c->next;
		if (c == mine || !conn_idle(c))
			continue;
		r = conn_pass_on(c);
		if (r < 0) {
			if (r != -EAGAIN)
				log_warning("fd %d: passing an idle connection on: %s; keeping it",
					    c->fd, strerror(-r));
			break;
		}
		n++;
	}
	if (w->slot)
		SB_STORE(w->slot->conns, w->nconns);
	log_debug("a request starts: %u idle connection(s) passed on to an idle worker", n);
}

int worker_next(struct worker *w, struct request **ret)
{
	for (;;) {
		struct request *r = w->ready_head;
		int64_t left;
		int k;

		if (r) {
			worker_dequeue(w, r);
			r->phase = REQ_RUNNING;
			r->c->running++;
			w->current = r;
			if (w->slot) {
				SB_STORE(w->slot->req_fd, r->c->fd);
				SB_STORE(w->slot->req_id, r->id);
				SB_STORE(w->slot->req_clean, (uint8_t)!buf_used(&r->c->out));
				SB_STORE(w->slot->busy_since, w->now_ms ? w->now_ms : 1);
			}
			wstats_begin(w, r);
			if (w->nworkers > 1) /* for pass_idle_on() only */
				w->started_ms = worker_clock_ms();
			pass_idle_on(w, r->c);
			*ret = r;
			return 1;
		}
		if (w->draining && w->nconns == 0)
			return 0;
		left = w->next_sweep_ms - w->now_ms;
		k = worker_poll(w, left < 0 ? 0 : (int)left);
		if (k < 0)
			return k;
	}
}

void worker_drain(struct worker *w, bool handoff)
{
	struct conn *c, *next;

	if (w->draining)
		return;
	w->draining = true;
	w->handoff = handoff && w->chan >= 0;
	if (w->slot)
		SB_STORE(w->slot->state, (uint32_t)SLOT_DRAINING);
	activation_notify("STOPPING=1");
	for (size_t i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];

		/* Our copy only: systemd keeps the socket and its backlog. */
		if (l->fd >= 0) {
			close(l->fd);
			l->fd = -1;
			l->polled = false;
		}
	}
	for (c = w->conns; c; c = next) {
		next = c->next;
		conn_update(c);
	}
}

void worker_request_done(struct worker *w)
{
	if (w->nworkers > 1) {
		int64_t took = worker_clock_ms() - w->started_ms;

		/* 3/4 of the old average, 1/4 of this one: a few slow requests
		 * in a row are enough, and as few fast ones end it */
		took = took < 0 ? 0 : took > 3600000 ? 3600000 : took;
		w->handler_ms = (uint32_t)((3 * (int64_t)w->handler_ms + took) / 4);
	}
	wstats_end(w, w->current);
	w->current = NULL;
	w->served++;
	if (w->slot) {
		SB_STORE(w->slot->busy_since, 0);
		SB_STORE(w->slot->served, w->served);
		SB_STORE(w->slot->last_active, w->now_ms);
	}
	if (w->max_requests && w->served >= w->max_requests && !w->draining) {
		log_info("served %llu requests (max_requests): finishing%s",
			 (unsigned long long)w->served, w->slot ? "; a fresh worker takes over" : "");
		if (w->slot)
			SB_STORE(w->slot->recycle, 1);
		worker_drain(w, true);
	}
}

static struct slot *timeout_slot;

/*
 * request_timeout: the supervisor sends SIGUSR2 to a worker stuck in a
 * handler. If nothing of the response went out yet, the web server gets a
 * clean 504 and END_REQUEST (only async-signal-safe calls here); either
 * way the worker exits and a fresh one replaces it.
 */
static void on_request_timeout(int sig)
{
	static const char body[] = "Status: 504 Gateway Timeout\r\nContent-Type: text/plain\r\n\r\n"
				   "the application did not answer within request_timeout\n";
	struct slot *sl = timeout_slot;
	uint8_t out[sizeof body + 64];
	size_t n = 0, len = sizeof body - 1;

	(void)sig;
	if (sl && sl->busy_since && sl->req_clean) {
		n += fcgi_header_encode(out, FCGI_STDOUT, sl->req_id, (uint16_t)len, fcgi_padding_for(len));
		memcpy(out + n, body, len);
		n += len;
		memset(out + n, 0, fcgi_padding_for(len));
		n += fcgi_padding_for(len);
		n += fcgi_header_encode(out + n, FCGI_STDOUT, sl->req_id, 0, 0);
		n += fcgi_end_request_encode(out + n, sl->req_id, 504, FCGI_REQUEST_COMPLETE);
		if (write(sl->req_fd, out, n) < 0) {
			/* the connection closes with the process anyway */
		}
	}
	_exit(70);
}

void worker_attach_slot(struct worker *w, struct slot *slot)
{
	struct sigaction sa = { .sa_handler = on_request_timeout };
	struct epoll_event ev = { .events = EPOLLIN };

	w->slot = slot;
	w->stats = supervisor_slot_stats(slot);
	if (slot->wchan >= 0) {
		w->chan = slot->wchan;
		w->chan_kind = EV_CHAN;
		ev.data.ptr = &w->chan_kind;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->chan, &ev) < 0) {
			log_err("handoff channel: epoll_ctl: %m");
			close(w->chan);
			w->chan = -1;
		}
	}
	timeout_slot = slot;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
}
