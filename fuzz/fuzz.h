/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets and replay.c. CHECK aborts even under NDEBUG,
 * so a broken invariant is a crash for libFuzzer and a failure for replay.
 */
#ifndef SFCGI_FUZZ_H
#define SFCGI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
