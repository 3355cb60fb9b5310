/* SPDX-License-Identifier: MIT */
/*
 * Which script a request names, and whether it may run: SCRIPT_FILENAME
 * (or DOCUMENT_ROOT + SCRIPT_NAME, as fcgiwrap falls back to), no ".."
 * component, found by walking back over trailing components (the rest is
 * PATH_INFO, for servers that do not split it), its real path under one
 * of the --root directories (so a symlink out of them is refused), a
 * regular file the worker may execute. Every refusal is one log line.
 */
#include <errno.h>
#include <stdbool.h>
#include <sfcgi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgi.h"

static int refuse(int status, const char *path, const char *why)
{
	fprintf(stderr, "<4>sfcgi-cgi: %s: %d: %s\n", path, status, why);
	return status;
}

static bool has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == 0))
			return true;
	return false;
}

static bool under(const char *real, const char *root)
{
	size_t n = strlen(root);

	if (n == 1) /* "/" */
		return real[0] == '/';
	return !strncmp(real, root, n) && real[n] == '/';
}

/* The path the request names, malloc'd; NULL (and *status) if none. */
static char *requested(struct sfcgi_request *req, int *status)
{
	const char *sf = sfcgi_param(req, "SCRIPT_FILENAME");
	const char *dr = sfcgi_param(req, "DOCUMENT_ROOT"), *sn = sfcgi_param(req, "SCRIPT_NAME");
	char *p = NULL;

	if (sf && *sf)
		p = strdup(sf);
	else if (dr && *dr && sn && *sn && asprintf(&p, "%s%s", dr, sn) < 0)
		p = NULL;
	else if (!(dr && *dr && sn && *sn)) {
		*status = refuse(500, "-", "the request has no SCRIPT_FILENAME (nor DOCUMENT_ROOT "
				 "and SCRIPT_NAME): the web server must send it");
		return NULL;
	}
	if (!p)
		*status = refuse(500, "-", "out of memory");
	return p;
}

/* Walks back from path to an existing file, cutting trailing components
 * (cuts only move left, so the bytes after the NUL need no repair);
 * *ret_rest: where PATH_INFO starts in the uncut path. */
static int walk_back(char *path, struct stat *st, size_t *ret_rest)
{
	size_t full = strlen(path);

	while (stat(path, st) < 0) {
		char *slash = strrchr(path, '/');

		if (errno != ENOENT && errno != ENOTDIR)
			return errno == EACCES ? 403 : 404;
		if (!slash || slash == path)
			return 404;
		*slash = 0;
	}
	*ret_rest = strlen(path);
	if (*ret_rest < full && S_ISDIR(st->st_mode))
		return 404; /* cut back to a directory: the script is not there */
	return 0;
}

/*
 * A set-user-ID or set-group-ID script (ikiwiki's wrapper) would switch
 * users under suexec; under the sandbox's no_new_privs execve() ignores the
 * bit without an error and the script runs as the instance's user, which
 * fails later in ways that name nothing. Said once per script and worker.
 */
static bool no_new_privs(void)
{
	static int nnp = -1;
	char line[64];
	FILE *f;

	if (nnp >= 0)
		return nnp;
	nnp = 1; /* the sandbox's default; also when Landlock hides /proc */
	if ((f = fopen("/proc/self/status", "re"))) {
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "NoNewPrivs:", 11))
				nnp = atoi(line + 11) != 0;
		fclose(f);
	}
	return nnp;
}

static void warn_setid(const char *real, const struct stat *st)
{
	static char *warned[32];
	static size_t n;
	bool uid = (st->st_mode & S_ISUID) && st->st_uid != geteuid();
	bool gid = (st->st_mode & S_ISGID) && st->st_gid != getegid();

	if ((!uid && !gid) || !no_new_privs())
		return;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(warned[i], real))
			return;
	if (n < sizeof warned / sizeof *warned && !(warned[n++] = strdup(real)))
		n--;
	fprintf(stderr, "<4>sfcgi-cgi: %s: set-%s-ID %u, which no_new_privs (the sandbox) ignores: "
		"it runs as uid %u gid %u; build it without the bit and run the instance as that "
		"user (a User= drop-in; sfcgi-cgi(1))\n", real, uid ? "user" : "group",
		uid ? (unsigned)st->st_uid : (unsigned)st->st_gid, (unsigned)geteuid(),
		(unsigned)getegid());
}

static int check_file(const struct cgi_opts *o, const char *path, const struct stat *st,
		      char **ret_real)
{
	char *real = realpath(path, NULL);
	size_t i;

	if (!real)
		return refuse(errno == EACCES ? 403 : 404, path, strerror(errno));
	for (i = 0; i < o->nroots && !under(real, o->roots[i]); i++)
		;
	if (i == o->nroots) {
		refuse(403, path, "outside the --root directories");
		fprintf(stderr, "<4>sfcgi-cgi: %s: its real path is %s\n", path, real);
		free(real);
		return 403;
	}
	if (!S_ISREG(st->st_mode) || access(real, X_OK) < 0) {
		refuse(403, real, S_ISDIR(st->st_mode) ? "a directory, not a script"
				  : !S_ISREG(st->st_mode) ? "not a regular file"
							  : "not executable");
		free(real);
		return 403;
	}
	warn_setid(real, st);
	*ret_real = real;
	return 0;
}

int cgi_find_script(struct sfcgi_request *req, const struct cgi_opts *o, struct cgi_script *sc)
{
	int status = 0;
	char *path = requested(req, &status), *full = path ? strdup(path) : NULL, *slash;
	struct stat st;
	size_t rest = 0;

	memset(sc, 0, sizeof *sc);
	if (!path || !full) {
		free(path);
		free(full);
		return status ? status : refuse(500, "-", "out of memory");
	}
	if (path[0] != '/')
		status = refuse(403, path, "not an absolute path");
	else if (has_dotdot(path))
		status = refuse(403, path, "a \"..\" component");
	else if ((status = walk_back(path, &st, &rest)) != 0)
		refuse(status, full, status == 404 ? "no such script" : "permission denied");
	else
		status = check_file(o, path, &st, &sc->real);
	if (status == 0 && full[rest] && !(sc->path_info = strdup(full + rest)))
		status = refuse(500, full, "out of memory");
	if (status == 0 && !(sc->dir = strdup(sc->real)))
		status = refuse(500, full, "out of memory");
	if (status == 0 && (slash = strrchr(sc->dir, '/')))
		slash[slash == sc->dir] = 0; /* "/x" -> "/" */
	free(path);
	free(full);
	if (status)
		cgi_script_free(sc);
	return status;
}

void cgi_script_free(struct cgi_script *sc)
{
	free(sc->real);
	free(sc->dir);
	free(sc->path_info);
	memset(sc, 0, sizeof *sc);
}
