/* SPDX-License-Identifier: MIT */
/*
 * Check suite for src/ids.c: the $SFCGI_IDS hint `sfcgi run` hands to the
 * program it executes. The parser on tables of good and malformed texts
 * (duplicates, separators, ids out of range), the formatter leaving out
 * names the format cannot carry, and the lookups: a name in the hint is
 * answered from it (a name NSS does not know proves it), a malformed hint
 * is ignored and unset, `sfcgi run`'s recording exports what NSS said.
 */
#include "ids.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NO_SUCH "sfcgi-test-no-such-name" /* neither a user nor a group here */

static const struct {
	const char *in;
	size_t n;
	char kind0;
	const char *name0;
	uint32_t uid0, gid0;
} good[] = {
	{ "", 0, 0, NULL, 0, 0 },
	{ "u:nobody:65534:65534", 1, 'u', "nobody", 65534, 65534 },
	{ "g:www-data:33", 1, 'g', "www-data", 0, 33 },
	{ "u:root:0:0,g:root:0", 2, 'u', "root", 0, 0 },       /* a user and a group of one name */
	{ "u:a:4294967294:4294967294", 1, 'u', "a", 4294967294u, 4294967294u },
	{ "u:DOMAIN\\user name=x;y:10:20", 1, 'u', "DOMAIN\\user name=x;y", 10, 20 },
	{ "g:\xc3\xa9quipe:7,u:b:1:2,g:c:3", 3, 'g', "\xc3\xa9quipe", 0, 7 },
};

START_TEST(parse_good)
{
	struct ids_table t = { 0 };
	char why[160] = "";

	ck_assert_msg(ids_parse(good[_i].in, &t, why, sizeof why) == 0, "%s: %s", good[_i].in, why);
	ck_assert_uint_eq(t.n, good[_i].n);
	if (t.n) {
		ck_assert_int_eq(t.v[0].kind, good[_i].kind0);
		ck_assert_str_eq(t.v[0].name, good[_i].name0);
		if (t.v[0].kind == 'u')
			ck_assert_uint_eq(t.v[0].uid, good[_i].uid0);
		ck_assert_uint_eq(t.v[0].gid, good[_i].gid0);
	}
	ids_table_free(&t);
}
END_TEST

static const struct {
	const char *in, *why;
} bad[] = {
	{ ",", "an entry starts with \"u:\" or \"g:\" at byte 0" },
	{ "x:a:1", "an entry starts with \"u:\" or \"g:\" at byte 0" },
	{ "U:a:1:1", "an entry starts with \"u:\" or \"g:\" at byte 0" },
	{ "u", "an entry starts with \"u:\" or \"g:\" at byte 0" },
	{ "u::1:1", "expected NAME: (1 to 256 bytes, no ',' or ':') at byte 0" },
	{ "u:a", "expected NAME: (1 to 256 bytes, no ',' or ':') at byte 0" },
	{ "u:a,b:1:1", "expected NAME: (1 to 256 bytes, no ',' or ':') at byte 0" },
	{ "u:a:1", "expected u:NAME:UID:GID at byte 0" },
	{ "u:a:1:", "expected u:NAME:UID:GID at byte 0" },
	{ "u:a:1,2", "expected u:NAME:UID:GID at byte 0" },
	{ "u:a::1", "expected u:NAME:UID:GID at byte 0" },
	{ "u:a:-1:1", "expected u:NAME:UID:GID at byte 0" },
	{ "u:a:+1:1", "expected u:NAME:UID:GID at byte 0" },
	{ "u:a:01:1", "expected u:NAME:UID:GID at byte 0" },
	{ "u:a:1:00", "expected u:NAME:UID:GID at byte 0" },
	{ "u:a:4294967295:1", "expected u:NAME:UID:GID at byte 0" },  /* (uid_t)-1 */
	{ "u:a:99999999999999999999:1", "expected u:NAME:UID:GID at byte 0" },
	{ "g:a:1:2", "expected ',' or the end after an entry at byte 0" },
	{ "g:a", "expected NAME: (1 to 256 bytes, no ',' or ':') at byte 0" },
	{ "g:a:", "expected g:NAME:GID at byte 0" },
	{ "g:a:x", "expected g:NAME:GID at byte 0" },
	{ "u:a:1:1x", "expected ',' or the end after an entry at byte 0" },
	{ "u:a:1:1 ", "expected ',' or the end after an entry at byte 0" },
	{ "u:a:1:1;g:b:2", "expected ',' or the end after an entry at byte 0" },
	{ "u:a:1:1,", "a ',' ends it at byte 8" },
	{ "u:a:1:1,,g:b:2", "an entry starts with \"u:\" or \"g:\" at byte 8" },
	{ "g:b:2, u:a:1:1", "an entry starts with \"u:\" or \"g:\" at byte 6" },
	{ "u:a:1:1,u:a:2:2", "user a appears twice at byte 8" },
	{ "u:a:1:1,u:a:1:1", "user a appears twice at byte 8" },     /* even with the same ids */
	{ "g:a:1,u:b:1:1,g:a:1", "group a appears twice at byte 14" },
};

