// SPDX-License-Identifier: BSD-3-Clause
/* Streaming MIME parser with Zeek's MIME_Entity semantics (src/analyzer/protocol/mime/MIME.cc):
 * line framing (DATA or BDAT rules), header unfolding and parsing (Content-Type with its
 * boundary, Content-Transfer-Encoding), multipart boundaries, message/rfc822 children,
 * base64 (Zeek's Base64Converter: errors reported once per entity, incomplete last group
 * padded) and quoted-printable decoding, and Zeek's implicit-CRLF accounting.
 *
 * Entities form a stack: stack[0] is the message, stack[i+1] the current child of
 * stack[i]. A line goes down the stack from the top-level entity: an entity in its headers
 * takes it; a multipart entity checks it against its boundary, then hands it to its child;
 * a leaf decodes it. A DATA line longer than max_line goes down in pieces: the first decides
 * where the line goes (enum midline), the others follow it. Memory: one line (max_line), one
 * header (max_header_bytes + max_line), max_depth + 1 entities, each with its boundary and
 * filenames; nothing grows with the body or with the line. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/bits.h"
#include "mailtap/mime.h"
#include "mailtap/scan.h"
#include "mailtap/uri.h"

/* Base64 bodies are decoded across line ends in runs of whole lines of at most MIME_B64_RUN
 * bytes (b64_run_lines), when at least MIME_B64_RUN_MIN bytes are at hand. */
#define MIME_B64_RUN 8192
#define MIME_B64_RUN_MIN 256

/* Quoted-printable: a run of blanks held at the end of a cut piece of a line (struct qp_held)
 * is kept as the lengths of its stretches of one blank (SP or TAB), at most QP_STRETCHES. */
#define QP_STRETCHES 32

enum ctype { CT_MULTIPART, CT_MESSAGE, CT_TEXT, CT_OTHER };
enum cenc { CE_7BIT, CE_8BIT, CE_BINARY, CE_QP, CE_BASE64, CE_OTHER };
enum bnd { NOT_BOUNDARY, BOUNDARY, CLOSING_BOUNDARY };

/* What the first piece of a line cut at max_line was (DATA framing), for the pieces after it:
 * Zeek's ContentLine delivers the line whole, so they go where the first went. */
enum midline {
	MID_NONE,   /* no line in progress (or not cut) */
	MID_HEADER, /* a header line of the deepest entity: the rest is more of that header */
	MID_BODY,   /* a body line of entity mid_ent: the rest is decoded there */
	MID_IGNORE, /* the end of a header block, a boundary, a preamble or epilogue line */
	/* the first bnd_got bytes of the closing delimiter of multipart entity mid_ent ("--"
	 * boundary "--", longer than a piece): a boundary or not, depending on the rest */
	MID_BOUNDARY,
};

/* Event kinds reported once per entity through cb.event (all are counted). */
enum { EV_QP_HEX = 1, EV_QP_CTL = 2 };

/* Quoted-printable: the end of the pieces of a cut line so far whose decoding depends on the
 * rest of the line (qp_piece): an '=' (eq 1), or '=' and a hex digit (eq 2, the digit in hex:
 * one byte if another digit follows), and a run of blanks after the '=' or after bytes
 * decoded already (dropped if nothing but blanks follows in the line; with the '=' before
 * them, a soft line break). The run is the lengths of its stretches of one blank, SP and TAB
 * alternating from `first`: exact for any length, up to QP_STRETCHES stretches. */
struct qp_held {
	uint8_t eq;
	uint8_t hex;
	uint8_t first;
	unsigned nstretch;
	size_t stretch[QP_STRETCHES];
};

struct ent {
	unsigned depth;
	bool in_header;
	bool ended;
	bool delay_crlf; /* Zeek delay_adding_implicit_CRLF */
	enum ctype type;
	enum cenc enc;
	char type_s[32], sub_s[64], enc_s[32];
	bool has_enc_s;
	char *boundary; /* "--" boundary "--": the closing delimiter line */
	size_t blen;	/* of the boundary alone */
	/* Zeek Base64Converter */
	bool b64_on;
	uint8_t b64_group[4];
	int b64_next, b64_pad, b64_after_pad, b64_errored;
	unsigned ev_once;
	/* filenames */
	char *zfn; /* Zeek's, from the last matching header */
	size_t zfn_len;
	char *dfn; /* RFC 2231/2047 decoded */
	size_t dfn_len;
};

struct mime_msg {
	struct mime_cb cb;
	struct mime_limits lim;
	int err;
	bool ended;
	enum mime_framing fr;
	/* partial line */
	uint8_t *line;
	size_t llen, lcap;
	bool cr_pending; /* DATA: a CR ended the last line; swallow a following LF */
	/* DATA: a piece of the line in progress went through cut at max_line (enum midline) */
	uint8_t mid;
	unsigned mid_ent;
	size_t bnd_got;
	/* quoted-printable: the end of the pieces so far held for the rest of their line */
	struct qp_held qp;
	/* entity stack */
	struct ent *st;
	unsigned n, cap;
	/* the header being collected (only the deepest entity can be in its headers) */
	uint8_t *hdr;
	size_t hlen, hcap;
	bool hdr_active;
	/* raw Content-Disposition / Content-Type values of the entity in its headers */
	char *cd_val, *ct_val;
	size_t cd_len, ct_len;
	/* decoded data waiting for cb.data */
	uint8_t out[4096]; /* small: one per open message (an open DATA session costs it) */
	size_t olen;
	/* the consumer wants no more bytes of this entity (cb.data_wanted): olen counts
	 * decoded bytes that are not written, flushed as cb.skip */
	bool skip;
	/* weirds reported once per message */
	bool w_depth, w_hdr, w_ents, w_lf, w_cr, w_long;
	struct mime_stats stats;
};

void mime_limits__default(struct mime_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_depth = 100;	     /* Zeek MIME::max_depth */
	l->max_header_bytes = 65536; /* Zeek MIME::max_header_bytes */
	l->max_line = 4096;	     /* Zeek SMTP::bdat_max_line_length */
	l->max_entities = 10000;
	l->max_filename = 1024;
	l->decode_filenames = 0;
	l->max_header_total = 64ull << 20;
	l->max_open_messages = 100000;
}

/* Messages open now (mime_limits.max_open_messages), and the ones refused. */
static _Atomic uint64_t open_msgs, open_refused;

void mime__open_stats(uint64_t *open, uint64_t *refused)
{
	*open = atomic_load(&open_msgs);
	*refused = atomic_load(&open_refused);
}

/* Every message's header buffer bytes (mime_limits.max_header_total), and messages whose
 * header it cut (once a message, as the weird). */
static _Atomic uint64_t hdr_bytes, hdr_hits;

void mime__header_total_stats(uint64_t *bytes, uint64_t *hits)
{
	*bytes = atomic_load(&hdr_bytes);
	*hits = atomic_load(&hdr_hits);
}

/* ---- small helpers ---- */

static bool is_lws(uint8_t c)
{
	return c == 9 || c == 32;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Inlined: the literal's strlen is worked out at compile time. */
static inline __attribute__((always_inline)) bool ci_eq(const uint8_t *s, size_t n,
							const char *t)
{
	size_t i, l = strlen(t);

	if (n != l)
		return false;
	for (i = 0; i < n; i++)
		if (lower(s[i]) != lower((uint8_t)t[i]))
			return false;
	return true;
}

static void set_err(struct mime_msg *m, int err)
{
	if (!m->err)
		m->err = err;
}

static bool grow(struct mime_msg *m, uint8_t **buf, size_t *cap, size_t need, size_t max)
{
	size_t nc;
	uint8_t *p;

	if (need <= *cap)
		return true;
	if (need > max)
		return false;
	nc = *cap ? *cap : 256;
	while (nc < need)
		nc *= 2;
	if (nc > max)
		nc = max;
	p = realloc(*buf, nc);
	if (!p) {
		set_err(m, -ENOMEM);
		return false;
	}
	*buf = p;
	*cap = nc;
	return true;
}

static void flush_out(struct mime_msg *m);

static void weird(struct mime_msg *m, const char *name, const char *addl)
{
	flush_out(m);
	if (m->cb.weird)
		m->cb.weird(m->cb.u, name, addl);
}

static void event(struct mime_msg *m, const char *cat, const char *detail)
{
	if (!strcmp(cat, "illegal format"))
		m->stats.format_errors++;
	if (m->cb.event)
		m->cb.event(m->cb.u, cat, detail);
}

/* ---- decoded output ---- */

static void flush_out(struct mime_msg *m)
{
	if (!m->olen)
		return;
	m->stats.bytes_out += m->olen;
	if (m->skip) {
		m->stats.bytes_skipped += m->olen;
		m->cb.skip(m->cb.u, m->olen);
	} else {
		if (m->cb.data)
			m->cb.data(m->cb.u, m->out, m->olen);
		if (m->cb.data_wanted && m->cb.skip && !m->cb.data_wanted(m->cb.u))
			m->skip = true;
	}
	m->olen = 0;
}

/* The end of an entity (or the start of one): the next one's bytes are wanted again. */
static void end_skip(struct mime_msg *m)
{
	flush_out(m);
	m->skip = false;
}

static void out_byte(struct mime_msg *m, uint8_t c)
{
	if (m->olen == sizeof(m->out))
		flush_out(m);
	if (!m->skip)
		m->out[m->olen] = c;
	m->olen++;
}

/* p NULL: count only (skip mode's base64 runs); flushed at the same points either way. */
static void out_bytes(struct mime_msg *m, const uint8_t *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t k = sizeof(m->out) - m->olen;

		if (!k) {
			flush_out(m);
			continue;
		}
		if (k > n - done)
			k = n - done;
		if (p && !m->skip)
			memcpy(m->out + m->olen, p + done, k);
		m->olen += k;
		done += k;
	}
}

