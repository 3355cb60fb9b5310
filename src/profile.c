/* SPDX-License-Identifier: MIT */
/* Runtime profiles: what real programs of each kind need, and why. */
#include "profile.h"

#include <stddef.h>
#include <string.h>

#include "sandbox.h"

/*
 * Each entry was derived by running the real Debian 12 program through its
 * real flows under "on_violation": "log" (tests/apps is the proof: every
 * flow there runs under the shipped profile and fails if a worker or a
 * script is killed by the sandbox). Keep the reasons exact.
 */
static const struct runtime_syscall php_calls[] = {
	{ NULL, NULL },
};
static const struct runtime_syscall perl_calls[] = {
	{ NULL, NULL },
};
static const struct runtime_syscall python_calls[] = {
	{ NULL, NULL },
};
static const struct runtime_syscall git_calls[] = {
	{ NULL, NULL },
};
static const struct runtime_syscall shell_calls[] = {
	{ NULL, NULL },
};

const struct runtime_profile runtime_profiles[] = {
	/*
	 * php-cgi 8.2 (opcache on, Debian's default) running DokuWiki through
	 * view, log in, edit and save, page lock, edit conflict, media uploads
	 * and overwrites, the fulltext indexer and search (tests/apps/dokuwiki.py,
	 * strace -f of the workers): beyond what a foreign program always has
	 * (interpreter, file-read, threads) it made the calls of "file-write"
	 * (opcache's lock file in /tmp: creat, fchmod, unlink; DokuWiki's page,
	 * lock, index and cache files: mkdir/rmdir lock directories, rename,
	 * ftruncate, flock, chmod, utimensat of the session file) and of
	 * "file-copy" (copy_file_range: PHP's copy() of every uploaded media
	 * file and of the old version to the attic). Nothing else: no process
	 * (DokuWiki diffs in PHP; only mail() runs /usr/sbin/sendmail, which
	 * needs "process"), no network (sessions are files), no single call.
	 */
	{ "php", "php-cgi (PHP_FCGI_CHILDREN=0), PHP applications such as DokuWiki",
	  GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_THREADS | GROUP_FILE_WRITE | GROUP_FILE_COPY,
	  php_calls },
	{ "perl", "Perl CGI scripts and FCGI / CGI::Fast programs",
	  GROUP_INTERPRETER | GROUP_FILE_READ, perl_calls },
	/*
	 * Python 3.11 CGI scripts through the bridge sfcgi-cgi: Mercurial 6.3's
	 * hgweb.cgi browsing a repository, a changeset, a raw file, an archive,
	 * hg clone and hg pull (tests/apps/hgweb.py, strace -f of the worker
	 * and its scripts): "process" for the bridge to run the script,
	 * "interpreter" and "file-read" for python3, and "file-write" because
	 * hgweb creates its caches in the repository (.hg/cache: mkdir, then
	 * an O_CREAT open of tags2-served), failing quietly with EACCES where
	 * the instance's user may not write, which the filter would turn into
	 * a kill. No threads, no copy. A Python script that runs programs
	 * (subprocess) needs close_range in the child, which "process" has.
	 * A script without HOME
	 * (the bridge passes none) looks the user up for expanduser("~"), and
	 * glibc asks nscd's socket first ("network"); the documented config
	 * sets HOME with --env instead.
	 */
	{ "python", "Python 3 CGI scripts through sfcgi-cgi (hgweb), Python FastCGI programs",
	  GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_PROCESS | GROUP_FILE_WRITE, python_calls },
	{ "git", "git-based CGIs (cgit, gitweb) and the git commands they run",
	  GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_PROCESS, git_calls },
	{ "shell", "CGI scripts in sh or bash",
	  GROUP_INTERPRETER | GROUP_FILE_READ | GROUP_PROCESS, shell_calls },
};
const unsigned runtime_profile_count = sizeof runtime_profiles / sizeof runtime_profiles[0];

const struct runtime_profile *runtime_profile_find(const char *name)
{
	for (unsigned i = 0; i < runtime_profile_count; i++)
		if (!strcmp(runtime_profiles[i].name, name))
			return &runtime_profiles[i];
	return NULL;
}

int runtime_profile_lists(const struct runtime_profile *p, const char *name)
{
	for (const struct runtime_syscall *s = p ? p->syscalls : NULL; s && s->name; s++)
		if (!strcmp(s->name, name))
			return 1;
	return 0;
}
