/* SPDX-License-Identifier: MIT */
/*
 * User and group names to ids (ids.h), resolved once per start by `sfcgi
 * run` and handed to the program it executes in $SFCGI_IDS.
 *
 * Why: a config naming a user ("sandbox": {"user": "nobody"}) made the app
 * process call getpwnam(), which parses /etc/nsswitch.conf and runs glibc's
 * NSS code and stdio: about 200 KiB more of libc resident and 65 KiB more
 * Pss in a one-process app (docs/design.md, issue 12), for an answer
 * `sfcgi run` had just got while checking the same config.
 *
 * Trust: $SFCGI_IDS is believed as $SFCGI_CONFIG and $LISTEN_FDS are.
 * Whoever sets the environment of the app process also chooses its config
 * (SFCGI_CONFIG: any file, naming any user), its sockets and its libraries
 * (LD_PRELOAD); a false SFCGI_IDS gives them nothing more. What the hint
 * must not do is lie by accident: it is parsed strictly (ids.h), any flaw
 * discards all of it with one log line and NSS answers instead, and a name
 * is either in it whole or not at all. It is unset once read, so nothing
 * the app starts (CGI scripts, foreign programs) inherits it, and dropped
 * once the config is loaded: a reload's check asks NSS, and the
 * re-executed `sfcgi run` resolves afresh, so a changed /etc/passwd is
 * picked up by a reload as before.
 */
#include "ids.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ID_MAX UINT32_C(4294967294) /* (uid_t)-1 means "no change" to chown() and setresuid() */

static struct ids_table hint;     /* the app: what `sfcgi run` resolved */
static struct ids_table recorded; /* `sfcgi run`: what NSS answered */
static bool recording;

bool ids_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= IDS_NAME_MAX && !name[strcspn(name, ",:")];
}

static const struct ids_entry *find(const struct ids_table *t, char kind, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].kind == kind && !strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

/* name: len bytes, copied */
static int add(struct ids_table *t, char kind, const char *name, size_t len, uint32_t uid,
	       uint32_t gid)
{
	struct ids_entry *v;
	char *copy;

	if (!(t->n % 8)) {
		if (!(v = realloc(t->v, (t->n + 8) * sizeof *v)))
			return -ENOMEM;
		t->v = v;
	}
	if (!(copy = strndup(name, len)))
		return -ENOMEM;
	t->v[t->n++] = (struct ids_entry){ .kind = kind, .name = copy, .uid = uid, .gid = gid };
	return 0;
}

void ids_table_free(struct ids_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* A decimal id at *p: no sign, no leading zero, at most ID_MAX. */
static bool number(const char **p, uint32_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((v = v * 10 + (uint64_t)(*s - '0')) > ID_MAX)
			return false;
	*ret = (uint32_t)v;
	*p = s;
	return true;
}

/* One entry at *p, added to t: 0, -EINVAL (why says), -ENOMEM. */
static int entry(const char **p, struct ids_table *t, char *why, size_t cap)
{
	const char *s = *p, *name = s + 2;
	uint32_t uid = 0, gid = 0;
	char kind = s[0];
	size_t len;

	if ((kind != 'u' && kind != 'g') || s[1] != ':') {
		snprintf(why, cap, "an entry starts with \"u:\" or \"g:\"");
		return -EINVAL;
	}
	len = strcspn(name, ",:"); /* name: within the string, s[1] being ':' */
	if (len == 0 || len > IDS_NAME_MAX || name[len] != ':') {
		snprintf(why, cap, "expected NAME: (1 to %d bytes, no ',' or ':')", IDS_NAME_MAX);
		return -EINVAL;
	}
	s = name + len + 1;
	if (!number(&s, kind == 'u' ? &uid : &gid) ||
	    (kind == 'u' && (*s++ != ':' || !number(&s, &gid)))) {
		snprintf(why, cap, "%s", kind == 'u' ? "expected u:NAME:UID:GID" : "expected g:NAME:GID");
		return -EINVAL;
	}
	if (*s && *s != ',') {
		snprintf(why, cap, "expected ',' or the end after an entry");
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].kind == kind && strlen(t->v[i].name) == len &&
		    !memcmp(t->v[i].name, name, len)) {
			snprintf(why, cap, "%s %.*s appears twice", kind == 'u' ? "user" : "group",
				 (int)len, name);
			return -EINVAL;
		}
	*p = s;
	return add(t, kind, name, len, uid, gid);
}