/* ---- RFC 822 lexical helpers (Zeek's MIME_* functions) ---- */

static size_t skip_comments(const uint8_t *d, size_t len)
{
	size_t i;
	int par = 0;

	if (len == 0 || d[0] != '(')
		return 0;
	for (i = 0; i < len; ++i) {
		switch (d[i]) {
		case '(':
			++par;
			break;
		case ')':
			if (--par == 0)
				return i + 1;
			break;
		case '\\':
			++i;
			break;
		}
	}
	return len;
}

static size_t skip_lws_comments(const uint8_t *d, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (is_lws(d[i]))
			++i;
		else if (d[i] == '(')
			i += skip_comments(d + i, len - i);
		else
			return i;
	}
	return len;
}

static bool is_tspecial(uint8_t c, bool boundary)
{
	if (boundary)
		return c == '"';
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == ',' || c == ';' ||
	       c == ':' || c == '\\' || c == '"' || c == '/' || c == '[' || c == ']' || c == '?' ||
	       c == '=';
}

static bool is_token_char(uint8_t c, bool boundary)
{
	return c >= 33 && c <= 126 && !is_tspecial(c, boundary);
}

static bool is_field_name_char(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Zeek MIME_get_token: skips anything that is not a token char. Returns the offset after the
 * token or -1. */
static long get_token(const uint8_t *d, size_t len, const uint8_t **tok, size_t *tlen,
		      bool boundary)
{
	size_t i = boundary ? 0 : skip_lws_comments(d, len), j;

	while (i < len) {
		if (is_token_char(d[i], boundary)) {
			for (j = i; j < len && is_token_char(d[j], boundary); j++)
				;
			*tok = d + i;
			*tlen = j - i;
			return (long)j;
		}
		j = skip_lws_comments(d + i, len - i);
		i += j > 0 ? j : 1;
	}
	return -1;
}

static long get_field_name(const uint8_t *d, size_t len, const uint8_t **name, size_t *nlen)
{
	size_t i = skip_lws_comments(d, len), j;

	while (i < len) {
		if (is_field_name_char(d[i])) {
			for (j = i; j < len && is_field_name_char(d[j]); j++)
				;
			*name = d + i;
			*nlen = j - i;
			return (long)j;
		}
		j = skip_lws_comments(d + i, len - i);
		i += j > 0 ? j : 1;
	}
	return -1;
}

static long get_slash_token_pair(const uint8_t *d, size_t len, const uint8_t **t1, size_t *l1,
				 const uint8_t **t2, size_t *l2)
{
	const uint8_t *start = d;
	long off = get_token(d, len, t1, l1, false);
	size_t o;

	if (off < 0)
		return -1;
	d += off;
	len -= (size_t)off;
	o = skip_lws_comments(d, len);
	if (o >= len || d[o] != '/')
		return -1;
	++o;
	d += o;
	len -= o;
	off = get_token(d, len, t2, l2, false);
	if (off < 0)
		return -1;
	d += off;
	return d - start;
}

/* Zeek MIME_get_quoted_string: str is the content between the quotes. */
static long get_quoted_string(const uint8_t *d, size_t len, const uint8_t **str, size_t *slen)
{
	size_t off = skip_lws_comments(d, len), i;

	len -= off;
	d += off;
	if (len == 0 || *d != '"')
		return -1;
	for (i = 1; i < len; ++i) {
		if (d[i] == '"') {
			*str = d + 1;
			*slen = i - 1;
			return (long)(off + i + 1);
		}
		if (d[i] == '\\')
			++i;
	}
	return -1;
}

/* Zeek MIME_get_value into a malloc'ed string (quoted pairs decoded). -1 when none. */
static long get_value(const uint8_t *d, size_t len, char **val, size_t *vlen, bool boundary)
{
	size_t off = boundary ? 0 : skip_lws_comments(d, len), i, j = 0;
	const uint8_t *s;
	size_t sl;
	long end;
	char *p;

	len -= off;
	d += off;
	if (len > 0 && *d == '"') {
		end = get_quoted_string(d, len, &s, &sl);
		if (end < 0)
			return -1;
		p = malloc(sl + 1);
		if (!p)
			return -1;
		for (i = 0; i < sl; i++) {
			if (s[i] == '\\') {
				if (++i < sl)
					p[j++] = (char)s[i];
			} else {
				p[j++] = (char)s[i];
			}
		}
		p[j] = 0;
		*val = p;
		*vlen = j;
		return (long)off + end;
	}
	end = get_token(d, len, &s, &sl, boundary);
	if (end < 0)
		return -1;
	p = malloc(sl + 1);
	if (!p)
		return -1;
	memcpy(p, s, sl);
	p[sl] = 0;
	*val = p;
	*vlen = sl;
	return (long)off + end;
}

/* ---- filenames ---- */

/* Zeek: /name[[:blank:]]*\*?=/ (ci) present at p? Returns the match end (after the '='
 * and the blanks that follow) or 0. */
static size_t name_eq_at(const uint8_t *v, size_t n, size_t p, bool star)
{
	size_t i = p + 4;

	if (p + 4 > n || lower(v[p]) != 'n' || lower(v[p + 1]) != 'a' || lower(v[p + 2]) != 'm' ||
	    lower(v[p + 3]) != 'e')
		return 0;
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (star && i < n && v[i] == '*')
		i++;
	if (i >= n || v[i] != '=')
		return 0;
	i++;
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	return i;
}

static bool zeek_lang_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c >= 0x2b && c <= 0x5e) || c == '!' || c == '#' || c == '$' || c == '%' ||
	       c == '&' || c == '_' || c == '`' || c == '{' || c == '}' || c == '~';
}

/* scripts/base/protocols/smtp/entities.zeek + base/utils/files.zeek
 * extract_filename_from_content_disposition(). is_cd: the Content-Disposition trigger
 * /filename[[:blank:]]*\*?=/, else Content-Type's /name[[:blank:]]*=/. */
static bool zeek_filename(const uint8_t *v, size_t n, bool is_cd, uint8_t *out, size_t *olen)
{
	size_t p, e, end = 0, a, b, i, last;
	bool trig = false;

	for (p = 0; p + 4 <= n; p++) {
		if (!is_cd && name_eq_at(v, n, p, false))
			trig = true;
		if (is_cd && p >= 4 && lower(v[p - 4]) == 'f' && lower(v[p - 3]) == 'i' &&
		    lower(v[p - 2]) == 'l' && lower(v[p - 1]) == 'e' && name_eq_at(v, n, p, true))
			trig = true;
		e = name_eq_at(v, n, p, true);
		if (e)
			end = e; /* the rightmost match is the longest */
	}
	if (!trig)
		return false;
	a = end;
	b = n;
	if (a < n && v[a] == '"') {
		a++;
		for (i = a; i < n && v[i] != '"'; i++)
			;
		b = i;
	}
	/* ^[cls]+'[cls]*' -> strip through the last quote */
	for (i = a; i < b && zeek_lang_char(v[i]); i++)
		;
	if (i > a && i < b && v[i] == '\'') {
		for (i = i + 1; i < b && zeek_lang_char(v[i]); i++)
			;
		if (i < b && v[i] == '\'') {
			for (last = b; last > a && v[last - 1] != '\''; last--)
				;
			a = last;
		}
	}
	*olen = mt_unescape_uri(v + a, b - a, out, b - a);
	return true;
}

static void set_str(struct mime_msg *m, char **dst, size_t *dlen, const uint8_t *s, size_t n)
{
	char *p;

	if (m->lim.max_filename && n > m->lim.max_filename)
		n = m->lim.max_filename;
	p = malloc(n + 1);
	if (!p) {
		set_err(m, -ENOMEM);
		return;
	}
	memcpy(p, s, n);
	p[n] = 0;
	free(*dst);
	*dst = p;
	*dlen = n;
}

