/* SPDX-License-Identifier: MIT */
/*
 * Runtime profiles ("sandbox": {"profile": "php"}): for each kind of
 * program people host (php-cgi, Perl, Python, git CGIs, shell CGI
 * scripts), the syscall groups and single calls that running the real
 * Debian program through its real flows showed it needs, with the reason
 * (profile.c). A profile only ever adds to the allow-list; "allow" and
 * "syscalls" add on top of it.
 */
#ifndef SFCGI_PROFILE_H
#define SFCGI_PROFILE_H

#include <stdint.h>

#include "policy.h"

struct runtime_syscall {
	const char *name;
	const char *why; /* what the real program did with it */
	enum policy_arg arg; /* ARG_ANY (left out) or the arguments it is allowed with */
};

struct runtime_profile {
	const char *name;
	const char *what;  /* the programs it is for, one line */
	uint32_t groups;   /* enum sandbox_group bits */
	const struct runtime_syscall *syscalls; /* single calls, {NULL} ended */
};

extern const struct runtime_profile runtime_profiles[];
extern const unsigned runtime_profile_count;

/* By name; NULL if there is none. */
const struct runtime_profile *runtime_profile_find(const char *name);
/* Does profile p (may be NULL) allow the single call name? */
int runtime_profile_lists(const struct runtime_profile *p, const char *name);
/* ... with any arguments (not only those of an argument limit)? */
int runtime_profile_lists_any(const struct runtime_profile *p, const char *name);

#endif
