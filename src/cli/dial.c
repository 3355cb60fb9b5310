/* SPDX-License-Identifier: MIT */
/* Connecting to a FastCGI socket by its address (cli.h: cli_dial). */
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

/* A unix socket: in blocking mode, its connect() does not wait for the peer
 * to accept. */
static int dial_unix(const char *addr, char *err, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t l = strlen(addr);
	int fd;

	if (l >= sizeof sa.sun_path) {
		snprintf(err, n, "%s: path too long for a unix socket", addr);
		return -EINVAL;
	}
	memcpy(sa.sun_path, addr, l);
	if (addr[0] == '@')
		sa.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa,
			       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l +
					   (addr[0] != '@'))) == 0)
		return fd;
	return fd >= 0 ? (close(fd), -errno) : -errno;
}

int cli_dial(const char *addr, char *err, size_t n)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	const char *port, *h = addr;
	char host[256];
	int fd = -1, r = ECONNREFUSED;
	size_t hl;

	if (n)
		err[0] = 0;
	if (strchr(addr, '/') || addr[0] == '@')
		return dial_unix(addr, err, n);
	/* HOST:PORT, [IPv6]:PORT */
	if (addr[0] == '[' && (port = strstr(addr, "]:")))
		h = addr + 1, hl = (size_t)(port - h), port += 2;
	else if ((port = strrchr(addr, ':')))
		hl = (size_t)(port - addr), port++;
	else
		hl = sizeof host;
	if (hl >= sizeof host) {
		snprintf(err, n, "%s: expected a socket path or HOST:PORT", addr);
		return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = 0;
	if ((r = getaddrinfo(hl ? host : "localhost", port, &hints, &res))) {
		snprintf(err, n, "%s: %s", addr, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	r = ECONNREFUSED;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			r = errno;
			close(fd);
			fd = -1;
		} else if (fd < 0) {
			r = errno;
		}
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : -r;
}
