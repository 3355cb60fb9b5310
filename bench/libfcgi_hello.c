/* SPDX-License-Identifier: MIT */
/*
 * examples/hello.c written against libfcgi (fcgiapp.h), for comparison:
 * the same answer, byte for byte, from the classic FCGX_Accept_r loop.
 * Listens on fd 0 (web-server-spawned mode) or, with --listen, on a socket
 * of its own made by FCGX_OpenSocket ("/path.sock" or ":PORT"/"HOST:PORT"),
 * or, with --fd N, on an inherited listening socket (systemd's fd 3).
 */
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	FCGX_Request req;
	int sock = 0;

	if (argc == 3 && strcmp(argv[1], "--listen") == 0) {
		if (argv[2][0] == '/')
			unlink(argv[2]);
		sock = FCGX_OpenSocket(argv[2], 1024);
		if (sock < 0) {
			fprintf(stderr, "libfcgi_hello: cannot listen on %s\n", argv[2]);
			return 1;
		}
	} else if (argc == 3 && strcmp(argv[1], "--fd") == 0) {
		sock = atoi(argv[2]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: libfcgi_hello [--listen /path.sock|HOST:PORT | --fd N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, sock, 0) != 0) {
		fprintf(stderr, "libfcgi_hello: FCGX_Init failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutS("Content-Type: text/plain\r\n\r\n", req.out);
		FCGX_FPrintF(req.out, "Hello from sfcgi!\n");
		FCGX_Finish_r(&req);
	}
	return 0;
}
