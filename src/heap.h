/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's heap before it forks: as little of it as a worker will
 * write to (every page either process writes after fork is a page each).
 */
#ifndef SFCGI_HEAP_H
#define SFCGI_HEAP_H

/* Gives freed heap back and does glibc's pending bookkeeping of free chunks
 * now, once, rather than in each worker after fork. */
void heap_settle(void);

#endif
