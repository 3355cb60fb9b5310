/* SPDX-License-Identifier: MIT */
/*
 * Who may connect, in sfcgi itself (defence in depth beside systemd's
 * IPAddressAllow= and the socket file's mode, and the only check for an
 * instance started without systemd): "allow_from" (sfcgi.json(5)) holds IPv4
 * and IPv6 networks in CIDR notation, FCGI_WEB_SERVER_ADDRS (FastCGI §3.2)
 * adds exact addresses; "allow_peers" holds users and groups a unix socket's
 * peer must run as (SO_PEERCRED, its supplementary groups with
 * SO_PEERGROUPS).
 *
 * An IPv4 network is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d,
 * prefix + 96), so that a peer on a dual-stack socket (::ffff:10.0.0.5)
 * matches "10.0.0.5" as it should, with one comparison for both families.
 *
 * Pure: no I/O but the name lookups of allow_parse_peer() (ids.c, done at
 * config load, before the lock-down hides /etc/passwd).
 */
#ifndef SFCGI_ALLOW_H
#define SFCGI_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define ALLOW_MAX 1024 /* entries of each list */
/* "::ffff:255.255.255.255/128" and "uid:4294967295": room to print either */
#define ALLOW_TEXT 64

struct allow_net {
	uint8_t addr[16]; /* host bits past the prefix are zero */
	uint8_t bits;     /* 0..128 */
};

enum allow_peer_kind { ALLOW_UID, ALLOW_GID };

struct allow_peer {
	uint32_t kind; /* enum allow_peer_kind */
	uint32_t id;
};

struct allowlist {
	struct allow_net *nets;
	size_t nnets;
	bool from_set;   /* "allow_from" or FCGI_WEB_SERVER_ADDRS given: TCP peers are checked */
	struct allow_peer *peers;
	size_t npeers;
	bool peers_set;  /* "allow_peers" given: unix peers are checked */
};

/*
 * "10.0.0.5", "10.0.1.0/24", "fd00::/64", "::ffff:10.0.0.0/104": an address
 * (inet_pton, strictly: no leading zeros, no zone), optionally "/" and a
 * prefix length without sign or leading zero. Host bits set past the prefix
 * are refused (a typo as often as not). 0 and *ret, or -EINVAL with why
 * set to a phrase that follows the quoted entry in a message.
 */
int allow_parse_net(const char *s, struct allow_net *ret, char *why, size_t cap);

/*
 * "NAME" or "user:NAME" (a user), "group:NAME", "uid:N", "gid:N" into *ret;
 * names are looked up now. 0, or -EINVAL with the reason in why.
 */
int allow_parse_peer(const char *s, struct allow_peer *ret, char *why, size_t cap);

/* Appends; 0 or -ENOMEM / -E2BIG (more than ALLOW_MAX). */
int allow_add_net(struct allowlist *l, const struct allow_net *n);
int allow_add_peer(struct allowlist *l, const struct allow_peer *p);

/*
 * FCGI_WEB_SERVER_ADDRS ("10.0.0.5,10.0.0.6", commas or spaces): each entry
 * added as allow_from's are. Sets from_set even if no entry is valid (an
 * unreadable list lets no one in, as before); the first bad entry is
 * copied to bad (empty if none).
 */
int allow_add_env(struct allowlist *l, const char *value, char *bad, size_t cap);

/* The address of a peer as 16 bytes (IPv4 mapped); false for other families. */
bool allow_addr16(const struct sockaddr *sa, socklen_t len, uint8_t ret[16]);

bool allow_net_match(const struct allow_net *n, const uint8_t a[16]);

/* A TCP peer: true if from_set is false or an entry matches. */
bool allow_from(const struct allowlist *l, const uint8_t a[16]);

/* A unix peer running as uid/gid with groups[n]: true if peers_set is false
 * or an entry matches. */
bool allow_peer(const struct allowlist *l, uint32_t uid, uint32_t gid, const uint32_t *groups,
		size_t n);

/* Whether some "gid:"/"group:" entry exists (the supplementary groups are
 * worth a getsockopt). */
bool allow_wants_groups(const struct allowlist *l);

/* An address as text, a mapped IPv4 one as IPv4 ("10.0.0.5"). */
void allow_addr_text(const uint8_t a[16], char *buf, size_t cap);
/* An entry as "10.0.1.0/24" ("/32" and "/128" left out), "uid:33", "gid:33". */
void allow_net_text(const struct allow_net *n, char *buf, size_t cap);
void allow_peer_text(const struct allow_peer *p, char *buf, size_t cap);

void allow_free(struct allowlist *l);

#endif
