/* SPDX-License-Identifier: MIT */
/* libseccomp loaded on first use (seccomp_dl.h). */
#include "seccomp_dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

#include "log.h"

/* The soname libseccomp has had since 2.0; libseccomp2 in Debian. */
#define SONAME "libseccomp.so.2"

static scmp_filter_ctx no_init(uint32_t def_action)
{
	(void)def_action;
	return NULL;
}

static void no_release(scmp_filter_ctx ctx)
{
	(void)ctx;
}

static int no_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
			     unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array)
{
	(void)ctx, (void)action, (void)syscall, (void)arg_cnt, (void)arg_array;
	return -ENOMEM;
}

static int no_ctx(const scmp_filter_ctx ctx)
{
	(void)ctx;
	return -ENOMEM;
}

static int no_export(const scmp_filter_ctx ctx, int fd)
{
	(void)ctx, (void)fd;
	return -ENOMEM;
}

static int no_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value)
{
	(void)ctx, (void)attr, (void)value;
	return -ENOMEM;
}

static int no_resolve_name(const char *name)
{
	(void)name;
	return __NR_SCMP_ERROR;
}

static char *no_resolve_num(uint32_t arch, int num)
{
	(void)arch, (void)num;
	return NULL;
}

static const struct scmp_version *no_version(void)
{
	static const struct scmp_version none;

	return &none;
}

static const struct seccomp_dl missing = {
	no_init, no_release, no_rule_add_array, no_ctx, no_export, no_attr_set,
	no_resolve_name, no_resolve_num, no_version,
};

const struct seccomp_dl *seccomp_dl(void)
{
	static struct seccomp_dl lib;
	static const struct seccomp_dl *loaded;
	void *h;

	if (loaded)
		return loaded;
	h = dlopen(SONAME, RTLD_NOW | RTLD_LOCAL);
	if (h) {
		/* POSIX: a function pointer read through a void * */
		*(void **)&lib.init = dlsym(h, "seccomp_init");
		*(void **)&lib.release = dlsym(h, "seccomp_release");
		*(void **)&lib.rule_add_array = dlsym(h, "seccomp_rule_add_array");
		*(void **)&lib.load = dlsym(h, "seccomp_load");
		*(void **)&lib.export_bpf = dlsym(h, "seccomp_export_bpf");
		*(void **)&lib.attr_set = dlsym(h, "seccomp_attr_set");
		*(void **)&lib.resolve_name = dlsym(h, "seccomp_syscall_resolve_name");
		*(void **)&lib.resolve_num_arch = dlsym(h, "seccomp_syscall_resolve_num_arch");
		*(void **)&lib.version = dlsym(h, "seccomp_version");
	}
	if (h && lib.init && lib.release && lib.rule_add_array && lib.load && lib.export_bpf &&
	    lib.attr_set && lib.resolve_name && lib.resolve_num_arch && lib.version) {
		loaded = &lib;
	} else {
		log_err("sandbox: cannot load %s (%s): this configuration's seccomp filter is "
			"compiled at run time (only the default and strict profiles with nothing "
			"added are built in); install libseccomp (Debian: libseccomp2)",
			SONAME, h ? "a function is missing" : dlerror());
		if (h)
			dlclose(h);
		loaded = &missing;
	}
	return loaded;
}

int seccomp_dl_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt,
			...)
{
	struct scmp_arg_cmp a[6];
	va_list ap;

	if (arg_cnt > 6)
		return -EINVAL;
	va_start(ap, arg_cnt);
	for (unsigned int i = 0; i < arg_cnt; i++)
		a[i] = va_arg(ap, struct scmp_arg_cmp);
	va_end(ap);
	return seccomp_dl()->rule_add_array(ctx, action, syscall, arg_cnt, a);
}
