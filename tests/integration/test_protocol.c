/* SPDX-License-Identifier: MIT */
/*
 * The protocol over a real unix socket, against examples/echo: every kind
 * of malformed input gets the answer FastCGI 1.0 prescribes or a clean
 * close of that connection only, with a log line saying why, and the
 * worker keeps serving other connections.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcgi.h"
#include "peer.h"

static struct app app;
static const char *const LIMITS[] = {
	"--set", "read_timeout=0.5", "--set", "max_params_bytes=4096", "--set", "max_params=100",
	"--set", "max_stdin_bytes=2000000", NULL,
};
static const char *const GET[] = { "REQUEST_METHOD=GET", "QUERY_STRING=", NULL };

static void setup(void)
{
	app_start(&app, "SFCGI_TEST_ECHO", LIMITS);
	app_log_mark(&app);
}

static void teardown(void)
{
	app_stop(&app);
}

/* A fresh connection gets a full, correct response. */
static void assert_serving(void)
{
	struct buf b = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	request(&b, 1, 0, GET, NULL);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert_msg(r.ended && reply_has(&r, "role=1"), "the app stopped serving");
	ck_assert_int_eq(r.protocol_status, FCGI_REQUEST_COMPLETE);
	reply_free(&r);
	buf_free(&b);
	close(fd);
}

/* Sends b on a new connection; expects the app to close it and log why. */
static void expect_close(struct buf *b, const char *log_text)
{
	int fd = peer_connect(&app);

	peer_send(fd, b->data, b->len);
	ck_assert_msg(peer_closed(fd, 3000), "connection not closed");
	ck_assert_msg(app_log_has(&app, log_text), "no log line with \"%s\"", log_text);
	close(fd);
	assert_serving();
}

START_TEST(bad_version)
{
	struct buf b = { 0 };

	begin(&b, 1, FCGI_RESPONDER, 0);
	b.data[0] = 2;
	expect_close(&b, "version 2");
	buf_free(&b);
}
END_TEST

/* Bad bytes right behind a complete request: that request is answered
 * whole, then the connection is closed (it used to be closed at once, the
 * answer dropped or cut short mid-record). */
START_TEST(bad_version_after_request)
{
	struct buf b = { 0 };
	struct reply r;
	const char *const params[] = { "REQUEST_METHOD=GET", "QUERY_STRING=size=300000", NULL };
	int fd = peer_connect(&app);

	request(&b, 1, FCGI_KEEP_CONN, params, NULL);
	begin(&b, 2, FCGI_RESPONDER, 0);
	b.data[b.len - 16] = 0; /* version 0 */
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 5000);
	ck_assert_msg(r.ended && r.end_id == 1, "no END_REQUEST for the complete request");
	ck_assert_uint_ge(r.out.len, 300000);
	ck_assert(peer_closed(fd, 3000));
	ck_assert(app_log_has(&app, "version 0"));
	reply_free(&r);
	buf_free(&b);
	close(fd);
	assert_serving();
}
END_TEST

START_TEST(unknown_type_answered)
{
	struct buf b = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	rec(&b, 42, 1, "x", 1); /* unknown type for a request */
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 1, 3000);
	ck_assert_int_eq(r.unknown_type, 42);
	reply_free(&r);
	b.len = 0;
	rec(&b, 200, 0, NULL, 0); /* unknown management record */
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 1, 3000);
	ck_assert_int_eq(r.unknown_type, 200);
	reply_free(&r);
	ck_assert(app_log_has(&app, "type 200"));
	/* the same connection still serves */
	b.len = 0;
	request(&b, 1, FCGI_KEEP_CONN, GET, NULL);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && reply_has(&r, "role=1"));
	reply_free(&r);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(unknown_role)
{
	struct buf b = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	begin(&b, 1, 7, FCGI_KEEP_CONN);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	request(&b, 2, FCGI_KEEP_CONN, GET, NULL);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended);
	ck_assert_int_eq(r.end_id, 1);
	ck_assert_int_eq(r.protocol_status, FCGI_UNKNOWN_ROLE);
	reply_free(&r);
	ck_assert(app_log_has(&app, "unknown role 7"));
	reply_read(fd, &r, 0, 3000); /* the next request on the connection is served */
	ck_assert(r.ended && r.end_id == 2 && reply_has(&r, "role=1"));
	reply_free(&r);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(request_id_zero)
{
	struct buf b = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	begin(&b, 0, FCGI_RESPONDER, 0);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 1, 3000);
	ck_assert_int_eq(r.unknown_type, FCGI_BEGIN_REQUEST);
	ck_assert(app_log_has(&app, "for request 0 not understood"));
	reply_free(&r);
	buf_free(&b);
	close(fd);
	assert_serving();
}
END_TEST

