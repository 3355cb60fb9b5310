/* SPDX-License-Identifier: MIT */
/*
 * "allow_from" and "allow_peers" of sfcgi.json(5) (allow.h): each entry
 * checked now, so that `sfcgi check` and a reload find what the instance
 * would otherwise refuse at accept; names resolved now (NSS reads files
 * the sandbox hides).
 *   "allow_from": ["10.0.0.5", "10.0.1.0/24", "fd00::/64"]
 *   "allow_peers": ["www-data", "group:www-data", "uid:33", "gid:33"]
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int entries(struct json *p, int v, bool from)
{
	const char *what = from ? "allow_from" : "allow_peers";
	struct allowlist *l = &p->c->allow;
	char item[32], why[160];
	int r = json_expect(p, v, "an array", what), n = 0;

	if (r == 0 && p->tok[v].size == 0)
		return json_fail(p, json_t_start(p, v), "\"%s\": an empty list would let no one "
				 "in; leave the key out to allow %s", what,
				 from ? "any address" : "any peer the socket file's mode lets in");
	if (r == 0 && p->tok[v].size > ALLOW_MAX)
		return json_fail(p, json_t_start(p, v), "\"%s\": more than %d entries", what,
				 ALLOW_MAX);
	for (int i = v + 1; r == 0 && json_inside(p, i, v); i = json_next_sibling(p, i), n++) {
		struct allow_net net;
		struct allow_peer peer;
		char *s = NULL;

		snprintf(item, sizeof item, "%s[%d]", what, n);
		r = json_get_string(p, i, item, &s);
		if (r == 0 && (from ? allow_parse_net(s, &net, why, sizeof why)
				    : allow_parse_peer(s, &peer, why, sizeof why)) < 0)
			r = json_fail(p, json_t_start(p, i), "\"%s\": %.*s %s", item, JSON_ECHO(p, i),
				      why);
		if (r == 0 && (from ? allow_add_net(l, &net) : allow_add_peer(l, &peer)) < 0)
			r = json_oom(p);
		free(s);
	}
	return r;
}

int config_set_allow(struct json *p, int v, bool from)
{
	return entries(p, v, from);
}
