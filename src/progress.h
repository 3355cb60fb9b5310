/* SPDX-License-Identifier: MIT */
/*
 * Hang detection for foreign programs (issue 5). A foreign worker accepts
 * its connections itself, so the supervisor never sees a request begin or
 * end. What it can see: whether connections wait in the listening socket's
 * backlog (poll, never accept), and whether a worker does anything at all,
 * its "mark": the read/write system call counts of /proc/PID/io (syscr,
 * syscw) and its table of open files, /proc/PID/fd (an accepted connection
 * is a new socket there). Both are needed: recv(2) and send(2) on a socket
 * do not count as syscr/syscw, and some programs use nothing else (Python's
 * socket module, Rust's std::net), so for them only the fd table moves.
 *
 * Connections waiting and no worker's mark moving for the timeout
 * (request_timeout) means every worker is stuck. One hung worker among
 * healthy ones is not detected: the others keep the queue moving.
 */
#ifndef SFCGI_PROGRESS_H
#define SFCGI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scoreboard.h"

#define PROGRESS_TICK_MS 1000 /* how often the backlog and the marks are looked at */

struct progress {
	int64_t next_tick;
	int64_t waiting_since; /* connections wait and no mark moved since; 0 = none wait */
	bool off;              /* /proc unreadable: said once, no detection from then on */
	int32_t pid[SCOREBOARD_SLOTS]; /* the worker whose mark is in mark[], 0 = none */
	uint64_t mark[SCOREBOARD_SLOTS];
};

/*
 * The mark of worker pid: a number that changes whenever the process reads
 * or writes (read/write-family system calls), or opens, closes or accepts a
 * file or connection. 0 and *ret_mark; -ESRCH if the process is gone;
 * another -errno (-EACCES, or -ENOENT when /proc hides it or the kernel has
 * no I/O accounting) if its /proc entries cannot be read. Reading them takes
 * the worker's uid and a dumpable worker, or CAP_SYS_PTRACE.
 */
int progress_mark(pid_t pid, uint64_t *ret_mark);

/* 1 if connections wait in the backlog of listening socket fd, 0 if not. */
int progress_waiting(int fd);

/*
 * The decision, without I/O. pids[i] is slot i's live worker of the current
 * generation (0: none), marks[i] its mark; n slots. Returns true when
 * connections have waited (waiting) and no worker's mark has moved for
 * timeout_ms: the workers are hung, *ret_since is when the wait began, and
 * the next call starts over. A new worker in a slot counts as a move.
 */
bool progress_step(struct progress *p, bool waiting, const int32_t *pids, const uint64_t *marks,
		   size_t n, int64_t now, uint32_t timeout_ms, int64_t *ret_since);

/*
 * One supervisor turn (looks once per PROGRESS_TICK_MS, returns false in
 * between): progress_waiting on fd, progress_mark of each pids[i], then
 * progress_step. A worker that cannot be read turns detection off for good
 * with one warning naming the reason.
 */
bool progress_check(struct progress *p, int fd, const int32_t *pids, size_t n, int64_t now,
		    uint32_t timeout_ms, int64_t *ret_since);

/* Forget the current wait (reload, stop): the next turn starts over. */
void progress_reset(struct progress *p);

#endif
