/* SPDX-License-Identifier: MIT */
/*
 * Check suite for src/loglimit.c (the rate limit of log lines by kind) with
 * the clock given, then src/log.c on a pipe: the lines, the summaries
 * log_tick() writes, the worker's prefix. Each test runs in its own fork
 * (log.c's state is the process's).
 */
#include "log.h"
#include "loglimit.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define W  LOGLIMIT_WINDOW_MS
#define T0 1000000 /* any monotonic start */

static const char kind_a[] = "fd %d: peer sent nothing", kind_b[] = "refused %s";

/* n lines of kind at now: how many passed. */
static int lines(struct loglimit *t, const char *kind, int n, int64_t now)
{
	int passed = 0;

	for (int i = 0; i < n; i++) {
		struct logkind *k = NULL;
		int r = loglimit_admit(t, kind, LOG_WARNING, now, &k);

		if (r == LOGLIMIT_FIRST)
			loglimit_remember(k, "fd 12: peer sent nothing", 24);
		passed += r != LOGLIMIT_HOLD;
	}
	return passed;
}

START_TEST(burst_then_count)
{
	struct loglimit t;
	struct logkind *k = NULL;
	char buf[256];
	int prio = -1;

	loglimit_reset(&t);
	ck_assert_int_eq(loglimit_admit(&t, kind_a, LOG_WARNING, T0, &k), LOGLIMIT_FIRST);
	loglimit_remember(k, "fd 12: peer sent nothing", 24);
	ck_assert_int_eq(lines(&t, kind_a, LOGLIMIT_BURST - 1, T0 + 5), LOGLIMIT_BURST - 1);
	ck_assert_int_eq(lines(&t, kind_a, 7011, T0 + 10), 0);
	/* another kind has its own burst, and so has the same format at another priority */
	ck_assert_int_eq(lines(&t, kind_b, 3, T0 + 10), 3);
	ck_assert_int_eq(loglimit_admit(&t, kind_a, LOG_INFO, T0 + 10, &k), LOGLIMIT_FIRST);
	ck_assert(!loglimit_due(&t, T0 + W - 1));
	ck_assert_uint_eq(loglimit_summary(&t, T0 + W - 1, false, buf, sizeof buf, &prio), 0);
	ck_assert(loglimit_due(&t, T0 + W));
	ck_assert_uint_gt(loglimit_summary(&t, T0 + W, false, buf, sizeof buf, &prio), 0);
	ck_assert_str_eq(buf,
			 "... and 7,011 more like \"fd 12: peer sent nothing\" in the last 60 s");
	ck_assert_int_eq(prio, LOG_WARNING);
	/* one summary per window: nothing more due, kind_b held nothing */
	ck_assert(!loglimit_due(&t, T0 + W));
	ck_assert_uint_eq(loglimit_summary(&t, T0 + W, false, buf, sizeof buf, &prio), 0);
}
END_TEST

START_TEST(flood_goes_on)
{
	struct loglimit t;
	char buf[256];
	int prio;

	loglimit_reset(&t);
	ck_assert_int_eq(lines(&t, kind_a, 50, T0), LOGLIMIT_BURST);
	ck_assert_uint_gt(loglimit_summary(&t, T0 + W + 300, false, buf, sizeof buf, &prio), 0);
	/* still coming: the next window passes none, and sums up from the summary on */
	ck_assert_int_eq(lines(&t, kind_a, 1234, T0 + W + 400), 0);
	ck_assert(!loglimit_due(&t, T0 + 2 * W + 299));
	ck_assert(loglimit_due(&t, T0 + 2 * W + 300));
	ck_assert_uint_gt(loglimit_summary(&t, T0 + 2 * W + 300, false, buf, sizeof buf, &prio), 0);
	ck_assert_str_eq(buf,
			 "... and 1,234 more like \"fd 12: peer sent nothing\" in the last 60 s");
	/* a window without a line of it: the burst is back */
	ck_assert_int_eq(lines(&t, kind_a, 20, T0 + 3 * W + 300), LOGLIMIT_BURST);
}
END_TEST

