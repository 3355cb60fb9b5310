/* SPDX-License-Identifier: MIT */
/*
 * floor — the least work a FastCGI server can do: what sfcgi is measured
 * against. One thread, epoll, level-triggered. Nothing is parsed except
 * record headers, scanned only to find where each request ends (its empty
 * FCGI_STDIN record) and, from FCGI_BEGIN_REQUEST, the FCGI_KEEP_CONN flag.
 * Each request end is answered with canned bytes carrying its request id:
 * the same STDOUT as examples/hello.c, the empty STDOUT, END_REQUEST.
 * Pipelined and multiplexed requests are answered in arrival order; the
 * answers to everything one recv() brought go out in one send().
 *
 *   floor --listen /path.sock | HOST:PORT
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BODY "Content-Type: text/plain\r\n\r\nHello from sfcgi!\n"
#define BODY_LEN (sizeof BODY - 1)
#define BODY_PAD ((8 - BODY_LEN % 8) % 8)
#define ANSWER_LEN (8 + BODY_LEN + BODY_PAD + 8 + 16)
#define RECV_SIZE 65536

struct fconn {
	int fd;
	uint32_t events;
	/* Record scanner. */
	uint8_t hdr[8];
	unsigned hlen;
	uint8_t type;
	uint32_t pos, left; /* content bytes seen / content+padding bytes left */
	bool keep;
	/* Output. */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	bool close_after;
};

static uint8_t answer[ANSWER_LEN];
static bool listen_tcp;

static void put_header(uint8_t *p, uint8_t type, uint16_t clen, uint8_t pad)
{
	p[0] = 1;
	p[1] = type;
	p[2] = p[3] = 0; /* request id: patched per answer */
	p[4] = (uint8_t)(clen >> 8);
	p[5] = (uint8_t)clen;
	p[6] = pad;
	p[7] = 0;
}

static void build_answer(void)
{
	uint8_t *p = answer;

	put_header(p, 6, BODY_LEN, BODY_PAD); /* FCGI_STDOUT */
	memcpy(p + 8, BODY, BODY_LEN);
	memset(p + 8 + BODY_LEN, 0, BODY_PAD);
	p += 8 + BODY_LEN + BODY_PAD;
	put_header(p, 6, 0, 0); /* end of FCGI_STDOUT */
	p += 8;
	put_header(p, 3, 8, 0); /* FCGI_END_REQUEST: appStatus 0, REQUEST_COMPLETE */
	memset(p + 8, 0, 8);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void queue_answer(struct fconn *c, uint8_t id_hi, uint8_t id_lo)
{
	uint8_t *p;

	if (c->out_cap - c->out_len < ANSWER_LEN) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;

		while (cap - c->out_len < ANSWER_LEN)
			cap *= 2;
		c->out = realloc(c->out, cap);
		if (!c->out)
			die("floor: realloc");
		c->out_cap = cap;
	}
	p = c->out + c->out_len;
	memcpy(p, answer, ANSWER_LEN);
	for (size_t off = 0; off < ANSWER_LEN;) {
		size_t clen = (size_t)p[off + 4] << 8 | p[off + 5];

		p[off + 2] = id_hi;
		p[off + 3] = id_lo;
		off += 8 + clen + p[off + 6];
	}
	c->out_len += ANSWER_LEN;
	if (!c->keep)
		c->close_after = true;
}

/* Walks record boundaries through n new bytes. */
static void scan(struct fconn *c, const uint8_t *p, size_t n)
{
	while (n) {
		if (c->left) {
			size_t k = n < c->left ? n : c->left;

			/* FCGI_BeginRequestBody: role(2) flags(1): keep the KEEP_CONN bit. */
			if (c->type == 1 && c->pos <= 2 && 2 < c->pos + k)
				c->keep = p[2 - c->pos] & 1;
			c->pos += (uint32_t)k;
			c->left -= (uint32_t)k;
			p += k;
			n -= k;
			continue;
		}
		c->hdr[c->hlen++] = *p++;
		n--;
		if (c->hlen < 8)
			continue;
		c->hlen = 0;
		c->type = c->hdr[1];
		c->pos = 0;
		c->left = ((uint32_t)c->hdr[4] << 8 | c->hdr[5]) + c->hdr[6];
		if (c->type == 5 && c->hdr[4] == 0 && c->hdr[5] == 0) /* empty FCGI_STDIN */
			queue_answer(c, c->hdr[2], c->hdr[3]);
	}
}

static void conn_close(struct fconn *c)
{
	close(c->fd);
	free(c->out);
	free(c);
}

static void set_events(int epfd, struct fconn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (ev != c->events && epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) < 0)
		die("floor: epoll_ctl(MOD)");
	c->events = ev;
}

/* false: the connection was closed. */
static bool flush(int epfd, struct fconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_close(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->close_after) {
			conn_close(c);
			return false;
		}
	}
	set_events(epfd, c, c->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
	return true;
}

static void on_conn(int epfd, struct fconn *c, uint32_t ev)
{
	static uint8_t buf[RECV_SIZE];

	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (n > 0)
			scan(c, buf, (size_t)n);
	}
	flush(epfd, c);
}

static void on_listener(int epfd, int lfd)
{
	for (int i = 0; i < 64; i++) {
		struct epoll_event e = { .events = EPOLLIN };
		struct fconn *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				perror("floor: accept4");
			return;
		}
		if (listen_tcp)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c = calloc(1, sizeof *c);
		if (!c)
			die("floor: calloc");
		c->fd = fd;
		c->events = e.events;
		e.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0)
			die("floor: epoll_ctl(ADD)");
	}
}

static int open_listener(const char *spec)
{
	int fd;

	if (spec[0] == '/' || spec[0] == '.') {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(spec) >= sizeof sa.sun_path) {
			fprintf(stderr, "floor: %s: path too long\n", spec);
			exit(1);
		}
		strcpy(sa.sun_path, spec);
		unlink(spec);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
			die("floor: bind");
	} else {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
		const char *colon = strrchr(spec, ':');
		char host[256];
		size_t hl = colon ? (size_t)(colon - spec) : 0;

		if (!colon || hl >= sizeof host) {
			fprintf(stderr, "floor: --listen %s: expected /path or HOST:PORT\n", spec);
			exit(1);
		}
		memcpy(host, spec, hl);
		host[hl] = 0;
		if (getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai) != 0) {
			fprintf(stderr, "floor: --listen %s: cannot resolve\n", spec);
			exit(1);
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("floor: socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			die("floor: bind");
		freeaddrinfo(ai);
		listen_tcp = true;
	}
	if (listen(fd, SOMAXCONN) < 0)
		die("floor: listen");
	return fd;
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256], e = { .events = EPOLLIN };
	static int lkind; /* the listener's epoll tag: &lkind */
	int lfd, epfd;

	if (argc != 3 || strcmp(argv[1], "--listen") != 0) {
		fprintf(stderr, "usage: floor --listen /path.sock|HOST:PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	build_answer();
	lfd = open_listener(argv[2]);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("floor: epoll_create1");
	e.data.ptr = &lkind;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &e) < 0)
		die("floor: epoll_ctl(ADD)");
	for (;;) {
		int n = epoll_wait(epfd, evs, (int)(sizeof evs / sizeof evs[0]), -1);

		if (n < 0 && errno != EINTR)
			die("floor: epoll_wait");
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &lkind)
				on_listener(epfd, lfd);
			else
				on_conn(epfd, evs[i].data.ptr, evs[i].events);
		}
	}
}
