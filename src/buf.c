/* SPDX-License-Identifier: MIT */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(struct buf *b, size_t extra)
{
	size_t used = buf_used(b), cap;
	uint8_t *p;

	if (b->cap - b->len >= extra)
		return 0;
	if (b->off && b->cap - used >= extra) {
		memmove(b->data, b->data + b->off, used);
		b->off = 0;
		b->len = used;
		return 0;
	}
	if (extra > SIZE_MAX / 2 - used)
		return -ENOMEM;
	cap = b->cap ? b->cap : 256;
	while (cap - used < extra)
		cap *= 2;
	if (b->off) {
		p = malloc(cap);
		if (!p)
			return -ENOMEM;
		memcpy(p, b->data + b->off, used);
		free(b->data);
	} else {
		p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	b->off = 0;
	b->len = used;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int r = buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void buf_reset(struct buf *b, size_t keep)
{
	b->off = b->len = 0;
	if (b->cap > keep)
		buf_free(b);
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
