/* SPDX-License-Identifier: MIT */
/*
 * The "listen" key of sfcgi.json(5): where sfcgi makes its own listening
 * socket when systemd does not pass one. A string ("/run/sfcgi/wiki.sock",
 * "@abstract", "127.0.0.1:9000", "[::1]:9000") or, for a unix socket file,
 * an object that also says who may connect:
 *   "listen": {"path": "/run/sfcgi/wiki.sock", "mode": "0660", "group": "www-data"}
 * One key rather than "listen_mode"/"listen_group" beside it: mode, owner
 * and group belong to a socket file, and inside the object they cannot be
 * left behind when "listen" changes to a TCP address, nor given to one.
 * The bar is php-fpm's listen.mode/owner/group and spawn-fcgi's -M/-U/-G;
 * like php-fpm, a socket file is 0660 unless "mode" says otherwise.
 * Checked here, at load time, so `sfcgi check` finds what the bind would.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ids.h"
#include "json.h"

/* Room for the temporary ".PID.tmp" name activation.c binds first, as it
 * counts it (listen_unix). */
#define LISTEN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 17)

/* What is wrong with spec, or NULL. A file is absolute (a unit's working
 * directory is /), an address has a port 1..65535. */
static const char *spec_problem(const char *spec, char *buf, size_t cap)
{
	const char *port;
	struct stat st;
	char *end;
	long n;

	if (spec[0] == '/' || spec[0] == '@') {
		if (strlen(spec) > LISTEN_PATH_MAX) {
			snprintf(buf, cap, "is longer than %zu bytes (a unix socket's limit)",
				 LISTEN_PATH_MAX);
			return buf;
		}
		if (spec[0] == '/' && lstat(spec, &st) == 0 && !S_ISSOCK(st.st_mode))
			return "exists and is not a socket (sfcgi would refuse to replace it)";
		return NULL;
	}
	if (spec[0] == '[')
		port = strstr(spec, "]:") ? strstr(spec, "]:") + 1 : NULL;
	else
		port = strrchr(spec, ':');
	if (!port || (spec[0] != '[' && memchr(spec, ']', (size_t)(port - spec))))
		return "is none of: an absolute path (/run/sfcgi/NAME.sock), @abstract, HOST:PORT, "
		       "[IPv6]:PORT";
	errno = 0;
	n = strtol(port + 1, &end, 10);
	if (port[1] < '0' || port[1] > '9' || *end || errno || n < 1 || n > 65535)
		return "has no port 1..65535 after the last ':'";
	return NULL;
}

/* "mode": an octal string, as chmod(1) takes it ("0660"): JSON has no octal. */
static int listen_mode(struct json *p, int v)
{
	char *s = NULL, *end;
	int r = 0;
	long m = -1;

	if (strcmp(json_kind_of(p, v), "a string"))
		return json_fail(p, json_t_start(p, v), "\"listen.mode\": expected a string such as "
				 "\"0660\" (JSON has no octal numbers), got %s", json_kind_of(p, v));

	if (r == 0 && json_get_string(p, v, "listen.mode", &s) == 0)
		m = s[0] >= '0' && s[0] <= '7' ? strtol(s, &end, 8) : -1;
	if (r == 0 && (m < 0 || m > 0777 || *end || strlen(s) > 4))
		r = json_fail(p, json_t_start(p, v), "\"listen.mode\": expected an octal mode from "
			      "\"0000\" to \"0777\" such as \"0660\", got %.*s", JSON_ECHO(p, v));
	if (r == 0)
		p->c->listen_mode = (int)m;
	free(s);
	return r;
}

/* "owner"/"group": names, resolved now (NSS needs files the sandbox hides). */
static int listen_ids(struct json *p, int v, bool owner)
{
	char **name = owner ? &p->c->listen_owner : &p->c->listen_group;
	int r = json_get_string(p, v, owner ? "listen.owner" : "listen.group", name);
	gid_t primary;

	if (r < 0)
		return r;
	if (owner ? ids_user(*name, &p->c->listen_uid, &primary) < 0
		  : ids_group(*name, &p->c->listen_gid) < 0)
		return json_fail(p, json_t_start(p, v), "\"listen.%s\": no %s %.*s",
				 owner ? "owner" : "group", owner ? "user" : "group",
				 JSON_ECHO(p, v));
	return 0;
}

static int listen_object(struct json *p, int v)
{
	static const char *const keys[] = { "path", "mode", "owner", "group" };
	char name[JSON_ECHO_MAX + 1];
	int r = 0, file_key = -1;

	for (int k = v + 1; r == 0 && json_inside(p, k, v); k = json_next_sibling(p, k + 1)) {
		int i = -1;

		if (json_key_name(p, k, name))
			for (i = 3; i >= 0 && strcmp(keys[i], name); i--)
				;
		if (i < 0)
			return json_unknown_key(p, k, "\"listen\": ", keys, sizeof *keys, 4);
		if ((r = json_check_dup(p, v, k, "\"listen\": ")) < 0)
			return r;
		if (i == 0)
			r = json_get_string(p, k + 1, "listen.path", &p->c->listen);
		else if (i == 1)
			r = listen_mode(p, k + 1);
		else
			r = listen_ids(p, k + 1, i == 2);
		if (i > 0 && file_key < 0)
			file_key = k;
	}
	if (r == 0 && !p->c->listen)
		return json_fail(p, json_t_start(p, v), "\"listen\": missing required key \"path\"");
	if (r == 0 && file_key >= 0 && p->c->listen[0] != '/')
		return json_fail(p, json_t_start(p, file_key), "\"listen\": mode, owner and group "
				 "are a socket file's; %s has none (use them with a /path)",
				 p->c->listen[0] == '@' ? "an abstract socket" : "a TCP address");
	return r;
}

int config_set_listen(struct json *p, int v)
{
	const char *kind = json_kind_of(p, v), *why;
	char buf[96];
	int r;

	if (!strcmp(kind, "an object"))
		r = listen_object(p, v);
	else if (!strcmp(kind, "a string"))
		r = json_get_string(p, v, "listen", &p->c->listen);
	else
		return json_fail(p, json_t_start(p, v),
				 "\"listen\": expected a string or an object, got %s", kind);
	if (r < 0)
		return r;
	if (!p->c->listen[0])
		return json_fail(p, json_t_start(p, v), "\"listen\": must not be empty");
	if ((why = spec_problem(p->c->listen, buf, sizeof buf)))
		return json_fail(p, json_t_start(p, v), "\"listen\": \"%s\" %s", p->c->listen, why);
	return 0;
}

/* "status": where the supervisor makes its status socket (status.h), a
 * string as "listen" takes one; its file is always 0600. */
int config_set_status(struct json *p, int v)
{
	char buf[96];
	const char *why;
	int r = json_get_string(p, v, "status", &p->c->status);

	if (r < 0)
		return r;
	if ((why = spec_problem(p->c->status, buf, sizeof buf)))
		return json_fail(p, json_t_start(p, v), "\"status\": %.*s %s", JSON_ECHO(p, v), why);
	return 0;
}
