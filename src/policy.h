/* SPDX-License-Identifier: MIT */
/*
 * The seccomp policy as data: every syscall a worker may make, the level
 * or named group that grants it, and why (policy.c). sandbox.c turns it
 * into a libseccomp filter; the supervisor uses it to tell an admin which
 * config key would allow a refused call.
 */
#ifndef SFCGI_POLICY_H
#define SFCGI_POLICY_H

#include <stdbool.h>
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

/* Which config key would allow a refused call, given the groups granted. */
enum policy_key_kind {
	KEY_DEFAULT, /* "seccomp": "default" (refused under "strict") */
	KEY_GROUPS,  /* "allow": one of the groups in .groups */
	KEY_SYSCALL, /* "syscalls": [name] */
};

struct policy_key {
	enum policy_key_kind kind;
	uint32_t groups; /* KEY_GROUPS: enum sandbox_group bits, none granted already */
	bool args_only;  /* allowed already, with other arguments only */
};

extern const struct policy_entry policy_table[];
extern const unsigned policy_count;

/*
 * The key that allows the call name when the groups in allowed are
 * granted: never a group granted already. A group that adds other
 * arguments to a call allowed with some (ioctl) is not offered either:
 * most likely it would not allow this one. Pure (async-signal-safe).
 */
struct policy_key policy_key_for(const char *name, uint32_t allowed);
/*
 * The same, knowing the call's six arguments (a seccomp notification has
 * them): the groups whose rule takes these arguments (any one of them
 * does), or "syscalls" when no group's does (socket(AF_NETLINK) with
 * "network" refused): what learning mode adds.
 */
struct policy_key policy_key_choose(const char *name, const uint64_t *args, uint32_t allowed);

/* What the supervisor itself must never do (errno EPERM for it and, since
 * filters are inherited, for app init code too). */
extern const char *const policy_supervisor_deny[];

#endif
