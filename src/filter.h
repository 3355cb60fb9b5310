/* SPDX-License-Identifier: MIT */
/* seccomp filters built with libseccomp from the policy table (policy.c). */
#ifndef SFCGI_FILTER_H
#define SFCGI_FILTER_H

#include "sandbox.h"

/* Compiles the workers' filter once, in the supervisor before it forks;
 * filter_worker() then loads that program. 0 or negative errno (logged). */
int filter_prepare(const struct sandbox_config *c);
/* The worker's allow-list. Violations: notified to the supervisor through
 * a listener passed over the slot's channel (c->notify), else SIGSYS
 * recorded in slot (or logged by the worker itself without a supervisor),
 * or, learning without a listener, only logged by the kernel. 0 or
 * negative errno (logged). */
int filter_worker(const struct sandbox_config *c, struct slot *slot);

#endif
