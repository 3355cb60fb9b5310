/* SPDX-License-Identifier: MIT */
/*
 * The instance configuration file, sfcgi.json(5): strict JSON (json.c,
 * on jsmn) turned into struct config, every mistake one line
 * "name:line:col: message".
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ids.h"
#include "json.h"
#include "log.h"
#include "profile.h"
#include "layout.h"

#define MAX_ENV      1024 /* "environment" names, checked pairwise for duplicates */
#define MAX_SECONDS  86400
#define MAX_REQUESTS (UINT64_C(1) << 53) /* integers a JSON number holds exactly */

/* ---- numbers --------------------------------------------------------------- */

/* An integer 0..max, exactly as written (a double would round 2^63 - 1 up). */
static int get_uint(struct json *p, int t, const char *what, uint64_t max, uint64_t *ret)
{
	struct json_decimal d;
	int r = json_expect(p, t, "a number", what);

	*ret = 0; /* json_fail() is not known to return non-zero: -O2 would warn */
	if (r < 0)
		return r;
	json_decimal(p, t, 0, &d);
	if (d.fraction)
		return json_fail(p, json_t_start(p, t), "\"%s\": expected an integer, got %.*s", what,
			    JSON_ECHO(p, t));
	if (d.negative || d.whole > max)
		return json_fail(p, json_t_start(p, t), "\"%s\": %.*s is out of range (0..%" PRIu64 ")", what,
			    JSON_ECHO(p, t), max);
	*ret = d.whole;
	return 0;
}

/* Seconds 0..MAX_SECONDS to the millisecond, exactly as written, in ms. */
static int get_seconds(struct json *p, int t, const char *what, uint32_t *ret_ms)
{
	const uint64_t max = MAX_SECONDS * 1000;
	struct json_decimal d;
	int r = json_expect(p, t, "a number", what);

	if (r < 0)
		return r;
	json_decimal(p, t, 3, &d);
	if (d.negative || d.whole > max || (d.whole == max && d.fraction))
		return json_fail(p, json_t_start(p, t), "\"%s\": %.*s is out of range (0..%d seconds)", what,
			    JSON_ECHO(p, t), MAX_SECONDS);
	if (d.fraction)
		return json_fail(p, json_t_start(p, t), "\"%s\": %.*s is not a whole number of milliseconds",
			    what, JSON_ECHO(p, t));
	*ret_ms = (uint32_t)d.whole;
	return 0;
}

/* ---- keys ------------------------------------------------------------------ */

struct field {
	const char *key;
	int (*set)(struct json *p, int v, const struct field *f);
	size_t off;   /* of the member set */
	uint64_t max; /* for set_uint(): UINT32_MAX or less means a uint32_t member */
};

#define MEMBER(f, type) ((type *)(void *)((char *)p->c + (f)->off))

static int set_kind(struct json *p, int v, const struct field *f)
{
	char *s = NULL;
	int r = json_get_string(p, v, f->key, &s);

	if (r == 0 && (!strcmp(s, "native") || !strcmp(s, "foreign")))
		p->c->kind = s[0] == 'n' ? CONFIG_NATIVE : CONFIG_FOREIGN;
	else if (r == 0)
		r = json_fail(p, json_t_start(p, v), "\"kind\": expected \"native\" or \"foreign\", got %.*s",
			 JSON_ECHO(p, v));
	free(s);
	return r;
}

/* Why stat() of a path in the file failed, said of the path ("... %s"). */
static const char *stat_failed(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return "does not exist";
	case EACCES:
		return "cannot be reached (permission denied)";
	case ENAMETOOLONG:
		return "is too long a path";
	case ELOOP:
		return "has too many levels of symbolic links";
	default:
		return "cannot be looked up";
	}
}

static int set_program(struct json *p, int v, const struct field *f)
{
	struct stat st;
	const char *path, *why = NULL;
	int r = json_get_string(p, v, f->key, &p->c->program);

	if (r < 0)
		return r;
	path = p->c->program;
	if (path[0] != '/')
		why = "is not an absolute path";
	else if (stat(path, &st) < 0)
		why = stat_failed(errno);
	else if (!S_ISREG(st.st_mode))
		why = "is not a regular file";
	else if (access(path, X_OK) < 0)
		why = "is not executable";
	return why ? json_fail(p, json_t_start(p, v), "\"program\": %.*s %s", JSON_ECHO(p, v), why) : 0;
}

