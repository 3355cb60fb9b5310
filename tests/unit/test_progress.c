/* SPDX-License-Identifier: MIT */
/*
 * Check suite for src/progress.c, the foreign programs' hang detection:
 * the decision (progress_step) table-driven, one row per branch, then the
 * marks of a real child process and the backlog of a real listening socket.
 */
#include "progress.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define T             2000 /* timeout_ms */

/* One call of progress_step: two slots, the time, what it must say. */
struct turn {
	bool waiting;
	int32_t pid[2];
	uint64_t mark[2];
	int64_t now;
	bool hung;
	int64_t since; /* when hung */
	int64_t waiting_since; /* afterwards */
};

static const struct {
	const char *what;
	struct turn t[5];
	size_t n;
} cases[] = {
	{ "nothing waits: never hung, however long nobody moves",
	  { { false, { 10, 11 }, { 1, 1 }, 1000, false, 0, 0 },
	    { false, { 10, 11 }, { 1, 1 }, 9000, false, 0, 0 } }, 2 },
	{ "the first look at a wait only takes marks",
	  { { true, { 10, 11 }, { 1, 1 }, 1000, false, 0, 1000 } }, 1 },
	{ "a wait with no move for the timeout: hung, since its start, then start over",
	  { { true, { 10, 11 }, { 1, 1 }, 1000, false, 0, 1000 },
	    { true, { 10, 11 }, { 1, 1 }, 2000, false, 0, 1000 },
	    { true, { 10, 11 }, { 1, 1 }, 3000, true, 1000, 0 } }, 3 },
	{ "one mark moving restarts the clock (slow is not hung)",
	  { { true, { 10, 11 }, { 1, 1 }, 1000, false, 0, 1000 },
	    { true, { 10, 11 }, { 1, 2 }, 2500, false, 0, 2500 },
	    { true, { 10, 11 }, { 1, 2 }, 4000, false, 0, 2500 },
	    { true, { 10, 11 }, { 1, 2 }, 4500, true, 2500, 0 } }, 4 },
	{ "the queue emptying ends the wait",
	  { { true, { 10, 11 }, { 1, 1 }, 1000, false, 0, 1000 },
	    { false, { 10, 11 }, { 1, 1 }, 2000, false, 0, 0 },
	    { true, { 10, 11 }, { 1, 1 }, 2500, false, 0, 2500 },
	    { true, { 10, 11 }, { 1, 1 }, 4000, false, 0, 2500 } }, 4 },
	{ "a new worker in a slot counts as a move, even with the same mark",
	  { { true, { 10, 11 }, { 1, 1 }, 1000, false, 0, 1000 },
	    { true, { 10, 12 }, { 1, 1 }, 2500, false, 0, 2500 },
	    { true, { 10, 12 }, { 1, 1 }, 4500, true, 2500, 0 } }, 3 },
	{ "no live worker (all backing off): no judgement, no wait",
	  { { true, { 10, 0 }, { 1, 0 }, 1000, false, 0, 1000 },
	    { true, { 0, 0 }, { 0, 0 }, 5000, false, 0, 0 } }, 2 },
	{ "a worker gone from its slot is not a move",
	  { { true, { 10, 11 }, { 1, 1 }, 1000, false, 0, 1000 },
	    { true, { 10, 0 }, { 1, 0 }, 2000, false, 0, 1000 },
	    { true, { 10, 0 }, { 1, 0 }, 3000, true, 1000, 0 } }, 3 },
};

START_TEST(step)
{
	static struct progress p;
	int64_t since;

	memset(&p, 0, sizeof p);
	for (size_t k = 0; k < cases[_i].n; k++) {
		const struct turn *t = &cases[_i].t[k];
		bool hung;

		since = -1;
		hung = progress_step(&p, t->waiting, t->pid, t->mark, 2, t->now, T, &since);
		ck_assert_msg(hung == t->hung, "%s: turn %zu: hung %d", cases[_i].what, k, hung);
		if (hung)
			ck_assert_msg(since == t->since, "%s: turn %zu: since %lld", cases[_i].what,
				      k, (long long)since);
		else
			ck_assert_msg(since == -1, "%s: turn %zu: since written", cases[_i].what, k);
		ck_assert_msg(p.waiting_since == t->waiting_since, "%s: turn %zu: waiting_since %lld",
			      cases[_i].what, k, (long long)p.waiting_since);
	}
}
END_TEST

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	got = sig;
}

