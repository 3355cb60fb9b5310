/* SPDX-License-Identifier: MIT */
/*
 * FastCGI 1.0 wire codec: bytes <-> records and name-value pairs.
 *
 * Pure functions: no I/O, no logging, no allocation. Decoders take
 * (const uint8_t *p, size_t n) and return the number of bytes consumed
 * (> 0), 0 when more bytes are needed, or a negative errno when the bytes
 * are malformed. Fields are decoded byte by byte; no struct is ever cast
 * over a buffer. Section numbers refer to the FastCGI 1.0 specification.
 */
#ifndef SFCGI_FCGI_H
#define SFCGI_FCGI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FCGI_VERSION_1 1
#define FCGI_HEADER_LEN 8
#define FCGI_MAX_CONTENT 65535u
#define FCGI_MAX_PADDING 255u
#define FCGI_MAX_RECORD (FCGI_HEADER_LEN + FCGI_MAX_CONTENT + FCGI_MAX_PADDING)
#define FCGI_NULL_REQUEST_ID 0
#define FCGI_MAX_PAIR_LEN 0x7fffffffu /* 31-bit lengths, section 3.4 */

/* Record types, section 8. */
enum fcgi_type {
	FCGI_BEGIN_REQUEST = 1,
	FCGI_ABORT_REQUEST = 2,
	FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_STDERR = 7,
	FCGI_DATA = 8,
	FCGI_GET_VALUES = 9,
	FCGI_GET_VALUES_RESULT = 10,
	FCGI_UNKNOWN_TYPE = 11,
	FCGI_MAXTYPE = FCGI_UNKNOWN_TYPE,
};

/* Roles, section 5.1. */
enum fcgi_role {
	FCGI_RESPONDER = 1,
	FCGI_AUTHORIZER = 2,
	FCGI_FILTER = 3,
};

#define FCGI_KEEP_CONN 1 /* FCGI_BeginRequestBody.flags */

/* FCGI_EndRequestBody.protocolStatus, section 5.5. */
enum fcgi_protocol_status {
	FCGI_REQUEST_COMPLETE = 0,
	FCGI_CANT_MPX_CONN = 1,
	FCGI_OVERLOADED = 2,
	FCGI_UNKNOWN_ROLE = 3,
};

struct fcgi_record {
	uint8_t version;
	uint8_t type;
	uint16_t request_id;
	uint16_t content_length;
	uint8_t padding_length;
	const uint8_t *content; /* points into the decoded buffer */
};

struct fcgi_pair {
	const uint8_t *name;
	uint32_t name_len;
	const uint8_t *value;
	uint32_t value_len;
};

/*
 * One record (section 3.3). Returns header+content+padding length, 0 when
 * the record is incomplete, -EPROTO when the version is not 1. Any type is
 * accepted: unknown types are the caller's to answer (section 4.2).
 */
ssize_t fcgi_record_decode(const uint8_t *p, size_t n, struct fcgi_record *ret);

/*
 * Only the header of the record at p (n >= FCGI_HEADER_LEN): lets a reader
 * size its buffer before the whole record is in. Returns the total record
 * length, 0 if fewer than 8 bytes, -EPROTO for a bad version.
 */
ssize_t fcgi_record_peek(const uint8_t *p, size_t n, struct fcgi_record *ret);

/*
 * FCGI_BeginRequestBody (section 5.1): content must be exactly 8 bytes.
 * rec must come from fcgi_record_decode() (content in the buffer), not
 * from fcgi_record_peek(). The same holds for fcgi_end_body_decode().
 */
int fcgi_begin_body_decode(const struct fcgi_record *rec, uint16_t *ret_role, uint8_t *ret_flags);

/* FCGI_EndRequestBody (section 5.5): content must be exactly 8 bytes. */
int fcgi_end_body_decode(const struct fcgi_record *rec, uint32_t *ret_app_status,
			 uint8_t *ret_protocol_status);

/*
 * One name-value pair (section 3.4) from a params stream. Returns bytes
 * consumed, or 0 when the lengths or the data run past n. Every 31-bit
 * length is legal on the wire, so "runs past the end" is the only failure;
 * the caller knows whether more bytes can come (a complete stream that
 * leaves bytes undecoded is malformed).
 */
ssize_t fcgi_pair_decode(const uint8_t *p, size_t n, struct fcgi_pair *ret);

/* Encoders. Each writes into out and returns bytes written. */

/* Padding that brings content_length to a multiple of 8 (section 3.3). */
static inline uint8_t fcgi_padding_for(size_t content_length)
{
	return (uint8_t)((8 - (content_length & 7)) & 7);
}

/* 8-byte header. content_length must be <= FCGI_MAX_CONTENT. */
size_t fcgi_header_encode(uint8_t out[FCGI_HEADER_LEN], uint8_t type, uint16_t request_id,
			  uint16_t content_length, uint8_t padding_length);

/* Complete 16-byte FCGI_BEGIN_REQUEST record. */
size_t fcgi_begin_request_encode(uint8_t out[16], uint16_t request_id, uint16_t role,
				 uint8_t flags);

/* Complete 16-byte FCGI_END_REQUEST record. */
size_t fcgi_end_request_encode(uint8_t out[16], uint16_t request_id, uint32_t app_status,
			       uint8_t protocol_status);

/* Complete 8-byte FCGI_ABORT_REQUEST record (no content, no padding). */
size_t fcgi_abort_request_encode(uint8_t out[FCGI_HEADER_LEN], uint16_t request_id);

/* Complete 16-byte FCGI_UNKNOWN_TYPE record (section 4.2). */
size_t fcgi_unknown_type_encode(uint8_t out[16], uint8_t type);

/* Bytes one pair takes on the wire: 1 or 4 bytes per length plus data. */
size_t fcgi_pair_size(size_t name_len, size_t value_len);

/*
 * One pair. Returns bytes written, or 0 when it does not fit in cap or a
 * length exceeds FCGI_MAX_PAIR_LEN.
 */
size_t fcgi_pair_encode(uint8_t *out, size_t cap, const void *name, size_t name_len,
			const void *value, size_t value_len);

/*
 * n bytes of a stream (STDOUT, STDERR, PARAMS, STDIN, DATA, ...) as
 * records of at most FCGI_MAX_CONTENT bytes each, padded to 8. The
 * end-of-stream record is not included: n == 0 writes just that empty
 * record. Returns bytes written, 0 if cap is too small or n is absurd
 * (fcgi_stream_size() tells how much is needed; SIZE_MAX if it overflows).
 */
size_t fcgi_stream_encode(uint8_t *out, size_t cap, uint8_t type, uint16_t request_id,
			  const void *data, size_t n);
size_t fcgi_stream_size(size_t n);

#endif
