/* SPDX-License-Identifier: MIT */
/*
 * Whether a worker killed by SIGKILL was the kernel's OOM killer's doing:
 * the instance's cgroup counts those kills, cgroup v2's memory.events
 * "oom_kill" (every kind of OOM kill of a process in it, a limit's or the
 * whole machine's) or cgroup v1's memory.oom_control "oom_kill" (kernel
 * 4.13 and later). The workers share the supervisor's cgroup (systemd's
 * unit, or whatever started it by hand), and the file stays readable under
 * ProtectControlGroups=yes (read-only). Without either, an OOM kill cannot
 * be told from another SIGKILL, and the log line says so.
 */
#ifndef SFCGI_OOM_H
#define SFCGI_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct oom {
	int fd;               /* the counter's file, -1: none to read */
	bool v1;              /* memory.oom_control (v1), else memory.events (v2) */
	uint64_t seen;        /* kills accounted for (a worker's, or said as none) */
	int64_t unclaimed_at; /* when kills no worker's death claimed were first seen */
	uint64_t kills;       /* workers killed so far by this image */
	int64_t next_tick;    /* oom_tick() reads the counter once a second */
	char cgroup[512];     /* our cgroup's path in its hierarchy */
};

/* Finds our cgroup's counter (kept open) and its current count. SFCGI_OOM_SEEN,
 * set by oom_keep() before a re-exec, carries what was accounted for. */
void oom_init(struct oom *o);
/* Before a re-exec: what was accounted for, for the next image. */
void oom_keep(const struct oom *o);

/* A worker was killed by SIGKILL: 1 if the counter rose (the kill is taken
 * as the OOM killer's, and accounted for), 0 if not, -1 if we cannot tell. */
int oom_claim(struct oom *o);

/* "memory.max=64M in cgroup /system.slice/app@wiki.service", or which
 * ancestor holds the limit, or that none does (the machine's memory). */
void oom_limit(const struct oom *o, char *buf, size_t len);

/* Now and then: OOM kills that no worker's death claimed within 2 s were of
 * other processes (a program a worker started): said once, accounted for. */
void oom_tick(struct oom *o, int64_t now_ms);

#endif
