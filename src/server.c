/* SPDX-License-Identifier: MIT */
/*
 * The public entry points: sfcgi_main() and the pull loop. One visible
 * startup line: options -> sockets -> app init -> READY=1 -> loop.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "config.h"
#include "conn.h"
#include "supervisor.h"
#include "heap.h"
#include "ids.h"
#include "log.h"
#include "nofile.h"
#include "orphans.h"
#include "request.h"
#include "sandbox.h"
#include "settings.h"
#include "sfcgi.h"
#include "spill.h"
#include "worker.h"

struct sfcgi_server {
	struct worker w;
	struct allowlist allow;        /* the worker's gate points here */
	struct sandbox_config sandbox; /* applied before the first request */
	bool ready_sent;
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Serve FastCGI on the sockets systemd passes (LISTEN_FDS), on --listen, or on a\n"
		"listening socket on fd 0.\n\n"
		"  -l, --listen SPEC       /path.sock, @abstract, HOST:PORT, [IPv6]:PORT or :PORT\n"
		"  -m, --listen-mode MODE  octal mode of a --listen socket file (default 0660)\n"
		"      --listen-owner USER  its owner (default: the user that starts me)\n"
		"      --listen-group GROUP its group, e.g. the web server's (default: mine)\n"
		"  -n, --fdname NAME       use only the systemd sockets named NAME\n"
		"      --status-listen SPEC  serve /metrics, /status and /ping on SPEC (FastCGI;\n"
		"                          a socket file is made 0600; needs --workers >= 1)\n"
		"  -s, --set KEY=VALUE     set a limit (see below); may repeat\n"
		"  -c, --config FILE       instance config (sfcgi.json(5)); default $SFCGI_CONFIG\n"
		"  -w, --workers N         prefork N workers under a supervisor (0: one process)\n"
		"  -h, --help              this text\n"
		"  -V, --version           the version\n\nLimits (KEY, default, meaning):\n",
		prog);
	for (size_t i = 0; i < settings_count; i++) {
		const struct setting_desc *d = &settings_table[i];

		if (d->type == SETTING_MS)
			fprintf(f, "  %-18s %9gs  %s\n", d->key, (double)d->def / 1000, d->help);
		else
			fprintf(f, "  %-18s %10llu  %s\n", d->key, (unsigned long long)d->def, d->help);
	}
}

struct options {
	struct activation_opts act;
	const char *config; /* --config, else $SFCGI_CONFIG */
	const char *status_listen; /* --status-listen */
	long workers;       /* --workers, -1 = not given */
	char *sets[64];     /* --set KEY=VALUE, applied over the config */
	size_t nsets;
};

/* --listen-owner USER, --listen-group GROUP: names or numbers, as chown(1). */
static int listen_id(bool owner, const char *name, struct activation_opts *act)
{
	uid_t uid;
	gid_t gid;
	char *end;
	unsigned long id = strtoul(name, &end, 10);

	if (owner ? ids_user(name, &uid, &gid) == 0 : ids_group(name, &gid) == 0)
		id = owner ? uid : gid;
	else if (!*name || *end || id >= UINT32_MAX) {
		log_err("--listen-%s %s: no such %s", owner ? "owner" : "group", name,
			owner ? "user" : "group");
		return -EINVAL;
	}
	if (owner)
		act->listen_uid = (uid_t)id;
	else
		act->listen_gid = (gid_t)id;
	return 0;
}

