/* SPDX-License-Identifier: MIT */
/*
 * A small wiki with a two-phase pledge: init() opens the data directory and
 * reads the templates; then the sandbox (examples/wiki/wiki.json) leaves the
 * worker file-read and file-write, beneath the data directory only.
 *
 *   GET /Name   the page (404 offers to create it)   GET /Name?edit  the form
 *   POST /Name  saves text= (form-urlencoded), then 303 back to the page
 *
 * Names: [A-Za-z0-9_-]{1,64}, the path's last segment ("/" is FrontPage).
 * Markup: blank lines separate paragraphs, [[Name]] links. Pages are files,
 * replaced atomically (temporary file, fsync, rename); all text is escaped.
 *
 *   wiki [SFCGI OPTIONS] [-- [--data DIR] [--templates DIR]]
 * Data: --data, $SFCGI_WIKI_DATA or $STATE_DIRECTORY (StateDirectory=).
 * Templates page.html, edit.html, missing.html with {{name}}, {{text}} and
 * {{content}}: --templates, $SFCGI_WIKI_TEMPLATES or WIKI_TEMPLATE_DIR.
 * Built with -DWIKI_TEST_ESCAPE (wiki-test, for the tests only), ?escape=PATH
 * tries to create PATH and answers escape=OK or escape=ERRNO-NAME.
 */
#include <errno.h>
#include <fcntl.h>
#include <sfcgi.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef WIKI_TEMPLATE_DIR
#define WIKI_TEMPLATE_DIR "/usr/local/share/sfcgi/wiki"
#endif
#define MAX_NAME 64
#define MAX_BODY (256 * 1024) /* a POST body */
#define MAX_FILE (1024 * 1024) /* a page or a template */
#define FORM "application/x-www-form-urlencoded"
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

enum { T_PAGE, T_EDIT, T_MISSING, T_COUNT };
static const char *const tmpl_file[T_COUNT] = { "page.html", "edit.html", "missing.html" };

static struct {
	const char *data_path, *tmpl_path;
	int data; /* the data directory, opened in init: every access is relative to it */
	char *tmpl[T_COUNT];
	unsigned long saves;
} wiki = { .data = -1 };

static bool valid_name(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(NAME_CHARS, s[i]))
			return false;
	return n >= 1 && n <= MAX_NAME;
}

/* A whole regular file beneath dir, NUL-terminated, at most max bytes. */
static int slurp(int dir, const char *name, size_t max, char **ret, size_t *ret_len)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((size_t)st.st_size > max)
		r = -EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		r = -ENOMEM;
	while (r == 0 && len < (size_t)st.st_size &&
	       (n = read(fd, buf + len, (size_t)st.st_size - len)) != 0)
		if (n > 0)
			len += (size_t)n;
		else if (errno != EINTR)
			r = -errno;
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = 0;
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The value of key in a form-urlencoded string, decoded (+, %XX; CRLF to
 * LF) into a new buffer: 1 if found, 0 if not, -EINVAL for a bad escape
 * or a NUL, -ENOMEM. */
static int form_get(const char *s, size_t n, const char *key, char **ret, size_t *ret_len)
{
	size_t kl = strlen(key), i = 0, end, k = 0;
	char *o;

	for (;; i = end + 1) {
		if (i >= n)
			return 0;
		end = i;
		while (end < n && s[end] != '&')
			end++;
		if (end - i >= kl && !memcmp(s + i, key, kl) && (i + kl == end || s[i + kl] == '='))
			break;
	}
	i += kl + (i + kl < end);
	if (!(o = malloc(end - i + 1)))
		return -ENOMEM;
	for (; i < end; i++) {
		char c = s[i] == '+' ? ' ' : s[i];

		if (c == '%') {
			if (i + 2 >= end || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
				c = 0; /* refused below */
			else
				c = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2])), i += 2;
		}
		if (c == 0) {
			free(o);
			return -EINVAL;
		}
		if (c == '\n' && k > 0 && o[k - 1] == '\r')
			k--;
		o[k++] = c;
	}
	o[k] = 0;
	*ret = o;
	*ret_len = k;
	return 1;
}

static void put(struct sfcgi_request *req, const char *s)
{
	sfcgi_write(req, s, strlen(s));
}

/* HTML-escapes &<>"' (text and attribute values alike). */
static void esc(struct sfcgi_request *req, const char *s, size_t n)
{
	size_t from = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;"
			      : s[i] == '"' ? "&quot;" : s[i] == '\'' ? "&#39;" : NULL;

		if (e) {
			sfcgi_write(req, s + from, i - from);
			put(req, e);
			from = i + 1;
		}
	}
	sfcgi_write(req, s + from, n - from);
}

/* One line of a paragraph: text, and [[Name]] as a link (class "new" if
 * the page does not exist yet). */
