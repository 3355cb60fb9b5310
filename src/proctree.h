/* SPDX-License-Identifier: MIT */
/*
 * Killing a tree of processes that may fork or detach while it is being
 * killed (proctree.c): what a worker or a CGI script started. No logging,
 * no state: the CGI bridge, which sees only libsfcgi's public API,
 * compiles it in too.
 */
#ifndef SFCGI_PROCTREE_H
#define SFCGI_PROCTREE_H

#include <sys/types.h>

/*
 * SIGKILLs `root`, every process of session `sid` and of process group
 * `pgid` (0: none), and every descendant of those, never the caller (its
 * own descendants are included when root is the caller). Each is stopped
 * (SIGSTOP) as it is found, so that none forks, or loses its parent and
 * with it its place in the tree, before the kill. Returns how many were
 * killed, or -errno if /proc cannot be read.
 */
int proctree_kill(pid_t root, pid_t sid, pid_t pgid);

#endif
