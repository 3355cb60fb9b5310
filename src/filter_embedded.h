/* SPDX-License-Identifier: MIT */
/*
 * seccomp programs compiled when sfcgi is built (gen-filters.c runs
 * libseccomp on the build machine and writes filter_embedded.c), for the
 * configurations nearly every instance has: the default and strict
 * profiles with nothing added, and the supervisor's deny-list. A worker
 * with one of those loads the program as it is, without libseccomp's name
 * lookups and code generation on its way to the first answer; any other
 * configuration is compiled at run time as before. unit-filter compares
 * each program with what libseccomp makes of the same configuration.
 *
 * Only libsfcgi and the sfcgi programs link filter_embedded.c; without it
 * (the unit tests, gen-filters itself) the weak symbols below are null and
 * everything is compiled at run time.
 */
#ifndef SFCGI_FILTER_EMBEDDED_H
#define SFCGI_FILTER_EMBEDDED_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

#include "sandbox.h"

#define MAX_NR 512 /* syscall numbers named (x86_64 and arm64 end below 500) */

enum filter_kind {
	FILTER_WORKER,
	FILTER_SUPERVISOR,
};

/* One program and the configuration it is for (a worker's: profile,
 * action, marks; no "allow" groups, "syscalls", runtime profile or user
 * notification). */
struct filter_embedded {
	enum filter_kind kind;
	enum sandbox_profile profile;
	enum sandbox_action action;
	bool marks;
	unsigned short len;
	const struct sock_filter *insns;
};

extern const struct filter_embedded filter_embedded[] __attribute__((weak));
extern const unsigned filter_embedded_count __attribute__((weak));
/* The names by number, packed: filter_embedded_name_at[nr] is an offset
 * into filter_embedded_name_pool, 0 for no name (about 4 KiB, where a
 * [MAX_NR][24] table took 12 KiB that every process maps). */
extern const char filter_embedded_name_pool[] __attribute__((weak));
extern const uint16_t filter_embedded_name_at[MAX_NR] __attribute__((weak));

/* What libseccomp makes of c (marks: see filter.c), in out->filter
 * (malloc'd). 0 or negative errno (logged). */
int filter_compile_bpf(const struct sandbox_config *c, bool marks, struct sock_fprog *out);
/* The supervisor's deny-list, the same way. */
int filter_supervisor_bpf(struct sock_fprog *out);
/* Syscall names by number as libseccomp resolves them ("" if none). */
void filter_syscall_names(char (*buf)[24]);
/* The built-in name of call nr, or NULL (none, or no built-in table). */
const char *filter_builtin_name(int nr);
/* The embedded program for c, or NULL. */
const struct filter_embedded *filter_embedded_for(enum filter_kind kind,
						  const struct sandbox_config *c, bool marks);

#endif
