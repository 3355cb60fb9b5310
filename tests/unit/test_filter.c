/* SPDX-License-Identifier: MIT */
/*
 * The seccomp programs built into libsfcgi (filter_embedded.c, made by
 * gen-filters when sfcgi was built) against what libseccomp makes of the
 * same configuration here and now: byte for byte, for every program, and
 * the syscall names by number. And the look-up: a program is used only for
 * the configuration it was made for.
 */
#include "filter_embedded.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

START_TEST(test_programs_match_libseccomp)
{
	const struct filter_embedded *e = &filter_embedded[_i];
	struct sock_fprog p;
	struct sandbox_config c;

	sandbox_defaults(&c);
	c.profile = e->profile;
	c.action = e->action;
	if (e->kind == FILTER_SUPERVISOR)
		ck_assert_int_eq(filter_supervisor_bpf(&p), 0);
	else
		ck_assert_int_eq(filter_compile_bpf(&c, e->marks, &p), 0);
	ck_assert_msg(p.len == e->len, "program %d: %u instructions built in, libseccomp %u", _i,
		      e->len, p.len);
	for (unsigned short i = 0; i < p.len; i++)
		ck_assert_msg(!memcmp(&p.filter[i], &e->insns[i], sizeof p.filter[i]),
			      "program %d differs from libseccomp's at instruction %u", _i, i);
	free(p.filter);
}
END_TEST

START_TEST(test_names_match_libseccomp)
{
	char (*names)[24] = calloc(MAX_NR, sizeof *names);

	ck_assert_ptr_nonnull(names);
	filter_syscall_names(names);
	for (int nr = 0; nr < MAX_NR; nr++)
		ck_assert_msg(!strcmp(names[nr], filter_builtin_name(nr) ? filter_builtin_name(nr) : ""),
			      "syscall %d: built in \"%s\", libseccomp \"%s\"", nr,
			      filter_builtin_name(nr) ? filter_builtin_name(nr) : "", names[nr]);
	free(names);
}
END_TEST

START_TEST(test_lookup)
{
	struct sandbox_config c;
	const struct filter_embedded *e;
	char *extra[] = { "ptrace", NULL };

	sandbox_defaults(&c);
	/* what an instance with no "sandbox" key gets, with and without a supervisor */
	for (int marks = 0; marks < 2; marks++) {
		e = filter_embedded_for(FILTER_WORKER, &c, marks);
		ck_assert_ptr_nonnull(e);
		ck_assert(e->kind == FILTER_WORKER && e->profile == PROFILE_DEFAULT &&
			  e->action == ACTION_KILL && e->marks == marks);
	}
	c.profile = PROFILE_STRICT;
	c.action = ACTION_LOG;
	e = filter_embedded_for(FILTER_WORKER, &c, false);
	ck_assert(e && e->profile == PROFILE_STRICT && e->action == ACTION_LOG && !e->marks);
	e = filter_embedded_for(FILTER_SUPERVISOR, NULL, false);
	ck_assert(e && e->kind == FILTER_SUPERVISOR);
	/* anything else the configuration adds is compiled at run time */
	sandbox_defaults(&c);
	c.allow = GROUP_NETWORK;
	ck_assert_ptr_null(filter_embedded_for(FILTER_WORKER, &c, false));
	sandbox_defaults(&c);
	c.syscalls = extra;
	ck_assert_ptr_null(filter_embedded_for(FILTER_WORKER, &c, true));
	sandbox_defaults(&c);
	c.runtime = &runtime_profiles[0];
	ck_assert_ptr_null(filter_embedded_for(FILTER_WORKER, &c, false));
	sandbox_defaults(&c);
	c.notify = true; /* the supervisor's program adds the kill rules then */
	ck_assert_ptr_null(filter_embedded_for(FILTER_WORKER, &c, true));
	ck_assert_ptr_nonnull(filter_embedded_for(FILTER_WORKER, &c, false));
	sandbox_defaults(&c);
	c.profile = PROFILE_OFF;
	ck_assert_ptr_null(filter_embedded_for(FILTER_WORKER, &c, false));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("embedded");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_programs_match_libseccomp, 0, (int)filter_embedded_count);
	tcase_add_test(tc, test_names_match_libseccomp);
	tcase_add_test(tc, test_lookup);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
