/* SPDX-License-Identifier: MIT */
/*
 * Paths that do not exist before the first start, because systemd creates
 * them for the instance: app@NAME.service has StateDirectory=sfcgi/%i and
 * the like. A config naming /var/lib/sfcgi/NAME is right before the first
 * start, and `sfcgi check` says who creates it instead of refusing it.
 */
#include <stdio.h>
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
