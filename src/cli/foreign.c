/* SPDX-License-Identifier: MIT */
/*
 * Foreign programs (php-cgi, Perl FCGI, flup, Go net/http/fcgi, libfcgi):
 * sfcgi-foreign, which `sfcgi run` executes for them, supervises (it links
 * libsystemd, which sfcgi itself does not), and each worker is the program with the
 * listening socket on fd 0 (FCGI_LISTENSOCK_FILENO), as a web server that
 * spawns FastCGI applications would start it, and a clean environment.
 *
 * A worker's life: fork (supervisor) -> socket on fd 0, clean environment,
 * default signal dispositions -> the instance's sandbox (user, rlimits,
 * capabilities, no_new_privs, Landlock, seccomp) -> execve. The seccomp
 * filter and no_new_privs survive the exec, so the program runs under the
 * same allow-list a native worker does, widened by what any exec'd program
 * needs: "interpreter" (execve itself, the dynamic loader, runtimes),
 * "file-read" (shared libraries, scripts) and "threads" (Go, JVM-style
 * runtimes). Landlock confines where those reads go when paths are listed.
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
#include "nofile.h"
#include "scoreboard.h"
#include "supervisor.h"

/*
 * A worker that has lived this long serves. A program that cannot serve
 * (a refused system call, a missing module, a bad setting such as
 * PHP_FCGI_CHILDREN without "process") dies while it starts: php-cgi, Perl
 * and Python start in tens of milliseconds. /proc/PID/syscall or wchan
 * (blocked in accept on fd 0) would be no better: reading them takes
 * ptrace rights the supervisor may not have, and what a healthy program
 * waits in differs (accept, poll, epoll in another thread, a php-cgi master
 * in wait4 while its children accept).
 */
#define FOREIGN_SERVE_GRACE_MS 1000

/* What every foreign program gets on top of the configured "allow". */
#define FOREIGN_ALLOW (GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_THREADS)

/*
 * The worker's environment: PATH, HOME and the config's "environment",
 * nothing else. HOME=/ (as systemd gives a DynamicUser= service) unless
 * configured: without it libc looks the home directory up in the password
 * database, and glibc's NSS first tries nscd over a unix socket, which the
 * sandbox refuses (Python's site module does this at every start).
 */
