/* SPDX-License-Identifier: MIT */
/*
 * Started as root with no "sandbox": {"user": ...}, workers keep uid 0 but
 * lose every capability, CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH included:
 * they cannot open another user's files or enter a 0700 directory, which
 * root by hand always could. Rather than let the app meet EACCES at its
 * first request, the paths the config lists ("read_only", "read_write")
 * are tried once at start, in a child without capabilities, and the first
 * one a worker could not use is named with its owner: the "user" to set.
 */
#include "sandbox.h"

#include <errno.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* The first component of path that uid 0 without capabilities may not
 * search, or path itself. */
static void blocker(const char *path, char *ret, size_t cap)
{
	snprintf(ret, cap, "%s", path);
	for (char *s = strchr(ret + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (access(ret, X_OK) < 0 && errno == EACCES)
			return;
		*s = '/';
	}
}

/* 1 (logged) if a worker could not use path as the config says, else 0. */
static int probe(const char *path, bool write)
{
	char at[4096], owner[64];
	struct stat st;
	struct passwd *pw;
	int mode = R_OK | (write ? W_OK : 0);

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		mode |= X_OK;
	if (access(path, mode) == 0 || errno != EACCES)
		return 0;
	blocker(path, at, sizeof at);
	if (stat(at, &st) < 0)
		memset(&st, 0, sizeof st);
	if ((pw = getpwuid(st.st_uid)))
		snprintf(owner, sizeof owner, "%s", pw->pw_name);
	else
		snprintf(owner, sizeof owner, "%u", (unsigned)st.st_uid);
	log_err("sandbox: running as root with no capabilities (the sandbox drops "
		"CAP_DAC_OVERRIDE), workers cannot %s %s: %s is owned by %s, mode %04o; set "
		"\"sandbox\": {\"user\": \"%s\"} (the owner), or run under the shipped unit "
		"(DynamicUser= or User=)",
		write ? "write to" : "read", path, at, owner, (unsigned)(st.st_mode & 07777), owner);
	return 1;
}

int sandbox_root_check(const struct sandbox_config *c)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int status = 0;
	pid_t pid;

	if (!c->enabled || geteuid() != 0 || c->have_ids || (!c->read_only && !c->read_write))
		return 0;
	pid = fork();
	if (pid < 0)
		return 0; /* no probe: the workers will say it themselves */
	if (pid == 0) {
		int n = 0;

		memset(d, 0, sizeof d);
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(0);
		for (char **p = c->read_only; p && *p; p++)
			n += probe(*p, false);
		for (char **p = c->read_write; p && *p; p++)
			n += probe(*p, true);
		_exit(n ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 1 ? -EACCES : 0;
}
