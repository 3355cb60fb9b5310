/* SPDX-License-Identifier: MIT */
/*
 * RLIMIT_NOFILE: the supervisor raises its soft limit to the hard one at
 * start (sfcgi waits with epoll, never select(), so the 1024 a service gets
 * by default is no ceiling of ours) and its native workers inherit it; a
 * foreign program, and a script sfcgi-cgi runs (src/cgi/run.c, from
 * SFCGI_NOFILE_SOFT), are given back the soft limit the instance started
 * with (programs may still use select(), or close every descriptor up to
 * the limit). When even the hard limit is below what the instance can need, one
 * line says so, and how to raise it.
 */
#ifndef SFCGI_NOFILE_H
#define SFCGI_NOFILE_H

#include <stddef.h>
#include <stdint.h>

/* Raises the soft limit; says when it is below what `workers` workers of
 * max_conns connections (0: a foreign program, which accepts on its own) on
 * nfds listening sockets can need. */
void nofile_raise(uint32_t workers, uint32_t max_conns, size_t nfds);

/* The limit now (soft), for messages. */
unsigned long nofile_limit(void);

/* Before executing a foreign program: the soft limit the instance started with. */
void nofile_restore(void);

#endif
