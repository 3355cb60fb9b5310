/* SPDX-License-Identifier: MIT */
/*
 * The public entry points: sfcgi_main() and the pull loop. One visible
 * startup line: options -> sockets -> app init -> READY=1 -> loop.
 */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "log.h"
#include "request.h"
#include "settings.h"
#include "sfcgi.h"
#include "worker.h"

struct sfcgi_server {
	struct worker w;
	bool ready_sent;
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Serve FastCGI on the sockets systemd passes (LISTEN_FDS), on --listen, or on a\n"
		"listening socket on fd 0.\n\n"
		"  -l, --listen SPEC       /path.sock, @abstract, HOST:PORT, [IPv6]:PORT or :PORT\n"
		"  -m, --listen-mode MODE  octal mode of a --listen unix socket (default: umask)\n"
		"  -n, --fdname NAME       use only the systemd sockets named NAME\n"
		"  -s, --set KEY=VALUE     set a limit (see below); may repeat\n"
		"  -h, --help              this text\n"
		"  -V, --version           the version\n\nLimits (KEY, default, meaning):\n",
		prog);
	for (size_t i = 0; i < settings_count; i++) {
		const struct setting_desc *d = &settings_table[i];

		if (d->type == SETTING_MS)
			fprintf(f, "  %-18s %8gs  %s\n", d->key, (double)d->def / 1000, d->help);
		else
			fprintf(f, "  %-18s %9llu  %s\n", d->key, (unsigned long long)d->def, d->help);
	}
}

struct options {
	struct activation_opts act;
	struct settings set;
};

/* 0 to go on, 1 after --help/--version, -EINVAL after a logged error. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "listen-mode", required_argument, NULL, 'm' },
		{ "fdname", required_argument, NULL, 'n' },
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *prog = argc > 0 && argv[0] ? argv[0] : "sfcgi-app";
	int c;

	memset(o, 0, sizeof *o);
	o->act.listen_mode = -1;
	settings_defaults(&o->set);
	optind = 0; /* full reset: we may be called more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+l:m:n:s:hV", longopts, NULL)) != -1) {
		const struct setting_desc *d;
		const char *why = NULL;
		char *eq, *end;
		long mode;

		switch (c) {
		case 'l':
			o->act.listen = optarg;
			break;
		case 'm':
			mode = strtol(optarg, &end, 8);
			if (*end || mode < 0 || mode > 07777) {
				log_err("--listen-mode %s: expected an octal mode such as 0660", optarg);
				return -EINVAL;
			}
			o->act.listen_mode = (int)mode;
			break;
		case 'n':
			o->act.fdname = optarg;
			break;
		case 's':
			eq = strchr(optarg, '=');
			if (eq)
				*eq = 0;
			d = settings_find(optarg);
			if (!d || !eq) {
				log_err("--set %s: %s", optarg,
					!eq ? "expected KEY=VALUE" : "unknown key (see --help)");
				if (eq)
					*eq = '=';
				return -EINVAL;
			}
			*eq = '=';
			if (settings_set(&o->set, d, eq + 1, &why) < 0) {
				log_err("--set %s: %s (allowed %llu..%llu%s)", optarg, why,
					(unsigned long long)(d->type == SETTING_MS ? d->min / 1000 : d->min),
					(unsigned long long)(d->type == SETTING_MS ? d->max / 1000 : d->max),
					d->type == SETTING_MS ? " seconds" : "");
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout, prog);
			return 1;
		case 'V':
			printf("sfcgi %s\n", sfcgi_version());
			return 1;
		default:
			log_err("%s: unknown option or missing argument; see --help",
				argv[optind - 1] ? argv[optind - 1] : "?");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_err("%s: unexpected argument; see --help", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int sfcgi_server_open(int argc, char **argv, struct sfcgi_server **ret_server)
{
	struct sfcgi_server *s;
	struct options o;
	int *fds = NULL;
	size_t nfds = 0;
	int r;

	if (!ret_server || argc < 0 || (argc > 0 && !argv))
		return -EINVAL;
	log_init();
	r = parse_options(argc, argv, &o);
	if (r != 0)
		return r > 0 ? -ECANCELED : r;
	r = activation_adopt(&o.act, &fds, &nfds);
	if (r < 0)
		return r;
	s = calloc(1, sizeof *s);
	if (!s) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		free(fds);
		return -ENOMEM;
	}
	r = worker_init(&s->w, &o.set, fds, nfds);
	free(fds);
	if (r < 0) {
		log_err("starting the worker loop: %s", strerror(-r));
		sfcgi_server_free(s);
		return r;
	}
	*ret_server = s;
	return 0;
}

int sfcgi_accept(struct sfcgi_server *s, struct sfcgi_request **ret_request)
{
	struct request *r;
	int k;

	if (!s || !ret_request)
		return -EINVAL;
	if (s->w.current)
		/* libfcgi's FCGX_Accept_r finishes the previous request too. */
		sfcgi_finish(request_handle(s->w.current), 0);
	if (!s->ready_sent) {
		s->ready_sent = true;
		activation_notify("READY=1\nSTATUS=serving");
	}
	k = worker_next(&s->w, &r);
	if (k <= 0)
		return k;
	*ret_request = request_handle(r);
	return 1;
}

void sfcgi_server_free(struct sfcgi_server *s)
{
	if (!s)
		return;
	worker_free(&s->w);
	free(s);
}

int sfcgi_main(int argc, char **argv, const struct sfcgi_app *app)
{
	struct sfcgi_server *s = NULL;
	struct sfcgi_request *req;
	int r;

	if (!app || !app->handler) {
		log_err("sfcgi_main: no handler given");
		return 1;
	}
	r = sfcgi_server_open(argc, argv, &s);
	if (r == -ECANCELED)
		return 0;
	if (r < 0)
		return 1;
	if (app->init && (r = app->init(app->userdata)) < 0) {
		log_err("the application's init failed: %s", strerror(-r));
		sfcgi_server_free(s);
		return 1;
	}
	while ((r = sfcgi_accept(s, &req)) > 0) {
		int status = app->handler(req, app->userdata);

		/* Unless the handler finished it itself, this ends the request. */
		if (s->w.current)
			sfcgi_finish(req, status);
	}
	if (r < 0)
		log_err("worker loop: %s", strerror(-r));
	if (app->fini)
		app->fini(app->userdata);
	sfcgi_server_free(s);
	return r < 0 ? 1 : 0;
}

const char *sfcgi_version(void)
{
	return SFCGI_VERSION_STRING;
}
