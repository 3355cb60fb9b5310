/* SPDX-License-Identifier: MIT */
/*
 * sfcgi status [--user] [--json] [--watch] [INSTANCE|SOCKET]: an instance at
 * a glance, from its status socket's /status JSON (STATUS-SPEC): a header of
 * totals, then one row per worker with its current request. --watch redraws
 * it every second, with the request rate between two samples. Without an
 * instance, the manager's list of instances (status-list.c).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "json.h"

enum { EXIT_OK = 0, EXIT_UNAVAILABLE = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sfcgi status [--user] [--json] [--watch] [INSTANCE|SOCKET]\n"
		"Show a running instance from its status socket: state, totals, one row per\n"
		"worker with its current request. INSTANCE reads /run/sfcgi/INSTANCE.status.sock\n"
		"(with --user, $XDG_RUNTIME_DIR/sfcgi/INSTANCE.status.sock); SOCKET is a path\n"
		"(it has a '/') or HOST:PORT. Without either: every app@*.service instance of\n"
		"the system (--user: the user's) manager, its state and request rate.\n\n"
		"      --user    the user's manager and runtime directory\n"
		"  -j, --json    print the /status JSON as received (checked to parse)\n"
		"  -w, --watch   redraw every second, with the current request rate; q or\n"
		"                Ctrl-C quits\n"
		"  -h, --help    print this help\n\n"
		"Exit status: 0 shown, 1 the status could not be read (no socket, permission\n"
		"denied, not an sfcgi status socket, no manager), 2 usage errors.\n");
}

/* ---- /status JSON ------------------------------------------------------- */

struct doc {
	struct json j;
	struct config_error err;
};

static void doc_free(struct doc *d)
{
	free(d->j.tok);
	memset(d, 0, sizeof *d);
}

/* Value token of key in object obj, or -1. Our keys have no escapes. */
static int jkey(const struct json *p, int obj, const char *key)
{
	size_t kl = strlen(key);

	if (obj < 0 || p->tok[obj].type != JSMN_OBJECT)
		return -1;
	for (int i = obj + 1; json_inside(p, i, obj); i = json_next_sibling(p, i + 1))
		if ((size_t)(p->tok[i].end - p->tok[i].start) == kl &&
		    !memcmp(p->text + p->tok[i].start, key, kl))
			return i + 1;
	return -1;
}

static double jnum(const struct json *p, int t)
{
	char tmp[64];
	int n;

	if (t < 0 || strcmp(json_kind_of(p, t), "a number"))
		return NAN;
	n = p->tok[t].end - p->tok[t].start;
	snprintf(tmp, sizeof tmp, "%.*s", n < 63 ? n : 63, p->text + p->tok[t].start);
	return strtod(tmp, NULL);
}

static double jnum_at(const struct json *p, int obj, const char *key)
{
	return jnum(p, jkey(p, obj, key));
}

/* String token t, decoded, control characters shown as '?' (a URI comes
 * from the web: no escape sequence reaches the terminal). "" otherwise. */