/*
 * A child that sleeps in sigsuspend (no read, no write: a hung worker) and
 * on SIGUSR1 opens a socket (as an accept would), on SIGUSR2 reads a byte
 * from a pipe. Signals and sigsuspend move neither count.
 */
static pid_t child(int *ret_pipe)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, none;
	int fds[2];
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "xxxxxxxx", 8), 8);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;

		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGUSR2, &sa, NULL);
		sigemptyset(&none);
		for (;;) {
			got = 0;
			sigsuspend(&none);
			if (got == SIGUSR1)
				(void)!socket(AF_UNIX, SOCK_STREAM, 0);
			else if (got == SIGUSR2)
				(void)!read(fds[0], &c, 1);
		}
	}
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	close(fds[0]);
	*ret_pipe = fds[1];
	usleep(100 * 1000); /* settled in sigsuspend */
	return pid;
}

static void reap(pid_t pid, int fd)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
}

static uint64_t mark_of(pid_t pid)
{
	uint64_t m = 0;

	ck_assert_int_eq(progress_mark(pid, &m), 0);
	return m;
}

/* The mark after the child has had time to act on sig. */
static uint64_t after(pid_t pid, int sig)
{
	ck_assert_int_eq(kill(pid, sig), 0);
	usleep(100 * 1000);
	return mark_of(pid);
}

START_TEST(mark_still_while_stuck)
{
	int fd;
	pid_t pid = child(&fd);
	uint64_t a = mark_of(pid);

	usleep(200 * 1000);
	ck_assert_uint_eq(mark_of(pid), a);
	reap(pid, fd);
}
END_TEST

START_TEST(mark_moves_on_read)
{
	int fd;
	pid_t pid = child(&fd);
	uint64_t a = mark_of(pid);

	ck_assert_uint_ne(after(pid, SIGUSR2), a);
	reap(pid, fd);
}
END_TEST

/* recv/send do not count in syscr/syscw: a new descriptor must show. */
START_TEST(mark_moves_on_new_fd)
{
	int fd;
	pid_t pid = child(&fd);
	uint64_t a = mark_of(pid);

	ck_assert_uint_ne(after(pid, SIGUSR1), a);
	reap(pid, fd);
}
END_TEST

START_TEST(mark_of_a_gone_process)
{
	int fd;
	pid_t pid = child(&fd);
	uint64_t m = 42;

	reap(pid, fd);
	ck_assert_int_eq(progress_mark(pid, &m), -ESRCH);
	ck_assert_uint_eq(m, 42); /* untouched on failure */
}
END_TEST

START_TEST(backlog)
{
	int l, c;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = sizeof a;

	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(sa_family_t)), 0); /* autobind */
	ck_assert_int_eq(listen(l, 8), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	ck_assert_int_eq(progress_waiting(l), 0);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&a, len), 0);
	ck_assert_int_eq(progress_waiting(l), 1);
	ck_assert_int_eq(progress_waiting(l), 1); /* looking does not take it */
	close(accept(l, NULL, NULL));
	ck_assert_int_eq(progress_waiting(l), 0);
	close(c);
	close(l);
}
END_TEST

static Suite *progress_suite(void)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("step");

	tcase_add_loop_test(tc, step, 0, (int)ARRAY_SIZE(cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("proc");
	tcase_add_test(tc, mark_still_while_stuck);
	tcase_add_test(tc, mark_moves_on_read);
	tcase_add_test(tc, mark_moves_on_new_fd);
	tcase_add_test(tc, mark_of_a_gone_process);
	tcase_add_test(tc, backlog);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(progress_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
