/* SPDX-License-Identifier: MIT */
/* Killing a process tree through /proc: see proctree.h. */
#include "proctree.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 16 /* a stopped process starts nothing: two or three suffice */

struct proc {
	pid_t pid, ppid, pgid, sid;
	bool marked;
};

/* Every process in /proc: pid, parent, group, session. 0 and *ret, or -errno. */
static int scan(struct proc **ret, size_t *ret_n)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct proc *v = NULL, *t;
	size_t n = 0, cap = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[64], buf[512], *rp;
		int fd, ppid, pgid, sid;
		ssize_t k;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", atoi(e->d_name));
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue; /* gone meanwhile */
		k = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = 0;
		/* "pid (comm) state ppid pgrp session ...": comm may hold anything */
		if (!(rp = strrchr(buf, ')')) ||
		    sscanf(rp + 1, " %*c %d %d %d", &ppid, &pgid, &sid) != 3)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			if (!(t = realloc(v, cap * sizeof *v))) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = t;
		}
		v[n++] = (struct proc){ .pid = atoi(e->d_name), .ppid = ppid, .pgid = pgid, .sid = sid };
	}
	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Marks the processes of the tree; the number newly marked. */
static size_t mark(struct proc *v, size_t n, pid_t root, pid_t sid, pid_t pgid, pid_t self)
{
	size_t marked = 0;
	bool grew = true;

	for (size_t i = 0; i < n; i++)
		v[i].marked = v[i].pid != self && (v[i].pid == root || (sid && v[i].sid == sid) ||
						   (pgid && v[i].pgid == pgid));
	qsort(v, n, sizeof *v, by_pid);
	while (grew) { /* children of the marked, and of root itself (the caller) */
		grew = false;
		for (size_t i = 0; i < n; i++) {
			struct proc key = { .pid = v[i].ppid }, *p;

			if (v[i].marked || v[i].pid == self)
				continue;
			p = v[i].ppid == root ? &key : bsearch(&key, v, n, sizeof *v, by_pid);
			if (p && (p == &key || p->marked))
				grew = v[i].marked = true;
		}
	}
	for (size_t i = 0; i < n; i++)
		marked += v[i].marked;
	return marked;
}

int proctree_kill(pid_t root, pid_t sid, pid_t pgid)
{
	pid_t self = getpid(), *stopped = NULL;
	size_t nstopped = 0, cap = 0;
	int r = 0, killed = 0;

	for (int round = 0; round < ROUNDS && r == 0; round++) {
		struct proc *v = NULL;
		size_t n = 0, more = 0;

		if ((r = scan(&v, &n)) < 0)
			break;
		mark(v, n, root, sid, pgid, self);
		for (size_t i = 0; i < n && r == 0; i++) {
			bool seen = false;

			for (size_t j = 0; j < nstopped && !seen; j++)
				seen = stopped[j] == v[i].pid;
			if (!v[i].marked || seen)
				continue;
			if (nstopped == cap) {
				pid_t *t = realloc(stopped, (cap = cap ? 2 * cap : 64) * sizeof *t);

				if (!t) {
					r = -ENOMEM;
					break;
				}
				stopped = t;
			}
			kill(v[i].pid, SIGSTOP);
			stopped[nstopped++] = v[i].pid;
			more++;
		}
		free(v);
		if (!more)
			break;
	}
	/* Killed even when a scan failed: what was found is stopped. */
	for (size_t i = 0; i < nstopped; i++)
		killed += kill(stopped[i], SIGKILL) == 0;
	free(stopped);
	return r < 0 ? r : killed;
}