/* "spill_dir": an absolute path to an existing directory (spill.c). */
static int set_spill_dir(struct json *p, int v, const struct field *f)
{
	struct stat st;
	const char *why = NULL;
	int r = json_get_string(p, v, f->key, &p->c->spill_dir);

	if (r < 0)
		return r;
	if (p->c->spill_dir[0] != '/')
		why = "is not an absolute path";
	else if (stat(p->c->spill_dir, &st) < 0)
		/* /var/cache/sfcgi/NAME: the unit's CacheDirectory= makes it at start */
		why = errno == ENOENT && config_unit_directory(p->name, p->c->spill_dir)
			      ? NULL
			      : stat_failed(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "is not a directory";
	return why ? json_fail(p, json_t_start(p, v), "\"spill_dir\": %.*s %s", JSON_ECHO(p, v), why)
		   : 0;
}

/* "fdname" (systemd's fdname_is_valid(), not empty). */
static int set_name(struct json *p, int v, const struct field *f)
{
	char **s = MEMBER(f, char *);
	int r = json_get_string(p, v, f->key, s);
	size_t n = 0;

	if (r < 0)
		return r;
	while ((*s)[n] >= 0x20 && (*s)[n] < 0x7f && (*s)[n] != ':')
		n++;
	if (n == 0 || n > 255 || (*s)[n])
		return json_fail(p, json_t_start(p, v), "\"%s\": must be 1 to 255 printable ASCII characters "
					       "other than ':'", f->key);
	return 0;
}

static int set_args(struct json *p, int v, const struct field *f)
{
	char what[32];
	int r = json_expect(p, v, "an array", f->key), n = 0;

	if (r == 0 && !(p->c->args = calloc((size_t)p->tok[v].size + 1, sizeof(char *))))
		return json_oom(p);
	for (int i = v + 1; r == 0 && json_inside(p, i, v); i = json_next_sibling(p, i)) {
		snprintf(what, sizeof what, "args[%d]", n);
		r = json_get_string(p, i, what, &p->c->args[n++]);
	}
	return r;
}

/* Key k of "environment" (object obj) as "K=V" in env[n]; names before it differ. */
static int env_entry(struct json *p, int obj, int k, int n)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789";
	char *name = NULL, *value = NULL, what[JSON_ECHO_MAX + 16], **env = p->c->env;
	int r = json_get_string(p, k, "environment", &name);
	size_t len = r < 0 ? 0 : strlen(name);

	if (r == 0 && (!len || (name[0] >= '0' && name[0] <= '9') || strspn(name, alnum) != len))
		r = json_fail(p, json_t_start(p, k), "\"environment\": %.*s is not a valid variable name",
			 JSON_ECHO(p, k));
	for (int i = 0, j = obj + 1; r == 0 && i < n; i++, j = json_next_sibling(p, j + 1))
		if (!strncmp(env[i], name, len) && env[i][len] == '=')
			r = json_duplicate(p, k, j, "\"environment\": ");
	if (r == 0) {
		snprintf(what, sizeof what, "environment.%s", name);
		r = json_get_string(p, k + 1, what, &value);
	}
	if (r == 0 && asprintf(&env[n], "%s=%s", name, value) < 0) {
		env[n] = NULL;
		r = json_oom(p);
	}
	free(name);
	free(value);
	return r;
}

static int set_env(struct json *p, int v, const struct field *f)
{
	int r = json_expect(p, v, "an object", f->key), n = 0;

	if (r == 0 && p->tok[v].size > MAX_ENV)
		return json_fail(p, json_t_start(p, v), "\"environment\": more than %d variables", MAX_ENV);
	if (r == 0 && !(p->c->env = calloc((size_t)p->tok[v].size + 1, sizeof(char *))))
		return json_oom(p);
	for (int k = v + 1; r == 0 && json_inside(p, k, v); k = json_next_sibling(p, k + 1))
		r = env_entry(p, v, k, n++);
	return r;
}

static int set_uint(struct json *p, int v, const struct field *f)
{
	uint64_t n;
	int r = get_uint(p, v, f->key, f->max, &n);

	if (r == 0 && f->max > UINT32_MAX)
		*MEMBER(f, uint64_t) = n;
	else if (r == 0)
		*MEMBER(f, uint32_t) = (uint32_t)n;
	return r;
}

