/* SPDX-License-Identifier: MIT */
/* Strict JSON on jsmn, with file:line:col errors: see json.h. */

/* jsmn's parser, private to this file; json.h then sees the same header. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define MAX_DEPTH 32 /* jsmn closes a bracket in O(depth): keep depth small */

/* ---- errors ------------------------------------------------------------- */

static void where(const struct json *p, size_t off, unsigned *ret_line, unsigned *ret_col)
{
	unsigned line = 1;
	size_t bol = 0;

	for (size_t i = 0; i < off && i < p->len; i++)
		if (p->text[i] == '\n')
			line++, bol = i + 1;
	*ret_line = line;
	*ret_col = (unsigned)(off - bol + 1);
}

/* Keeps a message on one line, whatever a file name or quoted text holds. */
void json_one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int json_fail(struct json *p, size_t off, const char *fmt, ...)
{
	unsigned line, col;
	va_list ap;
	int n;

	if (!p->err)
		return -EINVAL;
	where(p, off, &line, &col);
	n = snprintf(p->err->msg, sizeof p->err->msg, "%s:%u:%u: ", p->name, line, col);
	if (n >= 0 && (size_t)n < sizeof p->err->msg) {
		va_start(ap, fmt);
		vsnprintf(p->err->msg + n, sizeof p->err->msg - (size_t)n, fmt, ap);
		va_end(ap);
	}
	json_one_line(p->err->msg);
	return -EINVAL;
}

int json_oom(struct json *p)
{
	if (p->err) {
		snprintf(p->err->msg, sizeof p->err->msg, "%s: out of memory", p->name);
		json_one_line(p->err->msg);
	}
	return -ENOMEM;
}

/* The byte at off, if it is a habit from elsewhere JSON does not have: what to say. */
static const char *habit(const struct json *p, size_t off)
{
	char ch = off < p->len ? p->text[off] : 0, next = 0;

	for (size_t i = off + 1; i < p->len && !next; i++)
		next = strchr(" \t\r\n", p->text[i]) && p->text[i] ? 0 : p->text[i];
	if (ch == ',' && (next == '}' || next == ']'))
		return next == '}' ? "trailing comma before '}'" : "trailing comma before ']'";
	if (ch == '#' ||
	    (ch == '/' && off + 1 < p->len && (p->text[off + 1] == '/' || p->text[off + 1] == '*')))
		return "comments are not allowed in JSON";
	if (ch == '\'')
		return "single quote: JSON strings and keys take double quotes";
	if (off == 0 && p->len >= 3 && !memcmp(p->text, "\xef\xbb\xbf", 3))
		return "byte order mark: save the file as UTF-8 without one";
	return NULL;
}

static int unexpected(struct json *p, size_t off)
{
	unsigned char ch = off < p->len ? (unsigned char)p->text[off] : 0;
	const char *why = habit(p, off);

	if (off >= p->len)
		return json_fail(p, off, "unexpected end of file");
	if (why)
		return json_fail(p, off, "%s", why);
	if (ch > 0x20 && ch < 0x7f)
		return json_fail(p, off, "unexpected '%c'", ch);
	return json_fail(p, off, "unexpected byte 0x%02x", ch);
}

/* ---- tokens --------------------------------------------------------------- */

/* Where a token's source text begins and ends (a string's with its quotes). */
size_t json_t_start(const struct json *p, int t)
{
	return (size_t)p->tok[t].start - (p->tok[t].type == JSMN_STRING);
}

size_t json_t_end(const struct json *p, int t)
{
	return (size_t)p->tok[t].end + (p->tok[t].type == JSMN_STRING);
}

/* "%.*s" arguments quoting at most JSON_ECHO_MAX bytes of a token's source. */
#define JSON_ECHO(p, t) json_echo_len(p, t), (p)->text + json_t_start(p, t)
int json_echo_len(const struct json *p, int t)
{
	size_t n = json_t_end(p, t) - json_t_start(p, t);

	return (int)(n < JSON_ECHO_MAX ? n : JSON_ECHO_MAX);
}

