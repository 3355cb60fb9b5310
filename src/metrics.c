/* SPDX-License-Identifier: MIT */
/*
 * A snapshot (statusdata.h) written out: /status as JSON (the fields of
 * the status socket's contract, docs/metrics.md), /metrics as OpenMetrics
 * 1.0 text or Prometheus text 0.0.4. The two text formats differ in the
 * counters' family names (OpenMetrics: without "_total", which only its
 * samples carry) and in the closing "# EOF".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "statusdata.h"

#define TRY(x)                  \
	do {                    \
		if ((x) < 0)    \
			return -ENOMEM; \
	} while (0)

/* s as a JSON string (quotes, escapes; bytes >= 0x80 pass as they are). */
static int json_str(struct buf *b, const char *s)
{
	TRY(bprintf(b, "\""));
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			TRY(bprintf(b, "\\%c", ch));
		else if (ch < 0x20 || ch == 0x7f)
			TRY(bprintf(b, "\\u%04x", ch));
		else
			TRY(bprintf(b, "%c", ch));
	}
	return bprintf(b, "\"");
}

static int json_worker(struct buf *b, const struct snap_worker *w)
{
	TRY(bprintf(b, "{\"pid\": %d, \"generation\": %u, \"state\": \"%s\", \"requests\": %" PRIu64
		    ", \"restarts\": %u, \"current\": ", w->pid, w->generation,
		    wstate_names[w->state], w->requests, w->restarts));
	if (w->current) {
		TRY(bprintf(b, "{\"method\": "));
		TRY(json_str(b, w->method));
		TRY(bprintf(b, ", \"uri\": "));
		TRY(json_str(b, w->uri));
		TRY(bprintf(b, ", \"elapsed_ms\": %" PRId64 "}", w->elapsed_ms));
	} else {
		TRY(bprintf(b, "null"));
	}
	TRY(bprintf(b, ", \"last_duration_ms\": %.3f", (double)w->last_duration_us / 1000));
	if (w->rss_kib >= 0)
		TRY(bprintf(b, ", \"rss_kib\": %" PRId64 ", \"pss_kib\": %" PRId64, w->rss_kib,
			    w->pss_kib));
	else
		TRY(bprintf(b, ", \"rss_kib\": null, \"pss_kib\": null"));
	return bprintf(b, "}");
}

int metrics_json(const struct snap *sn, struct buf *b)
{
	const struct counters *t = &sn->t;

	TRY(bprintf(b, "{\"instance\": "));
	TRY(json_str(b, sn->instance));
	TRY(bprintf(b, ", \"pid\": %d, \"generation\": %u, \"state\": \"%s\", \"state_reason\": ",
		    (int)sn->pid, sn->generation, sn->state));
	TRY(json_str(b, sn->reason));
	TRY(bprintf(b, ",\n \"start_time\": %.3f, \"uptime_s\": %.3f,\n",
		    (double)sn->start_realtime_ms / 1000, (double)sn->uptime_ms / 1000));
	TRY(bprintf(b, " \"listen\": {\"queue\": "));
	TRY(sn->queue >= 0 ? bprintf(b, "%" PRId64, sn->queue) : bprintf(b, "null"));
	TRY(bprintf(b, ", \"queue_max\": "));
	TRY(sn->queue_max >= 0 ? bprintf(b, "%" PRId64, sn->queue_max) : bprintf(b, "null"));
	TRY(bprintf(b, ", \"backlog\": "));
	TRY(sn->backlog >= 0 ? bprintf(b, "%" PRId64, sn->backlog) : bprintf(b, "null"));
	TRY(bprintf(b, ", \"how\": "));
	TRY(json_str(b, sn->how));
	TRY(bprintf(b, "},\n \"connections\": {\"accepted\": %" PRIu64 ", \"open\": %" PRIu64
		    ", \"refused_limit\": %" PRIu64 ", \"refused_allow\": %" PRIu64 "},\n",
		    t->accepted, sn->conns_open, t->refused_limit, t->refused_allow));
	TRY(bprintf(b, " \"requests\": {\"total\": %" PRIu64 ", \"completed\": %" PRIu64
		    ", \"aborted\": %" PRIu64 ", \"timed_out\": %" PRIu64 ", \"refused\": %" PRIu64
		    ", \"slow\": %" PRIu64 ", \"responder\": %" PRIu64 ", \"authorizer\": %" PRIu64
		    ", \"filter\": %" PRIu64 "},\n",
		    t->completed + t->aborted + t->timed_out + t->refused, t->completed, t->aborted,
		    t->timed_out, t->refused, sn->slow, t->role[0], t->role[1], t->role[2]));
	TRY(bprintf(b, " \"bytes\": {\"in\": %" PRIu64 ", \"out\": %" PRIu64 "},\n", t->bytes_in,
		    t->bytes_out));
	TRY(bprintf(b, " \"workers_by_state\": {"));
	for (int i = 0; i < W_MAX; i++)
		TRY(bprintf(b, "%s\"%s\": %" PRIu64, i ? ", " : "", wstate_names[i], sn->by_state[i]));
	TRY(bprintf(b, "},\n \"restarts\": {"));
	for (int i = 0; i < CAUSE_MAX; i++)
		TRY(bprintf(b, "%s\"%s\": %" PRIu64, i ? ", " : "", cause_names[i], sn->restarts[i]));
	TRY(bprintf(b, "},\n \"reloads\": {\"ok\": %" PRIu64 ", \"rolled_back\": %" PRIu64 "},\n",
		    sn->reloads_ok, sn->reloads_rolled_back));
	TRY(bprintf(b, " \"workers\": ["));
	for (size_t i = 0; i < sn->nw; i++) {
		TRY(bprintf(b, "%s\n  ", i ? "," : ""));
		TRY(json_worker(b, &sn->w[i]));
	}
	return bprintf(b, "\n ]\n}\n");
}

