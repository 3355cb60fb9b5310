/* SPDX-License-Identifier: MIT */
/* See gate.h. */
#include "gate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "loglimit.h"
#include "log.h"

#define PEER_GROUPS 64 /* supplementary groups looked at; more are not */

static void refused(struct gate *g, const char *key, const char *who, const char *list,
		    int64_t now)
{
	bool other;

	g->refused++;
	if (g->shared)
		__atomic_fetch_add(g->shared, 1, __ATOMIC_RELAXED);
	if (!allowlog_admit(&g->log, key, now, &other)) {
		g->held = true;
		return;
	}
	if (other)
		log_warning("refused a connection from %s: not in %s (add it there if it is a "
			    "web server of yours); over %d peers refused this minute, so new "
			    "ones are counted together",
			    who, list, ALLOWLOG_PEERS);
	else
		log_warning("refused a connection from %s: not in %s (add it there if it is a "
			    "web server of yours); more from it are counted, one line a minute",
			    who, list);
}

static bool admit_unix(struct gate *g, int fd, int64_t now)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof cred;
	uint32_t groups[PEER_GROUPS];
	size_t ngroups = 0;
	char key[ALLOWLOG_KEY], who[96];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		cred.uid = (uid_t)-1; /* unknown: refused, fails closed */
	if (allow_wants_groups(g->allow)) {
		socklen_t glen = sizeof groups;

		_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
			ngroups = glen / sizeof groups[0];
	}
	if (cred.uid != (uid_t)-1 && allow_peer(g->allow, cred.uid, cred.gid, groups, ngroups))
		return true;
	snprintf(key, sizeof key, "uid %u", (unsigned)cred.uid);
	snprintf(who, sizeof who, "uid %u (gid %u, pid %d)", (unsigned)cred.uid,
		 (unsigned)cred.gid, (int)cred.pid);
	refused(g, key, who, "allow_peers", now);
	return false;
}

bool gate_admit(struct gate *g, int fd, bool tcp, const struct sockaddr_storage *ss,
		socklen_t len, int64_t now)
{
	uint8_t a[16];
	char text[ALLOWLOG_KEY];

	if (!g->allow)
		return true;
	if (!tcp)
		return !g->allow->peers_set || admit_unix(g, fd, now);
	if (!g->allow->from_set)
		return true;
	if (allow_addr16((const struct sockaddr *)ss, len, a) && allow_from(g->allow, a))
		return true;
	allow_addr_text(a, text, sizeof text);
	refused(g, text, text, g->from_what ? g->from_what : "allow_from", now);
	return false;
}

static int64_t earliest(const struct gate *g)
{
	int64_t due = INT64_MAX;

	for (size_t i = 0; i <= ALLOWLOG_PEERS; i++) {
		const struct allowlog_peer *p = i < ALLOWLOG_PEERS ? &g->log.p[i] : &g->log.other;

		if (p->key[0] && p->held && p->start + ALLOWLOG_WINDOW_MS < due)
			due = p->start + ALLOWLOG_WINDOW_MS;
	}
	return due;
}

int64_t gate_due(const struct gate *g)
{
	return g->held ? earliest(g) : INT64_MAX;
}

void gate_tick(struct gate *g, int64_t now, bool all)
{
	char key[ALLOWLOG_KEY], n[32];
	uint64_t held;
	int64_t secs;

	if (!g->held || (!all && now < gate_due(g)))
		return;
	while (allowlog_summary(&g->log, now, all, key, &held, &secs)) {
		loglimit_count(held, n, sizeof n);
		log_warning("refused %s more connection(s) from %s in the last %lld s (not "
			    "allowed: see the first line about it)",
			    n, key, (long long)secs);
	}
	g->held = earliest(g) != INT64_MAX;
}
