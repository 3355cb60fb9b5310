/* SPDX-License-Identifier: MIT */
/*
 * The instance configuration file, sfcgi.json(5): JSON tokenized by jsmn,
 * checked strictly, turned into struct config.
 *
 * jsmn, even with JSMN_STRICT, accepts more than JSON: it does not look at
 * the separators between tokens ([1 2], {"a":1,}), the spelling of literals
 * (tru, 01, 1.) or the bytes inside strings (raw control characters, bad
 * UTF-8, \u0000). So once jsmn has tokenized the text, syntax() walks every
 * token and checks the bytes between tokens, every literal and every
 * string; only then does root() read values. Every error is one line,
 * "name:line:col: message", at the offending byte (columns count bytes).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define MAX_DEPTH    32   /* jsmn closes a bracket in O(depth): keep depth small */
#define MAX_ENV      1024 /* "environment" names, checked pairwise for duplicates */
#define MAX_SECONDS  86400
#define MAX_REQUESTS (UINT64_C(1) << 53) /* integers a JSON number holds exactly */
#define ECHO_MAX     64                  /* bytes of source text quoted in a message */

struct parse {
	const char *name, *text;
	size_t len;
	jsmntok_t *tok;
	int ntok;
	struct config *c;
	struct config_error *err;
};

/* ---- errors ------------------------------------------------------------- */

static void where(const struct parse *p, size_t off, unsigned *ret_line, unsigned *ret_col)
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
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int fail(struct parse *p, size_t off, const char *fmt, ...) SFCGI_FMT(3, 4);
static int fail(struct parse *p, size_t off, const char *fmt, ...)
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
	one_line(p->err->msg);
	return -EINVAL;
}

static int oom(struct parse *p)
{
	if (p->err) {
		snprintf(p->err->msg, sizeof p->err->msg, "%s: out of memory", p->name);
		one_line(p->err->msg);
	}
	return -ENOMEM;
}

static int unexpected(struct parse *p, size_t off)
{
	unsigned char ch = off < p->len ? (unsigned char)p->text[off] : 0;

	if (off >= p->len)
		return fail(p, off, "unexpected end of file");
	if (ch > 0x20 && ch < 0x7f)
		return fail(p, off, "unexpected '%c'", ch);
	return fail(p, off, "unexpected byte 0x%02x", ch);
}

/* ---- tokens --------------------------------------------------------------- */

/* Where a token's source text begins and ends (a string's with its quotes). */
static size_t t_start(const struct parse *p, int t)
{
	return (size_t)p->tok[t].start - (p->tok[t].type == JSMN_STRING);
}

static size_t t_end(const struct parse *p, int t)
{
	return (size_t)p->tok[t].end + (p->tok[t].type == JSMN_STRING);
}

/* "%.*s" arguments quoting at most ECHO_MAX bytes of a token's source. */
#define ECHO(p, t) echo_len(p, t), (p)->text + t_start(p, t)
static int echo_len(const struct parse *p, int t)
{
	size_t n = t_end(p, t) - t_start(p, t);

	return (int)(n < ECHO_MAX ? n : ECHO_MAX);
}

/* Token i lies inside container token t. */
static bool inside(const struct parse *p, int i, int t)
{
	return i < p->ntok && p->tok[i].start < p->tok[t].end;
}

/* The first token after t and everything inside it. */
static int next_sibling(const struct parse *p, int t)
{
	int i = t + 1;

	while (inside(p, i, t))
		i++;
	return i;
}

static size_t skip_ws(const struct parse *p, size_t i, size_t end)
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
static int unescape(struct parse *p, size_t *i, size_t end, char *out, size_t *n)
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
		return fail(p, *i, "invalid \\u escape");
	if (cp < 0)
		return fail(p, *i, "invalid escape '\\%c'", *i + 1 < end ? s[1] : ' ');
	if (cp == 0)
		return fail(p, *i, "\\u0000 is not allowed in strings");
	if (cp >= 0xd800 && cp <= 0xdbff)
		lo = hex4(s + 6, end - *i - 6);
	if ((cp >= 0xd800 && cp <= 0xdfff) && !(lo >= 0xdc00 && lo <= 0xdfff))
		return fail(p, *i, "unpaired surrogate %.6s", s);
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
static int string_at(struct parse *p, int t, char *out, size_t *ret_n)
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
			return fail(p, i, "control character in string (write it as \\u%04x)", ch);
		k = ch < 0x80 ? 1 : utf8_len((const unsigned char *)p->text + i, end - i);
		if (!k)
			return fail(p, i, "invalid UTF-8 in string");
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

