/* SPDX-License-Identifier: MIT */
/*
 * The seccomp policy as data: every syscall a worker may make, the level
 * or named group that grants it, and why (policy.c). sandbox.c turns it
 * into a libseccomp filter; the supervisor uses it to tell an admin which
 * config key would allow a refused call.
 */
#ifndef SFCGI_POLICY_H
#define SFCGI_POLICY_H

#include <stdint.h>

enum policy_level {
	LEVEL_STRICT,  /* the sfcgi runtime itself */
	LEVEL_DEFAULT, /* plus what libc and a typical handler need */
	LEVEL_GROUP,   /* only with its group in "allow" */
};

enum policy_arg {
	ARG_ANY,
	ARG_OPEN_RDONLY,  /* open/openat: no write access, no O_CREAT/O_TRUNC */
	ARG_OPEN_RDWR,    /* open/openat: O_RDWR of an existing file, no O_CREAT/O_TRUNC */
	ARG_SOCKET_INET,  /* socket: AF_UNIX, AF_INET, AF_INET6 only */
	ARG_SOCKET_UNIX,  /* socket: AF_UNIX only (a profile's nscd and userdb lookups) */
	ARG_IOCTL_TCGETS, /* ioctl: isatty() only */
	ARG_IOCTL_CLOEXEC, /* ioctl: FIOCLEX and FIONCLEX only */
	ARG_IOCTL_FICLONE, /* ioctl: FICLONE only (a reflink copy of a whole file) */
	ARG_IOCTL_TTY_QUERY, /* ioctl: TCGETS, TIOCGPGRP, TIOCGWINSZ (what a shell asks) */
};

struct policy_entry {
	const char *name;
	enum policy_level level;
	uint32_t group; /* enum sandbox_group bit when LEVEL_GROUP */
	enum policy_arg arg;
	const char *why;
};

extern const struct policy_entry policy_table[];
extern const unsigned policy_count;

/* What the supervisor itself must never do (errno EPERM for it and, since
 * filters are inherited, for app init code too). */
extern const char *const policy_supervisor_deny[];

#endif