START_TEST(quiet_kind_rolls_over)
{
	struct loglimit t;
	char buf[256];
	int prio;

	loglimit_reset(&t);
	ck_assert_int_eq(lines(&t, kind_a, LOGLIMIT_BURST, T0), LOGLIMIT_BURST);
	/* at the burst exactly, nothing held, no summary; the next window is fresh */
	ck_assert(!loglimit_due(&t, T0 + 5 * W));
	ck_assert_int_eq(lines(&t, kind_a, LOGLIMIT_BURST + 1, T0 + W), LOGLIMIT_BURST);
	ck_assert(loglimit_due(&t, T0 + 2 * W));
	ck_assert_uint_gt(loglimit_summary(&t, T0 + 2 * W, false, buf, sizeof buf, &prio), 0);
	ck_assert_str_eq(buf, "... and 1 more like \"fd 12: peer sent nothing\" in the last 60 s");
}
END_TEST

START_TEST(at_exit_all)
{
	struct loglimit t;
	char buf[256];
	int prio;

	loglimit_reset(&t);
	lines(&t, kind_a, 12, T0);
	lines(&t, kind_b, 15, T0 + 1000);
	ck_assert_uint_gt(loglimit_summary(&t, T0 + 4500, true, buf, sizeof buf, &prio), 0);
	ck_assert_str_eq(buf, "... and 2 more like \"fd 12: peer sent nothing\" in the last 4 s");
	ck_assert_uint_gt(loglimit_summary(&t, T0 + 4500, true, buf, sizeof buf, &prio), 0);
	ck_assert_str_eq(buf, "... and 5 more like \"fd 12: peer sent nothing\" in the last 3 s");
	ck_assert_uint_eq(loglimit_summary(&t, T0 + 4500, true, buf, sizeof buf, &prio), 0);
}
END_TEST

START_TEST(table_full_passes)
{
	static char keys[LOGLIMIT_KINDS + 1];
	struct loglimit t;
	struct logkind *k;

	loglimit_reset(&t);
	for (int i = 0; i < LOGLIMIT_KINDS; i++)
		ck_assert_int_eq(loglimit_admit(&t, &keys[i], LOG_ERR, T0, &k), LOGLIMIT_FIRST);
	/* no room: never lost, never limited */
	for (int i = 0; i < 30; i++)
		ck_assert_int_eq(loglimit_admit(&t, &keys[LOGLIMIT_KINDS], LOG_ERR, T0, &k),
				 LOGLIMIT_PASS);
	/* a window over frees the places */
	ck_assert_int_eq(loglimit_admit(&t, &keys[LOGLIMIT_KINDS], LOG_ERR, T0 + W, &k),
			 LOGLIMIT_FIRST);
}
END_TEST

/* A forked worker's loglimit_forget(): the supervisor's kinds and held
 * lines are gone, as after loglimit_reset(), and the table works on. */
START_TEST(forget_is_reset)
{
	struct loglimit t;
	char buf[256];
	int prio;

	loglimit_reset(&t);
	ck_assert_int_eq(lines(&t, kind_a, 15, T0), LOGLIMIT_BURST);
	ck_assert_int_eq(lines(&t, kind_b, 3, T0), 3);
	ck_assert(loglimit_due(&t, T0 + W));
	loglimit_forget(&t);
	ck_assert(!loglimit_due(&t, T0 + W));
	ck_assert_uint_eq(loglimit_summary(&t, T0 + W, true, buf, sizeof buf, &prio), 0);
	for (size_t i = 0; i < LOGLIMIT_KINDS; i++)
		ck_assert(!t.k[i].key && !t.k[i].held && !t.k[i].shown && !t.k[i].first[0]);
	/* a full burst again, not the remainder of the supervisor's */
	ck_assert_int_eq(lines(&t, kind_a, 15, T0 + 1), LOGLIMIT_BURST);
}
END_TEST

