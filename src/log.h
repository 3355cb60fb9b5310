/* SPDX-License-Identifier: MIT */
/*
 * Log lines for journald: "<N>message" on stderr, where N is the syslog
 * priority (journald strips and honours the prefix). On a terminal the
 * prefix becomes a readable word. SFCGI_LOG_LEVEL=debug|info|notice|
 * warning|err sets the threshold (default info). A worker's lines name it
 * ("worker 1234: "): under journald they all carry the supervisor's _PID.
 */
#ifndef SFCGI_LOG_H
#define SFCGI_LOG_H

#include <stdint.h>
#include <syslog.h>

#define SFCGI_FMT(f, a) __attribute__((format(printf, f, a)))

void log_init(void);
int log_level(void);
void log_set_level(int prio);
void log_msg(int prio, const char *fmt, ...) SFCGI_FMT(2, 3);

/*
 * Repeated lines of one kind (one call site) are rate-limited once an
 * event loop runs (loglimit.h: 10 a minute, then a summary line with the
 * count). The loops call log_tick() with their monotonic clock in ms every
 * round: it is the limit's clock, and it writes the summaries that are
 * due even when no further line comes. The first call arms the limit and
 * has the summaries still pending written at exit (log_flush).
 */
void log_tick(int64_t now_ms);
void log_flush(void);

/* In a process just forked to serve: its lines begin "worker PID: " and
 * its counts start afresh. */
void log_worker(void);

#define log_debug(...) \
	do { \
		if (log_level() >= LOG_DEBUG) \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)

#endif