static int set_seconds(struct json *p, int v, const struct field *f)
{
	return get_seconds(p, v, f->key, MEMBER(f, uint32_t));
}

void config_fmt_limit(char *buf, size_t cap, enum setting_type type, uint64_t v)
{
	int n = type != SETTING_MS ? snprintf(buf, cap, "%" PRIu64, v)
				   : snprintf(buf, cap, "%" PRIu64 ".%03u", v / 1000,
					      (unsigned)(v % 1000));

	while (type == SETTING_MS && n > 0 && (size_t)n < cap && buf[n - 1] == '0')
		buf[--n] = 0;
	if (type == SETTING_MS && n > 0 && (size_t)n < cap && buf[n - 1] == '.')
		buf[--n] = 0;
}

/* Key k of "limits" (object obj): a settings_table key and its number. */
static int limit(struct json *p, int obj, int k)
{
	char name[JSON_ECHO_MAX + 1], what[JSON_ECHO_MAX + 16], lo[32], hi[32];
	const struct setting_desc *d = json_key_name(p, k, name) ? settings_find(name) : NULL;
	const char *why = NULL;
	struct json_decimal num;
	int r;

	if (!d)
		return json_unknown_key(p, k, "\"limits\": ", settings_table, sizeof *settings_table,
				   settings_count);
	if ((r = json_check_dup(p, obj, k, "\"limits\": ")) < 0)
		return r;
	snprintf(what, sizeof what, "limits.%s", d->key);
	if ((r = json_expect(p, k + 1, "a number", what)) < 0)
		return r;
	json_decimal(p, k + 1, d->type == SETTING_MS ? 3 : 0, &num); /* seconds kept in ms */
	if (num.negative || num.fraction)
		why = d->type == SETTING_MS
			      ? "must be a non-negative number of seconds, to the millisecond"
			      : "must be a non-negative integer";
	r = why ? -EINVAL : settings_set_uint(&p->c->limits, d, num.whole, &why);
	config_fmt_limit(lo, sizeof lo, d->type, d->min);
	config_fmt_limit(hi, sizeof hi, d->type, d->max);
	if (r == -ERANGE)
		return json_fail(p, json_t_start(p, k + 1), "\"%s\": %.*s is out of range (%s..%s%s)", what,
			    JSON_ECHO(p, k + 1), lo, hi, d->type == SETTING_MS ? " seconds" : "");
	if (r < 0)
		return json_fail(p, json_t_start(p, k + 1), "\"%s\": %s, got %.*s", what, why,
			    JSON_ECHO(p, k + 1));
	return 0;
}

static int set_limits(struct json *p, int v, const struct field *f)
{
	int r = json_expect(p, v, "an object", f->key);

	for (int k = v + 1; r == 0 && json_inside(p, k, v); k = json_next_sibling(p, k + 1))
		r = limit(p, v, k);
	return r;
}

/* ---- "sandbox" ------------------------------------------------------------- */

/* A string that must be one of the NULL-terminated choices; its index. */
static int choice(struct json *p, int v, const char *what, const char *const *choices,
		  int *ret)
{
	char *s = NULL, list[128] = "";
	int r = json_get_string(p, v, what, &s);

	for (int i = 0; r == 0 && choices[i]; i++) {
		if (!strcmp(s, choices[i])) {
			*ret = i;
			free(s);
			return 0;
		}
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "",
			 choices[i]);
	}
	if (r == 0)
		r = json_fail(p, json_t_start(p, v), "\"%s\": expected one of %s, got %.*s", what, list,
			 JSON_ECHO(p, v));
	free(s);
	return r;
}

/* An array of strings, each checked by ok() (NULL = any); *ret NULL-terminated. */
static int strings(struct json *p, int v, const char *what, char ***ret,
		   const char *(*ok)(struct json *p, const char *s))
{
	char item[64];
	int r = json_expect(p, v, "an array", what), n = 0;

	if (r == 0 && !(*ret = calloc((size_t)p->tok[v].size + 1, sizeof(char *))))
		return json_oom(p);
	for (int i = v + 1; r == 0 && json_inside(p, i, v); i = json_next_sibling(p, i)) {
		const char *why;

		snprintf(item, sizeof item, "%s[%d]", what, n);
		r = json_get_string(p, i, item, &(*ret)[n]);
		if (r == 0 && ok && (why = ok(p, (*ret)[n])))
			r = json_fail(p, json_t_start(p, i), "\"%s\": %.*s %s", item, JSON_ECHO(p, i), why);
		n++;
	}
	return r;
}

