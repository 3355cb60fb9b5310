/* SPDX-License-Identifier: MIT */
/*
 * Fuzz fcgi_pair_decode (section 3.4): decode name-value pairs one after
 * another until the decoder asks for more bytes. Each answer is checked
 * against an independent reference written with 64-bit arithmetic, and
 * every canonical pair must re-encode to the very bytes it came from.
 */
#include "fcgi.h"
#include "fuzz.h"

#include <string.h>

/* Reference: 1 or 4 length bytes, 0 if they are not all there. */
static uint64_t ref_len(const uint8_t *p, uint64_t n, uint64_t *ret)
{
	if (n < 1)
		return 0;
	if (p[0] < 0x80) {
		*ret = p[0];
		return 1;
	}
	if (n < 4)
		return 0;
	*ret =
	    ((uint64_t)(p[0] & 0x7f) << 24) | ((uint64_t)p[1] << 16) | ((uint64_t)p[2] << 8) | p[3];
	return 4;
}

/* Reference pair size, 0 when incomplete; ret_k1/ret_k2 are the length widths. */
static uint64_t ref_pair(const uint8_t *p, uint64_t n, uint64_t *ret_nl, uint64_t *ret_vl,
			 uint64_t *ret_k1, uint64_t *ret_k2)
{
	uint64_t k1, k2, nl = 0, vl = 0;

	k1 = ref_len(p, n, &nl);
	if (!k1)
		return 0;
	k2 = ref_len(p + k1, n - k1, &vl);
	if (!k2)
		return 0;
	if (k1 + k2 + nl + vl > n)
		return 0;
	*ret_nl = nl;
	*ret_vl = vl;
	*ret_k1 = k1;
	*ret_k2 = k2;
	return k1 + k2 + nl + vl;
}

static void check_reencode(const uint8_t *p, const struct fcgi_pair *pair, size_t k, uint64_t k1,
			   uint64_t k2)
{
	size_t need = fcgi_pair_size(pair->name_len, pair->value_len);
	uint8_t *out;

	/* 4-byte lengths may encode values < 128, so the wire can only be longer. */
	CHECK(need <= k);
	if (k1 != (pair->name_len < 128 ? 1u : 4u) || k2 != (pair->value_len < 128 ? 1u : 4u)) {
		CHECK(need < k);
		return;
	}
	CHECK(need == k);
	out = malloc(need);
	CHECK(out);
	CHECK(fcgi_pair_encode(out, need - 1, pair->name, pair->name_len, pair->value,
			       pair->value_len) == 0);
	CHECK(fcgi_pair_encode(out, need, pair->name, pair->name_len, pair->value,
			       pair->value_len) == need);
	CHECK(memcmp(out, p, need) == 0);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size;
	size_t off = 0;

	for (;;) {
		const uint8_t *p = data + off;
		size_t n = size - off;
		struct fcgi_pair pair;
		uint64_t nl = 0, vl = 0, k1 = 0, k2 = 0;
		uint64_t want = ref_pair(p, n, &nl, &vl, &k1, &k2);
		ssize_t k;

		memset(&pair, 0x5a, sizeof(pair));
		k = fcgi_pair_decode(p, n, &pair);
		CHECK(k >= 0); /* pairs have no malformed answer, only "need more" */
		CHECK((uint64_t)k == want);
		if (k == 0)
			break;
		CHECK((size_t)k <= n);
		CHECK(pair.name_len == nl && pair.value_len == vl);
		CHECK(pair.name_len <= FCGI_MAX_PAIR_LEN && pair.value_len <= FCGI_MAX_PAIR_LEN);
		CHECK(pair.name == p + k1 + k2);
		CHECK(pair.name >= data && pair.name <= end);
		CHECK(pair.name_len <= (size_t)(end - pair.name));
		CHECK(pair.value == pair.name + pair.name_len);
		CHECK(pair.value_len <= (size_t)(end - pair.value));
		CHECK(pair.value + pair.value_len == p + k);
		check_reencode(p, &pair, (size_t)k, k1, k2);
		off += (size_t)k;
	}
	CHECK(off <= size);
	return 0;
}
