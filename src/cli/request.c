/* SPDX-License-Identifier: MIT */
/*
 * sfcgi request: one FastCGI request from the command line, what cgi-fcgi
 * is to libfcgi users. Prints the response (STDOUT to stdout, STDERR to
 * stderr); the exit status follows the HTTP status.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "fcgi.h"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_CONN = 2, EXIT_PROTO = 3 };

struct req_opts {
	const char *addr, *uri, *method, *data_file, *filter_file;
	char **params; /* "NAME=VALUE" */
	size_t nparams;
	int role;
	int body_only;
	int timeout_ms;
	long repeat;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sfcgi request [OPTION]... ADDRESS [URI]\n"
		"Send a FastCGI request to ADDRESS (/path.sock, @abstract, HOST:PORT,\n"
		"[IPv6]:PORT) and print the response.\n\n"
		"  -X, --method METHOD     request method (GET; POST when a body is given)\n"
		"  -d, --data FILE         request body from FILE ('-' = standard input)\n"
		"  -p, --param NAME=VALUE  add or override a parameter; may repeat\n"
		"  -r, --role ROLE         responder (default), authorizer or filter\n"
		"      --filter-data FILE  the FCGI_DATA stream for the filter role\n"
		"  -b, --body-only         print the body without the response headers\n"
		"  -t, --timeout SECONDS   give up after this long (default 30)\n"
		"  -n, --repeat N          send the request N times on one kept connection\n"
		"  -h, --help              print this help\n\n"
		"Exit status: 0 for HTTP 1xx-3xx, 4 for 4xx, 5 for 5xx or a Status: line that\n"
		"is not an HTTP status (what a web server answers with 502), 3 when the application\n"
		"refused the request (FCGI_END_REQUEST protocolStatus), 2 for connection or\n"
		"protocol errors, 1 for usage errors.\n");
}

static int read_file(const char *path, struct buf *b)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	ssize_t n;

	if (fd < 0) {
		fprintf(stderr, "sfcgi request: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (buf_reserve(b, 65536) < 0)
			return -1;
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n > 0)
			b->len += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0)
		fprintf(stderr, "sfcgi request: %s: %s\n", path, strerror(errno));
	if (fd != STDIN_FILENO)
		close(fd);
	return n < 0 ? -1 : 0;
}

static int dial(const char *addr)
{
	char err[320];
	int fd = cli_dial(addr, err, sizeof err);

	if (fd >= 0)
		return fd;
	if (err[0])
		fprintf(stderr, "sfcgi request: %s\n", err);
	else
		fprintf(stderr, "sfcgi request: connecting to %s: %s\n", addr, strerror(-fd));
	return -1;
}

static int add_param(struct buf *p, const char *name, size_t nl, const char *value)
{
	size_t vl = strlen(value), sz = fcgi_pair_size(nl, vl);

	if (buf_reserve(p, sz) < 0)
		return -1;
	p->len += fcgi_pair_encode(p->data + p->len, sz, name, nl, value, vl);
	return 0;
}

static const char *override(const struct req_opts *o, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < o->nparams; i++)
		if (!strncmp(o->params[i], name, nl) && o->params[i][nl] == '=')
			return o->params[i] + nl + 1;
	return NULL;
}

static int stream(struct buf *out, uint8_t type, const void *data, size_t n)
{
	size_t sz = fcgi_stream_size(n) + (n ? fcgi_stream_size(0) : 0);

	if (buf_reserve(out, sz) < 0)
		return -1;
	if (n)
		out->len += fcgi_stream_encode(out->data + out->len, sz, type, 1, data, n);
	out->len += fcgi_stream_encode(out->data + out->len, FCGI_HEADER_LEN, type, 1, NULL, 0);
	return 0;
}