/* RFC 2047: decodes the encoded words of s (charset kept as bytes). */
static size_t rfc2047(const uint8_t *s, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0, ws_o = 0, last_end = 0, k;
	bool prev_ew = false;

	/* the last "?=": an encoded word must end at or before it (keeps this linear) */
	for (k = n; k >= 2; k--)
		if (s[k - 2] == '?' && s[k - 1] == '=') {
			last_end = k - 2;
			break;
		}
	while (i < n) {
		if (i + 1 < n && s[i] == '=' && s[i + 1] == '?' && i + 2 < last_end) {
			/* =?charset?E?text?= */
			size_t q1, q2, q3;

			for (q1 = i + 2; q1 < n && s[q1] != '?'; q1++)
				;
			q2 = q1 + 2;
			if (q1 + 2 < n && q2 < last_end && s[q2] == '?' &&
			    (lower(s[q1 + 1]) == 'b' || lower(s[q1 + 1]) == 'q')) {
				for (q3 = q2 + 1; q3 + 1 < n && !(s[q3] == '?' && s[q3 + 1] == '=');
				     q3++)
					;
				if (q3 + 1 < n) {
					size_t k;

					if (prev_ew)
						o = ws_o; /* white space between encoded words goes
							   */
					if (lower(s[q1 + 1]) == 'q') {
						for (k = q2 + 1; k < q3; k++) {
							if (s[k] == '_') {
								out[o++] = ' ';
							} else if (s[k] == '=' && k + 2 < q3 &&
								   mt_hexval(s[k + 1]) >= 0 &&
								   mt_hexval(s[k + 2]) >= 0) {
								out[o++] =
								    (uint8_t)(mt_hexval(s[k + 1]) *
										  16 +
									      mt_hexval(s[k + 2]));
								k += 2;
							} else {
								out[o++] = s[k];
							}
						}
					} else {
						uint32_t acc = 0;
						int bits = 0;

						for (k = q2 + 1; k < q3; k++) {
							int v;
							uint8_t c = s[k];

							if (c >= 'A' && c <= 'Z')
								v = c - 'A';
							else if (c >= 'a' && c <= 'z')
								v = c - 'a' + 26;
							else if (c >= '0' && c <= '9')
								v = c - '0' + 52;
							else if (c == '+')
								v = 62;
							else if (c == '/')
								v = 63;
							else
								continue;
							acc = (acc << 6) | (uint32_t)v;
							bits += 6;
							if (bits >= 8) {
								bits -= 8;
								out[o++] = (uint8_t)(acc >> bits);
							}
						}
					}
					i = q3 + 2;
					prev_ew = true;
					ws_o = o;
					continue;
				}
			}
		}
		if (prev_ew && !is_space(s[i]))
			prev_ew = false;
		out[o++] = s[i++];
	}
	return o;
}

/* RFC 2231 / plain parameter `want` ("filename" or "name") of a header value. */
static bool param_decoded(const uint8_t *v, size_t n, const char *want, uint8_t *out, size_t *olen)
{
	size_t i = 0, wl = strlen(want), o = 0;
	bool found = false, ext_any = false;
	/* segments in order of appearance; RFC 2231 sections are normally sent in order */
	int next_sec = 0;
	uint8_t *plain = NULL;
	size_t plain_len = 0;

	while (i < n) {
		size_t a, al, vs, ve;
		bool quoted = false, star = false;
		long sec = -1;

		while (i < n && v[i] != ';')
			i++;
		if (i >= n)
			break;
		i++;
		while (i < n && is_space(v[i]))
			i++;
		a = i;
		while (i < n && v[i] != '=' && v[i] != ';' && !is_space(v[i]))
			i++;
		al = i - a;
		while (i < n && is_space(v[i]))
			i++;
		if (i >= n || v[i] != '=')
			continue;
		i++;
		while (i < n && is_space(v[i]))
			i++;
		if (i < n && v[i] == '"') {
			quoted = true;
			vs = ++i;
			while (i < n && v[i] != '"') {
				if (v[i] == '\\')
					i++;
				i++;
			}
			ve = i < n ? i : n;
			if (i < n)
				i++;
		} else {
			vs = i;
			while (i < n && v[i] != ';' && !is_space(v[i]))
				i++;
			ve = i;
		}
		/* attribute: want, want*, want*N, want*N* */
		if (al < wl || strncasecmp((const char *)v + a, want, wl) != 0)
			continue;
		if (al > wl) {
			size_t k = a + wl;

			if (v[k] != '*')
				continue;
			k++;
			if (k < a + al && v[k] >= '0' && v[k] <= '9') {
				sec = 0;
				/* capped: a section past 10^8 can never be the next one */
				while (k < a + al && v[k] >= '0' && v[k] <= '9') {
					if (sec < 100000000)
						sec = sec * 10 + (v[k] - '0');
					k++;
				}
				if (k < a + al && v[k] == '*') {
					star = true;
					k++;
				}
				if (k != a + al)
					continue;
			} else if (k == a + al) {
				star = true;
			} else {
				continue;
			}
		}
		if (sec < 0 && !star) {
			/* plain name="..." */
			if (!plain) {
				plain = (uint8_t *)v + vs;
				plain_len = ve - vs;
				if (quoted) {
					/* quoted pairs */
					size_t k, q = 0;
					uint8_t *tmp = out + n; /* scratch after the output */

					for (k = vs; k < ve; k++) {
						if (v[k] == '\\' && k + 1 < ve)
							k++;
						tmp[q++] = v[k];
					}
					plain = tmp;
					plain_len = q;
				}
			}
			continue;
		}
		if (sec > 0 && sec != next_sec)
			continue; /* out of order or missing section */
		next_sec = (int)(sec < 0 ? 1 : sec + 1);
		found = true;
		{
			size_t k = vs;

			if (star && sec <= 0) {
				/* charset'language'value */
				size_t q = vs;
				int quotes = 0;

				while (q < ve && quotes < 2) {
					if (v[q] == '\'')
						quotes++;
					q++;
				}
				if (quotes == 2)
					k = q;
			}
			for (; k < ve; k++) {
				if (star && v[k] == '%' && k + 2 < ve && mt_hexval(v[k + 1]) >= 0 &&
				    mt_hexval(v[k + 2]) >= 0) {
					out[o++] = (uint8_t)(mt_hexval(v[k + 1]) * 16 +
							     mt_hexval(v[k + 2]));
					k += 2;
				} else {
					out[o++] = v[k];
				}
			}
			ext_any = ext_any || star;
		}
	}
	if (found) {
		*olen = o;
		return true;
	}
	if (plain) {
		memmove(out, plain, plain_len);
		*olen = plain_len;
		return true;
	}
	return false;
}

/* At the end of an entity's headers: the RFC 2231/2047 decoded filename. */
static void decode_filename(struct mime_msg *m, struct ent *e)
{
	uint8_t *tmp, *tmp2;
	size_t cap = (m->cd_len > m->ct_len ? m->cd_len : m->ct_len) * 2 + 16, l = 0;
	bool ok = false;

	if (!m->cd_val && !m->ct_val)
		return;
	tmp = malloc(cap);
	tmp2 = malloc(cap);
	if (!tmp || !tmp2) {
		free(tmp);
		free(tmp2);
		set_err(m, -ENOMEM);
		return;
	}
	if (m->cd_val)
		ok = param_decoded((uint8_t *)m->cd_val, m->cd_len, "filename", tmp, &l);
	if (!ok && m->ct_val)
		ok = param_decoded((uint8_t *)m->ct_val, m->ct_len, "name", tmp, &l);
	if (ok) {
		l = rfc2047(tmp, l, tmp2);
		set_str(m, &e->dfn, &e->dfn_len, tmp2, l);
	}
	free(tmp);
	free(tmp2);
}

/* ---- headers ---- */

static void keep_val(struct mime_msg *m, char **dst, size_t *dl, const uint8_t *v, size_t n)
{
	char *p = malloc(n + 1);

	if (!p) {
		set_err(m, -ENOMEM);
		return;
	}
	memcpy(p, v, n);
	p[n] = 0;
	free(*dst);
	*dst = p;
	*dl = n;
}

static void parse_params(struct mime_msg *m, struct ent *e, const uint8_t *d, size_t len)
{
	const uint8_t *attr;
	size_t alen, off;
	long o;

	for (;;) {
		char *val = NULL;
		size_t vlen = 0;

		off = skip_lws_comments(d, len);
		if (off >= len || d[off] != ';')
			break;
		++off;
		d += off;
		len -= off;
		o = get_token(d, len, &attr, &alen, false);
		if (o < 0) {
			event(m, "illegal format",
			      "attribute name not found in parameter specification");
			return;
		}
		d += o;
		len -= (size_t)o;
		off = skip_lws_comments(d, len);
		if (off >= len || d[off] != '=') {
			event(m, "illegal format", "= not found in parameter specification");
			continue;
		}
		++off;
		d += off;
		len -= off;
		if (e->type == CT_MULTIPART && ci_eq(attr, alen, "boundary")) {
			o = get_value(d, len, &val, &vlen, true);
			if (!val) {
				event(m, "illegal format", "Could not parse multipart boundary");
				continue;
			}
			free(e->boundary);
			e->boundary = malloc(vlen + 5);
			e->blen = vlen;
			if (!e->boundary) {
				set_err(m, -ENOMEM);
			} else {
				memcpy(e->boundary, "--", 2);
				memcpy(e->boundary + 2, val, vlen);
				memcpy(e->boundary + 2 + vlen, "--", 3);
			}
		} else {
			o = get_value(d, len, &val, &vlen, false);
		}
		free(val);
		if (o < 0) {
			event(m, "illegal format", "value not found in parameter specification");
			continue;
		}
		d += o;
		len -= (size_t)o;
	}
}

static void copy_lower(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	size_t i;

	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++)
		dst[i] = (char)lower(s[i]);
	dst[n] = 0;
}

