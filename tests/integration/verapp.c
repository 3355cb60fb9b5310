/* SPDX-License-Identifier: MIT */
/*
 * A release of an application, for the allow-list and multi-host tests
 * (issue 14): answers "version=VERAPP_VERSION host=$VERAPP_HOST pid=PID",
 * so that a client can tell which release and which host served it. Built
 * twice with different versions (verapp-v1, verapp-v2): a rolling deploy
 * replaces one binary with the other. A request whose query string contains
 * "trace" is also written to stderr ("verapp saw URI"): the tests look
 * there for requests that must never reach the application.
 * ?sleep=MS holds the request that long (requests in flight when a host
 * goes away).
 */
#include <sfcgi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef VERAPP_VERSION
#define VERAPP_VERSION "1"
#endif

static int handler(struct sfcgi_request *req, void *userdata)
{
	const char *q = sfcgi_param(req, "QUERY_STRING"), *uri = sfcgi_param(req, "REQUEST_URI");
	const char *host = getenv("VERAPP_HOST");

	(void)userdata;
	if (q && strstr(q, "trace"))
		fprintf(stderr, "verapp saw %s\n", uri ? uri : "?");
	if (q && !strncmp(q, "sleep=", 6)) {
		long ms = strtol(q + 6, NULL, 10);
		struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

		nanosleep(&ts, NULL);
	}
	sfcgi_add_header(req, "Content-Type", "text/plain");
	sfcgi_printf(req, "version=%s host=%s pid=%d\n", VERAPP_VERSION, host ? host : "-",
		     (int)getpid());
	return 0;
}

int main(int argc, char **argv)
{
	const struct sfcgi_app app = { .handler = handler };

	return sfcgi_main(argc, argv, &app);
}
