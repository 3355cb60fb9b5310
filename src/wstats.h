/* SPDX-License-Identifier: MIT */
/*
 * A worker's counters for /metrics and /status (status.h), in its own
 * slot_stats of the shared scoreboard: plain stores of one writer, no
 * syscall and no lock on the request path. Without a supervisor (stats
 * NULL) nothing is counted: nobody would read it.
 */
#ifndef SFCGI_WSTATS_H
#define SFCGI_WSTATS_H

#include "scoreboard.h"

struct worker;
struct request;

#define WSTATS_ADD(st, field, n)                                  \
	do {                                                      \
		struct slot_stats *st_ = (st);                    \
		if (st_)                                          \
			SB_ADD(st_->c.field, (uint64_t)(n));      \
	} while (0)

/* The running request begins: its role counted, method and URI for the supervisor. */
void wstats_begin(struct worker *w, const struct request *r);
/* It ended (sfcgi_finish), completed or aborted: outcome and duration. */
void wstats_end(struct worker *w, const struct request *r);

#endif
