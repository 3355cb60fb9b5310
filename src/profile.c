/* SPDX-License-Identifier: MIT */
/* Runtime profiles: what real programs of each kind need, and why. */
#include "profile.h"

#include <stddef.h>
#include <string.h>

#include "sandbox.h"

/*
 * Each entry was derived by running the real Debian 12 program through its
 * real flows under "on_violation": "log" (tests/apps is the proof: every
 * flow there runs under the shipped profile and fails if a worker or a
 * script is killed by the sandbox). Keep the reasons exact.
 */
static const struct runtime_syscall php_calls[] = {
	{ NULL, NULL },
};
static const struct runtime_syscall perl_calls[] = {
	{ NULL, NULL },
};
static const struct runtime_syscall python_calls[] = {
	{ NULL, NULL },
};
static const struct runtime_syscall git_calls[] = {
	{ NULL, NULL },
};
static const struct runtime_syscall shell_calls[] = {
	{ NULL, NULL },
};

const struct runtime_profile runtime_profiles[] = {
	{ "php", "php-cgi (PHP_FCGI_CHILDREN=0), PHP applications such as DokuWiki",
	  GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_FILE_WRITE, php_calls },
	{ "perl", "Perl CGI scripts and FCGI / CGI::Fast programs",
	  GROUP_INTERPRETER | GROUP_FILE_READ, perl_calls },
	{ "python", "Python 3 FastCGI and CGI programs",
	  GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_THREADS, python_calls },
	{ "git", "git-based CGIs (cgit, gitweb) and the git commands they run",
	  GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_PROCESS, git_calls },
	{ "shell", "CGI scripts in sh or bash",
	  GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_PROCESS, shell_calls },
};
const unsigned runtime_profile_count = sizeof runtime_profiles / sizeof runtime_profiles[0];

const struct runtime_profile *runtime_profile_find(const char *name)
{
	for (unsigned i = 0; i < runtime_profile_count; i++)
		if (!strcmp(runtime_profiles[i].name, name))
			return &runtime_profiles[i];
	return NULL;
}

int runtime_profile_lists(const struct runtime_profile *p, const char *name)
{
	for (const struct runtime_syscall *s = p ? p->syscalls : NULL; s && s->name; s++)
		if (!strcmp(s->name, name))
			return 1;
	return 0;
}