static void expect_status(struct buf *b, const char *status, const char *log_text)
{
	struct reply r;
	int fd = peer_connect(&app);

	peer_send(fd, b->data, b->len);
	reply_read(fd, &r, 0, 3000);
	ck_assert_msg(r.ended, "no END_REQUEST");
	ck_assert_msg(reply_has(&r, status), "expected %s, got: %s", status, r.out.data);
	ck_assert_msg(app_log_has(&app, log_text), "no log line with \"%s\"", log_text);
	reply_free(&r);
	close(fd);
	assert_serving();
}

START_TEST(pair_overruns_stream)
{
	struct buf b = { 0 }, p = { 0 };

	begin(&b, 1, FCGI_RESPONDER, 0);
	pair(&p, "REQUEST_METHOD", "GET");
	buf_append(&p, "\x05\x09" "ab", 4); /* name 5, value 9, only 2 bytes follow */
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	expect_status(&b, "Status: 400", "overruns the PARAMS stream");
	buf_free(&p);
	buf_free(&b);
}
END_TEST

START_TEST(pair_length_0x7fffffff)
{
	struct buf b = { 0 };

	begin(&b, 1, FCGI_RESPONDER, 0);
	rec(&b, FCGI_PARAMS, 1, "\xff\xff\xff\xff\x01nv", 7);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	expect_status(&b, "Status: 400", "overruns the PARAMS stream");
	buf_free(&b);
}
END_TEST

START_TEST(truncated_record_then_close)
{
	struct buf b = { 0 };
	int fd = peer_connect(&app);

	begin(&b, 1, FCGI_RESPONDER, 0);
	peer_send(fd, b.data, 11); /* header and 3 of 8 body bytes */
	shutdown(fd, SHUT_WR);
	ck_assert(peer_closed(fd, 3000));
	ck_assert(app_log_has(&app, "mid-record"));
	close(fd);
	buf_free(&b);
	assert_serving();
}
END_TEST

START_TEST(truncated_record_stalls)
{
	struct buf b = { 0 };
	int fd = peer_connect(&app);

	begin(&b, 1, FCGI_RESPONDER, 0);
	peer_send(fd, b.data, 5);
	assert_serving(); /* a stalled peer blocks nobody */
	ck_assert(peer_closed(fd, 3000));
	ck_assert(app_log_has(&app, "read_timeout"));
	close(fd);
	buf_free(&b);
}
END_TEST

START_TEST(params_before_begin)
{
	struct buf b = { 0 }, p = { 0 };

	pair(&p, "REQUEST_METHOD", "GET");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	expect_close(&b, "never begun");
	buf_free(&p);
	buf_free(&b);
}
END_TEST

START_TEST(stdin_before_params_end)
{
	struct buf b = { 0 }, p = { 0 };

	begin(&b, 1, FCGI_RESPONDER, 0);
	pair(&p, "REQUEST_METHOD", "POST");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_STDIN, 1, "body", 4);
	expect_close(&b, "STDIN before the end of PARAMS");
	buf_free(&p);
	buf_free(&b);
}
END_TEST

START_TEST(begin_twice)
{
	struct buf b = { 0 };

	begin(&b, 1, FCGI_RESPONDER, 0);
	begin(&b, 1, FCGI_RESPONDER, 0);
	expect_close(&b, "still receiving");
	buf_free(&b);
}
END_TEST

START_TEST(begin_body_short)
{
	struct buf b = { 0 };

	rec(&b, FCGI_BEGIN_REQUEST, 1, "\x00\x01\x00", 3);
	expect_close(&b, "not 8 bytes");
	buf_free(&b);
}
END_TEST

