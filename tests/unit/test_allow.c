/* SPDX-License-Identifier: MIT */
/*
 * Check suite for src/allow.c (allow_from, allow_peers, FCGI_WEB_SERVER_ADDRS)
 * and src/allowlog.c (refusals in the log, once per peer a minute): the
 * parser on tables of good and bad entries with the exact reason, the
 * matcher on addresses at each edge of a prefix, IPv4 peers on dual-stack
 * sockets, and the log table with the clock given.
 */
#include "allow.h"
#include "allowlog.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *in, *canonical;
} good[] = {
	{ "10.0.0.5", "10.0.0.5" },
	{ "10.0.0.5/32", "10.0.0.5" },
	{ "10.0.1.0/24", "10.0.1.0/24" },
	{ "0.0.0.0/0", "0.0.0.0/0" },
	{ "fd00::/64", "fd00::/64" },
	{ "::1", "::1" },
	{ "::/0", "::/0" },
	{ "2001:db8::/32", "2001:db8::/32" },
	{ "::ffff:10.0.0.5", "10.0.0.5" },       /* mapped: the same entry as IPv4 */
	{ "::ffff:10.9.0.0/112", "10.9.0.0/16" },
	{ "255.255.255.254/31", "255.255.255.254/31" },
};

START_TEST(parse_good)
{
	struct allow_net n;
	char why[160] = "", text[ALLOW_TEXT];

	ck_assert_msg(allow_parse_net(good[_i].in, &n, why, sizeof why) == 0, "%s: %s",
		      good[_i].in, why);
	allow_net_text(&n, text, sizeof text);
	ck_assert_str_eq(text, good[_i].canonical);
}
END_TEST

static const struct {
	const char *in, *why;
} bad[] = {
	{ "", "is not an IPv4 or IPv6 address (or network in CIDR notation)" },
	{ "/24", "is not an IPv4 or IPv6 address (or network in CIDR notation)" },
	{ "10.0.0", "is not an IPv4 or IPv6 address (or network in CIDR notation such as "
		    "10.0.1.0/24 or fd00::/64)" },
	{ "010.0.0.1", "is not an IPv4 or IPv6 address (or network in CIDR notation such as "
		       "10.0.1.0/24 or fd00::/64)" },
	{ "10.0.0.256", "is not an IPv4 or IPv6 address (or network in CIDR notation such as "
			"10.0.1.0/24 or fd00::/64)" },
	{ "fe80::1%eth0", "is not an IPv4 or IPv6 address (or network in CIDR notation such as "
			  "10.0.1.0/24 or fd00::/64)" },
	{ "localhost", "is not an IPv4 or IPv6 address (or network in CIDR notation such as "
		       "10.0.1.0/24 or fd00::/64)" },
	{ " 10.0.0.1", "is not an IPv4 or IPv6 address (or network in CIDR notation such as "
		       "10.0.1.0/24 or fd00::/64)" },
	{ "10.0.0.1/", "has no prefix length 0..32 after '/'" },
	{ "10.0.0.1/33", "has no prefix length 0..32 after '/'" },
	{ "10.0.0.1/-1", "has no prefix length 0..32 after '/'" },
	{ "10.0.0.1/+8", "has no prefix length 0..32 after '/'" },
	{ "10.0.0.0/08", "has no prefix length 0..32 after '/'" },
	{ "10.0.0.1/24 ", "has no prefix length 0..32 after '/'" },
	{ "10.0.0.0/8/8", "has no prefix length 0..32 after '/'" },
	{ "fd00::/129", "has no prefix length 0..128 after '/'" },
	{ "10.0.1.5/24", "has host bits set past its prefix (the network is 10.0.1.0/24)" },
	{ "10.0.0.1/0", "has host bits set past its prefix (the network is 0.0.0.0/0)" },
	{ "fd00::1/64", "has host bits set past its prefix (the network is fd00::/64)" },
	{ "fd00:0:0:1::/63", "has host bits set past its prefix (the network is fd00::/63)" },
};

START_TEST(parse_bad)
{
	struct allow_net n = { .bits = 77 };
	char why[160] = "";

	ck_assert_int_eq(allow_parse_net(bad[_i].in, &n, why, sizeof why), -EINVAL);
	ck_assert_str_eq(why, bad[_i].why);
	ck_assert_uint_eq(n.bits, 77); /* untouched on failure */
}
END_TEST

static void a16(const char *text, uint8_t a[16])
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, text, &sin.sin_addr) == 1)
		ck_assert(allow_addr16((struct sockaddr *)&sin, sizeof sin, a));
	else if (inet_pton(AF_INET6, text, &sin6.sin6_addr) == 1)
		ck_assert(allow_addr16((struct sockaddr *)&sin6, sizeof sin6, a));
	else
		ck_abort_msg("bad test address %s", text);
}