/* Token i lies inside container token t. */
bool json_inside(const struct json *p, int i, int t)
{
	return i < p->ntok && p->tok[i].start < p->tok[t].end;
}

/* The first token after t and everything inside it. */
int json_next_sibling(const struct json *p, int t)
{
	int i = t + 1;

	while (json_inside(p, i, t))
		i++;
	return i;
}

static size_t skip_ws(const struct json *p, size_t i, size_t end)
{
	while (i < end && strchr(" \t\r\n", p->text[i]) && p->text[i])
		i++;
	return i;
}

/* ---- strings and literals ------------------------------------------------- */

/* The code unit of a \u escape (its 4 hex digits at s, n bytes available), or -1. */
static long hex4(const char *s, size_t n)
{
	char h[5] = { 0 };

	if (n < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	memcpy(h, s + 2, 4);
	return strspn(h, "0123456789abcdefABCDEF") == 4 ? strtol(h, NULL, 16) : -1;
}

/* Length of the valid UTF-8 sequence at s (shortest form, no surrogates), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	uint32_t cp = s[0] & (0x7f >> k);

	if (s[0] < 0xc2 || s[0] > 0xf4 || k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* Appends k bytes to out (if not NULL) at *n. */
static void put(char *out, size_t *n, const void *b, size_t k)
{
	if (out)
		memcpy(out + *n, b, k);
	*n += k;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
	size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	unsigned char b[4] = { (unsigned char)(k == 1 ? cp : (0xf00u >> k) | cp >> (6 * (k - 1))) };

	for (size_t i = 1; i < k; i++)
		b[i] = (unsigned char)(0x80 | ((cp >> (6 * (k - 1 - i))) & 0x3f));
	put(out, n, b, k);
}

/* The escape at text[*i] (a backslash): appended to out, *i moved past it. */
static int unescape(struct json *p, size_t *i, size_t end, char *out, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *s = p->text + *i, *e = *i + 1 < end ? memchr(from, s[1], 8) : NULL;
	long cp = hex4(s, end - *i), lo = -1;

	if (e) {
		put(out, n, &to[e - from], 1);
		*i += 2;
		return 0;
	}
	if (cp < 0 && *i + 1 < end && s[1] == 'u')
		return json_fail(p, *i, "invalid \\u escape");
	if (cp < 0 && (unsigned char)s[1] > 0x20 && (unsigned char)s[1] < 0x7f)
		return json_fail(p, *i, "invalid escape '\\%c'", s[1]);
	if (cp < 0) /* a backslash before a control or non-ASCII byte */
		return json_fail(p, *i, "invalid escape: '\\' before byte 0x%02x",
				 (unsigned char)s[1]);
	if (cp == 0)
		return json_fail(p, *i, "\\u0000 is not allowed in strings");
	if (cp >= 0xd800 && cp <= 0xdbff)
		lo = hex4(s + 6, end - *i - 6);
	if ((cp >= 0xd800 && cp <= 0xdfff) && !(lo >= 0xdc00 && lo <= 0xdfff))
		return json_fail(p, *i, "unpaired surrogate %.6s", s);
	if (lo >= 0) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		*i += 6;
	}
	*i += 6;
	put_utf8(out, n, (uint32_t)cp);
	return 0;
}

/*
 * Checks string token t and, if out is not NULL, decodes it there with a
 * terminating NUL (room for the raw length + 1: decoding never grows).
 */