START_TEST(oversized_params)
{
	struct buf b = { 0 }, p = { 0 };
	char big[3000];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	begin(&b, 1, FCGI_RESPONDER, 0);
	pair(&p, "HTTP_A", big);
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, p.data, p.len); /* 6 KB > max_params_bytes=4096 */
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	expect_status(&b, "Status: 431", "max_params_bytes=4096");
	buf_free(&p);
	buf_free(&b);
}
END_TEST

START_TEST(many_tiny_params)
{
	struct buf b = { 0 }, p = { 0 };

	begin(&b, 1, FCGI_RESPONDER, 0);
	for (int i = 0; i < 1000; i++)
		pair(&p, "a", ""); /* 3 bytes each: under the byte limit, over the count */
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	expect_status(&b, "Status: 431", "max_params=100");
	buf_free(&p);
	buf_free(&b);
}
END_TEST

START_TEST(oversized_body_by_content_length)
{
	struct buf b = { 0 };
	const char *const params[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=3000000", NULL };

	request(&b, 1, 0, params, "x");
	expect_status(&b, "Status: 413", "exceeds max_stdin_bytes");
	buf_free(&b);
}
END_TEST

/* CONTENT_LENGTH: absent, empty or -1 is a body of unknown length, streamed
 * to the handler (Caddy sends -1 for a chunked upload); any other value
 * that is not plain decimal digits is a 400, naming the value in the log. */
START_TEST(content_length_unknown_streams)
{
	static const char *const values[] = { NULL, "CONTENT_LENGTH=", "CONTENT_LENGTH=-1",
					      "CONTENT_LENGTH=11" };

	for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
		const char *const params[] = { "REQUEST_METHOD=POST", values[i], NULL };
		struct buf b = { 0 };
		struct reply r;
		int fd = peer_connect(&app);

		request(&b, 1, 0, params, "hello world");
		peer_send(fd, b.data, b.len);
		reply_read(fd, &r, 0, 3000);
		ck_assert_msg(r.ended && reply_has(&r, "body:\nhello world"),
			      "%s: body not streamed: %.*s", values[i] ? values[i] : "(absent)",
			      (int)r.out.len, r.out.data ? (char *)r.out.data : "");
		ck_assert_msg(!reply_has(&r, "Status: 4"), "%s: refused",
			      values[i] ? values[i] : "(absent)");
		reply_free(&r);
		buf_free(&b);
		close(fd);
	}
}
END_TEST

