/* SPDX-License-Identifier: MIT */
/*
 * seccomp with libseccomp. A refused call traps (SIGSYS): the worker's
 * handler records the syscall number in its scoreboard slot and dies of
 * SIGSYS, and the supervisor logs the syscall's name and the config key
 * that would allow it. Without a supervisor the worker says it itself,
 * from a table of names resolved before the filter was loaded (nothing in
 * a signal handler may allocate).
 *
 * A foreign program execs after the filter is loaded, and the handler is
 * gone with the old image; so does a CGI script a native worker runs. Their
 * filter (c->notify: foreign workers, native ones allowed "process", and
 * learning mode everywhere) returns SECCOMP_RET_USER_NOTIF instead of
 * SECCOMP_RET_TRAP (or SECCOMP_RET_LOG): the refused call blocks, the
 * kernel queues a notification with the call and its arguments on a
 * listener fd that the worker passed to the supervisor before it could
 * fork or exec, and the supervisor names the call and who made it, then
 * kills that process or, learning, lets the call go on (refusal.c).
 */
#include "filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fdpass.h"
#include "filter_embedded.h"
#include "log.h"
#include "policy.h"
#include "profile.h"
#include "scoreboard.h"
#include "seccomp_dl.h" /* after <seccomp.h>: its calls, loaded on first use */
#include "syscall_text.h"
#include "layout.h"

/* libseccomp's SCMP_A0..A5 macros leave datum_b to zero-initialisation;
 * clang's -Wextra calls that a missing initializer. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static struct slot *sigsys_slot;
static uint32_t sigsys_allowed; /* groups granted: a hint never names them */

int sandbox_notif_receive(int fd, struct sandbox_notif *ret)
{
	struct seccomp_notif req;

	memset(&req, 0, sizeof req); /* the kernel refuses a dirty buffer */
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		return -errno;
	/* Still blocked in that call: req.pid is that thread, not a reused pid. */
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0)
		return -ENOENT;
	ret->nr = req.data.nr;
	memcpy(ret->args, req.data.args, sizeof ret->args);
	ret->tid = (int)req.pid;
	ret->id = req.id;
	return 0;
}

int sandbox_notif_continue(int fd, uint64_t id)
{
	struct seccomp_notif_resp resp = { .id = id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };

	return ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 ? -errno : 0;
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	int nr = si->si_syscall;

	(void)sig;
	(void)ctx;
	if (si->si_code != 1 /* SYS_SECCOMP, which glibc 2.36 does not define here */) {
		/* kill(): the supervisor ends a process the worker forked (refusal.c),
		 * which still has this handler before its exec */
	} else if (sigsys_slot) {
		/* the slot is the worker's: a process it forked says nothing there */
		if (SB_LOAD(sigsys_slot->pid) == (int32_t)getpid())
			SB_STORE(sigsys_slot->sigsys, nr + 1);
	} else {
		char line[320] = "<3>sandbox: ";
		size_t n = strlen(line);

		n = syscall_explain(nr, syscall_sigsys_name(nr), NULL, sigsys_allowed,
				    line + n, sizeof line - n - 1) + n;
		line[n++] = '\n';
		if (write(STDERR_FILENO, line, n) < 0) {
			/* dying anyway */
		}
	}
	/* SA_RESETHAND made SIGSYS fatal again: die of it, for all to see. */
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSYS);
}

static int add(scmp_filter_ctx ctx, const struct policy_entry *e, bool any_open)
{
	int nr = seccomp_syscall_resolve_name(e->name), r = 0;
	const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
	const scmp_datum_t open_mask = O_ACCMODE | O_CREAT | O_TRUNC;
	const scmp_datum_t tty_queries[] = { TCGETS, TIOCGPGRP, TIOCGWINSZ };

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	/* "file-write" opens anything; it widens no other call's arguments
	 * (ioctl stays limited to its commands, socket to its families) */
	switch (any_open && (e->arg == ARG_OPEN_RDONLY || e->arg == ARG_OPEN_RDWR) ? ARG_ANY
										   : e->arg) {
	case ARG_ANY:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		break;
	case ARG_OPEN_RDONLY:
	case ARG_OPEN_RDWR: {
		scmp_datum_t mode = e->arg == ARG_OPEN_RDWR ? O_RDWR : O_RDONLY;

		if (!strcmp(e->name, "openat"))
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A2(SCMP_CMP_MASKED_EQ, open_mask, mode));
		else
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A1(SCMP_CMP_MASKED_EQ, open_mask, mode));
		break;
	}
	case ARG_SOCKET_INET:
		for (size_t i = 0; i < 3 && r >= 0; i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
		break;
	case ARG_SOCKET_UNIX:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
		break;
	case ARG_IOCTL_TCGETS:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
		break;
	case ARG_IOCTL_FICLONE:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, FICLONE));
		break;
	case ARG_IOCTL_TTY_QUERY:
		for (size_t i = 0; i < 3 && (r >= 0 || r == -EEXIST); i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A1(SCMP_CMP_EQ, tty_queries[i]));
		break;
	case ARG_IOCTL_CLOEXEC:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_EQ, FIOCLEX));
		if (r >= 0 || r == -EEXIST)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A1(SCMP_CMP_EQ, FIONCLEX));
		break;
	}
	if (r == -EEXIST)
		r = 0; /* in two groups (clone: process and threads) */
	if (r < 0)
		log_err("sandbox: seccomp rule for %s: %s", e->name, strerror(-r));
	return r;
}