static int build(const struct req_opts *o, const struct buf *body, const struct buf *fdata,
		 int keep, struct buf *out)
{
	struct buf p = { 0 };
	char clen[32], script[1024];
	const char *q = strchr(o->uri, '?');
	size_t sl = q ? (size_t)(q - o->uri) : strlen(o->uri);
	const char *defaults[][2] = {
		{ "GATEWAY_INTERFACE", "CGI/1.1" },
		{ "SERVER_SOFTWARE", "sfcgi-request" },
		{ "SERVER_PROTOCOL", "HTTP/1.1" },
		{ "SERVER_NAME", "localhost" },
		{ "SERVER_PORT", "80" },
		{ "REMOTE_ADDR", "127.0.0.1" },
		{ "REQUEST_METHOD", o->method ? o->method : body->len ? "POST" : "GET" },
		{ "REQUEST_URI", o->uri },
		{ "SCRIPT_NAME", script },
		{ "QUERY_STRING", q ? q + 1 : "" },
		{ "CONTENT_LENGTH", body->len ? clen : "" },
		{ "CONTENT_TYPE", body->len ? "application/octet-stream" : "" },
	};
	uint8_t begin[16];
	int r = 0;

	snprintf(clen, sizeof clen, "%zu", body->len);
	snprintf(script, sizeof script, "%.*s", (int)(sl < sizeof script ? sl : sizeof script - 1),
		 o->uri);
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0] && r == 0; i++)
		if (!override(o, defaults[i][0]) && *defaults[i][1])
			r = add_param(&p, defaults[i][0], strlen(defaults[i][0]), defaults[i][1]);
	for (size_t i = 0; i < o->nparams && r == 0; i++) {
		const char *eq = strchr(o->params[i], '=');

		r = add_param(&p, o->params[i], (size_t)(eq - o->params[i]), eq + 1);
	}
	if (r == 0)
		r = buf_append(out, begin,
			       fcgi_begin_request_encode(begin, 1, (uint16_t)o->role,
							 keep ? FCGI_KEEP_CONN : 0));
	if (r == 0)
		r = stream(out, FCGI_PARAMS, p.data, p.len);
	if (r == 0)
		r = stream(out, FCGI_STDIN, body->data, body->len);
	if (r == 0 && o->role == FCGI_FILTER)
		r = stream(out, FCGI_DATA, fdata->data, fdata->len);
	buf_free(&p);
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd; -1 on timeout (reported). */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left = deadline - now_ms();

	if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
		fprintf(stderr, "sfcgi request: timed out\n");
		return -1;
	}
	return 0;
}

struct response {
	struct buf head; /* header block, until the blank line */
	int in_body;
	int status;
	uint8_t protocol_status;
	uint32_t app_status;
};

/* The value of a Status: line, "404 Not Found": three digits from 100 to
 * 599, then the end of the line or a space. Anything else is -1, which a web
 * server would answer with 502 (nginx: "upstream sent invalid status"). */
static int parse_status(const char *p, const char *end)
{
	int v = 0, n = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end && n < 4 && *p >= '0' && *p <= '9'; p++, n++)
		v = v * 10 + (*p - '0');
	if (n != 3 || v < 100 || v > 599 || (p < end && *p != ' ' && *p != '\r' && *p != '\n'))
		return -1;
	return v;
}

/* STDOUT content: the header block is held back to find "Status:". */
static void on_stdout(struct response *rs, const struct req_opts *o, const uint8_t *p, size_t n)
{
	if (rs->in_body) {
		fwrite(p, 1, n, stdout);
		return;
	}
	buf_append(&rs->head, p, n);
	for (size_t i = 0; i + 1 < rs->head.len; i++) {
		size_t skip = 0;

		if (!memcmp(rs->head.data + i, "\n\n", 2))
			skip = 2;
		else if (i + 3 < rs->head.len && !memcmp(rs->head.data + i, "\r\n\r\n", 4))
			skip = 4;
		if (!skip)
			continue;
		rs->in_body = 1;
		for (size_t k = 0; k < i; k++)
			if ((k == 0 || rs->head.data[k - 1] == '\n') &&
			    !strncasecmp((char *)rs->head.data + k, "Status:", 7))
				rs->status = parse_status((char *)rs->head.data + k + 7,
							  (char *)rs->head.data + i);
		if (!o->body_only)
			fwrite(rs->head.data, 1, i + skip, stdout);
		fwrite(rs->head.data + i + skip, 1, rs->head.len - i - skip, stdout);
		buf_free(&rs->head);
		return;
	}
}

static int exchange(int fd, const struct buf *req, const struct req_opts *o, int64_t deadline,
		    struct response *rs)
{
	struct buf in = { 0 };
	size_t sent = 0;
	int r = -1;

	while (sent < req->len) {
		ssize_t n = send(fd, req->data + sent, req->len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				goto out;
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "sfcgi request: send: %s\n", strerror(errno));
			goto out;
		}
		sent += (size_t)n;
	}
	for (;;) {
		struct fcgi_record rec;
		ssize_t k = fcgi_record_decode(buf_head(&in), buf_used(&in), &rec), n;

		if (k < 0) {
			fprintf(stderr, "sfcgi request: malformed record from the application\n");
			goto out;
		}
		if (k > 0) {
			if (rec.type == FCGI_STDOUT)
				on_stdout(rs, o, rec.content, rec.content_length);
			else if (rec.type == FCGI_STDERR)
				fwrite(rec.content, 1, rec.content_length, stderr);
			else if (rec.type == FCGI_END_REQUEST) {
				if (fcgi_end_body_decode(&rec, &rs->app_status, &rs->protocol_status) <
				    0) {
					fprintf(stderr, "sfcgi request: malformed END_REQUEST\n");
					goto out;
				}
				r = 0;
				goto out;
			}
			buf_consume(&in, (size_t)k);
			continue;
		}
		if (wait_fd(fd, POLLIN, deadline) < 0 || buf_reserve(&in, 65536) < 0)
			goto out;
		n = recv(fd, in.data + in.len, in.cap - in.len, 0);
		if (n <= 0) {
			fprintf(stderr, "sfcgi request: the application closed the connection "
					"before FCGI_END_REQUEST\n");
			goto out;
		}
		in.len += (size_t)n;
	}
