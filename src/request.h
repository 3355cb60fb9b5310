/* SPDX-License-Identifier: MIT */
/*
 * One FastCGI request from FCGI_BEGIN_REQUEST to FCGI_END_REQUEST: the
 * params store, the buffered body and DATA streams, and the response
 * writer. Knows nothing of sockets: bytes go to its connection's buffer.
 */
#ifndef SFCGI_REQUEST_H
#define SFCGI_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fcgi.h"
#include "spill.h"

struct conn;
struct worker;

enum req_phase {
	REQ_INPUT,   /* params (and maybe body) still arriving */
	REQ_QUEUED,  /* ready, waiting for the application */
	REQ_RUNNING, /* handed to the application */
	REQ_DISCARD, /* answered; swallowing the rest of its input records */
};

struct param_ix {
	uint32_t name, name_len, value, value_len; /* offsets into params arena */
};

struct request {
	struct conn *c;
	struct request *conn_next;
	struct request *ready_prev, *ready_next;
	uint16_t id;
	uint16_t role;
	uint8_t flags;
	enum req_phase phase;
	bool params_done, stdin_done, data_done;
	bool skip_stdin; /* Filter handler moved on to DATA */
	bool slurp;      /* output waits: read all input, past read_ahead */
	bool aborted;
	bool queued;
	struct buf params; /* raw PARAMS stream, then decoded "name\0value\0" arena */
	struct param_ix *ix;
	uint32_t nparams, ixcap;
	struct buf body, data;
	struct spill body_sp, data_sp; /* held past request_memory: in the worker's files */
	bool body_lost;  /* could not be held (spill failed): answered 500, rest dropped */
	bool lost_close; /* ... and the 500 could not replace its output: close instead */
	uint64_t body_total, data_total;
	int64_t begun_ms; /* BEGIN_REQUEST received (worker clock) */
	/* response */
	struct buf head;
	int status;
	bool head_pending, body_started, stderr_used, rec_open;
	uint8_t rec_type;
	size_t rec_rel; /* open record's header, relative to c->out.off */
	bool out_marked;
	size_t out_mark;  /* bytes queued on the connection before r's first output */
	size_t out_added; /* bytes r queued since: while held, all of them are unsent */
};

enum feed_result { FEED_OK = 0, FEED_PAUSE = 1 };

#define REQ_MAGIC 0x52514653u /* "SFQR" */
#define REQ_KEEP_BYTES 4096    /* buffers larger than this are freed on release */

/* The public handle is the internal request; the magic catches stale ones. */
struct sfcgi_request {
	uint32_t magic;
	struct request r;
};

static inline struct sfcgi_request *request_outer(struct request *r)
{
	return (struct sfcgi_request *)((char *)r - offsetof(struct sfcgi_request, r));
}

struct request *request_new(struct conn *c, uint16_t id, uint16_t role, uint8_t flags);
/* Back to the pool (or freed); unlinks from its connection. */
void request_release(struct request *r);
/* Frees the pooled request objects and their buffers (the worker is idle). */
void request_pool_drain(struct worker *w);
void request_destroy(struct request *r);

/*
 * Content of one PARAMS, STDIN or DATA record. FEED_OK, FEED_PAUSE when
 * the body buffer is full (the caller keeps the record and stops
 * reading), or a negative errno for a protocol violation (with *ret_why).
 */
int request_feed(struct request *r, uint8_t type, const uint8_t *p, size_t n,
		 const char **ret_why);

/* The peer sent FCGI_ABORT_REQUEST (FastCGI §5.4). */
void request_abort(struct request *r);

/* The connection went away (eof before input was complete, or an error). */
void request_conn_lost(struct request *r);

/* True once all expected input records are in. */
bool request_input_done(const struct request *r);

/* Answers with END_REQUEST only (CANT_MPX_CONN, UNKNOWN_ROLE). */
void request_reject(struct request *r, uint8_t protocol_status);

/* Seals the open output record so other records may follow. */
void request_seal(struct request *r);

/* True while r is handed out to the application. */
bool request_is_running(const struct request *r);

/* Still receiving its input (not yet queued to run), begun at or after since_ms. */
bool request_arriving_since(const struct request *r, int64_t since_ms);

/* Marks r handed to the application and returns the public handle. */
struct sfcgi_request *request_handle(struct request *r);

/* For the public accessors (api.c) --------------------------------------- */

/* The value of param name (NUL-terminated; *ret_len counts inner NULs): 0, or -ENOENT. */
int request_lookup(const struct request *r, const char *name, const char **ret_value,
		   size_t *ret_len);
/* Waits (up to read_timeout) for more input on r's connection: 0 or -errno. */
int request_more_input(struct request *r);
/* Emits the response head (status, headers) once: 0 or -ENOMEM. */
int request_emit_head(struct request *r);
/* Appends n bytes to the STDOUT or STDERR stream: 0 or -errno. */
int request_out_write(struct request *r, uint8_t type, const void *p, size_t n);
/* Writes the connection's output until less than `below` bytes are queued. */
int request_flush_until(struct request *r, size_t below);
/* Closes the streams and queues END_REQUEST. */
void request_end(struct request *r, uint32_t app_status, uint8_t protocol_status);
/* Releases r if nothing more is expected of it (input done, ended). */
void request_settle(struct request *r);

#endif
