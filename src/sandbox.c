/* SPDX-License-Identifier: MIT */
/*
 * Worker lock-down. One function per step, called in order by
 * sandbox_apply(); each logs what failed and the worker does not serve.
 * no_new_privs comes before Landlock: the kernel requires it (or
 * CAP_SYS_ADMIN, which we have just dropped) for landlock_restrict_self.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "filter.h"
#include "log.h"
#include "layout.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE /* Landlock ABI 3 (Linux 6.2); bookworm's headers stop at 2 */
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

const char *const sandbox_rlimit_names[SANDBOX_RLIMITS] = { "nofile", "as", "core", "nproc",
							    "fsize" };
static const int rlimit_ids[SANDBOX_RLIMITS] = { RLIMIT_NOFILE, RLIMIT_AS, RLIMIT_CORE,
						 RLIMIT_NPROC, RLIMIT_FSIZE };

static const struct {
	const char *name;
	uint32_t bit;
} groups[] = {
	{ "file-read", GROUP_FILE_READ }, { "file-write", GROUP_FILE_WRITE },
	{ "network", GROUP_NETWORK },     { "process", GROUP_PROCESS },
	{ "threads", GROUP_THREADS },     { "interpreter", GROUP_INTERPRETER },
	{ "file-copy", GROUP_FILE_COPY },
};

WORKER_TEXT void sandbox_defaults(struct sandbox_config *c)
{
	memset(c, 0, sizeof *c);
	c->enabled = true;
	c->landlock = LANDLOCK_AUTO;
	c->profile = PROFILE_DEFAULT;
	c->action = ACTION_KILL;
	for (int i = 0; i < SANDBOX_RLIMITS; i++)
		c->rlimits[i] = -1;
}

WORKER_TEXT static void free_list(char **l)
{
	for (char **p = l; p && *p; p++)
		free(*p);
	free(l);
}

WORKER_TEXT void sandbox_free(struct sandbox_config *c)
{
	free(c->user);
	free(c->group);
	free_list(c->read_only);
	free_list(c->read_write);
	free_list(c->syscalls);
	sandbox_defaults(c);
}

uint32_t sandbox_group_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (!strcmp(groups[i].name, name))
			return groups[i].bit;
	return 0;
}

const char *sandbox_group_name(uint32_t bit)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (groups[i].bit == bit)
			return groups[i].name;
	return "?";
}

WORKER_TEXT int sandbox_rlimit_index(const char *name)
{
	for (int i = 0; i < SANDBOX_RLIMITS; i++)
		if (!strcmp(sandbox_rlimit_names[i], name))
			return i;
	return -1;
}

static bool root_warned; /* once per instance: set before the supervisor forks */

WORKER_TEXT static void warn_root(void)
{
	if (!root_warned)
		log_warning("running as root without \"sandbox\": {\"user\": ...}: workers keep "
			    "uid 0 but no capabilities, so they cannot open other users' files or "
			    "enter their 0700 directories; set \"user\" to the owner of the app's "
			    "files (or User= in the unit) so workers run unprivileged");
	root_warned = true;
}

/* Step 1: user and group, when root and configured. */
WORKER_TEXT static int switch_user(const struct sandbox_config *c)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (geteuid() != 0)
		return 0; /* systemd's User=/DynamicUser= already chose */
	if (!c->have_ids) {
		warn_root();
		return 0;
	}
	if (setgroups(0, NULL) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
	    setresuid(c->uid, c->uid, c->uid) < 0) {
		log_err("sandbox: switching to user %s: %m", c->user);
		return -errno;
	}
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != c->uid ||
	    eu != c->uid || su != c->uid || rg != c->gid || eg != c->gid || sg != c->gid ||
	    setuid(0) == 0) {
		log_err("sandbox: user switch to %s did not stick", c->user);
		return -EPERM;
	}
	return 0;
}

/* Step 2: resource limits. */
WORKER_TEXT static int limits(const struct sandbox_config *c)
{
	for (int i = 0; i < SANDBOX_RLIMITS; i++) {
		struct rlimit rl;

		if (c->rlimits[i] < 0)
			continue;
		rl.rlim_cur = rl.rlim_max = (rlim_t)c->rlimits[i];
		if (setrlimit(rlimit_ids[i], &rl) < 0) {
			log_err("sandbox: rlimit %s=%lld: %m", sandbox_rlimit_names[i],
				(long long)c->rlimits[i]);
			return -errno;
		}
	}
	return 0;
}

/* The bounding set: only with CAP_SETPCAP, so before the user switch. An
 * unprivileged process may not drop it (and is not asked to: one capget
 * instead of a prctl per capability), and with no_new_privs and empty sets
 * it grants nothing anyway. Dropping a capability the set lacks succeeds,
 * so no PR_CAPBSET_READ first (half the calls, on the way to the first
 * answer); EINVAL is the end of the kernel's list. */
WORKER_TEXT static int drop_bounding(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) == 0 && !(d[0].effective & (1u << CAP_SETPCAP)))
		return 0;
	for (int cap = 0;; cap++)
		if (prctl(PR_CAPBSET_DROP, cap) < 0 && errno != EPERM) {
			if (errno == EINVAL && cap > CAP_SETPCAP)
				return 0;
			log_err("sandbox: dropping capability %d from the bounding set: %m", cap);
			return -errno;
		}
}

WORKER_TEXT static bool caps_empty(struct __user_cap_header_struct *h)
{
	struct __user_cap_data_struct d[2];

	memset(d, 0xff, sizeof d);
	return syscall(SYS_capget, h, d) == 0 && !d[0].effective && !d[0].permitted &&
	       !d[0].inheritable && !d[1].effective && !d[1].permitted && !d[1].inheritable;
}

