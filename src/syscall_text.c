/* SPDX-License-Identifier: MIT */
/*
 * What a refused system call is called and what would allow it: the line
 * the SIGSYS handler writes (async-signal-safe: nothing here allocates on
 * that path), the supervisor's log lines, learning mode's keys. Names come
 * from the table built into libsfcgi (filter_embedded.h), else from
 * libseccomp (seccomp_dl.h).
 */
#include "syscall_text.h"

#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_embedded.h"
#include "policy.h"
#include "profile.h"
#include "sandbox.h"
#include "seccomp_dl.h" /* after <seccomp.h> */

/* The names, packed (about 4 KiB, not 512 x 24 bytes of bss), in one-process
 * mode without the build's table (filter_embedded.h): name_at[nr] is an
 * offset into name_pool, 0 for none. */
static char *name_pool;
static uint16_t *name_at;
/* Appends s to buf (async-signal-safe); returns the new length. */
static size_t cat(char *buf, size_t off, size_t len, const char *s)
{
	while (*s && off + 1 < len)
		buf[off++] = *s++;
	buf[off] = 0;
	return off;
}

/* Appends the decimal nr (async-signal-safe). */
static size_t cat_num(char *buf, size_t off, size_t len, long nr)
{
	char num[24];
	int i = (int)sizeof num - 1;
	bool neg = nr < 0;

	num[i] = 0;
	if (neg)
		nr = -nr;
	do
		num[--i] = (char)('0' + nr % 10);
	while ((nr /= 10) > 0 && i > 1);
	if (neg)
		num[--i] = '-';
	return cat(buf, off, len, num + i);
}

/*
 * "\"sandbox\": {\"allow\": [\"file-read\"]}" or "... {\"syscalls\":
 * [\"ptrace\"]}": a call in two groups (openat, clone) names both, never
 * one granted already; then the profile that lists it, and whether it is
 * allowed with other arguments (async-signal-safe).
 */
static size_t key_text(const char *name, const uint64_t *args, uint32_t allowed, char *buf,
		       size_t off, size_t len)
{
	struct policy_key k = args ? policy_key_choose(name, args, allowed)
				   : policy_key_for(name, allowed);
	bool found = false;

	off = cat(buf, off, len, "\"sandbox\": {");
	switch (k.kind) {
	case KEY_DEFAULT:
		off = cat(buf, off, len, "\"seccomp\": \"default\"");
		break;
	case KEY_GROUPS:
		for (uint32_t bit = 1; bit && bit <= k.groups; bit <<= 1) {
			if (!(k.groups & bit))
				continue;
			off = cat(buf, off, len, found ? "} or {\"allow\": [\"" : "\"allow\": [\"");
			off = cat(buf, off, len, sandbox_group_name(bit));
			off = cat(buf, off, len, "\"]");
			found = true;
		}
		break;
	case KEY_SYSCALL:
		off = cat(buf, off, len, "\"syscalls\": [\"");
		off = cat(buf, off, len, name);
		off = cat(buf, off, len, "\"]");
		break;
	}
	off = cat(buf, off, len, "}");
	/* not a profile that allows it with certain arguments only (socket: unix) */
	for (unsigned p = 0; p < runtime_profile_count; p++)
		if (runtime_profile_lists_any(&runtime_profiles[p], name)) {
			off = cat(buf, off, len, " (the \"");
			off = cat(buf, off, len, runtime_profiles[p].name);
			off = cat(buf, off, len, "\" profile allows it)");
			break;
		}
	if (k.args_only)
		off = cat(buf, off, len, " (allowed already with certain arguments only; this "
					 "one was not among them)");
	return off;
}

size_t syscall_explain(int nr, const char *name, const uint64_t *args, uint32_t allowed, char *buf,
		      size_t len)
{
	size_t off = cat(buf, 0, len, "forbidden system call ");

	off = cat(buf, off, len, name);
	off = cat(buf, off, len, " (");
	off = cat_num(buf, off, len, nr);
	off = cat(buf, off, len, "); to allow it: ");
	return key_text(name, args, allowed, buf, off, len);
}

void sandbox_key_text(int nr, const uint64_t *args, uint32_t allowed, char *buf, size_t len)
{
	char *name = sandbox_syscall_name(nr);

	if (len)
		buf[0] = 0;
	key_text(name ? name : "unknown", args, allowed, buf, 0, len);
	free(name);
}

const char *filter_builtin_name(int nr)
{
	if (!&filter_embedded_count || nr < 0 || nr >= MAX_NR || !filter_embedded_name_at[nr])
		return NULL;
	return filter_embedded_name_pool + filter_embedded_name_at[nr];
}

char *sandbox_syscall_name(int nr)
{
	/* the build's table: a supervisor naming its worker's call loads nothing */
	if (&filter_embedded_count && nr >= 0 && nr < MAX_NR) {
		const char *n = filter_builtin_name(nr);

		return n ? strdup(n) : NULL;
	}
	return seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}

void sandbox_explain(int nr, const uint64_t *args, uint32_t allowed, char *buf, size_t len)
{
	char *name = sandbox_syscall_name(nr);

	syscall_explain(nr, name ? name : "unknown", args, allowed, buf, len);
	free(name);
}

const char *syscall_sigsys_name(int nr)
{
	if (nr < 0 || nr >= MAX_NR)
		return "unknown";
	if (&filter_embedded_count) { /* the names come with the programs: read-only, shared */
		const char *n = filter_builtin_name(nr);

		return n ? n : "unknown";
	}
	return name_at && name_at[nr] ? name_pool + name_at[nr] : "unknown";
}

/* The names, packed (see name_pool), for a build without the table. */
static void pool_names(void)
{
	size_t used = 1, cap = 4096; /* offset 0: no name */
	char *pool = malloc(cap);
	uint16_t *at = calloc(MAX_NR, sizeof *at);

	for (int nr = 0; pool && at && nr < MAX_NR; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		size_t len = n ? strlen(n) + 1 : 0;

		if (len && used + len > cap && used + len <= UINT16_MAX) {
			char *p = realloc(pool, cap *= 2);

			if (!p) {
				free(n);
				break;
			}
			pool = p;
		}
		if (len && used + len <= cap) {
			memcpy(pool + used, n, len);
			at[nr] = (uint16_t)used;
			used += len;
		}
		free(n);
	}
	name_pool = pool;
	name_at = pool ? at : NULL; /* no pool: every call is "unknown" */
	if (!pool)
		free(at);
}

void filter_syscall_names(char (*buf)[24])
{
	for (int nr = 0; nr < MAX_NR; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		buf[nr][0] = 0;
		if (n)
			snprintf(buf[nr], sizeof buf[nr], "%s", n);
		free(n);
	}
}

void syscall_names_prepare(void)
{
	if (!&filter_embedded_count)
		pool_names();
}

/* libseccomp knows the calls of every architecture: those this one lacks
 * (socketcall, ipc on x86_64) resolve to negative pseudo-numbers, which a
 * rule accepts and ignores. */
int sandbox_syscall_known(const char *name)
{
	return seccomp_syscall_resolve_name(name) < 0 ? -EINVAL : 0;
}