static bool wanted(const struct sandbox_config *c, const struct policy_entry *e)
{
	switch (e->level) {
	case LEVEL_STRICT:
		return true;
	case LEVEL_DEFAULT:
		return c->profile == PROFILE_DEFAULT;
	case LEVEL_GROUP:
		return (c->allow & e->group) != 0;
	}
	return false;
}

#define DENY_MARK 4094 /* no rule of ours returns it otherwise (libseccomp refuses 4095) */

/* Every RET of action from, to: how many. */
static size_t patch(struct sock_fprog *p, uint32_t from, uint32_t to)
{
	size_t n = 0;

	for (unsigned short i = 0; i < p->len; i++)
		if (p->filter[i].code == (BPF_RET | BPF_K) && p->filter[i].k == from) {
			p->filter[i].k = to;
			n++;
		}
	return n;
}

static bool listed(char **l, const char *name)
{
	for (; l && *l; l++)
		if (!strcmp(*l, name))
			return true;
	return false;
}

/*
 * The supervisor's deny-list (sandbox_supervisor) returns EPERM, and the
 * kernel ranks an outer filter's ERRNO above our USER_NOTIF: a foreign
 * program's ptrace, mount or bpf would fail quietly and the program go on.
 * KILL_PROCESS ranks above ERRNO, so these end the worker as before, by
 * SIGSYS, unnamed (supervisor.c says which kind of call it was). libseccomp
 * refuses KILL_PROCESS when seccomp(2) is refused to us, so the rules get
 * ERRNO(DENY_MARK), which filter_prepare() patches: KILL_PROCESS in the
 * notifying program, TRAP (as any refused call) in the fallback.
 */
static int kill_denied(scmp_filter_ctx ctx, const struct sandbox_config *c)
{
	int r = 0;

	for (const char *const *d = policy_supervisor_deny; *d && r == 0; d++) {
		int nr = seccomp_syscall_resolve_name(*d);

		if (nr == __NR_SCMP_ERROR || listed(c->syscalls, *d) ||
		    runtime_profile_lists(c->runtime, *d))
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(DENY_MARK), nr, 0);
		if (r == -EEXIST)
			r = 0;
		else if (r < 0)
			log_err("sandbox: seccomp rule for %s: %s", *d, strerror(-r));
	}
	return r;
}

static int build(scmp_filter_ctx ctx, const struct sandbox_config *c, bool marks)
{
	bool any_open = c->allow & GROUP_FILE_WRITE;
	int r = 0;

	for (unsigned i = 0; i < policy_count && r == 0; i++)
		if (wanted(c, &policy_table[i]))
			r = add(ctx, &policy_table[i], any_open);
	/* add() skips calls this architecture lacks (profile.c is for all) */
	for (const struct runtime_syscall *s = c->runtime ? c->runtime->syscalls : NULL;
	     s && s->name && r == 0; s++)
		r = add(ctx, &(struct policy_entry){ s->name, LEVEL_GROUP, 0, s->arg, s->why },
			false);
	for (char **s = c->syscalls; s && *s && r == 0; s++) {
		int nr = seccomp_syscall_resolve_name(*s);

		if (nr == __NR_SCMP_ERROR) {
			log_err("sandbox: unknown system call \"%s\"", *s);
			return -EINVAL;
		}
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r == -EEXIST)
			r = 0;
	}
	if (marks && c->notify && c->action == ACTION_KILL)
		r = r ? r : kill_denied(ctx, c);
	return r;
}

