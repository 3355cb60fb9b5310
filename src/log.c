/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int level = LOG_INFO;
static int tty = -1;

static const char *const names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void log_init(void)
{
	const char *e = getenv("SFCGI_LOG_LEVEL");

	tty = isatty(STDERR_FILENO) && !getenv("JOURNAL_STREAM");
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

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	int saved = errno, n, off;
	va_list ap;

	if (prio > level)
		return;
	if (tty < 0)
		log_init();
	off = tty ? snprintf(line, sizeof line, "sfcgi[%d]: %s: ", (int)getpid(), names[prio & 7])
		  : snprintf(line, sizeof line, "<%d>", prio & 7);
	va_start(ap, fmt);
	n = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	off += n;
	if ((size_t)off > sizeof line - 2)
		off = (int)sizeof line - 2;
	line[off++] = '\n';
	/* One write() per line keeps lines whole when workers share stderr. */
	if (write(STDERR_FILENO, line, (size_t)off) < 0) {
		/* nowhere left to report it */
	}
	errno = saved;
}
