/* SPDX-License-Identifier: MIT */
/*
 * A worker's seccomp filter refused a call and notified us (filter.c): the
 * calling thread is blocked in it until we answer or it dies. It may be
 * the worker's, or a process the worker started (a CGI script of
 * sfcgi-cgi, a program a foreign worker runs); /proc says which, its
 * command line, and (from its environment) the CGI script it belongs to.
 *
 * "on_violation": "kill": a worker is killed and replaced with backoff; a
 * process it started is killed with SIGSYS, as the kernel's TRAP would
 * (the worker sees its child die of a bad system call: sfcgi-cgi answers
 * 502), without a core file. One log line names the call, the key that
 * allows it, and who made it.
 *
 * "on_violation": "log" (learning): the call goes through
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE), logged once per call and generation
 * with the key that allows it; a summary line gives the "allow" and
 * "syscalls" that would let everything seen run, in a form that pastes
 * into the config: at stop, before a reload, and 10 s after the last new
 * call.
 */
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "sandbox.h"

#define LEARN_QUIET_MS 10000 /* a summary once no new call came for this long */
#define LEARN_MAX_NR 1024    /* calls remembered (x86_64 and arm64 end below 500) */

/* Learning mode, this image's generation only. */
static struct {
	uint64_t seen[LEARN_MAX_NR / 64]; /* logged once already */
	uint32_t groups;                  /* what the calls seen need */
	bool need_default;                /* "seccomp": "default" */
	int calls[LEARN_MAX_NR];          /* in the order seen */
	int ncalls;
	uint64_t syscalls[LEARN_MAX_NR / 64]; /* needing "syscalls" */
	bool unsummarised;
	int64_t last_new;
} learn;

/* Reads /proc/<pid>/<what> (at most cap - 1 bytes, NUL-terminated): its
 * length, or -1. */
