/* SPDX-License-Identifier: MIT */
/*
 * What one process may do to another instance's: run by isolation.sh
 * inside an instance's service context (ExecStartPost=) and bare
 * (systemd-run with only the instance's dynamic user).
 *   isolation-probe pid:LABEL:PID... file:LABEL:PATH...
 * prints one line per attempt: "kill LABEL ok" or "kill LABEL EPERM", and
 * ptrace (PTRACE_ATTACH), mem (/proc/PID/mem read), read (open + read).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

/* Sanitizer builds: LeakSanitizer's exit check needs ptrace, which the
 * unit's SystemCallFilter= refuses (its documented off switch). */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return 1;
}

static void say(const char *what, const char *label, int err)
{
	printf("probe %s %s %s\n", what, label, err ? strerrorname_np(err) : "ok");
}

static void probe_pid(const char *label, pid_t pid)
{
	char path[64], c;
	int fd, err;

	say("kill", label, kill(pid, 0) < 0 ? errno : 0);
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0) {
		say("ptrace", label, errno);
	} else {
		say("ptrace", label, 0);
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? errno : 0;
	if (fd >= 0) {
		/* a mapped address: the start of the first mapping */
		char maps[64], line[256];
		FILE *f;
		unsigned long start = 0;

		snprintf(maps, sizeof maps, "/proc/%d/maps", (int)pid);
		if ((f = fopen(maps, "re")) && fgets(line, sizeof line, f))
			start = strtoul(line, NULL, 16);
		if (f)
			fclose(f);
		err = pread(fd, &c, 1, (off_t)start) == 1 ? 0 : errno;
		close(fd);
	}
	say("mem", label, err);
}

static void probe_file(const char *label, const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = fd < 0 ? errno : 0;

	if (fd >= 0) {
		err = read(fd, buf, sizeof buf) >= 0 ? 0 : errno;
		close(fd);
	}
	say("read", label, err);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		char *kind = strdup(argv[i]), *label, *what;

		if (!kind || !(label = strchr(kind, ':')) || !(what = strchr(label + 1, ':'))) {
			fprintf(stderr, "isolation-probe: %s: expected pid:LABEL:PID or "
					"file:LABEL:PATH\n", argv[i]);
			return 2;
		}
		*label++ = 0;
		*what++ = 0;
		if (!strcmp(kind, "pid"))
			probe_pid(label, (pid_t)atoi(what));
		else
			probe_file(label, what);
		free(kind);
	}
	return 0;
}
