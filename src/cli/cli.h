/* SPDX-License-Identifier: MIT */
/* Subcommands of the sfcgi tool. Each returns the process exit status. */
#ifndef SFCGI_CLI_H
#define SFCGI_CLI_H

#include <stddef.h>
#include <stdio.h>

#define EXIT_CONFIG 78 /* EX_CONFIG: systemd shows "status=78/CONFIG" */

int cmd_request(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_status(int argc, char **argv);

/*
 * dial.c: a connected stream socket to addr: a unix socket path (it has a
 * '/'), "@abstract", HOST:PORT or [IPv6]:PORT. fd; or -errno, with err set
 * when the address itself is wrong (err is "" when connecting failed: the
 * caller says what that means for it).
 */
int cli_dial(const char *addr, char *err, size_t n);

/* sfcgi status (status.c, status-fetch.c, status-list.c) */
#define STATUS_TIMEOUT_MS 5000 /* a supervisor answers from its loop: at once */
struct buf;
struct status_target {
	char addr[256];       /* a socket path, @abstract or HOST:PORT */
	const char *instance; /* the instance name given, or NULL for a path */
	int user;             /* --user: the user manager's instance */
};
/* The target for arg: a path (it has '/'), HOST:PORT, or an instance name,
 * whose socket is /run/sfcgi/NAME.status.sock, or under $XDG_RUNTIME_DIR for
 * user. 0, or -1 with the reason in err. */
int status_target_init(struct status_target *t, const char *arg, int user, char *err,
		       size_t n);
/* GETs uri from t's status socket: the body of a 200 answer into body
 * (emptied first), 0; or -errno (-ENOENT no socket, -EACCES, -ECONNREFUSED,
 * -EPROTO not a status socket, -ETIMEDOUT...) with what went wrong, and what
 * to do, in err. */
int status_fetch(const struct status_target *t, const char *uri, struct buf *body, char *err,
		 size_t n);
/* From a /status answer: its state, requests total and uptime (NAN when
 * absent); -1 if it is not one. */
int status_summary(const char *name, const char *text, size_t len, char *state, size_t n,
		   double *ret_total, double *ret_uptime);
/* Redraws frame (its text into f; <0: it failed, and said why in f) every
 * second until SIGINT, SIGTERM or q; the exit status. */
int status_watch(int (*frame)(FILE *f, void *ctx, int watch), void *ctx);
/* sfcgi status without an instance: the manager's app@*.service list. */
int status_list(int user, int watch);

struct config;
/* sfcgi-foreign: supervise a "kind": "foreign" instance's program. config_fd:
 * a memfd with the config's text, for a reload's rollback (0: none). */
int run_foreign(struct config *c, int config_fd);

#endif
