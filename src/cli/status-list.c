/* SPDX-License-Identifier: MIT */
/*
 * sfcgi status [--user] [--watch] without an instance: every app@*.service
 * the system (or user) manager has loaded, as systemd reports it over D-Bus
 * (ListUnitsByPatterns, then each one's MainPID), with its sfcgi state and
 * request rate from its status socket when that answers.
 *
 * Why dlopen(): the sfcgi tool is what every instance's ExecStart= runs
 * (`sfcgi run`), and issue 12 keeps libsystemd and the compression and
 * crypto libraries it pulls in (liblzma, libzstd, libgcrypt...: the way
 * CVE-2024-3094 reached sshd) out of every process of an instance;
 * tests/integration/lean.sh checks that ldd of the tool lists none of them.
 * So only this subcommand loads libsystemd, at run time, and takes the few
 * sd_bus_* functions it calls. A separate helper executable would do the
 * same with one more file to install and find; sd-bus.h gives the types.
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"

#define LIBSYSTEMD "libsystemd.so.0"
#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"

/* The functions taken from libsystemd, with their declared types. */
struct sd {
	void *lib;
	__typeof__(sd_bus_new) *bus_new;
	__typeof__(sd_bus_set_address) *set_address;
	__typeof__(sd_bus_start) *start;
	__typeof__(sd_bus_open_system) *open_system;
	__typeof__(sd_bus_open_user) *open_user;
	__typeof__(sd_bus_flush_close_unref) *close_unref;
	__typeof__(sd_bus_call_method) *call_method;
	__typeof__(sd_bus_get_property_trivial) *get_trivial;
	__typeof__(sd_bus_message_enter_container) *enter;
	__typeof__(sd_bus_message_exit_container) *exit;
	__typeof__(sd_bus_message_read) *read;
	__typeof__(sd_bus_message_unref) *msg_unref;
	__typeof__(sd_bus_error_free) *error_free;
};

static int load(struct sd *s)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define SYM(f, n) { "sd_bus_" n, offsetof(struct sd, f) }
		SYM(bus_new, "new"),
		SYM(set_address, "set_address"),
		SYM(start, "start"),
		SYM(open_system, "open_system"),
		SYM(open_user, "open_user"),
		SYM(close_unref, "flush_close_unref"),
		SYM(call_method, "call_method"),
		SYM(get_trivial, "get_property_trivial"),
		SYM(enter, "message_enter_container"),
		SYM(exit, "message_exit_container"),
		SYM(read, "message_read"),
		SYM(msg_unref, "message_unref"),
		SYM(error_free, "error_free"),
#undef SYM
	};

	s->lib = dlopen(LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);
	if (!s->lib) {
		fprintf(stderr, "sfcgi status: listing the instances needs %s (Debian: libsystemd0): "
				"%s; `sfcgi status INSTANCE` works without it\n",
			LIBSYSTEMD, dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		void *f = dlsym(s->lib, syms[i].name);

		if (!f) {
			fprintf(stderr, "sfcgi status: %s has no %s: %s\n", LIBSYSTEMD, syms[i].name,
				dlerror());
			return -1;
		}
		memcpy((char *)s + syms[i].off, &f, sizeof f);
	}
	return 0;
}

/*
 * The manager's bus, as systemctl reaches it: root talks to the system
 * manager on its private socket (no dbus-daemon needed: a container, early
 * boot), a user to $XDG_RUNTIME_DIR/systemd/private; then the message bus.
 */
static int connect_manager(struct sd *s, int user, sd_bus **ret)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char addr[300] = "";
	sd_bus *b = NULL;
	int r;

	if (!user && geteuid() == 0)
		snprintf(addr, sizeof addr, "unix:path=/run/systemd/private");
	else if (user && rt && rt[0] == '/')
		snprintf(addr, sizeof addr, "unix:path=%s/systemd/private", rt);
	if (addr[0] && s->bus_new(&b) >= 0) {
		if (s->set_address(b, addr) >= 0 && s->start(b) >= 0) {
			*ret = b;
			return 0;
		}
		s->close_unref(b);
		b = NULL;
	}
	r = user ? s->open_user(&b) : s->open_system(&b);
	if (r < 0) {
		fprintf(stderr, "sfcgi status: cannot reach the %s manager over D-Bus: %s%s\n",
			user ? "user's" : "system", strerror(-r),
			user ? " (is XDG_RUNTIME_DIR set, the user's manager running?)" : "");
		return r;
	}
	*ret = b;
	return 0;
}