/* A path missing until systemd creates it at start (StateDirectory=...) is
 * fine: `sfcgi check` says so. */
static const char *path_ok(struct json *p, const char *s)
{
	struct stat st;

	if (s[0] != '/')
		return "is not an absolute path";
	if (stat(s, &st) == 0)
		return NULL;
	if (errno == ENOENT && config_unit_directory(p->name, s))
		return NULL;
	return stat_failed(errno);
}

static const char *group_ok(struct json *p, const char *s)
{
	return sandbox_group_by_name(s) ? NULL
		: "is not a group (valid: file-read, file-write, network, process, threads, "
		  "interpreter, file-copy)";
}

static const char *syscall_ok(struct json *p, const char *s)
{
	return sandbox_syscall_known(s) == 0 ? NULL : "is not a system call of this architecture";
}

static int sandbox_ids(struct json *p, int k, int v, bool is_user)
{
	struct sandbox_config *sb = &p->c->sandbox;
	char **name = is_user ? &sb->user : &sb->group;
	int r = json_get_string(p, v, is_user ? "sandbox.user" : "sandbox.group", name);
	uid_t uid;
	gid_t gid;

	(void)k;
	if (r < 0)
		return r;
	if (is_user) {
		if (ids_user(*name, &uid, &gid) < 0)
			return json_fail(p, json_t_start(p, v), "\"sandbox.user\": no user %.*s", JSON_ECHO(p, v));
		sb->uid = uid;
		if (!sb->group)
			sb->gid = gid;
		sb->have_ids = true;
	} else {
		if (ids_group(*name, &gid) < 0)
			return json_fail(p, json_t_start(p, v), "\"sandbox.group\": no group %.*s", JSON_ECHO(p, v));
		sb->gid = gid;
	}
	return 0;
}

static int sandbox_rlimits(struct json *p, int v)
{
	char name[JSON_ECHO_MAX + 1], what[JSON_ECHO_MAX + 24];
	int r = json_expect(p, v, "an object", "sandbox.rlimits");

	for (int k = v + 1; r == 0 && json_inside(p, k, v); k = json_next_sibling(p, k + 1)) {
		int i = json_key_name(p, k, name) ? sandbox_rlimit_index(name) : -1;
		uint64_t n;

		if (i < 0)
			return json_fail(p, json_t_start(p, k), "\"sandbox.rlimits\": unknown key %.*s (valid: "
				    "nofile, as, core, nproc, fsize)", JSON_ECHO(p, k));
		if ((r = json_check_dup(p, v, k, "\"sandbox.rlimits\": ")) < 0)
			return r;
		snprintf(what, sizeof what, "sandbox.rlimits.%s", name);
		if ((r = get_uint(p, k + 1, what, INT64_MAX, &n)) == 0)
			p->c->sandbox.rlimits[i] = (int64_t)n;
	}
	return r;
}

/* "profile": a runtime profile's groups join "allow"; its calls stay its own. */
static int sandbox_runtime(struct json *p, int v)
{
	struct sandbox_config *sb = &p->c->sandbox;
	char *s = NULL, list[128] = "";
	int r = json_get_string(p, v, "sandbox.profile", &s);

	if (r == 0 && !(sb->runtime = runtime_profile_find(s))) {
		for (unsigned i = 0; i < runtime_profile_count; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"",
				 i ? ", " : "", runtime_profiles[i].name);
		r = json_fail(p, json_t_start(p, v), "\"sandbox.profile\": expected one of %s, got %.*s",
			      list, JSON_ECHO(p, v));
	}
	if (r == 0)
		sb->allow |= sb->runtime->groups;
	free(s);
	return r;
}

static const char *const sandbox_keys[] = {
	"user", "group", "read_only", "read_write", "landlock", "seccomp", "on_violation",
	"allow", "syscalls", "rlimits", "profile",
};