static ssize_t proc_read(pid_t pid, const char *what, char *buf, size_t cap)
{
	char path[64];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while ((size_t)total < cap - 1 && (n = read(fd, buf + total, cap - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = 0;
	return total;
}

static uint64_t status_mask(const char *status, const char *field)
{
	const char *p = strstr(status, field);

	return p ? strtoull(p + strlen(field), NULL, 16) : 0;
}

/* The process of thread tid, and whether it has SIGSYS blocked or ignored
 * (then it would not die of ours). -1 if /proc does not say. */
static pid_t tgid_of(pid_t tid, bool *sigsys_blocked)
{
	char st[4096];
	const char *p;
	uint64_t bit = 1ull << (SIGSYS - 1);

	*sigsys_blocked = false;
	if (proc_read(tid, "status", st, sizeof st) < 0 || !(p = strstr(st, "\nTgid:")))
		return -1;
	*sigsys_blocked =
		((status_mask(st, "\nSigBlk:") | status_mask(st, "\nSigIgn:")) & bit) != 0;
	return (pid_t)atoi(p + 6);
}

/* Its command line, arguments joined by spaces (cut at len). */
static void cmdline(pid_t pid, char *buf, size_t len)
{
	ssize_t n = proc_read(pid, "cmdline", buf, len);

	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	while (n > 0 && buf[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = ' ';
	buf[n] = 0;
}

/* SCRIPT_FILENAME from its environment (sfcgi-cgi sets it for a script
 * and the programs the script runs inherit it), into buf; false if none. */
static bool script_of(pid_t pid, char *buf, size_t len)
{
	size_t cap = 1 << 16;
	char *env = NULL;
	ssize_t n = 0;
	bool found = false;

	for (;;) { /* the whole environment, up to 4 MiB */
		char *p = realloc(env, cap);

		if (!p)
			break;
		env = p;
		n = proc_read(pid, "environ", env, cap);
		if (n < 0 || (size_t)n < cap - 1 || cap >= (4u << 20))
			break;
		cap *= 2;
	}
	for (ssize_t i = 0; env && n > 0 && i < n; i += (ssize_t)strlen(env + i) + 1)
		if (!strncmp(env + i, "SCRIPT_FILENAME=", 16) && env[i + 16]) {
			snprintf(buf, len, "%s", env + i + 16);
			found = true;
			break;
		}
	free(env);
	return found;
}

/* Who made the call, for a log line: "worker 12 (program P)", "script S
 * (process 34) of worker 12", "process 34 (CMDLINE) of script S, worker
 * 12" or "process 34 (CMDLINE) started by worker 12". */
static void who(struct sup *s, pid_t worker, pid_t tgid, char *buf, size_t len)
{
	char cmd[256], script[256], padded[260];

	if (tgid == worker) {
		if (s->o->program)
			snprintf(buf, len, "worker %d (program %s)", (int)worker, s->o->program);
		else
			snprintf(buf, len, "worker %d", (int)worker);
		return;
	}
	cmdline(tgid, cmd, sizeof cmd);
	if (!script_of(tgid, script, sizeof script)) {
		snprintf(buf, len, "process %d (%s) started by worker %d", (int)tgid, cmd,
			 (int)worker);
		return;
	}
	/* "/usr/bin/perl -w /x/y.pl": the script itself, through its #! line */
	snprintf(padded, sizeof padded, " %s ", script);
	if (!strncmp(cmd, script, strlen(script)) || strstr(cmd, padded) ||
	    (strlen(cmd) > strlen(script) && !strcmp(cmd + strlen(cmd) - strlen(script), script) &&
	     cmd[strlen(cmd) - strlen(script) - 1] == ' '))
		snprintf(buf, len, "script %s (process %d) of worker %d", script, (int)tgid,
			 (int)worker);
	else
		snprintf(buf, len, "process %d (%s) of script %s, worker %d", (int)tgid, cmd,
			 script, (int)worker);
}

/* Learning: logs the call once per generation, remembers what it needs. */
static void learn_record(struct sup *s, const struct sandbox_notif *n, const char *by)
{
	char *name = sandbox_syscall_name(n->nr), key[320];
	struct policy_key k = policy_key_choose(name ? name : "?", n->args, s->o->sandbox_allow);
	bool known = n->nr >= 0 && n->nr < LEARN_MAX_NR;

	uint64_t bit = known ? 1ull << n->nr % 64 : 0;
	bool more = false;

	/* The same call with other arguments may need another group. */
	if (k.kind == KEY_DEFAULT && !learn.need_default) {
		learn.need_default = more = true;
	} else if (k.kind == KEY_GROUPS && !(learn.groups & k.groups)) {
		/* any one of them does: the first (file-read before file-write) */
		learn.groups |= k.groups & (~k.groups + 1);
		more = true;
	} else if (k.kind == KEY_SYSCALL && known && !(learn.syscalls[n->nr / 64] & bit)) {
		learn.syscalls[n->nr / 64] |= bit;
		more = true;
	}
	if (!known || !(learn.seen[n->nr / 64] & bit)) {
		if (known) {
			learn.seen[n->nr / 64] |= bit;
			learn.calls[learn.ncalls++] = n->nr;
		}
		sandbox_key_text(n->nr, n->args, s->o->sandbox_allow, key, sizeof key);
		log_warning("learning: would refuse %s (%d) in %s: add %s", name ? name : "?",
			    n->nr, by, key);
		more = true;
	}
	if (more) {
		learn.unsummarised = true;
		learn.last_new = s->now;
	}
	free(name);
}

/* Appends sep and s, quoted if q, to buf (len bytes, cut there). */
static size_t put(char *buf, size_t off, size_t len, const char *sep, const char *s, bool q)
{
	int n = off < len ? snprintf(buf + off, len - off, "%s%s%s%s", sep, q ? "\"" : "", s,
				     q ? "\"" : "")
			  : 0;

	return n > 0 ? off + (size_t)n : off;
}

void sup_learn_summary(struct sup *s, const char *when)
{
	uint32_t allow = s->o->sandbox_allow | learn.groups;
	char line[4096], calls[1024];
	size_t off = 0, c = 0;
	bool first = true;

	if (!learn.unsummarised)
		return;
	learn.unsummarised = false;
	for (int i = 0; i < learn.ncalls; i++) {
		char *name = sandbox_syscall_name(learn.calls[i]);

		c = put(calls, c, sizeof calls, i ? ", " : "", name ? name : "?", false);
		free(name);
	}
	off = put(line, off, sizeof line, "", "\"sandbox\": {", false);
	if (learn.need_default)
		off = put(line, off, sizeof line, "", "\"seccomp\": \"default\", ", false);
	off = put(line, off, sizeof line, "", "\"allow\": [", false);
	for (uint32_t bit = 1; bit; bit <<= 1)
		if (allow & bit && strcmp(sandbox_group_name(bit), "?")) {
			off = put(line, off, sizeof line, first ? "" : ", ",
				  sandbox_group_name(bit), true);
			first = false;
		}
	off = put(line, off, sizeof line, "", "], \"syscalls\": [", false);
	first = true;
	for (char *const *l = s->o->sandbox_syscalls; l && *l; l++, first = false)
		off = put(line, off, sizeof line, first ? "" : ", ", *l, true);
	for (int nr = 0; nr < LEARN_MAX_NR; nr++) {
		char *name;

		if (!(learn.syscalls[nr / 64] & 1ull << nr % 64))
			continue;
		if (!(name = sandbox_syscall_name(nr)))
			continue;
		off = put(line, off, sizeof line, first ? "" : ", ", name, true);
		first = false;
		free(name);
	}
	put(line, off, sizeof line, "", "]}", false);
	log_warning("learning: to run without these refusals (%s; %s): %s; these lists replace "
		    "the config's own and keep what it allows; then \"on_violation\": \"kill\"",
		    calls, when, line);
}

void sup_learn_tick(struct sup *s)
{
	if (learn.unsummarised && s->now - learn.last_new >= LEARN_QUIET_MS)
		sup_learn_summary(s, "none new for 10 s");
}

/*
 * A process the worker started: SIGSYS, as the kernel's TRAP would, so
 * its parent sees a bad system call; no core file. Blocked or ignored,
 * SIGSYS would leave it waiting here: SIGKILL. A handler (a child of the
 * worker before its exec has the worker's, which raises SIGSYS again)
 * gets one chance: a second refusal from the same thread is a SIGKILL.
 */
static void end_process(size_t slot, pid_t tid, pid_t tgid, bool blocked)
{
	static pid_t signalled[SCOREBOARD_SLOTS]; /* the last thread sent SIGSYS */
	const struct rlimit none = { 0, 0 };

	prlimit(tgid, RLIMIT_CORE, &none, NULL);
	if (blocked || signalled[slot] == tid) {
		kill(tgid, SIGKILL);
		return;
	}
	signalled[slot] = tid;
	kill(tgid, SIGSYS);
}

void sup_refusal(struct sup *s, struct slot *sl)
{
	struct local *l = &s->local[sl - s->sb->slots];
	pid_t pid = SB_LOAD(sl->pid), tgid;
	struct sandbox_notif n;
	bool blocked;
	char by[640], why[512];
	int r;

	if ((r = sandbox_notif_receive(SB_LOAD(sl->notif), &n)) < 0) {
		if (r != -ENOENT)
			log_err("worker %d: reading its seccomp listener: %s", (int)pid,
				strerror(-r));
		if (r != -ENOENT && r != -EINTR)
			sup_close_notif(s, sl); /* or poll() reports it forever */
		return;
	}
	tgid = tgid_of(n.tid, &blocked);
	if (tgid < 0) /* /proc hides it: a thread of the worker counts as the worker */
		tgid = n.tid;
	if (s->o->learning) {
		if (SB_LOAD(sl->generation) == s->gen) { /* the old one's were logged by it */
			who(s, pid, tgid, by, sizeof by);
			learn_record(s, &n, by);
		}
		if ((r = sandbox_notif_continue(SB_LOAD(sl->notif), n.id)) < 0 && r != -ENOENT)
			log_err("worker %d: letting a refused call through (learning mode): %s",
				(int)pid, strerror(-r));
		return;
	}
	if (pid <= 0 || l->violation)
		return; /* named already; its other threads wait for the SIGKILL */
	who(s, pid, tgid, by, sizeof by);
	sandbox_explain(n.nr, n.args, s->o->sandbox_allow, why, sizeof why);
	log_err("%s killed by the sandbox: %s", by, why);
	if (tgid != pid) {
		end_process((size_t)(sl - s->sb->slots), n.tid, tgid, blocked);
		return;
	}
	l->violation = n.nr + 1;
	kill(pid, SIGKILL);
}