START_TEST(content_length_malformed)
{
	static const char *const bad[][2] = {
		{ "CONTENT_LENGTH=+5", "\"+5\" is not a decimal" },
		{ "CONTENT_LENGTH= 5", "\" 5\" is not a decimal" },
		{ "CONTENT_LENGTH=5x", "\"5x\" is not a decimal" },
		{ "CONTENT_LENGTH=-2", "\"-2\" is not a decimal" },
		{ "CONTENT_LENGTH=0x10", "\"0x10\" is not a decimal" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *const params[] = { "REQUEST_METHOD=POST", bad[i][0], NULL };
		struct buf b = { 0 };

		request(&b, 1, 0, params, "hello");
		expect_status(&b, "Status: 400", bad[i][1]);
		buf_free(&b);
	}
}
END_TEST

/* Digits past 2^64 - 1: a length, just too large for any limit. */
START_TEST(content_length_overflow)
{
	const char *const params[] = { "REQUEST_METHOD=POST",
				       "CONTENT_LENGTH=18446744073709551616", NULL };
	struct buf b = { 0 };

	request(&b, 1, 0, params, "x");
	expect_status(&b, "Status: 413", "18446744073709551616 exceeds max_stdin_bytes");
	buf_free(&b);
}
END_TEST

START_TEST(oversized_body_streamed)
{
	struct buf b = { 0 }, p = { 0 };
	static char chunk[60000];
	int fd = peer_connect(&app);
	struct reply r;

	memset(chunk, 'y', sizeof chunk);
	begin(&b, 1, FCGI_RESPONDER, 0);
	pair(&p, "REQUEST_METHOD", "POST");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	for (int i = 0; i < 40; i++) /* 2.4 MB > max_stdin_bytes, no CONTENT_LENGTH */
		rec(&b, FCGI_STDIN, 1, chunk, sizeof chunk);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	peer_send_async(fd, b.data, b.len); /* echo answers while we send */
	reply_read(fd, &r, 0, 5000);
	ck_assert(r.ended);
	/* Past read_ahead the handler streams; it sees -EFBIG and says so. */
	ck_assert_msg(app_log_has(&app, "max_stdin_bytes") ||
			      (r.err.data && memmem(r.err.data, r.err.len, "too large", 9)),
		      "no trace of the body limit");
	reply_free(&r);
	buf_free(&p);
	buf_free(&b);
	close(fd);
	assert_serving();
}
END_TEST

START_TEST(abort_before_run)
{
	struct buf b = { 0 }, p = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	begin(&b, 1, FCGI_RESPONDER, FCGI_KEEP_CONN);
	pair(&p, "REQUEST_METHOD", "POST");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, "part", 4); /* body not complete: not dispatched */
	rec(&b, FCGI_ABORT_REQUEST, 1, NULL, 0);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && r.end_id == 1);
	ck_assert_int_eq(r.protocol_status, FCGI_REQUEST_COMPLETE);
	ck_assert(!reply_has(&r, "role=1"));
	ck_assert(app_log_has(&app, "aborted by the peer before it ran"));
	reply_free(&r);
	/* leftovers of the aborted request are swallowed; the connection serves on */
	b.len = 0;
	rec(&b, FCGI_STDIN, 1, "more", 4);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	request(&b, 1, FCGI_KEEP_CONN, GET, NULL);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && reply_has(&r, "role=1"));
	reply_free(&r);
	buf_free(&p);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(abort_while_running)
{
	struct buf b = { 0 };
	struct reply r;
	const char *const params[] = { "REQUEST_METHOD=GET", "QUERY_STRING=size=500000000", NULL };
	int fd = peer_connect(&app);
	request(&b, 1, FCGI_KEEP_CONN, params, NULL);
	peer_send(fd, b.data, b.len);
	ck_assert(peer_read_some(fd, 3000) > 0); /* the handler is producing */
	b.len = 0;
	rec(&b, FCGI_ABORT_REQUEST, 1, NULL, 0);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 10000); /* drains what was buffered, then END_REQUEST */
	ck_assert(r.ended && r.end_id == 1);
	ck_assert(r.out.len < 100000000);
	ck_assert(app_log_has(&app, "aborted by the peer while running"));
	reply_free(&r);
	buf_free(&b);
	close(fd);
	assert_serving();
}
END_TEST

/* An abort that crosses the END_REQUEST on the wire: nothing is left to
 * abort, and the connection goes on serving (it used to be closed as a
 * record for a request never begun). */
START_TEST(abort_crosses_end_request)
{
	struct buf b = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	request(&b, 1, FCGI_KEEP_CONN, GET, NULL);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && r.end_id == 1 && reply_has(&r, "role=1"));
	reply_free(&r);
	b.len = 0;
	rec(&b, FCGI_ABORT_REQUEST, 1, NULL, 0); /* sent before END_REQUEST was read */
	request(&b, 1, FCGI_KEEP_CONN, GET, NULL);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert_msg(r.ended && r.end_id == 1 && reply_has(&r, "role=1"),
		      "the connection did not serve on after a late abort");
	ck_assert(!r.closed);
	reply_free(&r);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(peer_closes_mid_response)
{
	struct buf b = { 0 };
	const char *const params[] = { "REQUEST_METHOD=GET", "QUERY_STRING=size=500000000", NULL };
	int fd = peer_connect(&app);
	char tmp[65536];

	request(&b, 1, 0, params, NULL);
	peer_send(fd, b.data, b.len);
	ck_assert(recv(fd, tmp, sizeof tmp, 0) > 0);
	close(fd);
	ck_assert(app_log_has(&app, "hung up") || app_log_has(&app, "went away"));
	buf_free(&b);
	assert_serving();
}
END_TEST

