/* SPDX-License-Identifier: BSD-3-Clause */
/* Small value types shared by every layer: addresses, the connection 4-tuple, directions,
 * strings of records. */
#ifndef MAILTAP_TYPES_H
#define MAILTAP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 address. IPv4 is stored as an IPv4-mapped IPv6 address (::ffff:a.b.c.d),
 * so comparisons and hashing treat both families alike; mt_addr__is_v4() tells them apart. */
struct mt_addr {
	uint8_t b[16];
};

/* Directions of a connection, as Zeek's is_orig. */
enum mt_dir { MT_ORIG = 0, MT_RESP = 1 };

/* Zeek's conn_id: originator and responder endpoints (proto is not logged in id.*). */
struct conn_id {
	struct mt_addr orig_h;
	struct mt_addr resp_h;
	uint16_t orig_p; /* host order */
	uint16_t resp_p; /* host order */
	uint8_t proto;   /* IPPROTO_TCP */
};

/* Longest text form of an address, with the NUL (INET6_ADDRSTRLEN). */
#define MT_ADDR_STRLEN 46
/* Longest uid/fuid: one letter + base62 of 96 bits (17 digits) + NUL. */
#define MT_UID_LEN 20

/* A string of a record: its bytes and their number; s == NULL: unset. NUL bytes are kept, as
 * in Zeek's strings (a C string would end the field at the first one: "MAIL FROM:<\0x@y>"
 * would hide the address); s[n] is 0 all the same. */
struct mt_str {
	char *s;
	uint32_t n;
};

/* Copies n bytes (at most UINT32_MAX) into d, freeing what it held (s may point into it); on
 * failure d is unset. Returns 0 or -ENOMEM. */
int mt_str__set(struct mt_str *d, const void *s, size_t n);
void mt_str__free(struct mt_str *d);

void mt_addr__from_v4(struct mt_addr *a, const uint8_t v4[4]);
void mt_addr__from_v6(struct mt_addr *a, const uint8_t v6[16]);
bool mt_addr__is_v4(const struct mt_addr *a);
/* Zeek's text form: dotted quad for IPv4, RFC 5952 compressed for IPv6. Returns length. */
size_t mt_addr__fmt(const struct mt_addr *a, char *buf, size_t len);
/* Parses dotted quad or IPv6 text. Returns 0 or -EINVAL. */
int mt_addr__parse(struct mt_addr *a, const char *s);
int mt_addr__cmp(const struct mt_addr *x, const struct mt_addr *y);

/* Zeek's Host (base/utils/directions-and-hosts.zeek) for Known::host_tracking,
 * service_tracking and cert_tracking: which hosts the known_* streams follow. */
enum mt_tracking { MT_TRACK_LOCAL = 0, MT_TRACK_REMOTE, MT_TRACK_ALL };

/* addr_matches_host(): is_local as Site::is_local_addr (1; 0 or -1: not local). */
static inline int mt_tracking__match(enum mt_tracking t, int is_local)
{
	return t == MT_TRACK_ALL || (t == MT_TRACK_LOCAL) == (is_local == 1);
}

#endif
