/* SPDX-License-Identifier: MIT */
/*
 * The CGI response header block (RFC 3875 section 6), checked byte by
 * byte before any of it reaches the web server: no I/O, no allocation.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "cgi.h"

bool cgi_env_name_ok(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

size_t cgi_head_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		/* a line break; is the next line empty? */
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* RFC 9110 token characters. */
static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool status_ok(const char *v, size_t n)
{
	if (n < 3 || v[0] < '1' || v[0] > '9' || v[1] < '0' || v[1] > '9' || v[2] < '0' ||
	    v[2] > '9')
		return false;
	return n == 3 || v[3] == ' ';
}

/* Appends k bytes at *len if they fit. */
static bool put(char *out, size_t cap, size_t *len, const char *s, size_t k)
{
	if (k > cap - *len)
		return false;
	memcpy(out + *len, s, k);
	*len += k;
	return true;
}

/* One line (no line break): checked, then appended as "Name: value\r\n". */
static const char *line(const char *p, size_t n, char *out, size_t cap, size_t *len,
			unsigned *seen)
{
	size_t name = 0, v;

	while (name < n && tchar((unsigned char)p[name]))
		name++;
	if (name == 0 || name == n || p[name] != ':')
		return p[0] == ' ' || p[0] == '\t' ? "folded header line (obsolete)"
						   : "a line that is not \"Name: value\"";
	for (v = name + 1; v < n && (p[v] == ' ' || p[v] == '\t'); v++)
		;
	while (n > v && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	for (size_t i = v; i < n; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
			return "a control character in a header value";
		else if (p[i] == 0x7f)
			return "a control character in a header value";
	if (name == 6 && !strncasecmp(p, "Status", 6)) {
		if (!status_ok(p + v, n - v))
			return "a Status that is not three digits and a reason";
		*seen |= 1;
	} else if ((name == 8 && !strncasecmp(p, "Location", 8)) ||
		   (name == 12 && !strncasecmp(p, "Content-Type", 12))) {
		*seen |= 2;
	}
	if (!put(out, cap, len, p, name) || !put(out, cap, len, ": ", 2) ||
	    !put(out, cap, len, p + v, n - v) || !put(out, cap, len, "\r\n", 2))
		return "a header block too large";
	return NULL;
}

long cgi_head_check(const char *p, size_t n, char *out, size_t cap, const char **ret_why)
{
	size_t len = 0, i = 0;
	unsigned seen = 0;
	const char *why = NULL;

	while (i < n && !why) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) : n, k = end - i;

		if (k && p[end - 1] == '\r')
			k--;
		if (k == 0)
			why = "an empty line inside the header block";
		else
			why = line(p + i, k, out, cap, &len, &seen);
		i = end + 1;
	}
	if (!why && !seen)
		why = n ? "no Status, Location or Content-Type" : "no header at all";
	if (!why && !put(out, cap, &len, "\r\n", 2))
		why = "a header block too large";
	if (why) {
		*ret_why = why;
		return -1;
	}
	return (long)len;
}