/*
 * The syscall numbers as a binary tree rather than a chain of comparisons.
 * Loading a filter, the kernel runs it for every syscall number to cache
 * which ones it always allows (seccomp_cache_prepare): a chain of ~80
 * comparisons made that about 100 us per filter here, and a worker loads
 * two (its supervisor's and its own) on the way to its first answer; a
 * tree takes a few comparisons per syscall, at load and at every call.
 */
static int optimize(scmp_filter_ctx ctx)
{
	return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
}

/* The worker's filter as libseccomp builds it; NULL and r set on failure. */
static scmp_filter_ctx compile(const struct sandbox_config *c, bool marks, int *r)
{
	scmp_filter_ctx ctx = seccomp_init(c->action == ACTION_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);

	if (!ctx) {
		log_err("sandbox: seccomp_init failed");
		*r = -ENOMEM;
		return NULL;
	}
	*r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); /* set already, by us */
	if (*r == 0)
		*r = optimize(ctx);
	if (*r == 0)
		*r = build(ctx, c, marks);
	if (*r < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * Compiled once by the supervisor, before it forks: every worker of the
 * generation loads the same program, so a worker's start (and each restart
 * or recycle) skips libseccomp's name lookups and BPF generation.
 */
static struct sock_fprog prepared;
/* The same program with its default action (SECCOMP_RET_TRAP, or
 * SECCOMP_RET_LOG in learning mode) turned into SECCOMP_RET_USER_NOTIF,
 * for workers whose refusals the supervisor hears of (c->notify); empty
 * when the kernel or a filter around us refuses user notification. */
static struct sock_fprog prepared_notif;

/*
 * libseccomp 2.5.4 takes SCMP_ACT_NOTIFY as a default action only after
 * probing the kernel with seccomp(2), which the units' filter may refuse,
 * and we need the TRAP (or LOG) program anyway as the fallback. So the
 * program is compiled once and copied: the only RET TRAP (RET LOG)
 * instructions in it are the default action (every rule we add is ALLOW;
 * a foreign architecture is SCMP_ACT_KILL_THREAD), and each becomes RET
 * USER_NOTIF.
 */
static int make_notif(uint32_t dflt)
{
	size_t n = 0;

	if (!(prepared_notif.filter = malloc(prepared.len * sizeof *prepared.filter)))
		return -ENOMEM;
	memcpy(prepared_notif.filter, prepared.filter, prepared.len * sizeof *prepared.filter);
	prepared_notif.len = prepared.len;
	n = patch(&prepared_notif, dflt, SECCOMP_RET_USER_NOTIF);
	patch(&prepared_notif, SECCOMP_RET_ERRNO | DENY_MARK, SECCOMP_RET_KILL_PROCESS);
	if (n == 0) { /* libseccomp generated something we do not understand */
		free(prepared_notif.filter);
		prepared_notif = (struct sock_fprog){ 0 };
		return -EPROTO;
	}
	return 0;
}

/* What the fallback costs, for the warnings below. */
static const char *without_listener(const struct sandbox_config *c)
{
	return c->action == ACTION_LOG
		       ? "learning mode falls back to the kernel's audit log (journalctl -k | "
			 "grep type=1326, syscall=N is the number), which a container does not see"
		       : "a refused system call in a program a worker runs will be logged "
			 "without the name of the system call";
}

/* SECCOMP_USER_NOTIF_FLAG_CONTINUE, which learning mode needs: Linux 5.5. */
static bool kernel_continues(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	return uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	       (major > 5 || (major == 5 && minor >= 5));
}

/* Whether workers could get a listener; warns once, saying why not. */
static bool notif_possible(const struct sandbox_config *c)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0) {
		if (c->action != ACTION_LOG || kernel_continues())
			return true;
		log_warning("sandbox: this kernel cannot let a notified system call continue "
			    "(Linux 5.5 or later): %s", without_listener(c));
		return false;
	}
	if (errno == EPERM || errno == EACCES)
		log_warning("sandbox: seccomp(2) is refused by a seccomp filter around this "
			    "process (add \"SystemCallFilter=seccomp\" to the unit): %s",
			    without_listener(c));
	else
		log_warning("sandbox: this kernel has no seccomp user notification (%m; Linux "
			    "5.0 or later): %s", without_listener(c));
	return false;
}

