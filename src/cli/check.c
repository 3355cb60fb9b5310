/* SPDX-License-Identifier: MIT */
/*
 * sfcgi check: validate an instance configuration the way `sfcgi run` will
 * read it, and print the effective configuration (every default filled
 * in), so a typo is found before a reload refuses it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

enum { EXIT_VALID = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sfcgi check [--user] INSTANCE|FILE\n"
		"Validate a configuration and print it with every default filled in.\n\n"
		"An argument that contains '/' or ends in .json is a file; anything else\n"
		"is an instance name: /etc/sfcgi/INSTANCE.json, or with --user\n"
		"$XDG_CONFIG_HOME/sfcgi/INSTANCE.json (default ~/.config/sfcgi).\n\n"
		"  -u, --user   look up INSTANCE in the per-user configuration directory\n"
		"  -h, --help   print this help\n\n"
		"A FILE may leave \"program\" out (a native program's own --config FILE);\n"
		"an INSTANCE may not: `sfcgi run` executes it.\n\n"
		"Exit status: 0 valid, 1 invalid or unreadable (one line on standard error,\n"
		"FILE:LINE:COLUMN: message), 2 usage error. See sfcgi.json(5).\n");
}

static bool is_file(const char *arg)
{
	size_t n = strlen(arg);

	return strchr(arg, '/') || (n >= 5 && !strcmp(arg + n - 5, ".json"));
}

/*
 * The shipped app@.service runs instance NAME as the dynamic user sfcgi-NAME
 * (User=sfcgi-%i); systemd refuses a user name longer than 31 characters or
 * with other characters than letters, digits, '-' and '_', and says only
 * "Failed to run 'start' task: Invalid argument". Said here instead.
 */
#define USER_PREFIX "sfcgi-"
#define USER_NAME_MAX 31

static void check_user_name(const char *name)
{
	size_t n = strlen(name), max = USER_NAME_MAX - strlen(USER_PREFIX);
	bool ok = n <= max;

	for (const char *p = name; *p && ok; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
	if (!ok)
		fprintf(stderr, "sfcgi check: instance name '%s': the shipped app@.service runs it "
				"as the dynamic user " USER_PREFIX "%s, which systemd refuses (a user "
				"name is at most %d letters, digits, '-' and '_'), so app@%s.service "
				"would fail with \"Invalid argument\": name the instance with at most "
				"%zu of those, or run it as a named user (a drop-in with DynamicUser=no "
				"and User=NAME; see sfcgi(1))\n",
			name, name, USER_NAME_MAX, name, max);
}

/* The file to read for arg, malloc'd; NULL with the exit status in *ret_code. */
static char *resolve(const char *arg, bool user, int *ret_code)
{
	char *path = NULL;
	int r;

	if (is_file(arg)) {
		if (!(path = strdup(arg)))
			*ret_code = EXIT_INVALID;
		return path;
	}
	r = config_instance_path(arg, user, &path);
	if (r == -EINVAL) {
		fprintf(stderr, "sfcgi check: '%s' is not an instance name (letters, digits and "
				"_.@:- , not starting with '.') nor a file\n", arg);
		*ret_code = EXIT_USAGE;
	} else if (r == -ENXIO) {
		fprintf(stderr, "sfcgi check: neither XDG_CONFIG_HOME nor HOME is set to an "
				"absolute path: no per-user configuration directory\n");
		*ret_code = EXIT_INVALID;
	} else if (r < 0) {
		fprintf(stderr, "sfcgi check: %s\n", strerror(-r));
		*ret_code = EXIT_INVALID;
	}
	return r < 0 ? NULL : path;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "user", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct config c;
	struct config_error err;
	bool user = false;
	char *path;
	int opt, code = EXIT_VALID;

	while ((opt = getopt_long(argc, argv, "uh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			user = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_VALID;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!(path = resolve(argv[optind], user, &code)))
		return code;
	/* An instance is what `sfcgi run` starts: it needs "program". A file may
	 * also be a native program's own --config FILE, which need not. */
	if ((is_file(argv[optind]) ? config_load_own(path, &c, &err)
				   : config_load(path, &c, &err)) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		free(path);
		return EXIT_INVALID;
	}
	if (!is_file(argv[optind]) && !user)
		check_user_name(argv[optind]);
	for (int l = 0; l < 2; l++)
		for (char **d = l ? c.sandbox.read_write : c.sandbox.read_only; d && *d; d++)
			if (access(*d, F_OK) < 0 && config_unit_directory(c.path, *d))
				fprintf(stderr, "%s: %s does not exist yet: it will be created by the "
						"unit's %s at start (app@.service)\n",
					c.path, *d, config_unit_directory(c.path, *d));
	if (!c.program)
		fprintf(stderr, "%s: no \"program\": valid for a native program started as "
				"PROGRAM --config %s; `sfcgi run` needs \"program\" to know what "
				"to execute\n",
			path, path);
	config_print(&c, stdout);
	config_free(&c);
	free(path);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "sfcgi check: writing the configuration: %s\n", strerror(errno));
		return EXIT_INVALID;
	}
	return EXIT_VALID;
}