static const struct {
	const char *net, *addr;
	bool match;
} matches[] = {
	{ "10.0.1.0/24", "10.0.1.0", true },
	{ "10.0.1.0/24", "10.0.1.255", true },
	{ "10.0.1.0/24", "10.0.0.255", false },
	{ "10.0.1.0/24", "10.0.2.0", false },
	{ "10.0.1.0/24", "::ffff:10.0.1.7", true }, /* a dual-stack socket's IPv4 peer */
	{ "::ffff:10.0.1.0/120", "10.0.1.7", true },
	{ "10.0.0.5", "10.0.0.5", true },
	{ "10.0.0.5", "10.0.0.4", false },
	{ "10.0.0.5", "10.0.0.6", false },
	{ "10.128.0.0/9", "10.127.255.255", false },
	{ "10.128.0.0/9", "10.128.0.0", true },
	{ "10.128.0.0/9", "10.255.255.255", true },
	{ "10.0.0.0/13", "10.7.255.255", true },
	{ "10.0.0.0/13", "10.8.0.0", false },
	{ "0.0.0.0/0", "192.0.2.1", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "192.0.2.1", true }, /* every address, IPv4 as mapped too */
	{ "fd00::/64", "fd00::1", true },
	{ "fd00::/64", "fd00::ffff:ffff:ffff:ffff", true },
	{ "fd00::/64", "fd00:0:0:1::", false },
	{ "fd00::/64", "10.0.0.1", false },
	{ "::1", "::1", true },
	{ "::1", "127.0.0.1", false }, /* loopback in IPv6 is not IPv4's */
	{ "127.0.0.1", "::1", false },
	{ "2001:db8::/33", "2001:db8:7fff::1", true },
	{ "2001:db8::/33", "2001:db8:8000::", false },
};

START_TEST(match)
{
	struct allow_net n;
	uint8_t a[16];
	char why[160];

	ck_assert_int_eq(allow_parse_net(matches[_i].net, &n, why, sizeof why), 0);
	a16(matches[_i].addr, a);
	ck_assert_msg(allow_net_match(&n, a) == matches[_i].match, "%s in %s: expected %d",
		      matches[_i].addr, matches[_i].net, matches[_i].match);
}
END_TEST

START_TEST(lists)
{
	struct allowlist l = { 0 };
	struct allow_net n;
	uint8_t a[16];
	char badent[64], why[160];

	a16("192.0.2.1", a);
	ck_assert(allow_from(&l, a)); /* nothing set: anyone */
	ck_assert(allow_from(NULL, a));
	ck_assert_int_eq(allow_parse_net("10.0.1.0/24", &n, why, sizeof why), 0);
	ck_assert_int_eq(allow_add_net(&l, &n), 0);
	ck_assert(!allow_from(&l, a));
	/* FCGI_WEB_SERVER_ADDRS joins: commas or spaces, a bad entry said, the rest kept */
	ck_assert_int_eq(allow_add_env(&l, "192.0.2.1, nonsense,,2001:db8::7", badent, sizeof badent), 0);
	ck_assert_str_eq(badent, "nonsense");
	ck_assert(allow_from(&l, a));
	a16("2001:db8::7", a);
	ck_assert(allow_from(&l, a));
	a16("2001:db8::8", a);
	ck_assert(!allow_from(&l, a));
	ck_assert_uint_eq(l.nnets, 3);
	allow_free(&l);
	/* an unreadable list still lets no one in */
	ck_assert_int_eq(allow_add_env(&l, "nonsense", badent, sizeof badent), 0);
	ck_assert(l.from_set);
	a16("127.0.0.1", a);
	ck_assert(!allow_from(&l, a));
	allow_free(&l);
	/* bounded */
	ck_assert_int_eq(allow_parse_net("10.0.0.1", &n, why, sizeof why), 0);
	for (int i = 0; i < ALLOW_MAX; i++)
		ck_assert_int_eq(allow_add_net(&l, &n), 0);
	ck_assert_int_eq(allow_add_net(&l, &n), -E2BIG);
	allow_free(&l);
}
END_TEST

