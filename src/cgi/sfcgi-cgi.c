/* SPDX-License-Identifier: MIT */
/*
 * sfcgi-cgi: runs CGI/1.1 scripts (RFC 3875) for FastCGI requests, as
 * fcgiwrap does, on libsfcgi's public API only. Per request: find the
 * script (SCRIPT_FILENAME, or DOCUMENT_ROOT + SCRIPT_NAME), refuse it
 * unless its real path lies under a configured root, fork and execute it
 * with the request's parameters as its environment, stream the body to
 * its stdin and its stdout back (the CGI header block parsed and checked
 * first), send its stderr to FCGI_STDERR and the log, and kill it after
 * --timeout seconds (504 if nothing was sent yet).
 *
 * Its own options come after "--" (sfcgi run passes the config's "args"
 * there; sfcgi_main() stops reading at "--"):
 *   --root DIR        a directory scripts may live in (repeatable, required)
 *   --timeout SECS    per-script time limit, default 30, 0 = none
 *   --path PATH       PATH for scripts, default /usr/local/bin:/usr/bin:/bin
 *   --env NAME=VALUE  a variable for every script (repeatable)
 *   --stderr WHERE    fcgi, log or both (default) for the scripts' stderr
 *
 * Scripts are children of a sandboxed worker: seccomp, no_new_privs and
 * Landlock apply to them. The instance config allows what they need:
 * "sandbox": {"allow": ["process", "interpreter"]} (plus "file-read").
 * A call the sandbox refuses to a script is named by the supervisor (the
 * filter notifies it; refusal.c), which ends the script with SIGSYS: we
 * answer 502 and say so on FCGI_STDERR.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sfcgi.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../proctree.h"
#include "cgi.h"

#define MAX_ROOTS 32
#define MAX_EXTRA_ENV 64

static struct cgi_opts opts = {
	.timeout_ms = 30000,
	.path = "/usr/local/bin:/usr/bin:/bin",
	.stderr_fcgi = true,
	.stderr_log = true,
};

/* ---- options ------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "<3>usage: sfcgi-cgi [sfcgi options] -- --root DIR [--root DIR]... "
			"[--timeout SECONDS] [--path PATH] [--env NAME=VALUE]... "
			"[--stderr fcgi|log|both]\n");
}

static int add_root(const char *dir)
{
	char *real = realpath(dir, NULL);
	struct stat st;

	if (opts.nroots == MAX_ROOTS) {
		fprintf(stderr, "<3>sfcgi-cgi: more than %d --root directories\n", MAX_ROOTS);
		return -1;
	}
	if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "<3>sfcgi-cgi: --root %s: %s\n", dir,
			real ? "not a directory" : strerror(errno));
		free(real);
		return -1;
	}
	opts.roots[opts.nroots++] = real;
	return 0;
}

static int set_timeout(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0 && v <= 86400)) {
		fprintf(stderr, "<3>sfcgi-cgi: --timeout %s: expected seconds, 0 to 86400\n", s);
		return -1;
	}
	opts.timeout_ms = (int64_t)(v * 1000);
	return 0;
}

static int set_stderr(const char *s)
{
	opts.stderr_fcgi = !strcmp(s, "fcgi") || !strcmp(s, "both");
	opts.stderr_log = !strcmp(s, "log") || !strcmp(s, "both");
	if (opts.stderr_fcgi || opts.stderr_log)
		return 0;
	fprintf(stderr, "<3>sfcgi-cgi: --stderr %s: expected fcgi, log or both\n", s);
	return -1;
}

static int add_env(const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s || !cgi_env_name_ok(s, (size_t)(eq - s))) {
		fprintf(stderr, "<3>sfcgi-cgi: --env %s: expected NAME=VALUE\n", s);
		return -1;
	}
	if (opts.nenv == MAX_EXTRA_ENV) {
		fprintf(stderr, "<3>sfcgi-cgi: more than %d --env\n", MAX_EXTRA_ENV);
		return -1;
	}
	opts.env[opts.nenv++] = s;
	return 0;
}

/* Our options: what follows the first "--" in argv. 0 or -1 (logged). */
static int parse_args(int argc, char **argv)
{
	int i = 1;

	while (i < argc && strcmp(argv[i], "--"))
		i++;
	for (i++; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r;

		if (!v) {
			fprintf(stderr, "<3>sfcgi-cgi: %s needs a value\n", k);
			usage();
			return -1;
		}
		if (!strcmp(k, "--root"))
			r = add_root(v);
		else if (!strcmp(k, "--timeout"))
			r = set_timeout(v);
		else if (!strcmp(k, "--path"))
			r = (opts.path = v) ? 0 : -1;
		else if (!strcmp(k, "--env"))
			r = add_env(v);
		else if (!strcmp(k, "--stderr"))
			r = set_stderr(v);
		else {
			fprintf(stderr, "<3>sfcgi-cgi: unknown option %s\n", k);
			usage();
			return -1;
		}
		if (r < 0)
			return -1;
	}
	if (opts.nroots == 0) {
		fprintf(stderr, "<3>sfcgi-cgi: no --root: name the directories scripts may "
				"live in\n");
		usage();
		return -1;
	}
	return 0;
}

/* ---- the handler -------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An answer of our own, before the script said anything. */
static int answer(struct sfcgi_request *req, int status, const char *text)
{
	sfcgi_set_status(req, status);
	sfcgi_add_header(req, "Content-Type", "text/plain");
	sfcgi_printf(req, "%d %s\n", status, text);
	return 0;
}