/* libseccomp's program for ctx, through a memfd (its only export). */
static int export(scmp_filter_ctx ctx, struct sock_fprog *out)
{
	struct stat st;
	int r, fd = memfd_create("sfcgi-bpf", MFD_CLOEXEC);

	*out = (struct sock_fprog){ 0 };
	if (fd < 0) {
		r = -errno;
	} else if ((r = seccomp_export_bpf(ctx, fd)) == 0) {
		if (fstat(fd, &st) < 0)
			r = -errno;
		else if (st.st_size <= 0 || st.st_size % sizeof *out->filter ||
			 st.st_size / sizeof *out->filter > BPF_MAXINSNS)
			r = -E2BIG;
		else if (!(out->filter = malloc((size_t)st.st_size)))
			r = -ENOMEM;
		else if (pread(fd, out->filter, (size_t)st.st_size, 0) != st.st_size)
			r = -EIO;
		else
			out->len = (unsigned short)(st.st_size / sizeof *out->filter);
	}
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		free(out->filter);
		*out = (struct sock_fprog){ 0 };
	}
	return r;
}

int filter_compile_bpf(const struct sandbox_config *c, bool marks, struct sock_fprog *out)
{
	scmp_filter_ctx ctx;
	int r;

	*out = (struct sock_fprog){ 0 };
	if (!(ctx = compile(c, marks, &r)))
		return r;
	r = export(ctx, out);
	seccomp_release(ctx);
	return r;
}

WORKER_TEXT const struct filter_embedded *filter_embedded_for(enum filter_kind kind,
						  const struct sandbox_config *c, bool marks)
{
	if (!&filter_embedded_count)
		return NULL;
	/* a worker's: nothing but the profile, action and marks decide it */
	if (kind == FILTER_WORKER &&
	    (c->allow || c->syscalls || c->runtime || (marks && c->notify)))
		return NULL;
	for (unsigned i = 0; i < filter_embedded_count; i++) {
		const struct filter_embedded *e = &filter_embedded[i];

		if (e->kind == kind && (kind == FILTER_SUPERVISOR ||
					(e->profile == c->profile && e->action == c->action &&
					 e->marks == marks)))
			return e;
	}
	return NULL;
}

/* A copy of the built-in program for c, or libseccomp's. */
static int program(const struct sandbox_config *c, bool marks, struct sock_fprog *out)
{
	const struct filter_embedded *e = filter_embedded_for(FILTER_WORKER, c, marks);

	if (!e)
		return filter_compile_bpf(c, marks, out);
	if (!(out->filter = malloc(e->len * sizeof *e->insns)))
		return -ENOMEM;
	memcpy(out->filter, e->insns, e->len * sizeof *e->insns);
	out->len = e->len;
	return 0;
}

int filter_prepare(const struct sandbox_config *c)
{
	int r;

	if (!c->enabled || c->profile == PROFILE_OFF)
		return 0;
	r = program(c, true, &prepared);
	if (r == 0 && c->notify && notif_possible(c) &&
	    make_notif(c->action == ACTION_LOG ? SECCOMP_RET_LOG : SECCOMP_RET_TRAP) < 0)
		log_warning("sandbox: no default action to turn into a user notification in the "
			    "filter: %s", without_listener(c));
	if (r == 0 && c->notify && c->action == ACTION_LOG && prepared_notif.filter)
		log_notice("sandbox: learning mode: a refused system call goes through and is "
			   "logged here, once per call (\"learning: would refuse ...\"), with a "
			   "summary to paste into the config");
	if (r == 0) /* the fallback (and the only program without a listener) */
		patch(&prepared, SECCOMP_RET_ERRNO | DENY_MARK, SECCOMP_RET_TRAP);
	if (r < 0) {
		free(prepared.filter);
		prepared = (struct sock_fprog){ 0 };
		log_err("sandbox: compiling the workers' seccomp filter: %s", strerror(-r));
	}
	return r;
}

/*
 * Loads the notifying program and hands its listener to the supervisor
 * over chan. 0; -ENOSYS if seccomp(2) refused (the caller loads the TRAP
 * program instead); other negative errno if the listener could not be
 * passed: with the filter loaded but nobody listening, a refused call would
 * fail with ENOSYS instead of ending the worker, so it must not go on.
 */
static int load_notif(int chan)
{
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			      SECCOMP_FILTER_FLAG_NEW_LISTENER, &prepared_notif);
	int r;

	if (fd < 0) {
		log_warning("sandbox: seccomp(2) with a listener: %m; a refused system call "
			    "will be logged without its name");
		return -ENOSYS;
	}
	r = fd_send_tagged(chan, fd, FD_TAG_LISTENER);
	close(fd);
	if (r < 0)
		log_err("sandbox: passing the seccomp listener to the supervisor: %s",
			strerror(-r));
	return r;
}