static int check_literal(struct parse *p, int t)
{
	const char *s = p->text + p->tok[t].start;
	size_t n = (size_t)(p->tok[t].end - p->tok[t].start);

	if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) ||
	    (n == 4 && !memcmp(s, "null", 4)) || is_number(s, n))
		return 0;
	return fail(p, t_start(p, t), "invalid literal '%.*s'", ECHO(p, t));
}

/* ---- syntax ------------------------------------------------------------- */

/* What jsmn refused (at jp->pos, its tree as far as it got), in JSON terms. */
static int jsmn_error(struct parse *p, int r, const jsmn_parser *jp)
{
	size_t at = jp->pos, n;
	int sup = jp->toksuper, last = (int)jp->toknext - 1;
	char ch = at < p->len ? p->text[at] : 0;

	if (jp->toknext > 0 && p->tok[0].end >= 0)
		return fail(p, skip_ws(p, (size_t)p->tok[0].end, p->len),
			    "trailing bytes after the object");
	if (r == JSMN_ERROR_PART)
		return ch == '"' ? fail(p, at, "unterminated string")
				 : fail(p, p->len, "unexpected end of file");
	for (size_t i = at + 1; ch == '"' && i < p->len && p->text[i] != '"';)
		if (p->text[i] != '\\')
			i++;
		else if ((r = unescape(p, &i, p->len, NULL, &n)) < 0)
			return r; /* the bad escape: jsmn points at the string */
	if (ch == '{' || ch == '[')
		last--; /* jsmn took a token for it before refusing it */
	if (ch && sup >= 0 && strchr("{[-0123456789tfn", ch)) {
		if (p->tok[sup].type == JSMN_STRING && p->tok[sup].size)
			return fail(p, at, "expected ',' or '}'");
		if (p->tok[sup].type == JSMN_OBJECT)
			return fail(p, at,
				    last != sup && p->tok[last].type == JSMN_STRING &&
						    p->tok[last].parent == sup && p->tok[last].size == 0
					    ? "expected ':'"
					    : "expected a string key");
	}
	if (ch && strchr("-0123456789tfn", ch)) /* a byte jsmn refuses in a literal */
		while (at < p->len && (unsigned char)p->text[at] > 0x20 &&
		       (unsigned char)p->text[at] < 0x7f && !strchr(",]}", p->text[at]))
			at++;
	return unexpected(p, at);
}

