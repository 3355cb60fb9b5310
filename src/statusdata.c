/* SPDX-License-Identifier: MIT */
/* See statusdata.h: the snapshot, and the answer for each path (status.h). */
#include "statusdata.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "status.h"
#include "sup.h"

const char *const wstate_names[W_MAX] = { "idle", "busy", "starting", "draining" };
const char *const cause_names[CAUSE_MAX] = { "crash", "sandbox", "recycle", "request_timeout",
					     "hang", "oom", "exit" };

int bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/*
 * A unix listening socket's queue: sock_diag (NETLINK_SOCK_DIAG) by its
 * inode, UDIAG_SHOW_RQLEN: for a listener, the connections waiting for
 * accept() and the backlog. 0 or -errno.
 */
static int unix_queue(int fd, int64_t *q, int64_t *backlog)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} req = { .nh = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			  .nlmsg_flags = NLM_F_REQUEST },
		  .r = { .sdiag_family = AF_UNIX, .udiag_states = 1u << 10 /* TCP_LISTEN */,
			 .udiag_show = UDIAG_SHOW_RQLEN,
			 .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } } };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr nh;
		uint8_t b[4096];
	} resp;
	struct stat st;
	ssize_t n;
	int nl, r = -ENOENT;

	if (fstat(fd, &st) < 0)
		return -errno;
	req.r.udiag_ino = (uint32_t)st.st_ino;
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 }; /* the kernel answers at once */
	setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (sendto(nl, &req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
		r = -errno;
		close(nl);
		return r;
	}
	n = recv(nl, &resp, sizeof resp, 0);
	if (n < 0)
		r = -errno;
	for (struct nlmsghdr *h = &resp.nh; n > 0 && NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			r = e->error ? e->error : -ENOENT;
			break;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		struct unix_diag_msg *m = NLMSG_DATA(h);
		struct rtattr *a = (struct rtattr *)(m + 1);
		int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));

		for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == UNIX_DIAG_RQLEN &&
			    (size_t)RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen)) {
				const struct unix_diag_rqlen *rq = RTA_DATA(a);

				*q = rq->udiag_rqueue;
				*backlog = rq->udiag_wqueue;
				r = 0;
			}
		break;
	}
	close(nl);
	return r;
}

/* The first listening socket's queue now (and its longest seen, kept). */
void sup_sample_queue(struct sup *s, struct snap *sn)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int64_t q = -1, backlog = -1;
	int r = -ENOTSOCK, fd = s->o->nfds ? s->o->fds[0] : -1;
	const char *how = "sock_diag";

	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_UNIX) {
			r = unix_queue(fd, &q, &backlog);
		} else {
			/* a TCP listener's tcp_info: tcpi_unacked is its accept
			 * queue, tcpi_sacked its backlog (the kernel's
			 * tcp_get_info() for TCP_LISTEN) */
			struct tcp_info ti;
			socklen_t tl = sizeof ti;

			how = "tcp_info";
			r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0 ? -errno : 0;
			if (r == 0) {
				q = ti.tcpi_unacked;
				backlog = ti.tcpi_sacked;
			}
		}
	}
	if (r == 0 && (uint64_t)q > s->sb->sup.listen_queue_max)
		s->sb->sup.listen_queue_max = (uint64_t)q;
	if (!sn)
		return;
	sn->queue = q;
	sn->backlog = backlog;
	sn->queue_max = r == 0 ? (int64_t)s->sb->sup.listen_queue_max : -1;
	if (r == 0)
		snprintf(sn->how, sizeof sn->how, "%s", how);
	else
		snprintf(sn->how, sizeof sn->how, "unavailable: %s (%s)", strerror(-r), how);
}

/* Rss and Pss of a process in KiB, from /proc/PID/smaps_rollup (-1: unknown). */
static void memory(pid_t pid, int64_t *rss, int64_t *pss)
{
	char path[64], buf[2048];
	ssize_t n;
	int fd;

	*rss = *pss = -1;
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		long long v;

		if (sscanf(l, "Rss: %lld kB", &v) == 1)
			*rss = v;
		else if (sscanf(l, "Pss: %lld kB", &v) == 1)
			*pss = v;
	}
}

static void add(struct counters *t, const struct counters *c)
{
	const uint64_t *from = (const uint64_t *)(const void *)c;
	uint64_t *to = (uint64_t *)(void *)t;

	for (size_t i = 0; i < sizeof *c / sizeof(uint64_t); i++)
		to[i] += __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

/* The running request's method and URI (a seqlock, see struct slot_stats). */
static bool current(const struct slot_stats *st, char *method, char *uri)
{
	for (int tries = 0; tries < 4; tries++) {
		uint32_t a = __atomic_load_n(&st->seq, __ATOMIC_ACQUIRE);

		if (a & 1)
			continue;
		memcpy(method, st->method, sizeof st->method);
		memcpy(uri, st->uri, sizeof st->uri);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&st->seq, __ATOMIC_RELAXED) == a) {
			method[sizeof st->method - 1] = uri[sizeof st->uri - 1] = 0;
			return a != 0;
		}
	}
	return false;
}

