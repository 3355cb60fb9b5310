/* SPDX-License-Identifier: MIT */
/*
 * The last reload's outcome, for `sfcgi reload` (see outcome.h). The
 * supervisor writes it; the reload subcommand, running as the same user in
 * the same unit (ExecReload=), removes it, sends SIGHUP and waits for it.
 */
#include "outcome.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int outcome_path(const char *dir, char *buf, size_t len)
{
	size_t n = dir ? strcspn(dir, ":") : 0; /* systemd lists several with ':' */

	if (!n || dir[0] != '/' ||
	    snprintf(buf, len, "%.*s/%s", (int)n, dir, OUTCOME_FILE) >= (int)len)
		return -EINVAL;
	return 0;
}

void outcome_write(const char *word, const char *fmt, ...)
{
	char path[4096], tmp[4200], line[1024];
	int n, fd;
	bool ok;
	va_list ap;

	if (outcome_path(getenv("RUNTIME_DIRECTORY"), path, sizeof path) < 0)
		return;
	n = snprintf(line, sizeof line, "%s: ", word);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, line, (size_t)n) == n;
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (ok && rename(tmp, path) < 0)
		ok = false;
	if (!ok) {
		log_warning("reload outcome: %s: %m; `sfcgi reload` (ExecReload=) waits for it in "
			    "vain: check RuntimeDirectory= in the unit", path);
		if (fd >= 0)
			unlink(tmp);
	}
}
