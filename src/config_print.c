/* SPDX-License-Identifier: MIT */
/*
 * `sfcgi check`'s printout of a parsed config: the effective values,
 * defaults included, as JSON that config_parse() reads back to the same
 * config (fuzz/fuzz_config.c checks that round trip).
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "profile.h"
#include "sandbox.h"
#include "settings.h"

/* s as a JSON string; n bytes of it, or up to the NUL if n is SIZE_MAX. */
static void print_string(FILE *f, const char *s, size_t n)
{
	static const char raw[] = "\"\\\b\f\n\r\t", esc[] = "\"\\bfnrt";

	fputc('"', f);
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *e = memchr(raw, ch, 7);

		if (e)
			fprintf(f, "\\%c", esc[e - raw]);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* ",\n  "key": " then the value; an optional string member is left out if NULL. */
static void print_key(FILE *f, const char *key, const char *value)
{
	fprintf(f, ",\n  \"%s\": ", key);
	if (value)
		print_string(f, value, SIZE_MAX);
}

/* "args" and "environment", one element a line. */
static void print_lists(const struct config *c, FILE *f)
{
	print_key(f, "args", NULL);
	fputc('[', f);
	for (size_t i = 0; c->args && c->args[i]; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		print_string(f, c->args[i], SIZE_MAX);
	}
	fputs(c->args && c->args[0] ? "\n  ]" : "]", f);
	print_key(f, "environment", NULL);
	fputc('{', f);
	for (size_t i = 0; c->env && c->env[i]; i++) {
		size_t k = strcspn(c->env[i], "=");

		fputs(i ? ",\n    " : "\n    ", f);
		print_string(f, c->env[i], k);
		fputs(": ", f);
		print_string(f, c->env[i] + k + (c->env[i][k] == '='), SIZE_MAX);
	}
	fputs(c->env && c->env[0] ? "\n  }" : "}", f);
}

static void print_strv(FILE *f, const char *key, char **v)
{
	fprintf(f, ",\n    \"%s\": [", key);
	for (size_t i = 0; v && v[i]; i++) {
		fputs(i ? ", " : "", f);
		print_string(f, v[i], SIZE_MAX);
	}
	fputc(']', f);
}

/* The effective sandbox, defaults included. */
static void print_sandbox(const struct sandbox_config *sb, FILE *f)
{
	static const char *const landlock[] = { "auto", "required", "off" };
	static const char *const profile[] = { "default", "strict", "off" };
	bool first = true;

	print_key(f, "sandbox", NULL);
	if (!sb->enabled) {
		fputs("false", f);
		return;
	}
	fputc('{', f);
	if (sb->runtime)
		fprintf(f, "\n    \"profile\": \"%s\",", sb->runtime->name);
	fprintf(f, "\n    \"seccomp\": \"%s\",\n    \"on_violation\": \"%s\",\n    \"landlock\": \"%s\"",
		profile[sb->profile], sb->action == ACTION_LOG ? "log" : "kill",
		landlock[sb->landlock]);
	fputs(",\n    \"allow\": [", f);
	for (uint32_t bit = 1; bit <= GROUP_FILE_COPY; bit <<= 1)
		if (sb->allow & bit) {
			fprintf(f, "%s\"%s\"", first ? "" : ", ", sandbox_group_name(bit));
			first = false;
		}
	fputc(']', f);
	print_strv(f, "syscalls", sb->syscalls);
	print_strv(f, "read_only", sb->read_only);
	print_strv(f, "read_write", sb->read_write);
	if (sb->user) {
		fputs(",\n    \"user\": ", f);
		print_string(f, sb->user, SIZE_MAX);
	}
	if (sb->group) {
		fputs(",\n    \"group\": ", f);
		print_string(f, sb->group, SIZE_MAX);
	}
	fputs(",\n    \"rlimits\": {", f);
	first = true;
	for (int i = 0; i < SANDBOX_RLIMITS; i++)
		if (sb->rlimits[i] >= 0) {
			fprintf(f, "%s\"%s\": %lld", first ? "" : ", ", sandbox_rlimit_names[i],
				(long long)sb->rlimits[i]);
			first = false;
		}
	fputs("}\n  }", f);
}

/* "listen": a socket file as an object with its effective mode, else the string. */
static void print_listen(const struct config *c, FILE *f)
{
	if (!c->listen)
		return;
	print_key(f, "listen", c->listen[0] == '/' ? NULL : c->listen);
	if (c->listen[0] != '/')
		return;
	fputs("{\"path\": ", f);
	print_string(f, c->listen, SIZE_MAX);
	fprintf(f, ", \"mode\": \"%04o\"", (unsigned)c->listen_mode);
	if (c->listen_owner) {
		fputs(", \"owner\": ", f);
		print_string(f, c->listen_owner, SIZE_MAX);
	}
	if (c->listen_group) {
		fputs(", \"group\": ", f);
		print_string(f, c->listen_group, SIZE_MAX);
	}
	fputc('}', f);
}

void config_print(const struct config *c, FILE *f)
{
	static const char *const timeouts[] = { "idle_timeout", "request_timeout",
						"drain_timeout" };
	const uint32_t ms[] = { c->idle_timeout_ms, c->request_timeout_ms, c->drain_timeout_ms };
	char buf[32];

	fprintf(f, "{\n  \"kind\": \"%s\"", c->kind == CONFIG_FOREIGN ? "foreign" : "native");
	if (c->program)
		print_key(f, "program", c->program);
	print_lists(c, f);
	fprintf(f, ",\n  \"workers\": %" PRIu32 ",\n  \"max_requests\": %" PRIu64, c->workers,
		c->max_requests);
	for (size_t i = 0; i < 3; i++) {
		config_fmt_limit(buf, sizeof buf, SETTING_MS, ms[i]);
		fprintf(f, ",\n  \"%s\": %s", timeouts[i], buf);
	}
	print_listen(c, f);
	if (c->fdname)
		print_key(f, "fdname", c->fdname);
	if (c->kind != CONFIG_FOREIGN) { /* refused there: see kind_checks() */
		print_key(f, "limits", NULL);
		fputc('{', f);
		for (size_t i = 0; i < settings_count; i++) {
			const struct setting_desc *d = &settings_table[i];

			config_fmt_limit(buf, sizeof buf, d->type, settings_get(&c->limits, d));
			fprintf(f, "%s\"%s\": %s", i ? ",\n    " : "\n    ", d->key, buf);
		}
		fputs("\n  }", f);
		if (c->spill_dir)
			print_key(f, "spill_dir", c->spill_dir);
	}
	print_sandbox(&c->sandbox, f);
	if (c->kind == CONFIG_FOREIGN && config_drain_signal_name(c->drain_signal))
		print_key(f, "drain_signal", config_drain_signal_name(c->drain_signal));
	if (c->status)
		print_key(f, "status", c->status);
	config_fmt_limit(buf, sizeof buf, SETTING_MS, c->slow_request_ms);
	fprintf(f, ",\n  \"slow_request\": %s", buf);
	fputs("\n}\n", f);
}