START_TEST(half_close_after_request)
{
	struct buf b = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	request(&b, 1, FCGI_KEEP_CONN, GET, "x");
	peer_send(fd, b.data, b.len);
	shutdown(fd, SHUT_WR);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && reply_has(&r, "role=1"));
	ck_assert(peer_closed(fd, 3000)); /* nothing more can come: the app closes */
	reply_free(&r);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(keep_conn_pipelined)
{
	struct buf b = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	for (int i = 0; i < 5; i++)
		request(&b, 1, FCGI_KEEP_CONN, GET, "abc");
	peer_send(fd, b.data, b.len); /* five requests back to back in one write */
	for (int i = 0; i < 5; i++) {
		reply_read(fd, &r, 0, 3000);
		ck_assert_msg(r.ended && reply_has(&r, "body:\nabc"), "reply %d", i);
		ck_assert_int_eq(r.stdout_ends, 1);
		reply_free(&r);
	}
	ck_assert(!peer_closed(fd, 100)); /* FCGI_KEEP_CONN: stays open */
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(no_keep_conn_closes)
{
	struct buf b = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	request(&b, 1, 0, GET, NULL);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended);
	ck_assert(peer_closed(fd, 3000));
	reply_free(&r);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(cant_mpx_conn)
{
	struct buf b = { 0 }, p = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	begin(&b, 1, FCGI_RESPONDER, FCGI_KEEP_CONN);
	pair(&p, "REQUEST_METHOD", "GET");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	request(&b, 2, FCGI_KEEP_CONN, GET, NULL); /* second request while 1 is open */
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && r.end_id == 2);
	ck_assert_int_eq(r.protocol_status, FCGI_CANT_MPX_CONN);
	ck_assert(app_log_has(&app, "CANT_MPX_CONN"));
	reply_free(&r);
	b.len = 0;
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && r.end_id == 1 && reply_has(&r, "role=1"));
	reply_free(&r);
	buf_free(&p);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(get_values)
{
	struct buf b = { 0 }, p = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	pair(&p, "FCGI_MAX_CONNS", "");
	pair(&p, "FCGI_MPXS_CONNS", "");
	pair(&p, "FCGI_MAX_REQS", "");
	pair(&p, "NOT_A_VARIABLE", "");
	rec(&b, FCGI_GET_VALUES, 0, p.data, p.len);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 1, 3000);
	ck_assert_int_gt(r.values.len, 0);
	buf_free(&p);
	/* expected: the real limits, in the order asked, unknown names left out */
	pair(&p, "FCGI_MAX_CONNS", "1024");
	pair(&p, "FCGI_MPXS_CONNS", "0");
	pair(&p, "FCGI_MAX_REQS", "1024");
	ck_assert_int_eq(r.values.len, p.len);
	ck_assert(memcmp(r.values.data, p.data, p.len) == 0);
	reply_free(&r);
	buf_free(&p);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(authorizer_role)
{
	struct buf b = { 0 }, p = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	begin(&b, 1, FCGI_AUTHORIZER, 0);
	pair(&p, "DENY", "1");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	peer_send(fd, b.data, b.len); /* no STDIN: an authorizer gets none */
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && reply_has(&r, "Status: 403"));
	ck_assert(reply_has(&r, "Variable-AUTH_CHECKED: yes"));
	reply_free(&r);
	buf_free(&p);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(filter_role)
{
	struct buf b = { 0 }, p = { 0 };
	struct reply r;
	int fd = peer_connect(&app);

	begin(&b, 1, FCGI_FILTER, 0);
	pair(&p, "FCGI_DATA_LENGTH", "11");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, "ignored", 7);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	rec(&b, FCGI_DATA, 1, "hello ", 6);
	rec(&b, FCGI_DATA, 1, "world", 5);
	rec(&b, FCGI_DATA, 1, NULL, 0);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && reply_has(&r, "\r\n\r\nHELLO WORLD"));
	reply_free(&r);
	buf_free(&p);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(data_for_responder)
{
	struct buf b = { 0 };

	begin(&b, 1, FCGI_RESPONDER, 0);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_DATA, 1, "x", 1);
	expect_close(&b, "role is not Filter");
	buf_free(&b);
}
END_TEST

START_TEST(stderr_stream)
{
	struct buf b = { 0 };
	struct reply r;
	const char *const params[] = { "REQUEST_METHOD=GET", "QUERY_STRING=stderr=1", NULL };
	int fd = peer_connect(&app);

	request(&b, 1, 0, params, NULL);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 3000);
	ck_assert(r.ended && r.err.len > 0);
	ck_assert(memmem(r.err.data, r.err.len, "stderr line requested", 21));
	reply_free(&r);
	buf_free(&b);
	close(fd);
}
END_TEST

