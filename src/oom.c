/* SPDX-License-Identifier: MIT */
/*
 * OOM kills named (oom.h): the cgroup's own count, read at each SIGKILL.
 */
#include "oom.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define UNCLAIMED_MS 2000 /* a worker's death is reaped well within this of its kill */
#define UNLIMITED (UINT64_C(1) << 62) /* v1's "no limit" is 2^63 rounded down to a page */

static const char *const v1_root = "/sys/fs/cgroup/memory";
/* the unified hierarchy: alone, or beside v1's (systemd's "hybrid") */
static const char *const v2_roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };

/* The "oom_kill N" line of memory.events / memory.oom_control; -1 on error. */
static int64_t read_count(int fd)
{
	char buf[1024], *p;
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "oom_kill ", 9))
			return (int64_t)strtoull(p + 9, NULL, 10);
	return -1;
}

static int try_open(struct oom *o, const char *root, const char *file, bool v1)
{
	char path[1024];

	snprintf(path, sizeof path, "%s%s/%s", root, o->cgroup, file);
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd >= 0 && read_count(o->fd) < 0) { /* v1 before kernel 4.13: no count */
		close(o->fd);
		o->fd = -1;
	}
	o->v1 = v1;
	return o->fd;
}

void oom_init(struct oom *o)
{
	char line[1024], v2[512] = "", *seen = getenv("SFCGI_OOM_SEEN");
	FILE *f = fopen("/proc/self/cgroup", "re");
	int64_t n;

	o->fd = -1;
	o->cgroup[0] = 0;
	while (f && fgets(line, sizeof line, f)) {
		/* "ID:CONTROLLERS:PATH"; v2's is "0::PATH" */
		char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;

		if (!path)
			continue;
		*path++ = 0;
		path[strcspn(path, "\n")] = 0;
		if (!strcmp(path, "/"))
			path = ""; /* the root: its files are the root directory's */
		if (!strcmp(ctl + 1, "") && !strcmp(line, "0"))
			snprintf(v2, sizeof v2, "%s", path);
		else if (strstr(ctl + 1, "memory") && !o->cgroup[0]) {
			snprintf(o->cgroup, sizeof o->cgroup, "%s", path);
			try_open(o, v1_root, "memory.oom_control", true);
		}
	}
	if (f)
		fclose(f);
	for (size_t i = 0; o->fd < 0 && i < sizeof v2_roots / sizeof *v2_roots; i++) {
		snprintf(o->cgroup, sizeof o->cgroup, "%s", v2);
		try_open(o, v2_roots[i], "memory.events", false);
	}
	n = o->fd >= 0 ? read_count(o->fd) : 0;
	o->seen = n > 0 ? (uint64_t)n : 0;
	if (seen && o->fd >= 0 && strtoull(seen, NULL, 10) <= o->seen)
		o->seen = strtoull(seen, NULL, 10); /* kills since, not reaped yet */
	unsetenv("SFCGI_OOM_SEEN");
	if (o->fd < 0)
		log_debug("no cgroup memory counter (memory.events, memory.oom_control) for this "
			  "process: an OOM kill will not be told from another SIGKILL");
}

void oom_keep(const struct oom *o)
{
	char num[32];

	if (o->fd < 0)
		return;
	snprintf(num, sizeof num, "%" PRIu64, o->seen);
	setenv("SFCGI_OOM_SEEN", num, 1);
}

int oom_claim(struct oom *o)
{
	int64_t n = o->fd >= 0 ? read_count(o->fd) : -1;

	if (n < 0)
		return -1;
	if ((uint64_t)n <= o->seen)
		return 0;
	o->seen++; /* one kill per worker: two workers killed, two deaths to claim them */
	if ((uint64_t)n <= o->seen)
		o->unclaimed_at = 0;
	o->kills++;
	return 1;
}

/* A limit file's value in bytes; UNLIMITED for "max" or none. */
static uint64_t read_limit(const char *root, const char *cgroup, const char *file)
{
	char path[1024], buf[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "%s%s/%s", root, cgroup, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return UNLIMITED;
	buf[n] = 0;
	if (!strncmp(buf, "max", 3))
		return UNLIMITED;
	return strtoull(buf, NULL, 10);
}

static void human(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%.*s", v, u >= 0, u >= 0 ? units + u : "");
}

void oom_limit(const struct oom *o, char *buf, size_t len)
{
	const char *file = o->v1 ? "memory.limit_in_bytes" : "memory.max";
	char cg[sizeof o->cgroup], at[sizeof o->cgroup] = "", size[32];
	uint64_t best = UNLIMITED;

	if (o->fd < 0) {
		snprintf(buf, len, "no cgroup memory counter to tell by");
		return;
	}
	/* the tightest limit on the way up: a slice's MemoryMax= binds us too */
	snprintf(cg, sizeof cg, "%s", o->cgroup);
	for (;;) {
		for (size_t i = 0; i < (o->v1 ? 1 : sizeof v2_roots / sizeof *v2_roots); i++) {
			uint64_t v = read_limit(o->v1 ? v1_root : v2_roots[i], cg, file);

			if (v < best) {
				best = v;
				snprintf(at, sizeof at, "%s", *cg ? cg : "/");
			}
		}
		if (!*cg)
			break;
		*strrchr(cg, '/') = 0;
	}
	if (best >= UNLIMITED) {
		snprintf(buf, len, "no %s on cgroup %s or above it: the machine ran out of memory",
			 file, *o->cgroup ? o->cgroup : "/");
		return;
	}
	human(best, size, sizeof size);
	if (!strcmp(at, *o->cgroup ? o->cgroup : "/"))
		snprintf(buf, len, "%s=%s in cgroup %s", file, size, at);
	else
		snprintf(buf, len, "%s=%s in cgroup %s, above this instance's %s", file, size, at,
			 o->cgroup);
}

void oom_tick(struct oom *o, int64_t now_ms)
{
	int64_t n;
	char limit[1200];

	if (o->fd < 0 || now_ms < o->next_tick)
		return;
	o->next_tick = now_ms + 1000;
	n = read_count(o->fd);
	if (n < 0 || (uint64_t)n <= o->seen) {
		o->unclaimed_at = 0;
		return;
	}
	if (!o->unclaimed_at) {
		o->unclaimed_at = now_ms;
		return;
	}
	if (now_ms - o->unclaimed_at < UNCLAIMED_MS)
		return;
	oom_limit(o, limit, sizeof limit);
	log_warning("the kernel's OOM killer killed %" PRIu64 " process(es) of this instance that "
		    "were no worker (a program a worker started?) (%s); give the instance more "
		    "memory (MemoryMax= in a drop-in: systemctl edit) or its programs less",
		    (uint64_t)n - o->seen, limit);
	o->seen = (uint64_t)n;
	o->unclaimed_at = 0;
}
