/* SPDX-License-Identifier: MIT */
/*
 * syscall_cost: what the worker's seccomp filter adds to each system call.
 * Times the three calls a kept-connection request costs a worker
 * (epoll_wait, recv, send on a unix socket) a million times each round,
 * in a child without a filter and in one under the default worker filter
 * (compiled and loaded the way a worker does: filter_prepare(),
 * filter_worker()), rounds interleaved so that drift hits both alike.
 *
 *   syscall_cost [ROUNDS]      (default 7) prints ns per call, without and with
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "sandbox.h"

#define CALLS 1000000

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per call over CALLS rounds of epoll_wait + send + recv. */
static double per_call(int ep, int a, int b)
{
	struct epoll_event ev;
	char buf[64];
	double t0 = now_ns();

	for (int i = 0; i < CALLS; i++) {
		if (epoll_wait(ep, &ev, 1, 0) < 0 || send(a, "x", 1, MSG_DONTWAIT) != 1 ||
		    recv(b, buf, sizeof buf, MSG_DONTWAIT) != 1) {
			perror("syscall_cost");
			exit(1);
		}
	}
	return (now_ns() - t0) / (3.0 * CALLS);
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* In a child, so that no filter outlives the round: ns per call. */
static double measure(bool filtered)
{
	int pfd[2], sv[2], ep, st;
	double r = -1;
	pid_t pid;

	if (pipe(pfd) < 0 || (pid = fork()) < 0) {
		perror("syscall_cost");
		exit(1);
	}
	if (pid == 0) {
		struct sandbox_config c;

		ep = epoll_create1(0);
		if (ep < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			_exit(1);
		sandbox_defaults(&c);
		c.enabled = true;
		if (filtered && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
				 filter_prepare(&c) < 0 || filter_worker(&c, NULL) < 0)) {
			fprintf(stderr, "syscall_cost: loading the worker filter failed\n");
			_exit(1);
		}
		r = per_call(ep, sv[0], sv[1]);
		_exit(write(pfd[1], &r, sizeof r) == sizeof r ? 0 : 1);
	}
	close(pfd[1]);
	if (read(pfd[0], &r, sizeof r) != sizeof r || waitpid(pid, &st, 0) < 0 || st != 0) {
		fprintf(stderr, "syscall_cost: a measuring child failed\n");
		exit(1);
	}
	close(pfd[0]);
	return r;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	double *off, *on, *diff;

	if (rounds < 1) {
		fprintf(stderr, "usage: syscall_cost [ROUNDS >= 1]\n");
		return 2;
	}
	off = calloc((size_t)rounds, sizeof *off);
	on = calloc((size_t)rounds, sizeof *on);
	diff = calloc((size_t)rounds, sizeof *diff);
	if (!off || !on || !diff)
		return 1;
	for (int i = 0; i < rounds; i++) { /* interleaved: drift hits both alike */
		off[i] = measure(false);
		on[i] = measure(true);
		diff[i] = on[i] - off[i];
	}
	qsort(off, (size_t)rounds, sizeof *off, cmp);
	qsort(on, (size_t)rounds, sizeof *on, cmp);
	qsort(diff, (size_t)rounds, sizeof *diff, cmp);
	printf("ns per system call (epoll_wait, send, recv; medians of %d interleaved rounds of "
	       "%d calls): no filter %.1f, worker filter %.1f; difference per round: median "
	       "%+.1f (min %+.1f, max %+.1f)\n",
	       rounds, 3 * CALLS, off[rounds / 2], on[rounds / 2], diff[rounds / 2], diff[0],
	       diff[rounds - 1]);
	free(off);
	free(on);
	free(diff);
	return 0;
}