START_TEST(counts_and_text)
{
	static const struct {
		uint64_t n;
		const char *s;
	} c[] = {{0, "0"},
		 {7, "7"},
		 {999, "999"},
		 {1000, "1,000"},
		 {7011, "7,011"},
		 {123456, "123,456"},
		 {1234567, "1,234,567"},
		 {UINT64_MAX, "18,446,744,073,709,551,615"}};
	struct logkind k = {0};
	char buf[32], text[300];

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		loglimit_count(c[i].n, buf, sizeof buf);
		ck_assert_str_eq(buf, c[i].s);
	}
	loglimit_count(1234567, buf, 6);
	ck_assert_str_eq(buf, "1,234");
	/* a long first line is cut at a character, with an ellipsis */
	memset(text, 'x', sizeof text);
	memcpy(text + LOGLIMIT_TEXT - 7, "ééé", 6); /* the cut would fall inside the 2nd */
	loglimit_remember(&k, text, sizeof text);
	ck_assert_uint_eq(strlen(k.first), LOGLIMIT_TEXT - 7 + 2 + 3);
	ck_assert_str_eq(k.first + LOGLIMIT_TEXT - 8, "xé...");
}
END_TEST

/* log.c on a pipe: what a test reads back is what journald would get. */
static int capture(void)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	unsetenv("SFCGI_LOG_LEVEL");
	setenv("JOURNAL_STREAM", "1:1", 1); /* the <N> prefixes, not a terminal's */
	log_init();
	return p[0];
}

static char *drain(int fd)
{
	static char out[65536];
	ssize_t n = read(fd, out, sizeof out - 1);

	out[n < 0 ? 0 : n] = 0;
	return out;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(log_lines_and_summary)
{
	int fd = capture();
	char *out;

	/* before the loop: never limited (startup, configuration) */
	for (int i = 0; i < 15; i++)
		log_err("bad config line %d", i);
	ck_assert_int_eq(count_lines(drain(fd)), 15);
	log_tick(T0);
	for (int i = 0; i < 100; i++)
		log_warning("fd %d: peer sent nothing for 5000 ms", 10 + i);
	for (int i = 0; i < 30; i++)
		log_debug("debug lines are never limited %d", i); /* below the level: none */
	log_msg(LOG_CRIT, "crit is never limited");
	out = drain(fd);
	ck_assert_int_eq(count_lines(out), LOGLIMIT_BURST + 1);
	ck_assert_ptr_nonnull(strstr(out, "<4>fd 10: peer sent nothing for 5000 ms\n"));
	ck_assert_ptr_null(strstr(out, "fd 20:"));
	log_tick(T0 + W - 1);
	ck_assert_str_eq(drain(fd), "");
	log_tick(T0 + W);
	ck_assert_str_eq(drain(fd), "<4>... and 90 more like \"fd 10: peer sent nothing for 5000 "
				    "ms\" in the last 60 s\n");
}
END_TEST

START_TEST(log_worker_prefix)
{
	int fd = capture();
	char want[128], *out;

	log_tick(T0);
	for (int i = 0; i < 12; i++)
		log_notice("supervisor's %d", i);
	drain(fd);
	log_worker();
	snprintf(want, sizeof want, "<5>worker %d: supervisor's 0\n", (int)getpid());
	/* the worker's counts are its own: its burst is whole */
	for (int i = 0; i < 12; i++)
		log_notice("supervisor's %d", i);
	out = drain(fd);
	ck_assert_int_eq(count_lines(out), LOGLIMIT_BURST);
	ck_assert_ptr_nonnull(strstr(out, want));
	/* what is held at exit is summed up then */
	log_tick(T0 + 2500);
	log_flush();
	snprintf(want, sizeof want,
		 "<5>worker %d: ... and 2 more like \"supervisor's 0\" in the last 2 s\n",
		 (int)getpid());
	ck_assert_str_eq(drain(fd), want);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, burst_then_count);
	tcase_add_test(tc, flood_goes_on);
	tcase_add_test(tc, quiet_kind_rolls_over);
	tcase_add_test(tc, at_exit_all);
	tcase_add_test(tc, table_full_passes);
	tcase_add_test(tc, forget_is_reset);
	tcase_add_test(tc, counts_and_text);
	tcase_add_test(tc, log_lines_and_summary);
	tcase_add_test(tc, log_worker_prefix);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
