/* SPDX-License-Identifier: MIT */
/*
 * Check suite for src/config.c, the instance configuration (sfcgi.json(5)).
 *
 * Every malformed input is one row of a table with the exact message it
 * must produce, "file:line:col: message" included, run with
 * tcase_add_loop_test. Programs that do not exist or are not executable are
 * made in a temporary directory by the test itself.
 */
#include "config.h"
#include "settings.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ROW(json, msg) { json, sizeof(json) - 1, msg }

/* Keys added later ("sandbox") may follow "limits": rows check up to it. */
static const char valid_keys[] =
	"(valid: kind, program, args, environment, workers, max_requests, idle_timeout, "
	"request_timeout, drain_timeout, listen, fdname, limits";
static const char valid_limits[] =
	"(valid: max_conns, max_reqs_per_conn, max_params_bytes, max_params, max_stdin_bytes, "
	"read_ahead, request_memory, write_buffer, read_timeout, write_timeout, conn_idle_timeout, "
	"params_timeout, body_timeout, body_min_rate)";

#define PROGRAM_WHY "(what sfcgi run executes; only a native program started as PROGRAM " \
		    "--config FILE may leave it out)"
#define LONG_NAME "0123456789012345678901234567890123456789012345678901234567890123456789" \
		  "01234567890123456789"

static void assert_default_state(const struct config *c)
{
	ck_assert_ptr_null(c->path);
	ck_assert_ptr_null(c->program);
	ck_assert_ptr_null(c->args);
	ck_assert_ptr_null(c->env);
	ck_assert_ptr_null(c->listen);
	ck_assert_ptr_null(c->fdname);
	ck_assert_uint_eq(c->request_timeout_ms, 300000);
}

/* Parses text as "t.json"; 0 or the error. */
static int parse(const char *text, size_t len, struct config *c, struct config_error *err)
{
	memset(err->msg, 0, sizeof err->msg);
	return config_parse("t.json", text, len, c, err);
}

/* ---- valid files ------------------------------------------------------------ */

static const char full[] = "{\n"
			   "  \"kind\": \"native\",\n"
			   "  \"program\": \"/bin/true\",\n"
			   "  \"args\": [\"-c\", \"/etc/app.ini\", \"\"],\n"
			   "  \"environment\": {\"PHP_FCGI_CHILDREN\": \"0\", \"_x1\": \"a=b\"},\n"
			   "  \"workers\": 0,\n"
			   "  \"max_requests\": 9007199254740992,\n"
			   "  \"idle_timeout\": 0.5,\n"
			   "  \"request_timeout\": 86400,\n"
			   "  \"drain_timeout\": 1e1,\n"
			   "  \"listen\": {\"path\": \"/run/app.sock\", \"mode\": \"0600\", "
			   "\"owner\": \"root\", \"group\": \"root\"},\n"
			   "  \"fdname\": \"fastcgi\",\n"
			   "  \"limits\": {\n"
			   "    \"max_conns\": 16,\n"
			   "    \"read_timeout\": 0.25,\n"
			   "    \"max_stdin_bytes\": 0,\n"
			   "    \"conn_idle_timeout\": 86400\n"
			   "  }\n"
			   "}\n";

START_TEST(valid_full)
{
	struct config c;
	struct config_error err;

	ck_assert_int_eq(parse(full, strlen(full), &c, &err), 0);
	ck_assert_str_eq(c.path, "t.json");
	ck_assert_int_eq(c.kind, CONFIG_NATIVE);
	ck_assert_str_eq(c.program, "/bin/true");
	ck_assert_str_eq(c.args[0], "-c");
	ck_assert_str_eq(c.args[1], "/etc/app.ini");
	ck_assert_str_eq(c.args[2], "");
	ck_assert_ptr_null(c.args[3]);
	ck_assert_str_eq(c.env[0], "PHP_FCGI_CHILDREN=0");
	ck_assert_str_eq(c.env[1], "_x1=a=b");
	ck_assert_ptr_null(c.env[2]);
	ck_assert_uint_eq(c.workers, 0);
	ck_assert_uint_eq(c.max_requests, 9007199254740992ull);
	ck_assert_uint_eq(c.idle_timeout_ms, 500);
	ck_assert_uint_eq(c.request_timeout_ms, 86400000);
	ck_assert_uint_eq(c.drain_timeout_ms, 10000);
	ck_assert_str_eq(c.listen, "/run/app.sock");
	ck_assert_int_eq(c.listen_mode, 0600);
	ck_assert_str_eq(c.listen_owner, "root");
	ck_assert_str_eq(c.listen_group, "root");
	ck_assert_uint_eq(c.listen_uid, 0);
	ck_assert_uint_eq(c.listen_gid, 0);
	ck_assert_str_eq(c.fdname, "fastcgi");
	ck_assert_uint_eq(c.limits.max_conns, 16);
	ck_assert_uint_eq(c.limits.read_timeout_ms, 250);
	ck_assert_uint_eq(c.limits.max_stdin_bytes, 0);
	ck_assert_uint_eq(c.limits.conn_idle_timeout_ms, 86400000);
	ck_assert_uint_eq(c.limits.max_params, 512); /* not given: default */
	config_free(&c);
	assert_default_state(&c);
	config_free(&c); /* idempotent */
	config_free(NULL);
}
END_TEST

START_TEST(valid_defaults)
{
	static const char text[] = " \t\r\n{\"program\":\"/bin/true\"}\n\n";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct config c, d;
	struct config_error err;
	struct settings s;

	ck_assert_int_eq(parse(text, strlen(text), &c, &err), 0);
	ck_assert_int_eq(c.kind, CONFIG_NATIVE);
	ck_assert_ptr_null(c.args);
	ck_assert_ptr_null(c.env);
	ck_assert_uint_eq(c.workers, cpus < 1 ? 1 : cpus > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS
									     : cpus);
	ck_assert_uint_eq(c.max_requests, 0);
	ck_assert_uint_eq(c.idle_timeout_ms, 0);
	ck_assert_uint_eq(c.request_timeout_ms, 300000);
	ck_assert_uint_eq(c.drain_timeout_ms, 30000);
	ck_assert_ptr_null(c.listen);
	ck_assert_ptr_null(c.fdname);
	settings_defaults(&s);
	ck_assert_mem_eq(&c.limits, &s, sizeof s);
	config_defaults(&d);
	ck_assert_uint_eq(d.workers, c.workers);
	ck_assert_ptr_null(d.program);
	config_free(&c);
}
END_TEST