static int string_at(struct json *p, int t, char *out, size_t *ret_n)
{
	size_t i = (size_t)p->tok[t].start, end = (size_t)p->tok[t].end, n = 0, k;
	int r;

	while (i < end) {
		unsigned char ch = (unsigned char)p->text[i];

		if (ch == '\\') {
			if ((r = unescape(p, &i, end, out, &n)) < 0)
				return r;
			continue;
		}
		if (ch < 0x20)
			return json_fail(p, i, "control character in string (write it as \\u%04x)", ch);
		k = ch < 0x80 ? 1 : utf8_len((const unsigned char *)p->text + i, end - i);
		if (!k)
			return json_fail(p, i, "invalid UTF-8 in string");
		put(out, &n, p->text + i, k);
		i += k;
	}
	if (out)
		out[n] = 0;
	*ret_n = n;
	return 0;
}

/* Digits from s[*i] on; false if there is none. */
static bool digits(const char *s, size_t *i, size_t n)
{
	size_t from = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i > from;
}

/* The JSON number grammar (RFC 8259 section 6), exactly. */
static bool is_number(const char *s, size_t n)
{
	size_t i = s[0] == '-', int_start = i;

	if (!digits(s, &i, n) || (s[int_start] == '0' && i - int_start > 1))
		return false;
	if (i < n && s[i] == '.' && (++i, !digits(s, &i, n)))
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i += 1 + (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'));
		if (!digits(s, &i, n))
			return false;
	}
	return i == n;
}

static int check_literal(struct json *p, int t)
{
	const char *s = p->text + p->tok[t].start;
	size_t n = (size_t)(p->tok[t].end - p->tok[t].start);

	if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) ||
	    (n == 4 && !memcmp(s, "null", 4)) || is_number(s, n))
		return 0;
	return json_fail(p, json_t_start(p, t), "invalid literal '%.*s'", JSON_ECHO(p, t));
}

/* ---- syntax ------------------------------------------------------------- */

/* The innermost object or array jsmn had opened and not closed, or -1. */
static int open_container(const struct json *p, const jsmn_parser *jp)
{
	for (int i = (int)jp->toknext - 1; i >= 0; i--)
		if (p->tok[i].start >= 0 && p->tok[i].end < 0 && p->tok[i].type <= JSMN_ARRAY)
			return i;
	return -1;
}

/* "...: the '{' at 3:11 is not closed", for a closing bracket or the end of the file. */
static int not_closed(struct json *p, size_t off, const char *what, int t)
{
	unsigned line, col;

	where(p, (size_t)p->tok[t].start, &line, &col);
	return json_fail(p, off, "%s: the '%c' at %u:%u is not closed", what,
			 p->text[p->tok[t].start], line, col);
}

/* A bare word where a value belongs: true, false and null are lowercase, a
 * number has no '+' and no leading '.'. */
static bool word_byte(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("+-._", ch));
}

