/* SPDX-License-Identifier: MIT */
/*
 * What /status and /metrics show (status.h): one snapshot of the
 * scoreboard and the supervisor, taken when asked (statusdata.c), written
 * out as JSON or OpenMetrics / Prometheus text (metrics.c).
 */
#ifndef SFCGI_STATUSDATA_H
#define SFCGI_STATUSDATA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "scoreboard.h"

enum wstate { W_IDLE, W_BUSY, W_STARTING, W_DRAINING, W_MAX };

struct snap_worker {
	int32_t pid;
	uint32_t generation;
	enum wstate state;
	uint64_t requests;
	uint32_t restarts;
	bool current;        /* running a request it named (native workers) */
	char method[16];
	char uri[256];
	int64_t elapsed_ms;
	uint64_t last_duration_us;
	int64_t rss_kib, pss_kib; /* -1: unknown */
};

struct snap {
	const char *instance;
	pid_t pid;
	uint32_t generation;
	const char *state;
	const char *reason;
	int64_t start_realtime_ms;
	int64_t uptime_ms;
	int64_t queue, queue_max, backlog; /* -1: unknown */
	char how[96];
	uint64_t conns_open;
	struct counters t;   /* totals: exited workers and live ones */
	uint64_t slow;
	uint64_t by_state[W_MAX];
	uint64_t restarts[CAUSE_MAX];
	uint64_t reloads_ok, reloads_rolled_back;
	size_t nw;
	struct snap_worker *w; /* malloc'd */
};

extern const char *const wstate_names[W_MAX];
extern const char *const cause_names[CAUSE_MAX];

/* JSON for /status, text for /metrics (openmetrics: else Prometheus 0.0.4). */
int metrics_json(const struct snap *sn, struct buf *b);
int metrics_text(const struct snap *sn, bool openmetrics, struct buf *b);

/* appends printf output to b: 0 or -ENOMEM */
int bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