out:
	buf_free(&in);
	return r;
}

static int parse_args(int argc, char **argv, struct req_opts *o)
{
	static const struct option longopts[] = {
		{ "method", required_argument, NULL, 'X' },
		{ "data", required_argument, NULL, 'd' },
		{ "param", required_argument, NULL, 'p' },
		{ "role", required_argument, NULL, 'r' },
		{ "filter-data", required_argument, NULL, 'F' },
		{ "body-only", no_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	o->role = FCGI_RESPONDER;
	o->timeout_ms = 30000;
	o->repeat = 1;
	o->params = calloc((size_t)argc + 1, sizeof *o->params);
	while ((c = getopt_long(argc, argv, "X:d:p:r:bt:n:h", longopts, NULL)) != -1) {
		char *end;
		double t;

		switch (c) {
		case 'X': o->method = optarg; break;
		case 'd': o->data_file = optarg; break;
		case 'F': o->filter_file = optarg; break;
		case 'b': o->body_only = 1; break;
		case 'p':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "sfcgi request: --param %s: expected NAME=VALUE\n", optarg);
				return -1;
			}
			o->params[o->nparams++] = optarg;
			break;
		case 'r':
			if (!strcmp(optarg, "responder"))
				o->role = FCGI_RESPONDER;
			else if (!strcmp(optarg, "authorizer"))
				o->role = FCGI_AUTHORIZER;
			else if (!strcmp(optarg, "filter"))
				o->role = FCGI_FILTER;
			else {
				fprintf(stderr, "sfcgi request: --role %s: expected responder, "
						"authorizer or filter\n", optarg);
				return -1;
			}
			break;
		case 't':
			t = strtod(optarg, &end);
			if (*end || !(t > 0) || t > 86400) {
				fprintf(stderr, "sfcgi request: --timeout %s: expected seconds\n", optarg);
				return -1;
			}
			o->timeout_ms = (int)(t * 1000);
			break;
		case 'n':
			o->repeat = strtol(optarg, &end, 10);
			if (*end || o->repeat < 1) {
				fprintf(stderr, "sfcgi request: --repeat %s: expected a count\n", optarg);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage(stderr);
		return -1;
	}
	o->addr = argv[optind];
	o->uri = optind + 1 < argc ? argv[optind + 1] : "/";
	return 0;
}

int cmd_request(int argc, char **argv)
{
	struct req_opts o = { 0 };
	struct buf body = { 0 }, fdata = { 0 }, req = { 0 };
	struct response rs = { 0 };
	int fd, code = EXIT_CONN;

	if (parse_args(argc, argv, &o) < 0) {
		code = EXIT_USAGE;
		goto out;
	}
	if ((o.data_file && read_file(o.data_file, &body) < 0) ||
	    (o.filter_file && read_file(o.filter_file, &fdata) < 0)) {
		code = EXIT_USAGE;
		goto out;
	}
	if (build(&o, &body, &fdata, o.repeat > 1, &req) < 0 || (fd = dial(o.addr)) < 0)
		goto out;
	for (long i = 0; i < o.repeat; i++) {
		int64_t deadline = now_ms() + o.timeout_ms;

		memset(&rs, 0, sizeof rs);
		rs.status = 200;
		if (i == o.repeat - 1 && o.repeat > 1) {
			req.len = 0; /* last one without FCGI_KEEP_CONN */
			if (build(&o, &body, &fdata, 0, &req) < 0)
				break;
		}
		if (exchange(fd, &req, &o, deadline, &rs) < 0) {
			code = EXIT_CONN;
			break;
		}
		if (!rs.in_body) /* no blank line: print what came */
			fwrite(rs.head.data, 1, rs.head.len, stdout);
		buf_free(&rs.head);
		if (rs.protocol_status != FCGI_REQUEST_COMPLETE) {
			fprintf(stderr, "sfcgi request: the application refused the request "
					"(protocolStatus %u)\n", rs.protocol_status);
			code = EXIT_PROTO;
			break;
		}
		if (rs.status < 0) {
			fprintf(stderr, "sfcgi request: the response's Status: line is not an "
					"HTTP status (100 to 599); a web server answers 502\n");
			code = 5;
			break;
		}
		code = rs.status >= 500 ? 5 : rs.status >= 400 ? 4 : EXIT_OK;
	}
	fflush(stdout);
	close(fd);
out:
	buf_free(&body);
	buf_free(&fdata);
	buf_free(&req);
	free(o.params);
	return code;
}
