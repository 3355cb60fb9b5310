/* SPDX-License-Identifier: MIT */
/*
 * One file descriptor per message over a SOCK_SEQPACKET channel
 * (SCM_RIGHTS): how connections move from a draining worker, through the
 * supervisor, to a worker of the next generation.
 */
#ifndef SFCGI_FDPASS_H
#define SFCGI_FDPASS_H

/* What a message carries: a connection, or a worker's seccomp listener. */
#define FD_TAG_CONN 'C'
#define FD_TAG_LISTENER 'L'

/* 0, or negative errno (-EAGAIN if the channel is full). A connection. */
int fd_send(int chan, int fd);
/* The same with tag (FD_TAG_*) for what fd is. */
int fd_send_tagged(int chan, int fd, char tag);

/* The received fd (close-on-exec), 0 never; -EAGAIN when nothing is
 * waiting, -EPIPE when the other end is gone, other negative errno. Its
 * tag into *ret_tag unless NULL. */
int fd_recv(int chan, char *ret_tag);

#endif