void sup_counters_sync(struct sup *s)
{
	/* the supervisor's own 503 answers: kept in the scoreboard across a reload */
	if (s->unavail.answered > s->unavail_seen) {
		s->sb->sup.answered_503 += s->unavail.answered - s->unavail_seen;
		s->unavail_seen = s->unavail.answered;
	}
}

static int snapshot(struct sup *s, struct snap *sn)
{
	struct scoreboard *sb = s->sb;
	const char *why = s->phase == RUNNING ? sup_failing(s) : NULL;
	size_t k = 0;

	memset(sn, 0, sizeof *sn);
	sup_counters_sync(s);
	sn->instance = s->instance;
	sn->pid = getpid();
	sn->generation = s->gen;
	sn->reason = "";
	if (why) {
		sn->state = "failing";
		sn->reason = why;
	} else if (s->phase == STOPPING) {
		sn->state = "stopping";
	} else if (s->phase == RELOADING) {
		sn->state = "reloading";
	} else if (!sup_serving(s)) {
		sn->state = "starting";
	} else {
		sn->state = "serving";
	}
	sn->start_realtime_ms = sb->sup.start_realtime_ms;
	sup_sample_queue(s, sn);
	sn->t = sb->sup.exited;
	sn->t.refused += sb->sup.answered_503;
	sn->slow = sb->sup.slow;
	memcpy(sn->restarts, sb->sup.restarts, sizeof sn->restarts);
	sn->reloads_ok = sb->sup.reloads_ok;
	sn->reloads_rolled_back = sb->sup.reloads_rolled_back;
	sn->w = calloc(sb->hiwater ? sb->hiwater : 1, sizeof *sn->w);
	if (!sn->w)
		return -ENOMEM;
	for (size_t i = 0; i < sb->hiwater; i++) {
		struct slot *sl = slot_of(s, i);
		struct slot_stats *st = &sb->stats[i];
		struct snap_worker *w = &sn->w[k];
		uint32_t state = SB_LOAD(sl->state);
		int64_t busy = SB_LOAD(sl->busy_since);

		add(&sn->t, &st->c); /* a slot's are zero once folded (sup_counters_reaped) */
		if (!alive(sl))
			continue;
		w->pid = SB_LOAD(sl->pid);
		w->generation = SB_LOAD(sl->generation);
		w->state = state == SLOT_STARTING ? W_STARTING
			   : state == SLOT_DRAINING || s->local[i].retired ? W_DRAINING
			   : busy ? W_BUSY : W_IDLE;
		w->requests = SB_LOAD(sl->served);
		w->restarts = SB_LOAD(st->restarts);
		w->last_duration_us = SB_LOAD(st->last_duration_us);
		if (busy && current(st, w->method, w->uri)) {
			w->current = true;
			w->elapsed_ms = s->now - busy;
		}
		memory(w->pid, &w->rss_kib, &w->pss_kib);
		sn->by_state[w->state]++;
		sn->conns_open += SB_LOAD(sl->conns);
		k++;
	}
	sn->nw = k;
	return 0;
}

/* The last segment of the path. */
static const char *last_segment(const char *path)
{
	const char *p = strrchr(path, '/');

	return p ? p + 1 : path;
}

int status_answer(struct sup *s, const char *path, const char *accept, struct buf *body,
		  const char **ret_type)
{
	const char *what = last_segment(path);
	struct snap sn;
	struct timespec ts;
	int r;

	if (!strcmp(what, "ping")) {
		*ret_type = "text/plain; charset=utf-8";
		return bprintf(body, "pong\n") < 0 ? 500 : 200;
	}
	if (strcmp(what, "metrics") && strcmp(what, "status")) {
		*ret_type = "text/plain; charset=utf-8";
		bprintf(body, "404 Not Found: the status socket answers .../metrics, .../status "
			"and .../ping\n");
		return 404;
	}
	r = snapshot(s, &sn);
	clock_gettime(CLOCK_REALTIME, &ts);
	sn.uptime_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - sn.start_realtime_ms;
	if (r == 0 && !strcmp(what, "status")) {
		*ret_type = "application/json";
		r = metrics_json(&sn, body);
	} else if (r == 0) {
		/* OpenMetrics unless the scraper asks for the older text format only */
		bool om = !strstr(accept, "text/plain") ||
			  strstr(accept, "application/openmetrics-text");

		*ret_type = om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
			       : "text/plain; version=0.0.4; charset=utf-8";
		r = metrics_text(&sn, om, body);
	}
	free(sn.w);
	if (r < 0) {
		buf_reset(body, 0);
		*ret_type = "text/plain; charset=utf-8";
		bprintf(body, "500: %s\n", strerror(-r));
		return 500;
	}
	return 200;
}
