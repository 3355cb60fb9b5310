/* SPDX-License-Identifier: MIT */
/* Every syscall a sandboxed worker may make, with the reason. */
#include "policy.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "sandbox.h"

#define S(n, why) { n, LEVEL_STRICT, 0, ARG_ANY, why }
#define D(n, why) { n, LEVEL_DEFAULT, 0, ARG_ANY, why }
#define DA(n, a, why) { n, LEVEL_DEFAULT, 0, a, why }
#define G(n, g, why) { n, LEVEL_GROUP, g, ARG_ANY, why }
#define GA(n, g, a, why) { n, LEVEL_GROUP, g, a, why }

const struct policy_entry policy_table[] = {
	/* The runtime: sockets it already holds, its loop, memory, time. */
	S("read", "signalfd, sockets and files already open"),
	S("write", "log lines to stderr, responses"),
	S("readv", "scattered reads on open descriptors"),
	S("writev", "gathered writes on open descriptors"),
	S("recvfrom", "recv() on connections, MSG_PEEK while draining"),
	S("recvmsg", "receiving on connections"),
	S("sendto", "send() of responses"),
	S("sendmsg", "sending on connections"),
	S("accept", "new connections on the listening socket"),
	S("accept4", "new connections, non-blocking and close-on-exec"),
	S("setsockopt", "TCP_NODELAY on accepted TCP connections"),
	S("close", "finished connections"),
	S("epoll_wait", "the worker's event loop"),
	S("epoll_pwait", "the worker's event loop (glibc may use it)"),
	S("epoll_ctl", "watching connections for input and output"),
	S("brk", "malloc: growing the heap"),
	S("mmap", "malloc: large buffers"),
	S("munmap", "free: large buffers"),
	S("madvise", "free: returning memory to the kernel"),
	S("clock_gettime", "timeouts on the monotonic clock (when not in the vDSO)"),
	S("gettimeofday", "time of day (when not in the vDSO)"),
	S("futex", "libc locks"),
	S("rt_sigreturn", "returning from the request_timeout and SIGSYS handlers"),
	S("rt_sigaction", "the SIGSYS handler resets itself to report a violation"),
	S("getpid", "log lines, raising signals at ourselves"),
	S("gettid", "raising signals at ourselves"),
	S("tgkill", "abort() and the SIGSYS report end the process with a signal"),
	S("restart_syscall", "syscalls interrupted by a signal"),
	S("exit", "ending a thread"),
	S("exit_group", "ending the worker"),
	/* A held body past request_memory, in files opened before the lock-down
	 * (spill.c): no open() is needed, nor a Landlock rule. ftruncate reaches
	 * only files the worker holds open for writing, which pwrite64 could
	 * overwrite anyway. */
	S("pread64", "reading a held body back from its spill file; open files at an offset"),
	S("pwrite64", "holding a body in its spill file; open files at an offset"),
	S("ftruncate", "giving a spill file's disk space back when its request ends"),
	S("mremap", "realloc() of large buffers: the runtime's own too (a held body grows to "
		    "request_memory, a response to write_buffer)"),
	/* Default: what libc and ordinary handler code reach for. */
	D("fstat", "stdio sizes its buffers"),
	D("newfstatat", "fstat() via fstatat(fd, \"\", AT_EMPTY_PATH)"),
	D("lseek", "stdio on open files"),
	D("sendfile", "sending an open file as a response"),
	D("getrandom", "random numbers (session ids, hash seeds)"),
	D("nanosleep", "sleep()"),
	D("clock_nanosleep", "sleep() in newer libc"),
	D("sched_yield", "spin locks"),
	D("uname", "libc and libraries asking for the kernel version"),
	D("getuid", "identity queries"),
	D("geteuid", "identity queries"),
	D("getgid", "identity queries"),
	D("getegid", "identity queries"),
	D("getppid", "identity queries"),
	D("rt_sigprocmask", "blocking signals around critical sections"),
	D("sigaltstack", "signal stacks"),
	D("mprotect", "malloc arenas, guard pages"),
	D("poll", "waiting on descriptors the app opened in init"),
	D("ppoll", "waiting on descriptors the app opened in init"),
	D("select", "waiting on descriptors (older code)"),
	D("pselect6", "waiting on descriptors (older code)"),
	D("dup", "duplicating open descriptors"),
	D("getsockopt", "socket state queries"),
	D("getsockname", "local address of a connection"),
	D("getpeername", "peer address of a connection"),
	D("shutdown", "half-closing connections the app opened in init"),
	D("times", "CPU time accounting"),
	D("getrusage", "resource usage queries"),
	D("sysinfo", "memory size queries"),
	D("prlimit64", "reading resource limits"),
	D("getrlimit", "reading resource limits"),
	DA("ioctl", ARG_IOCTL_TCGETS, "isatty() from stdio, nothing else"),
	/* "file-read": opening files for reading (Landlock says which). */
	GA("openat", GROUP_FILE_READ, ARG_OPEN_RDONLY, "opening files read-only"),
	GA("open", GROUP_FILE_READ, ARG_OPEN_RDONLY, "opening files read-only"),
	G("stat", GROUP_FILE_READ, "file metadata"),
	G("lstat", GROUP_FILE_READ, "file metadata"),
	G("statx", GROUP_FILE_READ, "file metadata"),
	G("access", GROUP_FILE_READ, "permission checks"),
	G("faccessat", GROUP_FILE_READ, "permission checks"),
	G("faccessat2", GROUP_FILE_READ, "permission checks"),
	G("readlink", GROUP_FILE_READ, "reading symlinks"),
	G("readlinkat", GROUP_FILE_READ, "reading symlinks"),
	G("getdents64", GROUP_FILE_READ, "listing directories"),
	G("getcwd", GROUP_FILE_READ, "the working directory"),
	G("chdir", GROUP_FILE_READ, "changing directory"),
	G("fchdir", GROUP_FILE_READ, "changing directory"),
	G("statfs", GROUP_FILE_READ, "file system queries"),
	G("fstatfs", GROUP_FILE_READ, "file system queries"),
	G("fadvise64", GROUP_FILE_READ, "read-ahead hints"),
	/* "file-write": creating and changing files (Landlock says where). */
	G("openat", GROUP_FILE_WRITE, "opening files for writing"),
	G("open", GROUP_FILE_WRITE, "opening files for writing"),
	G("creat", GROUP_FILE_WRITE, "creating files"),
	G("mkdir", GROUP_FILE_WRITE, "creating directories"),
	G("mkdirat", GROUP_FILE_WRITE, "creating directories"),
	G("rmdir", GROUP_FILE_WRITE, "removing directories"),
	G("unlink", GROUP_FILE_WRITE, "removing files"),
	G("unlinkat", GROUP_FILE_WRITE, "removing files"),
	G("rename", GROUP_FILE_WRITE, "atomic replace of a saved file"),
	G("renameat", GROUP_FILE_WRITE, "atomic replace of a saved file"),
	G("renameat2", GROUP_FILE_WRITE, "atomic replace of a saved file"),
	G("link", GROUP_FILE_WRITE, "hard links"),
	G("linkat", GROUP_FILE_WRITE, "hard links"),
	G("symlink", GROUP_FILE_WRITE, "symbolic links"),
	G("symlinkat", GROUP_FILE_WRITE, "symbolic links"),
	G("truncate", GROUP_FILE_WRITE, "truncating files"),
	G("fsync", GROUP_FILE_WRITE, "durable saves"),
	G("fdatasync", GROUP_FILE_WRITE, "durable saves"),
	G("fchmod", GROUP_FILE_WRITE, "file modes"),
	G("fchmodat", GROUP_FILE_WRITE, "file modes"),
	G("chmod", GROUP_FILE_WRITE, "file modes"),
	G("utimensat", GROUP_FILE_WRITE, "file times"),
	G("fallocate", GROUP_FILE_WRITE, "preallocating files"),
	G("flock", GROUP_FILE_WRITE, "file locks (SQLite, Berkeley DB)"),
	/* "network": outbound connections (databases, upstream APIs). */
	GA("socket", GROUP_NETWORK, ARG_SOCKET_INET, "TCP/UDP/unix sockets only"),
	G("connect", GROUP_NETWORK, "connecting to servers"),
	G("bind", GROUP_NETWORK, "choosing a local address for a client socket"),
	G("recvmmsg", GROUP_NETWORK, "batched receives (DNS)"),
	G("sendmmsg", GROUP_NETWORK, "batched sends (DNS resolver)"),
	/* "process": running other programs. */
	G("fork", GROUP_PROCESS, "running helper programs"),
	G("vfork", GROUP_PROCESS, "posix_spawn"),
	G("clone", GROUP_PROCESS, "fork() in libc"),
	G("clone3", GROUP_PROCESS, "posix_spawn in newer libc"),
	G("execve", GROUP_PROCESS, "running helper programs"),
	G("execveat", GROUP_PROCESS, "running helper programs"),
	G("wait4", GROUP_PROCESS, "reaping helper programs"),
	G("waitid", GROUP_PROCESS, "reaping helper programs"),
	G("kill", GROUP_PROCESS, "signalling helper programs"),
	G("pipe", GROUP_PROCESS, "talking to helper programs"),
	G("pipe2", GROUP_PROCESS, "talking to helper programs"),
	G("dup2", GROUP_PROCESS, "wiring helper programs' stdio"),
	G("dup3", GROUP_PROCESS, "wiring helper programs' stdio"),
	G("setpgid", GROUP_PROCESS, "process groups of helpers"),
	G("setsid", GROUP_PROCESS, "detaching helpers"),
	G("close_range", GROUP_PROCESS,
	  "Python 3.11's subprocess closes inherited descriptors in the child before exec"),
	/* "threads": handlers that start threads. */
	G("clone", GROUP_THREADS, "pthread_create"),
	G("clone3", GROUP_THREADS, "pthread_create in newer libc"),
	G("set_robust_list", GROUP_THREADS, "thread start"),
	G("rseq", GROUP_THREADS, "thread start (restartable sequences)"),
	G("set_tid_address", GROUP_THREADS, "thread start"),
	G("sched_getaffinity", GROUP_THREADS, "sizing thread pools"),
	G("membarrier", GROUP_THREADS, "memory barriers across threads"),
	/*
	 * "interpreter" (issue 5): what a program exec'd under the filter
	 * needs beyond "default", "file-read" and "threads": foreign programs
	 * (sfcgi run execs them after the sandbox is applied; seccomp and
	 * no_new_privs survive the exec) and the CGI bridge's scripts. Measured
	 * with strace -f and "on_violation": "log" on php-cgi 8.2, perl 5.36 +
	 * FCGI, Go 1.19 net/http/fcgi, a libfcgi C program, dash and Perl CGI
	 * scripts. What scripts need beyond it as a user other than root (bash's
	 * /dev/tty and nscd lookups, Perl's getgroups) is in the "shell" and
	 * "perl" profiles (profile.c).
	 */
	G("execve", GROUP_INTERPRETER, "executing the program or script itself"),
	G("arch_prctl", GROUP_INTERPRETER, "the dynamic loader and Go set the thread pointer"),
	G("set_tid_address", GROUP_INTERPRETER, "libc start-up in every new program"),
	G("set_robust_list", GROUP_INTERPRETER, "libc start-up in every new program"),
	G("rseq", GROUP_INTERPRETER, "libc start-up in every new program"),
	G("fcntl", GROUP_INTERPRETER, "close-on-exec and non-blocking flags (Perl, Go, PHP, sh)"),
	G("epoll_create1", GROUP_INTERPRETER, "Go's network poller"),
	G("pipe2", GROUP_INTERPRETER, "Go's network poller wake-up"),
	G("eventfd2", GROUP_INTERPRETER, "newer Go's network poller wake-up"),
	G("setitimer", GROUP_INTERPRETER, "PHP's max_execution_time (ITIMER_PROF)"),
	G("getitimer", GROUP_INTERPRETER, "interval timers"),
	G("alarm", GROUP_INTERPRETER, "Perl's alarm()"),
	G("prctl", GROUP_INTERPRETER,
	  "PHP names its heap (PR_SET_VMA); regains nothing under no_new_privs"),
	G("umask", GROUP_INTERPRETER, "scripts set the file mode mask (the umask builtin)"),
	G("getpgrp", GROUP_INTERPRETER, "shells query their process group"),
	G("dup2", GROUP_INTERPRETER, "shells redirect descriptors"),
	G("rt_sigsuspend", GROUP_INTERPRETER,
	  "the shell's wait builtin (sh -c 'job & wait') sleeps in sigsuspend for SIGCHLD"),
	GA("ioctl", GROUP_INTERPRETER, ARG_IOCTL_CLOEXEC,
	   "Python sets close-on-exec with FIOCLEX (os.set_inheritable); flags of its own fds"),
	/*
	 * "file-copy" (issue 10): the kernel copies between two files the
	 * program holds open, with the rights "file-write" gave it to open them.
	 * Measured with strace -f on Debian 12: PHP 8.2's copy() and
	 * stream_copy_to_stream() (DokuWiki's media upload copies the uploaded
	 * file with copy(); without this call it died mid-request and left a
	 * 0-byte file), coreutils 9.1 cp, install, cat > file and mv across
	 * file systems, Go 1.19's io.Copy between files. Looked for and not
	 * seen, so left out: splice, tee and vmsplice (none of PHP, Perl 5.36,
	 * Python 3.11, Go 1.19, git 2.39, Mercurial 6.3 or coreutils used them
	 * to copy), preadv/pwritev and their -2 forms, sync_file_range, openat2;
	 * sendfile (Python's shutil.copyfile) is in the default list already;
	 * close_range (Python's subprocess, between fork and exec) is in
	 * "process", with what it belongs to.
	 */
	G("copy_file_range", GROUP_FILE_COPY,
	  "PHP's copy() and stream_copy_to_stream(), coreutils cp/cat/install/mv, Go's io.Copy"),
	GA("ioctl", GROUP_FILE_COPY, ARG_IOCTL_FICLONE,
	   "coreutils 9.1 cp, install and mv try a reflink copy (FICLONE) first"),
};
const unsigned policy_count = sizeof policy_table / sizeof policy_table[0];

