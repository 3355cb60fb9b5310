/* SPDX-License-Identifier: MIT */
/*
 * An app for supervisor tests, misbehaving on request (query string):
 *   ?pid        answer with the worker's PID
 *   ?sleep=MS   hang in the handler for MS milliseconds (request_timeout)
 *   ?crash      abort() in the handler (SIGABRT)
 *   ?exit=N     exit(N) in the handler
 * TESTAPP_INIT_FAIL=1 makes init fail (a worker that exits on start).
 */
#include <errno.h>
#include <sfcgi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int init(void *userdata)
{
	(void)userdata;
	return getenv("TESTAPP_INIT_FAIL") ? -EIO : 0;
}

static int handler(struct sfcgi_request *req, void *userdata)
{
	const char *q = sfcgi_param(req, "QUERY_STRING");

	(void)userdata;
	q = q ? q : "";
	if (!strncmp(q, "sleep=", 6)) {
		long ms = strtol(q + 6, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	} else if (!strcmp(q, "crash")) {
		abort();
	} else if (!strncmp(q, "exit=", 5)) {
		exit(atoi(q + 5));
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
