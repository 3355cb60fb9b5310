/* SPDX-License-Identifier: MIT */
#include "progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* FNV-1a, 64 bits: marks are only ever compared for equality. */
static uint64_t hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211u;
	return h;
}

/* -ESRCH when pid is gone, else the -errno of the failed /proc access. */
static int proc_error(pid_t pid, int err)
{
	if ((err == ENOENT || err == ESRCH) && kill(pid, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	return -err;
}

static uint64_t field(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p ? strtoull(p + strlen(name), NULL, 10) : 0;
}

/* syscr + syscw of /proc/PID/io into the hash. */
static int io_counts(pid_t pid, uint64_t *h, char path[static 64])
{
	char text[512];
	uint64_t n;
	ssize_t k;
	int fd;

	snprintf(path, 64, "/proc/%d/io", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return proc_error(pid, errno);
	k = read(fd, text, sizeof text - 1);
	if (k < 0) {
		int r = proc_error(pid, errno);

		close(fd);
		return r;
	}
	close(fd);
	text[k] = 0;
	n = field(text, "\nsyscr: ") + field(text, "\nsyscw: ");
	*h = hash(*h, &n, sizeof n);
	return 0;
}

/* Every open descriptor and what it names ("socket:[1234]") into the hash. */
static int fd_table(pid_t pid, uint64_t *h, char path[static 64])
{
	char target[256];
	struct dirent *e;
	DIR *d;

	snprintf(path, 64, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return proc_error(pid, errno);
	errno = 0;
	while ((e = readdir(d))) {
		ssize_t k;

		if (e->d_name[0] == '.')
			continue;
		*h = hash(*h, e->d_name, strlen(e->d_name) + 1);
		k = readlinkat(dirfd(d), e->d_name, target, sizeof target);
		if (k > 0)
			*h = hash(*h, target, (size_t)k);
		errno = 0;
	}
	if (errno) {
		int r = proc_error(pid, errno);

		closedir(d);
		return r;
	}
	closedir(d);
	return 0;
}

/* progress_mark, and in path what it read last (what failed, on failure). */
static int mark(pid_t pid, uint64_t *ret_mark, char path[static 64])
{
	uint64_t h = 14695981039346656037u;
	int r;

	if ((r = io_counts(pid, &h, path)) < 0 || (r = fd_table(pid, &h, path)) < 0)
		return r;
	*ret_mark = h;
	return 0;
}

int progress_mark(pid_t pid, uint64_t *ret_mark)
{
	char path[64];

	return mark(pid, ret_mark, path);
}

int progress_waiting(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

bool progress_step(struct progress *p, bool waiting, const int32_t *pids, const uint64_t *marks,
		   size_t n, int64_t now, uint32_t timeout_ms, int64_t *ret_since)
{
	bool moved = !p->waiting_since, any = false;

	if (!waiting) {
		p->waiting_since = 0;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (pids[i] && (p->pid[i] != pids[i] || p->mark[i] != marks[i]))
			moved = true;
		any |= pids[i] != 0;
		p->pid[i] = pids[i];
		p->mark[i] = marks[i];
	}
	if (!any) { /* all backing off: their successors get a wait of their own */
		p->waiting_since = 0;
		return false;
	}
	if (moved) {
		p->waiting_since = now;
		return false;
	}
	if (now - p->waiting_since < (int64_t)timeout_ms)
		return false;
	*ret_since = p->waiting_since;
	p->waiting_since = 0;
	return true;
}

bool progress_check(struct progress *p, int fd, const int32_t *pids, size_t n, int64_t now,
		    uint32_t timeout_ms, int64_t *ret_since)
{
	static int32_t live[SCOREBOARD_SLOTS];
	static uint64_t marks[SCOREBOARD_SLOTS];
	bool waiting;

	if (p->off || now < p->next_tick)
		return false;
	p->next_tick = now + PROGRESS_TICK_MS;
	waiting = progress_waiting(fd) > 0;
	for (size_t i = 0; waiting && i < n; i++) {
		char path[64];
		int r;

		live[i] = pids[i];
		marks[i] = 0;
		if (!pids[i] || (r = mark(pids[i], &marks[i], path)) == 0)
			continue;
		if (r == -ESRCH) { /* exited meanwhile: reaped and replaced soon */
			live[i] = 0;
			continue;
		}
		log_warning("%s: %s: hang detection (request_timeout) is off for this instance; "
			    "reading it takes the workers' user and a program file they can read, "
			    "or CAP_SYS_PTRACE",
			    path, strerror(-r));
		p->off = true;
		return false;
	}
	return progress_step(p, waiting, live, marks, n, now, timeout_ms, ret_since);
}

void progress_reset(struct progress *p)
{
	p->waiting_since = 0;
}
