/* SPDX-License-Identifier: MIT */
/*
 * Why a worker's heap pages stop being shared with its supervisor. After
 * parsing the config, compiling the filter and asking NSS for the user, the
 * supervisor's heap is a few KiB of live data between many freed chunks.
 * malloc_trim() returns the freed whole pages, but leaves the chunks (merged)
 * on glibc's "unsorted" list; the first malloc that list cannot serve from a
 * bin walks it and files each chunk into its bin, writing the list pointers
 * inside every free chunk. Done by a worker, that is a copy-on-write fault
 * on each page holding one: measured on examples/hello, a worker's heap went
 * from shared to all private (14 pages) within its first allocations.
 *
 * So the supervisor files them before it forks: a request larger than any
 * free chunk walks the whole list (none fits, so none is split back onto
 * it) and is served from the top, where freeing it merges it back; a
 * second trim then returns that top. Only glibc's public calls are used;
 * with another allocator this is a trim and a harmless malloc/free.
 */
#include "heap.h"

#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

void heap_settle(void)
{
	struct mallinfo2 mi;
	void *volatile p; /* or the compiler drops the pair, as it may */

	malloc_trim(0);
	mi = mallinfo2();
	/* arena: the bytes of the main heap, so no free chunk is as large */
	p = malloc(mi.arena + (size_t)sysconf(_SC_PAGESIZE));
	free(p);
	malloc_trim(0);
}