static int sandbox_key(struct json *p, int obj, int k)
{
	static const char *const landlock[] = { "auto", "required", "off", NULL };
	static const char *const profile[] = { "default", "strict", "off", NULL };
	static const char *const action[] = { "kill", "log", NULL };
	struct sandbox_config *sb = &p->c->sandbox;
	char name[JSON_ECHO_MAX + 1], **groups = NULL;
	int r, v = k + 1, i = -1;

	if (json_key_name(p, k, name))
		for (i = (int)(sizeof sandbox_keys / sizeof *sandbox_keys) - 1; i >= 0; i--)
			if (!strcmp(sandbox_keys[i], name))
				break;
	if (i < 0)
		return json_unknown_key(p, k, "\"sandbox\": ", sandbox_keys, sizeof *sandbox_keys,
				   sizeof sandbox_keys / sizeof *sandbox_keys);
	if ((r = json_check_dup(p, obj, k, "\"sandbox\": ")) < 0)
		return r;
	switch (i) {
	case 0: return sandbox_ids(p, k, v, true);
	case 1: return sandbox_ids(p, k, v, false);
	case 2: return strings(p, v, "sandbox.read_only", &sb->read_only, path_ok);
	case 3: return strings(p, v, "sandbox.read_write", &sb->read_write, path_ok);
	case 4: return choice(p, v, "sandbox.landlock", landlock, (int *)&sb->landlock);
	case 5: return choice(p, v, "sandbox.seccomp", profile, (int *)&sb->profile);
	case 6: return choice(p, v, "sandbox.on_violation", action, (int *)&sb->action);
	case 7:
		r = strings(p, v, "sandbox.allow", &groups, group_ok);
		for (char **g = groups; g && *g; g++) {
			sb->allow |= sandbox_group_by_name(*g);
			free(*g);
		}
		free(groups);
		return r;
	case 8: return strings(p, v, "sandbox.syscalls", &sb->syscalls, syscall_ok);
	case 9: return sandbox_rlimits(p, v);
	default: return sandbox_runtime(p, v);
	}
}

/* "sandbox": false turns it off; an object tunes it (sfcgi.json(5)). */
static int set_sandbox(struct json *p, int v, const struct field *f)
{
	int r = 0, group = v; /* the key "group" */

	if (!strcmp(json_kind_of(p, v), "a boolean")) {
		p->c->sandbox.enabled = p->text[p->tok[v].start] == 't';
		return 0;
	}
	if (strcmp(json_kind_of(p, v), "an object"))
		return json_fail(p, json_t_start(p, v),
				 "\"sandbox\": expected an object or a boolean, got %s",
				 json_kind_of(p, v));
	for (int k = v + 1; r == 0 && json_inside(p, k, v); k = json_next_sibling(p, k + 1)) {
		char name[JSON_ECHO_MAX + 1];

		r = sandbox_key(p, v, k);
		if (r == 0 && json_key_name(p, k, name) && !strcmp(name, "group"))
			group = k;
	}
	if (r == 0 && p->c->sandbox.group && !p->c->sandbox.user)
		r = json_fail(p, json_t_start(p, group),
			      "\"sandbox\": \"group\" needs \"user\" too");
	return r;
}

/* "drain_signal": what tells a foreign program to finish its requests and
 * exit on reload ("SIGUSR1" for libfcgi programs). A native program drains
 * with its own protocol and ignores it. */
static const struct {
	const char *name;
	int sig;
} drain_signals[] = {
	{ "SIGTERM", SIGTERM }, { "SIGUSR1", SIGUSR1 }, { "SIGUSR2", SIGUSR2 },
	{ "SIGHUP", SIGHUP },   { "SIGINT", SIGINT },   { "SIGQUIT", SIGQUIT },
	{ "SIGWINCH", SIGWINCH },
};
#define NDRAIN (sizeof drain_signals / sizeof drain_signals[0])

const char *config_drain_signal_name(int sig)
{
	for (size_t i = 0; i < NDRAIN; i++)
		if (drain_signals[i].sig == sig)
			return drain_signals[i].name;
	return NULL;
}

static int set_drain_signal(struct json *p, int v, const struct field *f)
{
	char *s = NULL;
	int r = json_get_string(p, v, f->key, &s);

	for (size_t i = 0; r == 0 && i < NDRAIN; i++)
		if (!strcmp(s, drain_signals[i].name)) {
			p->c->drain_signal = drain_signals[i].sig;
			free(s);
			return 0;
		}
	if (r == 0)
		r = json_fail(p, json_t_start(p, v), "\"drain_signal\": expected one of \"SIGTERM\", "
			 "\"SIGUSR1\", \"SIGUSR2\", \"SIGHUP\", \"SIGINT\", \"SIGQUIT\", "
			 "\"SIGWINCH\", got %.*s", JSON_ECHO(p, v));
	free(s);
	return r;
}

