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
#include <sys/types.h>

/* A socket file's mode when none is given: php-fpm's listen.mode default. */
#define ACTIVATION_LISTEN_MODE 0660

struct activation_opts {
	const char *listen;  /* PATH, HOST:PORT, [V6]:PORT, :PORT; NULL if not given */
	const char *fdname;  /* keep only LISTEN_FDNAMES entries of this name */
	const char *config;  /* the config file, for messages; NULL if none */
	int listen_mode;     /* a --listen socket file's mode, -1 = ACTIVATION_LISTEN_MODE */
	uid_t listen_uid;    /* and its owner and group; (uid_t)-1 and (gid_t)-1: ours */
	gid_t listen_gid;
	bool from_systemd;   /* out: the sockets came from LISTEN_FDS */
	int *conns;          /* out: connections kept in systemd's fd store (malloc'd) */
	int status_fd;       /* out: the socket named ACTIVATION_STATUS_FDNAME, 0 = none */
	size_t nconns;
};

/*
 * Fills *ret_fds (malloc'd) with listening, close-on-exec stream sockets.
 * 0 on success; -ENOENT when none was found; other negative errno. Every
 * failure is logged with what to do about it. LISTEN_* is unset.
 */
int activation_adopt(struct activation_opts *o, int **ret_fds, size_t *ret_n);

/*
 * Binds and listens on o->listen. A socket file gets o's mode, owner and
 * group before its name appears, replaces a stale socket nobody listens
 * on, and is removed when this process exits (not on a reload's re-exec:
 * see activation_keep_created). Returns the fd or negative errno, logged.
 */
int activation_listen(const struct activation_opts *o);

/* The status socket (status.h) for --status-listen or "status": as
 * activation_listen(), a socket file of mode 0600. fd or negative errno, logged. */
int activation_listen_status(const char *spec);

/* The status socket's fd to serve, 0 for none, or negative errno (logged):
 * systemd's (adopted), else --status-listen (option, or sfcgi run's in
 * $SFCGI_STATUS_LISTEN), else the config's "status". After a reload's
 * re-exec, 0: the supervisor has it in $SFCGI_STATUS_FD. */
int activation_status_socket(int adopted, const char *option, const char *config);

/* A process about to lock itself down (one process, no supervisor) could
 * not unlink at exit: the file stays, and the next start replaces it. */
void activation_forget_created(void);

/* Before a reload's exec (keep) or after it failed (!keep): tells the next
 * image of this PID that the socket file is its to remove at exit. */
void activation_keep_created(bool keep);

/* At start: a socket file the previous image of this PID made (a reload's
 * re-exec) is ours to remove at exit (listen.c). */
void activation_adopt_created(void);

/* sd_notify(3) wrapper; a no-op without NOTIFY_SOCKET. */
void activation_notify(const char *state);

/* The FileDescriptorName= of the status socket (status.h): never a FastCGI one. */
#define ACTIVATION_STATUS_FDNAME "status"

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

/*
 * The protocols themselves, each as its libsystemd namesake (same checks,
 * same return values; tests/unit/test_activation.c compares them):
 * sd_listen_fds_with_names(), sd_is_socket(), sd_watchdog_enabled(), and
 * sd_pid_notify_with_fds(0, ...) for AF_UNIX NOTIFY_SOCKETs (a path or an
 * abstract "@name"), without SCM_CREDENTIALS (the kernel attaches ours).
 */
#define ACTIVATION_LISTEN_FDS_START 3
#define ACTIVATION_NOTIFY_MAX_FDS 200 /* SCM_RIGHTS carries 253 at most */
int activation_listen_fds_with_names(int unset, char ***names);
int activation_is_socket(int fd, int family, int type, int listening);
int activation_watchdog_enabled(int unset, uint64_t *usec);
int activation_notify_with_fds(int unset, const char *state, const int *fds, unsigned n);

#endif
