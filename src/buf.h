/* SPDX-License-Identifier: MIT */
/* A growable byte buffer with a consumed prefix: [off, len) is live. */
#ifndef SFCGI_BUF_H
#define SFCGI_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t off, len, cap;
};

static inline size_t buf_used(const struct buf *b)
{
	return b->len - b->off;
}

/* A buffer never grown has no data: NULL, not NULL + 0 (undefined in C). */
static inline uint8_t *buf_head(const struct buf *b)
{
	return b->off ? b->data + b->off : b->data;
}

/* Makes room for extra bytes after len (compacting first). 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
/* Drops n bytes from the front; an emptied buffer rewinds to offset 0. */
void buf_consume(struct buf *b, size_t n);
/* Empties the buffer; frees its memory if it grew past keep bytes. */
void buf_reset(struct buf *b, size_t keep);
void buf_free(struct buf *b);

#endif
