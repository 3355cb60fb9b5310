/* SPDX-License-Identifier: MIT */
/*
 * The CGI bridge's parts: finding and confining the script (script.c),
 * running it and moving bytes between it and the request (run.c), and the
 * pure CGI header-block check (head.c), kept apart so tests can feed it
 * any bytes.
 */
#ifndef SFCGI_CGI_H
#define SFCGI_CGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sfcgi_request;

struct cgi_opts {
	char *roots[32];       /* realpath'd --root directories */
	size_t nroots;
	int64_t timeout_ms;    /* --timeout, 0 = none */
	const char *path;      /* --path: PATH of the scripts */
	const char *env[64];   /* --env NAME=VALUE */
	size_t nenv;
	bool stderr_fcgi;      /* the scripts' stderr to FCGI_STDERR */
	bool stderr_log;       /* ... and/or to our log */
};

struct cgi_script {
	char *real;      /* the script's real path, under a root */
	char *dir;       /* its directory: the script's working directory */
	char *path_info; /* PATH_INFO found by walking back the path, or NULL */
};

struct cgi_run {
	pid_t pid;          /* the script (and its process group), -1 when reaped */
	int in, out, err;   /* our ends of its stdin, stdout, stderr; -1 once closed */
	bool head_sent;     /* its header block went out: no status of ours any more */
	uint64_t out_bytes; /* bytes it wrote on stdout */
	char *head;         /* stdout bytes before the end of the header block */
	size_t head_len;
};

#define CGI_HEAD_MAX 65536 /* a longer header block is refused (502) */

/* [A-Za-z_][A-Za-z0-9_]*, n bytes of s. */
bool cgi_env_name_ok(const char *s, size_t n);

/*
 * Finds the script of req and checks it: 0 and *sc filled, or the HTTP
 * status to answer (403, 404, 500) after a log line saying why.
 */
int cgi_find_script(struct sfcgi_request *req, const struct cgi_opts *o, struct cgi_script *sc);
void cgi_script_free(struct cgi_script *sc);

/* Forks and executes the script with req's CGI environment. 0 or -errno. */
int cgi_spawn(struct sfcgi_request *req, const struct cgi_opts *o, const struct cgi_script *sc,
	      struct cgi_run *run);

/*
 * Moves the body to the script and its output back until its stdout and
 * stderr close. 0; -ETIMEDOUT past deadline (ms, CLOCK_MONOTONIC, 0 =
 * none); -ECONNABORTED if the peer went away; -EPROTO for a malformed
 * header block (logged). The caller kills and reaps on error.
 */
int cgi_pump(struct sfcgi_request *req, const struct cgi_opts *o, const struct cgi_script *sc,
	     struct cgi_run *run, int64_t deadline);
void cgi_run_close(struct cgi_run *run);

/*
 * Where the header block in p (n bytes) ends: the offset just past its
 * blank line ("\n\n", "\r\n\r\n" and mixes), or 0 if it has not ended.
 */
size_t cgi_head_end(const char *p, size_t n);

/*
 * Checks a header block (without its blank line) and rewrites it into out
 * (cap bytes) as "Name: value\r\n" lines ending in "\r\n". Each line is a
 * token name, ':', a value of visible characters, spaces and tabs;
 * "Status:" is three digits (100..999) and an optional reason; one of
 * Status, Location or Content-Type is there (RFC 3875 section 6.2).
 * Returns the length written, or -1 with *ret_why saying what is wrong.
 */
long cgi_head_check(const char *p, size_t n, char *out, size_t cap, const char **ret_why);

#endif