WORKER_TEXT int filter_worker(const struct sandbox_config *c, struct slot *slot)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER };
	const struct filter_embedded *e;
	scmp_filter_ctx ctx;
	int r = 0;

	if (c->profile == PROFILE_OFF)
		return 0;
	if (c->action == ACTION_KILL) {
		if (!slot)
			syscall_names_prepare(); /* under a supervisor, it names the call */
		sigsys_slot = slot;
		sigsys_allowed = c->allow;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) < 0)
			return -errno;
	}
	if (c->notify && prepared_notif.filter && slot && SB_LOAD(slot->wchan) >= 0) {
		r = load_notif(SB_LOAD(slot->wchan));
		if (r != -ENOSYS)
			return r;
		r = 0; /* refused here though the supervisor's probe passed: trap */
	}
	if (prepared.filter) {
		/* no_new_privs is set (nnp() ran first), so no privilege is needed.
		 * prctl rather than seccomp(2): systemd's SystemCallFilter=
		 * @system-service refuses the latter (libseccomp falls back the same way). */
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prepared) < 0) {
			r = -errno;
			log_err("sandbox: loading the seccomp filter: %m");
		}
	} else if ((e = filter_embedded_for(FILTER_WORKER, c, false))) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
			  &(struct sock_fprog){ e->len, (struct sock_filter *)e->insns }) < 0) {
			r = -errno;
			log_err("sandbox: loading the seccomp filter: %m");
		}
	} else if ((ctx = compile(c, false, &r))) {
		if ((r = seccomp_load(ctx)) < 0)
			log_err("sandbox: loading the seccomp filter: %s", strerror(-r));
		seccomp_release(ctx);
	}
	/* Without a supervisor listening (workers: 0, or no user notification,
	 * warned about once by filter_prepare()): only the kernel logs. */
	if (r == 0 && c->action == ACTION_LOG && (!slot || !c->notify))
		log_notice("sandbox: learning mode: refused system calls are allowed and logged "
			   "by the kernel only (journalctl -k | grep type=1326; syscall=N is the "
			   "number); run with a supervisor (\"workers\" of 1 or more) to have "
			   "them in this log, ready to paste into the config");
	return r;
}

static scmp_filter_ctx supervisor_compile(int *r)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	*r = ctx ? optimize(ctx) : -ENOMEM;
	for (const char *const *d = policy_supervisor_deny; ctx && *d && *r == 0; d++) {
		int nr = seccomp_syscall_resolve_name(*d);

#if defined(__SANITIZE_ADDRESS__)
		if (!strcmp(*d, "ptrace"))
			continue; /* LeakSanitizer stops the threads with ptrace at exit */
#endif
		if (nr != __NR_SCMP_ERROR)
			*r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	if (*r < 0 && ctx) {
		seccomp_release(ctx);
		ctx = NULL;
	}
	return ctx;
}

int filter_supervisor_bpf(struct sock_fprog *out)
{
	scmp_filter_ctx ctx;
	int r;

	*out = (struct sock_fprog){ 0 };
	if (!(ctx = supervisor_compile(&r)))
		return r;
	r = export(ctx, out);
	seccomp_release(ctx);
	return r;
}

int sandbox_supervisor(void)
{
	const struct filter_embedded *e = filter_embedded_for(FILTER_SUPERVISOR, NULL, false);
	scmp_filter_ctx ctx;
	int r = 0;

	const char *env = getenv("SFCGI_SUPERVISOR_FILTERED");
	char pid[24];

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	if (env && !strcmp(env, pid))
		return 0; /* this process loaded it before a re-exec; filters survive exec */
	if (e) { /* what seccomp_load() does: no_new_privs, then the program */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
			  &(struct sock_fprog){ e->len, (struct sock_filter *)e->insns }) < 0)
			r = -errno;
	} else if ((ctx = supervisor_compile(&r))) {
		r = seccomp_load(ctx); /* sets no_new_privs (SCMP_FLTATR_CTL_NNP) */
		seccomp_release(ctx);
	}
	if (r < 0) {
		log_err("sandbox: the supervisor's seccomp filter: %s", strerror(-r));
		return r;
	}
	setenv("SFCGI_SUPERVISOR_FILTERED", pid, 1);
	return 0;
}