static int tokenize(struct parse *p)
{
	unsigned cap = 64;

	for (;;) {
		jsmntok_t *t = realloc(p->tok, cap * sizeof *t);
		jsmn_parser jp;
		int r;

		if (!t)
			return oom(p);
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
static int prescan(struct parse *p)
{
	const char *nul = memchr(p->text, 0, p->len);
	bool str = false;
	int depth = 0;

	if (nul)
		return fail(p, (size_t)(nul - p->text), "NUL byte in file");
	for (size_t i = 0; i < p->len; i++) {
		char ch = p->text[i];

		if (str && ch == '\\')
			i++;
		else if (ch == '"')
			str = !str;
		else if (!str && (ch == '{' || ch == '[') && ++depth > MAX_DEPTH)
			return fail(p, i, "nested deeper than %d levels", MAX_DEPTH);
		else if (!str && (ch == '}' || ch == ']') && depth > 0)
			depth--;
	}
	return 0;
}

/* The bytes between two tokens: white space, punct if not 0, white space. */
static int gap(struct parse *p, size_t from, size_t to, char punct, const char *what)
{
	size_t i = skip_ws(p, from, to);

	if (punct && (i == to || p->text[i] != punct))
		return fail(p, i, "expected %s", what);
	if (punct)
		i = skip_ws(p, i + 1, to);
	if (i == to)
		return 0;
	if (i < p->len && (p->text[i] == ',' || p->text[i] == ':'))
		return unexpected(p, i);
	return fail(p, i, "expected %s", what);
}

/* Key k of an object with nothing after it: "expected ':'" or "expected a value". */
static int no_value(struct parse *p, int k)
{
	size_t i = skip_ws(p, t_end(p, k), p->len);

	if (i < p->len && p->text[i] == ':')
		return fail(p, skip_ws(p, i + 1, p->len), "expected a value");
	return fail(p, i, "expected ':'");
}

/*
 * Token t and what it contains; *ret_next is the token after it. Tokens are
 * taken in source order and every byte between two of them is checked, so
 * a tree jsmn built from bad JSON cannot pass. Depth is bounded by prescan().
 */
static int walk(struct parse *p, int t, int *ret_next)
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
	while (inside(p, i, t)) {
		if ((r = gap(p, pos, t_start(p, i), i == t + 1 ? 0 : ',', what)) < 0)
			return r;
		v = i + obj;
		if (obj && p->tok[i].type != JSMN_STRING)
			return fail(p, t_start(p, i), "expected a string key");
		if (obj && ((r = string_at(p, i, NULL, &n)) < 0 ||
			    (r = inside(p, v, t) ? 0 : no_value(p, i)) < 0 ||
			    (r = gap(p, t_end(p, i), t_start(p, v), ':', "':'")) < 0))
			return r;
		if ((r = walk(p, v, &i)) < 0)
			return r;
		pos = t_end(p, v);
	}
	*ret_next = i;
	return gap(p, pos, (size_t)p->tok[t].end - 1, 0, what);
}

static int syntax(struct parse *p)
{
	size_t i = skip_ws(p, 0, p->len);
	int r, next;

	if (p->len > CONFIG_MAX_BYTES)
		return fail(p, CONFIG_MAX_BYTES, "file is larger than %d bytes", CONFIG_MAX_BYTES);
	if (p->len == 0)
		return fail(p, 0, "empty file, expected a JSON object");
	if (i == p->len || p->text[i] != '{')
		return fail(p, i, "expected a JSON object");
	if ((r = prescan(p)) < 0 || (r = tokenize(p)) < 0 || (r = walk(p, 0, &next)) < 0)
		return r;
	i = skip_ws(p, t_end(p, 0), p->len);
	if (i != p->len || next != p->ntok)
		return fail(p, i, "trailing bytes after the object");
	return 0;
}

/* ---- values --------------------------------------------------------------- */

static const char *kind_of(const struct parse *p, int t)
{
	static const char *const names[] = {
		[JSMN_OBJECT] = "an object", [JSMN_ARRAY] = "an array", [JSMN_STRING] = "a string"
	};
	char ch = p->text[p->tok[t].start];

	if (p->tok[t].type != JSMN_PRIMITIVE)
		return names[p->tok[t].type];
	return ch == 't' || ch == 'f' ? "a boolean" : ch == 'n' ? "null" : "a number";
}

static int expect(struct parse *p, int t, const char *want, const char *what)
{
	if (!strcmp(kind_of(p, t), want))
		return 0;
	return fail(p, t_start(p, t), "\"%s\": expected %s, got %s", what, want, kind_of(p, t));
}

/* String token t, decoded into a malloc'd *ret (what names it in errors). */
static int get_string(struct parse *p, int t, const char *what, char **ret)
{
	size_t n;
	int r = expect(p, t, "a string", what);

	if (r == 0 && !(*ret = malloc(t_end(p, t) - t_start(p, t))))
		return oom(p);
	return r < 0 ? r : string_at(p, t, *ret, &n);
}

/* A key decoded into buf (ECHO_MAX + 1 bytes); false if longer than that. */
static bool key_name(struct parse *p, int k, char *buf)
{
	size_t n;

	buf[0] = 0;
	return p->tok[k].end - p->tok[k].start <= ECHO_MAX && string_at(p, k, buf, &n) == 0;
}

/* The number token t, read in the C locale whatever the application set. */
static double number(const struct parse *p, int t)
{
	static locale_t c_locale;

	if (!c_locale)
		c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	/* jsmn ends a literal only at a delimiter: strtod stops there too */
	if (c_locale)
		return strtod_l(p->text + p->tok[t].start, NULL, c_locale);
	return strtod(p->text + p->tok[t].start, NULL);
}

static int get_uint(struct parse *p, int t, const char *what, uint64_t max, uint64_t *ret)
{
	int r = expect(p, t, "a number", what);
	double v = r < 0 ? 0 : number(p, t);

	if (r < 0)
		return r;
	if (strspn(p->text + p->tok[t].start, "0123456789") == t_end(p, t) - t_start(p, t))
		v = strtoull(p->text + p->tok[t].start, NULL, 10) > max ? INFINITY : v; /* exact */
	if (!num_is_whole(v))
		return fail(p, t_start(p, t), "\"%s\": expected an integer, got %.*s", what,
			    ECHO(p, t));
	if (v < 0 || v > (double)max)
		return fail(p, t_start(p, t), "\"%s\": %.*s is out of range (0..%" PRIu64 ")", what,
			    ECHO(p, t), max);
	*ret = (uint64_t)v;
	return 0;
}

static int get_seconds(struct parse *p, int t, const char *what, uint32_t *ret_ms)
{
	int r = expect(p, t, "a number", what);
	double v = r < 0 ? 0 : number(p, t), ms = v * 1000.0;

	if (r < 0)
		return r;
	if (!(v >= 0 && v <= MAX_SECONDS))
		return fail(p, t_start(p, t), "\"%s\": %.*s is out of range (0..%d seconds)", what,
			    ECHO(p, t), MAX_SECONDS);
	if (num_abs(ms - num_round(ms)) > 1e-6)
		return fail(p, t_start(p, t), "\"%s\": %.*s is not a whole number of milliseconds",
			    what, ECHO(p, t));
	*ret_ms = (uint32_t)num_round(ms);
	return 0;
}

/* "unknown key" with "a, b, c" from the key member at the start of each table entry. */
static int unknown_key(struct parse *p, int k, const char *in, const void *table,
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
	return fail(p, t_start(p, k), "%sunknown key %.*s (valid: %s)", in, ECHO(p, k), valid);
}

static int duplicate(struct parse *p, int k, int first)
{
	unsigned line, col;

	where(p, t_start(p, first), &line, &col);
	return fail(p, t_start(p, k), "duplicate key %.*s (first at %u:%u)", ECHO(p, k), line,
		    col);
}

/* Key k (a known one, so short) against the keys before it in object obj. */
static int check_dup(struct parse *p, int obj, int k)
{
	char a[ECHO_MAX + 1], b[ECHO_MAX + 1];

	key_name(p, k, a);
	for (int i = obj + 1; i < k; i = next_sibling(p, i + 1))
		if (key_name(p, i, b) && !strcmp(a, b))
			return duplicate(p, k, i);
	return 0;
}

/* ---- keys ------------------------------------------------------------------ */

struct field {
	const char *key;
	int (*set)(struct parse *p, int v, const struct field *f);
	size_t off;   /* of the member set */
	uint64_t max; /* for set_uint(): UINT32_MAX or less means a uint32_t member */
};

#define MEMBER(f, type) ((type *)(void *)((char *)p->c + (f)->off))

static int set_kind(struct parse *p, int v, const struct field *f)
{
	char *s = NULL;
	int r = get_string(p, v, f->key, &s);

	if (r == 0 && (!strcmp(s, "native") || !strcmp(s, "foreign")))
		p->c->kind = s[0] == 'n' ? CONFIG_NATIVE : CONFIG_FOREIGN;
	else if (r == 0)
		r = fail(p, t_start(p, v), "\"kind\": expected \"native\" or \"foreign\", got %.*s",
			 ECHO(p, v));
	free(s);
	return r;
}

static int set_program(struct parse *p, int v, const struct field *f)
{
	struct stat st;
	const char *path, *why = NULL;
	int r = get_string(p, v, f->key, &p->c->program);

	if (r < 0)
		return r;
	path = p->c->program;
	if (path[0] != '/')
		why = "is not an absolute path";
	else if (stat(path, &st) < 0)
		why = errno == ENOENT || errno == ENOTDIR ? "does not exist" : strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "is not a regular file";
	else if (access(path, X_OK) < 0)
		why = "is not executable";
	return why ? fail(p, t_start(p, v), "\"program\": %.*s %s", ECHO(p, v), why) : 0;
}

/* "listen" (any non-empty string) and "fdname" (systemd's fdname_is_valid(), not empty). */
static int set_name(struct parse *p, int v, const struct field *f)
{
	char **s = MEMBER(f, char *);
	int r = get_string(p, v, f->key, s);
	size_t n = 0;

	if (r < 0)
		return r;
	if (!strcmp(f->key, "listen"))
		return **s ? 0 : fail(p, t_start(p, v), "\"listen\": must not be empty");
	while ((*s)[n] >= 0x20 && (*s)[n] < 0x7f && (*s)[n] != ':')
		n++;
	if (n == 0 || n > 255 || (*s)[n])
		return fail(p, t_start(p, v), "\"%s\": must be 1 to 255 printable ASCII characters "
					       "other than ':'", f->key);
	return 0;
}

static int set_args(struct parse *p, int v, const struct field *f)
{
	char what[32];
	int r = expect(p, v, "an array", f->key), n = 0;

	if (r == 0 && !(p->c->args = calloc((size_t)p->tok[v].size + 1, sizeof(char *))))
		return oom(p);
	for (int i = v + 1; r == 0 && inside(p, i, v); i = next_sibling(p, i)) {
		snprintf(what, sizeof what, "args[%d]", n);
		r = get_string(p, i, what, &p->c->args[n++]);
	}
	return r;
}

/* Key k of "environment" (object obj) as "K=V" in env[n]; names before it differ. */
static int env_entry(struct parse *p, int obj, int k, int n)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789";
	char *name = NULL, *value = NULL, what[ECHO_MAX + 16], **env = p->c->env;
	int r = get_string(p, k, "environment", &name);
	size_t len = r < 0 ? 0 : strlen(name);

	if (r == 0 && (!len || (name[0] >= '0' && name[0] <= '9') || strspn(name, alnum) != len))
		r = fail(p, t_start(p, k), "\"environment\": %.*s is not a valid variable name",
			 ECHO(p, k));
	for (int i = 0, j = obj + 1; r == 0 && i < n; i++, j = next_sibling(p, j + 1))
		if (!strncmp(env[i], name, len) && env[i][len] == '=')
			r = duplicate(p, k, j);
	if (r == 0) {
		snprintf(what, sizeof what, "environment.%s", name);
		r = get_string(p, k + 1, what, &value);
	}
	if (r == 0 && asprintf(&env[n], "%s=%s", name, value) < 0) {
		env[n] = NULL;
		r = oom(p);
	}
	free(name);
	free(value);
	return r;
}