/* Valid edge values, each alone with "program". */
static const struct {
	const char *json;
	size_t off, width; /* member of struct config checked */
	uint64_t want;
} edges[] = {
#define EDGE(json, member, v) \
	{ json, offsetof(struct config, member), sizeof(((struct config *)0)->member), v }
	EDGE("\"workers\": 1024", workers, 1024),
	EDGE("\"workers\": 1.0", workers, 1),
	EDGE("\"workers\": 2e2", workers, 200),
	EDGE("\"workers\": -0", workers, 0),
	EDGE("\"max_requests\": 0", max_requests, 0),
	EDGE("\"idle_timeout\": 0.001", idle_timeout_ms, 1),
	EDGE("\"idle_timeout\": 1.5", idle_timeout_ms, 1500),
	EDGE("\"idle_timeout\": 86400", idle_timeout_ms, 86400000),
	EDGE("\"request_timeout\": 0", request_timeout_ms, 0),
	EDGE("\"drain_timeout\": 2.5E-1", drain_timeout_ms, 250),
	EDGE("\"limits\": {\"write_timeout\": 0.001}", limits.write_timeout_ms, 1),
	EDGE("\"limits\": {\"max_reqs_per_conn\": 1024}", limits.max_reqs_per_conn, 1024),
	EDGE("\"limits\": {}", limits.max_conns, 1024),
	EDGE("\"kind\": \"native\"", kind, CONFIG_NATIVE),
	/* read from the digits, not rounded through a double */
	EDGE("\"max_requests\": 90071992547409.92e2", max_requests, 9007199254740992ull),
	EDGE("\"workers\": 0.5e1", workers, 5),
	EDGE("\"workers\": 1000e-3", workers, 1),
	EDGE("\"workers\": 0e999999999999", workers, 0),
	EDGE("\"idle_timeout\": 1e-3", idle_timeout_ms, 1),
	EDGE("\"drain_timeout\": 0.1230", drain_timeout_ms, 123),
	EDGE("\"limits\": {\"max_stdin_bytes\": 9223372036854775807}", limits.max_stdin_bytes,
	     9223372036854775807ull),
	EDGE("\"limits\": {\"read_timeout\": 86399.999}", limits.read_timeout_ms, 86399999),
	EDGE("\"sandbox\": {\"rlimits\": {\"nofile\": 9223372036854775807}}", sandbox.rlimits[0],
	     9223372036854775807ull),
	EDGE("\"sandbox\": {\"rlimits\": {\"core\": 0}}", sandbox.rlimits[2], 0),
#undef EDGE
};

START_TEST(valid_edges)
{
	struct config c;
	struct config_error err;
	char text[256];
	uint64_t got = 0;

	snprintf(text, sizeof text, "{\"program\": \"/bin/true\", %s}", edges[_i].json);
	ck_assert_msg(parse(text, strlen(text), &c, &err) == 0, "%s: %s", text, err.msg);
	if (edges[_i].width == sizeof(uint32_t)) {
		uint32_t v;

		memcpy(&v, (char *)&c + edges[_i].off, sizeof v);
		got = v;
	} else {
		memcpy(&got, (char *)&c + edges[_i].off, sizeof got);
	}
	ck_assert_uint_eq(got, edges[_i].want);
	config_free(&c);
}
END_TEST

/* ---- malformed files: one row per error --------------------------------------- */

