/* SPDX-License-Identifier: MIT */
/*
 * sfcgi-foreign --config FILE: the supervisor of a "kind": "foreign"
 * instance (foreign.c). `sfcgi run` executes it, from libexecdir; it is the
 * only part of the tool that needs libsystemd (socket adoption, sd_notify),
 * so the sfcgi command itself, which every native instance starts through,
 * stays a light exec.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"

int main(int argc, char **argv)
{
	struct config c;
	struct config_error err;

	log_init();
	if (argc != 3 || strcmp(argv[1], "--config") != 0) {
		fprintf(stderr, "Usage: sfcgi-foreign --config FILE   (started by `sfcgi run`)\n");
		return 2;
	}
	if (config_load(argv[2], &c, &err) < 0) {
		log_err("%s", err.msg);
		return EXIT_CONFIG;
	}
	if (c.kind == CONFIG_NATIVE) {
		log_err("%s: not a foreign program (\"kind\"): start it with sfcgi run", c.path);
		return EXIT_CONFIG;
	}
	return run_foreign(&c);
}
