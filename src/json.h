/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON for the instance configuration (config.c), on jsmn.
 *
 * jsmn, even with JSMN_STRICT, accepts more than JSON: it does not look at
 * the separators between tokens ([1 2], {"a":1,}), the spelling of literals
 * (tru, 01, 1.) or the bytes inside strings (raw control characters, bad
 * UTF-8, \u0000). So once jsmn has tokenized the text, json_syntax() walks
 * every token and checks the bytes between tokens, every literal and every
 * string; only then does the caller read values. Every error is one line,
 * "name:line:col: message", at the offending byte (columns count bytes).
 */
#ifndef SFCGI_JSON_H
#define SFCGI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifndef JSMN_STATIC
#define JSMN_HEADER /* the token types only; json.c has the parser */
#endif
#include <jsmn.h>

#include "log.h"

#define JSON_ECHO_MAX 64 /* bytes of source text quoted in a message */

struct config;
struct config_error;

struct json {
	const char *name, *text; /* file name for messages; the text */
	size_t len;
	jsmntok_t *tok;          /* set by json_syntax() */
	int ntok;
	struct config *c;        /* the caller's result (config.c) */
	struct config_error *err;
};

/* Tokenizes and checks the whole text: 0, or -EINVAL/-ENOMEM with err set. */
int json_syntax(struct json *p);

/* "name:line:col: message" at byte off into err; returns -EINVAL. */
int json_fail(struct json *p, size_t off, const char *fmt, ...) SFCGI_FMT(3, 4);
int json_oom(struct json *p);
/* Keeps a message on one line: control characters become '?'. */
void json_one_line(char *s);

/* Where token t's source text begins and ends (a string's with its quotes). */
size_t json_t_start(const struct json *p, int t);
size_t json_t_end(const struct json *p, int t);
/* "%.*s" arguments quoting at most JSON_ECHO_MAX bytes of a token's source. */
#define JSON_ECHO(p, t) json_echo_len(p, t), (p)->text + json_t_start(p, t)
int json_echo_len(const struct json *p, int t);
/* Token i lies inside container token t; the token after t and all it holds. */
bool json_inside(const struct json *p, int i, int t);
int json_next_sibling(const struct json *p, int t);

/* "a string", "a number"...: what token t is, for messages. */
const char *json_kind_of(const struct json *p, int t);
/* Fails with "what: expected WANT, got KIND" unless token t is of that kind. */
int json_expect(struct json *p, int t, const char *want, const char *what);
/* The string token t, unescaped, in a new allocation. */
int json_get_string(struct json *p, int t, const char *what, char **ret);
/* A key decoded into buf (JSON_ECHO_MAX + 1 bytes); false if longer than that. */
bool json_key_name(struct json *p, int k, char *buf);
/* A number token times 10^scale, exactly: its whole part (UINT64_MAX if
 * larger), whether it is below zero (-0 is not) and whether a fraction is
 * left (1.5 at scale 0, 0.0005 at scale 3). */
struct json_decimal {
	uint64_t whole;
	bool negative, fraction;
};
void json_decimal(const struct json *p, int t, unsigned scale, struct json_decimal *ret);
/* "unknown key" with the known ones listed from table (stride bytes apart,
 * the key's name first in each entry). */
int json_unknown_key(struct json *p, int k, const char *in, const void *table, size_t stride,
		     size_t n);
/* Key k of object obj repeats an earlier one: the error, or 0. in is the
 * object's name for the message ("\"limits\": "), as for json_unknown_key(). */
int json_check_dup(struct json *p, int obj, int k, const char *in);
int json_duplicate(struct json *p, int k, int first, const char *in);

#endif
