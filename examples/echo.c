/* SPDX-License-Identifier: MIT */
/*
 * Echoes a request back: its role, every parameter, and the body, streamed
 * through a fixed 64 KiB buffer. It writes while it reads, and nginx sends
 * no more of a body once it has a response header, so the worker holds the
 * rest of the body while the response waits: request_memory bytes (1 MiB)
 * in memory and the rest in a file in spill_dir; a worker's memory stays
 * within the bound of sfcgi.json(5), "Memory per request", for a body of any
 * size (tests/pressure/memory.py: 1 GiB under a 64 MiB limit). Answers
 * Authorizer requests (200 unless the parameter DENY is set) and Filter
 * requests (the DATA stream, upper-cased) too. Test hooks, by query string:
 *   ?size=N     respond with N bytes of filler instead (large responses)
 *   ?status=N   respond with that HTTP status
 *   ?stderr=1   also write a line to FCGI_STDERR
 */
#include <ctype.h>
#include <errno.h>
#include <sfcgi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long query_num(const char *qs, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = qs; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == '=')
			return strtol(p + kl + 1, NULL, 10);
	return -1;
}

static int filler(struct sfcgi_request *req, long size)
{
	char chunk[65536];

	for (size_t i = 0; i < sizeof chunk; i++)
		chunk[i] = (char)('a' + i % 26);
	sfcgi_add_header(req, "Content-Type", "application/octet-stream");
	while (size > 0) {
		size_t n = size < (long)sizeof chunk ? (size_t)size : sizeof chunk;

		if (sfcgi_write(req, chunk, n) < 0)
			return 1; /* the peer is gone: stop producing */
		size -= (long)n;
	}
	return 0;
}

static int filter(struct sfcgi_request *req)
{
	char buf[65536];
	ssize_t n;

	sfcgi_add_header(req, "Content-Type", "text/plain");
	while ((n = sfcgi_read_data(req, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			buf[i] = (char)toupper((unsigned char)buf[i]);
		sfcgi_write(req, buf, (size_t)n);
	}
	return n < 0 ? 1 : 0;
}

static int echo(struct sfcgi_request *req, void *userdata)
{
	const char *qs = sfcgi_param(req, "QUERY_STRING"), *name, *value;
	char buf[65536];
	size_t cursor = 0;
	long size = query_num(qs, "size"), status = query_num(qs, "status");
	ssize_t n;

	(void)userdata;
	if (query_num(qs, "stderr") == 1)
		sfcgi_printf_err(req, "echo: stderr line requested\n");
	if (sfcgi_role(req) == SFCGI_AUTHORIZER) {
		sfcgi_set_status(req, sfcgi_param(req, "DENY") ? 403 : 200);
		sfcgi_add_header(req, "Variable-AUTH_CHECKED", "yes");
		return 0;
	}
	if (sfcgi_role(req) == SFCGI_FILTER)
		return filter(req);
	if (status >= 100)
		sfcgi_set_status(req, (int)status);
	if (size >= 0)
		return filler(req, size);
	sfcgi_add_header(req, "Content-Type", "text/plain");
	sfcgi_printf(req, "role=%d\n", sfcgi_role(req));
	while (sfcgi_param_next(req, &cursor, &name, &value) > 0)
		sfcgi_printf(req, "param %s=%s\n", name, value);
	sfcgi_printf(req, "body:\n");
	while ((n = sfcgi_read(req, buf, sizeof buf)) > 0)
		if (sfcgi_write(req, buf, (size_t)n) < 0)
			return 1;
	if (n < 0) {
		sfcgi_printf_err(req, "echo: reading the body: %s\n", strerror((int)-n));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct sfcgi_app app = { .handler = echo };

	return sfcgi_main(argc, argv, &app);
}
