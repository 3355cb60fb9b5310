/* SPDX-License-Identifier: MIT */
/*
 * Runtime settings: the protocol limits and timeouts every peer-controlled
 * quantity is held to, with safe defaults. One table describes each key
 * (name, type, range, default) for the command line (--set KEY=VALUE) and
 * the instance config alike.
 */
#ifndef SFCGI_SETTINGS_H
#define SFCGI_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct settings {
	uint32_t max_conns;          /* connections per worker */
	uint32_t max_reqs_per_conn;  /* > 1 enables multiplexing */
	uint32_t max_params_bytes;   /* total FCGI_PARAMS stream bytes */
	uint32_t max_params;         /* name-value pairs per request */
	uint64_t max_stdin_bytes;    /* request body */
	uint32_t read_ahead;         /* body bytes buffered before/while the handler runs */
	uint32_t request_memory;     /* held body bytes in memory before they spill (spill.c) */
	uint32_t write_buffer;       /* response bytes buffered before waiting for the peer */
	uint32_t read_timeout_ms;    /* peer stalls mid-record or mid-request */
	uint32_t write_timeout_ms;   /* peer stops reading the response */
	uint32_t conn_idle_timeout_ms; /* kept connection without a request */
	uint32_t params_timeout_ms;  /* first byte of a request to the end of its params */
	uint32_t body_timeout_ms;    /* grace for a body before body_min_rate applies */
	uint32_t body_min_rate;      /* body bytes per second after the grace, 0 = none */
};

enum setting_type { SETTING_UINT, SETTING_SIZE, SETTING_MS };

struct setting_desc {
	const char *key;
	enum setting_type type;
	size_t offset;
	size_t width; /* 4 or 8 */
	uint64_t min, max, def;
	const char *help;
};

extern const struct setting_desc settings_table[];
extern const size_t settings_count;

void settings_defaults(struct settings *s);
const struct setting_desc *settings_find(const char *key);
/* Parses value for desc into s. 0, or -EINVAL / -ERANGE with *ret_why set. */
int settings_set(struct settings *s, const struct setting_desc *d, const char *value,
		 const char **ret_why);
/* Stores a number already parsed (JSON: in ms for SETTING_MS); checks the range. */
int settings_set_uint(struct settings *s, const struct setting_desc *d, uint64_t v,
		      const char **ret_why);
/* The same from a double (seconds for SETTING_MS), checked to be whole. */
int settings_set_number(struct settings *s, const struct setting_desc *d, double v,
			const char **ret_why);
uint64_t settings_get(const struct settings *s, const struct setting_desc *d);

/* Number tests without libm (the runtime does not link it). */
static inline bool num_is_whole(double v)
{
	if (v != v)
		return false;
	if (v >= 0x1p52 || v <= -0x1p52)
		return true; /* every double this large is whole (and so are the infinities) */
	return (double)(long long)v == v;
}

/* The nearest whole number to v, for 0 <= v < 2^52. */
static inline double num_round(double v)
{
	return (double)(long long)(v + 0.5);
}

static inline double num_abs(double v)
{
	return v < 0 ? -v : v;
}

#endif
