/* SPDX-License-Identifier: MIT */
/*
 * sfcgi reload: what app@.service's ExecReload= calls. Sends SIGHUP to the
 * supervisor ($MAINPID) and waits for the reload's outcome, which the
 * supervisor writes to $RUNTIME_DIRECTORY/reload (outcome.h): exit 0 once
 * the new generation serves, 1 with the reason on standard error when the
 * new configuration is refused or the new generation is rolled back, so
 * `systemctl reload` fails and `systemctl status` shows why. (systemd 253's
 * Type=notify-reload would wait on READY=1 itself; Debian 12 has 252, and
 * READY=1 alone does not tell a refused reload from a good one.) Asked
 * during a reload, it waits for the one more reload that brings, which reads
 * the configuration as it is then.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "outcome.h"
#include "sandbox.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sfcgi reload [--pid PID] [--timeout SECONDS] [INSTANCE]\n"
		"Reload a running instance and wait for the outcome: what app@.service's\n"
		"ExecReload= runs, so `systemctl reload app@INSTANCE` fails when the reload does.\n\n"
		"  -p, --pid PID          the supervisor (default: $MAINPID, set by systemd)\n"
		"  -t, --timeout SECONDS  give up waiting after this long (default 80)\n"
		"  -h, --help             print this help\n\n"
		"The outcome is read from $RUNTIME_DIRECTORY/reload (the unit's\n"
		"RuntimeDirectory=); INSTANCE only names the instance in messages.\n"
		"Exit status: 0 the new generation serves, 1 the reload was refused or rolled\n"
		"back (the reason on standard error; the old generation serves on) or the\n"
		"supervisor exited or did not answer in time, 2 usage error. See sfcgi(1).\n");
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int cmd_reload(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *pidarg = getenv("MAINPID"), *name;
	char path[4096], line[1024], *end;
	long timeout_s = 80, pid;
	long long deadline;
	uint64_t since;
	int opt, tagged;

	sandbox_filtered_by_unit(); /* ExecReload= runs under the unit's sandbox */
	while ((opt = getopt_long(argc, argv, "p:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': pidarg = optarg; break;
		case 't':
			timeout_s = strtol(optarg, &end, 10);
			if (*end || timeout_s <= 0) {
				fprintf(stderr, "sfcgi reload: --timeout %s: not a number of seconds\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = optind < argc ? argv[optind] : "instance";
	pid = pidarg ? strtol(pidarg, &end, 10) : 0;
	if (!pidarg || !*pidarg || *end || pid <= 1) {
		fprintf(stderr, "sfcgi reload %s: %s: no supervisor to reload (is the service "
				"running? `systemctl reload` sets $MAINPID; else give --pid)\n",
			name, pidarg && *pidarg ? pidarg : "no $MAINPID");
		return EXIT_USAGE;
	}
	if (outcome_path(getenv("RUNTIME_DIRECTORY"), path, sizeof path) < 0) {
		fprintf(stderr, "sfcgi reload %s: no $RUNTIME_DIRECTORY, so no way to learn the "
				"outcome: run it as the unit's ExecReload= with RuntimeDirectory= "
				"(units/app@.service has both), or send SIGHUP yourself\n", name);
		return EXIT_USAGE;
	}
	/* A SIGHUP during a reload brings one more, which reads the config
	 * after ours: the outcome we want has a later "after:" (outcome.h). */
	since = outcome_clock();
	tagged = outcome_read(path, since, line, sizeof line);
	if (tagged < 0) {
		/* started by a unit or a version that did not write it */
		if (kill((pid_t)pid, SIGHUP) < 0) {
			fprintf(stderr, "sfcgi reload %s: SIGHUP to %ld: %s\n", name, pid,
				strerror(errno));
			return EXIT_FAILED;
		}
		fprintf(stderr, "sfcgi reload %s: SIGHUP sent to %ld, which does not report the "
				"outcome (%s missing: started before this version or without "
				"RuntimeDirectory=); the journal says how the reload went; "
				"`systemctl restart` once makes reloads report\n", name, pid, path);
		return EXIT_OK;
	}
	/* A supervisor of an earlier version writes no "after:": its next
	 * outcome is the first file to appear. Ours is never removed, so a
	 * caller waiting at the same time still finds it. */
	if (!tagged && unlink(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "sfcgi reload %s: %s: %s\n", name, path, strerror(errno));
		return EXIT_FAILED;
	}
	if (kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(stderr, "sfcgi reload %s: SIGHUP to %ld: %s\n", name, pid, strerror(errno));
		return EXIT_FAILED;
	}
	deadline = now_ms() + timeout_s * 1000;
	for (;;) {
		outcome_read(path, since, line, sizeof line);
		if (!strncmp(line, "ok: ", 4)) {
			printf("sfcgi reload %s: %s\n", name, line + 4);
			return EXIT_OK;
		}
		if (*line) {
			fprintf(stderr, "sfcgi reload %s: reload failed: %s\n", name,
				!strncmp(line, "failed: ", 8) ? line + 8 : line);
			return EXIT_FAILED;
		}
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			fprintf(stderr, "sfcgi reload %s: the supervisor (PID %ld) exited during the "
					"reload: `journalctl -u app@%s` says why\n", name, pid, name);
			return EXIT_FAILED;
		}
		if (now_ms() > deadline) {
			fprintf(stderr, "sfcgi reload %s: no outcome within %ld s (%s): the journal "
					"says how the reload goes\n", name, timeout_s, path);
			return EXIT_FAILED;
		}
		usleep(20000);
	}
}