struct policy_key policy_key_for(const char *name, uint32_t allowed)
{
	struct policy_key k = { KEY_SYSCALL, 0, false };

	for (unsigned i = 0; i < policy_count; i++) {
		const struct policy_entry *e = &policy_table[i];

		if (strcmp(e->name, name) != 0)
			continue;
		if (e->level == LEVEL_DEFAULT && e->arg == ARG_ANY)
			return (struct policy_key){ KEY_DEFAULT, 0, false };
		if (e->arg != ARG_ANY && (e->level == LEVEL_DEFAULT || (allowed & e->group)))
			k.args_only = true;
	}
	for (unsigned i = 0; i < policy_count; i++) {
		const struct policy_entry *e = &policy_table[i];

		if (!strcmp(e->name, name) && e->level == LEVEL_GROUP && !(allowed & e->group) &&
		    !(k.args_only && e->arg != ARG_ANY))
			k.groups |= e->group;
	}
	if (k.groups)
		k.kind = KEY_GROUPS;
	return k;
}

/* Whether args pass e's argument rule, as filter.c builds it. */
static bool arg_ok(const struct policy_entry *e, const uint64_t *a)
{
	const uint64_t open_mask = O_ACCMODE | O_CREAT | O_TRUNC;

	switch (e->arg) {
	case ARG_ANY:
		return true;
	case ARG_OPEN_RDONLY:
		return ((strcmp(e->name, "openat") ? a[1] : a[2]) & open_mask) == O_RDONLY;
	case ARG_OPEN_RDWR:
		return ((strcmp(e->name, "openat") ? a[1] : a[2]) & open_mask) == O_RDWR;
	case ARG_SOCKET_INET:
		return a[0] == AF_UNIX || a[0] == AF_INET || a[0] == AF_INET6;
	case ARG_SOCKET_UNIX:
		return a[0] == AF_UNIX;
	case ARG_IOCTL_TCGETS:
		return a[1] == TCGETS;
	case ARG_IOCTL_TTY_QUERY:
		return a[1] == TCGETS || a[1] == TIOCGPGRP || a[1] == TIOCGWINSZ;
	case ARG_IOCTL_CLOEXEC:
		return a[1] == FIOCLEX || a[1] == FIONCLEX;
	case ARG_IOCTL_FICLONE:
		return a[1] == FICLONE;
	}
	return false;
}