START_TEST(parse_bad)
{
	struct ids_table t = { .n = 99 };
	char why[160] = "";

	ck_assert_int_eq(ids_parse(bad[_i].in, &t, why, sizeof why), -EINVAL);
	ck_assert_str_eq(why, bad[_i].why);
	ck_assert_uint_eq(t.n, 99); /* untouched */
}
END_TEST

/* A name of IDS_NAME_MAX bytes is one; one more is too long. IDS_MAX
 * entries are a hint; one more is malformed. */
START_TEST(parse_limits)
{
	char name[IDS_NAME_MAX + 2], text[IDS_NAME_MAX + 16], why[160];
	size_t cap = (IDS_MAX + 1) * 16, len = 0;
	char *many = malloc(cap);
	struct ids_table t;

	memset(name, 'n', sizeof name);
	name[IDS_NAME_MAX] = 0;
	snprintf(text, sizeof text, "g:%s:1", name);
	ck_assert_int_eq(ids_parse(text, &t, why, sizeof why), 0);
	ck_assert_uint_eq(strlen(t.v[0].name), IDS_NAME_MAX);
	ids_table_free(&t);
	name[IDS_NAME_MAX] = 'n';
	name[IDS_NAME_MAX + 1] = 0;
	snprintf(text, sizeof text, "g:%s:1", name);
	ck_assert_int_eq(ids_parse(text, &t, why, sizeof why), -EINVAL);

	ck_assert_ptr_nonnull(many);
	for (int i = 0; i < IDS_MAX; i++)
		len += (size_t)snprintf(many + len, cap - len, "%sg:g%d:%d", i ? "," : "", i, i);
	ck_assert_int_eq(ids_parse(many, &t, why, sizeof why), 0);
	ck_assert_uint_eq(t.n, IDS_MAX);
	ck_assert_uint_eq(t.v[IDS_MAX - 1].gid, IDS_MAX - 1);
	ids_table_free(&t);
	snprintf(many + len, cap - len, ",g:one-more:1");
	ck_assert_int_eq(ids_parse(many, &t, why, sizeof why), -EINVAL);
	ck_assert_msg(strstr(why, "more than 256 entries"), "%s", why);
	free(many);
}
END_TEST

/* Separators in a name: not a name the hint carries, so not formatted. */
START_TEST(separators)
{
	struct ids_entry v[] = {
		{ .kind = 'u', .name = "a:b", .uid = 1, .gid = 1 },
		{ .kind = 'u', .name = "nobody", .uid = 65534, .gid = 65534 },
		{ .kind = 'g', .name = "c,d", .gid = 2 },
		{ .kind = 'g', .name = "", .gid = 3 },
		{ .kind = 'g', .name = "www data", .gid = 33 },
	};
	struct ids_table t = { .v = v, .n = ARRAY_SIZE(v) }, back;
	char *s = NULL, why[160];

	ck_assert(!ids_name_ok("a:b"));
	ck_assert(!ids_name_ok("c,d"));
	ck_assert(!ids_name_ok(""));
	ck_assert(ids_name_ok("www data"));
	ck_assert_int_eq(ids_format(&t, &s), 0);
	ck_assert_str_eq(s, "u:nobody:65534:65534,g:www data:33");
	ck_assert_int_eq(ids_parse(s, &back, why, sizeof why), 0);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_str_eq(back.v[1].name, "www data");
	ck_assert_uint_eq(back.v[1].gid, 33);
	ids_table_free(&back);
	free(s);
}
END_TEST

