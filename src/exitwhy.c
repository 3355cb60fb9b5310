/* SPDX-License-Identifier: MIT */
/*
 * Why a worker ended, in words for the log, STATUS= and the 503 body: the
 * sandbox's kill (and the call), a hang, the OOM killer (oom.h), a signal,
 * max_requests, an exit status.
 */
#include "sup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sandbox.h"

int sup_describe_exit(struct sup *s, int status, const struct slot *sl, bool expected,
		      char *buf, size_t len)
{
	const struct local *l = &s->local[sl - s->sb->slots];
	int oom = 0;

	if (l->violation && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		char *name = sandbox_syscall_name(l->violation - 1);

		/* sup_refusal() logged the key that allows it */
		snprintf(buf, len, "killed by the sandbox (forbidden system call %s)",
			 name ? name : "unknown");
		free(name);
	} else if (l->hung_since && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		snprintf(buf, len, "hung, killed by SIGKILL");
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS && SB_LOAD(sl->sigsys) > 0) {
		char why[256];

		sandbox_explain(SB_LOAD(sl->sigsys) - 1, NULL, s->o->sandbox_allow, why, sizeof why);
		snprintf(buf, len, "killed by the sandbox: %s", why);
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS && l->listener)
		snprintf(buf, len, "killed by the sandbox (SIGSYS): a system call that sfcgi refuses "
			 "to its own supervisor too (ptrace, mount, bpf, kexec, modules...)");
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(buf, len, "killed by the sandbox (SIGSYS); to see which call: \"sandbox\": "
			 "{\"on_violation\": \"log\"}, then the \"learning:\" lines here (or "
			 "journalctl -k | grep type=1326 where a warning at start says so)");
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && !l->kill_at &&
		 (oom = oom_claim(&s->oom)) != 0) {
		char limit[640];

		oom_limit(&s->oom, limit, sizeof limit);
		if (oom > 0)
			snprintf(buf, len, "killed by the kernel's OOM killer (%s)", limit);
		else
			snprintf(buf, len, "killed by SIGKILL (by the kernel's OOM killer or not "
				 "cannot be told: %s; journalctl -k | grep -i oom tells)", limit);
	} else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by SIG%s%s", sigabbrev_np(WTERMSIG(status)),
			 WCOREDUMP(status) ? " (core dumped)" : "");
	else if (SB_LOAD(sl->recycle))
		snprintf(buf, len, "recycled after %llu requests (max_requests)",
			 (unsigned long long)SB_LOAD(sl->served));
	else
		snprintf(buf, len, "exited with status %d%s", WEXITSTATUS(status),
			 expected ? "" : " unexpectedly");
	return oom > 0;
}

