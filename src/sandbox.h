/* SPDX-License-Identifier: MIT */
/*
 * The per-instance sandbox, applied by every worker after the app's init
 * and before the first peer byte, in this order: the bounding set (while
 * root still holds CAP_SETPCAP), user/group switch (when root and
 * configured), rlimits, empty capability sets, no_new_privs (the kernel
 * wants it before Landlock), Landlock paths, the seccomp allow-list. It
 * fails closed: any step that fails makes the worker exit without serving.
 */
#ifndef SFCGI_SANDBOX_H
#define SFCGI_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum sandbox_profile {
	PROFILE_DEFAULT, /* what a FastCGI worker and libc need */
	PROFILE_STRICT,  /* only what the sfcgi runtime itself needs */
	PROFILE_OFF,     /* no seccomp filter (no_new_privs and caps still apply) */
};

enum sandbox_action {
	ACTION_KILL, /* the worker dies; the supervisor names the syscall and key */
	ACTION_LOG,  /* learning mode: the call goes through; the supervisor logs it
		      * (the kernel's audit log where it cannot listen, filter.c) */
};

enum landlock_mode {
	LANDLOCK_AUTO,     /* applied when paths are listed; skipped if the kernel lacks it */
	LANDLOCK_REQUIRED, /* no Landlock in the kernel: the worker does not serve */
	LANDLOCK_OFF,
};

/* Named groups of syscalls the config can add ("allow": [...]). */
enum sandbox_group {
	GROUP_FILE_READ = 1u << 0,  /* "file-read" */
	GROUP_FILE_WRITE = 1u << 1, /* "file-write" */
	GROUP_NETWORK = 1u << 2,    /* "network": outbound TCP/UDP/unix connections */
	GROUP_PROCESS = 1u << 3,    /* "process": fork, exec, wait, kill */
	GROUP_THREADS = 1u << 4,    /* "threads": create threads */
	GROUP_INTERPRETER = 1u << 5, /* "interpreter": what an exec'd program's loader and
				      * runtime need (foreign programs, CGI scripts) */
	GROUP_FILE_COPY = 1u << 6,   /* "file-copy": in-kernel file copies (PHP's copy(), cp) */
};

#define SANDBOX_RLIMITS 5 /* nofile, as, core, nproc, fsize */

struct sandbox_config {
	bool enabled;                /* "sandbox": false turns everything off */
	char *user, *group;          /* switch to these when started as root */
	uid_t uid;                   /* resolved at config time (NSS needs files) */
	gid_t gid;
	bool have_ids;
	char **read_only, **read_write; /* Landlock, NULL-terminated lists */
	enum landlock_mode landlock;
	enum sandbox_profile profile;
	enum sandbox_action action;
	uint32_t allow;              /* enum sandbox_group bits */
	char **syscalls;             /* single syscalls by name */
	const struct runtime_profile *runtime; /* "profile" (profile.h), or NULL; its
						* groups are in allow already */
	int64_t rlimits[SANDBOX_RLIMITS]; /* -1 = leave as is */
	bool notify;                 /* not from the config: violations reach the
				      * supervisor as seccomp user notifications over the
				      * slot's channel (filter.c): foreign workers, and
				      * native ones that run programs or learn */
};

struct slot;

/*
 * Root without "user": tries the configured read_only/read_write paths as
 * a worker will hold them (uid 0, no capabilities) and logs, for each one
 * it could not use, its owner as the "user" to set. 0, or -EACCES if any
 * failed (logged). rootcheck.c.
 */
int sandbox_root_check(const struct sandbox_config *c);

void sandbox_defaults(struct sandbox_config *c);
void sandbox_free(struct sandbox_config *c);

/* Group name <-> bit, for the config parser. 0 if unknown. */
uint32_t sandbox_group_by_name(const char *name);
const char *sandbox_group_name(uint32_t bit);
/* Checks a syscall name for this architecture: 0 or -EINVAL. */
int sandbox_syscall_known(const char *name);
/* rlimit key ("nofile", "as", "core", "nproc", "fsize") -> index, or -1. */
int sandbox_rlimit_index(const char *name);
extern const char *const sandbox_rlimit_names[SANDBOX_RLIMITS];

/* In the supervisor, before forking: does the work common to all workers
 * of this config once (compiles the seccomp filter). Optional; 0 or
 * negative errno (logged). */
int sandbox_prepare(const struct sandbox_config *c);

/*
 * Locks the calling worker down. slot (may be NULL) is where a seccomp
 * violation is recorded for the supervisor to explain. 0, or a negative
 * errno after logging which step failed: the caller must not serve.
 */
int sandbox_apply(const struct sandbox_config *c, struct slot *slot);

/*
 * The supervisor's own, looser lock-down: no_new_privs and a deny-list of
 * what it never needs (ptrace, mount, modules, kexec, bpf...). Applied once
 * per process lifetime (the filter survives re-exec). 0 or negative errno.
 */
int sandbox_supervisor(void);
/* A process that exits under a unit's SystemCallFilter= (sfcgi reload):
 * sanitizer builds skip LeakSanitizer's exit check, which needs ptrace. */
void sandbox_filtered_by_unit(void);

/*
 * For the supervisor's log line about a worker killed by SIGSYS: the name
 * of syscall nr and the config key that would allow it, into buf. args:
 * the call's six arguments when known (a notification), else NULL.
 */
void sandbox_explain(int nr, const uint64_t *args, uint32_t allowed, char *buf, size_t len);
/* The name of syscall nr on this architecture (free() it), or NULL. */
char *sandbox_syscall_name(int nr);

/*
 * The config key that would allow syscall nr ("\"sandbox\": {...}", then
 * the hints of sandbox_explain), into buf: for learning mode's lines.
 */
void sandbox_key_text(int nr, const uint64_t *args, uint32_t allowed, char *buf, size_t len);

/* One seccomp user notification: a call the filter refused. */
struct sandbox_notif {
	int nr;      /* the syscall */
	uint64_t args[6];
	pid_t tid;   /* the thread blocked in it (a worker's, or a process it started) */
	uint64_t id; /* for the answer */
};

/*
 * For the supervisor, when a worker's seccomp listener fd is readable:
 * takes one notification into *ret. 0; -ENOENT if that thread is gone
 * already; other negative errno from the ioctl. Never blocks after poll()
 * reported the fd readable. Unanswered, the thread stays blocked until it
 * is killed or the listener closes (the call then fails with ENOSYS).
 */
int sandbox_notif_receive(int fd, struct sandbox_notif *ret);
/* Learning mode: lets the call go through as if allowed (Linux 5.5). 0 or
 * negative errno (-ENOENT: the thread is gone). */
int sandbox_notif_continue(int fd, uint64_t id);

#endif
