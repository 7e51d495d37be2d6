// SPDX-License-Identifier: BSD-3-Clause
/* Community ID v1: SHA-1 over seed, the ordered endpoint addresses, protocol, a pad byte and
 * the ports in the same order; "1:" + base64. Endpoints ordered by address, ties by port. */
#include <openssl/evp.h>
#include <string.h>
#include "mailtap/community_id.h"
#include "mailtap/digest.h"

int community_id__v1(const struct conn_id *id, uint16_t seed, char out[COMMUNITY_ID_LEN])
{
	const struct mt_addr *a = &id->orig_h, *b = &id->resp_h;
	uint16_t pa = id->orig_p, pb = id->resp_p;
	bool v4 = mt_addr__is_v4(a) && mt_addr__is_v4(b);
	size_t alen = v4 ? 4 : 16, off = v4 ? 12 : 0, n = 0;
	uint8_t buf[2 + 16 + 16 + 2 + 4], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int c = memcmp(a->b + off, b->b + off, alen);

	if (c > 0 || (c == 0 && pa > pb)) {
		const struct mt_addr *t = a;
		uint16_t tp = pa;

		a = b;
		b = t;
		pa = pb;
		pb = tp;
	}
	buf[n++] = (uint8_t)(seed >> 8);
	buf[n++] = (uint8_t)seed;
	memcpy(buf + n, a->b + off, alen);
	n += alen;
	memcpy(buf + n, b->b + off, alen);
	n += alen;
	buf[n++] = id->proto;
	buf[n++] = 0;
	buf[n++] = (uint8_t)(pa >> 8);
	buf[n++] = (uint8_t)pa;
	buf[n++] = (uint8_t)(pb >> 8);
	buf[n++] = (uint8_t)pb;
	if (!EVP_Digest(buf, n, md, &mdlen, mt_md(MT_SHA1), NULL) || mdlen != 20) {
		out[0] = '\0';
		return 0;
	}
	memcpy(out, "1:", 2);
	return 2 + EVP_EncodeBlock((unsigned char *)out + 2, md, (int)mdlen);
}
