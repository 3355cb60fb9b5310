/* SPDX-License-Identifier: MIT */
/*
 * No orphans (orphans.c): what a worker starts ends with the worker. The
 * supervisor is a child subreaper and ends what its exited workers left
 * behind; each worker leads its own session, which names it.
 */
#ifndef SFCGI_ORPHANS_H
#define SFCGI_ORPHANS_H

#include <stdbool.h>
#include <sys/types.h>

/* The supervisor, at start (and after each re-exec): orphans come to it.
 * 0, or -errno (logged). */
int orphans_supervisor_init(void);

/*
 * The supervisor: kills each child that is not a worker (is_worker(pid)
 * false) unless its session is a live worker's. Returns how many such
 * children there were (killed or dying ones included: they are reaped
 * with SIGCHLD), 0 if /proc cannot tell (logged once).
 */
int orphans_sweep(bool (*is_worker)(pid_t pid, void *ctx), void *ctx);

/* In a new worker, before anything else: its own session. */
void orphans_worker_init(void);

/* A native worker on its way out: if its supervisor is gone (killed), it
 * kills what it started itself. */
void orphans_worker_exit(void);

#endif