static int set_env(struct parse *p, int v, const struct field *f)
{
	int r = expect(p, v, "an object", f->key), n = 0;

	if (r == 0 && p->tok[v].size > MAX_ENV)
		return fail(p, t_start(p, v), "\"environment\": more than %d variables", MAX_ENV);
	if (r == 0 && !(p->c->env = calloc((size_t)p->tok[v].size + 1, sizeof(char *))))
		return oom(p);
	for (int k = v + 1; r == 0 && inside(p, k, v); k = next_sibling(p, k + 1))
		r = env_entry(p, v, k, n++);
	return r;
}

static int set_uint(struct parse *p, int v, const struct field *f)
{
	uint64_t n;
	int r = get_uint(p, v, f->key, f->max, &n);

	if (r == 0 && f->max > UINT32_MAX)
		*MEMBER(f, uint64_t) = n;
	else if (r == 0)
		*MEMBER(f, uint32_t) = (uint32_t)n;
	return r;
}

static int set_seconds(struct parse *p, int v, const struct field *f)
{
	return get_seconds(p, v, f->key, MEMBER(f, uint32_t));
}

/* A limit as written in the file: seconds for SETTING_MS, else the plain number. */
static void fmt_limit(char *buf, size_t cap, enum setting_type type, uint64_t v)
{
	int n = type != SETTING_MS ? snprintf(buf, cap, "%" PRIu64, v)
				   : snprintf(buf, cap, "%" PRIu64 ".%03u", v / 1000,
					      (unsigned)(v % 1000));

	while (type == SETTING_MS && n > 0 && (size_t)n < cap && buf[n - 1] == '0')
		buf[--n] = 0;
	if (type == SETTING_MS && n > 0 && (size_t)n < cap && buf[n - 1] == '.')
		buf[--n] = 0;
}