/* The script's exit, for the log. */
static void log_exit(const struct cgi_script *sc, int status, bool timed_out)
{
	if (timed_out)
		fprintf(stderr, "<4>sfcgi-cgi: %s: killed after --timeout %.3g s\n", sc->real,
			opts.timeout_ms / 1000.0);
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		/* The supervisor hears of the call (a seccomp notification) and says
		 * which it was and what allows it, before it ends the script. */
		fprintf(stderr, "<3>sfcgi-cgi: %s: killed by the sandbox (SIGSYS): it made a "
				"system call the instance's \"sandbox\" refuses; the \"killed by "
				"the sandbox\" line before this one names it and what to add (under "
				"a supervisor: \"workers\" of 1 or more)\n",
			sc->real);
	else if (WIFSIGNALED(status))
		fprintf(stderr, "<4>sfcgi-cgi: %s: killed by SIG%s\n", sc->real,
			sigabbrev_np(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		fprintf(stderr, "<3>sfcgi-cgi: %s: could not be executed (exit status 127)\n",
			sc->real);
	else if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "<6>sfcgi-cgi: %s: exited with status %d\n", sc->real,
			WEXITSTATUS(status));
}

static bool sandboxed(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

/*
 * The script and all it started: its process group (background jobs,
 * double forks) and every descendant that left the group (setsid, job
 * control) while its parent lives; one whose parent had exited already is
 * the supervisor's to end (a child subreaper, it adopted it). Without /proc
 * (Landlock paths that leave it out), the group at least.
 */
static void kill_script(pid_t pid)
{
	if (proctree_kill(pid, 0, pid) < 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
}

/* Reaps the script, killing its tree if it outlives the deadline. */
static int reap(struct cgi_run *run, int64_t deadline, bool *timed_out)
{
	int status = 0;

	for (;;) {
		pid_t r = waitpid(run->pid, &status, WNOHANG);

		if (r == run->pid || (r < 0 && errno != EINTR))
			break;
		if (deadline && now_ms() >= deadline) {
			kill_script(run->pid);
			*timed_out = true;
			deadline = 0;
			continue;
		}
		usleep(2000);
	}
	run->pid = -1;
	return status;
}

static int handler(struct sfcgi_request *req, void *userdata)
{
	struct cgi_script sc;
	struct cgi_run run;
	int64_t deadline;
	bool timed_out = false;
	int r, status;

	(void)userdata;
	r = cgi_find_script(req, &opts, &sc);
	if (r)
		return answer(req, r, r == 404 ? "Not Found" : r == 403 ? "Forbidden"
									 : "Internal Server Error");
	r = cgi_spawn(req, &opts, &sc, &run);
	if (r < 0) {
		fprintf(stderr, "<3>sfcgi-cgi: %s: starting it: %s\n", sc.real, strerror(-r));
		cgi_script_free(&sc);
		return answer(req, 500, "Internal Server Error");
	}
	deadline = opts.timeout_ms ? now_ms() + opts.timeout_ms : 0;
	r = cgi_pump(req, &opts, &sc, &run, deadline);
	if (r < 0) { /* timed out, peer gone, malformed head: the script is done for */
		kill_script(run.pid);
		timed_out = r == -ETIMEDOUT;
	}
	status = reap(&run, deadline, &timed_out);
	cgi_run_close(&run);
	log_exit(&sc, status, timed_out);
	if (sandboxed(status) && opts.stderr_fcgi) /* the web server's error log */
		sfcgi_printf_err(req, "sfcgi-cgi: %s: killed by the sandbox for a refused system "
				 "call; the sfcgi log names it\n", sc.real);
	if (timed_out && !run.head_sent)
		answer(req, 504, "Gateway Timeout");
	else if (sandboxed(status) && !run.head_sent && r != -ECONNABORTED)
		answer(req, 502, "Bad Gateway: the script was killed by the sandbox");
	else if (!run.head_sent && r != -ECONNABORTED)
		answer(req, 502, run.out_bytes ? "Bad Gateway: malformed CGI header"
					       : "Bad Gateway: the script sent nothing");
	cgi_script_free(&sc);
	return 0;
}

static int init(void *userdata)
{
	(void)userdata;
	/* The scripts' pipes must not land on 0..2 (dup2 onto them in the child). */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return -EBADF;
	/* A script that exits without reading its body: EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* After the library's --help: the bridge's own options. */
static void help(void)
{
	printf("\nsfcgi-cgi runs CGI scripts (RFC 3875) for FastCGI requests. Its own options\n"
	       "follow \"--\" (an instance config's \"args\"):\n\n"
	       "  --root DIR          a directory scripts may live in (required; may repeat)\n"
	       "  --timeout SECONDS   kill a script after this long, 504 if it sent nothing\n"
	       "                      (default 30, 0 = never, at most 86400)\n"
	       "  --path PATH         PATH of the scripts (default /usr/local/bin:/usr/bin:/bin)\n"
	       "  --env NAME=VALUE    a variable for every script; may repeat\n"
	       "  --stderr WHERE      the scripts' stderr to fcgi (the web server), log, or\n"
	       "                      both (default)\n\n"
	       "A bad option exits with status 2. See sfcgi-cgi(1).\n");
}

int main(int argc, char **argv)
{
	const struct sfcgi_app app = { .init = init, .handler = handler };

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			int r = sfcgi_main(argc, argv, &app);

			help();
			return r;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V"))
			return sfcgi_main(argc, argv, &app);
	}
	if (parse_args(argc, argv) < 0)
		return 2;
	return sfcgi_main(argc, argv, &app);
}
