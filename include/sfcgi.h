/* SPDX-License-Identifier: MIT */
/*
 * sfcgi — FastCGI applications as systemd services.
 *
 * The only public header of libsfcgi. An application either hands its
 * callbacks to sfcgi_main(), or opens a server and pulls requests itself
 * with sfcgi_accept()/sfcgi_finish().
 *
 * Conventions (as in systemd and libseccomp):
 *  - functions returning int or ssize_t return >= 0 on success and a
 *    negative errno value on failure; misuse (NULL handles, finished
 *    requests, bad arguments) gives -EINVAL, never a crash;
 *  - output parameters are named ret_*, come last and are left untouched
 *    on failure;
 *  - strings handed out by the library belong to the request and stay
 *    valid until sfcgi_finish();
 *  - nothing is locked: a server and its requests belong to the one thread
 *    that uses them, one server per process. With workers (see
 *    sfcgi_server_open()) everything after sfcgi_server_open() runs in
 *    each worker process, never in the supervisor.
 *
 * Sections "FastCGI §N" refer to the FastCGI 1.0 specification.
 */
#ifndef SFCGI_H
#define SFCGI_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SFCGI_VERSION_MAJOR 0
#define SFCGI_VERSION_MINOR 1
#define SFCGI_VERSION_MICRO 0
#define SFCGI_VERSION_NUMBER \
	((SFCGI_VERSION_MAJOR * 10000) + (SFCGI_VERSION_MINOR * 100) + SFCGI_VERSION_MICRO)

#if defined(__GNUC__) && defined(SFCGI_BUILDING)
#define SFCGI_API __attribute__((visibility("default")))
#else
#define SFCGI_API
#endif

#if defined(__GNUC__)
#define SFCGI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SFCGI_PRINTF(f, a)
#endif

/* FastCGI roles (FastCGI §6), as returned by sfcgi_role(). */
#define SFCGI_RESPONDER 1
#define SFCGI_AUTHORIZER 2
#define SFCGI_FILTER 3

/* One FastCGI request, from BEGIN_REQUEST to sfcgi_finish(). Opaque. */
struct sfcgi_request;

/* A set of listening sockets and the worker loop that serves them. Opaque. */
struct sfcgi_server;

/*
 * What an application hands to sfcgi_main(). Unused callbacks may be NULL
 * except handler. Fields not listed must be zero (initialise the struct
 * with designated initialisers so later versions can add fields).
 */
struct sfcgi_app {
	/*
	 * Runs once per worker process (each one a supervisor forks, and
	 * each replacement), after the sockets are adopted and before the
	 * sandbox locks the worker down in its first sfcgi_accept(): open
	 * files, directories, databases, read templates here; afterwards the
	 * default sandbox lets the handler use them but open nothing new.
	 * Return 0, or a negative errno to make the worker exit without
	 * serving.
	 */
	int (*init)(void *userdata);
	/*
	 * Runs once per request, to completion. The return value is the
	 * application status of FCGI_END_REQUEST (FastCGI §5.5) unless the
	 * handler already called sfcgi_finish() itself.
	 */
	int (*handler)(struct sfcgi_request *req, void *userdata);
	/* Runs once when the worker's loop ends (drain, recycle, reload, a
	 * failed lock-down); not after a crash or a request_timeout exit. */
	void (*fini)(void *userdata);
	void *userdata;
	void *reserved[4];
};

/* Entry points ------------------------------------------------------------ */

/*
 * The whole program: parse the command line, read the instance config
 * (--config or $SFCGI_CONFIG, if any), find the listening sockets
 * (--listen or the config's "listen", else systemd's LISTEN_FDS, else a
 * listening socket on fd 0), fork the workers under a supervisor if
 * workers > 0 (see sfcgi_server_open()), then in each worker: run
 * app->init, lock the worker down at the first sfcgi_accept(), tell
 * systemd READY=1 (a single process itself; else the supervisor once
 * every worker is locked down), serve requests with app->handler until
 * SIGTERM, SIGINT or SIGQUIT (or the supervisor's SIGUSR1), drain, run
 * app->fini. Returns the process exit status (0, or 1 after logging why);
 * use it as `return sfcgi_main(...)`. The supervisor never returns: it
 * exits 0 when the instance stops. Options: see sfcgi_server_open().
 */