/*
 * A record that needs an answer (here an unknown type) behind a body that
 * fills read_ahead: it is parsed when the handler's read resumes the
 * connection, while echo's output record is open. The UNKNOWN_TYPE record
 * must come whole, not inside that STDOUT record.
 */
START_TEST(answer_while_handler_writes)
{
	struct buf b = { 0 }, p = { 0 }, want = { 0 };
	static char chunk[40000];
	struct reply r;
	int fd = peer_connect(&app);

	memset(chunk, 'k', sizeof chunk);
	begin(&b, 1, FCGI_RESPONDER, 0);
	pair(&p, "REQUEST_METHOD", "POST");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	rec(&b, FCGI_STDIN, 1, chunk, sizeof chunk);
	rec(&b, FCGI_STDIN, 1, chunk, sizeof chunk); /* past read_ahead (64 KiB): dispatched */
	rec(&b, FCGI_STDIN, 1, chunk, 100);          /* waits: the body buffer is full */
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	rec(&b, 42, 1, "x", 1);
	peer_send(fd, b.data, b.len);
	reply_read(fd, &r, 0, 5000);
	ck_assert(r.ended);
	ck_assert_msg(r.unknown_type == 42, "no UNKNOWN_TYPE record");
	buf_append(&want, "body:\n", 6);
	buf_append(&want, chunk, sizeof chunk);
	buf_append(&want, chunk, sizeof chunk);
	buf_append(&want, chunk, 100);
	ck_assert_uint_ge(r.out.len, want.len);
	ck_assert_msg(!memcmp(r.out.data + r.out.len - want.len, want.data, want.len),
		      "STDOUT is not the echoed body");
	reply_free(&r);
	buf_free(&want);
	buf_free(&p);
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(large_body_streams)
{
	struct buf b = { 0 }, p = { 0 };
	static char chunk[65535];
	struct reply r;
	int fd = peer_connect(&app);
	size_t total = 0;

	for (size_t i = 0; i < sizeof chunk; i++)
		chunk[i] = (char)('A' + i % 26);
	begin(&b, 1, FCGI_RESPONDER, 0);
	pair(&p, "REQUEST_METHOD", "POST");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	for (int i = 0; i < 25; i++, total += sizeof chunk) /* 1.6 MB >> read_ahead */
		rec(&b, FCGI_STDIN, 1, chunk, sizeof chunk);
	rec(&b, FCGI_STDIN, 1, NULL, 0);
	peer_send_async(fd, b.data, b.len);
	reply_read(fd, &r, 0, 10000);
	ck_assert(r.ended);
	ck_assert(reply_has(&r, "body:\nABCDEF"));
	ck_assert_uint_ge(r.out.len, total);
	reply_free(&r);
	buf_free(&p);
	buf_free(&b);
	close(fd);
}
END_TEST

/* request_memory small, so that a held stream spills after 64 KiB. */
static const char *const SPILLING[] = {
	"--set", "read_timeout=2", "--set", "max_stdin_bytes=2000000",
	"--set", "request_memory=65536", NULL,
};

static void setup_spill(void)
{
	app_start(&app, "SFCGI_TEST_ECHO", SPILLING);
	app_log_mark(&app);
}

/* Bytes no shift or repeat of a 64 KiB block leaves unchanged. */
static char pattern(size_t i)
{
	return (char)('a' + (i * 7 + i / 65536) % 26);
}

/*
 * echo writes as it reads, so its output waits for the whole input and
 * the held stream goes past request_memory to the spill file: what comes
 * back is the whole stream, in order (memory first, then the file). The
 * Filter role's DATA stream (and STDIN before it) as well as a Responder's
 * body, each several times request_memory; twice on one kept connection,
 * so the second request finds the files truncated and starts over.
 */
static void spill_round_trip(int fd, uint16_t role, size_t size)
{
	struct buf b = { 0 }, p = { 0 };
	static char chunk[65535];
	struct reply r;
	size_t sent = 0;
	const char *at;

	begin(&b, 1, role, FCGI_KEEP_CONN);
	pair(&p, "REQUEST_METHOD", "POST");
	rec(&b, FCGI_PARAMS, 1, p.data, p.len);
	rec(&b, FCGI_PARAMS, 1, NULL, 0);
	if (role == FCGI_FILTER) {
		rec(&b, FCGI_STDIN, 1, "ignored", 7);
		rec(&b, FCGI_STDIN, 1, NULL, 0);
	}
	for (; sent < size; sent += sizeof chunk) {
		size_t n = size - sent < sizeof chunk ? size - sent : sizeof chunk;

		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern(sent + i);
		rec(&b, role == FCGI_FILTER ? FCGI_DATA : FCGI_STDIN, 1, chunk, n);
	}
	rec(&b, role == FCGI_FILTER ? FCGI_DATA : FCGI_STDIN, 1, NULL, 0);
	peer_send_async(fd, b.data, b.len);
	reply_read(fd, &r, 0, 10000);
	ck_assert(r.ended);
	at = role == FCGI_FILTER ? memmem(r.out.data, r.out.len, "\r\n\r\n", 4)
				 : memmem(r.out.data, r.out.len, "body:\n", 6);
	ck_assert_ptr_nonnull(at);
	at += 4 + (role != FCGI_FILTER) * 2;
	ck_assert_uint_eq((size_t)((const char *)r.out.data + r.out.len - at), size);
	for (size_t i = 0; i < size; i++) {
		char want = pattern(i);

		if (role == FCGI_FILTER)
			want = (char)(want - 'a' + 'A');
		ck_assert_msg(at[i] == want, "byte %zu of %zu is %c, not %c", i, size, at[i], want);
	}
	reply_free(&r);
	buf_free(&p);
	buf_free(&b);
}

START_TEST(held_streams_spill_in_order)
{
	int fd = peer_connect(&app);

	spill_round_trip(fd, FCGI_FILTER, 1900000);
	spill_round_trip(fd, FCGI_RESPONDER, 1900000);
	spill_round_trip(fd, FCGI_RESPONDER, 700000);
	close(fd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("protocol");
	TCase *t = tcase_create("malformed");
	TCase *ok = tcase_create("behaviour");
	TCase *sp = tcase_create("spill");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_checked_fixture(ok, setup, teardown);
	tcase_add_checked_fixture(sp, setup_spill, teardown);
	tcase_set_timeout(sp, 30);
	tcase_add_test(sp, held_streams_spill_in_order);
	suite_add_tcase(s, sp);
	tcase_set_timeout(t, 30);
	tcase_set_timeout(ok, 30);
	tcase_add_test(t, bad_version);
	tcase_add_test(t, bad_version_after_request);
	tcase_add_test(t, unknown_type_answered);
	tcase_add_test(t, unknown_role);
	tcase_add_test(t, request_id_zero);
	tcase_add_test(t, pair_overruns_stream);
	tcase_add_test(t, pair_length_0x7fffffff);
	tcase_add_test(t, truncated_record_then_close);
	tcase_add_test(t, truncated_record_stalls);
	tcase_add_test(t, params_before_begin);
	tcase_add_test(t, stdin_before_params_end);
	tcase_add_test(t, begin_twice);
	tcase_add_test(t, begin_body_short);
	tcase_add_test(t, oversized_params);
	tcase_add_test(t, many_tiny_params);
	tcase_add_test(t, oversized_body_by_content_length);
	tcase_add_test(t, oversized_body_streamed);
	tcase_add_test(t, content_length_malformed);
	tcase_add_test(t, content_length_overflow);
	tcase_add_test(t, abort_before_run);
	tcase_add_test(t, abort_while_running);
	tcase_add_test(t, abort_crosses_end_request);
	tcase_add_test(t, peer_closes_mid_response);
	tcase_add_test(t, half_close_after_request);
	tcase_add_test(t, data_for_responder);
	tcase_add_test(ok, keep_conn_pipelined);
	tcase_add_test(ok, no_keep_conn_closes);
	tcase_add_test(ok, cant_mpx_conn);
	tcase_add_test(ok, get_values);
	tcase_add_test(ok, authorizer_role);
	tcase_add_test(ok, filter_role);
	tcase_add_test(ok, stderr_stream);
	tcase_add_test(ok, large_body_streams);
	tcase_add_test(ok, content_length_unknown_streams);
	tcase_add_test(ok, answer_while_handler_writes);
	suite_add_tcase(s, t);
	suite_add_tcase(s, ok);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