struct inst {
	char name[128];   /* the %i of app@%i.service */
	char active[16], sub[16], path[160];
	uint32_t pid;
	/* from the status socket; NAN when it did not answer */
	char state[16];
	double total, uptime;
	int err; /* its -errno */
};

struct prev {
	char name[128];
	double total;
	uint32_t pid;
	int64_t at_ms;
};

struct list {
	struct sd sd;
	sd_bus *bus;
	int user;
	struct prev *prev;
	size_t nprev;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct inst *)a)->name, ((const struct inst *)b)->name);
}

/* The loaded app@*.service units: a sorted array in *ret, their count. */
static int list_units(struct list *l, struct inst **ret)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	struct inst *v = NULL;
	const char *name, *desc, *load, *active, *sub, *follow, *path, *jtype, *jpath;
	uint32_t jid;
	size_t n = 0;
	int r;

	r = l->sd.call_method(l->bus, SD_DEST, SD_PATH, SD_DEST ".Manager", "ListUnitsByPatterns",
			      &e, &m, "asas", 0, 1, "app@*.service");
	if (r < 0) {
		fprintf(stderr, "sfcgi status: ListUnitsByPatterns: %s\n",
			e.message ? e.message : strerror(-r));
		goto out;
	}
	if ((r = l->sd.enter(m, 'a', "(ssssssouso)")) < 0)
		goto bad;
	while ((r = l->sd.read(m, "(ssssssouso)", &name, &desc, &load, &active, &sub, &follow,
			       &path, &jid, &jtype, &jpath)) > 0) {
		const char *at = strchr(name, '@'), *dot = strrchr(name, '.');
		struct inst *t = realloc(v, (n + 1) * sizeof *v);

		if (!t) {
			r = -ENOMEM;
			goto bad;
		}
		v = t;
		memset(&v[n], 0, sizeof v[n]);
		snprintf(v[n].name, sizeof v[n].name, "%.*s",
			 at && dot > at ? (int)(dot - at - 1) : 0, at ? at + 1 : "");
		snprintf(v[n].active, sizeof v[n].active, "%s", active);
		snprintf(v[n].sub, sizeof v[n].sub, "%s", sub);
		snprintf(v[n].path, sizeof v[n].path, "%s", path);
		n++;
	}
	if (r < 0 || (r = l->sd.exit(m)) < 0)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		l->sd.error_free(&e);
		if (l->sd.get_trivial(l->bus, SD_DEST, v[i].path, SD_DEST ".Service", "MainPID", &e,
				      'u', &v[i].pid) < 0)
			v[i].pid = 0;
	}
	qsort(v, n, sizeof *v, by_name);
	*ret = v;
	v = NULL;
	r = (int)n;
	goto out;
bad:
	fprintf(stderr, "sfcgi status: the manager's unit list: %s\n", strerror(-r));
out:
	free(v);
	l->sd.error_free(&e);
	if (m)
		l->sd.msg_unref(m);
	return r;
}

/* What its status socket says; only for a running service: a connection
 * to the socket of a stopped one would start it (socket activation). */