/* Key k of "limits" (object obj): a settings_table key and its number. */
static int limit(struct parse *p, int obj, int k)
{
	char name[ECHO_MAX + 1], what[ECHO_MAX + 16], lo[32], hi[32];
	const struct setting_desc *d = key_name(p, k, name) ? settings_find(name) : NULL;
	const char *why = NULL;
	int r;

	if (!d)
		return unknown_key(p, k, "\"limits\": ", settings_table, sizeof *settings_table,
				   settings_count);
	if ((r = check_dup(p, obj, k)) < 0)
		return r;
	snprintf(what, sizeof what, "limits.%s", d->key);
	if ((r = expect(p, k + 1, "a number", what)) < 0)
		return r;
	r = settings_set_number(&p->c->limits, d, number(p, k + 1), &why);
	fmt_limit(lo, sizeof lo, d->type, d->min);
	fmt_limit(hi, sizeof hi, d->type, d->max);
	if (r == -ERANGE)
		return fail(p, t_start(p, k + 1), "\"%s\": %.*s is out of range (%s..%s%s)", what,
			    ECHO(p, k + 1), lo, hi, d->type == SETTING_MS ? " seconds" : "");
	if (r < 0)
		return fail(p, t_start(p, k + 1), "\"%s\": %s, got %.*s", what, why,
			    ECHO(p, k + 1));
	return 0;
}

static int set_limits(struct parse *p, int v, const struct field *f)
{
	int r = expect(p, v, "an object", f->key);

	for (int k = v + 1; r == 0 && inside(p, k, v); k = next_sibling(p, k + 1))
		r = limit(p, v, k);
	return r;
}

/* ---- "sandbox" ------------------------------------------------------------- */

/* A string that must be one of the NULL-terminated choices; its index. */
static int choice(struct parse *p, int v, const char *what, const char *const *choices,
		  int *ret)
{
	char *s = NULL, list[128] = "";
	int r = get_string(p, v, what, &s);

	for (int i = 0; r == 0 && choices[i]; i++) {
		if (!strcmp(s, choices[i])) {
			*ret = i;
			free(s);
			return 0;
		}
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "",
			 choices[i]);
	}
	if (r == 0)
		r = fail(p, t_start(p, v), "\"%s\": expected one of %s, got %.*s", what, list,
			 ECHO(p, v));
	free(s);
	return r;
}