static int set_listen(struct json *p, int v, const struct field *f)
{
	(void)f;
	return config_set_listen(p, v); /* config_listen.c */
}

static int set_allow(struct json *p, int v, const struct field *f)
{
	return config_set_allow(p, v, f->off == 0); /* config_allow.c */
}

static int set_status(struct json *p, int v, const struct field *f)
{
	(void)f;
	return config_set_status(p, v); /* config_listen.c */
}

#define AT(member) offsetof(struct config, member)
static const struct field fields[] = {
	{ "kind", set_kind, 0, 0 },
	{ "program", set_program, 0, 0 },
	{ "args", set_args, 0, 0 },
	{ "environment", set_env, 0, 0 },
	{ "workers", set_uint, AT(workers), CONFIG_MAX_WORKERS },
	{ "max_requests", set_uint, AT(max_requests), MAX_REQUESTS },
	{ "idle_timeout", set_seconds, AT(idle_timeout_ms), 0 },
	{ "request_timeout", set_seconds, AT(request_timeout_ms), 0 },
	{ "drain_timeout", set_seconds, AT(drain_timeout_ms), 0 },
	{ "listen", set_listen, 0, 0 },
	{ "fdname", set_name, AT(fdname), 0 },
	{ "limits", set_limits, 0, 0 },
	{ "spill_dir", set_spill_dir, 0, 0 },
	{ "sandbox", set_sandbox, 0, 0 },
	{ "drain_signal", set_drain_signal, 0, 0 },
	{ "allow_from", set_allow, 0, 0 },
	{ "allow_peers", set_allow, 1, 0 },
	{ "status", set_status, 0, 0 },
	{ "slow_request", set_seconds, AT(slow_request_ms), 0 },
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static int root(struct json *p)
{
	char name[JSON_ECHO_MAX + 1];
	int r = 0;

	for (int k = 1; r == 0 && json_inside(p, k, 0); k = json_next_sibling(p, k + 1)) {
		const struct field *f = NULL;

		for (size_t i = 0; i < NFIELDS && !f && json_key_name(p, k, name); i++)
			f = strcmp(fields[i].key, name) ? NULL : &fields[i];
		if (!f)
			return json_unknown_key(p, k, "", fields, sizeof *fields, NFIELDS);
		if ((r = json_check_dup(p, 0, k, "")) == 0)
			r = f->set(p, k + 1, f);
	}
	return r;
}

/* The value token of a top-level key, or -1. */
static int top_key(struct json *p, const char *key)
{
	char name[JSON_ECHO_MAX + 1];

	for (int k = 1; json_inside(p, k, 0); k = json_next_sibling(p, k + 1))
		if (json_key_name(p, k, name) && !strcmp(name, key))
			return k;
	return -1;
}

/*
 * What depends on "kind", which may come after the keys it governs.
 * "limits" are enforced by a native worker's own FastCGI code; a foreign
 * program speaks FastCGI itself, so sfcgi never sees its requests: rather
 * than accept limits that do nothing, say where they belong. "program" is
 * what sfcgi run executes; a native program reading its own --config FILE
 * (own) is that program already.
 */
static int kind_checks(struct json *p, bool own)
{
	bool foreign = p->c->kind == CONFIG_FOREIGN;
	int k = foreign ? top_key(p, "spill_dir") : -1;

	if (k > 0)
		return json_fail(p, json_t_start(p, k), "\"spill_dir\": sfcgi does not see a "
				 "foreign program's request bodies: remove it (PHP: upload_tmp_dir)");
	for (int from = 0; foreign && from < 2; from++)
		if ((k = top_key(p, from ? "allow_from" : "allow_peers")) > 0)
			return json_fail(p, json_t_start(p, k), "\"%s\": a foreign program "
					 "accepts its connections itself, so sfcgi cannot check "
					 "them: %s", from ? "allow_from" : "allow_peers",
					 from ? "use IPAddressAllow= on the socket unit (or "
						"FCGI_WEB_SERVER_ADDRS in \"environment\": php-cgi "
						"and libfcgi honour it)"
					      : "let the socket file's mode and group decide "
						"(SocketGroup=, or \"listen\": {\"group\": ...})");
	k = foreign ? top_key(p, "limits") : -1;
	if (k > 0)
		return json_fail(p, json_t_start(p, k), "\"limits\": sfcgi does not see a foreign "
				 "program's requests, so it cannot enforce them: remove \"limits\" "
				 "and set them in the web server (nginx: client_max_body_size, "
				 "fastcgi_read_timeout) and in the program (PHP: post_max_size, "
				 "max_execution_time)");
	if (!p->c->program && (foreign || !own))
		return json_fail(p, (size_t)p->tok[0].start, "missing required key \"program\" (%s)",
				 foreign ? "the FastCGI program sfcgi starts"
					 : "what sfcgi run executes; only a native program started "
					   "as PROGRAM --config FILE may leave it out");
	return 0;
}

/* ---- the interface --------------------------------------------------------- */

WORKER_TEXT void config_defaults(struct config *c)
{
	/* The CPUs this process may run on (CPUAffinity=, taskset), as nginx's
	 * worker_processes auto and Go's GOMAXPROCS count them: one system
	 * call, where sysconf() opens and parses a file in /sys each time. */
	static long cpus;
	cpu_set_t set;

	if (!cpus)
		cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
								: sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof *c);
	c->kind = CONFIG_NATIVE;
	c->workers = cpus < 1 ? 1 : cpus > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (uint32_t)cpus;
	c->request_timeout_ms = 300 * 1000;
	c->drain_timeout_ms = 30 * 1000;
	c->drain_signal = SIGTERM;
	c->listen_mode = CONFIG_LISTEN_MODE;
	c->listen_uid = (uid_t)-1;
	c->listen_gid = (gid_t)-1;
	settings_defaults(&c->limits);
	sandbox_defaults(&c->sandbox);
}