/* A family's header: OpenMetrics names a counter family without "_total". */
static int family(struct buf *b, bool om, const char *name, const char *type, const char *help)
{
	bool counter = !strcmp(type, "counter");

	if (om)
		return bprintf(b, "# TYPE sfcgi_%s %s\n# HELP sfcgi_%s %s\n", name, type, name, help);
	return bprintf(b, "# HELP sfcgi_%s%s %s\n# TYPE sfcgi_%s%s %s\n", name,
		       counter ? "_total" : "", help, name, counter ? "_total" : "", type);
}

static int counter(struct buf *b, bool om, const char *name, const char *help, uint64_t v)
{
	TRY(family(b, om, name, "counter", help));
	return bprintf(b, "sfcgi_%s_total %" PRIu64 "\n", name, v);
}

static int gauge(struct buf *b, bool om, const char *name, const char *help, int64_t v)
{
	if (v < 0)
		return 0; /* unknown: no sample (statusdata.c says why in /status) */
	TRY(family(b, om, name, "gauge", help));
	return bprintf(b, "sfcgi_%s %" PRId64 "\n", name, v);
}

static int histogram(struct buf *b, bool om, const struct counters *t)
{
	static const int64_t bounds[SB_BUCKETS - 1] = SB_BUCKET_BOUNDS_MS;
	uint64_t n = 0;

	TRY(family(b, om, "request_duration_seconds", "histogram",
		   "Time from a request's start in the handler to its end."));
	for (int i = 0; i < SB_BUCKETS; i++) {
		n += t->dur[i];
		if (i < SB_BUCKETS - 1)
			TRY(bprintf(b, "sfcgi_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
				    (double)bounds[i] / 1000, n));
		else
			TRY(bprintf(b, "sfcgi_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64
				    "\n", n));
	}
	return bprintf(b, "sfcgi_request_duration_seconds_sum %.6f\n"
		       "sfcgi_request_duration_seconds_count %" PRIu64 "\n",
		       (double)t->dur_sum_us / 1e6, n);
}

