/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loglimit.h"

static int level = LOG_INFO;
static int tty = -1;
static char who[32]; /* "worker 1234: " in a worker */
/* The limit holds from the first log_tick(): an event loop runs. Before,
 * lines are startup and configuration errors, one-offs all. */
static bool armed;
static int64_t now_ms; /* the loop's clock, as of its last log_tick() */
/* Zero (bss, not 10 KiB of .data): log_init() sets due. */
static struct loglimit limit;

static const char *const names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void log_init(void)
{
	const char *e = getenv("SFCGI_LOG_LEVEL");

	tty = isatty(STDERR_FILENO) && !getenv("JOURNAL_STREAM");
	if (!limit.due)
		limit.due = INT64_MAX; /* what loglimit_reset() leaves; the rest is zero */
	if (!e)
		return;
	for (int i = 0; i < 8; i++)
		if (strcmp(e, names[i]) == 0 || (e[0] - '0' == i && e[1] == 0))
			level = i;
}

int log_level(void)
{
	return level;
}

void log_set_level(int prio)
{
	level = prio;
}

static int prefix(char *line, size_t len, int prio)
{
	int off = tty ? snprintf(line, len, "sfcgi[%d]: %s: %s", (int)getpid(), names[prio & 7], who)
		      : snprintf(line, len, "<%d>%s", prio & 7, who);

	return off < 0 ? 0 : off;
}

/* line: a buffer of 1024 bytes, off bytes of it the line (maybe more: cut). */
static void put(char *line, int off)
{
	if (off > 1024 - 2)
		off = 1024 - 2;
	line[off++] = '\n';
	/* One write() per line keeps lines whole when workers share stderr. */
	if (write(STDERR_FILENO, line, (size_t)off) < 0) {
		/* nowhere left to report it */
	}
}

/* The summaries due (with all: every one, at exit), each with its kind's priority. */
static void summaries(bool all)
{
	char text[900], line[1024];
	int prio, off;

	while (all || loglimit_due(&limit, now_ms)) {
		if (!loglimit_summary(&limit, now_ms, all, text, sizeof text, &prio))
			break;
		off = prefix(line, sizeof line, prio);
		off += snprintf(line + off, sizeof line - (size_t)off, "%s", text);
		put(line, off);
	}
}

void log_flush(void)
{
	summaries(true);
}

void log_tick(int64_t now)
{
	int saved = errno;

	now_ms = now;
	if (!armed) {
		armed = true;
		atexit(log_flush);
	}
	if (loglimit_due(&limit, now))
		summaries(false);
	errno = saved;
}

void log_worker(void)
{
	snprintf(who, sizeof who, "worker %d: ", (int)getpid());
	loglimit_forget(&limit); /* the supervisor's counts are not ours */
}

/* err, warning, notice and info are limited; crit and above never (rare
 * and final), debug never (asked for to see everything). */
static bool limited(int prio)
{
	return armed && prio >= LOG_ERR && prio <= LOG_INFO;
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	int saved = errno, n, off, admit = LOGLIMIT_PASS;
	struct logkind *k = NULL;
	va_list ap;

	if (prio > level)
		return;
	if (tty < 0)
		log_init();
	if (limited(prio)) {
		if (loglimit_due(&limit, now_ms))
			summaries(false);
		admit = loglimit_admit(&limit, fmt, prio & 7, now_ms, &k);
		if (admit == LOGLIMIT_HOLD)
			return; /* counted: its summary says how many */
	}
	off = prefix(line, sizeof line, prio);
	va_start(ap, fmt);
	errno = saved; /* for %m */
	n = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)(off + n) > sizeof line - 2)
		n = (int)sizeof line - 2 - off;
	if (admit == LOGLIMIT_FIRST)
		loglimit_remember(k, line + off, (size_t)n);
	put(line, off + n);
	errno = saved;
}
