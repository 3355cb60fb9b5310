/* SPDX-License-Identifier: MIT */
/*
 * Foreign programs (php-cgi, Perl FCGI, flup, Go net/http/fcgi, libfcgi):
 * `sfcgi run` itself supervises, and each worker is the program with the
 * listening socket on fd 0 (FCGI_LISTENSOCK_FILENO), as a web server that
 * spawns FastCGI applications would start it, and a clean environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "scoreboard.h"
#include "supervisor.h"

static void exec_worker(const struct config *c, const int *fds, struct slot *slot)
{
	size_t n = 0;
	char **argv;

	if (dup2(fds[0], STDIN_FILENO) < 0) {
		log_err("worker: dup2: %m");
		_exit(127);
	}
	clearenv();
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	for (char **e = c->env; e && *e; e++)
		putenv(*e);
	for (char **a = c->args; a && *a; a++)
		n++;
	argv = calloc(n + 2, sizeof *argv);
	if (!argv)
		_exit(127);
	argv[0] = c->program;
	if (n)
		memcpy(argv + 1, c->args, n * sizeof *argv);
	/* The program's readiness is its own business: it listens on fd 0. */
	supervisor_worker_ready(slot);
	execv(c->program, argv);
	log_err("worker: executing %s: %m", c->program);
	_exit(127);
}

int run_foreign(struct config *c)
{
	struct activation_opts act = { .listen = c->listen, .fdname = c->fdname, .listen_mode = -1 };
	struct slot *slot = NULL;
	int *fds = NULL;
	size_t nfds = 0;
	int r;

	if (getenv("SFCGI_RELOADING"))
		act.listen = NULL; /* re-executed: our sockets come as LISTEN_FDS */
	if (activation_adopt(&act, &fds, &nfds) < 0)
		return 1;
	if (c->idle_timeout_ms) {
		log_notice("%s: idle_timeout needs a native program (sfcgi cannot see a foreign "
			   "program's connections); ignored",
			   c->path);
		c->idle_timeout_ms = 0;
	}
	struct supervisor_opts so = {
		.workers = c->workers ? c->workers : 1,
		.idle_timeout_ms = 0,
		.request_timeout_ms = 0, /* the program's requests are invisible to us */
		.drain_timeout_ms = c->drain_timeout_ms,
		.socket_activated = act.from_systemd,
		.fds = fds,
		.nfds = nfds,
		.fdname = act.fdname,
		.config_path = c->path,
		.drain_signal = SIGTERM,
	};
	r = supervisor_run(&so, &slot);
	if (r == 1)
		exec_worker(c, fds, slot);
	return 1;
}
