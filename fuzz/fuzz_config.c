/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the instance configuration parser, sfcgi.json(5), through
 * config_parse(): what config_load() (`sfcgi check`, `sfcgi run`, a native
 * program's sfcgi_main) calls on the bytes it read from the file.
 *
 * A refused input must give one line "fuzz.json:LINE:COL: message" whose
 * position lies inside the input (or is its end), and leave the config in
 * its default state. An accepted one must hold every value in the range
 * sfcgi.json(5) documents, and what config_print() (`sfcgi check`) prints
 * for it must parse again to the same effective configuration and print
 * the very same text.
 */
#include "config.h"
#include "fuzz.h"
#include "settings.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#define NAME "fuzz.json"

/*
 * A message about a key or a value (config.c's, after the syntax passed)
 * points at that key or value: at the '"' of a key, at the first byte of
 * a value, and at a value of the kind it says it got.
 */
static void check_points_at(const uint8_t *data, size_t size, size_t off, const char *msg)
{
	static const struct {
		const char *got, *first;
	} kinds[] = {
		{ ", got a string", "\"" }, { ", got an object", "{" },
		{ ", got an array", "[" }, { ", got a number", "-0123456789" },
		{ ", got a boolean", "tf" }, { ", got null", "n" },
	};
	size_t n = strlen(msg);

	if (!strncmp(msg, "missing required key", 20))
		CHECK(off < size && data[off] == '{');
	if (strstr(msg, "unknown key \"") || strstr(msg, "duplicate key \""))
		CHECK(off < size && data[off] == '"');
	if (msg[0] != '"')
		return;
	CHECK(off < size && strchr("\"{[-0123456789tfn", data[off]) && data[off]);
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		size_t k = strlen(kinds[i].got);

		if (n > k && !strcmp(msg + n - k, kinds[i].got))
			CHECK(strchr(kinds[i].first, data[off]));
	}
}

