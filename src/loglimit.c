/* SPDX-License-Identifier: MIT */
#include "loglimit.h"

#include <stdio.h>
#include <string.h>

void loglimit_reset(struct loglimit *t)
{
	memset(t, 0, sizeof *t);
	t->due = INT64_MAX;
}

void loglimit_forget(struct loglimit *t)
{
	/* Only the kinds in use, not all 10 KiB: a worker calls this after
	 * fork, and every page it writes stops being shared with the supervisor. */
	for (size_t i = 0; i < LOGLIMIT_KINDS; i++)
		if (t->k[i].key)
			memset(&t->k[i], 0, sizeof t->k[i]);
	if (t->due != INT64_MAX)
		t->due = INT64_MAX;
}

static void recompute_due(struct loglimit *t)
{
	t->due = INT64_MAX;
	for (size_t i = 0; i < LOGLIMIT_KINDS; i++)
		if (t->k[i].held && t->k[i].start + LOGLIMIT_WINDOW_MS < t->due)
			t->due = t->k[i].start + LOGLIMIT_WINDOW_MS;
}

/* Its window over with nothing held: the kind's place may be taken. */
static bool spent(const struct logkind *k, int64_t now)
{
	return !k->key || (!k->held && now - k->start >= LOGLIMIT_WINDOW_MS);
}

int loglimit_admit(struct loglimit *t, const void *key, int prio, int64_t now,
		   struct logkind **ret_kind)
{
	struct logkind *k = NULL, *free_k = NULL;

	for (size_t i = 0; i < LOGLIMIT_KINDS && !k; i++) {
		if (t->k[i].key == key && t->k[i].prio == prio)
			k = &t->k[i];
		else if (!free_k && spent(&t->k[i], now))
			free_k = &t->k[i];
	}
	if (!k || spent(k, now)) {
		if (!k)
			k = free_k;
		if (!k) /* more kinds at once than the table holds: never lose a line */
			return LOGLIMIT_PASS;
		*k = (struct logkind){.key = key, .start = now, .prio = prio};
	}
	*ret_kind = k;
	if (k->shown < LOGLIMIT_BURST)
		return k->shown++ ? LOGLIMIT_PASS : LOGLIMIT_FIRST;
	if (k->held++ == 0 && k->start + LOGLIMIT_WINDOW_MS < t->due)
		t->due = k->start + LOGLIMIT_WINDOW_MS;
	return LOGLIMIT_HOLD;
}

void loglimit_remember(struct logkind *k, const char *text, size_t len)
{
	static const char more[] = "...";

	if (len < sizeof k->first) {
		memcpy(k->first, text, len);
		k->first[len] = 0;
		return;
	}
	/* cut at a character's start, not inside a UTF-8 sequence */
	len = sizeof k->first - sizeof more;
	while (len && ((unsigned char)text[len] & 0xc0) == 0x80)
		len--;
	memcpy(k->first, text, len);
	memcpy(k->first + len, more, sizeof more);
}

void loglimit_count(uint64_t n, char *buf, size_t len)
{
	char digits[24];
	int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
	size_t o = 0;

	for (int i = 0; i < nd && o + 1 < len; i++) {
		if (i && (nd - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	if (len)
		buf[o < len ? o : len - 1] = 0;
}

size_t loglimit_summary(struct loglimit *t, int64_t now, bool all, char *buf, size_t len,
			int *ret_prio)
{
	for (size_t i = 0; i < LOGLIMIT_KINDS; i++) {
		struct logkind *k = &t->k[i];
		char count[32];
		int64_t secs = (now - k->start) / 1000;
		int n;

		if (!k->held || (!all && now < k->start + LOGLIMIT_WINDOW_MS))
			continue;
		loglimit_count(k->held, count, sizeof count);
		n = snprintf(buf, len, "... and %s more like \"%s\" in the last %lld s", count,
			     k->first, (long long)(secs < 1 ? 1 : secs));
		*ret_prio = k->prio;
		/* Still coming: the next window passes no line, only its summary. */
		k->start = now;
		k->held = 0;
		k->shown = LOGLIMIT_BURST;
		recompute_due(t);
		if (n < 0)
			n = 0;
		return (size_t)n < len ? (size_t)n : len ? len - 1 : 0;
	}
	recompute_due(t);
	return 0;
}