static void parse_content_type(struct mime_msg *m, struct ent *e, const uint8_t *v, size_t n)
{
	const uint8_t *t, *s;
	size_t tl, sl;
	long off = get_slash_token_pair(v, n, &t, &tl, &s, &sl);

	if (off < 0) {
		event(m, "illegal format", "media type/subtype not found in content type");
		return;
	}
	copy_lower(e->type_s, sizeof(e->type_s), t, tl);
	copy_lower(e->sub_s, sizeof(e->sub_s), s, sl);
	if (ci_eq(t, tl, "multipart"))
		e->type = CT_MULTIPART;
	else if (ci_eq(t, tl, "message"))
		e->type = CT_MESSAGE;
	else if (ci_eq(t, tl, "text"))
		e->type = CT_TEXT;
	else
		e->type = CT_OTHER;
	if (e->type == CT_MULTIPART || e->type == CT_MESSAGE)
		parse_params(m, e, v + off, n - (size_t)off);
	if (e->type == CT_MULTIPART && !e->boundary) {
		event(m, "illegal format",
		      "boundary delimiter is not specified for a multipart entity -- content is "
		      "treated as type application/octet-stream");
		e->type = CT_OTHER;
	}
}

static void parse_cte(struct mime_msg *m, struct ent *e, const uint8_t *v, size_t n)
{
	const uint8_t *t;
	size_t tl;

	if (get_token(v, n, &t, &tl, false) < 0) {
		event(m, "illegal format", "encoding type not found in content encoding");
		return;
	}
	copy_lower(e->enc_s, sizeof(e->enc_s), t, tl);
	e->has_enc_s = true;
	if (ci_eq(t, tl, "7bit"))
		e->enc = CE_7BIT;
	else if (ci_eq(t, tl, "8bit"))
		e->enc = CE_8BIT;
	else if (ci_eq(t, tl, "binary"))
		e->enc = CE_BINARY;
	else if (ci_eq(t, tl, "quoted-printable"))
		e->enc = CE_QP;
	else if (ci_eq(t, tl, "base64"))
		e->enc = CE_BASE64;
	else
		e->enc = CE_OTHER;
}

static void finish_header(struct mime_msg *m, struct ent *e)
{
	const uint8_t *d = m->hdr, *name, *val;
	size_t len = m->hlen, nlen, vlen, off;
	long o;

	if (!m->hdr_active)
		return;
	m->hdr_active = false;
	o = get_field_name(d, len, &name, &nlen);
	if (o < 0)
		return;
	d += o;
	len -= (size_t)o;
	off = skip_lws_comments(d, len);
	if (off >= len || d[off] != ':')
		return; /* malformed header line */
	val = d + off + 1;
	vlen = len - off - 1;
	while (vlen && is_space(*val)) {
		val++;
		vlen--;
	}
	if (ci_eq(name, nlen, "content-type"))
		parse_content_type(m, e, val, vlen);
	else if (ci_eq(name, nlen, "content-transfer-encoding"))
		parse_cte(m, e, val, vlen);
	flush_out(m);
	if (m->cb.header)
		m->cb.header(m->cb.u, e->depth, (const char *)name, nlen, (const char *)val, vlen);

	if (ci_eq(name, nlen, "content-disposition") || ci_eq(name, nlen, "content-type")) {
		bool cd = ci_eq(name, nlen, "content-disposition");
		uint8_t *tmp = malloc(vlen * 2 + 1);
		size_t tl;

		if (!tmp) {
			set_err(m, -ENOMEM);
			return;
		}
		if (zeek_filename(val, vlen, cd, tmp, &tl))
			set_str(m, &e->zfn, &e->zfn_len, tmp, tl);
		free(tmp);
		if (cd)
			keep_val(m, &m->cd_val, &m->cd_len, val, vlen);
		else
			keep_val(m, &m->ct_val, &m->ct_len, val, vlen);
	}
}

/* A header buffer up to this size never counts against max_header_total's refusal. */
static size_t hdr_keep(const struct mime_msg *m)
{
	size_t k = (size_t)m->lim.max_line + 2;

	return k > 8192 ? k : 8192;
}

/* grow() for the header buffer, within max_header_total: 1 grown, 0 no (too large, or no
 * memory: m's error set), -1 refused by the total. */
static int hdr_grow(struct mime_msg *m, size_t need)
{
	size_t max = (size_t)m->lim.max_header_bytes + m->lim.max_line + 2, nc;
	uint64_t more, total = m->lim.max_header_total;
	uint8_t *p;

	if (need <= m->hcap)
		return 1;
	if (need > max)
		return 0;
	nc = m->hcap ? m->hcap : 256;
	while (nc < need)
		nc *= 2;
	if (nc > max)
		nc = max;
	more = nc - m->hcap;
	if (atomic_fetch_add(&hdr_bytes, more) + more > total && total && nc > hdr_keep(m)) {
		atomic_fetch_sub(&hdr_bytes, more);
		return -1;
	}
	p = realloc(m->hdr, nc);
	if (!p) {
		atomic_fetch_sub(&hdr_bytes, more);
		set_err(m, -ENOMEM);
		return 0;
	}
	m->hdr = p;
	m->hcap = nc;
	return 1;
}

/* The header buffer given back (hlen must not matter any more). */
static void hdr_release(struct mime_msg *m)
{
	free(m->hdr);
	atomic_fetch_sub(&hdr_bytes, m->hcap);
	m->hdr = NULL;
	m->hcap = 0;
	m->hlen = 0;
}

/* finish_header(), then a large buffer given back. */
static void end_header(struct mime_msg *m, struct ent *e)
{
	finish_header(m, e);
	if (m->hcap > hdr_keep(m))
		hdr_release(m);
}

static void new_header(struct mime_msg *m, struct ent *e, const uint8_t *d, size_t len)
{
	end_header(m, e);
	if (len == 0)
		return;
	if (hdr_grow(m, len) <= 0)
		return;
	memcpy(m->hdr, d, len);
	m->hlen = len;
	m->hdr_active = true;
}

static void cont_header(struct mime_msg *m, struct ent *e, const uint8_t *d, size_t len)
{
	size_t ws;
	int g;

	if (!m->hdr_active) {
		event(m, "illegal format", "first header line starts with linear whitespace");
		for (ws = 0; ws < len && is_lws(d[ws]); ws++)
			;
		new_header(m, e, d + ws, len - ws);
		return;
	}
	g = 1;
	if ((m->lim.max_header_bytes && m->hlen >= m->lim.max_header_bytes) ||
	    (g = hdr_grow(m, m->hlen + len)) < 0) {
		m->stats.header_bytes_exceeded++;
		if (!m->w_hdr) {
			char addl[24];

			if (g < 0)
				atomic_fetch_add(&hdr_hits, 1);
			m->w_hdr = true;
			snprintf(addl, sizeof(addl), "%zu", m->hlen);
			weird(m, "exceeded_mime_max_header_bytes", addl);
		}
		return;
	}
	if (!g)
		return;
	memcpy(m->hdr + m->hlen, d, len);
	m->hlen += len;
}

static void headers_done(struct mime_msg *m, struct ent *e)
{
	struct mime_entity_info info;

	decode_filename(m, e);
	free(m->cd_val);
	free(m->ct_val);
	m->cd_val = m->ct_val = NULL;
	m->cd_len = m->ct_len = 0;
	if (!m->cb.headers_done)
		return;
	flush_out(m);
	memset(&info, 0, sizeof(info));
	info.depth = e->depth;
	info.type = e->type_s;
	info.subtype = e->sub_s;
	if (m->lim.decode_filenames) {
		info.filename = e->dfn;
		info.filename_len = e->dfn_len;
	} else {
		info.filename = e->zfn;
		info.filename_len = e->zfn_len;
	}
	info.filename_decoded = e->dfn;
	info.filename_decoded_len = e->dfn_len;
	info.encoding = e->has_enc_s ? e->enc_s : NULL;
	info.is_multipart = e->type == CT_MULTIPART;
	info.is_message = e->type == CT_MESSAGE;
	m->cb.headers_done(m->cb.u, &info);
}

/* ---- base64 (Zeek Base64Converter) ---- */

