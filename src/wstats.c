/* SPDX-License-Identifier: MIT */
/* See wstats.h. */
#include "wstats.h"

#include <string.h>
#include <time.h>

#include "conn.h"
#include "log.h"
#include "request.h"
#include "worker.h"

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: no system call */
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* value of param name, cut to cap - 1 bytes, NUL-terminated, into dst */
static void copy_param(const struct request *r, const char *name, char *dst, size_t cap)
{
	const char *v = NULL;
	size_t n = 0;

	if (request_lookup(r, name, &v, &n) < 0 || !v)
		n = 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, v, n);
	dst[n] = 0;
}

void wstats_begin(struct worker *w, const struct request *r)
{
	struct slot_stats *st = w->stats;
	uint32_t seq;

	if (!st)
		return;
	if (r->role >= 1 && r->role <= 3)
		SB_ADD(st->c.role[r->role - 1], 1);
	/* seqlock: odd while method and uri are being written */
	seq = SB_LOAD(st->seq);
	__atomic_store_n(&st->seq, seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	copy_param(r, "REQUEST_METHOD", st->method, sizeof st->method);
	copy_param(r, "REQUEST_URI", st->uri, sizeof st->uri);
	if (!st->uri[0]) /* not every web server sends it: what the script is */
		copy_param(r, "SCRIPT_NAME", st->uri, sizeof st->uri);
	__atomic_store_n(&st->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
	SB_STORE(st->started_ns, mono_ns());
}

void wstats_end(struct worker *w, const struct request *r)
{
	static const int64_t bounds[SB_BUCKETS - 1] = SB_BUCKET_BOUNDS_MS;
	struct slot_stats *st = w->stats;
	int64_t us;
	size_t b = 0;

	if (!st)
		return;
	us = (mono_ns() - SB_LOAD(st->started_ns)) / 1000;
	us = us < 0 ? 0 : us;
	while (b < SB_BUCKETS - 1 && us > bounds[b] * 1000)
		b++;
	SB_ADD(st->c.dur[b], 1);
	SB_ADD(st->c.dur_sum_us, (uint64_t)us);
	SB_STORE(st->last_duration_us, (uint64_t)us);
	if (r && (r->aborted || r->c->dead))
		SB_ADD(st->c.aborted, 1);
	else
		SB_ADD(st->c.completed, 1);
	/* The supervisor logged this request as slow (status.c): the total too. */
	if (SB_LOAD(st->seq) && SB_LOAD(st->slow_seq) == SB_LOAD(st->seq))
		log_notice("slow request finished: %s %s took %.3f s", st->method, st->uri,
			   (double)us / 1e6);
}
