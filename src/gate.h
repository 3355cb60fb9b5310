/* SPDX-License-Identifier: MIT */
/*
 * The allow-list at accept (allow.h): a peer the lists leave out is closed
 * before any of its bytes is read, counted in the scoreboard
 * ("refused_allow", for the status socket) and logged as allowlog.h says.
 * Used by a worker's accept and by the supervisor's while it answers 503.
 */
#ifndef SFCGI_GATE_H
#define SFCGI_GATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "allow.h"
#include "allowlog.h"

struct gate {
	const struct allowlist *allow; /* NULL or nothing set: everyone */
	const char *from_what;         /* "allow_from", "FCGI_WEB_SERVER_ADDRS" or both */
	uint64_t refused;              /* this process's count */
	uint64_t *shared;              /* the scoreboard's refused_allow, or NULL */
	bool held;                     /* some refusals are counted, not yet written */
	struct allowlog log;
};

/* Whether fd, just accepted from a listener (tcp: AF_INET/AF_INET6, else a
 * unix socket) with the peer address ss, may be served. false: the caller
 * closes it; it is counted and logged here. */
bool gate_admit(struct gate *g, int fd, bool tcp, const struct sockaddr_storage *ss,
		socklen_t len, int64_t now);

/* When the next count of refusals held back is due; INT64_MAX = none. */
int64_t gate_due(const struct gate *g);

/* The counts of refusals held back, once their minute is over (all: at
 * exit, every one). Cheap when none is due. */
void gate_tick(struct gate *g, int64_t now, bool all);

#endif
