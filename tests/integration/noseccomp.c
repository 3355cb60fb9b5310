/* SPDX-License-Identifier: MIT */
/*
 * Runs a program where seccomp() fails with EPERM, as under a container
 * runtime that forbids it: proves a worker whose filter cannot load never
 * serves. Usage: noseccomp PROGRAM [ARG]...
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

/* SCMP_A0 leaves datum_b zero-initialised (clang: missing initializer). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	if (argc < 2 || !ctx)
		return 2;
	/* libseccomp falls back to prctl(PR_SET_SECCOMP) when seccomp() fails */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(seccomp), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 1,
			     SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP)) < 0 ||
	    seccomp_load(ctx) < 0) {
		fprintf(stderr, "noseccomp: could not install the filter\n");
		return 2;
	}
	seccomp_release(ctx);
	execv(argv[1], argv + 1);
	perror("noseccomp: exec");
	return 127;
}