static const int8_t b64_table[256] = {
    ['A'] = 1,	['B'] = 2,  ['C'] = 3,	['D'] = 4,  ['E'] = 5,	['F'] = 6,  ['G'] = 7,	['H'] = 8,
    ['I'] = 9,	['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
    ['='] = 1,
};

/* The fast path's tables: 6-bit values, 0x80 for everything else ('=' included); and the
 * 12 bits of two characters at once, indexed by the two bytes as a little-endian 16-bit
 * value, 0x8000 when either is not a plain base64 character (128 KiB, built at start). */
static uint8_t b64_fast[256];
static uint16_t b64_pair[65536];

__attribute__((constructor)) static void b64_fast_init(void)
{
	for (int i = 0; i < 256; i++)
		b64_fast[i] = b64_table[i] && i != '=' ? (uint8_t)(b64_table[i] - 1) : 0x80;
	for (int i = 0; i < 65536; i++) {
		uint8_t a = b64_fast[i & 0xff], b = b64_fast[i >> 8];

		b64_pair[i] = (a | b) & 0x80 ? 0x8000 : (uint16_t)(a << 6 | b);
	}
} /* value + 1; 0: not base64 */

static void b64_weird(struct mime_msg *m, const char *msg)
{
	weird(m, "base64_illegal_encoding", msg);
}

static void b64_group_done(struct mime_msg *m, struct ent *e)
{
	uint32_t bits;
	int n;

	if (e->b64_after_pad) {
		if (++e->b64_errored == 1)
			b64_weird(m, "extra base64 groups after '=' padding are ignored");
		e->b64_next = 0;
		return;
	}
	n = 3 - e->b64_pad;
	bits = (uint32_t)e->b64_group[0] << 18 | (uint32_t)e->b64_group[1] << 12 |
	       (uint32_t)e->b64_group[2] << 6 | e->b64_group[3];
	if (n > 0)
		out_byte(m, (uint8_t)(bits >> 16));
	if (n > 1)
		out_byte(m, (uint8_t)(bits >> 8));
	if (n > 2)
		out_byte(m, (uint8_t)bits);
	if (e->b64_pad > 0)
		e->b64_after_pad = 1;
	e->b64_next = 0;
	e->b64_pad = 0;
}

/* Skip mode: nobody wants the bytes, so a run of plain characters only advances the group
 * and counts its output (the group's values no longer matter). Not while a '=' is pending in
 * the group or after one: the group's end then emits fewer bytes and ignores what follows. */
static bool b64_can_count(const struct mime_msg *m, const struct ent *e)
{
	return m->skip && !e->b64_after_pad && !e->b64_pad;
}

/* n plain characters, counted (b64_can_count). */
static void b64_count(struct mime_msg *m, struct ent *e, size_t n)
{
	size_t t = (size_t)e->b64_next + n;

	out_bytes(m, NULL, t / 4 * 3);
	e->b64_next = (int)(t % 4);
}

static void b64_decode(struct mime_msg *m, struct ent *e, const uint8_t *d, size_t len)
{
	size_t i = 0;

	/* anything but a plain run takes the paths below, which count instead of writing in
	 * skip mode */
	if (b64_can_count(m, e) && mt_b64_plain(d, len)) {
		b64_count(m, e, len);
		return;
	}

	/* fast path: whole groups of valid characters without padding, straight into the
	 * output buffer (no per-group bounds check: the run is cut to the room left) */
	while (!m->skip && e->b64_next == 0 && !e->b64_after_pad && i + 4 <= len) {
		size_t groups = (len - i) / 4, room = (sizeof(m->out) - m->olen) / 3, g;
		const uint8_t *p = d + i;
		uint8_t *o;

		if (!room) {
			flush_out(m);
			continue;
		}
		/* whole 32-character blocks in one SIMD step each, when the CPU has it */
		g = groups >= 8 ? mt_b64_decode_blocks(d + i, len - i, m->out + m->olen,
						       sizeof(m->out) - m->olen)
				: 0;
		if (g) {
			m->olen += (uint32_t)(g / 4 * 3);
			i += g;
			continue;
		}
		if (groups > room)
			groups = room;
		o = m->out + m->olen;
		for (g = 0; g < groups; g++, p += 4, o += 3) {
			uint32_t hi = b64_pair[p[0] | (uint32_t)p[1] << 8];
			uint32_t lo = b64_pair[p[2] | (uint32_t)p[3] << 8], bits;

			if ((hi | lo) & 0x8000)
				break; /* padding or a character to report: slow path */
			bits = hi << 12 | lo;
			o[0] = (uint8_t)(bits >> 16);
			o[1] = (uint8_t)(bits >> 8);
			o[2] = (uint8_t)bits;
		}
		m->olen += (uint32_t)(g * 3);
		i += g * 4;
		if (g < groups)
			break;
	}
	if (i < len && b64_can_count(m, e) && mt_b64_plain(d + i, len - i)) {
		b64_count(m, e, len - i); /* skip mode began in a flush above */
		return;
	}
	for (; i < len; i++) {
		uint8_t ch = d[i];
		int8_t k = b64_table[ch];

		if (ch == '=')
			++e->b64_pad;
		if (k) {
			e->b64_group[e->b64_next++] = (uint8_t)(k - 1);
			if (e->b64_next == 4)
				b64_group_done(m, e);
		} else {
			m->stats.b64_bad_chars++;
			if (++e->b64_errored == 1) {
				char msg[64];

				snprintf(msg, sizeof(msg),
					 "character %d ignored by Base64 decoding",
					 (int)(signed char)ch);
				b64_weird(m, msg);
			}
		}
	}
}

static void b64_finish(struct mime_msg *m, struct ent *e)
{
	if (!e->b64_on)
		return;
	e->b64_on = false;
	if (e->b64_next != 0) {
		char msg[64];
		int add = 4 - e->b64_next;

		m->stats.b64_incomplete++;
		snprintf(msg, sizeof(msg), "incomplete base64 group, padding with %d bits of 0",
			 add * 6);
		b64_weird(m, msg);
		b64_decode(m, e, (const uint8_t *)"===", (size_t)add);
	}
}

/* ---- quoted-printable (Zeek DecodeQuotedPrintable) ---- */

static void qp_event(struct mime_msg *m, struct ent *e, unsigned kind, const char *msg)
{
	m->stats.qp_errors++;
	if (e->ev_once & kind)
		return;
	e->ev_once |= kind;
	event(m, "illegal encoding", msg);
}

/* An '=' not followed by two hex digits: kept as it is (RFC 2045 6.7's robust decoder). */
static void qp_bad_eq(struct mime_msg *m, struct ent *e)
{
	qp_event(m, e, EV_QP_HEX,
		 "= is not followed by two hexadecimal digits in quoted-printable encoding");
	out_byte(m, '=');
}

static void qp_decode(struct mime_msg *m, struct ent *e, const uint8_t *d, size_t len,
		      bool fragment)
{
	long i, end = (long)len - 1;
	bool soft = false;

	if (!fragment)
		while (end >= 0 && (d[end] == '\t' || d[end] == ' '))
			end--;
	for (i = 0; i <= end; ++i) {
		uint8_t c = d[i];

		if (c == '=') {
			if (i == end && !fragment) {
				soft = true;
			} else {
				bool legal = false;

				if ((size_t)i + 2 < len) {
					int a = mt_hexval(d[i + 1]), b = mt_hexval(d[i + 2]);

					if (a >= 0 && b >= 0) {
						out_byte(m, (uint8_t)((a << 4) + b));
						legal = true;
						i += 2;
					}
				}
				if (!legal)
					qp_bad_eq(m, e);
			}
		} else if ((c >= 33 && c <= 60) || (c >= 62 && c <= 126) || c == '\t' || c == ' ') {
			out_byte(m, c);
		} else {
			char msg[80];

			snprintf(msg, sizeof(msg),
				 "control characters in quoted-printable encoding: %d",
				 (int)(signed char)c);
			qp_event(m, e, EV_QP_CTL, msg);
			out_byte(m, c);
		}
	}
	if (!soft && !fragment) {
		out_byte(m, '\r');
		out_byte(m, '\n');
	}
}

/* The bytes at the end of a piece of a cut line that depend on what follows in the line:
 * "=" or "=X" with X a hex digit (an escape the cut may have split: "=" then two hex digits
 * is one byte), and a run of blanks with the "=" before it (blanks that end the line are
 * dropped, and "=" then nothing but blanks is a soft line break). Every '=' starts an escape
 * (none is a hex digit), so the ones held are never part of an earlier one; "=" then a byte
 * that is not a hex digit is decided without the rest. */
static size_t qp_hold(const uint8_t *d, size_t len)
{
	size_t b = len;

	while (b > 0 && (d[b - 1] == ' ' || d[b - 1] == '\t'))
		b--;
	if (b > 0 && d[b - 1] == '=')
		return len - b + 1;
	if (b == len && len >= 2 && d[len - 2] == '=' && mt_hexval(d[len - 1]) >= 0)
		return 2;
	return len - b;
}

static bool qp_held(const struct mime_msg *m)
{
	return m->qp.eq || m->qp.nstretch;
}

/* n blanks of one kind, as many as there are */
static void out_blanks(struct mime_msg *m, uint8_t c, size_t n)
{
	uint8_t run[256];
	size_t k;

	memset(run, c, n < sizeof(run) ? n : sizeof(run));
	for (; n; n -= k) {
		k = n < sizeof(run) ? n : sizeof(run);
		out_bytes(m, run, k);
	}
}

/* The held bytes are inside their line (a byte that decides them follows, or the line ends
 * without its line end): the '=' is not followed by two hex digits, the blanks are data. */
static void qp_held_inside(struct mime_msg *m, struct ent *e)
{
	struct qp_held *h = &m->qp;
	unsigned k;

	if (h->eq)
		qp_bad_eq(m, e);
	if (h->eq == 2)
		out_byte(m, h->hex);
	for (k = 0; k < h->nstretch; k++)
		out_blanks(m, k % 2 ? (h->first == ' ' ? '\t' : ' ') : h->first, h->stretch[k]);
	h->eq = 0;
	h->nstretch = 0;
}

/* The line ends after the held bytes (Zeek drops the blanks that end a line): "=" before them
 * is a soft line break, "=X" an '=' not followed by two hex digits. */
static void qp_held_end(struct mime_msg *m, struct ent *e)
{
	bool soft = m->qp.eq == 1;

	if (m->qp.eq == 2) {
		qp_bad_eq(m, e);
		out_byte(m, m->qp.hex);
	}
	m->qp.eq = 0;
	m->qp.nstretch = 0;
	if (!soft) {
		out_byte(m, '\r');
		out_byte(m, '\n');
	}
}

/* n more blanks c held. A stretch past QP_STRETCHES decodes the run so far (and the '=' before
 * it) as inside the line: the one place a cut quoted-printable line decodes otherwise than
 * the whole line. */
static void qp_hold_blanks(struct mime_msg *m, struct ent *e, uint8_t c, size_t n)
{
	struct qp_held *h = &m->qp;
	unsigned last = h->nstretch - 1;

	if (h->nstretch && (last % 2 ? h->first != c : h->first == c)) {
		h->stretch[last] += n;
		return;
	}
	if (h->nstretch == QP_STRETCHES)
		qp_held_inside(m, e);
	if (!h->nstretch)
		h->first = c;
	h->stretch[h->nstretch++] = n;
}

/* The held bytes go on with the next piece of their line, d[0, len): takes the bytes that
 * decide them, or all of d while they stay undecided. Returns the bytes taken. */
static size_t qp_resume(struct mime_msg *m, struct ent *e, const uint8_t *d, size_t len)
{
	struct qp_held *h = &m->qp;
	size_t i = 0, k;

	while (i < len && qp_held(m)) {
		uint8_t c = d[i];
		int a;

		if ((c == ' ' || c == '\t') && h->eq != 2) {
			for (k = i + 1; k < len && d[k] == c; k++)
				;
			qp_hold_blanks(m, e, c, k - i);
			i = k;
			continue;
		}
		a = mt_hexval(c);
		if (h->eq == 1 && !h->nstretch && a >= 0) {
			h->eq = 2;
			h->hex = c;
			i++;
		} else if (h->eq == 2 && a >= 0) {
			out_byte(m, (uint8_t)((mt_hexval(h->hex) << 4) + a));
			h->eq = 0;
			i++;
		} else {
			qp_held_inside(m, e); /* c is decoded with the rest of d */
		}
	}
	return i;
}

/* The held end of a piece, t[0, n) as qp_hold gives it: "=", "=X", blanks, "=" and blanks. */
static void qp_hold_set(struct mime_msg *m, struct ent *e, const uint8_t *t, size_t n)
{
	size_t i, k;

	if (n && t[0] == '=') {
		m->qp.eq = 1;
		if (n == 2 && t[1] != ' ' && t[1] != '\t') {
			m->qp.eq = 2;
			m->qp.hex = t[1];
			return;
		}
		t++;
		n--;
	}
	for (i = 0; i < n; i = k) {
		for (k = i + 1; k < n && t[k] == t[i]; k++)
			;
		qp_hold_blanks(m, e, t[i], k - i);
	}
}

/* A quoted-printable line or piece of one (fragment: more of the line follows). The end of a
 * piece that depends on the rest of the line (qp_hold) is held in m->qp (struct qp_held, a
 * run of blanks as the lengths of its stretches) and decided by the bytes after it, so that
 * a line cut at max_line decodes as Zeek decodes it whole, except for a run of blanks across
 * cuts in more than QP_STRETCHES stretches of SP and TAB (qp_hold_blanks). A line that never
 * ends (end of message, gap) has its held bytes decoded by line_over(). */
static void qp_piece(struct mime_msg *m, struct ent *e, const uint8_t *d, size_t len, bool fragment)
{
	size_t hold;

	if (qp_held(m)) {
		size_t i = qp_resume(m, e, d, len);

		if (qp_held(m)) {
			if (!fragment)
				qp_held_end(m, e);
			return;
		}
		d += i;
		len -= i;
	}
	if (!fragment) {
		qp_decode(m, e, d, len, false);
		return;
	}
	hold = qp_hold(d, len);
	qp_decode(m, e, d, len - hold, true);
	qp_hold_set(m, e, d + len - hold, hold);
}

/* ---- entities ---- */

static void ent_free_fields(struct ent *e)
{
	free(e->boundary);
	free(e->zfn);
	free(e->dfn);
	e->boundary = e->zfn = e->dfn = NULL;
}

static bool ent_push(struct mime_msg *m, unsigned depth, enum cenc enc)
{
	struct ent *e;

	if (m->n == m->cap) {
		unsigned nc = m->cap ? m->cap * 2 : 8;
		struct ent *p = realloc(m->st, nc * sizeof(*p));

		if (!p) {
			set_err(m, -ENOMEM);
			return false;
		}
		m->st = p;
		m->cap = nc;
	}
	e = &m->st[m->n++];
	memset(e, 0, sizeof(*e));
	e->depth = depth;
	e->in_header = true;
	e->type = CT_TEXT;
	e->enc = enc;
	snprintf(e->type_s, sizeof(e->type_s), "text");
	snprintf(e->sub_s, sizeof(e->sub_s), "plain");
	m->hdr_active = false;
	m->hlen = 0;
	free(m->cd_val);
	free(m->ct_val);
	m->cd_val = m->ct_val = NULL;
	m->stats.entities++;
	end_skip(m);
	if (m->cb.begin)
		m->cb.begin(m->cb.u, depth);
	return true;
}

static void end_of_data(struct mime_msg *m, unsigned i);

static void end_child(struct mime_msg *m, unsigned i)
{
	unsigned k;

	if (i + 1 >= m->n)
		return;
	end_of_data(m, i + 1);
	for (k = i + 1; k < m->n; k++)
		ent_free_fields(&m->st[k]);
	m->n = i + 1;
}

static void begin_child(struct mime_msg *m, unsigned i)
{
	struct ent *e = &m->st[i];

	if (m->lim.max_depth && e->depth >= m->lim.max_depth) {
		m->stats.depth_exceeded++;
		if (!m->w_depth) {
			char addl[24];

			m->w_depth = true;
			snprintf(addl, sizeof(addl), "%u", e->depth);
			weird(m, "exceeded_mime_max_depth", addl);
		}
		return;
	}
	if (m->lim.max_entities && m->stats.entities >= m->lim.max_entities) {
		m->stats.entities_exceeded++;
		if (!m->w_ents) {
			char addl[24];

			m->w_ents = true;
			snprintf(addl, sizeof(addl), "%u", m->lim.max_entities);
			weird(m, "exceeded_mime_max_entities", addl);
		}
		return;
	}
	ent_push(m, e->depth + 1, e->enc); /* may move m->st */
}

static void begin_body(struct mime_msg *m, unsigned i)
{
	struct ent *e = &m->st[i];

	if (e->enc == CE_BASE64) {
		e->b64_on = true;
		e->b64_next = e->b64_pad = e->b64_after_pad = e->b64_errored = 0;
	}
	if (e->type == CT_MESSAGE)
		begin_child(m, i);
}

static void end_of_data(struct mime_msg *m, unsigned i)
{
	struct ent *e = &m->st[i];

	if (e->ended)
		return;
	e->ended = true;
	if (e->in_header) {
		end_header(m, e);
		e->in_header = false;
		headers_done(m, e);
		event(m, "illegal format", "entity body missing");
	} else {
		if (i + 1 < m->n) {
			if (e->type == CT_MULTIPART)
				event(m, "illegal format",
				      "multipart closing boundary delimiter missing");
			end_child(m, i);
			e = &m->st[i];
		}
		if (e->enc == CE_BASE64)
			b64_finish(m, e);
		flush_out(m);
	}
	end_skip(m);
	if (m->cb.end)
		m->cb.end(m->cb.u);
}

static enum bnd check_boundary(const struct ent *e, const uint8_t *d, size_t len)
{
	size_t i;

	if (!e->boundary)
		return NOT_BOUNDARY;
	if (len < 2 || d[0] != '-' || d[1] != '-')
		return NOT_BOUNDARY;
	d += 2;
	len -= 2;
	for (i = 0; i < len && i < e->blen; ++i)
		if (d[i] != (uint8_t)e->boundary[2 + i])
			return NOT_BOUNDARY;
	if (i < e->blen)
		return NOT_BOUNDARY;
	d += i;
	len -= i;
	if (len >= 2 && d[0] == '-' && d[1] == '-')
		return CLOSING_BOUNDARY;
	return BOUNDARY;
}

static void decode_line(struct mime_msg *m, unsigned i, const uint8_t *d, size_t len, bool trailing,
			bool fragment)
{
	struct ent *e = &m->st[i];

	switch (e->enc) {
	case CE_QP:
		qp_piece(m, e, d, len, fragment);
		break;
	case CE_BASE64:
		if (e->b64_on)
			b64_decode(m, e, d, len);
		break;
	default:
		if (e->delay_crlf) {
			e->delay_crlf = false;
			out_byte(m, '\r');
			out_byte(m, '\n');
		}
		out_bytes(m, d, len);
		if (trailing) {
			if (i > 0 && m->st[i - 1].type == CT_MULTIPART) {
				/* the last CRLF belongs to the boundary delimiter */
				e->delay_crlf = true;
			} else {
				out_byte(m, '\r');
				out_byte(m, '\n');
			}
		}
		break;
	}
}

/* Is the first piece of a cut line a proper prefix of e's closing delimiter ("--" boundary
 * "--")? Then the rest of the line says whether it is a delimiter (bnd_rest). */
static bool bnd_undecided(const struct ent *e, const uint8_t *d, size_t len)
{
	return e->boundary && len < e->blen + 4 && !memcmp(d, e->boundary, len);
}

static void route_rest(struct mime_msg *m, const uint8_t *d, size_t len, bool trailing,
		       bool fragment);
static int route_from(struct mime_msg *m, unsigned start, const uint8_t *d, size_t len,
		      bool trailing, bool fragment);

/* A line or a piece of one, where the line in progress says (deliver_unit). */
static void route_unit(struct mime_msg *m, unsigned start, const uint8_t *d, size_t len,
		       bool trailing, bool fragment)
{
	if (m->mid == MID_NONE) {
		int mid = route_from(m, start, d, len, trailing, fragment);

		if (fragment)
			m->mid = (uint8_t)mid;
	} else {
		route_rest(m, d, len, trailing, fragment);
		if (!fragment)
			m->mid = MID_NONE;
	}
}

/* A line, or the first piece of one cut at max_line, through the entity stack from entity
 * `start` down (Zeek MIME_Entity::Deliver). Returns what the line is to the entities (enum
 * midline). */
static int route_from(struct mime_msg *m, unsigned start, const uint8_t *d, size_t len,
		      bool trailing, bool fragment)
{
	unsigned i = start;

	if (i >= m->n)
		return MID_IGNORE;
	for (;;) {
		struct ent *e = &m->st[i];

		if (e->in_header) {
			if (len == 0 || d[0] == 0) {
				end_header(m, e);
				e->in_header = false;
				headers_done(m, e);
				if (!e->ended)
					begin_body(m, i);
				return MID_IGNORE;
			}
			if (is_lws(d[0]))
				cont_header(m, e, d, len);
			else
				new_header(m, e, d, len);
			return MID_HEADER;
		}
		if (e->type == CT_MULTIPART) {
			enum bnd b;

			if (fragment && bnd_undecided(e, d, len)) {
				m->mid_ent = i;
				m->bnd_got = len;
				return MID_BOUNDARY;
			}
			b = check_boundary(e, d, len);
			if (b == BOUNDARY) {
				end_child(m, i);
				if (!m->st[i].ended)
					begin_child(m, i);
				return MID_IGNORE;
			}
			if (b == CLOSING_BOUNDARY) {
				end_child(m, i);
				end_of_data(m, i);
				return MID_IGNORE;
			}
		}
		if (e->type == CT_MULTIPART || e->type == CT_MESSAGE) {
			if (i + 1 < m->n) {
				i++;
				continue;
			}
			return MID_IGNORE; /* preamble, epilogue, or past max_depth: ignored */
		}
		decode_line(m, i, d, len, trailing, fragment);
		m->mid_ent = i;
		return MID_BODY;
	}
}

/* The line held as a possible delimiter of multipart entity mid_ent (MID_BOUNDARY) goes on
 * with d[0, len); more: the line goes on after it (else it ended: its line end, or without
 * one). Zeek checks the whole line (MIME_Entity::CheckBoundaryDelimiter): once the boundary
 * and what follows it decide, the line is a delimiter (the rest of it ignored) or it is not
 * and goes to the current child, as the pieces it came in (regenerated from the boundary:
 * the bytes held are its first bnd_got). */
static void bnd_rest(struct mime_msg *m, const uint8_t *d, size_t len, bool trailing, bool fragment,
		     bool more)
{
	unsigned i = m->mid_ent;
	const struct ent *e = &m->st[i];
	const uint8_t *t = (const uint8_t *)e->boundary;
	size_t tl = e->blen + 4, got = m->bnd_got, j = 0, o, k, max = m->lim.max_line;

	while (j < len && got + j < tl && d[j] == t[got + j])
		j++;
	if (j == len && got + j < tl && more) {
		m->bnd_got += len;
		return;
	}
	if (got + j >= e->blen + 2) {
		/* "--" boundary: a delimiter, closing when "--" follows */
		m->mid = MID_IGNORE;
		end_child(m, i);
		if (got + j >= tl)
			end_of_data(m, i);
		else if (!m->st[i].ended)
			begin_child(m, i);
		return;
	}
	m->mid = MID_NONE;
	for (o = 0; o < got; o += k) {
		k = got - o < max ? got - o : max;
		route_unit(m, i + 1, t + o, k, false, true);
	}
	if (d)
		route_unit(m, i + 1, d, len, trailing, fragment);
}

/* A later piece of a cut line: more of the header or body line its first piece began (never a
 * new header, the end of the headers or a boundary, as Zeek, which sees the line whole). */
static void route_rest(struct mime_msg *m, const uint8_t *d, size_t len, bool trailing,
		       bool fragment)
{
	struct ent *e;
	size_t ws = 0;

	switch (m->mid) {
	case MID_HEADER:
		e = &m->st[m->n - 1];
		if (!e->in_header)
			return;
		if (m->hdr_active) {
			cont_header(m, e, d, len); /* max_header_bytes as for a continuation line */
			return;
		}
		/* the line so far was white space only (cont_header took it as the start of a
		 * header without its leading white space): Zeek's header is what follows */
		while (ws < len && is_lws(d[ws]))
			ws++;
		new_header(m, e, d + ws, len - ws);
		return;
	case MID_BODY:
		if (m->mid_ent < m->n)
			decode_line(m, m->mid_ent, d, len, trailing, fragment);
		return;
	case MID_BOUNDARY:
		if (m->mid_ent < m->n)
			bnd_rest(m, d, len, trailing, fragment, fragment);
		return;
	default:
		return;
	}
}

/* The line in progress ended without its line end (end of message, gap): a possible
 * delimiter is decided on what came, quoted-printable bytes held for the rest of the line are
 * decoded as they are. */
static void line_over(struct mime_msg *m)
{
	/* a possible delimiter: decided on what came (each step hands the line to a child) */
	while (m->mid == MID_BOUNDARY && m->mid_ent < m->n)
		bnd_rest(m, NULL, 0, false, true, false);
	if (qp_held(m) && m->mid == MID_BODY && m->mid_ent < m->n)
		qp_held_inside(m, &m->st[m->mid_ent]);
	m->qp.eq = 0;
	m->qp.nstretch = 0;
	m->mid = MID_NONE;
}

/* One line, or a piece of one: fragment says that more of the line follows (a line longer
 * than max_line is passed on in pieces of max_line bytes, DATA framing). */
static void deliver_unit(struct mime_msg *m, const uint8_t *d, size_t len, bool trailing,
			 bool fragment)
{
	m->stats.lines++;
	if (m->cb.raw) {
		if (len)
			m->cb.raw(m->cb.u, d, len);
		if (trailing)
			m->cb.raw(m->cb.u, (const uint8_t *)"\r\n", 2);
	}
	if (m->ended || m->n == 0)
		return;
	route_unit(m, 0, d, len, trailing, fragment);
}

/* ---- framing ---- */

static bool line_append(struct mime_msg *m, const uint8_t *d, size_t n)
{
	if (!grow(m, &m->line, &m->lcap, m->llen + n, (size_t)m->lim.max_line + 2))
		return false;
	memcpy(m->line + m->llen, d, n);
	m->llen += n;
	return true;
}

static void bdat_weird(struct mime_msg *m, bool *once, const char *name, size_t addl_n)
{
	char addl[24];

	if (*once)
		return;
	*once = true;
	if (addl_n) {
		snprintf(addl, sizeof(addl), "%zu", addl_n);
		weird(m, name, addl);
	} else {
		weird(m, name, NULL);
	}
}

/* A base64 body: a run of lines "plain base64{1,max}CRLF" is what deliver_unit would hand
 * line by line to b64_decode with nothing else happening (no such line can be a boundary:
 * the alphabet has no '-'). Taken here in one go: counted in skip mode; else joined (at most
 * MIME_B64_RUN bytes of input) and decoded across line ends, 32 characters a step where a
 * line-by-line decoder stops at each line's end. Returns the bytes consumed. */
static size_t b64_run_lines(struct mime_msg *m, const uint8_t *d, size_t len)
{
	static _Thread_local uint8_t joined[MIME_B64_RUN];
	struct ent *e = m->n ? &m->st[m->n - 1] : NULL;
	size_t off, chars, lines;

	if (m->llen || m->cr_pending || m->mid || m->ended || !e || e->in_header ||
	    e->type == CT_MULTIPART || e->type == CT_MESSAGE || e->enc != CE_BASE64 || !e->b64_on)
		return 0;
	if (m->skip ? !b64_can_count(m, e)
		    : e->b64_next || e->b64_pad || e->b64_after_pad || len < MIME_B64_RUN_MIN)
		return 0;
	off = mt_scan_b64_lines(d, m->skip || len < sizeof(joined) ? len : sizeof(joined),
				m->lim.max_line, &chars, &lines);
	if (!off)
		return 0;
	m->stats.lines += lines;
	if (m->cb.raw)
		m->cb.raw(m->cb.u, d, off);
	if (m->skip)
		b64_count(m, e, chars);
	else
		b64_decode(m, e, joined, mt_drop_crlf(d, off, joined));
	return off;
}

/* DATA: lines end at CRLF, LF or CR (Zeek ContentLine_Analyzer, CR_as_EOL|LF_as_EOL). */
static void feed_data(struct mime_msg *m, const uint8_t *d, size_t len)
{
	size_t max = m->lim.max_line; /* never 0: mime_msg__new */

	while (len && !m->err) {
		size_t room, k, lim, bulk = b64_run_lines(m, d, len);

		if (bulk) {
			d += bulk;
			len -= bulk;
			continue;
		}

		if (m->cr_pending) {
			m->cr_pending = false;
			if (d[0] == '\n') {
				d++;
				len--;
				continue;
			}
		}
		room = max - m->llen;
		lim = len < room + 1 ? len : room + 1;
		k = mt_scan_eol(d, lim);
		if (k < lim) {
			if (m->llen == 0) {
				deliver_unit(m, d, k, true, false);
			} else if (line_append(m, d, k)) {
				deliver_unit(m, m->line, m->llen, true, false);
				m->llen = 0;
			}
			if (d[k] == '\r')
				m->cr_pending = true;
			d += k + 1;
			len -= k + 1;
			continue;
		}
		if (len > room) {
			/* a line longer than max_line: pass on a piece, no CRLF added */
			m->stats.lines_split++;
			if (m->llen == 0) {
				deliver_unit(m, d, room, false, true);
			} else if (line_append(m, d, room)) {
				deliver_unit(m, m->line, m->llen, false, true);
				m->llen = 0;
			}
			d += room;
			len -= room;
			continue;
		}
		line_append(m, d, len);
		return;
	}
}

/* BDAT: Zeek SMTP_BDAT_Analyzer::DeliverStream line rules, one call per delivery (the chunk
 * bytes of one feed of the SMTP parser, as Zeek's SMTP hands them over). */
static void feed_bdat(struct mime_msg *m, const uint8_t *d, size_t len)
{
	size_t max = m->lim.max_line, i; /* never 0: mime_msg__new */
	size_t zbuf;			 /* Zeek's buffer: the partial line and this delivery */

	if (m->llen && m->line[m->llen - 1] == '\r' && (len == 0 || d[0] != '\n')) {
		bdat_weird(m, &m->w_cr, "smtp_bdat_line_cr_only", 0);
		deliver_unit(m, m->line, m->llen, false, false);
		m->llen = 0;
	}
	/* smtp_bdat_line_too_long's addl is that buffer's size, as Zeek gives it: it depends
	 * on how the chunk was segmented, as the weird smtp_bdat_line_cr_only does */
	zbuf = m->llen + len;
	while (len && !m->err) {
		/* fast path: no partial line, a whole CRLF line in the input */
		if (m->llen == 0) {
			const uint8_t *nl = memchr(d, '\n', len < max + 2 ? len : max + 2);

			if (nl && nl > d && nl[-1] == '\r' && (size_t)(nl - d) - 1 <= max) {
				size_t k = (size_t)(nl - d) - 1;

				deliver_unit(m, d, k, true, false);
				d += k + 2;
				len -= k + 2;
				continue;
			}
		}
		for (i = 0; i < len; i++) {
			uint8_t c = d[i];

			if (c == '\n') {
				if (m->llen && m->line[m->llen - 1] == '\r') {
					deliver_unit(m, m->line, m->llen - 1, true, false);
				} else {
					bdat_weird(m, &m->w_lf, "smtp_bdat_line_lf_only", 0);
					if (line_append(m, &c, 1))
						deliver_unit(m, m->line, m->llen, false, false);
				}
				m->llen = 0;
				i++;
				break;
			}
			/* BDAT.cc looks for CRLF first, within the delivery: a CR at max_line
			 * whose LF is not in this feed is cut as a long line's byte would be */
			if (m->llen >= max &&
			    !(m->llen == max && c == '\r' && i + 1 < len && d[i + 1] == '\n')) {
				size_t cut = m->llen > max ? max : m->llen;

				m->stats.lines_split++;
				bdat_weird(m, &m->w_long, "smtp_bdat_line_too_long", zbuf);
				deliver_unit(m, m->line, cut, false, false);
				memmove(m->line, m->line + cut, m->llen - cut);
				m->llen -= cut;
			}
			if (!line_append(m, &c, 1))
				return;
		}
		d += i;
		len -= i;
	}
}

/* ---- public ---- */

struct mime_msg *mime_msg__new(const struct mime_cb *cb, const struct mime_limits *lim)
{
	uint32_t max = lim ? lim->max_open_messages : 0;
	struct mime_msg *m;

	if (atomic_fetch_add(&open_msgs, 1) >= max && max) {
		atomic_fetch_sub(&open_msgs, 1);
		atomic_fetch_add(&open_refused, 1);
		errno = ENOSPC;
		return NULL;
	}
	m = malloc(sizeof(*m));
	if (!m) {
		atomic_fetch_sub(&open_msgs, 1);
		errno = ENOMEM;
		return NULL;
	}
	/* everything but the 4 KiB output buffer, which is only read up to olen */
	memset(m, 0, offsetof(struct mime_msg, out));
	memset(&m->olen, 0, sizeof(*m) - offsetof(struct mime_msg, olen));
	if (cb)
		m->cb = *cb;
	if (lim)
		m->lim = *lim;
	else
		mime_limits__default(&m->lim);
	if (!m->lim.max_line)
		m->lim.max_line = 4096;
	if (!ent_push(m, 0, CE_OTHER)) {
		free(m->st);
		free(m);
		atomic_fetch_sub(&open_msgs, 1);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void mime_msg__set_framing(struct mime_msg *m, enum mime_framing f)
{
	if (m)
		m->fr = f;
}

size_t mime_msg__pending(const struct mime_msg *m)
{
	return m ? m->llen : 0;
}

int mime_msg__feed(struct mime_msg *m, const uint8_t *buf, size_t len)
{
	if (!m)
		return -EINVAL;
	if (m->err)
		return m->err;
	if (m->ended)
		return 0;
	m->stats.bytes_in += len;
	if (m->fr == MIME_FRAMING_BDAT)
		feed_bdat(m, buf, len);
	else
		feed_data(m, buf, len);
	flush_out(m);
	return m->err;
}

size_t mime_msg__feed_lines(struct mime_msg *m, const uint8_t *buf, size_t len)
{
	size_t k;

	if (!m || m->err || m->ended || m->fr != MIME_FRAMING_DATA)
		return 0;
	k = b64_run_lines(m, buf, len);
	if (k) {
		m->stats.bytes_in += k;
		flush_out(m);
	}
	return k;
}

static void flush_partial(struct mime_msg *m)
{
	m->cr_pending = false;
	if (m->llen) {
		size_t n = m->llen;

		m->llen = 0;
		deliver_unit(m, m->line, n, false, true);
	}
	line_over(m);
}

/* DATA: the line in progress is dropped at a gap, with what its pieces so far held (quoted-
 * printable bytes, a possible delimiter's start): Zeek's ContentLine keeps the partial line
 * across the gap, and SMTP ends the message there, so the line never reaches MIME. Pieces of
 * it that went out already (a line longer than max_line) cannot be taken back. */
static void drop_partial(struct mime_msg *m)
{
	m->cr_pending = false;
	m->llen = 0;
	m->qp.eq = 0;
	m->qp.nstretch = 0;
	m->mid = MID_NONE;
}

void mime_msg__gap(struct mime_msg *m, uint64_t len)
{
	if (!m || m->ended || !len)
		return;
	/* BDAT: Zeek's SMTP_BDAT_Analyzer keeps its own buffer and delivers the partial line
	 * when the message ends at the gap (its Done; the bdat-gap baseline); within a chunk
	 * the SMTP side goes on after the gap, the line is broken there all the same */
	if (m->fr == MIME_FRAMING_BDAT)
		flush_partial(m);
	else
		drop_partial(m);
	flush_out(m);
	m->stats.gap_bytes += len;
	if (m->cb.gap)
		m->cb.gap(m->cb.u, len);
}

void mime_msg__end(struct mime_msg *m)
{
	if (!m || m->ended)
		return;
	flush_partial(m);
	if (m->n)
		end_of_data(m, 0);
	end_child(m, 0);
	m->ended = true;
}

void mime_msg__stats(const struct mime_msg *m, struct mime_stats *st)
{
	if (m)
		*st = m->stats;
	else
		memset(st, 0, sizeof(*st));
}

void mime_msg__free(struct mime_msg *m)
{
	unsigned k;

	if (!m)
		return;
	for (k = 0; k < m->n; k++)
		ent_free_fields(&m->st[k]);
	free(m->st);
	free(m->line);
	hdr_release(m);
	free(m->cd_val);
	free(m->ct_val);
	free(m);
	atomic_fetch_sub(&open_msgs, 1);
}
