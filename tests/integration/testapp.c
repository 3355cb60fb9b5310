/* SPDX-License-Identifier: MIT */
/*
 * An app for supervisor tests, misbehaving on request (query string):
 *   ?pid        answer with the worker's PID
 *   ?sleep=MS   hang in the handler for MS milliseconds (request_timeout);
 *               answers "slept=START-END", wall-clock microseconds
 *   ?crash      abort() in the handler (SIGABRT)
 *   ?exit=N     exit(N) in the handler
 * and for the sandbox, each a call a locked-down worker may not make:
 *   ?exec       execve("/bin/true")
 *   ?socket     socket(AF_INET)
 *   ?ptrace     ptrace(PTRACE_TRACEME)
 *   ?ioctl      ioctl(FIONBIO) (the policy allows ioctl for TCGETS only)
 *   ?write=PATH open PATH for writing; answers "write=OK" or "write=ERRNO-NAME"
 *   ?copy=DIR   DIR/src to DIR/dst with copy_file_range, then ioctl(FICLONE) of
 *               the two ("file-copy"); answers "copy=BYTES ficlone=OK|ERRNO-NAME"
 *   ?status     answers /proc/self/status (uid, capabilities, NoNewPrivs, Seccomp)
 * and for the API:
 *   ?readall=MAX sfcgi_read_all(MAX bytes, "max" = SIZE_MAX); answers
 *               "readall=LENGTH" or "readall=ERRNO-NAME"
 *   ?read0       reads the body until an error, then sfcgi_read() of 0 bytes;
 *               answers "read=ERRNO-NAME read0=RESULT"
 *   ?rawstatus=TEXT writes its own header block, "Status: TEXT" (CGI style)
 *   ?env=NAME    answers "env=VALUE" (the config's "environment": which
 *               configuration the worker was started with)
 *   ?alloc=MB    allocates and touches MB MiB (an OOM kill under a memory limit)
 * TESTAPP_INIT_FAIL=1 makes init fail (a worker that exits on start);
 * TESTAPP_INIT_SLEEP_MS=N makes init take N ms (a slow new generation);
 * TESTAPP_INIT_ALLOC_MB=N makes init allocate and touch N MiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sfcgi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int init(void *userdata)
{
	(void)userdata;
	if (getenv("TESTAPP_INIT_SLEEP_MS")) {
		long ms = strtol(getenv("TESTAPP_INIT_SLEEP_MS"), NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	for (long mb = getenv("TESTAPP_INIT_ALLOC_MB") ? atol(getenv("TESTAPP_INIT_ALLOC_MB")) : 0;
	     mb > 0; mb--) {
		char *p = malloc(1 << 20); /* kept: the OOM killer is to end us */

		if (p)
			memset(p, 1, 1 << 20);
	}
	return getenv("TESTAPP_INIT_FAIL") ? -EIO : 0;
}

