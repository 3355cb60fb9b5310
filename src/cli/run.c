/* SPDX-License-Identifier: MIT */
/*
 * sfcgi run INSTANCE: what a unit's ExecStart= calls. Finds the instance
 * config, puts its environment in place and executes the native program
 * (which links libsfcgi and supervises its own workers) with the config
 * handed over in $SFCGI_CONFIG. The sockets (LISTEN_FDS) pass through.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "ids.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: sfcgi run [--user] INSTANCE\n"
		   "       sfcgi run --config FILE\n"
		   "Run an instance: /etc/sfcgi/INSTANCE.json, or with --user\n"
		   "~/.config/sfcgi/INSTANCE.json ($XDG_CONFIG_HOME honoured).\n\n"
		   "  -u, --user         look up INSTANCE in the per-user configuration directory\n"
		   "  -c, --config FILE  run the configuration in FILE instead of an instance's\n"
		   "      --status-listen SPEC  the status socket (/metrics, /status, /ping)\n"
		   "                     at SPEC, over the config's \"status\"\n"
		   "  -h, --help         print this help\n\n"
		   "Exit status: 78 configuration missing or invalid (or no per-user\n"
		   "directory), 2 usage error or invalid instance name, 1 the program cannot be\n"
		   "executed; otherwise the instance's own. See sfcgi(1), sfcgi.json(5).\n");
}

/* Environment from the config; keys set by a previous run (a reload goes
 * through here again) are removed first, so deleted keys disappear. */
static int apply_env(const struct config *c)
{
	const char *old = getenv("SFCGI_ENV_KEYS");
	char keys[8192] = "";

	if (old) {
		char *copy = strdup(old), *save = NULL;

		if (!copy)
			return -ENOMEM;
		for (char *k = strtok_r(copy, ":", &save); k; k = strtok_r(NULL, ":", &save))
			unsetenv(k);
		free(copy);
	}
	for (char **e = c->env; e && *e; e++) {
		char *eq = strchr(*e, '=');
		size_t kl = (size_t)(eq - *e), used = strlen(keys);

		if (used + kl + 2 > sizeof keys)
			return -E2BIG;
		snprintf(keys + used, sizeof keys - used, "%s%.*s", used ? ":" : "", (int)kl, *e);
		if (putenv(*e) < 0)
			return -errno;
	}
	return setenv("SFCGI_ENV_KEYS", keys, 1) < 0 ? -errno : 0;
}

/* The names the config resolved, for the program (ids.c): it need not ask
 * NSS again. Without them it does, so a failure here costs only memory. */
static void export_ids(const struct config *c)
{
	int r = ids_export();

	if (r < 0)
		log_warning("%s: $" IDS_ENV " not set (%s): the program looks names up itself",
			    c->path, strerror(-r));
}

/*
 * A foreign program's supervisor is sfcgi-foreign (foreign-main.c): in the
 * build tree it sits next to sfcgi, once installed in libexecdir.
 */
static int exec_foreign(const struct config *c, const char *self)
{
	const char *slash = self ? strrchr(self, '/') : NULL;
	char path[4096];

	if (!slash || snprintf(path, sizeof path, "%.*s/sfcgi-foreign", (int)(slash - self),
			       self) >= (int)sizeof path ||
	    access(path, X_OK) < 0)
		snprintf(path, sizeof path, "%s", SFCGI_LIBEXECDIR "/sfcgi-foreign");
	export_ids(c);
	execv(path, (char *[]){ path, "--config", c->path, NULL });
	log_err("%s: executing %s: %m", c->path, path);
	return 1;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "user", no_argument, NULL, 'u' },
		{ "config", required_argument, NULL, 'c' },
		{ "status-listen", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct config c;
	struct config_error err;
	char *path = NULL, self[4096], **args;
	const char *file = NULL, *execfn;
	bool user = false;
	size_t n = 0;
	ssize_t k;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "+uc:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u': user = true; break;
		case 'c': file = optarg; break;
		case 'S': setenv("SFCGI_STATUS_LISTEN", optarg, 1); break; /* listen.c */
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((file != NULL) == (optind < argc) || argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (user && file) {
		log_err("sfcgi run: --user looks an INSTANCE up; with --config FILE it means nothing");
		return 2;
	}
	if (!file && (r = config_instance_path(argv[optind], user, &path)) < 0) {
		if (r == -EINVAL)
			log_err("%s: not a valid instance name", argv[optind]);
		else
			log_err("%s: no configuration directory (set HOME or XDG_CONFIG_HOME): %s",
				argv[optind], strerror(-r));
		return r == -EINVAL ? 2 : EXIT_CONFIG;
	}
	ids_record(); /* the config's names, resolved here once for the program (ids.c) */
	r = config_load(file ? file : path, &c, &err);
	free(path);
	if (r < 0) {
		log_err("%s", err.msg);
		return EXIT_CONFIG;
	}
	/* Where we are, for a reload to come back through sfcgi run: the path
	 * execve() was given when it is absolute (a unit's ExecStart= is),
	 * else /proc/self/exe, whose first read costs a new process about
	 * 25 us on the way to its first answer. */
	execfn = (const char *)getauxval(AT_EXECFN);
	if (execfn && execfn[0] == '/' && strlen(execfn) < sizeof self) {
		k = (ssize_t)strlen(execfn);
		memcpy(self, execfn, (size_t)k + 1);
	} else if ((k = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
		self[k] = 0;
	}
	if (k > 0)
		setenv("SFCGI_RUN", self, 1);
	setenv("SFCGI_CONFIG", c.path, 1);
	if (optind < argc)
		setenv("SFCGI_INSTANCE", argv[optind], 1);
	if (c.kind != CONFIG_NATIVE)
		return exec_foreign(&c, k > 0 ? self : NULL);
	if ((r = apply_env(&c)) < 0) {
		log_err("%s: environment: %s", c.path, strerror(-r));
		return EXIT_CONFIG;
	}
	for (char **a = c.args; a && *a; a++)
		n++;
	args = calloc(n + 3, sizeof *args);
	if (!args)
		return 1;
	args[0] = c.program;
	if (n) {
		args[1] = "--";
		memcpy(args + 2, c.args, n * sizeof *args);
	}
	export_ids(&c); /* after the config's "environment": ours wins */
	execv(c.program, args);
	log_err("%s: executing %s: %m", c.path, c.program);
	return 1;
}