/* An array of strings, each checked by ok() (NULL = any); *ret NULL-terminated. */
static int strings(struct parse *p, int v, const char *what, char ***ret,
		   const char *(*ok)(const char *s))
{
	char item[64];
	int r = expect(p, v, "an array", what), n = 0;

	if (r == 0 && !(*ret = calloc((size_t)p->tok[v].size + 1, sizeof(char *))))
		return oom(p);
	for (int i = v + 1; r == 0 && inside(p, i, v); i = next_sibling(p, i)) {
		const char *why;

		snprintf(item, sizeof item, "%s[%d]", what, n);
		r = get_string(p, i, item, &(*ret)[n]);
		if (r == 0 && ok && (why = ok((*ret)[n])))
			r = fail(p, t_start(p, i), "\"%s\": %.*s %s", item, ECHO(p, i), why);
		n++;
	}
	return r;
}

static const char *path_ok(const char *s)
{
	struct stat st;

	if (s[0] != '/')
		return "is not an absolute path";
	return stat(s, &st) < 0 ? "does not exist" : NULL;
}

static const char *group_ok(const char *s)
{
	return sandbox_group_by_name(s) ? NULL
		: "is not a group (valid: file-read, file-write, network, process, threads, "
		  "interpreter)";
}

static const char *syscall_ok(const char *s)
{
	return sandbox_syscall_known(s) == 0 ? NULL : "is not a system call of this architecture";
}

static int sandbox_ids(struct parse *p, int k, int v, bool is_user)
{
	struct sandbox_config *sb = &p->c->sandbox;
	char **name = is_user ? &sb->user : &sb->group;
	int r = get_string(p, v, is_user ? "sandbox.user" : "sandbox.group", name);
	struct passwd *pw;
	struct group *gr;

	(void)k;
	if (r < 0)
		return r;
	if (is_user) {
		if (!(pw = getpwnam(*name)))
			return fail(p, t_start(p, v), "\"sandbox.user\": no user %.*s", ECHO(p, v));
		sb->uid = pw->pw_uid;
		if (!sb->group)
			sb->gid = pw->pw_gid;
		sb->have_ids = true;
	} else {
		if (!(gr = getgrnam(*name)))
			return fail(p, t_start(p, v), "\"sandbox.group\": no group %.*s", ECHO(p, v));
		sb->gid = gr->gr_gid;
	}
	return 0;
}

static int sandbox_rlimits(struct parse *p, int v)
{
	char name[ECHO_MAX + 1], what[ECHO_MAX + 24];
	int r = expect(p, v, "an object", "sandbox.rlimits");

	for (int k = v + 1; r == 0 && inside(p, k, v); k = next_sibling(p, k + 1)) {
		int i = key_name(p, k, name) ? sandbox_rlimit_index(name) : -1;
		uint64_t n;

		if (i < 0)
			return fail(p, t_start(p, k), "\"sandbox.rlimits\": unknown key %.*s (valid: "
				    "nofile, as, core, nproc, fsize)", ECHO(p, k));
		if ((r = check_dup(p, v, k)) < 0)
			return r;
		snprintf(what, sizeof what, "sandbox.rlimits.%s", name);
		if ((r = get_uint(p, k + 1, what, INT64_MAX, &n)) == 0)
			p->c->sandbox.rlimits[i] = (int64_t)n;
	}
	return r;
}

static const char *const sandbox_keys[] = {
	"user", "group", "read_only", "read_write", "landlock", "seccomp", "on_violation",
	"allow", "syscalls", "rlimits",
};

static int sandbox_key(struct parse *p, int obj, int k)
{
	static const char *const landlock[] = { "auto", "required", "off", NULL };
	static const char *const profile[] = { "default", "strict", "off", NULL };
	static const char *const action[] = { "kill", "log", NULL };
	struct sandbox_config *sb = &p->c->sandbox;
	char name[ECHO_MAX + 1], **groups = NULL;
	int r, v = k + 1, i = -1;

	if (key_name(p, k, name))
		for (i = (int)(sizeof sandbox_keys / sizeof *sandbox_keys) - 1; i >= 0; i--)
			if (!strcmp(sandbox_keys[i], name))
				break;
	if (i < 0)
		return unknown_key(p, k, "\"sandbox\": ", sandbox_keys, sizeof *sandbox_keys,
				   sizeof sandbox_keys / sizeof *sandbox_keys);
	if ((r = check_dup(p, obj, k)) < 0)
		return r;
	switch (i) {
	case 0: return sandbox_ids(p, k, v, true);
	case 1: return sandbox_ids(p, k, v, false);
	case 2: return strings(p, v, "sandbox.read_only", &sb->read_only, path_ok);
	case 3: return strings(p, v, "sandbox.read_write", &sb->read_write, path_ok);
	case 4: return choice(p, v, "sandbox.landlock", landlock, (int *)&sb->landlock);
	case 5: return choice(p, v, "sandbox.seccomp", profile, (int *)&sb->profile);
	case 6: return choice(p, v, "sandbox.on_violation", action, (int *)&sb->action);
	case 7:
		r = strings(p, v, "sandbox.allow", &groups, group_ok);
		for (char **g = groups; g && *g; g++) {
			sb->allow |= sandbox_group_by_name(*g);
			free(*g);
		}
		free(groups);
		return r;
	case 8: return strings(p, v, "sandbox.syscalls", &sb->syscalls, syscall_ok);
	default: return sandbox_rlimits(p, v);
	}
}

