/* SPDX-License-Identifier: MIT */
/*
 * The open files limit (nofile.h).
 */
#include "nofile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "activation.h"
#include "log.h"
#include "unavailable.h"

/* A worker's own descriptors besides its connections and listening sockets:
 * standard streams, epoll, its channel, the scoreboard, the program's files. */
#define WORKER_OWN 64
/* The supervisor's connections handed over at a reload, at most (sup.h). */
#define PENDING_MAX 1024
/* The supervisor's own: standard streams, the signalfd, the scoreboard, cgroup files. */
#define SUPERVISOR_OWN 16

/* Across the re-exec of a reload: the soft limit before the first raise. */
#define ORIGINAL_ENV "SFCGI_NOFILE_SOFT"

unsigned long nofile_limit(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) < 0 ? 0 : (unsigned long)rl.rlim_cur;
}

void nofile_raise(uint32_t workers, uint32_t max_conns, size_t nfds)
{
	struct rlimit rl;
	char num[32];
	/* handed over at a reload, the workers' kept connections wait in the
	 * supervisor (up to PENDING_MAX); answering 503, it holds its own */
	uint64_t conns = (uint64_t)workers * max_conns;
	uint64_t sup = ACTIVATION_LISTEN_FDS_START + nfds + SUPERVISOR_OWN + 2 * (uint64_t)workers +
		       (conns < PENDING_MAX ? conns : PENDING_MAX) + UNAVAILABLE_CONNS;
	uint64_t worker = max_conns ? max_conns + nfds + WORKER_OWN : 0;
	uint64_t need = sup > worker ? sup : worker;
	char what[256];
	int err = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (!getenv(ORIGINAL_ENV)) {
		snprintf(num, sizeof num, "%llu", (unsigned long long)rl.rlim_cur);
		setenv(ORIGINAL_ENV, num, 1);
	}
	if (rl.rlim_cur < rl.rlim_max) {
		unsigned long long was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			err = errno;
			rl.rlim_cur = was;
		} else {
			log_debug("open files limit raised from %llu to the hard limit, %llu", was,
				  (unsigned long long)rl.rlim_max);
		}
	}
	if (rl.rlim_cur >= need)
		return;
	if (max_conns)
		snprintf(what, sizeof what, "a worker: max_conns=%u connections + %zu listening "
			 "socket(s) + %d of its own; the supervisor: up to %llu connections handed "
			 "over at a reload, 2 per worker", max_conns, nfds, WORKER_OWN,
			 (unsigned long long)(conns < PENDING_MAX ? conns : PENDING_MAX));
	else
		snprintf(what, sizeof what, "the supervisor: %zu listening socket(s), 2 per "
			 "worker, %d of its own", nfds, SUPERVISOR_OWN);
	log_warning("open files limit (RLIMIT_NOFILE) %llu%s%s%s is below the %llu this instance "
		    "can need (%s); "
		    "past it, connections wait (EMFILE). Raise it: LimitNOFILE=%llu in a drop-in "
		    "(systemctl edit app@INSTANCE), or by hand `ulimit -n %llu` before starting "
		    "(a hard limit only as root)%s",
		    (unsigned long long)rl.rlim_cur, rl.rlim_cur < rl.rlim_max ? "" : " (the hard limit)",
		    err ? ", raising it to the hard limit failed: " : "", err ? strerror(err) : "",
		    (unsigned long long)need, what, (unsigned long long)need, (unsigned long long)need,
		    max_conns ? ", or lower max_conns" : "");
}

void nofile_restore(void)
{
	const char *e = getenv(ORIGINAL_ENV);
	struct rlimit rl;

	if (!e || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = strtoull(e, NULL, 10);
	if (rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl); /* lowering: always allowed */
	unsetenv(ORIGINAL_ENV);
}