static char **make_env(const struct config *c)
{
	size_t n = 0, k = 0;
	char **env;
	bool has_path = false, has_home = false;

	for (char **e = c->env; e && *e; e++) {
		n++;
		has_path |= !strncmp(*e, "PATH=", 5);
		has_home |= !strncmp(*e, "HOME=", 5);
	}
	env = calloc(n + 3, sizeof *env);
	if (!env)
		return NULL;
	if (!has_path)
		env[k++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	if (!has_home)
		env[k++] = "HOME=/";
	for (char **e = c->env; e && *e; e++)
		env[k++] = *e;
	return env;
}

static char **make_argv(const struct config *c)
{
	size_t n = 0;
	char **argv;

	for (char **a = c->args; a && *a; a++)
		n++;
	argv = calloc(n + 2, sizeof *argv);
	if (!argv)
		return NULL;
	argv[0] = c->program;
	if (n)
		memcpy(argv + 1, c->args, n * sizeof *argv);
	return argv;
}

/* In the forked worker: never returns. Exit 127 is "could not execute". */
static void exec_worker(const struct config *c, const int *fds, struct slot *slot)
{
	struct sandbox_config sb = c->sandbox; /* shallow: the lists stay the config's */
	char **argv = make_argv(c), **envp = make_env(c);
	sigset_t none;

	if (!argv || !envp) {
		log_err("out of memory");
		_exit(127);
	}
	if (dup2(fds[0], STDIN_FILENO) < 0 || fcntl(STDIN_FILENO, F_SETFD, 0) < 0) {
		log_err("putting the listening socket on fd 0: %m");
		_exit(127);
	}
	/* The program starts as a web server would start it: no signal ignored
	 * (the supervisor ignores SIGPIPE; ignored stays ignored across exec),
	 * none blocked. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	nofile_restore(); /* the program's own limit, as without us (nofile.h) */
	sb.allow |= FOREIGN_ALLOW;
	sb.notify = true; /* the SIGSYS handler would not survive the exec */
	if (sandbox_apply(&sb, slot) < 0)
		_exit(127); /* logged; the supervisor restarts with backoff */
	/* Serving is shown by surviving serve_grace_ms (the supervisor's
	 * promote()): the program cannot say it. */
	execve(c->program, argv, envp);
	if (errno == EACCES && (sb.read_only || sb.read_write))
		log_err("executing %s: %m (Landlock: the program, its #! interpreter and "
			"the dynamic loader need execute access under the sandbox paths)",
			c->program);
	else
		log_err("executing %s: %m", c->program);
	_exit(127);
}

/* What a foreign instance cannot have, said once at start. */
static void explain_limits(struct config *c)
{
	if (c->idle_timeout_ms) {
		log_notice("%s: idle_timeout needs a native program (sfcgi cannot see a foreign "
			   "program's connections); ignored",
			   c->path);
		c->idle_timeout_ms = 0;
	}
	if (c->max_requests)
		log_notice("%s: max_requests needs a native program (sfcgi cannot count a foreign "
			   "program's requests); use the program's own limit, e.g. "
			   "PHP_FCGI_MAX_REQUESTS in \"environment\"; ignored",
			   c->path);
	if (c->slow_request_ms)
		log_notice("%s: slow_request needs a native program (sfcgi cannot see a foreign "
			   "program's requests); use the program's own slow log, e.g. php-fpm's; "
			   "ignored", c->path);
	if (c->sandbox.enabled && c->sandbox.profile == PROFILE_STRICT)
		log_warning("%s: \"seccomp\": \"strict\" leaves out what the dynamic loader needs "
			    "(mprotect, fstat...): the program will most likely be killed at start",
			    c->path);
}

int run_foreign(struct config *c, int config_fd)
{
	struct activation_opts act = { .listen = c->listen, .fdname = c->fdname,
				       .config = c->path, .listen_mode = c->listen_mode,
				       .listen_uid = c->listen_uid, .listen_gid = c->listen_gid };
	const char *sa = getenv("SFCGI_SOCKET_ACTIVATED"); /* kept across a reload */
	struct slot *slot = NULL;
	int *fds = NULL;
	size_t nfds = 0;
	int r;

	if (getenv("SFCGI_RELOADING"))
		act.listen = NULL; /* re-executed: our sockets come as LISTEN_FDS */
	if (activation_adopt(&act, &fds, &nfds) < 0)
		return 1;
	if (nfds > 1)
		log_notice("%s: %zu listening sockets; a foreign program serves only the first "
			   "(on fd 0)",
			   c->path, nfds);
	explain_limits(c);
	/* A reload re-executes `sfcgi run --config FILE` (supervisor.c, reexec):
	 * SFCGI_RUN, set by sfcgi run, names it. */
	struct supervisor_opts so = {
		.workers = c->workers ? c->workers : 1,
		.idle_timeout_ms = 0,
		.request_timeout_ms = 0, /* the program's requests are invisible to us, */
		.hang_timeout_ms = c->request_timeout_ms, /* but not whether it moves */
		.drain_timeout_ms = c->drain_timeout_ms,
		.socket_activated = sa ? !strcmp(sa, "1") : act.from_systemd,
		.lockdown = c->sandbox.enabled,
		.sandbox_allow = c->sandbox.enabled ? c->sandbox.allow | FOREIGN_ALLOW : 0,
		.sandbox_syscalls = c->sandbox.syscalls,
		.fds = fds,
		.nfds = nfds,
		.fdname = act.fdname,
		.config_path = c->path,
		.program = c->program,
		.exit_is_recycle = true,
		.serve_grace_ms = FOREIGN_SERVE_GRACE_MS,
		.config_fd = config_fd,
		.drain_signal = c->drain_signal,
		.status_fd = activation_status_socket(act.status_fd, NULL, c->status),
		.slow_request_ms = 0, /* a foreign program's requests are invisible to us */
		/* a refused call is named (or, learning, logged) through a seccomp
		 * listener (filter.c, refusal.c) */
		.notify = c->sandbox.enabled && c->sandbox.profile != PROFILE_OFF,
		.learning = c->sandbox.enabled && c->sandbox.profile != PROFILE_OFF &&
			    c->sandbox.action == ACTION_LOG,
	};
	unsetenv("SFCGI_SOCKET_ACTIVATED");
	if (so.status_fd < 0)
		return 1;
	struct sandbox_config sb = c->sandbox; /* what exec_worker() applies */
	sb.allow |= FOREIGN_ALLOW;
	sb.notify = true;
	if (sandbox_prepare(&sb) < 0)
		return 1;
	nofile_raise(so.workers, 0, nfds); /* ours only: the program gets its own back */
	r = supervisor_run(&so, &slot);
	if (r == 1)
		exec_worker(c, fds, slot);
	return 1;
}
