/* SPDX-License-Identifier: MIT */
/*
 * Runs a fuzz target's LLVMFuzzerTestOneInput over every file named on the
 * command line, or found (non-recursively, in name order) in a named
 * directory, so that the corpus is a regression test under any compiler.
 * Each input gets a buffer of exactly its size, so a sanitizer sees any
 * overread. Fails if no input was found: a missing corpus is an error.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto fail;
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
fail:
	fprintf(stderr, "replay: %s: %s\n", path, strerror(errno ? errno : EIO));
	if (f)
		fclose(f);
	free(buf);
	return -1;
}

static int only_files(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Returns the number of inputs run, or -1 on an unreadable path. */
static int run_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n, runs = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) == 0 ? 1 : -1;
	n = scandir(path, &names, only_files, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];

		if (runs >= 0) {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
			runs = run_file(full) == 0 ? runs + 1 : -1;
		}
		free(names[i]);
	}
	free(names);
	return runs;
}

int main(int argc, char **argv)
{
	int total = 0;

	for (int i = 1; i < argc; i++) {
		int r = run_path(argv[i]);

		if (r < 0)
			return EXIT_FAILURE;
		total += r;
	}
	if (total == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return EXIT_FAILURE;
	}
	printf("replay: %d inputs ok\n", total);
	return EXIT_SUCCESS;
}