SFCGI_API int sfcgi_main(int argc, char **argv, const struct sfcgi_app *app);

/*
 * For applications that drive their own loop. Parses the sfcgi options in
 * argv (--listen PATH|@ABSTRACT|HOST:PORT|[V6]:PORT|:PORT, --listen-mode
 * OCTAL, --fdname NAME, --set KEY=VALUE, --config FILE, --workers N,
 * --help, --version; options first, arguments after "--" are the
 * application's and left alone, any other argument is an error), reads
 * the instance config (--config, else $SFCGI_CONFIG; sfcgi.json(5)) with
 * the command line over it, and adopts the listening sockets.
 * With workers > 0 (--workers, or the config's "workers", default the
 * number of CPUs; none without a config) it forks: the calling process
 * becomes the supervisor and never returns from this call (it exits 0
 * when the instance stops); the call returns 0 in each worker, and again
 * in each replacement. Code before the call runs once per start (and
 * again at each reload, which re-executes the program); code after it
 * runs in every worker.
 * Nothing is read from a peer until the first sfcgi_accept(), so the
 * caller can open what it needs in between, before the lock-down.
 * Returns 0 and *ret_server; -ECANCELED after printing --help or --version
 * (exit 0); -EINVAL for bad options or an invalid config (logged), -ENOENT
 * when no listening socket was found (or no config file), other negative
 * errno on failure.
 */
SFCGI_API int sfcgi_server_open(int argc, char **argv, struct sfcgi_server **ret_server);

/*
 * Waits for the next request whose input is ready (all parameters, and
 * the whole body or its first read_ahead bytes) and hands it out. Many
 * connections are served meanwhile: slow peers never block it.
 * The first call locks the worker down (the sandbox of sfcgi.json(5), on
 * by default: user switch when root, rlimits, no capabilities,
 * no_new_privs, Landlock, seccomp) and then reports it ready (READY=1 in
 * a single process, else to the supervisor); if a step fails it returns
 * that error (logged) and the caller must not serve.
 * Returns 1 and *ret_request, 0 when the server is shutting down (SIGTERM)
 * and every request has been handed out, or a negative errno.
 * One request at a time per process: a request not yet given back with
 * sfcgi_finish() is finished here with status 0 (as FCGX_Accept_r does).
 */
SFCGI_API int sfcgi_accept(struct sfcgi_server *server, struct sfcgi_request **ret_request);

/* Closes the listening sockets and all connections, frees the server. NULL-safe. */
SFCGI_API void sfcgi_server_free(struct sfcgi_server *server);

/* Requests ---------------------------------------------------------------- */

/* SFCGI_RESPONDER, SFCGI_AUTHORIZER or SFCGI_FILTER; -EINVAL on misuse. */
SFCGI_API int sfcgi_role(const struct sfcgi_request *req);

/*
 * The value of parameter name (FastCGI §5.2, e.g. "REQUEST_METHOD"), or
 * NULL if the request has no such parameter (or on misuse). Values are
 * NUL-terminated; a value that itself holds NUL bytes is cut short here,
 * use sfcgi_param_get() for its length.
 */
SFCGI_API const char *sfcgi_param(const struct sfcgi_request *req, const char *name);

/*
 * Like sfcgi_param() with the value's length. Returns 0, -ENOENT if there
 * is no such parameter, -EINVAL on misuse.
 */
SFCGI_API int sfcgi_param_get(const struct sfcgi_request *req, const char *name, const char **ret_value,
		    size_t *ret_len);

/*
 * Iterates over all parameters in the order the peer sent them. Start
 * with *cursor = 0. Returns 1 and the next pair, 0 at the end, -EINVAL on
 * misuse.
 */
SFCGI_API int sfcgi_param_next(const struct sfcgi_request *req, size_t *cursor, const char **ret_name,
		     const char **ret_value);

/*
 * Reads up to len bytes of the request body (FCGI_STDIN, FastCGI §5.3).
 * Streams: bodies larger than the read-ahead buffer arrive while the
 * handler reads. Returns bytes read (> 0), 0 at the end of the body (and
 * for len 0), -ECONNABORTED if the peer aborted or vanished, -ETIMEDOUT if
 * the peer stalled past read_timeout (the connection is then closed),
 * -EFBIG if the body exceeds max_stdin_bytes, -EINVAL on misuse.
 * An Authorizer request has no body: 0 at once.
 */