static int parse(const char *name, const char *text, size_t len, bool own, struct config *c,
		 struct config_error *err)
{
	struct config tmp;
	struct json p = { .name = name ? name : "<config>", .text = text ? text : "",
			   .len = text ? len : 0, .c = &tmp, .err = err };
	int r;

	config_defaults(&tmp);
	r = json_syntax(&p);
	if (r == 0)
		r = root(&p);
	if (r == 0)
		r = kind_checks(&p, own);
	if (r == 0 && !(tmp.path = strdup(p.name)))
		r = json_oom(&p);
	free(p.tok);
	if (r < 0) {
		config_free(&tmp);
		config_defaults(c);
		return r;
	}
	*c = tmp;
	return 0;
}

int config_parse(const char *name, const char *text, size_t len, struct config *c,
		 struct config_error *err)
{
	return parse(name, text, len, false, c, err);
}

static int load(const char *path, bool own, struct config *c, struct config_error *err)
{
	/* one byte more than allowed, so that config_parse() sees a file too large */
	char *text = malloc(CONFIG_MAX_BYTES + 1);
	int fd = text ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1, r = 0;
	size_t len = 0;
	ssize_t n = 1;

	while (fd >= 0 && n != 0 && len <= CONFIG_MAX_BYTES) {
		n = read(fd, text + len, CONFIG_MAX_BYTES + 1 - len);
		if (n < 0 && errno != EINTR)
			break;
		len += n > 0 ? (size_t)n : 0;
	}
	r = !text ? -ENOMEM : fd < 0 || n < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (r == 0)
		r = parse(path, text, len, own, c, err);
	else if (err)
		snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(-r));
	if (r < 0 && err)
		json_one_line(err->msg);
	if (r < 0)
		config_defaults(c);
	free(text);
	return r;
}

int config_load(const char *path, struct config *c, struct config_error *err)
{
	return load(path, false, c, err);
}

int config_load_own(const char *path, struct config *c, struct config_error *err)
{
	return load(path, true, c, err);
}

WORKER_TEXT static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

WORKER_TEXT void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->program);
	free_strv(c->args);
	free_strv(c->env);
	free(c->listen);
	free(c->listen_owner);
	free(c->listen_group);
	free(c->fdname);
	free(c->status);
	free(c->spill_dir);
	allow_free(&c->allow);
	sandbox_free(&c->sandbox);
	config_defaults(c);
}
