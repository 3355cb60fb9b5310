/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the record decoder (section 3.3) and the body decoders (sections
 * 4.2, 5.1, 5.5): decode records one after another until the decoder asks
 * for more bytes or rejects them, cross-checking each answer against
 * fcgi_record_peek, a by-hand reading of the header, and the encoders.
 * Pairs inside PARAMS and GET_VALUES records are decoded too.
 */
#include "fcgi.h"
#include "fuzz.h"

#include <errno.h>
#include <string.h>

static void check_pairs(const uint8_t *p, size_t n)
{
	size_t off = 0;
	struct fcgi_pair pair;
	ssize_t k;

	while ((k = fcgi_pair_decode(p + off, n - off, &pair)) > 0) {
		CHECK((size_t)k <= n - off);
		CHECK(pair.name >= p + off && pair.value == pair.name + pair.name_len);
		CHECK(pair.value + pair.value_len == p + off + (size_t)k);
		off += (size_t)k;
	}
	CHECK(k == 0 && off <= n);
}

static void check_bodies(const struct fcgi_record *rec)
{
	uint16_t role = 0xaaaa;
	uint8_t flags = 0xaa, ps = 0xaa;
	uint32_t app = 0xaaaaaaaau;
	int r;

	r = fcgi_begin_body_decode(rec, &role, &flags);
	if (rec->type == FCGI_BEGIN_REQUEST && rec->content_length == 8) {
		uint8_t out[16];

		CHECK(r == 0);
		CHECK(role == (rec->content[0] << 8 | rec->content[1]));
		CHECK(flags == rec->content[2]);
		/* The encoder writes zero reserved bytes; the role and flags must match. */
		CHECK(fcgi_begin_request_encode(out, rec->request_id, role, flags) == 16);
		CHECK(memcmp(out + 8, rec->content, 3) == 0);
	} else {
		CHECK(r == -EBADMSG && role == 0xaaaa && flags == 0xaa);
	}

	r = fcgi_end_body_decode(rec, &app, &ps);
	if (rec->type == FCGI_END_REQUEST && rec->content_length == 8) {
		uint8_t out[16];

		CHECK(r == 0);
		CHECK(app == ((uint32_t)rec->content[0] << 24 | (uint32_t)rec->content[1] << 16 |
			      (uint32_t)rec->content[2] << 8 | rec->content[3]));
		CHECK(ps == rec->content[4]);
		CHECK(fcgi_end_request_encode(out, rec->request_id, app, ps) == 16);
		CHECK(memcmp(out + 8, rec->content, 5) == 0);
	} else {
		CHECK(r == -EBADMSG && app == 0xaaaaaaaau && ps == 0xaa);
	}

	if (rec->type == FCGI_PARAMS || rec->type == FCGI_GET_VALUES ||
	    rec->type == FCGI_GET_VALUES_RESULT)
		check_pairs(rec->content, rec->content_length);
}

/* Re-encode the content as a stream and read it back: same bytes, same header. */
static void check_stream(const struct fcgi_record *rec)
{
	size_t cap = fcgi_stream_size(rec->content_length), off = 0;
	uint8_t *out = malloc(cap);
	struct fcgi_record back;

	CHECK(out);
	CHECK(cap == (size_t)FCGI_HEADER_LEN + rec->content_length +
			 fcgi_padding_for(rec->content_length));
	CHECK(fcgi_stream_encode(out, cap - 1, rec->type, rec->request_id, rec->content,
				 rec->content_length) == 0);
	CHECK(fcgi_stream_encode(out, cap, rec->type, rec->request_id, rec->content,
				 rec->content_length) == cap);
	CHECK(fcgi_record_decode(out, cap, &back) == (ssize_t)cap);
	CHECK(back.type == rec->type && back.request_id == rec->request_id);
	CHECK(back.content_length == rec->content_length);
	CHECK(memcmp(back.content, rec->content, rec->content_length) == 0);
	off = FCGI_HEADER_LEN + rec->content_length;
	for (; off < cap; off++)
		CHECK(out[off] == 0);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	for (;;) {
		const uint8_t *p = data + off;
		size_t n = size - off;
		struct fcgi_record rec, peek;
		ssize_t k, pk;
		uint8_t hdr[FCGI_HEADER_LEN];

		memset(&rec, 0x5a, sizeof(rec));
		k = fcgi_record_decode(p, n, &rec);
		pk = fcgi_record_peek(p, n, &peek);
		if (n < FCGI_HEADER_LEN) {
			CHECK(k == 0 && pk == 0);
			break;
		}
		if (p[0] != FCGI_VERSION_1) {
			CHECK(k == -EPROTO && pk == -EPROTO);
			break;
		}
		CHECK(pk == (ssize_t)(FCGI_HEADER_LEN + (size_t)(p[4] << 8 | p[5]) + p[6]));
		if ((size_t)pk > n) {
			CHECK(k == 0);
			break;
		}
		CHECK(k == pk);
		CHECK(rec.version == FCGI_VERSION_1 && rec.type == p[1]);
		CHECK(rec.request_id == (p[2] << 8 | p[3]));
		CHECK(rec.content_length == (p[4] << 8 | p[5]) && rec.padding_length == p[6]);
		CHECK(rec.content == p + FCGI_HEADER_LEN);
		CHECK(rec.content_length <= n - FCGI_HEADER_LEN);
		CHECK(rec.padding_length <= n - FCGI_HEADER_LEN - rec.content_length);
		CHECK(peek.type == rec.type && peek.request_id == rec.request_id &&
		      peek.content == rec.content);
		/* The header encoder writes back the same bytes, reserved byte zeroed. */
		CHECK(fcgi_header_encode(hdr, rec.type, rec.request_id, rec.content_length,
					 rec.padding_length) == FCGI_HEADER_LEN);
		CHECK(memcmp(hdr, p, 7) == 0 && hdr[7] == 0);
		check_bodies(&rec);
		check_stream(&rec);
		off += (size_t)k;
	}
	CHECK(off <= size);
	return 0;
}
