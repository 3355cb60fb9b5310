/* SPDX-License-Identifier: MIT */
/*
 * User and group names to ids: the one place libsfcgi asks NSS
 * (getpwnam/getgrnam), for sandbox.user/group, listen.owner/group,
 * allow_peers' user:/group: and --listen-owner/--listen-group.
 *
 * `sfcgi run` resolves the config's names before it executes the program
 * and hands them over in $SFCGI_IDS, so that the app process (supervisor
 * or one-process app) does not load glibc's NSS machinery only to ask the
 * same question again (ids.c says why that is safe):
 *
 *   SFCGI_IDS=u:nobody:65534:65534,g:www-data:33
 *
 * Entries are separated by ',', fields by ':'; "u:NAME:UID:GID" is a user
 * and its primary group, "g:NAME:GID" a group. Ids are decimal, 0 to
 * 4294967294, without sign or leading zeros. A name is 1 to IDS_NAME_MAX
 * bytes of anything but ',' and ':' (a name holding one is not handed
 * over: the app looks it up itself); a name appears at most once per kind.
 */
#ifndef SFCGI_IDS_H
#define SFCGI_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IDS_ENV      "SFCGI_IDS"
#define IDS_MAX      256 /* entries handed over; more are looked up by the app */
#define IDS_NAME_MAX 256 /* bytes of a name (LOGIN_NAME_MAX) */

struct ids_entry {
	char kind;     /* 'u' or 'g' */
	char *name;    /* owned by the table */
	uint32_t uid;  /* 'u' only */
	uint32_t gid;  /* the user's primary group, or the group's */
};

struct ids_table {
	struct ids_entry *v;
	size_t n;
};

/*
 * A user's uid and primary gid, or a group's gid, by name: from the hint
 * when it names it, else from NSS. 0, or -ENOENT (no such name, or NSS
 * failed); the outputs are untouched then.
 */
int ids_user(const char *name, uid_t *ret_uid, gid_t *ret_gid);
int ids_group(const char *name, gid_t *ret_gid);

/*
 * `sfcgi run` (and whatever else resolves the config for a program it
 * executes): ids_record() unsets $SFCGI_IDS and starts keeping every
 * successful NSS lookup; ids_export() sets $SFCGI_IDS to them (unset if
 * none) just before the exec. 0 or a negative errno.
 */
void ids_record(void);
int ids_export(void);

/*
 * The app process: ids_take_hint() reads $SFCGI_IDS once and unsets it (the
 * app's own children never see it); malformed content is logged once and
 * ignored, every name going to NSS. ids_drop_hint() after the config is
 * loaded: a reload's check of the new config asks NSS, as `sfcgi run` will.
 */
void ids_take_hint(void);
void ids_drop_hint(void);

/*
 * Pure: parse hint text into *ret (freed with ids_table_free()). 0, or
 * -EINVAL with why (cap bytes) saying what is wrong and where; *ret is
 * untouched then. -ENOMEM.
 */
int ids_parse(const char *s, struct ids_table *ret, char *why, size_t cap);
void ids_table_free(struct ids_table *t);

/* The hint text of t, malloc'd in *ret: names ids_name_ok() refuses are left
 * out. 0 or -ENOMEM. */
int ids_format(const struct ids_table *t, char **ret);

/* Whether a name can be handed over: 1..IDS_NAME_MAX bytes, no ',' or ':'. */
bool ids_name_ok(const char *name);

#endif
