/* SPDX-License-Identifier: MIT */
/*
 * Log lines for journald: "<N>message" on stderr, where N is the syslog
 * priority (journald strips and honours the prefix). On a terminal the
 * prefix becomes a readable word. SFCGI_LOG_LEVEL=debug|info|notice|
 * warning|err sets the threshold (default info).
 */
#ifndef SFCGI_LOG_H
#define SFCGI_LOG_H

#include <syslog.h>

#define SFCGI_FMT(f, a) __attribute__((format(printf, f, a)))

void log_init(void);
int log_level(void);
void log_set_level(int prio);
void log_msg(int prio, const char *fmt, ...) SFCGI_FMT(2, 3);

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