/* Step 3: empty effective, permitted, inheritable and ambient sets. Under
 * systemd's SystemCallFilter=~@privileged capset() is refused: it is only
 * called when there is something to drop. */
WORKER_TEXT static int drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL &&
	    errno != EPERM) {
		log_err("sandbox: clearing ambient capabilities: %m");
		return -errno;
	}
	if (caps_empty(&h))
		return 0;
	memset(d, 0, sizeof d);
	if (syscall(SYS_capset, &h, d) < 0) {
		log_err("sandbox: capset: %m");
		return -errno;
	}
	if (!caps_empty(&h)) {
		log_err("sandbox: capabilities still present after dropping them");
		return -EPERM;
	}
	return 0;
}

WORKER_TEXT static int nnp(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		log_err("sandbox: no_new_privs: %m");
		return -EPERM;
	}
	return 0;
}

WORKER_TEXT static uint64_t landlock_rights(long abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return r;
}

WORKER_TEXT static int landlock_rule(int ruleset, const char *path, uint64_t rights, uint64_t handled)
{
	struct landlock_path_beneath_attr pb = { 0 };
	const uint64_t file_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
				     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC), r = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		log_err("sandbox: Landlock path %s: %m", path);
		r = -errno;
		goto out;
	}
	pb.parent_fd = fd;
	pb.allowed_access = rights & handled & (S_ISDIR(st.st_mode) ? ~0ull : file_rights);
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
		log_err("sandbox: Landlock rule for %s: %m", path);
		r = -errno;
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Step 5: Landlock: after this, files open only beneath the listed paths. */
WORKER_TEXT static int landlock(const struct sandbox_config *c)
{
	/* Read-only paths may hold programs too (interpreters, CGI scripts),
	 * as systemd's ReadOnlyPaths= allows: read and execute. */
	const uint64_t ro = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
			    LANDLOCK_ACCESS_FS_EXECUTE;
	struct landlock_ruleset_attr attr = { 0 };
	long abi;
	int fd, r = 0;

	if (c->landlock == LANDLOCK_OFF ||
	    (!c->read_only && !c->read_write && c->landlock != LANDLOCK_REQUIRED))
		return 0;
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0 && errno == EPERM) {
		/* The kernel has it; a seccomp filter above us (systemd's
		 * SystemCallFilter=, a container runtime) refuses it. */
		log_err("sandbox: Landlock is refused by a seccomp filter around this process "
			"(add \"SystemCallFilter=landlock_create_ruleset landlock_add_rule "
			"landlock_restrict_self\" to the unit); the paths would not be enforced");
		return -EPERM;
	}
	if (abi < 1) {
		if (c->landlock == LANDLOCK_REQUIRED) {
			log_err("sandbox: Landlock is required (\"landlock\": \"required\") but this "
				"kernel does not offer it: %m");
			return -EOPNOTSUPP;
		}
		log_notice("sandbox: this kernel has no Landlock: read_only/read_write paths are "
			   "not enforced (seccomp still is)");
		return 0;
	}
	attr.handled_access_fs = landlock_rights(abi);
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (fd < 0) {
		log_err("sandbox: landlock_create_ruleset: %m");
		return -errno;
	}
	for (char **p = c->read_only; p && *p && r == 0; p++)
		r = landlock_rule(fd, *p, ro, attr.handled_access_fs);

	for (char **p = c->read_write; p && *p && r == 0; p++)
		r = landlock_rule(fd, *p, ~0ull, attr.handled_access_fs);
	if (r == 0 && syscall(SYS_landlock_restrict_self, fd, 0) < 0) {
		log_err("sandbox: landlock_restrict_self: %m");
		r = -errno;
	}
	close(fd);
	return r;
}

#if defined(__SANITIZE_ADDRESS__)
static bool locked;

/*
 * Sanitizer builds: LeakSanitizer's exit-time check needs ptrace, /proc and
 * more that a locked-down worker may not have, so it is skipped in such a
 * worker (this callback is LeakSanitizer's documented off switch). Leaks
 * are still checked in everything that runs without the sandbox.
 */
int __lsan_is_turned_off(void);
__attribute__((visibility("default"))) int __lsan_is_turned_off(void)
{
	/* The supervisor too: under systemd's SystemCallFilter= its ptrace is
	 * refused and the check would only stall its exit. */
	return locked || getenv("SFCGI_SUPERVISOR_FILTERED") != NULL;
}
#endif

void sandbox_filtered_by_unit(void)
{
#if defined(__SANITIZE_ADDRESS__)
	locked = true;
#endif
}

int sandbox_prepare(const struct sandbox_config *c)
{
	int r;

	if (c->enabled && geteuid() == 0 && !c->have_ids)
		warn_root(); /* here, once, not in every worker forked later */
	if ((r = sandbox_root_check(c)) < 0) /* rootcheck.c */
		return r;
	return filter_prepare(c);
}

WORKER_TEXT int sandbox_apply(const struct sandbox_config *c, struct slot *slot)
{
	int r;

	if (!c->enabled)
		return 0;
#if defined(__SANITIZE_ADDRESS__)
	locked = true;
#endif
	if ((r = drop_bounding()) < 0 || (r = switch_user(c)) < 0 || (r = limits(c)) < 0 ||
	    (r = drop_caps()) < 0 ||
	    (r = nnp()) < 0 || (r = landlock(c)) < 0 || (r = filter_worker(c, slot)) < 0) {
		log_err("sandbox: locking the worker down failed; it will not serve");
		return r;
	}
	return 0;
}
