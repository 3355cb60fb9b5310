/* SPDX-License-Identifier: MIT */
/*
 * The rate limit of log lines, by kind: a kind is one call site (its
 * format string) at one priority (a warning is never held behind info
 * lines of the same format). In a window of LOGLIMIT_WINDOW_MS from a kind's first
 * line, LOGLIMIT_BURST lines pass; further ones are only counted, and when
 * the window ends one summary line tells how many there were:
 *   ... and 7,011 more like "fd 12: peer sent nothing ..." in the last 60 s
 * While the kind keeps coming, each further window passes no line, only
 * its summary; a window that ends without one gives the burst back.
 *
 * Pure: no I/O, no clock, no allocation (the table is the caller's); the
 * time is given in milliseconds of any monotonic clock. log.c uses it.
 */
#ifndef SFCGI_LOGLIMIT_H
#define SFCGI_LOGLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGLIMIT_BURST	   10
#define LOGLIMIT_WINDOW_MS 60000
#define LOGLIMIT_KINDS	   64  /* call sites active in one window; more pass unlimited */
#define LOGLIMIT_TEXT	   120 /* of the first line, quoted in the summary */

struct logkind {
	const void *key;	   /* the format string; NULL = free */
	int64_t start;		   /* the window's start */
	uint32_t shown;		   /* lines passed in this window */
	uint64_t held;		   /* lines counted, not written, in this window */
	int prio;		   /* the kind's, and its summary's */
	char first[LOGLIMIT_TEXT]; /* the first line that passed, for the summary */
};

struct loglimit {
	struct logkind k[LOGLIMIT_KINDS];
	int64_t due; /* the earliest end of a window with lines held; INT64_MAX = none */
};

enum { LOGLIMIT_PASS, LOGLIMIT_FIRST, LOGLIMIT_HOLD };

/*
 * A line of kind key at now: LOGLIMIT_HOLD (count it, write nothing),
 * LOGLIMIT_PASS (write it), or LOGLIMIT_FIRST (write it, and store its text
 * with loglimit_remember() for the summary). Call loglimit_summary() first
 * while loglimit_due() says so, so that a window's summary comes before
 * the next window's lines.
 */
int loglimit_admit(struct loglimit *t, const void *key, int prio, int64_t now,
		   struct logkind **ret_kind);
void loglimit_remember(struct logkind *k, const char *text, size_t len);

/* Whether a summary is due at now (cheap: one comparison). */
static inline bool loglimit_due(const struct loglimit *t, int64_t now)
{
	return now >= t->due;
}

/*
 * Writes the next summary due at now (with all, every kind holding lines:
 * at exit) into buf as a NUL-terminated line without newline, and starts
 * that kind's next window. Returns its length (truncated to len - 1), 0 if
 * none is due; *ret_prio is the priority to write it with.
 */
size_t loglimit_summary(struct loglimit *t, int64_t now, bool all, char *buf, size_t len,
			int *ret_prio);

/* n with thousands separators ("7,011") into buf (27 bytes suffice). */
void loglimit_count(uint64_t n, char *buf, size_t len);

/* Everything forgotten (a forked worker starts its own counts). */
void loglimit_reset(struct loglimit *t);

/* The same for a table loglimit_reset() set up once, writing only what is in
 * use (a forked worker: the pages it leaves alone stay shared). */
void loglimit_forget(struct loglimit *t);

#endif
