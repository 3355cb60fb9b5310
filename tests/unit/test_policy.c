/* SPDX-License-Identifier: MIT */
/*
 * Check suite for the keys src/policy.c gives a refused call: what the
 * supervisor's "to allow it:" says (policy_key_for, without the call's
 * arguments: a SIGSYS), and what learning mode adds to its summary
 * (policy_key_choose, with the arguments of a seccomp notification).
 * Table-driven: each row a call, what is granted, the key it must get.
 */
#include "policy.h"

#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "sandbox.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NOARGS        { 0, 0, 0, 0, 0, 0 }

static const struct {
	const char *what, *name;
	uint32_t allowed;
	bool with_args;
	uint64_t args[6];
	enum policy_key_kind kind;
	uint32_t groups;
	bool args_only;
} cases[] = {
	{ "socket(AF_INET): \"network\"", "socket", 0, true,
	  { AF_INET, SOCK_STREAM, 0, 0, 0, 0 }, KEY_GROUPS, GROUP_NETWORK, false },
	{ "socket(AF_NETLINK) with nothing granted: no group takes it", "socket", 0, true,
	  { AF_NETLINK, SOCK_RAW, 0, 0, 0, 0 }, KEY_SYSCALL, 0, false },
	{ "socket(AF_NETLINK) with \"network\": \"syscalls\", allowed with other arguments",
	  "socket", GROUP_NETWORK, true, { AF_NETLINK, SOCK_RAW, 0, 0, 0, 0 }, KEY_SYSCALL, 0,
	  true },
	{ "socket, arguments unknown, \"network\" granted: \"syscalls\", never the group again",
	  "socket", GROUP_NETWORK, false, NOARGS, KEY_SYSCALL, 0, true },
	{ "openat read-only: either group (learning's summary takes the first)", "openat", 0,
	  true, { (uint64_t)AT_FDCWD, 0, O_RDONLY | O_CLOEXEC, 0, 0, 0 }, KEY_GROUPS,
	  GROUP_FILE_READ | GROUP_FILE_WRITE, false },
	{ "openat for writing: \"file-write\", not \"file-read\"", "openat", 0, true,
	  { (uint64_t)AT_FDCWD, 0, O_WRONLY | O_CREAT | O_TRUNC, 0, 0, 0 }, KEY_GROUPS,
	  GROUP_FILE_WRITE, false },
	{ "openat for writing with \"file-read\": \"file-write\", allowed with other arguments",
	  "openat", GROUP_FILE_READ, true, { (uint64_t)AT_FDCWD, 0, O_RDWR, 0, 0, 0 }, KEY_GROUPS,
	  GROUP_FILE_WRITE, true },
	{ "openat, arguments unknown: either group", "openat", 0, false, NOARGS, KEY_GROUPS,
	  GROUP_FILE_READ | GROUP_FILE_WRITE, false },
	{ "clone of a thread: \"threads\"", "clone", 0, true,
	  { CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, 0, 0, 0, 0, 0 }, KEY_GROUPS, GROUP_THREADS,
	  false },
	{ "clone of a process: \"process\" or \"threads\"", "clone", 0, true,
	  { SIGCHLD, 0, 0, 0, 0, 0 }, KEY_GROUPS, GROUP_PROCESS | GROUP_THREADS, false },
	{ "execve with \"process\" granted: \"interpreter\" only", "execve", GROUP_PROCESS, true,
	  NOARGS, KEY_GROUPS, GROUP_INTERPRETER, false },
	{ "ioctl(FIONBIO): \"syscalls\", allowed with other arguments", "ioctl", 0, true,
	  { 0, FIONBIO, 0, 0, 0, 0 }, KEY_SYSCALL, 0, true },
	{ "ioctl(FIOCLEX): \"interpreter\"", "ioctl", 0, true, { 0, FIOCLEX, 0, 0, 0, 0 },
	  KEY_GROUPS, GROUP_INTERPRETER, true },
	{ "getpriority: in no group", "getpriority", 0, true, NOARGS, KEY_SYSCALL, 0, false },
	{ "fstat under \"strict\": \"seccomp\": \"default\"", "fstat", 0, true, NOARGS,
	  KEY_DEFAULT, 0, false },
};

START_TEST(test_key)
{
	const __typeof__(cases[0]) *c = &cases[_i];
	struct policy_key k = c->with_args ? policy_key_choose(c->name, c->args, c->allowed)
					   : policy_key_for(c->name, c->allowed);

	ck_assert_msg(k.kind == c->kind, "%s: kind %d, want %d", c->what, k.kind, c->kind);
	ck_assert_msg(k.groups == c->groups, "%s: groups %#x, want %#x", c->what, k.groups,
		      c->groups);
	ck_assert_msg(k.args_only == c->args_only, "%s: args_only %d", c->what, k.args_only);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("keys");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_key, 0, ARRAY_SIZE(cases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