static int handler(struct sfcgi_request *req, void *userdata)
{
	const char *q = sfcgi_param(req, "QUERY_STRING");

	(void)userdata;
	q = q ? q : "";
	if (!strncmp(q, "rawstatus=", 10)) {
		sfcgi_printf(req, "Status: %s\r\nContent-Type: text/plain\r\n\r\nraw\n", q + 10);
		return 0;
	}
	if (!strncmp(q, "sleep=", 6)) {
		long ms = strtol(q + 6, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L }, t0, t1;

		clock_gettime(CLOCK_REALTIME, &t0);
		nanosleep(&ts, NULL);
		clock_gettime(CLOCK_REALTIME, &t1);
		sfcgi_add_header(req, "Content-Type", "text/plain");
		sfcgi_printf(req, "slept=%lld-%lld\n",
			     (long long)t0.tv_sec * 1000000 + t0.tv_nsec / 1000,
			     (long long)t1.tv_sec * 1000000 + t1.tv_nsec / 1000);
	} else if (!strncmp(q, "env=", 4)) {
		const char *v = getenv(q + 4);

		sfcgi_printf(req, "env=%s\n", v ? v : "(unset)");
	} else if (!strncmp(q, "alloc=", 6)) {
		size_t mb = strtoull(q + 6, NULL, 10), n = 0;

		for (; n < mb; n++) { /* leaked on purpose: the kernel is to kill us */
			char *p = malloc(1 << 20);

			if (!p)
				break;
			memset(p, 1, 1 << 20);
		}
		sfcgi_printf(req, "alloc=%zu\n", n);
	} else if (!strcmp(q, "crash")) {
		abort();
	} else if (!strncmp(q, "exit=", 5)) {
		exit(atoi(q + 5));
	} else if (!strcmp(q, "exec")) {
		execl("/bin/true", "true", (char *)NULL);
	} else if (!strcmp(q, "socket")) {
		sfcgi_printf(req, "socket=%d\n", socket(AF_INET, SOCK_STREAM, 0));
	} else if (!strcmp(q, "unix")) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		sfcgi_printf(req, "unix=%d\n", fd);
		if (fd >= 0)
			close(fd);
	} else if (!strncmp(q, "rdwr=", 5)) {
		int fd = open(q + 5, O_RDWR | O_CLOEXEC); /* git's /dev/null */

		sfcgi_printf(req, "rdwr=%s\n", fd >= 0 ? "OK" : strerrorname_np(errno));
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(q, "ptrace")) {
		sfcgi_printf(req, "ptrace=%ld\n", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	} else if (!strcmp(q, "ioctl")) {
		int on = 1;

		sfcgi_printf(req, "ioctl=%d\n", ioctl(STDERR_FILENO, FIONBIO, &on));
	} else if (!strncmp(q, "write=", 6)) {
		int fd = open(q + 6, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		sfcgi_printf(req, "write=%s\n", fd >= 0 ? "OK" : strerrorname_np(errno));
		if (fd >= 0)
			close(fd);
	} else if (!strncmp(q, "copy=", 5)) {
		char src[512], dst[512];
		int in, out;
		ssize_t n = -1;

		snprintf(src, sizeof src, "%s/src", q + 5);
		snprintf(dst, sizeof dst, "%s/dst", q + 5);
		in = open(src, O_RDONLY | O_CLOEXEC);
		out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (in >= 0 && out >= 0)
			n = copy_file_range(in, NULL, out, NULL, 1 << 20, 0);
		sfcgi_printf(req, "copy=%zd ", n);
		sfcgi_printf(req, "ficlone=%s\n", ioctl(out, FICLONE, in) == 0 ? "OK"
									: strerrorname_np(errno));
		close(in);
		close(out);
	} else if (!strncmp(q, "readall=", 8)) {
		size_t max = strcmp(q + 8, "max") ? strtoull(q + 8, NULL, 10) : SIZE_MAX, len = 0;
		char *body = NULL;
		int r = sfcgi_read_all(req, max, &body, &len);

		if (r < 0)
			sfcgi_printf(req, "readall=%s\n", strerrorname_np(-r));
		else
			sfcgi_printf(req, "readall=%zu\n", len);
		free(body);
	} else if (!strcmp(q, "read0")) {
		char buf[4096];
		ssize_t n;

		while ((n = sfcgi_read(req, buf, sizeof buf)) > 0)
			;
		sfcgi_printf(req, "read=%s read0=%zd\n", n < 0 ? strerrorname_np((int)-n) : "0",
			     sfcgi_read(req, NULL, 0));
	} else if (!strcmp(q, "status")) {
		char buf[8192];
		int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;

		if (n > 0)
			sfcgi_write(req, buf, (size_t)n);
		else
			sfcgi_printf(req, "status=%s\n", strerrorname_np(errno));
		if (fd >= 0)
			close(fd);
	}
	sfcgi_add_header(req, "Content-Type", "text/plain");
	sfcgi_printf(req, "pid=%d\n", (int)getpid());
	return 0;
}

int main(int argc, char **argv)
{
	const struct sfcgi_app app = { .init = init, .handler = handler };

	return sfcgi_main(argc, argv, &app);
}
