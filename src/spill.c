/* SPDX-License-Identifier: MIT */
/*
 * The spill files of a worker (spill.h). A request whose handler writes
 * before it has read its body holds the rest of that body until it is all
 * in (nginx sends no more of a body once it has a response header):
 * request.c keeps request_memory bytes of it in memory and appends the
 * rest here; the handler's reads then take it back in order.
 */
#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

const char *spill_dir_choose(const char *dir)
{
	/* On the heap, not 4 KiB of bss between the variables a worker writes */
	static char *first;
	const char *e;

	if (dir && *dir)
		return dir;
	/* CacheDirectory=a b gives "a:b"; the first is the unit's own. */
	if ((e = getenv("CACHE_DIRECTORY")) && *e == '/') {
		size_t n = strcspn(e, ":");

		if (n < PATH_MAX) {
			free(first);
			if ((first = strndup(e, n)))
				return first;
		}
	}
	if ((e = getenv("TMPDIR")) && *e == '/')
		return e;
	return "/tmp";
}

/* An unnamed file in dir: nothing to clean up after a crash. fd or -errno. */
static int tmpfile_in(const char *dir)
{
	char path[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd : -errno;
	/* A file system without O_TMPFILE: a named file, unlinked at once. */
	if (snprintf(path, sizeof path, "%s/.sfcgi-spill-XXXXXX", dir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		return -errno;
	if (unlink(path) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

void spill_open(struct worker *w, const char *dir, int64_t fsize)
{
	uint64_t region = (uint64_t)1 << 40, lim = UINT64_MAX;
	struct rlimit rl;
	int fd;

	dir = spill_dir_choose(dir);
	free(w->spill_dir);
	w->spill_dir = strdup(dir);
	if (fsize >= 0)
		lim = (uint64_t)fsize;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < lim)
		lim = rl.rlim_cur;
	if (lim / 2 < region)
		region = lim / 2 & ~(uint64_t)4095;
	w->spill_region = region;
	fd = w->spill_fd >= 0 ? w->spill_fd : tmpfile_in(dir);
	if (fd < 0) {
		log_warning("cannot open a spill file in %s (%s): a request body held past "
			    "request_memory=%u bytes will be answered 500; set \"spill_dir\" "
			    "to a directory on disk the worker may write",
			    dir, strerror(-fd), w->set.request_memory);
		return;
	}
	w->spill_fd = fd;
	/* An "fsize" rlimit must fail a write with EFBIG, not kill the worker. */
	signal(SIGXFSZ, SIG_IGN);
}

void spill_close(struct worker *w)
{
	if (w->spill_fd >= 0)
		close(w->spill_fd);
	w->spill_fd = -1;
	free(w->spill_dir);
	w->spill_dir = NULL;
}

/* Where stream's part of the file starts. */
static uint64_t base(const struct worker *w, enum spill_stream stream)
{
	return stream == SPILL_DATA ? w->spill_region : 0;
}

int spill_put(struct worker *w, enum spill_stream stream, struct spill *s, const void *p,
	      size_t n)
{
	const char *src = p;
	int fd = w->spill_fd;

	if (fd < 0)
		return -EBADF;
	if (stream == SPILL_BODY && s->wr + n > w->spill_region)
		return -EFBIG; /* it would run into the DATA stream's part */
	while (n > 0) {
		ssize_t k = pwrite(fd, src, n, (off_t)(base(w, stream) + s->wr));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ENOSPC;
		src += k;
		n -= (size_t)k;
		s->wr += (uint64_t)k;
		if (s->wr > w->spill_end[stream])
			w->spill_end[stream] = s->wr;
	}
	return 0;
}

int spill_hold(struct worker *w, enum spill_stream stream, struct buf *b, struct spill *s,
	       bool held, const void *p, size_t n)
{
	size_t mem = w->set.request_memory;
	size_t room = mem > buf_used(b) ? mem - buf_used(b) : 0;

	if (!spill_used(s) && (!held || n <= room))
		return buf_append(b, p, n);
	return spill_put(w, stream, s, p, n);
}

ssize_t spill_get(struct worker *w, enum spill_stream stream, struct spill *s, void *p, size_t n)
{
	uint64_t left = spill_used(s);
	ssize_t k;

	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return 0;
	do
		k = pread(w->spill_fd, p, n, (off_t)(base(w, stream) + s->rd));
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if (k == 0)
		return -EIO; /* shorter than written: someone truncated it */
	s->rd += (uint64_t)k;
	if (s->rd == s->wr)
		spill_drop(w, stream, s); /* all read: the disk space back, the next bytes at 0 */
	return k;
}

void spill_drop(struct worker *w, enum spill_stream stream, struct spill *s)
{
	enum spill_stream other = stream == SPILL_BODY ? SPILL_DATA : SPILL_BODY;
	bool written = w->spill_end[stream] > 0;
	off_t keep;

	s->rd = s->wr = 0;
	w->spill_end[stream] = 0;
	/* Only a part written since the last truncation holds disk space; the
	 * body's part goes back once the DATA stream's above it is empty too. */
	if (!written || w->spill_fd < 0)
		return;
	if (!w->spill_end[other])
		keep = 0;
	else if (stream == SPILL_DATA)
		keep = (off_t)w->spill_region;
	else
		return;
	if (ftruncate(w->spill_fd, keep) < 0)
		log_warning("truncating the spill file in %s: %m", w->spill_dir);
}