int ids_parse(const char *s, struct ids_table *ret, char *why, size_t cap)
{
	struct ids_table t = { 0 };
	const char *p = s;
	int r = 0;

	while (r == 0 && *s) {
		if (t.n == IDS_MAX) {
			snprintf(why, cap, "more than %d entries", IDS_MAX);
			r = -EINVAL;
		} else if ((r = entry(&p, &t, why, cap)) == 0 && *p == ',' && !*++p) {
			snprintf(why, cap, "a ',' ends it");
			r = -EINVAL;
		}
		if (r == -EINVAL) { /* where, for the log line */
			size_t n = strlen(why);

			snprintf(why + n, cap > n ? cap - n : 0, " at byte %zu", (size_t)(p - s));
		}
		if (r == 0 && !*p)
			break;
	}
	if (r < 0) {
		ids_table_free(&t);
		return r;
	}
	*ret = t;
	return 0;
}

int ids_format(const struct ids_table *t, char **ret)
{
	size_t cap = 1, len = 0;
	char *s;

	for (size_t i = 0; i < t->n; i++)
		cap += strlen(t->v[i].name) + 2 * 11 + 4;
	if (!(s = malloc(cap)))
		return -ENOMEM;
	s[0] = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct ids_entry *e = &t->v[i];

		if (!ids_name_ok(e->name))
			continue;
		if (e->kind == 'u')
			len += (size_t)snprintf(s + len, cap - len, "%su:%s:%u:%u", len ? "," : "",
						e->name, (unsigned)e->uid, (unsigned)e->gid);
		else
			len += (size_t)snprintf(s + len, cap - len, "%sg:%s:%u", len ? "," : "", e->name,
						(unsigned)e->gid);
	}
	*ret = s;
	return 0;
}

/* An NSS answer, kept for ids_export() when recording. */
static void remember(char kind, const char *name, uint32_t uid, uint32_t gid)
{
	if (recording && recorded.n < IDS_MAX && ids_name_ok(name) && !find(&recorded, kind, name))
		add(&recorded, kind, name, strlen(name), uid, gid); /* no room: the app asks NSS */
}

int ids_user(const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
	const struct ids_entry *e = find(&hint, 'u', name);
	struct passwd *pw;

	if (e) {
		*ret_uid = e->uid;
		*ret_gid = e->gid;
		return 0;
	}
	if (!(pw = getpwnam(name)))
		return -ENOENT;
	remember('u', name, pw->pw_uid, pw->pw_gid);
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	return 0;
}

int ids_group(const char *name, gid_t *ret_gid)
{
	const struct ids_entry *e = find(&hint, 'g', name);
	struct group *gr;

	if (e) {
		*ret_gid = e->gid;
		return 0;
	}
	if (!(gr = getgrnam(name)))
		return -ENOENT;
	remember('g', name, 0, gr->gr_gid);
	*ret_gid = gr->gr_gid;
	return 0;
}

void ids_record(void)
{
	unsetenv(IDS_ENV);
	ids_drop_hint();
	ids_table_free(&recorded);
	recording = true;
}

int ids_export(void)
{
	char *s = NULL;
	int r = 0;

	if (!recorded.n)
		return unsetenv(IDS_ENV) < 0 ? -errno : 0;
	if ((r = ids_format(&recorded, &s)) == 0 && setenv(IDS_ENV, s, 1) < 0)
		r = -errno;
	free(s);
	return r;
}

void ids_take_hint(void)
{
	const char *s = getenv(IDS_ENV);
	char why[160];

	if (!s)
		return;
	ids_drop_hint();
	if (ids_parse(s, &hint, why, sizeof why) == -EINVAL)
		log_warning("$" IDS_ENV " ignored, user and group names are looked up here: %s", why);
	unsetenv(IDS_ENV);
}

void ids_drop_hint(void)
{
	ids_table_free(&hint);
}
