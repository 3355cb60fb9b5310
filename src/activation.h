/* SPDX-License-Identifier: MIT */
/*
 * Where the listening sockets come from, in this order: --listen (made
 * here), systemd's LISTEN_FDS (adopted, chosen by FileDescriptorName=),
 * a listening socket on fd 0 (spawn-fcgi, mod_fcgid, lighttpd). Adopted
 * sockets are never bound, listened on or shut down: the manager holds them
 * too. And the sd_notify messages that tell the manager how we are.
 */
#ifndef SFCGI_ACTIVATION_H
#define SFCGI_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct activation_opts {
	const char *listen;  /* PATH, HOST:PORT, [V6]:PORT, :PORT; NULL if not given */
	const char *fdname;  /* keep only LISTEN_FDNAMES entries of this name */
	int listen_mode;     /* chmod for a --listen unix socket, -1 = umask */
	bool from_systemd;   /* out: the sockets came from LISTEN_FDS */
	int *conns;          /* out: connections kept in systemd's fd store (malloc'd) */
	size_t nconns;
};

/*
 * Fills *ret_fds (malloc'd) with listening, close-on-exec stream sockets.
 * 0 on success; -ENOENT when none was found; other negative errno. Every
 * failure is logged with what to do about it. LISTEN_* is unset.
 */
int activation_adopt(struct activation_opts *o, int **ret_fds, size_t *ret_n);

/* Binds and listens on a --listen spec. Returns the fd or negative errno. */
int activation_listen(const char *spec, int mode);

/* sd_notify(3) wrapper; a no-op without NOTIFY_SOCKET. */
void activation_notify(const char *state);

/* The fd store name of kept connections (LISTEN_FDNAMES on the next start). */
#define ACTIVATION_CONN_FDNAME "connection"

/*
 * Hands connections to systemd's fd store (FileDescriptorStoreMax= in the
 * unit): on `systemctl restart` the next instance gets them back as
 * LISTEN_FDS named "connection" and serves them, so the web server never
 * sees them close. 0, or negative errno (no NOTIFY_SOCKET, refused).
 */
int activation_fdstore(const int *fds, size_t n);

/* WATCHDOG_USEC for this process, in ms (0: no watchdog); unsets it. */
uint64_t activation_watchdog_ms(void);

/* Opens the notification socket now, while socket() is still allowed, for
 * a process about to lock itself down. 0 or negative errno. */
int activation_notify_prepare(void);

#endif
