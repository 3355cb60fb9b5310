/* SPDX-License-Identifier: MIT */
/*
 * At max_conns, a new connection takes the place of another instead of
 * waiting in the backlog: the kept connection idle longest, else the
 * request arriving slowest. So slow or silent peers cannot hold every
 * place while the web server's connections wait.
 */
#ifndef SFCGI_EVICT_H
#define SFCGI_EVICT_H

#include <stdint.h>

struct conn;
struct worker;

/* The connection a new one would replace, or NULL; *ret_next (if not
 * NULL): when one may next become a victim (INT64_MAX: none may). */
struct conn *evict_victim(const struct worker *w, int64_t *ret_next);

/* evict_victim(), but a connection with bytes waiting unread is read
 * first and another chosen. */
struct conn *evict_choose(struct worker *w);

/* Closes the victim, logged once per kind. */
void evict_close(struct worker *w, struct conn *c);

#endif