/* "NAME:LINE:COL: message", one line, the position a byte of data or its end. */
static void check_error(const uint8_t *data, size_t size, const char *msg)
{
	unsigned long line, col, l = 1;
	size_t bol = 0, off;
	char *end;

	CHECK(strnlen(msg, sizeof((struct config_error *)0)->msg) <
	      sizeof((struct config_error *)0)->msg - 1); /* not cut short */
	for (const char *s = msg; *s; s++)
		CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
	CHECK(!strncmp(msg, NAME ":", strlen(NAME ":")));
	msg += strlen(NAME ":");
	CHECK(*msg >= '1' && *msg <= '9');
	line = strtoul(msg, &end, 10);
	CHECK(*end == ':' && end[1] >= '1' && end[1] <= '9');
	col = strtoul(end + 1, &end, 10);
	CHECK(end[0] == ':' && end[1] == ' ' && end[2] && end[2] != ' ');
	for (size_t i = 0; i < size && l < line; i++)
		if (data[i] == '\n')
			l++, bol = i + 1;
	CHECK(l == line);
	off = bol + (col - 1);
	CHECK(col - 1 <= size - bol && off <= size);
	CHECK(!memchr(data + bol, '\n', off - bol)); /* col stays on its line */
	check_points_at(data, size, off, end + 2);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool strv_eq(char **a, char **b)
{
	size_t i = 0;

	if (!a || !b) /* NULL and an empty list print alike */
		return (!a || !a[0]) && (!b || !b[0]);
	for (; a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return !a[i] && !b[i];
}

/* The same effective configuration (path aside: the name differs). */
static void check_same(const struct config *a, const struct config *b)
{
	const struct sandbox_config *x = &a->sandbox, *y = &b->sandbox;

	CHECK(a->kind == b->kind);
	CHECK(str_eq(a->program, b->program));
	CHECK(strv_eq(a->args, b->args));
	CHECK(strv_eq(a->env, b->env));
	CHECK(a->workers == b->workers);
	CHECK(a->max_requests == b->max_requests);
	CHECK(a->idle_timeout_ms == b->idle_timeout_ms);
	CHECK(a->request_timeout_ms == b->request_timeout_ms);
	CHECK(a->drain_timeout_ms == b->drain_timeout_ms);
	/* a native program ignores drain_signal, and check does not print it */
	CHECK(a->kind == CONFIG_NATIVE || a->drain_signal == b->drain_signal);
	CHECK(str_eq(a->listen, b->listen));
	CHECK(str_eq(a->fdname, b->fdname));
	for (size_t i = 0; i < settings_count; i++)
		CHECK(settings_get(&a->limits, &settings_table[i]) ==
		      settings_get(&b->limits, &settings_table[i]));
	CHECK(x->enabled == y->enabled);
	if (!x->enabled)
		return;
	CHECK(str_eq(x->user, y->user) && str_eq(x->group, y->group));
	CHECK(x->have_ids == y->have_ids && x->uid == y->uid && x->gid == y->gid);
	CHECK(strv_eq(x->read_only, y->read_only) && strv_eq(x->read_write, y->read_write));
	CHECK(x->landlock == y->landlock && x->profile == y->profile && x->action == y->action);
	CHECK(x->allow == y->allow);
	CHECK(strv_eq(x->syscalls, y->syscalls));
	CHECK(!memcmp(x->rlimits, y->rlimits, sizeof x->rlimits));
}

/* Every value within the ranges of sfcgi.json(5). */
static void check_ranges(const struct config *c)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
				    "0123456789";
	static const int signals[] = { SIGTERM, SIGUSR1, SIGUSR2, SIGHUP,
				       SIGINT, SIGQUIT, SIGWINCH };
	const struct sandbox_config *sb = &c->sandbox;
	bool sig = false;
	size_t n = 0;

	CHECK(c->kind == CONFIG_NATIVE || c->kind == CONFIG_FOREIGN);
	CHECK(c->program && c->program[0] == '/');
	CHECK(c->workers <= CONFIG_MAX_WORKERS);
	CHECK(c->max_requests <= (UINT64_C(1) << 53));
	CHECK(c->idle_timeout_ms <= 86400000 && c->request_timeout_ms <= 86400000 &&
	      c->drain_timeout_ms <= 86400000);
	for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
		sig |= c->drain_signal == signals[i];
	CHECK(sig);
	for (; c->env && c->env[n]; n++) {
		size_t k = strspn(c->env[n], alnum);

		CHECK(k > 0 && c->env[n][k] == '=' && !(c->env[n][0] >= '0' && c->env[n][0] <= '9'));
	}
	CHECK(n <= 1024);
	CHECK(!c->listen || c->listen[0]);
	if (c->fdname) {
		n = strlen(c->fdname);
		CHECK(n >= 1 && n <= 255 && !strchr(c->fdname, ':'));
		for (size_t i = 0; i < n; i++)
			CHECK(c->fdname[i] >= 0x20 && c->fdname[i] < 0x7f);
	}
	for (size_t i = 0; i < settings_count; i++) {
		const struct setting_desc *d = &settings_table[i];
		uint64_t v = settings_get(&c->limits, d);

		CHECK(v >= d->min && v <= d->max);
	}
	CHECK(sb->landlock <= LANDLOCK_OFF && sb->profile <= PROFILE_OFF &&
	      (sb->action == ACTION_KILL || sb->action == ACTION_LOG));
	CHECK((sb->allow & ~((GROUP_INTERPRETER << 1) - 1)) == 0);
	for (int i = 0; i < SANDBOX_RLIMITS; i++)
		CHECK(sb->rlimits[i] >= -1);
	CHECK(!sb->group || sb->user);
}

static char *print(const struct config *c)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	CHECK(f);
	config_print(c, f);
	CHECK(fclose(f) == 0 && out);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c, again;
	struct config_error err, err2;
	char *one, *two;
	int r;

	memset(&err, 0, sizeof err);
	r = config_parse(NAME, (const char *)data, size, &c, &err);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		check_error(data, size, err.msg);
		CHECK(!c.program && !c.args && !c.env && !c.path && !c.listen && !c.fdname);
		/* the same input gives the same message */
		CHECK(config_parse(NAME, (const char *)data, size, &again, &err2) == r);
		CHECK(!strcmp(err.msg, err2.msg));
		return 0;
	}
	check_ranges(&c);
	one = print(&c);
	memset(&err, 0, sizeof err);
	r = config_parse("printed.json", one, strlen(one), &again, &err);
	if (r < 0)
		fprintf(stderr, "printed:\n%s\nrefused: %s\n", one, err.msg);
	CHECK(r == 0);
	check_same(&c, &again);
	two = print(&again);
	if (strcmp(one, two))
		fprintf(stderr, "printed:\n%s\nprinted again:\n%s\n", one, two);
	CHECK(!strcmp(one, two));
	free(one);
	free(two);
	config_free(&again);
	config_free(&c);
	return 0;
}
