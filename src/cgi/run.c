/* SPDX-License-Identifier: MIT */
/*
 * Running one script: its environment from the request's parameters
 * (RFC 3875 section 4.1), three pipes, fork and execve; then one poll loop
 * that feeds it the body as it arrives, checks its header block and
 * streams its stdout to FCGI_STDOUT and its stderr to FCGI_STDERR and the
 * log. The worker is sandboxed and so is the script: no fcntl here (pipes
 * stay blocking; a POLLOUT pipe takes PIPE_BUF bytes without blocking).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sfcgi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cgi.h"

#define MAX_ENV 1024 /* parameters passed on; more are dropped with a log line */

/*
 * When PATH_INFO was found by walking back SCRIPT_FILENAME (Apache's
 * ProxyPass, lighttpd's prefixes send the whole path), SCRIPT_NAME is the
 * request path (SCRIPT_NAME + PATH_INFO as sent) less that PATH_INFO.
 * malloc'd, or NULL to keep what the web server sent.
 */
static char *script_name(struct sfcgi_request *req, const struct cgi_script *sc)
{
	const char *sn = sfcgi_param(req, "SCRIPT_NAME"), *pi = sfcgi_param(req, "PATH_INFO");
	size_t k = sc->path_info ? strlen(sc->path_info) : 0, n;
	char *path;

	if (!k || !sn || asprintf(&path, "%s%s", sn, pi ? pi : "") < 0)
		return NULL;
	n = strlen(path);
	if (n < k || strcmp(path + n - k, sc->path_info)) {
		free(path);
		return NULL;
	}
	path[n - k] = 0;
	return path;
}

static bool overridden(const struct cgi_opts *o, const struct cgi_script *sc, const char *name)
{
	size_t n = strlen(name);

	/* httpoxy (CVE-2016-5385): a Proxy: request header must not become HTTP_PROXY */
	if (!strcmp(name, "HTTP_PROXY") || !strcmp(name, "SCRIPT_FILENAME") ||
	    !strcmp(name, "PATH") ||
	    (sc->path_info && (!strcmp(name, "PATH_INFO") || !strcmp(name, "SCRIPT_NAME"))))
		return true;
	for (size_t i = 0; i < o->nenv; i++)
		if (!strncmp(o->env[i], name, n) && o->env[i][n] == '=')
			return true;
	return false;
}