/* What jsmn refused (at jp->pos, its tree as far as it got), in JSON terms. */
static int jsmn_error(struct json *p, int r, const jsmn_parser *jp)
{
	size_t at = jp->pos, n;
	int sup = jp->toksuper, last = (int)jp->toknext - 1, open;
	char ch = at < p->len ? p->text[at] : 0;

	if (jp->toknext > 0 && p->tok[0].end >= 0)
		return json_fail(p, skip_ws(p, (size_t)p->tok[0].end, p->len),
			    "trailing bytes after the object");
	if (r == JSMN_ERROR_PART && ch == '"')
		return json_fail(p, at, "unterminated string");
	if (r == JSMN_ERROR_PART)
		return (open = open_container(p, jp)) >= 0
			   ? not_closed(p, p->len, "unexpected end of file", open)
			   : json_fail(p, p->len, "unexpected end of file");
	for (size_t i = at + 1; ch == '"' && i < p->len && p->text[i] != '"';)
		if (p->text[i] != '\\')
			i++;
		else if ((r = unescape(p, &i, p->len, NULL, &n)) < 0)
			return r; /* the bad escape: jsmn points at the string */
	if (ch == '{' || ch == '[')
		last--; /* jsmn took a token for it before refusing it */
	if ((ch == '}' || ch == ']') && (open = open_container(p, jp)) >= 0)
		return not_closed(p, at, ch == '}' ? "unexpected '}'" : "unexpected ']'", open);
	if (sup >= 0 && (ch == '{' || ch == '[' || word_byte(ch))) {
		if (p->tok[sup].type == JSMN_STRING && p->tok[sup].size)
			return json_fail(p, at, "expected ',' or '}'");
		if (p->tok[sup].type == JSMN_OBJECT)
			return json_fail(p, at,
				    last != sup && p->tok[last].type == JSMN_STRING &&
						    p->tok[last].parent == sup && p->tok[last].size == 0
					    ? "expected ':'"
					    : "expected a string key");
	}
	if (sup >= 0 && p->tok[sup].type == JSMN_ARRAY && word_byte(ch)) {
		size_t prev = at;

		while (prev > 0 && strchr(" \t\r\n", p->text[prev - 1]))
			prev--;
		if (prev > 0 && p->text[prev - 1] != '[' && p->text[prev - 1] != ',')
			return json_fail(p, at, "expected ',' or ']'");
	}
	if (ch && strchr("-0123456789tfn", ch)) { /* a byte jsmn refuses in a literal */
		while (at < p->len && (unsigned char)p->text[at] > 0x20 &&
		       (unsigned char)p->text[at] < 0x7f && !strchr(",]}", p->text[at]))
			at++;
	} else if (word_byte(ch)) { /* True, None, +1, .5: not JSON's literals */
		for (n = at; n < p->len && n - at < JSON_ECHO_MAX && word_byte(p->text[n]);)
			n++;
		return json_fail(p, at, "invalid literal '%.*s'", (int)(n - at), p->text + at);
	}
	return unexpected(p, at);
}

static int tokenize(struct json *p)
{
	unsigned cap = 64;

	for (;;) {
		jsmntok_t *t = realloc(p->tok, cap * sizeof *t);
		jsmn_parser jp;
		int r;

		if (!t)
			return json_oom(p);
		p->tok = t;
		jsmn_init(&jp);
		r = jsmn_parse(&jp, p->text, p->len, p->tok, cap);
		p->ntok = r >= 0 ? r : (int)jp.toknext;
		if (r >= 0)
			return 0;
		if (r != JSMN_ERROR_NOMEM || cap > p->len)
			return jsmn_error(p, r, &jp);
		cap *= 2; /* a token takes at least one byte: cap stays below 2 * len */
	}
}

/* NUL bytes (jsmn stops at one, silently) and nesting depth. */
static int prescan(struct json *p)
{
	const char *nul = memchr(p->text, 0, p->len);
	bool str = false;
	int depth = 0;

	if (nul)
		return json_fail(p, (size_t)(nul - p->text), "NUL byte in file");
	for (size_t i = 0; i < p->len; i++) {
		char ch = p->text[i];

		if (str && ch == '\\')
			i++;
		else if (ch == '"')
			str = !str;
		else if (!str && (ch == '{' || ch == '[') && ++depth > MAX_DEPTH)
			return json_fail(p, i, "nested deeper than %d levels", MAX_DEPTH);
		else if (!str && (ch == '}' || ch == ']') && depth > 0)
			depth--;
	}
	return 0;
}

/* The bytes between two tokens: white space, punct if not 0, white space. */
static int gap(struct json *p, size_t from, size_t to, char punct, const char *what)
{
	size_t i = skip_ws(p, from, to);

	if (punct && (i == to || p->text[i] != punct))
		return json_fail(p, i, "expected %s", what);
	if (punct)
		i = skip_ws(p, i + 1, to);
	if (i == to)
		return 0;
	if (i < p->len && (p->text[i] == ',' || p->text[i] == ':'))
		return unexpected(p, i);
	return json_fail(p, i, "expected %s", what);
}

/* Key k of an object with nothing after it: "expected ':'" or "expected a value". */
static int no_value(struct json *p, int k)
{
	size_t i = skip_ws(p, json_t_end(p, k), p->len);

	if (i < p->len && p->text[i] == ':')
		return json_fail(p, skip_ws(p, i + 1, p->len), "expected a value");
	return json_fail(p, i, "expected ':'");
}

