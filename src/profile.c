/* SPDX-License-Identifier: MIT */
/* Runtime profiles: what real programs of each kind need, and why. */
#include "profile.h"

#include <stddef.h>
#include <string.h>

#include "sandbox.h"

/* An entry leaves .arg out when the call is allowed with any arguments (ARG_ANY). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/*
 * Each entry was derived by running the real Debian 12 program through its
 * real flows under "on_violation": "log" (tests/apps is the proof: every
 * flow there runs under the shipped profile and fails if a worker or a
 * script is killed by the sandbox). Keep the reasons exact.
 */
static const struct runtime_syscall php_calls[] = {
	{ NULL, NULL },
};
/*
 * Perl 5.36: ikiwiki's CGI (view, edit, save, create, rebuild) through
 * sfcgi-cgi as the user ikiwiki (tests/apps/ikiwiki.py); gitweb's project
 * list as a CGI and as a CGI::Fast program (gitweb.cgi --fastcgi, foreign),
 * run by hand as nobody under strace -f (its git commands need "process"
 * and "file-write" on top).
 */
static const struct runtime_syscall perl_calls[] = {
	{ "getgroups", "Perl's -r, -w and -x file tests as a user other than root ask whether "
		       "the file's group is one of ours (ikiwiki on every template)" },
	{ "setreuid", "ikiwiki's CGI wrapper sets its real uid to the effective one; without a "
		      "setuid bit and capabilities that changes nothing" },
	{ "setregid", "ikiwiki's CGI wrapper sets its real gid to the effective one (likewise)" },
	{ "sched_getaffinity", "glibc counts CPUs this way when Landlock hides /sys and /proc: "
			       "Berkeley DB (DB_File), which holds ikiwiki's sessions" },
	{ "socket", "glibc asks nscd over a unix socket before /etc/passwd: gitweb's project "
		    "list looks up each owner (getpwuid); unix sockets only",
	  ARG_SOCKET_UNIX },
	{ "connect", "the nscd (and, under DynamicUser=, systemd userdb) lookup above; with "
		     "socket() limited to unix sockets, nothing else can be reached" },
	{ "timerfd_create", "nss-systemd, for a user not in /etc/passwd (the unit's "
			    "DynamicUser=), asks systemd's userdb socket with a timeout: a timer "
			    "fd in an epoll loop (tests/apps/systemd_apps.py)" },
	{ "timerfd_settime", "the timeout of that userdb query" },
	{ NULL, NULL },
};
/*
 * Python 3.11: Mercurial 6.3's hgweb.cgi through sfcgi-cgi as a system user
 * (tests/apps/hgweb.py).
 */
static const struct runtime_syscall python_calls[] = {
	{ "socket", "a script started without HOME, as CGI scripts are, looks its user up for "
		    "expanduser(\"~\") (Mercurial reads ~/.hgrc): glibc asks nscd over a unix "
		    "socket first; unix sockets only",
	  ARG_SOCKET_UNIX },
	{ "connect", "the nscd (and, under DynamicUser=, systemd userdb) lookup above; with "
		     "socket() limited to unix sockets, nothing else can be reached" },
	{ "timerfd_create", "nss-systemd, for a user not in /etc/passwd (the unit's "
			    "DynamicUser=), asks systemd's userdb socket with a timeout: a timer "
			    "fd in an epoll loop (tests/apps/systemd_apps.py)" },
	{ "timerfd_settime", "the timeout of that userdb query" },
	{ NULL, NULL },
};
/*
 * cgit 1.2.3 through sfcgi-cgi, gitweb (git 2.39) as a CGI script and as
 * "gitweb.cgi --fastcgi" (CGI::Fast): every flow of tests/apps/git.py
 * (project list, summary, log, tree, blob, commit diff, tar.gz snapshot,
 * refs, tags, search, history, patch, feeds, a dumb-HTTP clone through
 * cgit), as a system user under Landlock. Beyond "process",
 * "interpreter" and "file-read" they needed only these; "file-write" is
 * not needed: the one write-access open is /dev/null (Landlock's
 * "read_write": ["/dev/null"] keeps it there).
 */
static const struct runtime_syscall git_calls[] = {
	{ "openat", "git's start-up (every git command, and cgit, built on git's main) opens "
		    "/dev/null read-write to make sure fds 0-2 are open: O_RDWR of an existing "
		    "file only, never O_CREAT or O_TRUNC", ARG_OPEN_RDWR },
	{ "socket", "cgit's scan-path (every page) and gitweb's project list and summary look "
		    "up repository owners (getpwuid): glibc first tries nscd's unix socket",
	  ARG_SOCKET_UNIX },
	{ "connect", "the same owner lookups: connecting to nscd's socket (ENOENT without nscd)" },
	{ "timerfd_create", "nss-systemd, for a user not in /etc/passwd (the unit's "
			    "DynamicUser=), asks systemd's userdb socket with a timeout: a timer "
			    "fd in an epoll loop (tests/apps/systemd_apps.py)" },
	{ "timerfd_settime", "the timeout of that userdb query" },
	{ "getgroups", "gitweb on every page, as a user other than root: Perl's -x file test "
		       "(Cwd tests /bin/pwd as it loads; the project scan tests each directory)" },
	{ NULL, NULL },
};
/*
 * dash and bash 5.2 scripts and haserl 0.9 (Debian's shell CGI runtime)
 * through sfcgi-cgi as a system user (tests/apps/shell_cgi.py).
 */
static const struct runtime_syscall shell_calls[] = {
	{ "openat", "bash opens /dev/tty read-write at start; every shell opens a redirection's "
		    "target for writing (>/dev/null); Landlock paths say where" },
	{ "ioctl", "bash asks stderr for its process group (TIOCGPGRP) and, after each "
		   "command, for the window size (TIOCGWINSZ); terminal queries only",
	  ARG_IOCTL_TTY_QUERY },
	{ "socket", "bash looks up its user (getpwuid) when started without HOME, as CGI "
		    "scripts are, and so does id -un: glibc asks nscd over a unix socket first; "
		    "unix sockets only",
	  ARG_SOCKET_UNIX },
	{ "connect", "the nscd (and, under DynamicUser=, systemd userdb) lookup above; with "
		     "socket() limited to unix sockets, nothing else can be reached" },
	{ "timerfd_create", "nss-systemd, for a user not in /etc/passwd (the unit's "
			    "DynamicUser=), asks systemd's userdb socket with a timeout: a timer "
			    "fd in an epoll loop (tests/apps/systemd_apps.py)" },
	{ "timerfd_settime", "the timeout of that userdb query" },
	{ "setgid", "haserl switches to the script owner's ids, and back to its own when that "
		    "fails; without capabilities it cannot gain any" },
	{ "setuid", "haserl, as setgid" },
	{ "setgroups", "haserl, as setgid (always refused without CAP_SETGID)" },
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
	 * The single calls: python_calls.
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

int runtime_profile_lists_any(const struct runtime_profile *p, const char *name)
{
	for (const struct runtime_syscall *s = p ? p->syscalls : NULL; s && s->name; s++)
		if (!strcmp(s->name, name) && s->arg == ARG_ANY)
			return 1;
	return 0;
}