static void ask(struct inst *in, int user, struct buf *body)
{
	struct status_target t;
	char err[640];

	in->total = in->uptime = NAN;
	snprintf(in->state, sizeof in->state, "-");
	if (strcmp(in->active, "active") && strcmp(in->active, "reloading"))
		return;
	if (status_target_init(&t, in->name, user, err, sizeof err) < 0) {
		in->err = -EINVAL;
		return;
	}
	in->err = status_fetch(&t, "/status", body, err, sizeof err);
	if (in->err == 0 && status_summary(t.addr, (const char *)body->data, body->len, in->state,
					   sizeof in->state, &in->total, &in->uptime) < 0)
		in->err = -EPROTO;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The rate since the previous frame (--watch), else over the uptime. */
static double rate_of(struct list *l, const struct inst *in, int watch)
{
	int64_t now = now_ms();
	double r = NAN;
	size_t i;

	if (!watch)
		return in->uptime > 0 && !isnan(in->total) ? in->total / in->uptime : NAN;
	for (i = 0; i < l->nprev && strcmp(l->prev[i].name, in->name); i++)
		;
	if (i == l->nprev) {
		struct prev *p = realloc(l->prev, (l->nprev + 1) * sizeof *p);

		if (!p)
			return NAN;
		l->prev = p;
		memset(&p[l->nprev++], 0, sizeof *p);
		snprintf(p[i].name, sizeof p[i].name, "%s", in->name);
	}
	if (l->prev[i].at_ms && l->prev[i].pid == in->pid && !isnan(in->total) &&
	    in->total >= l->prev[i].total && now > l->prev[i].at_ms)
		r = (in->total - l->prev[i].total) * 1000 / (double)(now - l->prev[i].at_ms);
	l->prev[i].total = in->total, l->prev[i].pid = in->pid;
	l->prev[i].at_ms = isnan(in->total) ? 0 : now;
	return r;
}

static int list_frame(FILE *f, void *ctx, int watch)
{
	struct list *l = ctx;
	struct inst *v = NULL;
	struct buf body = { 0 };
	int n = list_units(l, &v), denied = 0;
	const char *mgr = l->user ? "user" : "system";

	if (n < 0) {
		if (watch)
			fprintf(f, "sfcgi status: the %s manager's unit list failed (see above)\n", mgr);
		return -1;
	}
	if (n == 0)
		fprintf(f, "No app@*.service instance is loaded in the %s manager: "
			   "systemctl%s enable --now app@NAME.socket (sfcgi(1)).\n",
			mgr, l->user ? " --user" : "");
	else
		fprintf(f, "%-16s %-12s %-9s %8s %-9s %9s %7s\n", "INSTANCE", "ACTIVE", "SUB",
			"MAIN PID", "STATE", "REQUESTS", "REQ/S");
	for (int i = 0; i < n; i++) {
		char pid[16] = "-", total[24] = "-", rt[24] = "-";
		double r;

		ask(&v[i], l->user, &body);
		r = rate_of(l, &v[i], watch);
		denied |= v[i].err == -EACCES || v[i].err == -EPERM;
		if (v[i].pid)
			snprintf(pid, sizeof pid, "%u", v[i].pid);
		if (!isnan(v[i].total))
			snprintf(total, sizeof total, "%.0f", v[i].total);
		if (!isnan(r))
			snprintf(rt, sizeof rt, "%.1f", r);
		fprintf(f, "%-16s %-12s %-9s %8s %-9s %9s %7s\n", v[i].name, v[i].active, v[i].sub,
			pid, v[i].state, total, rt);
	}
	if (n > 0)
		fprintf(f, "\nREQ/S: %s. \"-\": the status socket did not answer.\n",
			watch ? "over the last second" : "averaged over the uptime (--watch: now)");
	if (denied)
		fprintf(f, "Status sockets are root's only (mode 0600): run as root for STATE, "
			   "REQUESTS, REQ/S.\n");
	buf_free(&body);
	free(v);
	return 0;
}

int status_list(int user, int watch)
{
	struct list l = { .user = user };
	int r = 1;

	if (load(&l.sd) < 0 || connect_manager(&l.sd, user, &l.bus) < 0)
		goto out;
	if (watch)
		r = status_watch(list_frame, &l);
	else
		r = list_frame(stdout, &l, 0) < 0 ? 1 : 0;
out:
	if (l.bus)
		l.sd.close_unref(l.bus);
	if (l.sd.lib)
		dlclose(l.sd.lib);
	free(l.prev);
	return r;
}
