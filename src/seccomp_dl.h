/* SPDX-License-Identifier: MIT */
/*
 * libseccomp, loaded the first time a filter has to be compiled at run time
 * (dlopen), not linked: the programs of the usual configurations are built
 * in (filter_embedded.h), so most instances never need it, and a library
 * nobody calls still costs every process that maps it a load at exec
 * (about 35 us, measured) and its relocated pages. A configuration that
 * needs it (added "allow" groups or "syscalls", a runtime profile, user
 * notification: foreign programs, learning mode) loads it before the
 * lock-down, where the filter is compiled.
 *
 * filter.c includes this after <seccomp.h>: the calls it makes are
 * redirected to the loaded library. Where libseccomp cannot be loaded,
 * one line says so and what needs it, and each call fails as libseccomp's
 * would on an allocation failure (NULL, -ENOMEM, __NR_SCMP_ERROR).
 */
#ifndef SFCGI_SECCOMP_DL_H
#define SFCGI_SECCOMP_DL_H

#include <seccomp.h>

struct seccomp_dl {
	scmp_filter_ctx (*init)(uint32_t def_action);
	void (*release)(scmp_filter_ctx ctx);
	int (*rule_add_array)(scmp_filter_ctx ctx, uint32_t action, int syscall,
			      unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
	int (*load)(const scmp_filter_ctx ctx);
	int (*export_bpf)(const scmp_filter_ctx ctx, int fd);
	int (*attr_set)(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value);
	int (*resolve_name)(const char *name);
	char *(*resolve_num_arch)(uint32_t arch_token, int num);
	const struct scmp_version *(*version)(void);
};

/* The library's calls (loaded now if not yet), or failing stand-ins. */
const struct seccomp_dl *seccomp_dl(void);
/* seccomp_rule_add() as libseccomp has it: up to 6 struct scmp_arg_cmp. */
int seccomp_dl_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt,
			...);

#define seccomp_init(a) (seccomp_dl()->init(a))
#define seccomp_release(c) (seccomp_dl()->release(c))
#define seccomp_rule_add seccomp_dl_rule_add
#define seccomp_load(c) (seccomp_dl()->load(c))
#define seccomp_export_bpf(c, fd) (seccomp_dl()->export_bpf((c), (fd)))
#define seccomp_attr_set(c, a, v) (seccomp_dl()->attr_set((c), (a), (v)))
#define seccomp_syscall_resolve_name(n) (seccomp_dl()->resolve_name(n))
#define seccomp_syscall_resolve_num_arch(a, n) (seccomp_dl()->resolve_num_arch((a), (n)))
#define seccomp_version() (seccomp_dl()->version())

#endif