/*
 * Token t and what it contains; *ret_next is the token after it. Tokens are
 * taken in source order and every byte between two of them is checked, so
 * a tree jsmn built from bad JSON cannot pass. Depth is bounded by prescan().
 */
static int walk(struct json *p, int t, int *ret_next)
{
	bool obj = p->tok[t].type == JSMN_OBJECT;
	const char *what = obj ? "',' or '}'" : "',' or ']'";
	size_t pos = (size_t)p->tok[t].start + 1, n;
	int i = t + 1, v, r;

	*ret_next = t + 1;
	if (p->tok[t].type == JSMN_STRING)
		return string_at(p, t, NULL, &n);
	if (p->tok[t].type == JSMN_PRIMITIVE)
		return check_literal(p, t);
	while (json_inside(p, i, t)) {
		if ((r = gap(p, pos, json_t_start(p, i), i == t + 1 ? 0 : ',', what)) < 0)
			return r;
		v = i + obj;
		if (obj && p->tok[i].type != JSMN_STRING)
			return json_fail(p, json_t_start(p, i), "expected a string key");
		if (obj && ((r = string_at(p, i, NULL, &n)) < 0 ||
			    (r = json_inside(p, v, t) ? 0 : no_value(p, i)) < 0 ||
			    (r = gap(p, json_t_end(p, i), json_t_start(p, v), ':', "':'")) < 0))
			return r;
		if ((r = walk(p, v, &i)) < 0)
			return r;
		pos = json_t_end(p, v);
	}
	*ret_next = i;
	return gap(p, pos, (size_t)p->tok[t].end - 1, 0, what);
}

int json_syntax(struct json *p)
{
	size_t i = skip_ws(p, 0, p->len);
	int r, next;

	if (p->len > CONFIG_MAX_BYTES)
		return json_fail(p, CONFIG_MAX_BYTES, "file is larger than %d bytes", CONFIG_MAX_BYTES);
	if (p->len == 0)
		return json_fail(p, 0, "empty file, expected a JSON object");
	/* a comment or a BOM before the object; '#' is as likely "#!/bin/sh" */
	if (i < p->len && p->text[i] != '{' && p->text[i] != '#' && habit(p, i))
		return unexpected(p, i);
	if (i == p->len || p->text[i] != '{')
		return json_fail(p, i, "expected a JSON object");
	if ((r = prescan(p)) < 0 || (r = tokenize(p)) < 0 || (r = walk(p, 0, &next)) < 0)
		return r;
	i = skip_ws(p, json_t_end(p, 0), p->len);
	if (i != p->len || next != p->ntok)
		return json_fail(p, i, "trailing bytes after the object");
	return 0;
}

/* ---- values --------------------------------------------------------------- */

const char *json_kind_of(const struct json *p, int t)
{
	static const char *const names[] = {
		[JSMN_OBJECT] = "an object", [JSMN_ARRAY] = "an array", [JSMN_STRING] = "a string"
	};
	char ch = p->text[p->tok[t].start];

	if (p->tok[t].type != JSMN_PRIMITIVE)
		return names[p->tok[t].type];
	return ch == 't' || ch == 'f' ? "a boolean" : ch == 'n' ? "null" : "a number";
}

int json_expect(struct json *p, int t, const char *want, const char *what)
{
	if (!strcmp(json_kind_of(p, t), want))
		return 0;
	return json_fail(p, json_t_start(p, t), "\"%s\": expected %s, got %s", what, want, json_kind_of(p, t));
}

/* String token t, decoded into a malloc'd *ret (what names it in errors). */
int json_get_string(struct json *p, int t, const char *what, char **ret)
{
	size_t n;
	int r = json_expect(p, t, "a string", what);

	if (r == 0 && !(*ret = malloc(json_t_end(p, t) - json_t_start(p, t))))
		return json_oom(p);
	return r < 0 ? r : string_at(p, t, *ret, &n);
}