struct policy_key policy_key_choose(const char *name, const uint64_t *args, uint32_t allowed)
{
	struct policy_key k = policy_key_for(name, allowed);
	uint32_t fit = 0;

	if (k.kind == KEY_DEFAULT || !args)
		return k;
	for (unsigned i = 0; i < policy_count; i++) {
		const struct policy_entry *e = &policy_table[i];

		if (!strcmp(e->name, name) && e->level == LEVEL_GROUP && !(allowed & e->group) &&
		    arg_ok(e, args))
			fit |= e->group;
	}
	/* clone is in "process" and "threads": a thread needs only the latter */
	if ((fit & GROUP_THREADS) && !strcmp(name, "clone") && (args[0] & CLONE_THREAD))
		fit = GROUP_THREADS;
	k.kind = fit ? KEY_GROUPS : KEY_SYSCALL;
	k.groups = fit;
	return k;
}

const char *const policy_supervisor_deny[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module", "mount", "umount2", "pivot_root",
	"swapon", "swapoff", "reboot", "bpf", "perf_event_open", "userfaultfd", "add_key",
	"keyctl", "request_key", "acct", "quotactl", "settimeofday", "clock_settime",
	"clock_adjtime", "adjtimex", "unshare", "setns", "iopl", "ioperm", "syslog", "vhangup",
	"open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "fanotify_init",
	"move_mount", "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", NULL,
};
