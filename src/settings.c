/* SPDX-License-Identifier: MIT */
#include "settings.h"
#include "layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define F(field) offsetof(struct settings, field), sizeof(((struct settings *)0)->field)
#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

const struct setting_desc settings_table[] = {
	{ "max_conns", SETTING_UINT, F(max_conns), 1, 65536, 1024,
	  "concurrent connections per worker (FCGI_MAX_CONNS)" },
	{ "max_reqs_per_conn", SETTING_UINT, F(max_reqs_per_conn), 1, 1024, 1,
	  "concurrent requests per connection; 1 refuses multiplexing (FCGI_MPXS_CONNS=0)" },
	{ "max_params_bytes", SETTING_SIZE, F(max_params_bytes), 256, 16 * MIB, 64 * KIB,
	  "bytes of FCGI_PARAMS per request; more is answered 431" },
	{ "max_params", SETTING_UINT, F(max_params), 1, 1000000, 512,
	  "parameters per request; more is answered 431" },
	{ "max_stdin_bytes", SETTING_SIZE, F(max_stdin_bytes), 0, UINT64_MAX / 2, 1 * GIB,
	  "request body bytes; more is answered 413" },
	{ "read_ahead", SETTING_SIZE, F(read_ahead), 4 * KIB, 64 * MIB, 64 * KIB,
	  "body bytes buffered ahead of the handler; a larger body is streamed" },
	{ "request_memory", SETTING_SIZE, F(request_memory), 0, 1 * GIB, 1 * MIB,
	  "body bytes a request holds in memory while its output waits; the rest spills to a file" },
	{ "write_buffer", SETTING_SIZE, F(write_buffer), 4 * KIB, 64 * MIB, 256 * KIB,
	  "response bytes buffered before the handler waits for the peer" },
	{ "read_timeout", SETTING_MS, F(read_timeout_ms), 1, 86400000, 30000,
	  "seconds a peer may stall while sending a request" },
	{ "write_timeout", SETTING_MS, F(write_timeout_ms), 1, 86400000, 30000,
	  "seconds a peer may stall while reading a response" },
	{ "conn_idle_timeout", SETTING_MS, F(conn_idle_timeout_ms), 1, 86400000, 300000,
	  "seconds a kept connection may wait for its next request" },
	{ "params_timeout", SETTING_MS, F(params_timeout_ms), 1, 86400000, 10000,
	  "seconds from a request's first byte (accept for the first) to the end of its params" },
	{ "body_timeout", SETTING_MS, F(body_timeout_ms), 1, 86400000, 20000,
	  "seconds of grace for a request body before body_min_rate applies" },
	{ "body_min_rate", SETTING_UINT, F(body_min_rate), 0, UINT32_MAX, 500,
	  "bytes per second a request body must average after body_timeout; 0 = no minimum" },
};
const size_t settings_count = sizeof settings_table / sizeof settings_table[0];

WORKER_TEXT static void store(struct settings *s, const struct setting_desc *d, uint64_t v)
{
	char *p = (char *)s + d->offset;

	if (d->width == sizeof(uint64_t)) {
		uint64_t x = v;
		memcpy(p, &x, sizeof x);
	} else {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, sizeof x);
	}
}

uint64_t settings_get(const struct settings *s, const struct setting_desc *d)
{
	const char *p = (const char *)s + d->offset;

	if (d->width == sizeof(uint64_t)) {
		uint64_t x;
		memcpy(&x, p, sizeof x);
		return x;
	}
	uint32_t x;
	memcpy(&x, p, sizeof x);
	return x;
}

WORKER_TEXT void settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < settings_count; i++)
		store(s, &settings_table[i], settings_table[i].def);
}

const struct setting_desc *settings_find(const char *key)
{
	for (size_t i = 0; i < settings_count; i++)
		if (strcmp(settings_table[i].key, key) == 0)
			return &settings_table[i];
	return NULL;
}

int settings_set_uint(struct settings *s, const struct setting_desc *d, uint64_t v,
		      const char **ret_why)
{
	if (v > d->max || v < d->min) {
		*ret_why = "out of range";
		return -ERANGE;
	}
	store(s, d, v);
	return 0;
}

int settings_set_number(struct settings *s, const struct setting_desc *d, double v,
			const char **ret_why)
{
	if (d->type == SETTING_MS && v >= 0 && v < 1e12 && num_abs(v * 1000.0 - num_round(v * 1000.0)) < 1e-6)
		v = num_round(v * 1000.0); /* given in seconds, kept in ms */
	else if (d->type == SETTING_MS)
		v *= 1000.0;
	if (!(v >= 0) || !num_is_whole(v)) {
		*ret_why = d->type == SETTING_MS ? "must be a non-negative number of seconds, to the millisecond"
						 : "must be a non-negative integer";
		return -EINVAL;
	}
	if (v >= 0x1p64) { /* (uint64_t)v is only defined below 2^64 */
		*ret_why = "out of range";
		return -ERANGE;
	}
	return settings_set_uint(s, d, (uint64_t)v, ret_why);
}

int settings_set(struct settings *s, const struct setting_desc *d, const char *value,
		 const char **ret_why)
{
	char *end;
	double v;

	if (!value || !*value || strchr(" \t+-", value[0])) {
		*ret_why = "must be a non-negative number";
		return -EINVAL;
	}
	if (d->type != SETTING_MS && strspn(value, "0123456789") == strlen(value)) {
		/* Whole counts exactly: a double would round 2^63-1 up to 2^63. */
		unsigned long long u;

		errno = 0;
		u = strtoull(value, &end, 10);
		if (errno == ERANGE) {
			*ret_why = "out of range";
			return -ERANGE;
		}
		return settings_set_uint(s, d, u, ret_why);
	}
	errno = 0;
	v = strtod(value, &end);
	if (errno || *end) {
		*ret_why = "is not a number";
		return -EINVAL;
	}
	return settings_set_number(s, d, v, ret_why);
}
