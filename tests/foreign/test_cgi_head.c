/* SPDX-License-Identifier: MIT */
/* sfcgi-cgi's CGI header-block check (src/cgi/head.c), table-driven. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cgi.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *in;   /* the block without its blank line */
	const char *want; /* rewritten, or NULL if refused */
} rows[] = {
	{ "Content-Type: text/plain", "Content-Type: text/plain\r\n\r\n" },
	{ "Content-type:text/html\r\nX-A:  b  ", "Content-type: text/html\r\nX-A: b\r\n\r\n" },
	{ "Status: 404 Not Found\nContent-Type: text/plain",
	  "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n" },
	{ "Status: 302", "Status: 302\r\n\r\n" },
	{ "Location: /elsewhere", "Location: /elsewhere\r\n\r\n" },
	{ "location: http://example.com/", "location: http://example.com/\r\n\r\n" },
	{ "Set-Cookie: a=b; Path=/\nContent-Type: x", "Set-Cookie: a=b; Path=/\r\nContent-Type: x\r\n\r\n" },
	{ "", NULL },                                   /* nothing */
	{ "X-Only: 1", NULL },                          /* none of the three */
	{ "this is not a header", NULL },
	{ ": no name", NULL },
	{ "Bad Name: x\nContent-Type: x", NULL },       /* space in a name */
	{ "Content-Type: x\n folded", NULL },           /* obsolete folding */
	{ "Content-Type: a\x01b", NULL },               /* control character */
	{ "Content-Type: a\x7f", NULL },
	{ "Status: 20", NULL },
	{ "Status: abc", NULL },
	{ "Status: 099 x", NULL },
	{ "Status: 2000", NULL },
	{ "Content-Type: x\n\nbody", NULL },            /* an empty line inside */
};

START_TEST(table)
{
	char out[256];
	const char *why = NULL;
	long k = cgi_head_check(rows[_i].in, strlen(rows[_i].in), out, sizeof out, &why);

	if (!rows[_i].want) {
		ck_assert_msg(k == -1 && why, "row %d accepted", _i);
		return;
	}
	ck_assert_msg(k >= 0, "row %d refused: %s", _i, why);
	ck_assert_int_eq(k, (long)strlen(rows[_i].want));
	ck_assert_mem_eq(out, rows[_i].want, (size_t)k);
}
END_TEST

START_TEST(too_large)
{
	char out[32];
	const char *why = NULL;
	const char *in = "Content-Type: text/plain; charset=utf-8";

	ck_assert_int_eq(cgi_head_check(in, strlen(in), out, sizeof out, &why), -1);
	ck_assert_str_eq(why, "a header block too large");
}
END_TEST

START_TEST(head_end)
{
	ck_assert_uint_eq(cgi_head_end("A: b\n\nbody", 10), 6);
	ck_assert_uint_eq(cgi_head_end("A: b\r\n\r\nbody", 12), 8);
	ck_assert_uint_eq(cgi_head_end("A: b\n\r\nbody", 11), 7);
	ck_assert_uint_eq(cgi_head_end("A: b\r\n", 6), 0);
	ck_assert_uint_eq(cgi_head_end("A: b\r\n\r", 7), 0);
	ck_assert_uint_eq(cgi_head_end("", 0), 0);
}
END_TEST

START_TEST(env_names)
{
	ck_assert(cgi_env_name_ok("HTTP_HOST", 9));
	ck_assert(cgi_env_name_ok("_x1", 3));
	ck_assert(!cgi_env_name_ok("1X", 2));
	ck_assert(!cgi_env_name_ok("A-B", 3));
	ck_assert(!cgi_env_name_ok("A=B", 3));
	ck_assert(!cgi_env_name_ok("", 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cgi-head");
	TCase *tc = tcase_create("head");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, table, 0, (int)ARRAY_SIZE(rows));
	tcase_add_test(tc, too_large);
	tcase_add_test(tc, head_end);
	tcase_add_test(tc, env_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
