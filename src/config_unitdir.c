/* SPDX-License-Identifier: MIT */
/*
 * The paths of an instance: its config file (/etc/sfcgi/NAME.json, or the
 * user's), and those that do not exist before the first start because
 * systemd creates them for the instance: app@NAME.service has
 * StateDirectory=sfcgi/%i and the like. A config naming /var/lib/sfcgi/NAME
 * is right before the first start, and `sfcgi check` says who creates it
 * instead of refusing it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

const char *config_unit_directory(const char *config_path, const char *path)
{
	static const struct {
		const char *dir, *setting;
	} dirs[] = {
		{ "/var/lib/sfcgi/", "StateDirectory=" },
		{ "/var/cache/sfcgi/", "CacheDirectory=" },
		{ "/var/log/sfcgi/", "LogsDirectory=" },
		{ "/run/sfcgi/", "RuntimeDirectory=" },
	};
	static const char etc[] = "/etc/sfcgi/";
	const char *name;
	size_t n, len = strlen(path);

	/* only a system instance's file: /etc/sfcgi/NAME.json names app@NAME */
	if (!config_path || strncmp(config_path, etc, sizeof etc - 1))
		return NULL;
	name = config_path + sizeof etc - 1;
	n = strlen(name);
	if (n <= 5 || strcmp(name + n - 5, ".json") || memchr(name, '/', n))
		return NULL;
	n -= 5;
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		size_t d = strlen(dirs[i].dir);

		if (len == d + n && !strncmp(path, dirs[i].dir, d) && !strncmp(path + d, name, n))
			return dirs[i].setting;
	}
	return NULL;
}

int config_instance_path(const char *name, bool user, char **ret_path)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789_.@:-";
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	size_t n = name ? strlen(name) : 0;
	int r;

	/* 250: NAME_MAX less ".json". XDG: a relative directory is to be ignored. */
	if (n == 0 || n > 250 || name[0] == '.' || strspn(name, ok) != n)
		return -EINVAL;
	if (!user)
		r = asprintf(ret_path, "/etc/sfcgi/%s.json", name);
	else if (xdg && xdg[0] == '/')
		r = asprintf(ret_path, "%s/sfcgi/%s.json", xdg, name);
	else if (home && home[0] == '/')
		r = asprintf(ret_path, "%s/.config/sfcgi/%s.json", home, name);
	else
		return -ENXIO;
	return r < 0 ? -ENOMEM : 0;
}
