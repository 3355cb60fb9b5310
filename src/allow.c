/* SPDX-License-Identifier: MIT */
/* See allow.h. */
#include "allow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"

static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool is_mapped(const uint8_t a[16])
{
	return memcmp(a, mapped_prefix, sizeof mapped_prefix) == 0;
}

/* "0".."max", digits only, no sign, no leading zero; -1 if not. */
static long small_number(const char *s, long max)
{
	long n = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > max)
			return -1;
	}
	return n;
}

int allow_parse_net(const char *s, struct allow_net *ret, char *why, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	struct allow_net n = { .bits = 128 };
	bool v4 = false;
	long bits;

	if (hlen == 0 || hlen >= sizeof host) {
		snprintf(why, cap, "is not an IPv4 or IPv6 address (or network in CIDR notation)");
		return -EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (inet_pton(AF_INET, host, n.addr + 12) == 1) {
		memcpy(n.addr, mapped_prefix, sizeof mapped_prefix);
		v4 = true;
	} else if (inet_pton(AF_INET6, host, n.addr) != 1) {
		snprintf(why, cap, "is not an IPv4 or IPv6 address (or network in CIDR notation "
			 "such as 10.0.1.0/24 or fd00::/64)");
		return -EINVAL;
	}
	if (slash) {
		bits = small_number(slash + 1, v4 ? 32 : 128);
		if (bits < 0) {
			snprintf(why, cap, "has no prefix length 0..%d after '/'", v4 ? 32 : 128);
			return -EINVAL;
		}
		n.bits = (uint8_t)(v4 ? bits + 96 : bits);
	}
	for (unsigned i = n.bits; i < 128; i++)
		if (n.addr[i / 8] & (0x80 >> (i % 8))) {
			struct allow_net net = n;
			char text[ALLOW_TEXT];

			for (unsigned j = n.bits; j < 128; j++)
				net.addr[j / 8] &= (uint8_t) ~(0x80 >> (j % 8));
			allow_net_text(&net, text, sizeof text);
			snprintf(why, cap, "has host bits set past its prefix (the network is %s)", text);
			return -EINVAL;
		}
	*ret = n;
	return 0;
}

/* A name (never a number: "uid:N"/"gid:N" say that) looked up now. */
static int by_name(const char *s, enum allow_peer_kind kind, uint32_t *ret, char *why, size_t cap)
{
	bool user = kind == ALLOW_UID;
	uid_t uid = 0;
	gid_t gid = 0;

	if (!*s || small_number(s, 0xfffffffeL) >= 0) {
		snprintf(why, cap, "is not a %s name (write %s for a number)", user ? "user" : "group",
			 user ? "uid:N" : "gid:N");
		return -EINVAL;
	}
	if ((user ? ids_user(s, &uid, &gid) : ids_group(s, &gid)) < 0) {
		snprintf(why, cap, "names no %s on this system", user ? "user" : "group");
		return -EINVAL;
	}
	*ret = user ? uid : gid;
	return 0;
}

int allow_parse_peer(const char *s, struct allow_peer *ret, char *why, size_t cap)
{
	static const struct {
		const char *prefix;
		enum allow_peer_kind kind;
		bool number;
	} forms[] = {
		{ "uid:", ALLOW_UID, true },
		{ "gid:", ALLOW_GID, true },
		{ "user:", ALLOW_UID, false },
		{ "group:", ALLOW_GID, false },
	};
	struct allow_peer p = { .kind = ALLOW_UID };

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		size_t k = strlen(forms[i].prefix);
		long n;

		if (strncmp(s, forms[i].prefix, k))
			continue;
		p.kind = forms[i].kind;
		if (!forms[i].number) {
			if (by_name(s + k, p.kind, &p.id, why, cap) < 0)
				return -EINVAL;
			*ret = p;
			return 0;
		}
		n = small_number(s + k, 0xfffffffeL); /* (uid_t)-1 is no one */
		if (n < 0) {
			snprintf(why, cap, "has no number 0..4294967294 after \"%s\"", forms[i].prefix);
			return -EINVAL;
		}
		p.id = (uint32_t)n;
		*ret = p;
		return 0;
	}
	if (strchr(s, ':')) {
		snprintf(why, cap, "is none of: NAME, user:NAME, group:NAME, uid:N, gid:N");
		return -EINVAL;
	}
	if (by_name(s, ALLOW_UID, &p.id, why, cap) < 0)
		return -EINVAL;
	*ret = p;
	return 0;
}

