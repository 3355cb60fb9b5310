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
#include <time.h>
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

uint64_t outcome_clock(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int outcome_read(const char *path, uint64_t since_ns, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	char *after;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	/* an outcome for a reload that read the config before our SIGHUP is not ours */
	after = strstr(buf, "\nafter: ");
	if (after && strtoull(after + 8, NULL, 10) <= since_ns)
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return fd < 0 ? -1 : after != NULL;
}

void outcome_write(uint64_t after_ns, const char *word, const char *fmt, ...)
{
	char path[4096], tmp[4200], line[1024];
	int n, fd;
	bool ok;
	va_list ap;

	if (outcome_path(getenv("RUNTIME_DIRECTORY"), path, sizeof path) < 0)
		return;
	n = snprintf(line, sizeof line, "%s: ", word);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 40, fmt, ap); /* room for "after:" */
	va_end(ap);
	n = (int)strlen(line);
	n += snprintf(line + n, sizeof line - (size_t)n, "\nafter: %llu\n",
		      (unsigned long long)after_ns);
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
