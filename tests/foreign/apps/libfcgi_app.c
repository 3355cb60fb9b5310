/* SPDX-License-Identifier: MIT */
/*
 * A C libfcgi program (libfcgi-dev): FCGX_Accept_r on the socket on fd 0.
 * libfcgi's own SIGUSR1 handler makes the next accept fail after the
 * current request: the graceful stop sfcgi asks for with "drain_signal".
 */
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Built in the ASan tree too, where LeakSanitizer's check at exit clones a
 * tracer that ptraces this process; the sandbox refuses ptrace, the tracer
 * dies, and the program spun in sched_yield for ever after its last request,
 * outliving its test. LSan's documented off switch, as libsfcgi has it.
 */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return 1;
}

static const char *env(FCGX_Request *r, const char *k)
{
	const char *v = FCGX_GetParam(k, r->envp);

	return v ? v : "";
}

int main(void)
{
	FCGX_Request r;
	char buf[65536];
	unsigned long served = 0;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		const char *q = env(&r, "QUERY_STRING"), *x = strstr(q, "x="), *s = strstr(q, "sleep=");
		size_t len = 0;
		int n;

		while ((n = FCGX_GetStr(buf, sizeof buf, r.in)) > 0)
			len += (size_t)n;
		if (s)
			usleep((useconds_t)atoi(s + 6) * 1000);
		served++;
		FCGX_FPrintF(r.out, "Content-Type: text/plain\r\n\r\napp=c\npid=%d\nserved=%lu\n",
			     (int)getpid(), served);
		FCGX_FPrintF(r.out, "method=%s\nx=%.*s\nbody_len=%lu\n", env(&r, "REQUEST_METHOD"),
			     x ? (int)strcspn(x + 2, "&") : 0, x ? x + 2 : "", (unsigned long)len);
		FCGX_FPrintF(r.out, "script_name=%s\npath_info=%s\nrequest_uri=%s\nremote_user=%s\n"
				    "auth_type=%s\n",
			     env(&r, "SCRIPT_NAME"), env(&r, "PATH_INFO"), env(&r, "REQUEST_URI"),
			     env(&r, "REMOTE_USER"), env(&r, "AUTH_TYPE"));
		FCGX_Finish_r(&r);
	}
	return 0;
}
