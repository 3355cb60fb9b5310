/* SPDX-License-Identifier: MIT */
/*
 * One file descriptor per message over a SOCK_SEQPACKET channel
 * (SCM_RIGHTS): how connections move from a draining worker, through the
 * supervisor, to a worker of the next generation.
 */
#ifndef SFCGI_FDPASS_H
#define SFCGI_FDPASS_H

/* 0, or negative errno (-EAGAIN if the channel is full). */
int fd_send(int chan, int fd);

/* The received fd (close-on-exec), 0 never; -EAGAIN when nothing is
 * waiting, -EPIPE when the other end is gone, other negative errno. */
int fd_recv(int chan);

#endif