/* Appends "name=value" (value NULL: name is the whole entry). */
static int push(char **env, size_t *n, const char *name, const char *value)
{
	if (*n >= MAX_ENV + 72)
		return -E2BIG;
	if (value ? asprintf(&env[*n], "%s=%s", name, value) < 0 : !(env[*n] = strdup(name)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* The script's environment, NULL-terminated, malloc'd strings. */
static char **make_env(struct sfcgi_request *req, const struct cgi_opts *o,
		       const struct cgi_script *sc)
{
	char **env = calloc(MAX_ENV + 80, sizeof *env);
	const char *name, *value;
	size_t cursor = 0, n = 0, dropped = 0;
	bool gi = false;
	int r = env ? 0 : -ENOMEM;

	while (r == 0 && sfcgi_param_next(req, &cursor, &name, &value) == 1) {
		if (!cgi_env_name_ok(name, strlen(name)) || overridden(o, sc, name))
			continue;
		if (n >= MAX_ENV) {
			dropped++;
			continue;
		}
		gi |= !strcmp(name, "GATEWAY_INTERFACE");
		r = push(env, &n, name, value);
	}
	if (dropped)
		fprintf(stderr, "<4>sfcgi-cgi: %s: %zu parameters beyond %d not passed on\n",
			sc->real, dropped, MAX_ENV);
	if (r == 0)
		r = push(env, &n, "SCRIPT_FILENAME", sc->real);
	if (r == 0)
		r = push(env, &n, "PATH", o->path);
	if (r == 0 && sc->path_info) {
		char *sn = script_name(req, sc);
		const char *orig = sfcgi_param(req, "SCRIPT_NAME");

		r = push(env, &n, "PATH_INFO", sc->path_info);
		if (r == 0 && (sn || orig))
			r = push(env, &n, "SCRIPT_NAME", sn ? sn : orig);
		free(sn);
	}
	if (r == 0 && !gi)
		r = push(env, &n, "GATEWAY_INTERFACE", "CGI/1.1");
	for (size_t i = 0; r == 0 && i < o->nenv; i++)
		r = push(env, &n, o->env[i], NULL);
	if (r < 0 && env) {
		for (size_t i = 0; i < n; i++)
			free(env[i]);
		free(env);
		env = NULL;
	}
	return env;
}

static void free_env(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/*
 * The open files limit a script gets: the soft limit the instance started
 * with (the supervisor raised ours to the hard one and kept the first in
 * SFCGI_NOFILE_SOFT, src/nofile.h), as under a web server's fcgiwrap: a
 * script may use select(), or close every descriptor up to the limit.
 */
static rlim_t script_nofile(void)
{
	static rlim_t soft;
	const char *e;

	if (!soft)
		soft = (e = getenv("SFCGI_NOFILE_SOFT")) ? strtoull(e, NULL, 10) : RLIM_INFINITY;
	return soft;
}

/* In the child: only async-signal-safe calls from here to execve. */
static void child(const struct cgi_script *sc, const int *in, const int *out, const int *err,
		  char **env, rlim_t nofile)
{
	struct rlimit rl;

	char *argv[] = { sc->real, NULL };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	static const char msg[] = "sfcgi-cgi: could not execute the script\n";

	setpgid(0, 0); /* the timeout kills the script's whole process group */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
		_exit(127);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (chdir(sc->dir) < 0)
		_exit(127);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && nofile < rl.rlim_cur) {
		rl.rlim_cur = nofile;
		setrlimit(RLIMIT_NOFILE, &rl); /* lowering: always allowed */
	}
	execve(sc->real, argv, env);
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(127);
	_exit(127);
}

int cgi_spawn(struct sfcgi_request *req, const struct cgi_opts *o, const struct cgi_script *sc,
	      struct cgi_run *run)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, r = 0;
	char **env = make_env(req, o, sc);
	rlim_t nofile = script_nofile();
	pid_t pid = -1;

	memset(run, 0, sizeof *run);
	run->pid = -1;
	run->in = run->out = run->err = -1;
	if (!env)
		return -ENOMEM;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		r = -errno;
	if (r == 0 && (pid = fork()) < 0)
		r = -errno;
	else if (r == 0 && pid == 0)
		child(sc, in, out, err, env, nofile);
	else if (r == 0)
		run->pid = pid;
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	run->in = in[1];
	run->out = out[0];
	run->err = err[0];
	free_env(env);
	if (r < 0)
		cgi_run_close(run);
	return r;
}

void cgi_run_close(struct cgi_run *run)
{
	int *fds[] = { &run->in, &run->out, &run->err };

	for (size_t i = 0; i < 3; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	free(run->head);
	run->head = NULL;
	run->head_len = 0;
}

/* ---- the loop ------------------------------------------------------------- */

struct pump {
	struct sfcgi_request *req;
	const struct cgi_opts *o;
	const struct cgi_script *sc;
	struct cgi_run *run;
	char body[65536]; /* body bytes read from the request, not yet in the pipe */
	size_t off, len;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The script's stdin is writable (or gone): more body. */
static int feed(struct pump *p, short revents)
{
	ssize_t n;

	if (p->off == p->len && !(revents & (POLLERR | POLLHUP))) {
		n = sfcgi_read(p->req, p->body, sizeof p->body);
		if (n == -ECONNABORTED)
			return -ECONNABORTED;
		if (n < 0)
			fprintf(stderr, "<4>sfcgi-cgi: %s: reading the request body: %s\n",
				p->sc->real, strerror((int)-n));
		if (n <= 0) {
			close_fd(&p->run->in); /* EOF for the script */
			return 0;
		}
		p->off = 0;
		p->len = (size_t)n;
	}
	n = p->len - p->off > PIPE_BUF ? PIPE_BUF : (ssize_t)(p->len - p->off);
	if (revents & (POLLERR | POLLHUP) || (n = write(p->run->in, p->body + p->off, (size_t)n)) < 0) {
		if (n < 0 && errno == EINTR)
			return 0;
		close_fd(&p->run->in); /* it does not want (the rest of) the body */
		p->off = p->len = 0;
		return 0;
	}
	p->off += (size_t)n;
	return 0;
}

static int body_out(struct pump *p, const char *b, size_t n)
{
	if (n && (sfcgi_write(p->req, b, n) < 0 || sfcgi_flush(p->req) < 0))
		return -ECONNABORTED;
	return 0;
}

/* The header block is complete (end bytes of head): check it, send it. */
static int send_head(struct pump *p, size_t end)
{
	struct cgi_run *run = p->run;
	size_t blank = end;
	char *out;
	const char *why;
	long k;
	int r;

	while (blank > 0 && (run->head[blank - 1] == '\n' || run->head[blank - 1] == '\r'))
		blank--; /* the head without its final line breaks */
	out = malloc(CGI_HEAD_MAX + 4);
	if (!out)
		return -ENOMEM;
	k = cgi_head_check(run->head, blank, out, CGI_HEAD_MAX + 4, &why);
	if (k < 0) {
		fprintf(stderr, "<3>sfcgi-cgi: %s: malformed CGI header block: %s\n", p->sc->real,
			why);
		free(out);
		return -EPROTO;
	}
	r = sfcgi_write(p->req, out, (size_t)k) < 0 ? -ECONNABORTED : 0;
	free(out);
	run->head_sent = true;
	if (r == 0)
		r = body_out(p, run->head + end, run->head_len - end);
	free(run->head);
	run->head = NULL;
	run->head_len = 0;
	return r;
}

static int on_stdout(struct pump *p, const char *b, size_t n)
{
	struct cgi_run *run = p->run;
	size_t end, from;
	char *h;

	run->out_bytes += n;
	if (run->head_sent)
		return body_out(p, b, n);
	if (n > CGI_HEAD_MAX + 4 - run->head_len)
		n = CGI_HEAD_MAX + 4 - run->head_len; /* enough to see it is too long */
	h = realloc(run->head, run->head_len + n);
	if (!h)
		return -ENOMEM;
	run->head = h;
	from = run->head_len > 2 ? run->head_len - 2 : 0; /* a blank line across reads */
	memcpy(h + run->head_len, b, n);
	run->head_len += n;
	end = cgi_head_end(h + from, run->head_len - from);
	if (end)
		return send_head(p, from + end);
	if (run->head_len > CGI_HEAD_MAX) {
		fprintf(stderr, "<3>sfcgi-cgi: %s: CGI header block longer than %d bytes\n",
			p->sc->real, CGI_HEAD_MAX);
		return -EPROTO;
	}
	return 0;
}

/* stdout ended: a header block without its blank line is taken as it is. */
static int on_stdout_eof(struct pump *p)
{
	struct cgi_run *run = p->run;

	if (run->head_sent || !run->head_len)
		return 0;
	if (run->head[run->head_len - 1] != '\n') {
		fprintf(stderr, "<3>sfcgi-cgi: %s: output ended inside its CGI header block\n",
			p->sc->real);
		return -EPROTO;
	}
	return send_head(p, run->head_len);
}

static void on_stderr(struct pump *p, const char *b, size_t n)
{
	if (p->o->stderr_fcgi)
		sfcgi_write_err(p->req, b, n);
	while (p->o->stderr_log && n) {
		const char *nl = memchr(b, '\n', n);
		size_t k = nl ? (size_t)(nl - b) : n;

		fprintf(stderr, "<4>sfcgi-cgi: %s: %.*s\n", p->sc->real, (int)k, b);
		k += nl != NULL;
		b += k;
		n -= k;
	}
}

/* Reads what fd has; 1 if it is open still, 0 at EOF, <0 on error. */
static int drain(struct pump *p, int *fd, bool is_out)
{
	char buf[65536];
	ssize_t n = read(*fd, buf, sizeof buf);
	int r = 0;

	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0) {
		close_fd(fd);
		return is_out ? on_stdout_eof(p) : 0;
	}
	if (is_out)
		r = on_stdout(p, buf, (size_t)n);
	else
		on_stderr(p, buf, (size_t)n);
	return r < 0 ? r : 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cgi_pump(struct sfcgi_request *req, const struct cgi_opts *o, const struct cgi_script *sc,
	     struct cgi_run *run, int64_t deadline)
{
	static struct pump p;
	int r = 0;

	memset(&p, 0, sizeof p);
	p.req = req, p.o = o, p.sc = sc, p.run = run;
	while (r >= 0 && (run->out >= 0 || run->err >= 0)) {
		struct pollfd fds[3] = { { .fd = run->out, .events = POLLIN },
					 { .fd = run->err, .events = POLLIN },
					 { .fd = run->in, .events = POLLOUT } };
		int64_t left = deadline ? deadline - now_ms() : -1;
		int k;

		if (deadline && left <= 0)
			return -ETIMEDOUT;
		k = poll(fds, 3, left < 0 ? -1 : left > 1000 ? 1000 : (int)left);
		if (k < 0 && errno != EINTR)
			return -errno;
		if (k <= 0)
			continue;
		if (fds[2].revents)
			r = feed(&p, fds[2].revents);
		if (r >= 0 && fds[0].revents)
			r = drain(&p, &run->out, true);
		if (r >= 0 && fds[1].revents)
			r = drain(&p, &run->err, false);
	}
	close_fd(&run->in);
	return r < 0 ? r : 0;
}