START_TEST(peers)
{
	struct allowlist l = { 0 };
	struct allow_peer p;
	char why[160] = "", text[ALLOW_TEXT];
	uint32_t groups[] = { 100, 44 };

	ck_assert(allow_peer(&l, 1000, 1000, NULL, 0));
	ck_assert_int_eq(allow_parse_peer("root", &p, why, sizeof why), 0);
	allow_peer_text(&p, text, sizeof text);
	ck_assert_str_eq(text, "uid:0");
	ck_assert_int_eq(allow_parse_peer("group:root", &p, why, sizeof why), 0);
	allow_peer_text(&p, text, sizeof text);
	ck_assert_str_eq(text, "gid:0");
	ck_assert_int_eq(allow_parse_peer("uid:33", &p, why, sizeof why), 0);
	ck_assert_int_eq(allow_add_peer(&l, &p), 0);
	ck_assert_int_eq(allow_parse_peer("gid:44", &p, why, sizeof why), 0);
	ck_assert_int_eq(allow_add_peer(&l, &p), 0);
	ck_assert(allow_wants_groups(&l));
	ck_assert(allow_peer(&l, 33, 1000, NULL, 0));
	ck_assert(allow_peer(&l, 1000, 44, NULL, 0));
	ck_assert(allow_peer(&l, 1000, 1000, groups, 2)); /* a supplementary group */
	ck_assert(!allow_peer(&l, 1000, 1000, groups, 1));
	ck_assert(!allow_peer(&l, 44, 33, NULL, 0)); /* uid and gid are not mixed up */
	allow_free(&l);

	ck_assert_int_eq(allow_parse_peer("uid:4294967295", &p, why, sizeof why), -EINVAL);
	ck_assert_str_eq(why, "has no number 0..4294967294 after \"uid:\"");
	ck_assert_int_eq(allow_parse_peer("gid:", &p, why, sizeof why), -EINVAL);
	ck_assert_int_eq(allow_parse_peer("uid:033", &p, why, sizeof why), -EINVAL);
	ck_assert_int_eq(allow_parse_peer("33", &p, why, sizeof why), -EINVAL);
	ck_assert_str_eq(why, "is not a user name (write uid:N for a number)");
	ck_assert_int_eq(allow_parse_peer("group:44", &p, why, sizeof why), -EINVAL);
	ck_assert_str_eq(why, "is not a group name (write gid:N for a number)");
	ck_assert_int_eq(allow_parse_peer("no-such-user-here", &p, why, sizeof why), -EINVAL);
	ck_assert_str_eq(why, "names no user on this system");
	ck_assert_int_eq(allow_parse_peer("pid:1", &p, why, sizeof why), -EINVAL);
	ck_assert_str_eq(why, "is none of: NAME, user:NAME, group:NAME, uid:N, gid:N");
}
END_TEST

#define T0 1000000
#define W  ALLOWLOG_WINDOW_MS

START_TEST(log_once_a_minute)
{
	static struct allowlog t;
	char key[ALLOWLOG_KEY];
	uint64_t held;
	int64_t secs;
	bool other;

	memset(&t, 0, sizeof t);
	ck_assert(allowlog_admit(&t, "192.0.2.7", T0, &other));
	ck_assert(!other);
	for (int i = 0; i < 500; i++)
		ck_assert(!allowlog_admit(&t, "192.0.2.7", T0 + i, &other));
	ck_assert(allowlog_admit(&t, "192.0.2.8", T0 + 10, &other)); /* another peer: its line */
	ck_assert(!allowlog_summary(&t, T0 + W - 1, false, key, &held, &secs));
	ck_assert(allowlog_summary(&t, T0 + W, false, key, &held, &secs));
	ck_assert_str_eq(key, "192.0.2.7");
	ck_assert_uint_eq(held, 500);
	ck_assert_int_eq(secs, 60);
	ck_assert(!allowlog_summary(&t, T0 + W + 5, false, key, &held, &secs)); /* .8 held none */
	/* still knocking: no line, only the next minute's count */
	ck_assert(!allowlog_admit(&t, "192.0.2.7", T0 + W + 10, &other));
	ck_assert(allowlog_summary(&t, T0 + 2 * W, false, key, &held, &secs));
	ck_assert_uint_eq(held, 1);
	/* a quiet minute: its next refusal is written again */
	ck_assert(allowlog_admit(&t, "192.0.2.7", T0 + 3 * W + 1, &other));
}
END_TEST

START_TEST(log_bounded)
{
	static struct allowlog t;
	char key[ALLOWLOG_KEY], peer[32];
	uint64_t held;
	int64_t secs;
	bool other;

	memset(&t, 0, sizeof t);
	for (int i = 0; i < ALLOWLOG_PEERS; i++) {
		snprintf(peer, sizeof peer, "10.0.0.%d", i);
		ck_assert(allowlog_admit(&t, peer, T0, &other));
		ck_assert(!other);
	}
	/* full: the others share one entry, one line a minute for all of them */
	ck_assert(allowlog_admit(&t, "10.0.1.1", T0 + 1, &other));
	ck_assert(other);
	for (int i = 2; i < 1000; i++) {
		snprintf(peer, sizeof peer, "10.0.1.%d", i);
		ck_assert(!allowlog_admit(&t, peer, T0 + 2, &other));
	}
	ck_assert(allowlog_summary(&t, T0 + W + 1, false, key, &held, &secs));
	ck_assert_str_eq(key, "other peers");
	ck_assert_uint_eq(held, 998);
	/* the minute over, a known peer's entry is free again for a new one */
	ck_assert(allowlog_admit(&t, "10.0.2.1", T0 + W + 2, &other));
	ck_assert(!other);
	/* at exit: everything held, whatever its age */
	ck_assert(!allowlog_admit(&t, "10.0.2.1", T0 + W + 3, &other));
	ck_assert(allowlog_summary(&t, T0 + W + 4, true, key, &held, &secs));
	ck_assert_str_eq(key, "10.0.2.1");
	ck_assert_int_eq(secs, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("allow");
	TCase *tc = tcase_create("allow");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, parse_good, 0, ARRAY_SIZE(good));
	tcase_add_loop_test(tc, parse_bad, 0, ARRAY_SIZE(bad));
	tcase_add_loop_test(tc, match, 0, ARRAY_SIZE(matches));
	tcase_add_test(tc, lists);
	tcase_add_test(tc, peers);
	tcase_add_test(tc, log_once_a_minute);
	tcase_add_test(tc, log_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