/* 0 to go on, 1 after --help/--version, -EINVAL after a logged error. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "listen-mode", required_argument, NULL, 'm' },
		{ "listen-owner", required_argument, NULL, 'U' },
		{ "listen-group", required_argument, NULL, 'G' },
		{ "fdname", required_argument, NULL, 'n' },
		{ "status-listen", required_argument, NULL, 'S' },
		{ "set", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *prog = argc > 0 && argv[0] ? argv[0] : "sfcgi-app";
	int c;

	memset(o, 0, sizeof *o);
	o->act.listen_mode = -1;
	o->act.listen_uid = (uid_t)-1;
	o->act.listen_gid = (gid_t)-1;
	o->workers = -1;
	optind = 0; /* full reset: we may be called more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+l:m:n:s:c:w:hV", longopts, NULL)) != -1) {
		char *end;
		long v;

		switch (c) {
		case 'l':
			o->act.listen = optarg;
			break;
		case 'm':
			v = strtol(optarg, &end, 8);
			if (*end || v < 0 || v > 07777) {
				log_err("--listen-mode %s: expected an octal mode such as 0660", optarg);
				return -EINVAL;
			}
			o->act.listen_mode = (int)v;
			break;
		case 'U':
		case 'G':
			if (listen_id(c == 'U', optarg, &o->act) < 0)
				return -EINVAL;
			break;
		case 'n':
			o->act.fdname = optarg;
			break;
		case 'S':
			o->status_listen = optarg;
			break;
		case 's':
			if (o->nsets == sizeof o->sets / sizeof o->sets[0]) {
				log_err("--set: too many");
				return -EINVAL;
			}
			o->sets[o->nsets++] = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'w':
			v = strtol(optarg, &end, 10);
			if (*end || !*optarg || v < 0 || v > CONFIG_MAX_WORKERS) {
				log_err("--workers %s: expected 0..%d (0: one process, no supervisor)",
					optarg, CONFIG_MAX_WORKERS);
				return -EINVAL;
			}
			o->workers = v;
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
	/* After "--" come the application's own arguments (sfcgi run puts the
	 * config's "args" there); anything else is a mistake. */
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
		log_err("%s: unexpected argument; see --help", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int apply_set(struct settings *set, char *arg)
{
	const struct setting_desc *d;
	const char *why = NULL;
	char *eq = strchr(arg, '=');

	if (eq)
		*eq = 0;
	d = settings_find(arg);
	if (eq)
		*eq = '=';
	if (!d || !eq) {
		log_err("--set %s: %s", arg, !eq ? "expected KEY=VALUE" : "unknown key (see --help)");
		return -EINVAL;
	}
	if (settings_set(set, d, eq + 1, &why) < 0) {
		if (d->type == SETTING_MS) /* ms: 1 is 0.001 s, not 0 */
			log_err("--set %s: %s (allowed %g..%g seconds)", arg, why,
				(double)d->min / 1000, (double)d->max / 1000);
		else
			log_err("--set %s: %s (allowed %llu..%llu)", arg, why,
				(unsigned long long)d->min, (unsigned long long)d->max);
		return -EINVAL;
	}
	return 0;
}

/* Where allow-list entries come from, for the refusal lines. */
static const char *allow_what;

/* FCGI_WEB_SERVER_ADDRS (FastCGI §3.2) joins "allow_from": a peer either
 * names is let in. An entry that is no address is said once and matches
 * nothing: the rest of the list still holds, as before. */
static int web_server_addrs(struct allowlist *l)
{
	const char *env = getenv("FCGI_WEB_SERVER_ADDRS");
	char bad[64];

	allow_what = l->from_set ? "allow_from" : NULL;
	if (!env)
		return 0;
	if (allow_add_env(l, env, bad, sizeof bad) < 0) {
		log_err("FCGI_WEB_SERVER_ADDRS: more than %d entries", ALLOW_MAX);
		return -E2BIG;
	}
	if (bad[0])
		log_warning("FCGI_WEB_SERVER_ADDRS: \"%s\" is not an IP address or network: it "
			    "lets no one in; correct it (the other entries still apply)", bad);
	allow_what = allow_what ? "allow_from or FCGI_WEB_SERVER_ADDRS" : "FCGI_WEB_SERVER_ADDRS";
	return 0;
}

/* A list that no listening socket is checked against is a mistake worth a
 * line: "allow_from" on a unix socket, "allow_peers" on TCP. */
static void allow_unused(const struct allowlist *l, const int *fds, size_t nfds)
{
	bool tcp = false, local = false;

	for (size_t i = 0; i < nfds; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;

		if (getsockname(fds[i], (struct sockaddr *)&ss, &len) < 0)
			continue;
		if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
			tcp = true;
		else
			local = true;
	}
	if (nfds && !tcp && l->from_set && allow_what && strncmp(allow_what, "allow_from", 10) == 0)
		log_warning("\"allow_from\": no listening socket is TCP, so it lets in anyone the "
			    "socket's file mode does; use \"allow_peers\" for a unix socket");
	if (nfds && !local && l->peers_set)
		log_warning("\"allow_peers\": no listening socket is a unix socket, so it checks "
			    "no one; use \"allow_from\" for TCP");
}

/* The instance config (if any), then the command line over it. */
static int configure(struct options *o, struct config *cfg)
{
	struct config_error err;
	const char *path = o->config ? o->config : getenv("SFCGI_CONFIG");
	int r;

	config_defaults(cfg);
	if (path) {
		r = config_load_own(path, cfg, &err); /* "program": we are it */
		if (r < 0) {
			log_err("%s", err.msg);
			return r;
		}
		o->config = cfg->path;
		o->act.config = cfg->path;
		if (!o->act.listen)
			o->act.listen = cfg->listen;
		if (o->act.listen_mode < 0)
			o->act.listen_mode = cfg->listen_mode;
		if (o->act.listen_uid == (uid_t)-1)
			o->act.listen_uid = cfg->listen_uid;
		if (o->act.listen_gid == (gid_t)-1)
			o->act.listen_gid = cfg->listen_gid;
		if (!o->act.fdname)
			o->act.fdname = cfg->fdname;
	} else {
		cfg->workers = 0; /* started by hand: one process unless --workers */
	}
	if ((r = web_server_addrs(&cfg->allow)) < 0)
		return r;
	if (getenv("SFCGI_RELOADING"))
		o->act.listen = NULL; /* re-executed: our sockets come as LISTEN_FDS */
	if (o->workers >= 0)
		cfg->workers = (uint32_t)o->workers;
	for (size_t i = 0; i < o->nsets; i++)
		if ((r = apply_set(&cfg->limits, o->sets[i])) < 0)
			return r;
	return 0;
}

static bool socket_activated(const struct activation_opts *act)
{
	const char *e = getenv("SFCGI_SOCKET_ACTIVATED"); /* kept across a reload */
	bool r = e ? strcmp(e, "1") == 0 : act->from_systemd;

	unsetenv("SFCGI_SOCKET_ACTIVATED");
	return r;
}

/* Under a supervisor: returns in each worker with its slot; never in the
 * supervisor itself, which exits when it is done. */
static int supervise(struct options *o, struct config *cfg, int *fds, size_t nfds, char **argv,
		     struct slot **ret_slot)
{
	struct sandbox_config *sb = &cfg->sandbox;
	/* A worker's own refusal traps (its SIGSYS handler names it); a program
	 * it runs has no such handler, and learning mode wants every call in
	 * our log: those reach the supervisor as notifications (filter.c). */
	bool notify = sb->enabled && sb->profile != PROFILE_OFF &&
		      ((sb->allow & GROUP_PROCESS) || sb->action == ACTION_LOG);
	struct supervisor_opts so = {
		.workers = cfg->workers,
		.max_requests = cfg->max_requests,
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.request_timeout_ms = cfg->request_timeout_ms,
		.drain_timeout_ms = cfg->drain_timeout_ms,
		.socket_activated = socket_activated(&o->act),
		.fds = fds,
		.nfds = nfds,
		.fdname = o->act.fdname,
		.config_path = o->config,
		.argv = argv,
		.lockdown = cfg->sandbox.enabled,
		.handoff = true,
		.sandbox_allow = cfg->sandbox.allow,
		.sandbox_syscalls = cfg->sandbox.syscalls,
		.notify = notify,
		.learning = notify && sb->action == ACTION_LOG,
		.conns = o->act.conns,
		.nconns = o->act.nconns,
		.drain_signal = SIGUSR1, /* hand connections over, see worker_drain() */
		.allow = cfg->allow.from_set || cfg->allow.peers_set ? &cfg->allow : NULL,
		.allow_what = allow_what,
		.slow_request_ms = cfg->slow_request_ms,
	};
	int r;

	so.status_fd = activation_status_socket(o->act.status_fd, o->status_listen, cfg->status);
	if (so.status_fd < 0)
		return so.status_fd;
	sb->notify = notify; /* kept by the worker: s->sandbox in sfcgi_server_open() */
	r = sandbox_prepare(sb);
	/* Parsing and compiling left freed heap behind: release it now, or every
	 * worker starts with its own dirty copy of those pages (heap.c). */
	heap_settle();
	if (r == 0)
		r = supervisor_run(&so, ret_slot);
	return r < 0 ? r : 0;
}

int sfcgi_server_open(int argc, char **argv, struct sfcgi_server **ret_server)
{
	struct sfcgi_server *s = NULL;
	struct options o;
	struct config cfg;
	struct slot *slot = NULL;
	int *fds = NULL;
	size_t nfds = 0;
	int r;

	if (!ret_server || argc < 0 || (argc > 0 && !argv))
		return -EINVAL;
	log_init();
	ids_take_hint(); /* what `sfcgi run` resolved (ids.c): names without NSS */
	r = parse_options(argc, argv, &o);
	if (r != 0) {
		ids_drop_hint();
		return r > 0 ? -ECANCELED : r;
	}
	r = configure(&o, &cfg);
	ids_drop_hint(); /* a reload's check asks NSS, as `sfcgi run` will */
	if (r == 0)
		r = activation_adopt(&o.act, &fds, &nfds);
	if (r == 0) /* epoll: no select() ceiling; the workers inherit it */
		nofile_raise(cfg.workers, cfg.limits.max_conns, nfds);
	if (r == 0 && !getenv("SFCGI_RELOADING"))
		allow_unused(&cfg.allow, fds, nfds);
	if (r == 0 && cfg.workers > 0)
		r = supervise(&o, &cfg, fds, nfds, argv, &slot);
	else if (r == 0 && (o.act.status_fd > 0 || o.status_listen || cfg.status))
		log_warning("the status socket is served by the supervisor: with workers 0 (one "
			    "process) there is none, so no /metrics; set \"workers\" to 1 or more");
	if (r == 0 && o.act.status_fd > 0 && !slot)
		close(o.act.status_fd);
	if (r == 0 && !(s = calloc(1, sizeof *s)))
		r = -ENOMEM;
	if (r == 0 && (r = worker_init(&s->w, &cfg.limits, fds, nfds)) < 0)
		log_err("starting the worker loop: %s", strerror(-r));
	if (r == 0 && cfg.kind == CONFIG_NATIVE)
		spill_open(&s->w, cfg.spill_dir, /* before the lock-down: no open() needed later */
			   cfg.sandbox.rlimits[sandbox_rlimit_index("fsize")]);
	if (r == 0) {
		s->w.nworkers = cfg.workers ? cfg.workers : 1;
		s->w.max_requests = cfg.max_requests;
		if (slot)
			worker_attach_slot(&s->w, slot);
		else
			s->w.watchdog_ms = activation_watchdog_ms(); /* the supervisor's job otherwise */
		for (size_t i = 0; !slot && i < o.act.nconns; i++)
			conn_new(&s->w, o.act.conns[i]); /* kept across a restart */
		s->allow = cfg.allow; /* moved, as the sandbox below */
		memset(&cfg.allow, 0, sizeof cfg.allow);
		s->w.gate.allow = &s->allow;
		s->w.gate.from_what = allow_what;
		s->sandbox = cfg.sandbox; /* moved: config_free() below leaves it alone */
		sandbox_defaults(&cfg.sandbox);
		*ret_server = s;
	} else if (s) {
		sfcgi_server_free(s); /* closes the fds it took */
	} else {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
	}
	free(fds);
	free(o.act.conns);
	config_free(&cfg);
	return r;
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
		/* Two-phase: the app opened what it needs; now lock the worker down. */
		if (!s->w.slot && s->sandbox.enabled) {
			activation_notify_prepare();
			activation_forget_created(); /* unlink() is refused from now on */
		}
		if ((k = sandbox_apply(&s->sandbox, s->w.slot)) < 0)
			return k;
		s->ready_sent = true;
		if (s->w.slot)
			supervisor_worker_ready(s->w.slot);
		else
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
	allow_free(&s->allow);
	/* Its supervisor killed, what it started, if it may have (fork) and may
	 * look (/proc): by itself. */
	if (!s->sandbox.enabled || s->sandbox.profile == PROFILE_OFF ||
	    ((s->sandbox.allow & GROUP_PROCESS) && (s->sandbox.allow & GROUP_FILE_READ)))
		orphans_worker_exit();
	sandbox_free(&s->sandbox);
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
