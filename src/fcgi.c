/* SPDX-License-Identifier: MIT */
/* FastCGI 1.0 wire codec. See fcgi.h for the contract of each function. */
#include "fcgi.h"

#include <errno.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

ssize_t fcgi_record_peek(const uint8_t *p, size_t n, struct fcgi_record *ret)
{
	struct fcgi_record r;

	if (n < FCGI_HEADER_LEN)
		return 0;
	r.version = p[0];
	if (r.version != FCGI_VERSION_1)
		return -EPROTO;
	r.type = p[1];
	r.request_id = get16(p + 2);
	r.content_length = get16(p + 4);
	r.padding_length = p[6];
	/* p[7] is reserved; the spec gives it no meaning to check. */
	r.content = p + FCGI_HEADER_LEN;
	*ret = r;
	return (ssize_t)(FCGI_HEADER_LEN + (size_t)r.content_length + r.padding_length);
}

ssize_t fcgi_record_decode(const uint8_t *p, size_t n, struct fcgi_record *ret)
{
	struct fcgi_record r;
	ssize_t total = fcgi_record_peek(p, n, &r);

	if (total <= 0)
		return total;
	if ((size_t)total > n)
		return 0;
	*ret = r;
	return total;
}

int fcgi_begin_body_decode(const struct fcgi_record *rec, uint16_t *ret_role, uint8_t *ret_flags)
{
	if (rec->type != FCGI_BEGIN_REQUEST || rec->content_length != 8)
		return -EBADMSG;
	*ret_role = get16(rec->content);
	*ret_flags = rec->content[2];
	return 0;
}

int fcgi_end_body_decode(const struct fcgi_record *rec, uint32_t *ret_app_status,
			 uint8_t *ret_protocol_status)
{
	if (rec->type != FCGI_END_REQUEST || rec->content_length != 8)
		return -EBADMSG;
	*ret_app_status = get32(rec->content);
	*ret_protocol_status = rec->content[4];
	return 0;
}

/* One length (section 3.4): 1 byte if the high bit is clear, else 4 bytes. */
static size_t get_len(const uint8_t *p, size_t n, uint32_t *ret)
{
	if (n < 1)
		return 0;
	if (!(p[0] & 0x80)) {
		*ret = p[0];
		return 1;
	}
	if (n < 4)
		return 0;
	*ret = get32(p) & FCGI_MAX_PAIR_LEN;
	return 4;
}

ssize_t fcgi_pair_decode(const uint8_t *p, size_t n, struct fcgi_pair *ret)
{
	size_t off = 0, k;
	uint32_t nl, vl;

	k = get_len(p, n, &nl);
	if (k == 0)
		return 0;
	off += k;
	k = get_len(p + off, n - off, &vl);
	if (k == 0)
		return 0;
	off += k;
	/* Subtraction form: nl + vl could not overflow size_t on 64-bit, but
	 * n - off cannot underflow here and keeps the check obviously right. */
	if (nl > n - off || vl > n - off - nl)
		return 0;
	ret->name = p + off;
	ret->name_len = nl;
	ret->value = p + off + nl;
	ret->value_len = vl;
	return (ssize_t)(off + nl + vl);
}

size_t fcgi_header_encode(uint8_t out[FCGI_HEADER_LEN], uint8_t type, uint16_t request_id,
			  uint16_t content_length, uint8_t padding_length)
{
	out[0] = FCGI_VERSION_1;
	out[1] = type;
	put16(out + 2, request_id);
	put16(out + 4, content_length);
	out[6] = padding_length;
	out[7] = 0;
	return FCGI_HEADER_LEN;
}

size_t fcgi_begin_request_encode(uint8_t out[16], uint16_t request_id, uint16_t role,
				 uint8_t flags)
{
	fcgi_header_encode(out, FCGI_BEGIN_REQUEST, request_id, 8, 0);
	put16(out + 8, role);
	out[10] = flags;
	memset(out + 11, 0, 5);
	return 16;
}

size_t fcgi_end_request_encode(uint8_t out[16], uint16_t request_id, uint32_t app_status,
			       uint8_t protocol_status)
{
	fcgi_header_encode(out, FCGI_END_REQUEST, request_id, 8, 0);
	put32(out + 8, app_status);
	out[12] = protocol_status;
	memset(out + 13, 0, 3);
	return 16;
}

size_t fcgi_abort_request_encode(uint8_t out[FCGI_HEADER_LEN], uint16_t request_id)
{
	return fcgi_header_encode(out, FCGI_ABORT_REQUEST, request_id, 0, 0);
}

size_t fcgi_unknown_type_encode(uint8_t out[16], uint8_t type)
{
	fcgi_header_encode(out, FCGI_UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID, 8, 0);
	out[8] = type;
	memset(out + 9, 0, 7);
	return 16;
}

static size_t len_size(size_t len)
{
	return len < 128 ? 1 : 4;
}

size_t fcgi_pair_size(size_t name_len, size_t value_len)
{
	return len_size(name_len) + len_size(value_len) + name_len + value_len;
}

static size_t put_len(uint8_t *p, size_t len)
{
	if (len < 128) {
		p[0] = (uint8_t)len;
		return 1;
	}
	put32(p, (uint32_t)len | 0x80000000u);
	return 4;
}

size_t fcgi_pair_encode(uint8_t *out, size_t cap, const void *name, size_t name_len,
			const void *value, size_t value_len)
{
	size_t off;

	if (name_len > FCGI_MAX_PAIR_LEN || value_len > FCGI_MAX_PAIR_LEN)
		return 0;
	if (fcgi_pair_size(name_len, value_len) > cap)
		return 0;
	off = put_len(out, name_len);
	off += put_len(out + off, value_len);
	if (name_len)
		memcpy(out + off, name, name_len);
	off += name_len;
	if (value_len)
		memcpy(out + off, value, value_len);
	return off + value_len;
}

size_t fcgi_stream_size(size_t n)
{
	size_t full = n / FCGI_MAX_CONTENT, rest = n % FCGI_MAX_CONTENT;
	size_t per = FCGI_HEADER_LEN + FCGI_MAX_CONTENT + fcgi_padding_for(FCGI_MAX_CONTENT);
	size_t size;

	if (full > (SIZE_MAX - 2 * per) / per)
		return SIZE_MAX; /* no buffer is that large: encoders refuse */
	size = full * per;

	if (rest || n == 0)
		size += FCGI_HEADER_LEN + rest + fcgi_padding_for(rest);
	return size;
}

size_t fcgi_stream_encode(uint8_t *out, size_t cap, uint8_t type, uint16_t request_id,
			  const void *data, size_t n)
{
	const uint8_t *src = data;
	size_t off = 0;

	if (fcgi_stream_size(n) > cap || fcgi_stream_size(n) == SIZE_MAX)
		return 0;
	do {
		size_t chunk = n > FCGI_MAX_CONTENT ? FCGI_MAX_CONTENT : n;
		uint8_t pad = fcgi_padding_for(chunk);

		off += fcgi_header_encode(out + off, type, request_id, (uint16_t)chunk, pad);
		if (chunk)
			memcpy(out + off, src, chunk);
		off += chunk;
		memset(out + off, 0, pad);
		off += pad;
		src += chunk;
		n -= chunk;
	} while (n > 0);
	return off;
}
