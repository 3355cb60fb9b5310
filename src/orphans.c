/* SPDX-License-Identifier: MIT */
/*
 * No orphans: every process a worker starts (a CGI script and what it
 * leaves behind, a foreign program's children, a shell's background jobs)
 * ends with that worker, whichever way the worker ends.
 *
 * How (the choices, and why):
 * - Each worker leads a session of its own (setsid in become_worker). A
 *   session, unlike a process group, survives the bridge putting each
 *   script in its own group (its --timeout kills that group) and a shell's
 *   job control; only setsid() leaves it.
 * - The supervisor is a child subreaper (PR_SET_CHILD_SUBREAPER; kept
 *   across the re-exec of a reload): a process whose parent exits is
 *   re-parented to it, not to PID 1, so nothing of the instance leaves its
 *   tree while it runs. A child of the supervisor that is no worker is such
 *   an orphan; its session names the worker it came from. While that worker
 *   lives it is left alone (a script's background job lives as long as the
 *   worker that ran it); once the worker is gone it is killed, and so, a
 *   level at a time, is everything under it. An orphan in a session that is
 *   no live worker's called setsid() (it daemonized): nothing tells which
 *   worker it came from, so it is killed at once.
 * - A session, not a subreaper per worker: a subreaper collects zombies it
 *   must reap. A foreign program cannot be taught to reap processes it never
 *   started, and the library in a native worker could not reap them without
 *   taking exit statuses the application's own waitpid() expects.
 * - The bridge's --timeout kills the script's process group and every
 *   descendant that left it while its parent lives (proctree.c); the
 *   supervisor ends the rest as above.
 * - The supervisor itself killed (SIGKILL, the OOM killer): its workers get
 *   SIGTERM (PR_SET_PDEATHSIG) and drain; a native worker then ends its
 *   session itself on its way out (orphans_worker_exit). A foreign program's
 *   own children are its business then; under systemd, KillMode= ends them.
 */
#include "orphans.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "proctree.h"
#include "layout.h"

#define LOG_MAX 4 /* killed processes named per pass; the rest are counted */
#define RECENT 64 /* killed, maybe not dead yet: killed again, not named again */

static pid_t recent[RECENT];
static unsigned nrecent;

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(buf, len, "?");
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/* The pids in a children file, read whole (a thousand workers fill more than
 * a page); how many fn returned 0 for. */
static int parse(int fd, int (*fn)(pid_t pid, void *ctx), void *ctx)
{
	char buf[4096];
	long pid = -1; /* digits so far, -1: none */
	ssize_t k;
	int n = 0;

	while ((k = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < k; i++) {
			if (isdigit((unsigned char)buf[i])) {
				pid = (pid < 0 ? 0 : pid * 10) + (buf[i] - '0');
			} else if (pid >= 0) {
				n += fn((pid_t)pid, ctx) == 0;
				pid = -1;
			}
		}
	if (pid > 0)
		n += fn((pid_t)pid, ctx) == 0;
	return n;
}

/* Calls fn for each child of this process: how many fn returned 0 for
 * (the orphans), or -errno. */
static int each_child(int (*fn)(pid_t pid, void *ctx), void *ctx)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[64];
		int fd;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%d/children", atoi(e->d_name));
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			int r = -errno;

			closedir(d);
			return r;
		}
		n += parse(fd, fn, ctx);
		close(fd);
	}
	closedir(d);
	return n;
}

struct pass {
	bool (*is_worker)(pid_t pid, void *ctx);
	void *ctx;
	pid_t own_sid; /* what the supervisor itself started, not a worker */
	unsigned killed;
};

static int judge(pid_t pid, void *ctx)
{
	struct pass *p = ctx;
	siginfo_t si = { 0 };
	pid_t sid;
	char comm[32];

	if (p->is_worker(pid, p->ctx))
		return 1;
	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
		return 0; /* exited by itself: reaped with its SIGCHLD, not killed */
	sid = getsid(pid);
	if (sid < 0)
		return 0; /* gone already: reaped with its SIGCHLD */
	if (sid == p->own_sid)
		return 1; /* ours (a worker between fork and setsid, or none of theirs) */
	if (sid != pid && p->is_worker(sid, p->ctx))
		return 0; /* its worker lives: it lives as long */
	if (kill(pid, SIGKILL) < 0)
		return 0;
	for (unsigned i = 0; i < RECENT; i++)
		if (recent[i] == pid)
			return 0;
	recent[nrecent++ % RECENT] = pid;
	if (p->killed++ < LOG_MAX) {
		comm_of(pid, comm, sizeof comm);
		if (sid == pid)
			log_info("process %d (%s) detached itself from its worker (setsid) and its "
				 "parent exited: killed, as nothing ties it to a worker any more",
				 (int)pid, comm);
		else
			log_info("process %d (%s) outlived worker %d, which started it: killed",
				 (int)pid, comm, (int)sid);
	}
	return 0;
}

int orphans_supervisor_init(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		int r = -errno;

		log_warning("prctl(PR_SET_CHILD_SUBREAPER): %m; processes the workers leave "
			    "behind go to PID 1 and outlive them (allow prctl to the supervisor)");
		return r;
	}
	return 0;
}

int orphans_sweep(bool (*is_worker)(pid_t pid, void *ctx), void *ctx)
{
	static bool warned;
	static pid_t own_sid;
	struct pass p = { .is_worker = is_worker, .ctx = ctx };
	int n;

	if (!own_sid)
		own_sid = getsid(0); /* ours, for good (a worker calls setsid, never we) */
	p.own_sid = own_sid;
	n = each_child(judge, &p);

	if (n < 0) {
		if (!warned)
			log_warning("/proc/self/task/*/children: %s; processes the workers leave "
				    "behind are not ended with them (needs a kernel with "
				    "CONFIG_PROC_CHILDREN and /proc mounted)",
				    strerror(-n));
		warned = true;
		return 0;
	}
	if (p.killed > LOG_MAX)
		log_info("%u more such processes killed", p.killed - LOG_MAX);
	return n;
}

/* ---- the worker's side: its supervisor is gone ------------------------------- */

static pid_t supervisor_pid;

WORKER_TEXT void orphans_worker_init(void)
{
	supervisor_pid = getppid();
	/* Our own session (and process group): what we start stays in it, and
	 * keeps its id once it has no parent left. Cannot fail in a fresh child. */
	setsid();
}

/* The supervisor killed: everything of our session, and under us. */
void orphans_worker_exit(void)
{
	int r;

	if (!supervisor_pid || getppid() == supervisor_pid)
		return; /* the supervisor is there, and does it (orphans_sweep) */
	r = proctree_kill(getpid(), getpid(), 0);
	if (r < 0)
		log_warning("the supervisor is gone and /proc cannot be read (%s): what this "
			    "worker started may outlive it", strerror(-r));
	else if (r > 0)
		log_info("the supervisor is gone: killed %d process(es) this worker started", r);
}
