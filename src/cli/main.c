/* SPDX-License-Identifier: MIT */
/* sfcgi: the command-line tool. One subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", cmd_run, "run an instance (what a unit's ExecStart= calls)" },
	{ "request", cmd_request, "send one FastCGI request and print the response" },
	{ "reload", cmd_reload, "reload a running instance and wait for the outcome (ExecReload=)" },
	{ "check", cmd_check, "validate an instance configuration and print it" },
	{ "status", cmd_status, "show a running instance, or list the instances" },
};

static int usage(FILE *f)
{
	fprintf(f, "Usage: sfcgi COMMAND [ARG]...\n       sfcgi --help | --version\n\nCommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'sfcgi COMMAND --help' tells more; see sfcgi(1).\n"
		   "No command or an unknown one: exit status 2.\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	log_init();
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("sfcgi %s\n", SFCGI_VERSION_STRING);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "sfcgi: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
