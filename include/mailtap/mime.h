/* SPDX-License-Identifier: BSD-3-Clause */
/* Streaming MIME parser (RFC 5322/2045/2046/2047/2231), Zeek MIME_Entity semantics: fed the
 * bytes of one mail message (after SMTP dot-unstuffing, or BDAT chunk contents) in arbitrary
 * chunks, it reports entities, their unfolded headers and their decoded bodies through
 * callbacks. No I/O, no records. */
#ifndef MAILTAP_MIME_H
#define MAILTAP_MIME_H

#include <stddef.h>
#include <stdint.h>

struct mime_limits {
	uint32_t max_depth;	   /* nesting of multiparts / message/rfc822 (default 100) */
	uint32_t max_header_bytes; /* header block bytes of one entity (Zeek: 65536) */
	uint32_t max_line;	   /* longest line kept whole (longer lines are split) */
	uint32_t max_entities;	   /* entities per message */
};
void mime_limits__default(struct mime_limits *l);

/* What the headers of an entity said, valid during the headers_done() callback only. */
struct mime_entity_info {
	unsigned depth;		     /* 0: the message itself; 1: its parts, ... */
	const char *type, *subtype;  /* lowercased, "text"/"plain" when absent */
	const char *filename;	     /* decoded (RFC 2231/2047) name= or filename=, or NULL */
	size_t filename_len;
	const char *encoding;	     /* lowercased Content-Transfer-Encoding or NULL */
	int is_multipart;	     /* children follow; the entity has no body data of its own */
	int is_message;		     /* message/rfc822: an embedded mail follows */
};

struct mime_cb {
	void *u;
	/* A new entity starts (the message itself first). */
	void (*begin)(void *u, unsigned depth);
	/* One header of the current entity, unfolded, name as sent, value with leading white
	 * space removed (Zeek's mime_one_header). */
	void (*header)(void *u, unsigned depth, const char *name, size_t nlen, const char *value,
		       size_t vlen);
	/* The header block of the current entity ended. */
	void (*headers_done)(void *u, const struct mime_entity_info *e);
	/* Decoded body bytes of the current entity (base64/quoted-printable undone). */
	void (*data)(void *u, const uint8_t *buf, size_t len);
	/* `len` bytes of the current entity's body were lost to a gap. */
	void (*gap)(void *u, uint64_t len);
	/* The current entity ended. */
	void (*end)(void *u);
	/* An anomaly, with Zeek's weird name where Zeek has one (exceeded_mime_max_depth,
	 * exceeded_mime_max_header_bytes, base64_illegal_encoding, ...). */
	void (*weird)(void *u, const char *name, const char *addl);
};

struct mime_msg;

struct mime_msg *mime_msg__new(const struct mime_cb *cb, const struct mime_limits *lim);
/* Message bytes in arbitrary chunks. Consumes everything (keeps at most max_line bytes of
 * a partial line). 0 or -errno (sticky). */
int mime_msg__feed(struct mime_msg *m, const uint8_t *buf, size_t len);
/* `len` message bytes were lost. */
void mime_msg__gap(struct mime_msg *m, uint64_t len);
/* End of the message: ends every open entity. */
void mime_msg__end(struct mime_msg *m);
void mime_msg__free(struct mime_msg *m);

#endif
