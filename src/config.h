/* SPDX-License-Identifier: MIT */
/*
 * Per-instance configuration: /etc/sfcgi/<instance>.json (system),
 * ~/.config/sfcgi/<instance>.json (per user) or any file. JSON parsed with
 * jsmn, strictly: unknown or duplicate keys, wrong types, out-of-range
 * values and trailing bytes are errors reported as "file:line:col: message".
 * The format is documented in sfcgi.json(5).
 */
#ifndef SFCGI_CONFIG_H
#define SFCGI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "sandbox.h"
#include "settings.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_MAX_WORKERS 1024
#define CONFIG_LISTEN_MODE 0660 /* a socket file's mode unless "listen" says: php-fpm's */

enum config_kind {
	CONFIG_NATIVE,  /* program links libsfcgi; its sfcgi_main() supervises */
	CONFIG_FOREIGN, /* any FastCGI program, listening socket on fd 0 */
};

struct config {
	char *path;              /* the file it was read from */
	enum config_kind kind;   /* "kind": "native" (default) | "foreign" */
	char *program;           /* "program": absolute path, executable (required) */
	char **args;             /* "args": [strings], NULL-terminated */
	char **env;              /* "environment": {"K": "V"} as "K=V", NULL-terminated */
	uint32_t workers;        /* "workers": 0..1024, default: number of CPUs */
	uint64_t max_requests;   /* "max_requests": per worker, 0 = unlimited (default) */
	uint32_t idle_timeout_ms;    /* "idle_timeout": s, 0 = never (default) */
	uint32_t request_timeout_ms; /* "request_timeout": s, 0 = none; default 300 */
	uint32_t drain_timeout_ms;   /* "drain_timeout": s, default 30 */
	int drain_signal;        /* "drain_signal": foreign programs, "SIGTERM" (default) */
	char *listen;            /* "listen": as --listen (or its "path"); wins over systemd's
				  * sockets */
	int listen_mode;         /* "listen": {"mode": "0660"}: a socket file's (default 0660) */
	char *listen_owner;      /* "listen": {"owner", "group"}: names, NULL if not given, */
	char *listen_group;
	uid_t listen_uid;        /* and their ids; (uid_t)-1 and (gid_t)-1 leave them ours */
	gid_t listen_gid;
	char *fdname;            /* "fdname": as --fdname */
	char *status;            /* "status": the status socket (status.h), or NULL */
	uint32_t slow_request_ms; /* "slow_request": s, 0 = off (default) */
	struct settings limits;  /* "limits": {settings_table keys} */
	char *spill_dir;         /* "spill_dir": held bodies past request_memory, or NULL:
				  * $CACHE_DIRECTORY, $TMPDIR, /tmp (spill.c) */
	struct sandbox_config sandbox; /* "sandbox": {...} or false */
};

struct config_error {
	char msg[512]; /* "file:line:col: message", one line */
};

/*
 * The unit setting that creates path for the system instance whose file is
 * config_path (/etc/sfcgi/NAME.json: "StateDirectory=" for /var/lib/sfcgi/
 * NAME, CacheDirectory=, LogsDirectory=, RuntimeDirectory=), or NULL.
 */
const char *config_unit_directory(const char *config_path, const char *path);

/* Defaults for every field (program NULL). */
void config_defaults(struct config *c);

/*
 * Reads and validates path. 0 and *c filled (free with config_free), or a
 * negative errno with err->msg set; *c is then left in its default state.
 */
int config_load(const char *path, struct config *c, struct config_error *err);

/*
 * As config_load(), for a native program reading its own --config FILE:
 * "program" may be left out there, since the program is the one reading
 * it. `sfcgi run` and sfcgi-foreign need it to know what to execute.
 */
int config_load_own(const char *path, struct config *c, struct config_error *err);

/* Parses a JSON text already in memory; name is used in messages. */
int config_parse(const char *name, const char *text, size_t len, struct config *c,
		 struct config_error *err);

void config_free(struct config *c);

/*
 * The file of an instance: ~/.config/sfcgi/NAME.json ($XDG_CONFIG_HOME
 * honoured) when user is true, else /etc/sfcgi/NAME.json. NAME must be a
 * plain name ([A-Za-z0-9_.@:-], not starting with '.'). 0 and a malloc'd
 * *ret_path, -EINVAL for a bad name.
 */
int config_instance_path(const char *name, bool user, char **ret_path);

/* config_listen.c: the "listen" key (token v), a string or an object. */
struct json;
int config_set_listen(struct json *p, int v);
/* and "status", a string as "listen" takes */
int config_set_status(struct json *p, int v);

/* The effective configuration, defaults filled in, as JSON. */
void config_print(const struct config *c, FILE *f);

/* For config_print.c: a limit as written in the file (seconds for
 * SETTING_MS, else the plain number), and a drain signal's name (NULL if
 * it is none of "drain_signal"'s choices). */
void config_fmt_limit(char *buf, size_t cap, enum setting_type type, uint64_t v);
const char *config_drain_signal_name(int sig);

#endif