/* "sandbox": false turns it off; an object tunes it (sfcgi.json(5)). */
static int set_sandbox(struct parse *p, int v, const struct field *f)
{
	int r;

	if (!strcmp(kind_of(p, v), "a boolean")) {
		p->c->sandbox.enabled = p->text[p->tok[v].start] == 't';
		return 0;
	}
	if ((r = expect(p, v, "an object", f->key)) < 0)
		return r;
	for (int k = v + 1; r == 0 && inside(p, k, v); k = next_sibling(p, k + 1))
		r = sandbox_key(p, v, k);
	if (r == 0 && p->c->sandbox.group && !p->c->sandbox.user)
		r = fail(p, t_start(p, v), "\"sandbox\": \"group\" needs \"user\" too");
	return r;
}

/* "drain_signal": what tells a foreign program to finish its requests and
 * exit on reload ("SIGUSR1" for libfcgi programs). A native program drains
 * with its own protocol and ignores it. */
static const struct {
	const char *name;
	int sig;
} drain_signals[] = {
	{ "SIGTERM", SIGTERM }, { "SIGUSR1", SIGUSR1 }, { "SIGUSR2", SIGUSR2 },
	{ "SIGHUP", SIGHUP },   { "SIGINT", SIGINT },   { "SIGQUIT", SIGQUIT },
	{ "SIGWINCH", SIGWINCH },
};
#define NDRAIN (sizeof drain_signals / sizeof drain_signals[0])

static int set_drain_signal(struct parse *p, int v, const struct field *f)
{
	char *s = NULL;
	int r = get_string(p, v, f->key, &s);

	for (size_t i = 0; r == 0 && i < NDRAIN; i++)
		if (!strcmp(s, drain_signals[i].name)) {
			p->c->drain_signal = drain_signals[i].sig;
			free(s);
			return 0;
		}
	if (r == 0)
		r = fail(p, t_start(p, v), "\"drain_signal\": expected one of \"SIGTERM\", "
			 "\"SIGUSR1\", \"SIGUSR2\", \"SIGHUP\", \"SIGINT\", \"SIGQUIT\", "
			 "\"SIGWINCH\", got %.*s", ECHO(p, v));
	free(s);
	return r;
}

#define AT(member) offsetof(struct config, member)
static const struct field fields[] = {
	{ "kind", set_kind, 0, 0 },
	{ "program", set_program, 0, 0 },
	{ "args", set_args, 0, 0 },
	{ "environment", set_env, 0, 0 },
	{ "workers", set_uint, AT(workers), CONFIG_MAX_WORKERS },
	{ "max_requests", set_uint, AT(max_requests), MAX_REQUESTS },
	{ "idle_timeout", set_seconds, AT(idle_timeout_ms), 0 },
	{ "request_timeout", set_seconds, AT(request_timeout_ms), 0 },
	{ "drain_timeout", set_seconds, AT(drain_timeout_ms), 0 },
	{ "listen", set_name, AT(listen), 0 },
	{ "fdname", set_name, AT(fdname), 0 },
	{ "limits", set_limits, 0, 0 },
	{ "sandbox", set_sandbox, 0, 0 },
	{ "drain_signal", set_drain_signal, 0, 0 },
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static int root(struct parse *p)
{
	char name[ECHO_MAX + 1];
	int r = 0;

	for (int k = 1; r == 0 && inside(p, k, 0); k = next_sibling(p, k + 1)) {
		const struct field *f = NULL;

		for (size_t i = 0; i < NFIELDS && !f && key_name(p, k, name); i++)
			f = strcmp(fields[i].key, name) ? NULL : &fields[i];
		if (!f)
			return unknown_key(p, k, "", fields, sizeof *fields, NFIELDS);
		if ((r = check_dup(p, 0, k)) == 0)
			r = f->set(p, k + 1, f);
	}
	if (r == 0 && !p->c->program)
		r = fail(p, (size_t)p->tok[0].start, "missing required key \"program\"");
	return r;
}

/* ---- the interface --------------------------------------------------------- */

void config_defaults(struct config *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof *c);
	c->kind = CONFIG_NATIVE;
	c->workers = cpus < 1 ? 1 : cpus > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (uint32_t)cpus;
	c->request_timeout_ms = 300 * 1000;
	c->drain_timeout_ms = 30 * 1000;
	c->drain_signal = SIGTERM;
	settings_defaults(&c->limits);
	sandbox_defaults(&c->sandbox);
}

