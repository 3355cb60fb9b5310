/* SPDX-License-Identifier: MIT */
/*
 * Where a request's held body goes past request_memory: an unlinked
 * temporary file per worker, opened before the worker is locked down, so
 * neither seccomp nor Landlock has to allow opening anything later. Only
 * the running request's input is ever held (its output waits for it,
 * conn.c), so one file is enough: the body (FCGI_STDIN) from offset 0, the
 * Filter role's FCGI_DATA from the middle of what the file may hold (1 TiB,
 * or half an "fsize" limit), both sparse; it is truncated when that
 * request ends. One file, not one per stream: creating an unlinked file
 * costs ext4 about 30 us, on every worker's way to its first answer.
 */
#ifndef SFCGI_SPILL_H
#define SFCGI_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"

struct worker;

enum spill_stream { SPILL_BODY, SPILL_DATA, SPILL_STREAMS };

/* A request's part of one stream's file: bytes [rd, wr) not yet read. */
struct spill {
	uint64_t rd, wr;
};

static inline uint64_t spill_used(const struct spill *s)
{
	return s->wr - s->rd;
}

/*
 * The directory to spill to: dir when given ("spill_dir"), else
 * $CACHE_DIRECTORY (its first entry; systemd's CacheDirectory=, on disk),
 * else $TMPDIR, else /tmp (private with PrivateTmp=yes).
 */
const char *spill_dir_choose(const char *dir);

/*
 * Opens the worker's file in dir (O_TMPFILE, or a file unlinked at once
 * where the file system has no O_TMPFILE). A directory that cannot be used
 * is logged, saying what to set, and leaves the worker without a file: a
 * body that would spill is then answered 500. fsize: the "fsize" rlimit
 * the sandbox will set, -1 for none. Call before sandbox_apply().
 */
void spill_open(struct worker *w, const char *dir, int64_t fsize);
void spill_close(struct worker *w);

/*
 * Keeps n bytes of a stream until the handler reads them: in b, or, while
 * the stream is held (its request's output waits for the whole input),
 * past request_memory in the spill file. Bytes in the file are newer than
 * those in b: once a stream spills, it spills until its file has been read.
 * 0, -ENOMEM, or spill_put()'s errors.
 */
int spill_hold(struct worker *w, enum spill_stream stream, struct buf *b, struct spill *s,
	       bool held, const void *p, size_t n);
/* Appends n bytes to stream's part of the file: 0, or negative errno (ENOSPC, EFBIG:
 * past an "fsize" limit or its part, EBADF: no file). */
int spill_put(struct worker *w, enum spill_stream stream, struct spill *s, const void *p,
	      size_t n);
/* Reads up to n of the oldest bytes: how many (> 0 while spill_used()), or negative errno. */
ssize_t spill_get(struct worker *w, enum spill_stream stream, struct spill *s, void *p, size_t n);
/* Forgets s's bytes and gives the disk space back. */
void spill_drop(struct worker *w, enum spill_stream stream, struct spill *s);

#endif
