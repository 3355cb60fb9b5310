/* SPDX-License-Identifier: MIT */
/* See allowlog.h. */
#include "allowlog.h"

#include <stdio.h>
#include <string.h>

static const char other_key[] = "other peers";

/* Its window over with nothing held: the entry may be reused. */
static bool spent(const struct allowlog_peer *p, int64_t now)
{
	return !p->key[0] || (!p->held && now - p->start >= ALLOWLOG_WINDOW_MS);
}

static bool count(struct allowlog_peer *p, int64_t now)
{
	if (spent(p, now)) { /* a new window: this one is written */
		p->start = now;
		p->held = 0;
		return true;
	}
	p->held++;
	return false;
}

bool allowlog_admit(struct allowlog *t, const char *key, int64_t now, bool *ret_other)
{
	struct allowlog_peer *free_p = NULL;

	*ret_other = false;
	for (size_t i = 0; i < ALLOWLOG_PEERS; i++) {
		struct allowlog_peer *p = &t->p[i];

		if (p->key[0] && !strcmp(p->key, key))
			return count(p, now);
		if (!free_p && spent(p, now))
			free_p = p;
	}
	if (free_p) {
		snprintf(free_p->key, sizeof free_p->key, "%s", key);
		free_p->held = 0;
		free_p->start = now;
		return true;
	}
	*ret_other = true;
	if (!t->other.key[0])
		snprintf(t->other.key, sizeof t->other.key, "%s", other_key);
	return count(&t->other, now);
}

static bool due(const struct allowlog_peer *p, int64_t now, bool all)
{
	return p->key[0] && p->held && (all || now - p->start >= ALLOWLOG_WINDOW_MS);
}

bool allowlog_summary(struct allowlog *t, int64_t now, bool all, char *key, uint64_t *ret_held,
		      int64_t *ret_secs)
{
	struct allowlog_peer *p = NULL;

	for (size_t i = 0; i < ALLOWLOG_PEERS && !p; i++)
		if (due(&t->p[i], now, all))
			p = &t->p[i];
	if (!p && due(&t->other, now, all))
		p = &t->other;
	if (!p)
		return false;
	snprintf(key, ALLOWLOG_KEY, "%s", p->key);
	*ret_held = p->held;
	*ret_secs = (now - p->start) / 1000 < 1 ? 1 : (now - p->start) / 1000;
	/* Still knocking: the next window writes only its count. */
	p->start = now;
	p->held = 0;
	return true;
}
