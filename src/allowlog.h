/* SPDX-License-Identifier: MIT */
/*
 * Refused peers in the log without flooding it (issue 14): the first
 * refusal of a peer (an address, or a unix peer's uid) is written; further
 * ones in the minute from that line are counted, and when the minute is
 * over one line says how many. A peer still knocking gets a count each
 * minute and nothing more; a minute without any frees its entry.
 *
 * Memory is bounded: ALLOWLOG_PEERS entries. With all of them in their
 * minute, other peers share one entry ("other peers"), written once a
 * minute with their count. log.c's limit per call site still caps the
 * lines of many peers at once.
 *
 * Pure: no I/O, no clock (times are ms of a monotonic clock), no
 * allocation. Each worker has its own table: an address knocking on an
 * instance of N workers is written by at most N of them a minute.
 */
#ifndef SFCGI_ALLOWLOG_H
#define SFCGI_ALLOWLOG_H

#include <stdbool.h>
#include <stdint.h>

#define ALLOWLOG_PEERS	   32
#define ALLOWLOG_WINDOW_MS 60000
#define ALLOWLOG_KEY	   48 /* an IPv6 address as text, "uid 4294967294" */

struct allowlog_peer {
	char key[ALLOWLOG_KEY]; /* "" = free */
	int64_t start;		/* its window's start */
	uint64_t held;		/* refusals counted, not written, in the window */
};

struct allowlog {
	struct allowlog_peer p[ALLOWLOG_PEERS];
	struct allowlog_peer other; /* key "other peers" while in use */
};

/*
 * A refusal of key at now: true if it is to be written (the first in its
 * window). *ret_other is set when key had no entry and shares the "other
 * peers" one (the line should say so).
 */
bool allowlog_admit(struct allowlog *t, const char *key, int64_t now, bool *ret_other);

/*
 * The next summary due at now (all: every entry holding refusals, at exit):
 * true with the peer's key (or "other peers") in key (ALLOWLOG_KEY bytes),
 * the count and the window's length in seconds; that entry's next window
 * starts. false when none is due.
 */
bool allowlog_summary(struct allowlog *t, int64_t now, bool all, char *key, uint64_t *ret_held,
		      int64_t *ret_secs);

#endif