/* A key decoded into buf (JSON_ECHO_MAX + 1 bytes); false if longer than that. */
bool json_key_name(struct json *p, int k, char *buf)
{
	size_t n;

	buf[0] = 0;
	return p->tok[k].end - p->tok[k].start <= JSON_ECHO_MAX && string_at(p, k, buf, &n) == 0;
}

/*
 * The number token t (JSON's grammar, checked by json_syntax()) times
 * 10^scale, from its digits: nothing is rounded through a double, so that
 * 9223372036854775807 stays itself, 1e-400 is not 0 and 1.0000000000000001
 * is not 1.
 */
void json_decimal(const struct json *p, int t, unsigned scale, struct json_decimal *ret)
{
	const char *s = p->text + p->tok[t].start;
	size_t n = (size_t)(p->tok[t].end - p->tok[t].start), i, k = 0;
	long long m = 0, frac = 0, exp = 0, cut;
	bool point = false, nonzero = false;

	memset(ret, 0, sizeof *ret);
	for (i = s[0] == '-'; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
		point |= s[i] == '.';
		m += s[i] != '.';
		frac += point && s[i] != '.';
		nonzero |= s[i] >= '1' && s[i] <= '9';
	}
	if (i < n) { /* the exponent, saturated far beyond any count of digits */
		size_t j = i + 1 + (s[i + 1] == '-' || s[i + 1] == '+');

		for (; j < n; j++)
			exp = exp < 100000000 ? exp * 10 + (s[j] - '0') : exp;
		exp = s[i + 1] == '-' ? -exp : exp;
	}
	if (!nonzero)
		return; /* 0, -0, 0.0e7 */
	ret->negative = s[0] == '-';
	/* value = mantissa digits * 10^(exp - frac + scale): the first cut are whole */
	cut = m + exp - frac + (long long)scale;
	for (i = s[0] == '-'; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] == '.')
			continue;
		if ((long long)k++ >= cut)
			ret->fraction |= d != 0;
		else
			ret->whole =
			    ret->whole > (UINT64_MAX - d) / 10 ? UINT64_MAX : ret->whole * 10 + d;
	}
	for (cut -= m; cut > 0 && ret->whole && ret->whole != UINT64_MAX; cut--)
		ret->whole = ret->whole > UINT64_MAX / 10 ? UINT64_MAX : ret->whole * 10;
}

/* "unknown key" with "a, b, c" from the key member at the start of each table entry. */
int json_unknown_key(struct json *p, int k, const char *in, const void *table,
		       size_t stride, size_t n)
{
	char valid[512];
	size_t len = 0;

	valid[0] = 0;
	for (size_t i = 0; i < n && len < sizeof valid; i++) {
		const char *key = *(const char *const *)((const char *)table + i * stride);
		int w = snprintf(valid + len, sizeof valid - len, "%s%s", i ? ", " : "", key);

		len += w > 0 ? (size_t)w : 0;
	}
	return json_fail(p, json_t_start(p, k), "%sunknown key %.*s (valid: %s)", in, JSON_ECHO(p, k), valid);
}

int json_duplicate(struct json *p, int k, int first, const char *in)
{
	unsigned line, col;

	where(p, json_t_start(p, first), &line, &col);
	return json_fail(p, json_t_start(p, k), "%sduplicate key %.*s (first at %u:%u)", in,
			 JSON_ECHO(p, k), line, col);
}

/* Key k (a known one, so short) against the keys before it in object obj. */
int json_check_dup(struct json *p, int obj, int k, const char *in)
{
	char a[JSON_ECHO_MAX + 1], b[JSON_ECHO_MAX + 1];

	json_key_name(p, k, a);
	for (int i = obj + 1; i < k; i = json_next_sibling(p, i + 1))
		if (json_key_name(p, i, b) && !strcmp(a, b))
			return json_duplicate(p, k, i, in);
	return 0;
}