static int grow(void **v, size_t n, size_t size)
{
	void *p;

	if (n >= ALLOW_MAX)
		return -E2BIG;
	if (n & (n - 1)) /* room doubles at each power of two */
		return 0;
	p = realloc(*v, (n ? 2 * n : 4) * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

int allow_add_net(struct allowlist *l, const struct allow_net *n)
{
	int r = grow((void **)&l->nets, l->nnets, sizeof *n);

	if (r == 0)
		l->nets[l->nnets++] = *n;
	l->from_set = true;
	return r;
}

int allow_add_peer(struct allowlist *l, const struct allow_peer *p)
{
	int r = grow((void **)&l->peers, l->npeers, sizeof *p);

	if (r == 0)
		l->peers[l->npeers++] = *p;
	l->peers_set = true;
	return r;
}

int allow_add_env(struct allowlist *l, const char *value, char *bad, size_t cap)
{
	char item[INET6_ADDRSTRLEN + 8], why[160];
	int r = 0;

	l->from_set = true;
	if (cap)
		bad[0] = 0;
	for (const char *p = value + strspn(value, ", \t"); *p && r == 0;) {
		size_t n = strcspn(p, ", \t");
		struct allow_net net;

		snprintf(item, sizeof item, "%.*s", (int)n, p);
		if (n < sizeof item && allow_parse_net(item, &net, why, sizeof why) == 0)
			r = allow_add_net(l, &net);
		else if (cap && !bad[0])
			snprintf(bad, cap, "%.*s", (int)n, p);
		p += n;
		p += strspn(p, ", \t");
	}
	return r;
}

bool allow_addr16(const struct sockaddr *sa, socklen_t len, uint8_t ret[16])
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		memcpy(ret, mapped_prefix, sizeof mapped_prefix);
		memcpy(ret + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		memcpy(ret, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

bool allow_net_match(const struct allow_net *n, const uint8_t a[16])
{
	unsigned whole = n->bits / 8, rest = n->bits % 8;

	if (memcmp(n->addr, a, whole))
		return false;
	return !rest || ((n->addr[whole] ^ a[whole]) & (uint8_t)(0xff00 >> rest)) == 0;
}

bool allow_from(const struct allowlist *l, const uint8_t a[16])
{
	if (!l || !l->from_set)
		return true;
	for (size_t i = 0; i < l->nnets; i++)
		if (allow_net_match(&l->nets[i], a))
			return true;
	return false;
}

bool allow_peer(const struct allowlist *l, uint32_t uid, uint32_t gid, const uint32_t *groups,
		size_t n)
{
	if (!l || !l->peers_set)
		return true;
	for (size_t i = 0; i < l->npeers; i++) {
		const struct allow_peer *p = &l->peers[i];

		if (p->kind == ALLOW_UID ? p->id == uid : p->id == gid)
			return true;
		for (size_t j = 0; p->kind == ALLOW_GID && j < n; j++)
			if (groups[j] == p->id)
				return true;
	}
	return false;
}

bool allow_wants_groups(const struct allowlist *l)
{
	for (size_t i = 0; l && i < l->npeers; i++)
		if (l->peers[i].kind == ALLOW_GID)
			return true;
	return false;
}

void allow_addr_text(const uint8_t a[16], char *buf, size_t cap)
{
	char text[INET6_ADDRSTRLEN] = "?";

	if (is_mapped(a))
		inet_ntop(AF_INET, a + 12, text, sizeof text);
	else
		inet_ntop(AF_INET6, a, text, sizeof text);
	snprintf(buf, cap, "%s", text);
}

void allow_net_text(const struct allow_net *n, char *buf, size_t cap)
{
	char text[INET6_ADDRSTRLEN];

	/* host bits are zero: a mapped address has a prefix of 96 or more */
	allow_addr_text(n->addr, text, sizeof text);
	if (n->bits == 128)
		snprintf(buf, cap, "%s", text);
	else
		snprintf(buf, cap, "%s/%u", text, is_mapped(n->addr) ? n->bits - 96u : n->bits);
}

void allow_peer_text(const struct allow_peer *p, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s:%u", p->kind == ALLOW_UID ? "uid" : "gid", p->id);
}

void allow_free(struct allowlist *l)
{
	free(l->nets);
	free(l->peers);
	memset(l, 0, sizeof *l);
}