/* The app: names in the hint are answered from it, the variable is gone. */
START_TEST(hint_used)
{
	uid_t uid = 7;
	gid_t gid = 7;

	setenv(IDS_ENV, "u:" NO_SUCH ":1234:5678,g:" NO_SUCH ":91011,u:root:4321:8765", 1);
	ids_take_hint();
	ck_assert_ptr_null(getenv(IDS_ENV));
	ck_assert_int_eq(ids_user(NO_SUCH, &uid, &gid), 0);
	ck_assert_uint_eq(uid, 1234);
	ck_assert_uint_eq(gid, 5678);
	ck_assert_int_eq(ids_group(NO_SUCH, &gid), 0);
	ck_assert_uint_eq(gid, 91011);
	ck_assert_int_eq(ids_user("root", &uid, &gid), 0); /* the hint before NSS */
	ck_assert_uint_eq(uid, 4321);
	ck_assert_int_eq(ids_group("root", &gid), 0);     /* not in it: NSS */
	ck_assert_uint_eq(gid, 0);
	ids_drop_hint(); /* after the config: NSS answers again */
	uid = gid = 7;
	ck_assert_int_eq(ids_user(NO_SUCH, &uid, &gid), -ENOENT);
	ck_assert_uint_eq(uid, 7); /* untouched */
	ck_assert_int_eq(ids_user("root", &uid, &gid), 0);
	ck_assert_uint_eq(uid, 0);
}
END_TEST

/* A malformed hint: none of it is believed, and it is unset too. */
START_TEST(hint_malformed)
{
	uid_t uid = 7;
	gid_t gid = 7;

	setenv(IDS_ENV, "u:" NO_SUCH ":1234:5678,u:root:4321:8765,", 1);
	ids_take_hint();
	ck_assert_ptr_null(getenv(IDS_ENV));
	ck_assert_int_eq(ids_user(NO_SUCH, &uid, &gid), -ENOENT);
	ck_assert_int_eq(ids_user("root", &uid, &gid), 0);
	ck_assert_uint_eq(uid, 0);
}
END_TEST

/* `sfcgi run`: the answers NSS gave, once each, exported; a hint in its own
 * environment is neither believed nor passed on. */
START_TEST(record_export)
{
	uid_t uid;
	gid_t gid;

	setenv(IDS_ENV, "u:" NO_SUCH ":1:1", 1);
	ids_record();
	ck_assert_ptr_null(getenv(IDS_ENV));
	ck_assert_int_eq(ids_user(NO_SUCH, &uid, &gid), -ENOENT);
	ck_assert_int_eq(ids_user("root", &uid, &gid), 0);
	ck_assert_int_eq(ids_group("root", &gid), 0);
	ck_assert_int_eq(ids_user("root", &uid, &gid), 0);
	ck_assert_int_eq(ids_export(), 0);
	ck_assert_str_eq(getenv(IDS_ENV), "u:root:0:0,g:root:0");
	ids_record(); /* nothing resolved: no variable */
	ck_assert_int_eq(ids_export(), 0);
	ck_assert_ptr_null(getenv(IDS_ENV));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ids");
	TCase *tc = tcase_create("ids");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, parse_good, 0, ARRAY_SIZE(good));
	tcase_add_loop_test(tc, parse_bad, 0, ARRAY_SIZE(bad));
	tcase_add_test(tc, parse_limits);
	tcase_add_test(tc, separators);
	tcase_add_test(tc, hint_used);
	tcase_add_test(tc, hint_malformed);
	tcase_add_test(tc, record_export);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