int config_parse(const char *name, const char *text, size_t len, struct config *c,
		 struct config_error *err)
{
	struct config tmp;
	struct parse p = { .name = name ? name : "<config>", .text = text ? text : "",
			   .len = text ? len : 0, .c = &tmp, .err = err };
	int r;

	config_defaults(&tmp);
	r = syntax(&p);
	if (r == 0)
		r = root(&p);
	if (r == 0 && !(tmp.path = strdup(p.name)))
		r = oom(&p);
	free(p.tok);
	if (r < 0) {
		config_free(&tmp);
		config_defaults(c);
		return r;
	}
	*c = tmp;
	return 0;
}

int config_load(const char *path, struct config *c, struct config_error *err)
{
	/* one byte more than allowed, so that config_parse() sees a file too large */
	char *text = malloc(CONFIG_MAX_BYTES + 1);
	int fd = text ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1, r = 0;
	size_t len = 0;
	ssize_t n = 1;

	while (fd >= 0 && n != 0 && len <= CONFIG_MAX_BYTES) {
		n = read(fd, text + len, CONFIG_MAX_BYTES + 1 - len);
		if (n < 0 && errno != EINTR)
			break;
		len += n > 0 ? (size_t)n : 0;
	}
	r = !text ? -ENOMEM : fd < 0 || n < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (r == 0)
		r = config_parse(path, text, len, c, err);
	else if (err)
		snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(-r));
	if (r < 0 && err)
		one_line(err->msg);
	if (r < 0)
		config_defaults(c);
	free(text);
	return r;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->program);
	free_strv(c->args);
	free_strv(c->env);
	free(c->listen);
	free(c->fdname);
	sandbox_free(&c->sandbox);
	config_defaults(c);
}

int config_instance_path(const char *name, bool user, char **ret_path)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789_.@:-";
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	size_t n = name ? strlen(name) : 0;
	int r;

	/* 250: NAME_MAX less ".json". XDG: a relative directory is to be ignored. */
	if (n == 0 || n > 250 || name[0] == '.' || strspn(name, ok) != n)
		return -EINVAL;
	if (!user)
		r = asprintf(ret_path, "/etc/sfcgi/%s.json", name);
	else if (xdg && xdg[0] == '/')
		r = asprintf(ret_path, "%s/sfcgi/%s.json", xdg, name);
	else if (home && home[0] == '/')
		r = asprintf(ret_path, "%s/.config/sfcgi/%s.json", home, name);
	else
		return -ENXIO;
	return r < 0 ? -ENOMEM : 0;
}

/* ---- printing --------------------------------------------------------------- */

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
	fprintf(f, "\n    \"seccomp\": \"%s\",\n    \"on_violation\": \"%s\",\n    \"landlock\": \"%s\"",
		profile[sb->profile], sb->action == ACTION_LOG ? "log" : "kill",
		landlock[sb->landlock]);
	fputs(",\n    \"allow\": [", f);
	for (uint32_t bit = 1; bit <= GROUP_INTERPRETER; bit <<= 1)
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
		fmt_limit(buf, sizeof buf, SETTING_MS, ms[i]);
		fprintf(f, ",\n  \"%s\": %s", timeouts[i], buf);
	}
	if (c->listen)
		print_key(f, "listen", c->listen);
	if (c->fdname)
		print_key(f, "fdname", c->fdname);
	print_key(f, "limits", NULL);
	fputc('{', f);
	for (size_t i = 0; i < settings_count; i++) {
		const struct setting_desc *d = &settings_table[i];

		fmt_limit(buf, sizeof buf, d->type, settings_get(&c->limits, d));
		fprintf(f, "%s\"%s\": %s", i ? ",\n    " : "\n    ", d->key, buf);
	}
	fputs("\n  }", f);
	print_sandbox(&c->sandbox, f);
	for (size_t i = 0; c->kind == CONFIG_FOREIGN && i < NDRAIN; i++)
		if (drain_signals[i].sig == c->drain_signal)
			print_key(f, "drain_signal", drain_signals[i].name);
	fputs("\n}\n", f);
}
