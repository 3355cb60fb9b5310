/* SPDX-License-Identifier: MIT */
/*
 * syscall_cost: what the worker's seccomp filter adds to each system call.
 * Times the three calls a kept-connection request costs a worker
 * (epoll_wait, recv, send on a unix socket) a million times each round,
 * without a filter and then under the default worker filter (compiled and
 * loaded the way a worker does: filter_prepare(), filter_worker()).
 *
 *   syscall_cost [ROUNDS]      prints ns per call, without and with
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5, sv[2], ep = epoll_create1(0);
	double *off = calloc((size_t)rounds, sizeof *off), *on = calloc((size_t)rounds, sizeof *on);
	struct sandbox_config c;

	if (rounds < 1 || !off || !on || ep < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		fprintf(stderr, "usage: syscall_cost [ROUNDS >= 1]\n");
		return 2;
	}
	for (int i = 0; i < rounds; i++)
		off[i] = per_call(ep, sv[0], sv[1]);
	sandbox_defaults(&c);
	c.enabled = true;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || filter_prepare(&c) < 0 ||
	    filter_worker(&c, NULL) < 0) {
		fprintf(stderr, "syscall_cost: loading the worker filter failed\n");
		return 1;
	}
	for (int i = 0; i < rounds; i++)
		on[i] = per_call(ep, sv[0], sv[1]);
	qsort(off, (size_t)rounds, sizeof *off, cmp);
	qsort(on, (size_t)rounds, sizeof *on, cmp);
	printf("ns per system call (epoll_wait, send, recv; median of %d x %d): "
	       "no filter %.1f, worker filter %.1f, +%.1f\n",
	       rounds, 3 * CALLS, off[rounds / 2], on[rounds / 2], on[rounds / 2] - off[rounds / 2]);
	free(off);
	free(on);
	return 0;
}
