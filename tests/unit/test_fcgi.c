/* SPDX-License-Identifier: MIT */
/*
 * Check suite for src/fcgi.c, the FastCGI 1.0 wire codec.
 *
 * Encoders are compared against golden wire images written out by hand from
 * the specification (sections 3.3, 3.4, 4.2, 5.1, 5.5), never against the
 * output of another codec function. Malformed and incomplete inputs live in
 * one table, one row per decoder branch, run with tcase_add_loop_test.
 */
#include "fcgi.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL      0xa5

/* Deterministic, position-dependent filler so a misplaced byte shows. */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static uint8_t *xmalloc(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/* ---- golden images: fixed-size records -------------------------------- */

START_TEST(golden_begin_request)
{
	static const uint8_t want[16] = {
	    0x01, 0x01, 0x12, 0x34, 0x00, 0x08, 0x00, 0x00, /* v1 BEGIN id 0x1234 cl 8 */
	    0x00, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, /* role FILTER, KEEP_CONN */
	};
	uint8_t out[16];

	memset(out, SENTINEL, sizeof(out));
	ck_assert_uint_eq(fcgi_begin_request_encode(out, 0x1234, FCGI_FILTER, FCGI_KEEP_CONN), 16);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(golden_end_request)
{
	static const uint8_t want[16] = {
	    0x01, 0x03, 0xfe, 0xdc, 0x00, 0x08, 0x00, 0x00, /* v1 END id 0xfedc cl 8 */
	    0x81, 0x02, 0x03, 0x04, 0x02, 0x00, 0x00, 0x00, /* appStatus, OVERLOADED */
	};
	uint8_t out[16];

	memset(out, SENTINEL, sizeof(out));
	ck_assert_uint_eq(fcgi_end_request_encode(out, 0xfedc, 0x81020304u, FCGI_OVERLOADED), 16);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(golden_abort_request)
{
	static const uint8_t want[8] = {0x01, 0x02, 0xab, 0xcd, 0x00, 0x00, 0x00, 0x00};
	uint8_t out[9];

	memset(out, SENTINEL, sizeof(out));
	ck_assert_uint_eq(fcgi_abort_request_encode(out, 0xabcd), 8);
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_uint_eq(out[8], SENTINEL); /* nothing written past the record */
}
END_TEST

START_TEST(golden_unknown_type)
{
	static const uint8_t want[16] = {
	    0x01, 0x0b, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, /* v1 UNKNOWN_TYPE id 0 cl 8 */
	    0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* type 200 */
	};
	uint8_t out[16];

	memset(out, SENTINEL, sizeof(out));
	ck_assert_uint_eq(fcgi_unknown_type_encode(out, 200), 16);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(golden_header)
{
	static const uint8_t want[8] = {0x01, 0x06, 0xff, 0xfe, 0x12, 0x34, 0xfe, 0x00};
	uint8_t out[8];

	memset(out, SENTINEL, sizeof(out));
	ck_assert_uint_eq(fcgi_header_encode(out, FCGI_STDOUT, 0xfffe, 0x1234, 0xfe), 8);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

/* ---- golden images: name-value pairs ---------------------------------- */

START_TEST(golden_pair_short)
{
	static const uint8_t want[] = {0x0b, 0x03, 'S', 'C', 'R', 'I', 'P', 'T',
				       '_',  'N',  'A', 'M', 'E', '/', 'x', 'y'};
	uint8_t out[sizeof(want) + 1];

	memset(out, SENTINEL, sizeof(out));
	ck_assert_uint_eq(fcgi_pair_size(11, 3), sizeof(want));
	ck_assert_uint_eq(fcgi_pair_encode(out, sizeof(out), "SCRIPT_NAME", 11, "/xy", 3),
			  sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_uint_eq(out[sizeof(want)], SENTINEL);
}
END_TEST

/* 127 is the largest 1-byte length; 128 is the smallest 4-byte one. */
START_TEST(golden_pair_boundary)
{
	static const uint8_t want_head[] = {0x7f, 0x80, 0x00, 0x00, 0x80};
	uint8_t name[127], value[128], out[5 + 127 + 128];

	fill(name, sizeof(name), 1);
	fill(value, sizeof(value), 2);
	ck_assert_uint_eq(fcgi_pair_size(127, 128), sizeof(out));
	ck_assert_uint_eq(fcgi_pair_encode(out, sizeof(out), name, 127, value, 128), sizeof(out));
	ck_assert_mem_eq(out, want_head, sizeof(want_head));
	ck_assert_mem_eq(out + 5, name, 127);
	ck_assert_mem_eq(out + 5 + 127, value, 128);
}
END_TEST

START_TEST(golden_pair_long)
{
	/* name 128 = 0x80, value 70000 = 0x00011170, both with the high bit set */
	static const uint8_t want_head[8] = {0x80, 0x00, 0x00, 0x80, 0x80, 0x01, 0x11, 0x70};
	const size_t nl = 128, vl = 70000, total = 8 + 128 + 70000;
	uint8_t *name = xmalloc(nl), *value = xmalloc(vl), *out = xmalloc(total + 1);

	fill(name, nl, 3);
	fill(value, vl, 4);
	memset(out, SENTINEL, total + 1);
	ck_assert_uint_eq(fcgi_pair_size(nl, vl), total);
	ck_assert_uint_eq(fcgi_pair_encode(out, total, name, nl, value, vl), total);
	ck_assert_mem_eq(out, want_head, sizeof(want_head));
	ck_assert_int_eq(memcmp(out + 8, name, nl), 0);
	ck_assert_int_eq(memcmp(out + 8 + nl, value, vl), 0);
	ck_assert_uint_eq(out[total], SENTINEL);
	free(name);
	free(value);
	free(out);
}
END_TEST

/* A length using every byte of the 31-bit field (about 16 MiB of name). */
START_TEST(golden_pair_high_bits)
{
	static const uint8_t want_head[5] = {0x81, 0x02, 0x03, 0x04, 0x01};
	const size_t nl = 0x01020304, total = 5 + nl + 1;
	uint8_t *name = xmalloc(nl), *out = xmalloc(total);
	struct fcgi_pair pair;

	fill(name, nl, 6);
	ck_assert_uint_eq(fcgi_pair_size(nl, 1), total);
	ck_assert_uint_eq(fcgi_pair_encode(out, total, name, nl, "v", 1), total);
	ck_assert_mem_eq(out, want_head, sizeof(want_head));
	ck_assert_int_eq(memcmp(out + 5, name, nl), 0);
	ck_assert_uint_eq(out[total - 1], 'v');
	ck_assert_int_eq(fcgi_pair_decode(out, total, &pair), (ssize_t)total);
	ck_assert_uint_eq(pair.name_len, 0x01020304u);
	ck_assert_uint_eq(pair.value_len, 1);
	ck_assert_ptr_eq(pair.name, out + 5);
	ck_assert_int_eq(fcgi_pair_decode(out, total - 1, &pair), 0);
	free(name);
	free(out);
}
END_TEST

/* ---- golden images: streams ------------------------------------------- */

/*
 * One record of an expected stream: its literal header, where it starts in
 * the output and which slice of the input it carries. Offsets and lengths
 * are worked out by hand (65535 = 8 * 8191 + 7, so a full record pads 1).
 */
struct golden_rec {
	uint8_t hdr[8];
	size_t off;  /* of the header in the output */
	size_t src;  /* of the content in the input */
	size_t len;  /* content bytes */
	uint8_t pad; /* padding bytes after the content */
};

struct golden_stream {
	const char *name;
	size_t n;     /* input bytes */
	size_t total; /* output bytes */
	size_t nrec;
	struct golden_rec rec[4];
};

/* All streams are FCGI_STDOUT (6) for request id 0x0102. */
static const struct golden_stream streams[] = {
    {"0 bytes", 0, 8, 1, {{{1, 6, 1, 2, 0x00, 0x00, 0, 0}, 0, 0, 0, 0}}},
    {"1 byte", 1, 16, 1, {{{1, 6, 1, 2, 0x00, 0x01, 7, 0}, 0, 0, 1, 7}}},
    {"8 bytes", 8, 16, 1, {{{1, 6, 1, 2, 0x00, 0x08, 0, 0}, 0, 0, 8, 0}}},
    {"65535 bytes", 65535, 65544, 1, {{{1, 6, 1, 2, 0xff, 0xff, 1, 0}, 0, 0, 65535, 1}}},
    {"65536 bytes",
     65536,
     65560,
     2,
     {
	 {{1, 6, 1, 2, 0xff, 0xff, 1, 0}, 0, 0, 65535, 1},
	 {{1, 6, 1, 2, 0x00, 0x01, 7, 0}, 65544, 65535, 1, 7},
     }},
    /* 200000 = 3 * 65535 + 3395; 3395 = 0x0d43, 3395 % 8 = 3, so pad 5 */
    {"200000 bytes",
     200000,
     200040,
     4,
     {
	 {{1, 6, 1, 2, 0xff, 0xff, 1, 0}, 0, 0, 65535, 1},
	 {{1, 6, 1, 2, 0xff, 0xff, 1, 0}, 65544, 65535, 65535, 1},
	 {{1, 6, 1, 2, 0xff, 0xff, 1, 0}, 131088, 131070, 65535, 1},
	 {{1, 6, 1, 2, 0x0d, 0x43, 5, 0}, 196632, 196605, 3395, 5},
     }},
};

START_TEST(golden_stream)
{
	const struct golden_stream *g = &streams[_i];
	uint8_t *in = xmalloc(g->n), *out = xmalloc(g->total + 16);
	size_t covered = 0;

	fill(in, g->n, 5);
	memset(out, SENTINEL, g->total + 16);
	ck_assert_msg(fcgi_stream_size(g->n) == g->total, "%s: size %zu, want %zu", g->name,
		      fcgi_stream_size(g->n), g->total);
	ck_assert_msg(fcgi_stream_encode(out, g->total, FCGI_STDOUT, 0x0102, in, g->n) == g->total,
		      "%s: wrong encoded length", g->name);
	for (size_t r = 0; r < g->nrec; r++) {
		const struct golden_rec *e = &g->rec[r];

		ck_assert_msg(e->off == covered, "%s: golden table has a gap", g->name);
		ck_assert_msg(memcmp(out + e->off, e->hdr, 8) == 0, "%s: header %zu", g->name, r);
		ck_assert_msg(memcmp(out + e->off + 8, in + e->src, e->len) == 0, "%s: content %zu",
			      g->name, r);
		ck_assert_msg(all_bytes(out + e->off + 8 + e->len, e->pad, 0), "%s: padding %zu",
			      g->name, r);
		covered = e->off + 8 + e->len + e->pad;
	}
	ck_assert_uint_eq(covered, g->total);
	ck_assert_msg(all_bytes(out + g->total, 16, SENTINEL), "%s: wrote past the end", g->name);
	free(in);
	free(out);
}
END_TEST

/* ---- round trips ------------------------------------------------------ */

/* Every record type 1..11, encoded by hand-built headers, read back. */
START_TEST(roundtrip_record_types)
{
	const uint8_t type = (uint8_t)_i;
	const uint16_t id = (uint16_t)(0x0100 + _i);
	uint8_t buf[64], content[13];
	struct fcgi_record rec, peek;
	size_t cl = 0, n;

	memset(buf, SENTINEL, sizeof(buf));
	switch (type) {
	case FCGI_BEGIN_REQUEST:
		n = fcgi_begin_request_encode(buf, id, FCGI_AUTHORIZER, FCGI_KEEP_CONN);
		cl = 8;
		break;
	case FCGI_END_REQUEST:
		n = fcgi_end_request_encode(buf, id, 0xdeadbeefu, FCGI_UNKNOWN_ROLE);
		cl = 8;
		break;
	case FCGI_ABORT_REQUEST:
		n = fcgi_abort_request_encode(buf, id);
		break;
	case FCGI_UNKNOWN_TYPE:
		n = fcgi_unknown_type_encode(buf, 77);
		cl = 8;
		break;
	default:
		cl = sizeof(content);
		fill(content, cl, type);
		n = fcgi_stream_encode(buf, sizeof(buf), type, id, content, cl);
		ck_assert_uint_eq(n, 8 + 13 + 3);
		break;
	}
	/* Trailing garbage after the record must not be consumed. */
	ck_assert_int_eq(fcgi_record_decode(buf, n + 5, &rec), (ssize_t)n);
	ck_assert_uint_eq(rec.version, 1);
	ck_assert_uint_eq(rec.type, type);
	ck_assert_uint_eq(rec.request_id, type == FCGI_UNKNOWN_TYPE ? 0 : id);
	ck_assert_uint_eq(rec.content_length, cl);
	ck_assert_uint_eq(rec.padding_length, n - 8 - cl);
	ck_assert_ptr_eq(rec.content, buf + 8);
	ck_assert_int_eq(fcgi_record_peek(buf, 8, &peek), (ssize_t)n);
	/* Field by field: struct padding bytes carry no meaning. */
	ck_assert_uint_eq(peek.version, rec.version);
	ck_assert_uint_eq(peek.type, rec.type);
	ck_assert_uint_eq(peek.request_id, rec.request_id);
	ck_assert_uint_eq(peek.content_length, rec.content_length);
	ck_assert_uint_eq(peek.padding_length, rec.padding_length);
	ck_assert_ptr_eq(peek.content, rec.content);

	if (type == FCGI_BEGIN_REQUEST) {
		uint16_t role = 0;
		uint8_t flags = 0;

		ck_assert_int_eq(fcgi_begin_body_decode(&rec, &role, &flags), 0);
		ck_assert_uint_eq(role, FCGI_AUTHORIZER);
		ck_assert_uint_eq(flags, FCGI_KEEP_CONN);
	} else if (type == FCGI_END_REQUEST) {
		uint32_t app = 0;
		uint8_t ps = 0;

		ck_assert_int_eq(fcgi_end_body_decode(&rec, &app, &ps), 0);
		ck_assert_uint_eq(app, 0xdeadbeefu);
		ck_assert_uint_eq(ps, FCGI_UNKNOWN_ROLE);
	} else if (type == FCGI_UNKNOWN_TYPE) {
		ck_assert_uint_eq(rec.content[0], 77);
	} else if (cl) {
		ck_assert_mem_eq(rec.content, content, cl);
	}
}
END_TEST

/* Types outside 1..11 are the caller's to answer, so the decoder accepts them. */
START_TEST(roundtrip_foreign_types)
{
	static const uint8_t types[] = {0, 12, 255};
	uint8_t buf[8];
	struct fcgi_record rec;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		fcgi_header_encode(buf, types[i], 9, 0, 0);
		ck_assert_int_eq(fcgi_record_decode(buf, sizeof(buf), &rec), 8);
		ck_assert_uint_eq(rec.type, types[i]);
	}
}
END_TEST

/* A multi-record stream decodes back, record by record, to the input. */
START_TEST(roundtrip_stream)
{
	const size_t n = 200000;
	size_t cap = fcgi_stream_size(n), off = 0, got = 0, records = 0;
	uint8_t *in = xmalloc(n), *wire = xmalloc(cap), *back = xmalloc(n);
	struct fcgi_record rec;
	ssize_t k;

	fill(in, n, 9);
	ck_assert_uint_eq(fcgi_stream_encode(wire, cap, FCGI_STDIN, 7, in, n), cap);
	while ((k = fcgi_record_decode(wire + off, cap - off, &rec)) > 0) {
		ck_assert_uint_eq(rec.type, FCGI_STDIN);
		ck_assert_uint_eq(rec.request_id, 7);
		ck_assert_uint_le(got + rec.content_length, n);
		memcpy(back + got, rec.content, rec.content_length);
		got += rec.content_length;
		off += (size_t)k;
		records++;
	}
	ck_assert_int_eq(k, 0);
	ck_assert_uint_eq(off, cap);
	ck_assert_uint_eq(records, 4);
	ck_assert_uint_eq(got, n);
	ck_assert_int_eq(memcmp(back, in, n), 0);
	free(in);
	free(wire);
	free(back);
}
END_TEST

static const struct {
	size_t nl, vl;
} pair_sizes[] = {
    {0, 0},   {1, 0},	  {0, 1},     {11, 3},	{127, 127},   {128, 0},
    {0, 128}, {127, 128}, {128, 127}, {300, 5}, {128, 70000}, {70000, 128},
};

START_TEST(roundtrip_pair)
{
	const size_t nl = pair_sizes[_i].nl, vl = pair_sizes[_i].vl;
	const size_t want = (nl < 128 ? 1 : 4) + (vl < 128 ? 1 : 4) + nl + vl;
	uint8_t *name = xmalloc(nl), *value = xmalloc(vl), *out = xmalloc(want);
	struct fcgi_pair pair;

	fill(name, nl, 11);
	fill(value, vl, 12);
	ck_assert_uint_eq(fcgi_pair_size(nl, vl), want);
	ck_assert_uint_eq(fcgi_pair_encode(out, want, name, nl, value, vl), want);
	ck_assert_int_eq(fcgi_pair_decode(out, want, &pair), (ssize_t)want);
	ck_assert_uint_eq(pair.name_len, nl);
	ck_assert_uint_eq(pair.value_len, vl);
	ck_assert_ptr_eq(pair.name, out + want - nl - vl);
	ck_assert_ptr_eq(pair.value, pair.name + nl);
	ck_assert_int_eq(memcmp(pair.name, name, nl), 0);
	ck_assert_int_eq(memcmp(pair.value, value, vl), 0);
	/* One byte short is incomplete, never a shorter pair. */
	ck_assert_int_eq(fcgi_pair_decode(out, want - 1, &pair), 0);
	free(name);
	free(value);
	free(out);
}
END_TEST

/* Several pairs back to back, as in one PARAMS stream. */
START_TEST(roundtrip_pair_sequence)
{
	static const char *const kv[][2] = {
	    {"GATEWAY_INTERFACE", "CGI/1.1"}, {"QUERY_STRING", ""}, {"", "empty name"}};
	uint8_t buf[128];
	size_t off = 0, i;
	struct fcgi_pair pair;
	ssize_t k;

	for (i = 0; i < ARRAY_SIZE(kv); i++) {
		size_t w = fcgi_pair_encode(buf + off, sizeof(buf) - off, kv[i][0],
					    strlen(kv[i][0]), kv[i][1], strlen(kv[i][1]));

		ck_assert_uint_gt(w, 0);
		off += w;
	}
	const size_t n = off;

	for (off = 0, i = 0; (k = fcgi_pair_decode(buf + off, n - off, &pair)) > 0; i++) {
		ck_assert_uint_lt(i, ARRAY_SIZE(kv));
		ck_assert_uint_eq(pair.name_len, strlen(kv[i][0]));
		ck_assert_uint_eq(pair.value_len, strlen(kv[i][1]));
		ck_assert_int_eq(memcmp(pair.name, kv[i][0], pair.name_len), 0);
		ck_assert_int_eq(memcmp(pair.value, kv[i][1], pair.value_len), 0);
		off += (size_t)k;
	}
	ck_assert_int_eq(k, 0);
	ck_assert_uint_eq(i, ARRAY_SIZE(kv));
	ck_assert_uint_eq(off, n);
}
END_TEST

/* ---- malformed and incomplete input, one row per branch ---------------- */

enum op {
	OP_RECORD, /* fcgi_record_decode(in, n) */
	OP_PEEK,   /* fcgi_record_peek(in, n) */
	OP_BEGIN,  /* fcgi_record_decode must succeed, then fcgi_begin_body_decode */
	OP_END,	   /* fcgi_record_decode must succeed, then fcgi_end_body_decode */
	OP_PAIR,   /* fcgi_pair_decode(in, n) */
};

struct bad_row {
	const char *name;
	enum op op;
	size_t n;
	uint8_t in[24];
	long want;
};

/* Header bytes: version, type, id hi, id lo, length hi, length lo, padding, reserved. */
#define HDR(v, t, cl, pad) v, t, 0x00, 0x01, 0x00, cl, pad, 0x00

static const struct bad_row bad[] = {
    /* fcgi_record_decode: version */
    {"version 0", OP_RECORD, 8, {HDR(0, 5, 0, 0)}, -EPROTO},
    {"version 2", OP_RECORD, 8, {HDR(2, 5, 0, 0)}, -EPROTO},
    {"version 255", OP_RECORD, 8, {HDR(255, 5, 0, 0)}, -EPROTO},
    {"version 2 with content", OP_RECORD, 9, {HDR(2, 5, 1, 0), 'x'}, -EPROTO},
    /* fcgi_record_decode: header incomplete (need more wins over version) */
    {"empty input", OP_RECORD, 0, {0}, 0},
    {"header 1 byte", OP_RECORD, 1, {HDR(1, 5, 0, 0)}, 0},
    {"header 2 bytes", OP_RECORD, 2, {HDR(1, 5, 0, 0)}, 0},
    {"header 3 bytes", OP_RECORD, 3, {HDR(1, 5, 0, 0)}, 0},
    {"header 4 bytes", OP_RECORD, 4, {HDR(1, 5, 0, 0)}, 0},
    {"header 5 bytes", OP_RECORD, 5, {HDR(1, 5, 0, 0)}, 0},
    {"header 6 bytes", OP_RECORD, 6, {HDR(1, 5, 0, 0)}, 0},
    {"header 7 bytes", OP_RECORD, 7, {HDR(1, 5, 0, 0)}, 0},
    {"header 7 bytes bad version", OP_RECORD, 7, {HDR(2, 5, 0, 0)}, 0},
    /* fcgi_record_decode: content and padding incomplete */
    {"content 0 of 1", OP_RECORD, 8, {HDR(1, 5, 1, 0)}, 0},
    {"content 4 of 5", OP_RECORD, 12, {HDR(1, 5, 5, 0), 'a', 'b', 'c', 'd'}, 0},
    {"content 0 of 65535", OP_RECORD, 8, {1, 5, 0, 1, 0xff, 0xff, 0, 0}, 0},
    {"padding 0 of 7", OP_RECORD, 9, {HDR(1, 5, 1, 7), 'x'}, 0},
    {"padding 6 of 7", OP_RECORD, 15, {HDR(1, 5, 1, 7), 'x', 0, 0, 0, 0, 0, 0}, 0},
    {"padding only, 2 of 3", OP_RECORD, 10, {HDR(1, 5, 0, 3), 0, 0}, 0},
    /* fcgi_record_decode: complete records (controls for the rows above) */
    {"exact empty record", OP_RECORD, 8, {HDR(1, 5, 0, 0)}, 8},
    {"exact padded record", OP_RECORD, 16, {HDR(1, 5, 1, 7), 'x', 0, 0, 0, 0, 0, 0, 0}, 16},
    {"record plus next header", OP_RECORD, 20, {HDR(1, 5, 4, 0), 'a', 'b', 'c', 'd', 1, 5}, 12},
    {"reserved byte ignored", OP_RECORD, 8, {1, 5, 0, 1, 0, 0, 0, 0xff}, 8},
    /* fcgi_record_peek */
    {"peek 7 bytes", OP_PEEK, 7, {HDR(1, 5, 0, 0)}, 0},
    {"peek version 0", OP_PEEK, 8, {HDR(0, 5, 0, 0)}, -EPROTO},
    {"peek header of max record", OP_PEEK, 8, {1, 5, 0, 1, 0xff, 0xff, 0xff, 0}, 65798},
    /* fcgi_begin_body_decode */
    {"BEGIN body 7 bytes", OP_BEGIN, 16, {HDR(1, 1, 7, 1), 0, 1, 0, 0, 0, 0, 0, 0}, -EBADMSG},
    {"BEGIN body 9 bytes", OP_BEGIN, 24, {HDR(1, 1, 9, 7), 0, 1, 0, 0, 0, 0, 0, 0, 0}, -EBADMSG},
    {"BEGIN body 0 bytes", OP_BEGIN, 8, {HDR(1, 1, 0, 0)}, -EBADMSG},
    {"BEGIN body on END record", OP_BEGIN, 16, {HDR(1, 3, 8, 0), 0, 1, 0, 0, 0, 0, 0, 0}, -EBADMSG},
    {"BEGIN body 8 bytes", OP_BEGIN, 16, {HDR(1, 1, 8, 0), 0, 1, 0, 0, 0, 0, 0, 0}, 0},
    /* fcgi_end_body_decode */
    {"END body 7 bytes", OP_END, 16, {HDR(1, 3, 7, 1), 0, 0, 0, 0, 0, 0, 0, 0}, -EBADMSG},
    {"END body 9 bytes", OP_END, 24, {HDR(1, 3, 9, 7), 0, 0, 0, 0, 0, 0, 0, 0, 0}, -EBADMSG},
    {"END body 0 bytes", OP_END, 8, {HDR(1, 3, 0, 0)}, -EBADMSG},
    {"END body on BEGIN record", OP_END, 16, {HDR(1, 1, 8, 0), 0, 0, 0, 0, 0, 0, 0, 0}, -EBADMSG},
    {"END body 8 bytes", OP_END, 16, {HDR(1, 3, 8, 0), 0, 0, 0, 0, 0, 0, 0, 0}, 0},
    /* fcgi_pair_decode */
    {"pair empty input", OP_PAIR, 0, {0}, 0},
    {"pair name length only", OP_PAIR, 1, {1}, 0},
    {"pair name 4-byte length 1 of 4", OP_PAIR, 1, {0x80, 0, 0, 1}, 0},
    {"pair name 4-byte length 2 of 4", OP_PAIR, 2, {0x80, 0, 0, 1}, 0},
    {"pair name 4-byte length 3 of 4", OP_PAIR, 3, {0x80, 0, 0, 1}, 0},
    {"pair value 4-byte length 1 of 4", OP_PAIR, 2, {1, 0x80, 0, 0, 1}, 0},
    {"pair value 4-byte length 3 of 4", OP_PAIR, 4, {1, 0x80, 0, 0, 1}, 0},
    {"pair name overruns", OP_PAIR, 4, {5, 0, 'a', 'b'}, 0},
    {"pair value overruns", OP_PAIR, 4, {1, 5, 'a', 'b'}, 0},
    {"pair name+value overrun by 1", OP_PAIR, 7, {3, 3, 'a', 'b', 'c', 'd', 'e'}, 0},
    {"pair name 0x7fffffff", OP_PAIR, 8, {0xff, 0xff, 0xff, 0xff, 1, 'a', 'b', 'c'}, 0},
    {"pair value 0x7fffffff", OP_PAIR, 8, {1, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'}, 0},
    {"pair both 0x7fffffff", OP_PAIR, 12, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0},
    /* fcgi_pair_decode: complete pairs (controls) */
    {"pair exact", OP_PAIR, 4, {1, 1, 'a', 'b'}, 4},
    {"pair empty name and value", OP_PAIR, 2, {0, 0}, 2},
    {"pair trailing byte not consumed", OP_PAIR, 5, {1, 1, 'a', 'b', 1}, 4},
    {"pair non-canonical 4-byte length", OP_PAIR, 7, {0x80, 0, 0, 1, 1, 'a', 'b'}, 7},
};

START_TEST(malformed)
{
	const struct bad_row *t = &bad[_i];
	uint8_t *in = xmalloc(t->n); /* exact size: ASan sees any overread */
	union {
		struct fcgi_record rec;
		struct fcgi_pair pair;
	} out, untouched;
	long got;

	memcpy(in, t->in, t->n);
	memset(&out, SENTINEL, sizeof(out));
	memset(&untouched, SENTINEL, sizeof(untouched));
	switch (t->op) {
	case OP_RECORD:
		got = fcgi_record_decode(in, t->n, &out.rec);
		break;
	case OP_PEEK:
		got = fcgi_record_peek(in, t->n, &out.rec);
		break;
	case OP_PAIR:
		got = fcgi_pair_decode(in, t->n, &out.pair);
		break;
	case OP_BEGIN: {
		uint16_t role = 0xaaaa;
		uint8_t flags = 0xaa;

		ck_assert_msg(fcgi_record_decode(in, t->n, &out.rec) == (ssize_t)t->n,
			      "%s: record does not decode", t->name);
		got = fcgi_begin_body_decode(&out.rec, &role, &flags);
		if (got == 0)
			ck_assert_msg(role == 1 && flags == 0, "%s: wrong body", t->name);
		else
			ck_assert_msg(role == 0xaaaa && flags == 0xaa, "%s: output changed",
				      t->name);
		break;
	}
	case OP_END: {
		uint32_t app = 0xaaaaaaaau;
		uint8_t ps = 0xaa;

		ck_assert_msg(fcgi_record_decode(in, t->n, &out.rec) == (ssize_t)t->n,
			      "%s: record does not decode", t->name);
		got = fcgi_end_body_decode(&out.rec, &app, &ps);
		if (got == 0)
			ck_assert_msg(app == 0 && ps == 0, "%s: wrong body", t->name);
		else
			ck_assert_msg(app == 0xaaaaaaaau && ps == 0xaa, "%s: output changed",
				      t->name);
		break;
	}
	default:
		ck_abort_msg("%s: bad op", t->name);
		return;
	}
	ck_assert_msg(got == t->want, "%s: got %ld, want %ld", t->name, got, t->want);
	/* Output parameters are untouched unless the call succeeds. */
	if (got <= 0 && (t->op == OP_RECORD || t->op == OP_PEEK || t->op == OP_PAIR))
		ck_assert_msg(memcmp(&out, &untouched, sizeof(out)) == 0, "%s: output changed",
			      t->name);
	if (got > 0 && t->op == OP_RECORD)
		ck_assert_msg(out.rec.content == in + 8, "%s: content pointer", t->name);
	if (got > 0 && t->op == OP_PAIR)
		ck_assert_msg(out.pair.value + out.pair.value_len == in + got, "%s: pair end",
			      t->name);
	free(in);
}
END_TEST

/* ---- encoders refusing -------------------------------------------------- */

START_TEST(pair_encode_refuses_long_lengths)
{
	uint8_t out[16];
	/* name/value are never read when a length is refused: 1-byte objects suffice */
	const char one = 'x';

	memset(out, SENTINEL, sizeof(out));
	ck_assert_uint_eq(fcgi_pair_encode(out, SIZE_MAX, &one, 0x80000000u, &one, 0), 0);
	ck_assert_uint_eq(fcgi_pair_encode(out, SIZE_MAX, &one, 0, &one, 0x80000000u), 0);
	ck_assert_uint_eq(fcgi_pair_encode(out, SIZE_MAX, &one, SIZE_MAX, &one, SIZE_MAX), 0);
	/* 0x7fffffff itself is legal, so only cap stops it here */
	ck_assert_uint_eq(fcgi_pair_encode(out, sizeof(out), &one, 0x7fffffffu, &one, 0), 0);
	ck_assert(all_bytes(out, sizeof(out), SENTINEL));
}
END_TEST

START_TEST(pair_encode_refuses_small_cap)
{
	static const uint8_t want[] = {3, 2, 'k', 'e', 'y', 'v', 'l'};
	uint8_t out[sizeof(want)];

	memset(out, SENTINEL, sizeof(out));
	for (size_t cap = 0; cap < sizeof(want); cap++)
		ck_assert_uint_eq(fcgi_pair_encode(out, cap, "key", 3, "vl", 2), 0);
	ck_assert(all_bytes(out, sizeof(out), SENTINEL));
	ck_assert_uint_eq(fcgi_pair_encode(out, sizeof(out), "key", 3, "vl", 2), sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(stream_encode_refuses_small_cap)
{
	static const size_t sizes[] = {0, 1, 8, 65535, 65536};
	uint8_t *in = xmalloc(65536), *out = xmalloc(65560);

	fill(in, 65536, 13);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t need = fcgi_stream_size(sizes[i]);

		memset(out, SENTINEL, 65560);
		ck_assert_uint_eq(fcgi_stream_encode(out, need - 1, FCGI_STDERR, 1, in, sizes[i]),
				  0);
		ck_assert_uint_eq(fcgi_stream_encode(out, 0, FCGI_STDERR, 1, in, sizes[i]), 0);
		ck_assert(all_bytes(out, 65560, SENTINEL));
		ck_assert_uint_eq(fcgi_stream_encode(out, need, FCGI_STDERR, 1, in, sizes[i]),
				  need);
	}
	free(in);
	free(out);
}
END_TEST

START_TEST(padding_for)
{
	static const uint8_t want[] = {0, 7, 6, 5, 4, 3, 2, 1, 0, 7};

	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		ck_assert_uint_eq(fcgi_padding_for(i), want[i]);
	ck_assert_uint_eq(fcgi_padding_for(65535), 1);
}
END_TEST

static Suite *fcgi_suite(void)
{
	Suite *s = suite_create("fcgi");
	TCase *tc;

	tc = tcase_create("golden");
	tcase_add_test(tc, golden_begin_request);
	tcase_add_test(tc, golden_end_request);
	tcase_add_test(tc, golden_abort_request);
	tcase_add_test(tc, golden_unknown_type);
	tcase_add_test(tc, golden_header);
	tcase_add_test(tc, golden_pair_short);
	tcase_add_test(tc, golden_pair_boundary);
	tcase_add_test(tc, golden_pair_long);
	tcase_add_test(tc, golden_pair_high_bits);
	tcase_add_loop_test(tc, golden_stream, 0, (int)ARRAY_SIZE(streams));
	tcase_add_test(tc, padding_for);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip");
	tcase_add_loop_test(tc, roundtrip_record_types, FCGI_BEGIN_REQUEST, FCGI_MAXTYPE + 1);
	tcase_add_test(tc, roundtrip_foreign_types);
	tcase_add_test(tc, roundtrip_stream);
	tcase_add_loop_test(tc, roundtrip_pair, 0, (int)ARRAY_SIZE(pair_sizes));
	tcase_add_test(tc, roundtrip_pair_sequence);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, malformed, 0, (int)ARRAY_SIZE(bad));
	tcase_add_test(tc, pair_encode_refuses_long_lengths);
	tcase_add_test(tc, pair_encode_refuses_small_cap);
	tcase_add_test(tc, stream_encode_refuses_small_cap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fcgi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