static void render_line(struct sfcgi_request *req, const char *s, size_t n)
{
	const char *end = s + n, *a, *b;
	char name[MAX_NAME + 1];
	struct stat st;
	bool new;

	while (s < end) {
		a = memmem(s, (size_t)(end - s), "[[", 2);
		b = a ? memmem(a + 2, (size_t)(end - a - 2), "]]", 2) : NULL;
		if (!b || !valid_name(a + 2, (size_t)(b - a - 2))) {
			esc(req, s, (size_t)((a ? a + 2 : end) - s));
			s = a ? a + 2 : end;
			continue;
		}
		esc(req, s, (size_t)(a - s));
		snprintf(name, sizeof name, "%.*s", (int)(b - a - 2), a + 2);
		/* Valid names need no escaping. */
		new = fstatat(wiki.data, name, &st, AT_SYMLINK_NOFOLLOW) < 0;
		sfcgi_printf(req, "<a href=\"%s\"%s>%s</a>", name, new ? " class=new" : "", name);
		s = b + 2;
	}
}

/* Blank lines separate paragraphs. */
static void render(struct sfcgi_request *req, const char *s, size_t n)
{
	bool in_p = false;

	for (size_t i = 0, eol, j; i < n; i = eol + 1) {
		for (eol = i; eol < n && s[eol] != '\n';)
			eol++;
		for (j = i; j < eol && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r');)
			j++;
		if (j == eol) {
			if (in_p)
				put(req, "</p>\n");
			in_p = false;
			continue;
		}
		put(req, in_p ? "\n" : "<p>");
		in_p = true;
		render_line(req, s + i, eol - i);
	}
	if (in_p)
		put(req, "</p>\n");
}

/* Template t with {{name}}, {{text}} and {{content}} filled in; anything
 * else is copied as it is. */
static void page(struct sfcgi_request *req, int status, int t, const char *name, const char *text,
		 size_t len)
{
	const char *s = wiki.tmpl[t], *p;

	sfcgi_set_status(req, status);
	sfcgi_add_header(req, "Content-Type", "text/html; charset=utf-8");
	sfcgi_add_header(req, "Content-Security-Policy",
			 "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
	sfcgi_add_header(req, "X-Content-Type-Options", "nosniff");
	for (; (p = strstr(s, "{{")); s = p) {
		sfcgi_write(req, s, (size_t)(p - s));
		if (!strncmp(p, "{{name}}", 8))
			esc(req, name, strlen(name)), p += 8;
		else if (!strncmp(p, "{{text}}", 8))
			esc(req, text, len), p += 8;
		else if (!strncmp(p, "{{content}}", 11))
			render(req, text, len), p += 11;
		else
			put(req, "{{"), p += 2;
	}
	put(req, s);
}

/* A short text/plain answer: errors, and the body of the 303 after a save. */
static int plain(struct sfcgi_request *req, int status, const char *msg)
{
	sfcgi_set_status(req, status);
	sfcgi_add_header(req, "Content-Type", "text/plain; charset=utf-8");
	sfcgi_printf(req, "%d %s\n", status, msg);
	return 0;
}

/* Write a temporary file, fsync it, rename it over the page, fsync the
 * directory. Temporary names start with '.': never a page name. */
static int store(const char *name, const char *text, size_t len)
{
	char tmp[64];
	int fd, r = 0;

	for (int tries = 0;; tries++) {
		snprintf(tmp, sizeof tmp, ".save-%d-%lu", (int)getpid(), wiki.saves++);
		fd = openat(wiki.data, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST || tries == 100)
			break;
	}
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len && r == 0;) {
		ssize_t n = write(fd, text + off, len - off);

		if (n > 0)
			off += (size_t)n;
		else if (n == 0 || errno != EINTR)
			r = n == 0 ? -EIO : -errno;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(wiki.data, tmp, wiki.data, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(wiki.data, tmp, 0);
	else
		fsync(wiki.data);
	return r;
}

static int save(struct sfcgi_request *req, const char *name)
{
	const char *ct = sfcgi_param(req, "CONTENT_TYPE");
	char *body = NULL, *text = NULL;
	size_t len, tlen;
	int r;

	if (!ct || strncasecmp(ct, FORM, strlen(FORM)) ||
	    (ct[strlen(FORM)] && ct[strlen(FORM)] != ';'))
		return plain(req, 415, "expected " FORM);
	r = sfcgi_read_all(req, MAX_BODY, &body, &len);
	if (r == -EFBIG)
		return plain(req, 413, "page too large");
	if (r < 0)
		return 1; /* the peer is gone or stalled */
	r = form_get(body, len, "text", &text, &tlen);
	free(body);
	if (r <= 0)
		return plain(req, r == -ENOMEM ? 500 : 400,
			    r == 0 ? "no text field" : "bad form encoding");
	r = store(name, text, tlen);
	free(text);
	if (r < 0) {
		sfcgi_printf_err(req, "wiki: saving %s: %s\n", name, strerror(-r));
		return plain(req, 500, "could not save the page");
	}
	sfcgi_add_header(req, "Location", name); /* relative: works under any prefix */
	return plain(req, 303, "saved");
}

static int handler(struct sfcgi_request *req, void *userdata)
{
	const char *method = sfcgi_param(req, "REQUEST_METHOD");
	const char *qs = sfcgi_param(req, "QUERY_STRING"), *path = sfcgi_param(req, "PATH_INFO");
	const char *name;
	char *text = NULL, *v;
	size_t len = 0, vlen;
	bool edit;
	int r;

	(void)userdata;
	if (!path || !*path)
		path = sfcgi_param(req, "SCRIPT_NAME");
	name = path && strrchr(path, '/') ? strrchr(path, '/') + 1 : "";
	name = *name ? name : "FrontPage";
	method = method ? method : "GET";
	qs = qs ? qs : "";
#ifdef WIKI_TEST_ESCAPE
	if (form_get(qs, strlen(qs), "escape", &v, &vlen) > 0) { /* tests only */
		int fd = open(v, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		sfcgi_add_header(req, "Content-Type", "text/plain; charset=utf-8");
		sfcgi_printf(req, "escape=%s\n", fd >= 0 ? "OK" : strerrorname_np(errno));
		free(v);
		return fd >= 0 ? close(fd) : 0;
	}
#endif
	if (!valid_name(name, strlen(name)))
		return plain(req, 400, "bad page name: 1 to 64 letters, digits, _ or -");
	if (!strcmp(method, "POST"))
		return save(req, name);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		sfcgi_add_header(req, "Allow", "GET, HEAD, POST");
		return plain(req, 405, "method not allowed");
	}
	if ((edit = form_get(qs, strlen(qs), "edit", &v, &vlen) > 0))
		free(v);
	r = slurp(wiki.data, name, MAX_FILE, &text, &len);
	if (r < 0 && r != -ENOENT) {
		sfcgi_printf_err(req, "wiki: reading %s: %s\n", name, strerror(-r));
		return plain(req, 500, "could not read the page");
	}
	if (r < 0 && !edit)
		page(req, 404, T_MISSING, name, "", 0);
	else
		page(req, 200, edit ? T_EDIT : T_PAGE, name, text ? text : "", len);
	free(text);
	return 0;
}

/* Phase one, before the sandbox: open what the handler needs later. */
static int init(void *userdata)
{
	int dir, r = 0;

	(void)userdata;
	wiki.data = open(wiki.data_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wiki.data < 0) {
		r = -errno;
		fprintf(stderr, "wiki: data directory %s: %s\n", wiki.data_path, strerror(-r));
		return r;
	}
	if ((dir = open(wiki.tmpl_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = -errno;
	for (int t = 0; t < T_COUNT && r == 0; t++) {
		if ((r = slurp(dir, tmpl_file[t], MAX_FILE, &wiki.tmpl[t], NULL)) < 0)
			fprintf(stderr, "wiki: template %s/%s: %s\n", wiki.tmpl_path, tmpl_file[t],
				strerror(-r));
	}
	if (dir < 0)
		fprintf(stderr, "wiki: template directory %s: %s\n", wiki.tmpl_path, strerror(-r));
	else
		close(dir);
	return r;
}

static void fini(void *userdata)
{
	(void)userdata;
	for (int t = 0; t < T_COUNT; t++)
		free(wiki.tmpl[t]);
	if (wiki.data >= 0)
		close(wiki.data);
}

int main(int argc, char **argv)
{
	const struct sfcgi_app app = { .init = init, .handler = handler, .fini = fini };
	bool help = false;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		help |= !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
			!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version");
	for (i++; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			wiki.data_path = argv[++i];
		else if (!strcmp(argv[i], "--templates") && i + 1 < argc)
			wiki.tmpl_path = argv[++i];
		else {
			fprintf(stderr, "wiki: %s: usage: -- [--data DIR] [--templates DIR]\n",
				argv[i]);
			return 2;
		}
	}
	if (!wiki.data_path && !(wiki.data_path = getenv("SFCGI_WIKI_DATA")))
		wiki.data_path = getenv("STATE_DIRECTORY");
	if (!wiki.tmpl_path && !(wiki.tmpl_path = getenv("SFCGI_WIKI_TEMPLATES")))
		wiki.tmpl_path = WIKI_TEMPLATE_DIR;
	if (!wiki.data_path && !help) {
		fprintf(stderr, "wiki: no data directory: -- --data DIR, $SFCGI_WIKI_DATA or "
				"$STATE_DIRECTORY (StateDirectory= in the unit)\n");
		return 1;
	}
	return sfcgi_main(argc, argv, &app);
}
