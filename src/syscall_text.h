/* SPDX-License-Identifier: MIT */
/* Names and explanations of refused system calls (syscall_text.c). */
#ifndef SFCGI_SYSCALL_TEXT_H
#define SFCGI_SYSCALL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* "forbidden system call NAME (NR); to allow it: KEY" into buf; its length.
 * Async-signal-safe. args: the call's, or NULL. */
size_t syscall_explain(int nr, const char *name, const uint64_t *args, uint32_t allowed, char *buf,
		       size_t len);
/* Call nr's name for the SIGSYS handler, "unknown" if none; async-signal-safe
 * once syscall_names_prepare() ran. */
const char *syscall_sigsys_name(int nr);
/* Before the handler is installed: the names, where the build has no table. */
void syscall_names_prepare(void);

#endif