SFCGI_API ssize_t sfcgi_read(struct sfcgi_request *req, void *buf, size_t len);

/*
 * Reads the whole remaining body into a malloc'd, NUL-terminated buffer
 * the caller frees; *ret_len (if ret_len is not NULL) is its length
 * without the NUL. Fails with -EFBIG (and reads nothing more) once the
 * body exceeds max bytes (SIZE_MAX: no limit but max_stdin_bytes);
 * -ENOMEM; other errors as sfcgi_read(). Returns 0.
 */
SFCGI_API int sfcgi_read_all(struct sfcgi_request *req, size_t max, char **ret_buf, size_t *ret_len);

/*
 * Reads the Filter role's FCGI_DATA stream (the file to filter, FastCGI
 * §6.4), after the body. Returns as sfcgi_read(); -EINVAL unless the role
 * is SFCGI_FILTER.
 */
SFCGI_API ssize_t sfcgi_read_data(struct sfcgi_request *req, void *buf, size_t len);

/*
 * Response head helpers. If a handler calls any of them before its first
 * write, sfcgi emits the CGI header block ("Status:", headers, blank line)
 * ahead of the first body byte (or at sfcgi_finish()). A handler that calls
 * none of them writes its own headers with sfcgi_write(), as in CGI.
 * Returns 0; -EINVAL for a status outside 100..999, an empty name, a name
 * holding CR, LF, ':', space or tab, or a value holding CR or LF;
 * -EALREADY once the body has started; -ENOMEM.
 */
SFCGI_API int sfcgi_set_status(struct sfcgi_request *req, int status);
SFCGI_API int sfcgi_add_header(struct sfcgi_request *req, const char *name, const char *value);

/*
 * Appends len bytes to the response (FCGI_STDOUT). Output is buffered and
 * sent in records of up to 65535 bytes; a peer that reads slowly is waited for
 * (up to write_timeout) while other connections keep being served.
 * Until the whole request body is in, output is held back (nginx stops
 * sending a body once it has seen a response header); past write_buffer
 * bytes, the rest of the body is read into memory first.
 * Returns len, -ECONNABORTED if the peer aborted or vanished (the handler
 * should stop producing), -ETIMEDOUT, -ENOMEM, -EINVAL on misuse.
 */
SFCGI_API ssize_t sfcgi_write(struct sfcgi_request *req, const void *buf, size_t len);

/* printf into the response. Returns bytes written or a negative errno. */
SFCGI_API int sfcgi_printf(struct sfcgi_request *req, const char *fmt, ...) SFCGI_PRINTF(2, 3);
SFCGI_API int sfcgi_vprintf(struct sfcgi_request *req, const char *fmt, va_list ap) SFCGI_PRINTF(2, 0);

/* The same on FCGI_STDERR: web servers log it (nginx: error_log). */
SFCGI_API ssize_t sfcgi_write_err(struct sfcgi_request *req, const void *buf, size_t len);
SFCGI_API int sfcgi_printf_err(struct sfcgi_request *req, const char *fmt, ...) SFCGI_PRINTF(2, 3);

/* Sends what is buffered now and waits until the peer has taken it (for
 * long-running or streaming responses). Returns 0 or an error as
 * sfcgi_write(). */
SFCGI_API int sfcgi_flush(struct sfcgi_request *req);

/* 1 if the peer sent FCGI_ABORT_REQUEST or closed the connection, else 0;
 * -EINVAL on misuse. */
SFCGI_API int sfcgi_aborted(const struct sfcgi_request *req);

/*
 * Ends the request: sends the header block if still pending, closes the
 * STDOUT/STDERR streams and sends FCGI_END_REQUEST with app_status
 * (FastCGI §5.5), unread body bytes are discarded. The request is freed
 * whatever happens; req must not be used again. Returns 0 once the
 * response is queued (delivery goes on in the background), -ECONNABORTED
 * if the peer is already known to be gone, -ENOMEM, -EINVAL on misuse.
 */
SFCGI_API int sfcgi_finish(struct sfcgi_request *req, int app_status);

/* Misc -------------------------------------------------------------------- */

/* The library's version string, e.g. "0.1.0". */
SFCGI_API const char *sfcgi_version(void);

#ifdef __cplusplus
}
#endif

#endif
