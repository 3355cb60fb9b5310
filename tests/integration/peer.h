/* SPDX-License-Identifier: MIT */
/*
 * A raw FastCGI peer for integration tests: starts the app under test on a
 * real unix socket, sends hand-built (often malformed) bytes, and reads
 * what comes back, record by record.
 */
#ifndef SFCGI_TEST_PEER_H
#define SFCGI_TEST_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct app {
	pid_t pid;
	char dir[40];
	char sock[100];
	char log[128];
	size_t log_mark; /* bytes of the log seen before the current step */
};

/* Starts the example at $SFCGI_TEST_<NAME> with --listen and extra args
 * (NULL-terminated). Aborts the test on failure. */
void app_start(struct app *a, const char *env_name, const char *const *extra);
void app_stop(struct app *a);
/* Waits up to 3 s for text to appear in the log after the mark. */
int app_log_has(struct app *a, const char *text);
void app_log_mark(struct app *a);

int peer_connect(const struct app *a);
void peer_send(int fd, const void *p, size_t n);

/* Builders append to a buf. */
void rec(struct buf *b, uint8_t type, uint16_t id, const void *content, size_t n);
void begin(struct buf *b, uint16_t id, uint16_t role, uint8_t flags);
void pair(struct buf *b, const char *name, const char *value);
/* A whole responder request: BEGIN, the params given as "N=V" strings, empty
 * PARAMS, body as STDIN, empty STDIN. */
void request(struct buf *b, uint16_t id, uint8_t flags, const char *const *params,
	     const char *body);

struct reply {
	struct buf out, err; /* STDOUT and STDERR content */
	int ended;           /* END_REQUEST seen */
	uint32_t app_status;
	uint8_t protocol_status;
	uint16_t end_id;
	int unknown_type;    /* type byte of an UNKNOWN_TYPE record, or -1 */
	struct buf values;   /* GET_VALUES_RESULT content */
	int closed;          /* peer closed the connection */
	int timed_out;
	int stdout_ends;     /* empty STDOUT records seen */
};

/* Reads records until END_REQUEST (or, with want_unknown, UNKNOWN_TYPE /
 * GET_VALUES_RESULT), a close, or timeout_ms. */
void reply_read(int fd, struct reply *r, int want_unknown, int timeout_ms);
void reply_free(struct reply *r);
int reply_has(const struct reply *r, const char *text);

/* Receives into the fd's buffer (parsed by the next reply_read). Bytes. */
size_t peer_read_some(int fd, int timeout_ms);
/* Sends from a forked child, so the caller can read meanwhile. */
void peer_send_async(int fd, const void *p, size_t n);

/* Waits until the connection is closed by the app (1) or timeout (0). */
int peer_closed(int fd, int timeout_ms);

#endif
