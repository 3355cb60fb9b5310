/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's end of each worker's channel (a unix socketpair): what
 * a worker sends up (connections it hands over on reload or when it is
 * busy, a foreign worker's seccomp listener) and the queue of handed-over
 * connections, dispatched to workers that serve, idle ones first.
 */
#include "sup.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "fdpass.h"
#include "log.h"
#include "scoreboard.h"

void sup_close_chan(struct sup *s, struct slot *sl)
{
	int fd = SB_LOAD(sl->chan);

	if (fd > 0)
		close(fd);
	SB_STORE(sl->chan, -1);
	s->local[sl - s->sb->slots].chan = -1;
}

void sup_set_chan(struct sup *s, struct slot *sl, int fd)
{
	SB_STORE(sl->chan, fd);
	s->local[sl - s->sb->slots].chan = fd;
}

void sup_set_notif(struct sup *s, struct slot *sl, int fd)
{
	SB_STORE(sl->notif, fd);
	s->local[sl - s->sb->slots].notif = fd;
}

void sup_close_notif(struct sup *s, struct slot *sl)
{
	int fd = SB_LOAD(sl->notif);

	if (fd > 0)
		close(fd);
	sup_set_notif(s, sl, -1);
}

/* Connections handed over by draining workers wait here for a worker of
 * the current generation that serves. */
void sup_pend(struct sup *s, int fd)
{
	if (s->npending == sizeof s->pending / sizeof s->pending[0]) {
		log_err("handoff queue full: closing a connection");
		close(fd);
		return;
	}
	s->pending[s->npending++] = fd;
}

void sup_receive(struct sup *s, struct slot *sl)
{
	char tag;
	int fd;

	while ((fd = fd_recv(SB_LOAD(sl->chan), &tag)) >= 0) {
		if (tag == FD_TAG_LISTENER) { /* its seccomp listener (filter.c) */
			sup_close_notif(s, sl);
			sup_set_notif(s, sl, fd);
			s->local[sl - s->sb->slots].listener = true;
		} else if (s->o->handoff) {
			sup_pend(s, fd);
		} else {
			close(fd);
		}
	}
	if (fd != -EAGAIN)
		sup_close_chan(s, sl); /* the worker is gone */
}

/* A worker of the current generation that serves and can be sent to. */
static bool takes_conns(struct sup *s, struct slot *sl)
{
	return alive(sl) && SB_LOAD(sl->generation) == s->gen &&
	       SB_LOAD(sl->state) == SLOT_READY && SB_LOAD(sl->chan) >= 0;
}

void sup_dispatch(struct sup *s)
{
	size_t sent = 0;

	/* Stopping, every worker is on its way out: a connection sent to one
	 * that exits before reading it would be closed with its channel. The
	 * queue goes to the fd store instead (sup_keep_for_restart). */
	if (s->phase == STOPPING)
		return;

	/* Idle workers first (no request running): a worker starting a slow
	 * request passes its idle connections on so that none waits for it
	 * (worker_next); any worker that serves after that. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t tries = 0; sent < s->npending && tries < s->sb->hiwater; tries++) {
			struct slot *sl = slot_of(s, s->rr++ % s->sb->hiwater);
			int r;

			if (!takes_conns(s, sl) || (pass == 0 && SB_LOAD(sl->busy_since)))
				continue;
			while (sent < s->npending &&
			       (r = fd_send(SB_LOAD(sl->chan), s->pending[sent])) == 0)
				close(s->pending[sent++]);
		}
	memmove(s->pending, s->pending + sent, (s->npending - sent) * sizeof *s->pending);
	s->npending -= sent;
}

/* Stopping: connections handed over by the workers go to the fd store. */
void sup_keep_for_restart(struct sup *s)
{
	int r;

	if (!s->npending)
		return;
	r = activation_fdstore(s->pending, s->npending);
	if (r < 0)
		log_notice("%zu kept connection(s) closed: no fd store (%s; set "
			   "FileDescriptorStoreMax= in the unit)",
			   s->npending, strerror(-r));
	else
		log_info("%zu kept connection(s) left in systemd's fd store for the next start",
			 s->npending);
	for (size_t i = 0; i < s->npending; i++)
		close(s->pending[i]);
	s->npending = 0;
}