int metrics_text(const struct snap *sn, bool om, struct buf *b)
{
	static const char *const roles[] = { "responder", "authorizer", "filter" };
	const struct counters *t = &sn->t;

	TRY(family(b, om, "requests", "counter", "Requests by outcome."));
	TRY(bprintf(b, "sfcgi_requests_total{outcome=\"completed\"} %" PRIu64 "\n"
		    "sfcgi_requests_total{outcome=\"aborted\"} %" PRIu64 "\n"
		    "sfcgi_requests_total{outcome=\"timed_out\"} %" PRIu64 "\n"
		    "sfcgi_requests_total{outcome=\"refused\"} %" PRIu64 "\n",
		    t->completed, t->aborted, t->timed_out, t->refused));
	TRY(family(b, om, "requests_by_role", "counter", "Requests begun, by FastCGI role."));
	for (int i = 0; i < 3; i++)
		TRY(bprintf(b, "sfcgi_requests_by_role_total{role=\"%s\"} %" PRIu64 "\n", roles[i],
			    t->role[i]));
	TRY(histogram(b, om, t));
	TRY(counter(b, om, "slow_requests", "Requests still running past slow_request.",
		    sn->slow));
	TRY(counter(b, om, "bytes_received", "Bytes read from the web server's connections.",
		    t->bytes_in));
	TRY(counter(b, om, "bytes_sent", "Bytes written to the web server's connections.",
		    t->bytes_out));
	TRY(counter(b, om, "connections_accepted", "Connections accepted by the workers.",
		    t->accepted));
	TRY(gauge(b, om, "connections_open", "Connections open in the workers now.",
		  (int64_t)sn->conns_open));
	TRY(family(b, om, "connections_refused", "counter",
		   "Connections refused or closed by a limit (max_conns) or the allow-list."));
	TRY(bprintf(b, "sfcgi_connections_refused_total{reason=\"limit\"} %" PRIu64 "\n"
		    "sfcgi_connections_refused_total{reason=\"allow_list\"} %" PRIu64 "\n",
		    t->refused_limit, t->refused_allow));
	TRY(gauge(b, om, "listen_queue", "Connections waiting in the listening socket now.",
		  sn->queue));
	TRY(gauge(b, om, "listen_queue_max", "The longest listen queue seen.", sn->queue_max));
	TRY(gauge(b, om, "listen_backlog", "The listening socket's backlog.", sn->backlog));
	TRY(family(b, om, "workers", "gauge", "Workers by state."));
	for (int i = 0; i < W_MAX; i++)
		TRY(bprintf(b, "sfcgi_workers{state=\"%s\"} %" PRIu64 "\n", wstate_names[i],
			    sn->by_state[i]));
	TRY(family(b, om, "worker_restarts", "counter", "Workers replaced, by cause."));
	for (int i = 0; i < CAUSE_MAX; i++)
		TRY(bprintf(b, "sfcgi_worker_restarts_total{cause=\"%s\"} %" PRIu64 "\n",
			    cause_names[i], sn->restarts[i]));
	TRY(family(b, om, "reloads", "counter", "Reloads by outcome."));
	TRY(bprintf(b, "sfcgi_reloads_total{outcome=\"ok\"} %" PRIu64 "\n"
		    "sfcgi_reloads_total{outcome=\"rolled_back\"} %" PRIu64 "\n",
		    sn->reloads_ok, sn->reloads_rolled_back));
	TRY(gauge(b, om, "generation", "The serving generation (bumps on each reload).",
		  sn->generation));
	TRY(family(b, om, "start_time_seconds", "gauge",
		   "When the supervisor started, in seconds since the epoch."));
	TRY(bprintf(b, "sfcgi_start_time_seconds %.3f\n", (double)sn->start_realtime_ms / 1000));
	TRY(family(b, om, "worker_memory_bytes", "gauge",
		   "Each worker's memory (/proc/PID/smaps_rollup): rss, and pss (shared pages "
		   "divided among their users)."));
	for (size_t i = 0; i < sn->nw; i++)
		if (sn->w[i].rss_kib >= 0)
			TRY(bprintf(b, "sfcgi_worker_memory_bytes{pid=\"%d\",kind=\"rss\"} %" PRId64
				    "\nsfcgi_worker_memory_bytes{pid=\"%d\",kind=\"pss\"} %" PRId64
				    "\n", sn->w[i].pid, sn->w[i].rss_kib * 1024, sn->w[i].pid,
				    sn->w[i].pss_kib * 1024));
	return om ? bprintf(b, "# EOF\n") : 0;
}