static const struct {
	const char *json;
	size_t len;
	const char *msg;
} bad[] = {
	/* the file as a whole */
	ROW("", "t.json:1:1: empty file, expected a JSON object"),
	ROW("  \n", "t.json:2:1: expected a JSON object"),
	ROW("[]", "t.json:1:1: expected a JSON object"),
	ROW("\n\"x\"", "t.json:2:1: expected a JSON object"),
	ROW("{\"program\": \"/bin/true\"} x", "t.json:1:26: trailing bytes after the object"),
	ROW("{\"program\": \"/bin/true\"}\n{}", "t.json:2:1: trailing bytes after the object"),
	ROW("{\"program\": \"/bin/true\"}}", "t.json:1:25: trailing bytes after the object"),
	ROW("{\"program\": \"/bin/true\"} 1", "t.json:1:26: trailing bytes after the object"),
	ROW("{\"a\": \"x\0\"}", "t.json:1:9: NUL byte in file"),
	ROW("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	    "t.json:1:37: nested deeper than 32 levels"),
	/* jsmn's refusals (JSMN_ERROR_INVAL, JSMN_ERROR_PART) */
	ROW("{\"program\": \"/bin/true\"",
	    "t.json:1:24: unexpected end of file: the '{' at 1:1 is not closed"),
	ROW("{\"args\": [\"a\",\n  [\"b\"\n",
	    "t.json:3:1: unexpected end of file: the '[' at 2:3 is not closed"),
	ROW("{\"program\": \"/bin/tr", "t.json:1:13: unterminated string"),
	ROW("{\"a\": [}", "t.json:1:8: unexpected '}': the '[' at 1:7 is not closed"),
	ROW("{\"a\": 1]", "t.json:1:8: unexpected ']': the '{' at 1:1 is not closed"),
	ROW("{\"args\": [\"a\",\n  \"b\"\n}",
	    "t.json:3:1: unexpected '}': the '[' at 1:10 is not closed"),
	ROW("{\"a\": x}", "t.json:1:7: invalid literal 'x'"),
	ROW("{\"a\": True}", "t.json:1:7: invalid literal 'True'"),
	ROW("{\"a\": None}", "t.json:1:7: invalid literal 'None'"),
	ROW("{\"a\": NaN}", "t.json:1:7: invalid literal 'NaN'"),
	ROW("{\"a\": +1}", "t.json:1:7: invalid literal '+1'"),
	ROW("{\"a\": [1, Infinity]}", "t.json:1:11: invalid literal 'Infinity'"),
	ROW("{\"a\": [1 x]}", "t.json:1:10: expected ',' or ']'"),
	ROW("{\"a\": [1] x}", "t.json:1:11: expected ',' or '}'"),
	ROW("{\"a\": 1 x}", "t.json:1:9: expected ',' or '}'"),
	ROW("{program: 1}", "t.json:1:2: expected a string key"),
	ROW("{\"a\": 1, b: 2}", "t.json:1:10: expected a string key"),
	ROW("{\"a\": 'x'}", "t.json:1:7: single quote: JSON strings and keys take double quotes"),
	ROW("{'a': 1}", "t.json:1:2: single quote: JSON strings and keys take double quotes"),
	ROW("{\"a\": 1, // note\n\"b\": 2}", "t.json:1:10: comments are not allowed in JSON"),
	ROW("{\"a\": 1 /* note */}", "t.json:1:9: comments are not allowed in JSON"),
	ROW("{\n  # note\n}", "t.json:2:3: comments are not allowed in JSON"),
	ROW("// note\n{}", "t.json:1:1: comments are not allowed in JSON"),
	ROW("#!/bin/sh\n", "t.json:1:1: expected a JSON object"),
	ROW("\xef\xbb\xbf{}", "t.json:1:1: byte order mark: save the file as UTF-8 without one"),
	ROW("{\"a\": 1 / 2}", "t.json:1:9: unexpected '/'"),
	ROW("{1: 2}", "t.json:1:2: expected a string key"),
	ROW("{\"a\": 1, 2}", "t.json:1:10: expected a string key"),
	ROW("{\"a\" 1}", "t.json:1:6: expected ':'"),
	ROW("{\"a\" {}}", "t.json:1:6: expected ':'"),
	ROW("{\"a\": 1 2}", "t.json:1:9: expected ',' or '}'"),
	ROW("{\"a\": 1\x01}", "t.json:1:8: unexpected byte 0x01"),
	ROW("{\"a\": \"\\x\"}", "t.json:1:8: invalid escape '\\x'"),
	ROW("{\"a\": \"\\\"\\q\"}", "t.json:1:10: invalid escape '\\q'"),
	ROW("{\"a\": \"\\u12g4\"}", "t.json:1:8: invalid \\u escape"),
	ROW("{\"a\": \"\\\xff\"}", "t.json:1:8: invalid escape: '\\' before byte 0xff"),
	ROW("{\"a\": \"\\\t\"}", "t.json:1:8: invalid escape: '\\' before byte 0x09"),
	ROW("{\"a\": \"\\\\x\\q\"}", "t.json:1:11: invalid escape '\\q'"), /* was a hang */
	/* what jsmn lets through */
	ROW("{\"program\": \"/bin/true\",}", "t.json:1:24: trailing comma before '}'"),
	ROW("{\"program\": \"/bin/true\",\n}", "t.json:1:24: trailing comma before '}'"),
	ROW("{\"a\": 1,, \"b\": 2}", "t.json:1:9: unexpected ','"),
	ROW("{,\"program\": \"/bin/true\"}", "t.json:1:2: unexpected ','"),
	ROW("{\"program\" \"/bin/true\"}", "t.json:1:12: expected ':'"),
	ROW("{\"program\"}", "t.json:1:11: expected ':'"),
	ROW("{\"program\": }", "t.json:1:13: expected a value"),
	ROW("{\"program\":: \"/bin/true\"}", "t.json:1:12: unexpected ':'"),
	ROW("{\"a\": 1 \"b\": 2}", "t.json:1:9: expected ',' or '}'"),
	ROW("{\"args\": [\"a\" \"b\"]}", "t.json:1:15: expected ',' or ']'"),
	ROW("{\"args\": [\"a\",]}", "t.json:1:14: trailing comma before ']'"),
	ROW("{\"args\": [,\"a\"]}", "t.json:1:11: unexpected ','"),
	ROW("{\"args\": [\"a\": 1]}", "t.json:1:14: expected ',' or ']'"),
	ROW("{\"workers\": tru}", "t.json:1:13: invalid literal 'tru'"),
	ROW("{\"workers\": nul}", "t.json:1:13: invalid literal 'nul'"),
	ROW("{\"workers\": 01}", "t.json:1:13: invalid literal '01'"),
	ROW("{\"workers\": 1.}", "t.json:1:13: invalid literal '1.'"),
	ROW("{\"workers\": .5}", "t.json:1:13: invalid literal '.5'"),
	ROW("{\"workers\": -}", "t.json:1:13: invalid literal '-'"),
	ROW("{\"workers\": 1e}", "t.json:1:13: invalid literal '1e'"),
	ROW("{\"workers\": 1:2}", "t.json:1:13: invalid literal '1:2'"),
	ROW("{\"a\": \"x\ty\"}", "t.json:1:9: control character in string (write it as \\u0009)"),
	ROW("{\"a\": \"\xff\"}", "t.json:1:8: invalid UTF-8 in string"),
	ROW("{\"a\": \"\xc0\xaf\"}", "t.json:1:8: invalid UTF-8 in string"),
	ROW("{\"a\": \"\xed\xa0\x80\"}", "t.json:1:8: invalid UTF-8 in string"),
	ROW("{\"a\": \"\xe2\x82\"}", "t.json:1:8: invalid UTF-8 in string"),
	ROW("{\"a\": \"\\u0000\"}", "t.json:1:8: \\u0000 is not allowed in strings"),
	ROW("{\"a\": \"\\ud800\"}", "t.json:1:8: unpaired surrogate \\ud800"),
	ROW("{\"a\": \"\\ud800\\u0041\"}", "t.json:1:8: unpaired surrogate \\ud800"),
	ROW("{\"a\": \"x\\uDC00\"}", "t.json:1:9: unpaired surrogate \\uDC00"),
	/* keys */
	ROW("{\"worker\": 2}", "t.json:1:2: unknown key \"worker\" %s"),
	ROW("{\n  \"program\": \"/bin/true\",\n  \"Workers\": 1\n}",
	    "t.json:3:3: unknown key \"Workers\" %s"),
	ROW("{\"program\": \"/bin/true\", \"limits\": {\"max_con\": 1}}",
	    "t.json:1:37: \"limits\": unknown key \"max_con\" %L"),
	ROW("{\"workers\": 1, \"program\": \"/bin/true\", \"workers\": 2}",
	    "t.json:1:40: duplicate key \"workers\" (first at 1:2)"),
	ROW("{\"program\": \"/bin/true\", \"\\u0070rogram\": \"/bin/true\"}",
	    "t.json:1:26: duplicate key \"\\u0070rogram\" (first at 1:2)"),
	ROW("{\"program\": \"/bin/true\", \"limits\": {\"max_conns\": 1,\n \"max_conns\": 2}}",
	    "t.json:2:2: \"limits\": duplicate key \"max_conns\" (first at 1:37)"),
	ROW("{\"program\": \"/bin/true\", \"environment\": {\"A\": \"\", \"B\": \"\", \"A\": \"\"}}",
	    "t.json:1:60: \"environment\": duplicate key \"A\" (first at 1:42)"),
	ROW("{\"program\": \"/bin/true\", \"sandbox\": {\"allow\": [], \"syscall\": []}}",
	    "t.json:1:51: \"sandbox\": unknown key \"syscall\" (valid: user, group, read_only, "
	    "read_write, landlock, seccomp, on_violation, allow, syscalls, rlimits, profile)"),
	ROW("{\"program\": \"/bin/true\", \"sandbox\": {\"allow\": [],\n \"allow\": []}}",
	    "t.json:2:2: \"sandbox\": duplicate key \"allow\" (first at 1:38)"),
	ROW("{\"sandbox\": {\"rlimits\": {\"core\": 0, \"core\": 1}}}",
	    "t.json:1:37: \"sandbox.rlimits\": duplicate key \"core\" (first at 1:26)"),
	ROW("{}", "t.json:1:1: missing required key \"program\" " PROGRAM_WHY),
	ROW("\n  {\"workers\": 2}", "t.json:2:3: missing required key \"program\" " PROGRAM_WHY),
	ROW("{\"kind\": \"foreign\"}",
	    "t.json:1:1: missing required key \"program\" (the FastCGI program sfcgi starts)"),
	/* a foreign program's requests never pass through sfcgi's FastCGI code */
	ROW("{\"limits\": {\"max_stdin_bytes\": 1000}, \"kind\": \"foreign\"}",
	    "t.json:1:2: \"limits\": sfcgi does not see a foreign program's requests, so it "
	    "cannot enforce them: remove \"limits\" and set them in the web server (nginx: "
	    "client_max_body_size, fastcgi_read_timeout) and in the program (PHP: post_max_size, "
	    "max_execution_time)"),
	/* "listen" */
	ROW("{\"listen\": \"app.sock\"}",
	    "t.json:1:12: \"listen\": \"app.sock\" is none of: an absolute path "
	    "(/run/sfcgi/NAME.sock), @abstract, HOST:PORT, [IPv6]:PORT"),
	ROW("{\"listen\": \"127.0.0.1:99999\"}",
	    "t.json:1:12: \"listen\": \"127.0.0.1:99999\" has no port 1..65535 after the last ':'"),
	ROW("{\"listen\": \"[::1]9000\"}",
	    "t.json:1:12: \"listen\": \"[::1]9000\" is none of: an absolute path "
	    "(/run/sfcgi/NAME.sock), @abstract, HOST:PORT, [IPv6]:PORT"),
	ROW("{\"listen\": \"/dev/null\"}",
	    "t.json:1:12: \"listen\": \"/dev/null\" exists and is not a socket (sfcgi would "
	    "refuse to replace it)"),
	ROW("{\"listen\": \"/run/" LONG_NAME ".sock\"}",
	    "t.json:1:12: \"listen\": \"/run/" LONG_NAME ".sock\" is longer than 91 bytes (a unix "
	    "socket's limit)"),
	ROW("{\"listen\": {\"mode\": \"0660\"}}",
	    "t.json:1:12: \"listen\": missing required key \"path\""),
	ROW("{\"listen\": {\"path\": \"/run/a.sock\", \"mode\": 660}}",
	    "t.json:1:44: \"listen.mode\": expected a string such as \"0660\" (JSON has no octal "
	    "numbers), got a number"),
	ROW("{\"listen\": {\"path\": \"/run/a.sock\", \"mode\": \"0868\"}}",
	    "t.json:1:44: \"listen.mode\": expected an octal mode from \"0000\" to \"0777\" such "
	    "as \"0660\", got \"0868\""),
	ROW("{\"listen\": {\"path\": \"/run/a.sock\", \"mode\": \"01777\"}}",
	    "t.json:1:44: \"listen.mode\": expected an octal mode from \"0000\" to \"0777\" such "
	    "as \"0660\", got \"01777\""),
	ROW("{\"listen\": {\"path\": \"/run/a.sock\", \"group\": \"no-such-group-x\"}}",
	    "t.json:1:45: \"listen.group\": no group \"no-such-group-x\""),
	ROW("{\"listen\": {\"path\": \"/run/a.sock\", \"owner\": \"no-such-user-x\"}}",
	    "t.json:1:45: \"listen.owner\": no user \"no-such-user-x\""),
	ROW("{\"listen\": {\"group\": \"root\", \"path\": \"127.0.0.1:9000\"}}",
	    "t.json:1:13: \"listen\": mode, owner and group are a socket file's; a TCP address has "
	    "none (use them with a /path)"),
	ROW("{\"listen\": {\"path\": \"@app\", \"mode\": \"0600\"}}",
	    "t.json:1:29: \"listen\": mode, owner and group are a socket file's; an abstract socket "
	    "has none (use them with a /path)"),
	ROW("{\"listen\": {\"path\": \"/run/a.sock\", \"user\": \"root\"}}",
	    "t.json:1:36: \"listen\": unknown key \"user\" (valid: path, mode, owner, group)"),
	ROW("{\"listen\": {\"path\": \"/run/a.sock\", \"path\": \"/run/b.sock\"}}",
	    "t.json:1:36: \"listen\": duplicate key \"path\" (first at 1:13)"),
	/* types */
	ROW("{\n  \"program\": \"/bin/true\",\n  \"workers\": \"4\"\n}",
	    "t.json:3:14: \"workers\": expected a number, got a string"),
	ROW("{\"workers\": true}", "t.json:1:13: \"workers\": expected a number, got a boolean"),
	ROW("{\"workers\": null}", "t.json:1:13: \"workers\": expected a number, got null"),
	ROW("{\"idle_timeout\": {}}",
	    "t.json:1:18: \"idle_timeout\": expected a number, got an object"),
	ROW("{\"program\": [\"/bin/true\"]}",
	    "t.json:1:13: \"program\": expected a string, got an array"),
	ROW("{\"kind\": 1}", "t.json:1:10: \"kind\": expected a string, got a number"),
	ROW("{\"args\": \"-x\"}", "t.json:1:10: \"args\": expected an array, got a string"),
	ROW("{\"args\": [\"-x\", 2]}", "t.json:1:17: \"args[1]\": expected a string, got a number"),
	ROW("{\"environment\": [\"A=1\"]}",
	    "t.json:1:17: \"environment\": expected an object, got an array"),
	ROW("{\"environment\": {\"A\": 1}}",
	    "t.json:1:23: \"environment.A\": expected a string, got a number"),
	ROW("{\"listen\": false}",
	    "t.json:1:12: \"listen\": expected a string or an object, got a boolean"),
	ROW("{\"fdname\": 1}", "t.json:1:12: \"fdname\": expected a string, got a number"),
	ROW("{\"limits\": []}", "t.json:1:12: \"limits\": expected an object, got an array"),
	ROW("{\"sandbox\": \"off\"}",
	    "t.json:1:13: \"sandbox\": expected an object or a boolean, got a string"),
	ROW("{\"sandbox\": null}",
	    "t.json:1:13: \"sandbox\": expected an object or a boolean, got null"),
	ROW("{\"sandbox\": {\"syscalls\": [\"flock\", \"nosuch\"]}}",
	    "t.json:1:36: \"sandbox.syscalls[1]\": \"nosuch\" is not a system call of this "
	    "architecture"),
#if defined(__x86_64__)
	ROW("{\"sandbox\": {\"syscalls\": [\"socketcall\"]}}", /* i386's, not x86_64's */
	    "t.json:1:27: \"sandbox.syscalls[0]\": \"socketcall\" is not a system call of this "
	    "architecture"),
#endif
	ROW("{\"sandbox\": {\"seccomp\": \"off\",\n  \"group\": \"root\"}}",
	    "t.json:2:3: \"sandbox\": \"group\" needs \"user\" too"),
	ROW("{\"limits\": {\"max_conns\": \"8\"}}",
	    "t.json:1:26: \"limits.max_conns\": expected a number, got a string"),
	/* values */
	ROW("{\"kind\": \"Native\"}",
	    "t.json:1:10: \"kind\": expected \"native\" or \"foreign\", got \"Native\""),
	ROW("{\"workers\": 1025}", "t.json:1:13: \"workers\": 1025 is out of range (0..1024)"),
	ROW("{\"workers\": -1}", "t.json:1:13: \"workers\": -1 is out of range (0..1024)"),
	ROW("{\"workers\": 1e999}", "t.json:1:13: \"workers\": 1e999 is out of range (0..1024)"),
	ROW("{\"workers\": 1.5}", "t.json:1:13: \"workers\": expected an integer, got 1.5"),
	ROW("{\"max_requests\": 9007199254740993}",
	    "t.json:1:18: \"max_requests\": 9007199254740993 is out of range "
	    "(0..9007199254740992)"),
	ROW("{\"max_requests\": 18446744073709551616}",
	    "t.json:1:18: \"max_requests\": 18446744073709551616 is out of range "
	    "(0..9007199254740992)"),
	ROW("{\"idle_timeout\": 86400.001}",
	    "t.json:1:18: \"idle_timeout\": 86400.001 is out of range (0..86400 seconds)"),
	ROW("{\"request_timeout\": -1}",
	    "t.json:1:21: \"request_timeout\": -1 is out of range (0..86400 seconds)"),
	ROW("{\"drain_timeout\": 0.0005}",
	    "t.json:1:19: \"drain_timeout\": 0.0005 is not a whole number of milliseconds"),
	ROW("{\"limits\": {\"max_conns\": 0}}",
	    "t.json:1:26: \"limits.max_conns\": 0 is out of range (1..65536)"),
	ROW("{\"limits\": {\"read_timeout\": 0}}",
	    "t.json:1:29: \"limits.read_timeout\": 0 is out of range (0.001..86400 seconds)"),
	ROW("{\"limits\": {\"max_params\": 2.5}}",
	    "t.json:1:27: \"limits.max_params\": must be a non-negative integer, got 2.5"),
	/* numbers a double would round into range or onto a whole number */
	ROW("{\"workers\": 1e-400}", "t.json:1:13: \"workers\": expected an integer, got 1e-400"),
	ROW("{\"workers\": 1.0000000000000001}",
	    "t.json:1:13: \"workers\": expected an integer, got 1.0000000000000001"),
	ROW("{\"max_requests\": 9007199254740993.0}",
	    "t.json:1:18: \"max_requests\": 9007199254740993.0 is out of range "
	    "(0..9007199254740992)"),
	ROW("{\"request_timeout\": 1e-10}",
	    "t.json:1:21: \"request_timeout\": 1e-10 is not a whole number of milliseconds"),
	ROW("{\"drain_timeout\": 0.0010000001}",
	    "t.json:1:19: \"drain_timeout\": 0.0010000001 is not a whole number of milliseconds"),
	ROW("{\"idle_timeout\": 86400.0000001}",
	    "t.json:1:18: \"idle_timeout\": 86400.0000001 is out of range (0..86400 seconds)"),
	ROW("{\"limits\": {\"read_timeout\": 0.0010000001}}",
	    "t.json:1:29: \"limits.read_timeout\": must be a non-negative number of seconds, to the "
	    "millisecond, got 0.0010000001"),
	ROW("{\"limits\": {\"max_stdin_bytes\": 9223372036854775808}}",
	    "t.json:1:32: \"limits.max_stdin_bytes\": 9223372036854775808 is out of range "
	    "(0..9223372036854775807)"),
	ROW("{\"limits\": {\"max_conns\": -0.5}}",
	    "t.json:1:26: \"limits.max_conns\": must be a non-negative integer, got -0.5"),
	ROW("{\"sandbox\": {\"rlimits\": {\"nofile\": 9223372036854775808.0}}}",
	    "t.json:1:36: \"sandbox.rlimits.nofile\": 9223372036854775808.0 is out of range "
	    "(0..9223372036854775807)"),
	ROW("{\"sandbox\": {\"rlimits\": {\"as\": 9.3e18}}}",
	    "t.json:1:32: \"sandbox.rlimits.as\": 9.3e18 is out of range (0..9223372036854775807)"),
	ROW("{\"program\": \"bin/true\"}",
	    "t.json:1:13: \"program\": \"bin/true\" is not an absolute path"),
	ROW("{\"program\": \"\"}", "t.json:1:13: \"program\": \"\" is not an absolute path"),
	ROW("{\"program\": \"/nonexistent/sfcgi-test\"}",
	    "t.json:1:13: \"program\": \"/nonexistent/sfcgi-test\" does not exist"),
	ROW("{\"program\": \"/\"}", "t.json:1:13: \"program\": \"/\" is not a regular file"),
	ROW("{\"sandbox\": {\"read_only\": [\"/nonexistent\"]}}",
	    "t.json:1:28: \"sandbox.read_only[0]\": \"/nonexistent\" does not exist"),
	ROW("{\"environment\": {\"1A\": \"\"}}",
	    "t.json:1:18: \"environment\": \"1A\" is not a valid variable name"),
	ROW("{\"environment\": {\"A-B\": \"\"}}",
	    "t.json:1:18: \"environment\": \"A-B\" is not a valid variable name"),
	ROW("{\"environment\": {\"\": \"\"}}",
	    "t.json:1:18: \"environment\": \"\" is not a valid variable name"),
	ROW("{\"listen\": \"\"}", "t.json:1:12: \"listen\": must not be empty"),
	ROW("{\"spill_dir\": \"tmp\"}", "t.json:1:15: \"spill_dir\": \"tmp\" is not an absolute path"),
	ROW("{\"spill_dir\": \"/nonexistent/spill\"}",
	    "t.json:1:15: \"spill_dir\": \"/nonexistent/spill\" does not exist"),
	ROW("{\"spill_dir\": \"/etc/passwd\"}",
	    "t.json:1:15: \"spill_dir\": \"/etc/passwd\" is not a directory"),
	ROW("{\"kind\": \"foreign\", \"program\": \"/bin/true\", \"spill_dir\": \"/tmp\"}",
	    "t.json:1:45: \"spill_dir\": sfcgi does not see a foreign program's request bodies: "
	    "remove it (PHP: upload_tmp_dir)"),
	ROW("{\"fdname\": \"a:b\"}",
	    "t.json:1:12: \"fdname\": must be 1 to 255 printable ASCII characters other than ':'"),
	ROW("{\"fdname\": \"\"}",
	    "t.json:1:12: \"fdname\": must be 1 to 255 printable ASCII characters other than ':'"),
	ROW("{\"fdname\": \"a\\nb\"}",
	    "t.json:1:12: \"fdname\": must be 1 to 255 printable ASCII characters other than ':'"),
};

/*
 * "%s" in a row's message stands for the list of valid keys: the message
 * must hold it up to "limits", then ")" or more keys. "%L" is the limits.
 */
static void assert_msg(const char *got, const char *msg)
{
	const char *s = strstr(msg, "%s"), *l = strstr(msg, "%L");
	char want[600];

	if (s) {
		snprintf(want, sizeof want, "%.*s%s", (int)(s - msg), msg, valid_keys);
		ck_assert_msg(!strncmp(got, want, strlen(want)), "'%s' is not '%s...'", got, want);
		ck_assert_msg(!strcmp(got + strlen(want), ")") ||
				      (!strncmp(got + strlen(want), ", ", 2) &&
				       got[strlen(got) - 1] == ')' && !strchr(got + strlen(want), '(')),
			      "'%s': the list does not end well", got);
		return;
	}
	snprintf(want, sizeof want, "%.*s%s", (int)(l ? l - msg : (long)strlen(msg)), msg,
		 l ? valid_limits : "");
	ck_assert_str_eq(got, want);
}

START_TEST(malformed)
{
	struct config c;
	struct config_error err;

	ck_assert_int_eq(parse(bad[_i].json, bad[_i].len, &c, &err), -EINVAL);
	assert_msg(err.msg, bad[_i].msg);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	assert_default_state(&c);
	config_free(&c);
}
END_TEST

START_TEST(too_large)
{
	size_t n = CONFIG_MAX_BYTES + 1;
	char *text = malloc(n);
	struct config c;
	struct config_error err;

	ck_assert_ptr_nonnull(text);
	memset(text, ' ', n);
	text[0] = '{';
	text[n - 2] = '}';
	ck_assert_int_eq(parse(text, n, &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "t.json:1:1048577: file is larger than 1048576 bytes");
	ck_assert_int_eq(parse(text, n - 1, &c, &err), -EINVAL); /* the limit itself is fine */
	ck_assert_str_eq(err.msg, "t.json:1:1: missing required key \"program\" " PROGRAM_WHY);
	free(text);
}
END_TEST

START_TEST(long_values)
{
	char text[1024], name[300], want[128], *long_path;
	const char *tail = " is too long a path";
	struct config c;
	struct config_error err;

	memset(name, 'x', sizeof name);
	snprintf(text, sizeof text, "{\"program\": \"/bin/true\", \"fdname\": \"%.255s\"}", name);
	ck_assert_int_eq(parse(text, strlen(text), &c, &err), 0);
	ck_assert_uint_eq(strlen(c.fdname), 255);
	config_free(&c);
	snprintf(text, sizeof text, "{\"fdname\": \"%.256s\"}", name);
	ck_assert_int_eq(parse(text, strlen(text), &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg,
			 "t.json:1:12: \"fdname\": must be 1 to 255 printable ASCII characters "
			 "other than ':'");
	/* an unknown key is quoted, at most 64 bytes of it */
	snprintf(text, sizeof text, "{\"%.100s\": 1}", name);
	ck_assert_int_eq(parse(text, strlen(text), &c, &err), -EINVAL);
	snprintf(want, sizeof want, "t.json:1:2: unknown key \"%.63s (valid: ", name);
	ck_assert_int_eq(strncmp(err.msg, want, strlen(want)), 0);
	/* a path longer than PATH_MAX: said so, not strerror() after the quote */
	long_path = malloc(5000);
	ck_assert_ptr_nonnull(long_path);
	memset(long_path, 0, 5000);
	strcpy(long_path, "{\"program\": \"/");
	memset(long_path + strlen(long_path), 'x', 4500);
	strcat(long_path, "\"}");
	ck_assert_int_eq(parse(long_path, strlen(long_path), &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg + strlen(err.msg) - strlen(tail), tail);
	free(long_path);
}
END_TEST

/* ---- strings -------------------------------------------------------------------- */

static const struct {
	const char *json, *want;
} escapes[] = {
	{ "\"\"", "" },
	{ "\"plain\"", "plain" },
	{ "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t" },
	{ "\"\\u0041\\u007f\"", "A\x7f" },
	{ "\"\\u00e9\\u00E9\"", "\xc3\xa9\xc3\xa9" },
	{ "\"\\u0800\\u20ac\\uffff\"", "\xe0\xa0\x80\xe2\x82\xac\xef\xbf\xbf" },
	{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80" },
	{ "\"\\uD800\\uDC00\\uDBFF\\uDFFF\"", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf" },
	{ "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xf0\x9f\x98\x80" },
	{ "\"a\\\\u0041\"", "a\\u0041" },
	{ "\"\x7f\"", "\x7f" },
};

START_TEST(string_escapes)
{
	struct config c;
	struct config_error err;
	char text[256];

	snprintf(text, sizeof text, "{\"program\": \"/bin/true\", \"args\": [%s]}",
		 escapes[_i].json);
	ck_assert_msg(parse(text, strlen(text), &c, &err) == 0, "%s: %s", text, err.msg);
	ck_assert_str_eq(c.args[0], escapes[_i].want);
	config_free(&c);
}
END_TEST

/* ---- config_print ----------------------------------------------------------------- */

static char *print(const struct config *c)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	ck_assert_ptr_nonnull(f);
	config_print(c, f);
	fclose(f);
	return out;
}

START_TEST(print_golden)
{
	static const char text[] = "{\"program\": \"/bin/true\", \"workers\": 3, "
				   "\"args\": [\"a\\\"b\", \"\\u0001\\n\"], "
				   "\"environment\": {\"K\": \"v=1\"}, \"fdname\": \"web\", "
				   "\"limits\": {\"write_timeout\": 1.25}, \"spill_dir\": \"/tmp\"}";
	static const char want[] = "{\n"
				   "  \"kind\": \"native\",\n"
				   "  \"program\": \"/bin/true\",\n"
				   "  \"args\": [\n"
				   "    \"a\\\"b\",\n"
				   "    \"\\u0001\\n\"\n"
				   "  ],\n"
				   "  \"environment\": {\n"
				   "    \"K\": \"v=1\"\n"
				   "  },\n"
				   "  \"workers\": 3,\n"
				   "  \"max_requests\": 0,\n"
				   "  \"idle_timeout\": 0,\n"
				   "  \"request_timeout\": 300,\n"
				   "  \"drain_timeout\": 30,\n"
				   "  \"fdname\": \"web\",\n"
				   "  \"limits\": {\n"
				   "    \"max_conns\": 1024,\n"
				   "    \"max_reqs_per_conn\": 1,\n"
				   "    \"max_params_bytes\": 65536,\n"
				   "    \"max_params\": 512,\n"
				   "    \"max_stdin_bytes\": 1073741824,\n"
				   "    \"read_ahead\": 65536,\n"
				   "    \"request_memory\": 1048576,\n"
				   "    \"write_buffer\": 262144,\n"
				   "    \"read_timeout\": 30,\n"
				   "    \"write_timeout\": 1.25,\n"
				   "    \"conn_idle_timeout\": 300,\n"
				   "    \"params_timeout\": 10,\n"
				   "    \"body_timeout\": 20,\n"
				   "    \"body_min_rate\": 500\n"
				   "  },\n"
				   "  \"spill_dir\": \"/tmp\""; /* then "\n}\n", or keys added later */
	struct config c;
	struct config_error err;
	char *out;

	ck_assert_int_eq(parse(text, strlen(text), &c, &err), 0);
	out = print(&c);
	ck_assert_msg(!strncmp(out, want, strlen(want)), "got:\n%s", out);
	ck_assert_msg(out[strlen(want)] == '\n' || out[strlen(want)] == ',', "got:\n%s", out);
	ck_assert_str_eq(out + strlen(out) - 3, "\n}\n");
	free(out);
	config_free(&c);
}
END_TEST

START_TEST(print_roundtrip)
{
	struct config a, b;
	struct config_error err;
	char *one, *two;

	ck_assert_int_eq(parse(full, strlen(full), &a, &err), 0);
	one = print(&a);
	ck_assert_msg(parse(one, strlen(one), &b, &err) == 0, "%s\n%s", one, err.msg);
	two = print(&b);
	ck_assert_str_eq(one, two);
	ck_assert_int_eq(a.kind, b.kind);
	ck_assert_str_eq(a.program, b.program);
	for (size_t i = 0; a.args[i] || b.args[i]; i++)
		ck_assert_str_eq(a.args[i], b.args[i]);
	for (size_t i = 0; a.env[i] || b.env[i]; i++)
		ck_assert_str_eq(a.env[i], b.env[i]);
	ck_assert_uint_eq(a.workers, b.workers);
	ck_assert_uint_eq(a.max_requests, b.max_requests);
	ck_assert_uint_eq(a.idle_timeout_ms, b.idle_timeout_ms);
	ck_assert_uint_eq(a.request_timeout_ms, b.request_timeout_ms);
	ck_assert_uint_eq(a.drain_timeout_ms, b.drain_timeout_ms);
	ck_assert_str_eq(a.listen, b.listen);
	ck_assert_int_eq(a.listen_mode, b.listen_mode);
	ck_assert_str_eq(a.listen_group, b.listen_group);
	ck_assert_str_eq(a.fdname, b.fdname);
	ck_assert_mem_eq(&a.limits, &b.limits, sizeof a.limits);
	free(one);
	free(two);
	config_free(&a);
	config_free(&b);
}
END_TEST

/* Every millisecond value of a timeout prints as seconds that read back the same. */
START_TEST(print_roundtrip_ms)
{
	static const uint32_t ms[] = { 0, 1, 10, 100, 999, 1001, 1010, 1100, 12345, 86399999 };
	struct config a, b;
	struct config_error err;
	char *out;

	config_defaults(&a);
	a.program = "/bin/true";
	a.idle_timeout_ms = ms[_i];
	a.limits.read_timeout_ms = ms[_i] ? ms[_i] : 1;
	out = print(&a);
	ck_assert_msg(parse(out, strlen(out), &b, &err) == 0, "%s\n%s", out, err.msg);
	ck_assert_uint_eq(b.idle_timeout_ms, ms[_i]);
	ck_assert_uint_eq(b.limits.read_timeout_ms, a.limits.read_timeout_ms);
	free(out);
	config_free(&b);
}
END_TEST

/* ---- programs and files ------------------------------------------------------------- */

static char tmpdir[64];

static void make_file(const char *name, mode_t mode, char *ret_path, size_t cap)
{
	int fd;

	snprintf(ret_path, cap, "%s/%s", tmpdir, name);
	fd = open(ret_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	ck_assert_int_eq(chmod(ret_path, mode), 0);
}

static void setup_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sfcgi-test-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* "program" named by path: 0, or the message after "t.json:1:13: ". */
static int program_error(const char *path, char *msg, size_t cap)
{
	struct config c;
	struct config_error err;
	char text[512];
	int r;

	snprintf(text, sizeof text, "{\"program\": \"%s\"}", path);
	r = parse(text, strlen(text), &c, &err);
	snprintf(msg, cap, "%s", r == 0 ? "" : err.msg + strlen("t.json:1:13: "));
	config_free(&c);
	return r;
}

START_TEST(program_checks)
{
	char path[256], msg[512], want[512];

	make_file("app", 0755, path, sizeof path);
	ck_assert_int_eq(program_error(path, msg, sizeof msg), 0);
	make_file("script.txt", 0644, path, sizeof path);
	ck_assert_int_eq(program_error(path, msg, sizeof msg), -EINVAL);
	snprintf(want, sizeof want, "\"program\": \"%s\" is not executable", path);
	ck_assert_str_eq(msg, want);
	snprintf(path, sizeof path, "%s/missing", tmpdir);
	ck_assert_int_eq(program_error(path, msg, sizeof msg), -EINVAL);
	snprintf(want, sizeof want, "\"program\": \"%s\" does not exist", path);
	ck_assert_str_eq(msg, want);
	snprintf(path, sizeof path, "%s/app/below", tmpdir); /* ENOTDIR */
	ck_assert_int_eq(program_error(path, msg, sizeof msg), -EINVAL);
	snprintf(want, sizeof want, "\"program\": \"%s\" does not exist", path);
	ck_assert_str_eq(msg, want);
	ck_assert_int_eq(program_error(tmpdir, msg, sizeof msg), -EINVAL);
	snprintf(want, sizeof want, "\"program\": \"%s\" is not a regular file", tmpdir);
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(load_files)
{
	char path[256];
	struct config c;
	struct config_error err;
	int fd;

	snprintf(path, sizeof path, "%s/wiki.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, full, strlen(full)), (ssize_t)strlen(full));
	close(fd);
	ck_assert_int_eq(config_load(path, &c, &err), 0);
	ck_assert_str_eq(c.path, path);
	ck_assert_str_eq(c.fdname, "fastcgi");
	config_free(&c);

	snprintf(path, sizeof path, "%s/missing.json", tmpdir);
	ck_assert_int_eq(config_load(path, &c, &err), -ENOENT);
	ck_assert_str_eq(err.msg + strlen(tmpdir), "/missing.json: No such file or directory");
	assert_default_state(&c);
	ck_assert_int_eq(config_load(tmpdir, &c, &err), -EISDIR);
	assert_default_state(&c);

	make_file("bad.json", 0644, path, sizeof path); /* "#!/bin/sh\n" */
	ck_assert_int_eq(config_load(path, &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg + strlen(tmpdir), "/bad.json:1:1: expected a JSON object");
	assert_default_state(&c);
}
END_TEST

/* A native program's own --config FILE may leave "program" out; sfcgi run's may not. */
START_TEST(load_own)
{
	static const char native[] = "{\"listen\": \"/run/app.sock\"}";
	static const char foreign[] = "{\"kind\": \"foreign\"}";
	char path[256];
	struct config c;
	struct config_error err;
	int fd;

	snprintf(path, sizeof path, "%s/own.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, native, strlen(native)), (ssize_t)strlen(native));
	close(fd);
	ck_assert_int_eq(config_load_own(path, &c, &err), 0);
	ck_assert_ptr_null(c.program);
	ck_assert_str_eq(c.listen, "/run/app.sock");
	ck_assert_int_eq(c.listen_mode, 0660); /* php-fpm's default */
	config_free(&c);
	ck_assert_int_eq(config_load(path, &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg + strlen(path),
			 ":1:1: missing required key \"program\" " PROGRAM_WHY);

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, foreign, strlen(foreign)), (ssize_t)strlen(foreign));
	close(fd);
	ck_assert_int_eq(config_load_own(path, &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg + strlen(path),
			 ":1:1: missing required key \"program\" (the FastCGI program sfcgi starts)");
}
END_TEST

START_TEST(load_too_large)
{
	char path[256];
	struct config c;
	struct config_error err;
	int fd;

	snprintf(path, sizeof path, "%s/big.json", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 3 * CONFIG_MAX_BYTES), 0); /* NUL bytes */
	close(fd);
	ck_assert_int_eq(config_load(path, &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg + strlen(tmpdir),
			 "/big.json:1:1048577: file is larger than 1048576 bytes");
}
END_TEST

/* ---- config_instance_path --------------------------------------------------------- */

static const struct {
	const char *name, *xdg, *home;
	bool user;
	int r;
	const char *want;
} paths[] = {
	{ "wiki", "/x", "/home/u", false, 0, "/etc/sfcgi/wiki.json" },
	{ "app@wiki:1_2-3.x", NULL, NULL, false, 0, "/etc/sfcgi/app@wiki:1_2-3.x.json" },
	{ "wiki", "/x/cfg", "/home/u", true, 0, "/x/cfg/sfcgi/wiki.json" },
	{ "wiki", NULL, "/home/u", true, 0, "/home/u/.config/sfcgi/wiki.json" },
	{ "wiki", "", "/home/u", true, 0, "/home/u/.config/sfcgi/wiki.json" },
	{ "wiki", "relative", "/home/u", true, 0, "/home/u/.config/sfcgi/wiki.json" },
	{ "wiki", NULL, NULL, true, -ENXIO, NULL },
	{ "wiki", "rel", "", true, -ENXIO, NULL },
	{ "", NULL, "/h", false, -EINVAL, NULL },
	{ ".wiki", NULL, "/h", true, -EINVAL, NULL },
	{ "..", NULL, "/h", false, -EINVAL, NULL },
	{ "a/b", NULL, "/h", false, -EINVAL, NULL },
	{ "a b", NULL, "/h", false, -EINVAL, NULL },
	{ "caf\xc3\xa9", NULL, "/h", false, -EINVAL, NULL },
	{ "a\nb", NULL, "/h", false, -EINVAL, NULL },
};

START_TEST(instance_path)
{
	char *path = NULL;

	if (paths[_i].xdg)
		setenv("XDG_CONFIG_HOME", paths[_i].xdg, 1);
	else
		unsetenv("XDG_CONFIG_HOME");
	if (paths[_i].home)
		setenv("HOME", paths[_i].home, 1);
	else
		unsetenv("HOME");
	ck_assert_int_eq(config_instance_path(paths[_i].name, paths[_i].user, &path), paths[_i].r);
	if (paths[_i].want)
		ck_assert_str_eq(path, paths[_i].want);
	else
		ck_assert_ptr_null(path);
	free(path);
}
END_TEST

START_TEST(instance_path_length)
{
	char name[252], *path = NULL;

	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = 0;
	ck_assert_int_eq(config_instance_path(name, false, &path), -EINVAL); /* 251 */
	name[250] = 0;
	ck_assert_int_eq(config_instance_path(name, false, &path), 0);
	ck_assert_uint_eq(strlen(path), strlen("/etc/sfcgi/") + 250 + strlen(".json"));
	free(path);
	ck_assert_int_eq(config_instance_path(NULL, false, &path), -EINVAL);
}
END_TEST

/* --set KEY=VALUE (settings_set): counts are read exactly, seconds to the ms. */
static const struct {
	const char *key, *value;
	int ret;
	uint64_t stored; /* when ret == 0 */
} sets[] = {
	{ "max_stdin_bytes", "9223372036854775807", 0, INT64_MAX }, /* the documented max */
	{ "max_stdin_bytes", "9223372036854775808", -ERANGE, 0 },
	{ "max_stdin_bytes", "99999999999999999999999", -ERANGE, 0 },
	{ "max_stdin_bytes", "1e3", 0, 1000 },
	{ "max_stdin_bytes", "1.5", -EINVAL, 0 },
	{ "max_stdin_bytes", "-1", -EINVAL, 0 },
	{ "max_stdin_bytes", "", -EINVAL, 0 },
	{ "max_stdin_bytes", "12x", -EINVAL, 0 },
	{ "max_conns", "0", -ERANGE, 0 },
	{ "max_conns", "65536", 0, 65536 },
	{ "read_timeout", "2.5", 0, 2500 },
	{ "read_timeout", "0.001", 0, 1 },
	{ "read_timeout", "0", -ERANGE, 0 },
	{ "read_timeout", "0.0001", -EINVAL, 0 },
};

START_TEST(set_values)
{
	const struct setting_desc *d = settings_find(sets[_i].key);
	struct settings st;
	const char *why = NULL;

	ck_assert_ptr_nonnull(d);
	settings_defaults(&st);
	ck_assert_int_eq(settings_set(&st, d, sets[_i].value, &why), sets[_i].ret);
	if (sets[_i].ret == 0)
		ck_assert_uint_eq(settings_get(&st, d), sets[_i].stored);
	else
		ck_assert_ptr_nonnull(why);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_test(tc, valid_full);
	tcase_add_test(tc, valid_defaults);
	tcase_add_loop_test(tc, valid_edges, 0, (int)ARRAY_SIZE(edges));
	tcase_add_loop_test(tc, string_escapes, 0, (int)ARRAY_SIZE(escapes));
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, malformed, 0, (int)ARRAY_SIZE(bad));
	tcase_add_test(tc, too_large);
	tcase_add_test(tc, long_values);
	tcase_add_loop_test(tc, set_values, 0, (int)ARRAY_SIZE(sets));
	suite_add_tcase(s, tc);

	tc = tcase_create("print");
	tcase_add_test(tc, print_golden);
	tcase_add_test(tc, print_roundtrip);
	tcase_add_loop_test(tc, print_roundtrip_ms, 0, 10);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, program_checks);
	tcase_add_test(tc, load_files);
	tcase_add_test(tc, load_own);
	tcase_add_test(tc, load_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("instance_path");
	tcase_add_loop_test(tc, instance_path, 0, (int)ARRAY_SIZE(paths));
	tcase_add_test(tc, instance_path_length);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
