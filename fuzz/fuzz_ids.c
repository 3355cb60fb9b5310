/* SPDX-License-Identifier: MIT */
/*
 * Fuzz ids_parse (src/ids.c): the $SFCGI_IDS hint `sfcgi run` hands to the
 * program it executes. The format has one spelling per table, so an
 * accepted text must be exactly what ids_format() makes of what was parsed
 * (no leading zeros, no stray separator, no name the format cannot carry,
 * no name twice); a refused one says why and where, within the text, and
 * leaves the output alone.
 */
#include "fuzz.h"
#include "ids.h"

#include <errno.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *back = NULL, why[160] = "";
	struct ids_table t = { .n = 12345 };
	int r;

	CHECK(text);
	memcpy(text, data, size);
	text[size] = 0; /* an environment variable ends at its first NUL */
	r = ids_parse(text, &t, why, sizeof why);
	if (r == 0) {
		CHECK(t.n <= IDS_MAX);
		for (size_t i = 0; i < t.n; i++) {
			CHECK(t.v[i].kind == 'u' || t.v[i].kind == 'g');
			CHECK(ids_name_ok(t.v[i].name));
			CHECK(t.v[i].uid != UINT32_MAX && t.v[i].gid != UINT32_MAX);
			for (size_t j = 0; j < i; j++)
				CHECK(t.v[j].kind != t.v[i].kind || strcmp(t.v[j].name, t.v[i].name));
		}
		CHECK(ids_format(&t, &back) == 0);
		CHECK(strcmp(back, text) == 0);
		free(back);
		ids_table_free(&t);
	} else {
		const char *at = strstr(why, " at byte ");

		CHECK(r == -EINVAL);
		CHECK(t.n == 12345 && !t.v);
		CHECK(at && strtoul(at + 9, NULL, 10) <= strlen(text));
	}
	free(text);
	return 0;
}