static void jstr(struct json *p, int t, char *out, size_t n)
{
	char *s = NULL;

	out[0] = 0;
	if (t < 0 || p->tok[t].type != JSMN_STRING || json_get_string(p, t, "", &s) < 0)
		return;
	snprintf(out, n, "%s", s);
	free(s);
	for (unsigned char *c = (unsigned char *)out; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* Parses text as /status: 0, or -1 with why in err (not JSON, not ours). */
static int status_parse(struct doc *d, const char *name, const char *text, size_t len, char *err,
		 size_t n)
{
	int w;

	memset(d, 0, sizeof *d);
	d->j.name = name;
	d->j.text = text;
	d->j.len = len;
	d->j.err = &d->err;
	if (json_syntax(&d->j) < 0) {
		snprintf(err, n, "the answer is not JSON (%s): not an sfcgi status socket?",
			 d->err.msg);
		return -1;
	}
	w = jkey(&d->j, 0, "workers");
	if (isnan(jnum_at(&d->j, 0, "pid")) || w < 0 || d->j.tok[w].type != JSMN_ARRAY) {
		snprintf(err, n, "%s: the answer is JSON but not sfcgi's /status (no \"pid\" and "
				 "\"workers\")", name);
		return -1;
	}
	return 0;
}

int status_summary(const char *name, const char *text, size_t len, char *state, size_t n,
		   double *ret_total, double *ret_uptime)
{
	struct doc d;
	char err[640];

	if (status_parse(&d, name, text, len, err, sizeof err) < 0)
		return -1;
	jstr(&d.j, jkey(&d.j, 0, "state"), state, n);
	*ret_total = jnum_at(&d.j, jkey(&d.j, 0, "requests"), "total");
	*ret_uptime = jnum_at(&d.j, 0, "uptime_s");
	doc_free(&d);
	return 0;
}

/* ---- formatting ----------------------------------------------------------- */

/* A count, or "-" when absent or negative (unknown). */
static const char *count(double v, char *out, size_t n)
{
	if (isnan(v) || v < 0)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.0f", v);
	return out;
}

static const char *kib(double v, char *out, size_t n)
{
	if (isnan(v) || v < 0)
		snprintf(out, n, "-");
	else if (v < 1024)
		snprintf(out, n, "%.0fK", v);
	else if (v < 10 * 1024)
		snprintf(out, n, "%.1fM", v / 1024);
	else if (v < 1024 * 1024)
		snprintf(out, n, "%.0fM", v / 1024);
	else
		snprintf(out, n, "%.1fG", v / (1024 * 1024));
	return out;
}

static const char *ms(double v, char *out, size_t n)
{
	if (isnan(v) || v < 0)
		snprintf(out, n, "-");
	else if (v < 1000)
		snprintf(out, n, "%.0fms", v);
	else if (v < 10000)
		snprintf(out, n, "%.1fs", v / 1000);
	else if (v < 600000)
		snprintf(out, n, "%.0fs", v / 1000);
	else if (v < 36000000)
		snprintf(out, n, "%.0fm", v / 60000);
	else
		snprintf(out, n, "%.0fh", v / 3600000);
	return out;
}

static const char *uptime(double s, char *out, size_t n)
{
	long v = isnan(s) || s < 0 ? 0 : (long)s;

	if (v < 60)
		snprintf(out, n, "%lds", v);
	else if (v < 3600)
		snprintf(out, n, "%ldm %02lds", v / 60, v % 60);
	else if (v < 86400)
		snprintf(out, n, "%ldh %02ldm", v / 3600, v % 3600 / 60);
	else
		snprintf(out, n, "%ldd %02ldh", v / 86400, v % 86400 / 3600);
	return out;
}

/* "label  12 total, 3 aborted": object obj's counters, the first always if
 * first, the others when not zero (so fields the runtime adds show up),
 * wrapped under the label at width. "none" when there is nothing. */
static void counts(FILE *f, struct json *p, int obj, const char *label, int first, int width)
{
	int col = fprintf(f, "%-13s", label), shown = 0;

	if (obj < 0 || p->tok[obj].type != JSMN_OBJECT) {
		fprintf(f, "-\n");
		return;
	}
	for (int i = obj + 1; json_inside(p, i, obj); i = json_next_sibling(p, i + 1)) {
		double v = jnum(p, i + 1);
		char key[JSON_ECHO_MAX + 1], item[128];
		int n;

		if (isnan(v) || v < 0 || (v == 0 && (!first || i != obj + 1)) ||
		    !json_key_name(p, i, key))
			continue;
		for (char *c = key; *c; c++)
			*c = *c == '_' ? ' ' : (*c < 0x20 || *c == 0x7f) ? '?' : *c;
		n = snprintf(item, sizeof item, "%.0f %s", v, key);
		if (shown && col + 2 + n > width) {
			col = fprintf(f, ",\n%-13s", "") - 2;
			shown = 0;
		}
		col += fprintf(f, "%s%s", shown ? ", " : "", item);
		shown++;
	}
	fprintf(f, "%s\n", col == 13 ? "none" : "");
}

struct sample {
	double pid, total;
	int64_t at_ms; /* 0: none yet */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The request rate: between prev and now with --watch, else averaged over
 * the uptime. Updates prev. Text in out, the number in *ret (NAN: unknown). */
static void rate(struct json *p, struct sample *prev, int watch, char *out, size_t n,
		 double *ret)
{
	double total = jnum_at(p, jkey(p, 0, "requests"), "total");
	double pid = jnum_at(p, 0, "pid"), up = jnum_at(p, 0, "uptime_s");
	int64_t now = now_ms();

	*ret = NAN;
	if (!watch) {
		if (!isnan(total) && up > 0)
			*ret = total / up;
		snprintf(out, n, "%.*f/s averaged over the uptime", *ret < 10 ? 2 : 1, *ret);
	} else if (prev->at_ms && prev->pid == pid && now > prev->at_ms && total >= prev->total) {
		*ret = (total - prev->total) * 1000 / (double)(now - prev->at_ms);
		snprintf(out, n, "%.*f/s over the last %.1f s", *ret < 10 ? 2 : 1, *ret,
			 (double)(now - prev->at_ms) / 1000);
	} else {
		snprintf(out, n, "(measuring)");
	}
	if (isnan(*ret) && !watch)
		snprintf(out, n, "-");
	prev->pid = pid, prev->total = total, prev->at_ms = now;
}

static void worker_row(FILE *f, struct json *p, int w, int width)
{
	char st[16], rss[16], pss[16], el[16], method[32], uri[4096], c[4][24];
	int cur = jkey(p, w, "current"), col;

	jstr(p, jkey(p, w, "state"), st, sizeof st);
	col = fprintf(f, "%7s %3s %-8s %7s %8s %5s %5s", count(jnum_at(p, w, "pid"), c[0], 24),
		      count(jnum_at(p, w, "generation"), c[1], 24), st[0] ? st : "?",
		      count(jnum_at(p, w, "requests"), c[2], 24),
		      count(jnum_at(p, w, "restarts"), c[3], 24),
		      kib(jnum_at(p, w, "rss_kib"), rss, sizeof rss),
		      kib(jnum_at(p, w, "pss_kib"), pss, sizeof pss));
	if (cur < 0 || p->tok[cur].type != JSMN_OBJECT) {
		fprintf(f, " %7s -\n", "-");
		return;
	}
	jstr(p, jkey(p, cur, "method"), method, sizeof method);
	jstr(p, jkey(p, cur, "uri"), uri, sizeof uri);
	col += fprintf(f, " %7s %s ", ms(jnum_at(p, cur, "elapsed_ms"), el, sizeof el), method);
	/* the URI is cut to the width, "..." telling it was */
	if (width - col > 3 && strlen(uri) > (size_t)(width - col))
		fprintf(f, "%.*s...\n", width - col - 3, uri);
	else
		fprintf(f, "%s\n", uri);
}

/* The instance at a glance, from a parsed /status. */
static void render(FILE *f, struct doc *d, struct sample *prev, int watch, int width)
{
	struct json *p = &d->j;
	char name[128], state[32], reason[256], up[32], r[96], how[128], line[512], q[3][24];
	int l = jkey(p, 0, "listen"), ws = jkey(p, 0, "workers");
	double rt;

	jstr(p, jkey(p, 0, "instance"), name, sizeof name);
	jstr(p, jkey(p, 0, "state"), state, sizeof state);
	jstr(p, jkey(p, 0, "state_reason"), reason, sizeof reason);
	fprintf(f, "%s: %s%s%s%s, pid %s, generation %s, up %s\n", name[0] ? name : "(unnamed)",
		state, reason[0] ? " (" : "", reason, reason[0] ? ")" : "",
		count(jnum_at(p, 0, "pid"), q[0], sizeof q[0]),
		count(jnum_at(p, 0, "generation"), q[1], sizeof q[1]),
		uptime(jnum_at(p, 0, "uptime_s"), up, sizeof up));
	counts(f, p, jkey(p, 0, "requests"), "requests:", 1, width);
	rate(p, prev, watch, r, sizeof r, &rt);
	fprintf(f, "%-13s%s\n", "rate:", r);
	counts(f, p, jkey(p, 0, "connections"), "connections:", 1, width);
	counts(f, p, jkey(p, 0, "bytes"), "bytes:", 1, width);
	jstr(p, jkey(p, l, "how"), how, sizeof how);
	snprintf(line, sizeof line, "%-13squeue %s (max %s), backlog %s%s%s", "listen:",
		 count(jnum_at(p, l, "queue"), q[0], sizeof q[0]),
		 count(jnum_at(p, l, "queue_max"), q[1], sizeof q[1]),
		 count(jnum_at(p, l, "backlog"), q[2], sizeof q[2]), how[0] ? ", by " : "", how);
	/* "how" may be why the queue is unknown: a line of its own would not help */
	if (strlen(line) > (size_t)width)
		memcpy(line + width - 3, "...", 4);
	fprintf(f, "%s\n", line);
	counts(f, p, jkey(p, 0, "workers_by_state"), "workers:", 1, width);
	counts(f, p, jkey(p, 0, "restarts"), "restarts:", 0, width);
	counts(f, p, jkey(p, 0, "reloads"), "reloads:", 0, width);
	fprintf(f, "\n%7s %3s %-8s %7s %8s %5s %5s %7s %s\n", "PID", "GEN", "STATE", "REQS",
		"RESTARTS", "RSS", "PSS", "ELAPSED", "REQUEST");
	for (int i = ws + 1; json_inside(p, i, ws); i = json_next_sibling(p, i))
		if (p->tok[i].type == JSMN_OBJECT)
			worker_row(f, p, i, width);
}

static int term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (c && atoi(c) >= 40)
		return atoi(c);
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

/* ---- one instance ----------------------------------------------------------- */

struct one {
	struct status_target t;
	struct buf body;
	struct sample prev;
	int json;
};

/* One frame into f: 0 shown, -1 could not (the reason printed into f with
 * --watch, else to stderr). */
static int one_frame(FILE *f, void *ctx, int watch)
{
	struct one *o = ctx;
	struct doc d;
	char err[640];

	if (status_fetch(&o->t, "/status", &o->body, err, sizeof err) < 0 ||
	    status_parse(&d, o->t.addr, (const char *)o->body.data, o->body.len, err,
			 sizeof err) < 0) {
		fprintf(watch ? f : stderr, "sfcgi status: %s\n", err);
		o->prev.at_ms = 0;
		return -1;
	}
	if (o->json) {
		fwrite(o->body.data, 1, o->body.len, f);
		if (o->body.data[o->body.len - 1] != '\n')
			fputc('\n', f);
	} else {
		render(f, &d, &o->prev, watch, term_width());
	}
	doc_free(&d);
	return 0;
}

/* ---- --watch ------------------------------------------------------------------ */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

/*
 * Redraws frame() every second until SIGINT, SIGTERM or 'q' on a terminal's
 * stdin, like watch(1). A frame that fails says why and the loop goes on:
 * an instance that restarts comes back on the next round.
 */
int status_watch(int (*frame)(FILE *f, void *ctx, int watch), void *ctx)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct termios saved, raw;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;

	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll() returns at once */
	sigaction(SIGTERM, &sa, NULL);
	if (tty) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	while (!stop) {
		char *text = NULL, ch;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int64_t until = now_ms() + 1000, left;

		if (!m)
			break;
		if (frame(m, ctx, 1) < 0)
			fprintf(m, "(the instance is not reachable: trying again every second; "
				   "q or Ctrl-C quits)\n");
		fclose(m);
		/* home, clear, then the frame: one write, no flicker between */
		printf("\033[H\033[2J%s", text);
		fflush(stdout);
		free(text);
		while (!stop && (left = until - now_ms()) > 0)
			if (poll(&pfd, tty, (int)left) > 0 && read(STDIN_FILENO, &ch, 1) == 1 &&
			    (ch == 'q' || ch == 'Q'))
				stop = SIGINT;
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "user", no_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct one o = { 0 };
	int c, user = 0, watch = 0, r;
	char err[640];

	while ((c = getopt_long(argc, argv, "jwh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': user = 1; break;
		case 'j': o.json = 1; break;
		case 'w': watch = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (optind == argc) {
		if (o.json) {
			fprintf(stderr, "sfcgi status: --json needs an instance (the list is for "
					"people; scripts ask systemctl list-units 'app@*')\n");
			return EXIT_USAGE;
		}
		return status_list(user, watch);
	}
	if (status_target_init(&o.t, argv[optind], user, err, sizeof err) < 0) {
		fprintf(stderr, "sfcgi status: %s\n", err);
		return EXIT_USAGE;
	}
	if (watch)
		r = status_watch(one_frame, &o);
	else
		r = one_frame(stdout, &o, 0) < 0 ? EXIT_UNAVAILABLE : EXIT_OK;
	buf_free(&o.body);
	return r;
}
