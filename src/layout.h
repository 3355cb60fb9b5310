/* SPDX-License-Identifier: MIT */
#ifndef SFCGI_LAYOUT_H
#define SFCGI_LAYOUT_H

/* Code outside the request path that a worker runs between its fork and
 * its first idle wait (its lock-down, the supervisor's frames it returns
 * through): src/layout.ld links it with the request path, so that a worker
 * touches one 64 KiB window of libsfcgi's code (docs/design.md). */
#define WORKER_TEXT __attribute__((section(".text.sfcgi.worker")))

#endif
