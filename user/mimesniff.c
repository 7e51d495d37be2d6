// SPDX-License-Identifier: BSD-3-Clause
/* Zeek-equivalent file-magic: a table of literal signatures (bytes at an offset) plus
 * hand-written matchers for Zeek's regular-expression signatures (text/plain, HTML/XML/JSON
 * and the other markup ones, unified diffs, BMP, ELF, OOXML, OpenDocument, JAR, scripts and
 * JavaScript, ...). Strengths are Zeek's; the strongest match wins and, as in Zeek, the
 * smallest mime string (strcmp) among matches of equal strength. Zeek semantics: every
 * pattern is anchored at the first byte of the buffer and '.' matches any byte, newlines
 * included. See docs/files.md, "Mime types". */
#include <stdbool.h>
#include <string.h>
#include "mailtap/mimesniff.h"

struct lit_sig {
	uint16_t off;
	uint8_t len;
	bool icase;
	const char *bytes;
	const char *mime;
	int strength;
};

#define L(o, s, m, st)                                                                             \
	{                                                                                          \
		(o), sizeof(s) - 1, false, (s), (m), (st)                                          \
	}
#define LI(o, s, m, st)                                                                            \
	{                                                                                          \
		(o), sizeof(s) - 1, true, (s), (m), (st)                                           \
	}

static const struct lit_sig lits[] = {
    /* libmagic.sig, its current (slimmed, post-reorganisation) version: the entries mail
     * carries. Gone from it, so not here: the XML declarations at 185, Received: at 120,
     * PO^Q` and the OLE msword at 110; its ustar, PK\x07\x08, gzip, xz, StuffIt, !<arch>,
     * MSCF, PNG and gimp xcf entries now live in archive.sig and image.sig (below, at those
     * files' strengths). */
    L(2, "---BEGIN PGP PUBLIC KEY BLOCK-", "application/pgp-keys", 330),
    L(0, "-----BEGIN PGP SIGNATURE-", "application/pgp-signature", 280),
    L(0, "-----BEGIN PGP MESSAGE-", "application/pgp", 260),
    L(0, "BEGIN:VCALENDAR", "text/calendar", 180),
    L(0, "Relay-Version:", "message/rfc822", 170),
    LI(0, "delivered-to:", "message/rfc822", 160),
    LI(0, "return-path:", "message/rfc822", 150),
    L(0, "BEGIN:VCARD", "text/x-vcard", 140),
    L(0, "Forward to", "message/rfc822", 130),
    L(0, "N#! rnews", "message/rfc822", 120),
    L(0, "#! rnews", "message/rfc822", 110),
    L(0, "Article", "message/news", 100),
    L(0, "Pipe to", "message/rfc822", 100),
    L(0, "%PDF-", "application/pdf", 80),
    L(0, "Path:", "message/news", 80),
    L(0, "Xref:", "message/news", 80),
    L(0, "From:", "message/rfc822", 80),
    L(0, "{\\rtf", "text/rtf", 80),
    L(0, "%FDF-", "application/vnd.fdf", 80),
    /* general.sig */
    L(0, "\x4c\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", "application/x-ms-shortcut", 49),
    L(0, "PReg", "application/vnd.ms-pol", 49),
    L(0, "REGEDIT4", "application/vnd.ms-reg", 49),
    L(0,
      "\xff\xfeW\0i\0n\0d\0o\0w\0s\0 \0R\0e\0g\0i\0s\0t\0r\0y\0 \0E\0d\0i\0t\0o\0r\0 "
      "\0V\0e\0r\0s\0i\0o\0n\0 \0"
      "5\0.\0"
      "0\0"
      "0",
      "application/vnd.ms-reg", 49),
    L(0, "\xff\xfe\xff\x0eS\0k\0e\0t\0c\0h\0U\0p\0 \0M\0o\0d\0e\0l\0", "application/skp", 100),
    L(0, "regf", "application/vnd.ms-regf", 49),
    L(0, "AFP", "application/vnd.apple-afpinfo", 0),
    L(0, "FWS", "application/x-shockwave-flash", 60),
    L(0, "CWS", "application/x-shockwave-flash", 60),
    L(0, "ZWS", "application/x-shockwave-flash", 60),
    L(0, "\x78\x9f\x3e\x22", "application/vnd.ms-tnef", 100),
    L(0, "-----BEGIN CERTIFICATE-----", "application/x-pem", 0),
    L(0, "\xa1\xb2\xc3\xd4", "application/vnd.tcpdump.pcap", 70),
    L(0, "\xd4\xc3\xb2\xa1", "application/vnd.tcpdump.pcap", 70),
    L(0, "solid ", "application/sla", 10),
    L(0, "DDS", "application/x-ms-dds", 100),
    L(0, "BSDIFF", "application/bsdiff", 100),
    L(0, "DIFF", "application/bindiff", 100),
    L(0, "KLZF", "application/x-kaspavdb", 100),
    L(0, "KLD2", "application/x-kaspavupdate", 100),
    L(0, "MSSQLBAK", "application/mssql-bak", 100),
    L(0, "TAPE", "application/mtf", 100),
    L(0, "bplist", "application/bplist", 100),
    L(0, "ITSF", "application/mshelp", 100),
    L(0, "MPQ\x1a", "application/x-game-mpq", 100),
    L(0, "BLTE", "application/x-blizgame", 100),
    L(0, "VMP4", "application/map-tile", 100),
    L(0, "Cr24", "application/chrome-ext", 100),
    L(0, "CrOD", "application/chrome-ext-upd", 70),
    L(0, "MSQM", "application/msqm", 100),
    L(0, "b0VIM", "application/x-vim-tmp", 100),
    L(0, "MDMP", "application/x-windows-minidump", 50),
    /* no file-iso9660: Zeek moved it to policy/frameworks/signatures/iso-9660 (not loaded by
     * default; its /.*CD001\x01/ needs a bof buffer of 34816 bytes, which that script sets) */
    /* image.sig */
    L(0, "MM\0\x2a", "image/tiff", 70),
    L(0, "MM\0\x2b", "image/tiff", 70),
    L(0, "II\x2a\0", "image/tiff", 70),
    L(0, "II\x2b\0", "image/tiff", 70),
    L(0, "GIF8", "image/gif", 70),
    L(0, "\xff\xd8", "image/jpeg", 52),
    L(0, "\0\0\x01\0", "image/x-icon", 70),
    L(0, "\0\0\x02\0", "image/x-cursor", 70),
    L(0, "8BPS", "image/vnd.adobe.photoshop", 70),
    L(0, "\x89PNG", "image/png", 110),
    L(0, "gimp xcf", "image/x-xcf", 110),
    L(4, "ftypjp2", "image/jp2", 60),
    L(0, "Xcur", "image/x-xcursor", 70),
    L(0, "IIN1", "image/x-niff", 70),
    L(0, "\x76\x2f\x31\x01", "image/x-exr", 70),
    L(0, "SDPX", "image/x-dpx", 70),
    L(0, "CPC\xb2", "image/x-cpi", 70),
    L(0, "IIRO", "image/x-olympus-orf", 70),
    L(0, "IIRS", "image/x-olympus-orf", 70),
    L(0, "MMOR", "image/x-olympus-orf", 70),
    L(0, "FOVb", "image/x-x3f", 70),
    L(0, "PDN3", "image/x-paintnet", 70),
    L(0, "P7", "image/x-portable-pixmap", 50),
    L(4, "jP", "image/jp2", 50),
    L(0, "AC1.", "image/vnd.dwg", 90),
    L(0, "AC2.", "image/vnd.dwg", 90),
    L(0, "AC10", "image/vnd.dwg", 90),
    L(0, "[BitmapInfo2]", "image/x-polar-monitor-bitmap", 160),
    L(0, "AWBM", "image/x-award-bmp", 20),
    L(0, "\x11\x06", "image/x-award-bioslogo", 50),
    L(0, "\x11\x09", "image/x-award-bioslogo", 50),
    /* archive.sig (file-tar's header form is sig_tar) */
    L(0, "PK\x07\x08PK\x03\x04", "application/zip", 10),
    L(0, "Rar!", "application/x-rar", 70),
    L(0, "\x1f\x8b", "application/x-gzip", 100),
    L(0, "MSCF\0\0\0\0", "application/vnd.ms-cab-compressed", 110),
    L(0, "\x78\x01\x73\x0d\x62\x62\x60", "application/x-dmg", 100),
    L(0, "\x78\xda\x63\x60\x18\x05", "application/x-dmg", 100),
    L(0, "\x78\x01\x63\x60\x18\x05", "application/x-dmg", 100),
    L(0, "\x78\xda\x73\x0d", "application/x-dmg", 100),
    L(0, "xar!", "application/x-xar", 100),
    L(0, "drpm", "application/x-rpm", 70),
    L(0, "\xed\xab\xee\xdb", "application/x-rpm", 70),
    L(0, "SIT!", "application/x-stuffit", 70),
    L(0, "StuffIt", "application/x-stuffit", 70),
    L(0, "<ar>", "application/x-archive", 70),
    L(0, "<arch>", "application/x-archive", 70),
    L(0, "!<ar>", "application/x-archive", 70),
    L(0, "!<arch>", "application/x-archive", 70),
    L(0, "\x1e\xe7\xff\0", "application/x-eet", 70),
    L(0, "\x02\x21\x4c\x18", "application/x-lz4", 70),
    L(0, "\x04\x22\x4d\x18", "application/x-lz4", 70),
    L(0, "LRZI", "application/x-lrzip", 1),
    L(0, "LZIP", "application/x-lzip", 70),
    L(0, "WARC/", "application/warc", 50),
    L(0, "7z\xbc\xaf\x27\x1c", "application/x-7z-compressed", 50),
    L(0, "\x60\xea", "application/x-arj", 50),
    L(0, "\xc7\x71", "application/x-cpio", 50),
    L(0, "\x71\xc7", "application/x-cpio", 50),
    L(0, "\x1f\x9d", "application/x-compress", 50),
    L(0, "\x5d\0\0", "application/x-lzma", 71),
    L(0,
      "\xfd"
      "7zXZ\0",
      "application/x-xz", 90),
    L(20, "\xdc\xa7\xc4\xfd", "application/x-zoo", 70),
    L(0, "!<arch>\ndebian", "application/x-debian-package", 171),
    L(7, "**ACE**", "application/x-ace", 100),
    L(0, "BZh", "application/x-bzip2", 60),
    /* executable.sig */
    L(0, "MZ", "application/x-dosexec", 51),
    L(0, "\xce\xfa\xed\xfe", "application/x-mach-o-executable", 100),
    L(0, "\xcf\xfa\xed\xfe", "application/x-mach-o-executable", 100),
    /* java.sig (file-jar, file-java-applet and file-jar-pack200 are sig_java) */
    L(0, "<jnlp ", "application/x-java-jnlp-file", 100),
    L(0, "\xfe\xed\xfe\xed", "application/x-java-keystore", 70),
    L(0, "\xce\xce\xce\xce", "application/x-java-jce-keystore", 70),
    /* office.sig (file-docx/xlsx/pptx are sig_ooxml, the OpenDocument ones sig_odf) */
    L(4, "Standard Jet DB\0", "application/x-msaccess", 180),
    L(4, "Standard ACE DB\0", "application/x-msaccess", 180),
    L(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword", 50),
    L(0, "PK\x03\x04\x14\0\x06\0", "application/vnd.openxmlformats-officedocument", 50),
    /* programming.sig */
    L(0, "dnl ", "text/x-m4", 40),
    LI(0, "@rem", "text/x-msdos-batch", 60),
    LI(0, "@set ", "text/x-msdos-batch", 70),
};

static bool lit_match(const struct lit_sig *s, const uint8_t *b, size_t n)
{
	size_t i;

	if ((size_t)s->off + s->len > n)
		return false;
	if (!s->icase)
		return memcmp(b + s->off, s->bytes, s->len) == 0;
	for (i = 0; i < s->len; i++) {
		uint8_t c = b[s->off + i], d = (uint8_t)s->bytes[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (d >= 'A' && d <= 'Z')
			d += 32;
		if (c != d)
			return false;
	}
	return true;
}

#define NLITS (sizeof(lits) / sizeof(lits[0]))
_Static_assert(NLITS < 255, "lit indexes are bytes");

/* The literal signatures at offset 0 by their first byte (both cases for the case-insensitive
 * ones), in table order: by_first[first[c] .. first[c + 1]). The others (at an offset) are
 * in at_off. Built once at start. */
static uint8_t first[257], by_first[2 * NLITS], at_off[NLITS], n_at_off;

static uint8_t fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

__attribute__((constructor)) static void lits_index(void)
{
	unsigned n = 0;

	for (unsigned c = 0; c < 256; c++) {
		first[c] = (uint8_t)n;
		for (unsigned i = 0; i < NLITS; i++) {
			uint8_t b = (uint8_t)lits[i].bytes[0];

			if (lits[i].off == 0 &&
			    (lits[i].icase ? fold(b) == fold((uint8_t)c) : b == c))
				by_first[n++] = (uint8_t)i;
		}
	}
	first[256] = (uint8_t)n;
	for (unsigned i = 0; i < NLITS; i++)
		if (lits[i].off != 0)
			at_off[n_at_off++] = (uint8_t)i;
}

/* Zeek's choice: the highest strength, and on equal strengths the smallest mime string
 * (RuleMatcher::MIME_Matches is a map<int, set<string>, greater>; File::DetectMIME takes the
 * first string of the first entry). */
static bool better(const char *mime, int strength, const char *best, int bs)
{
	return strength > bs || (strength == bs && best && strcmp(mime, best) < 0);
}

static void consider(const char **best, int *bs, const char *mime, int strength)
{
	if (mime && better(mime, strength, *best, *bs)) {
		*best = mime;
		*bs = strength;
	}
}

/* The literal signatures that match, given to consider() (strength, then the smallest mime
 * string); an entry that could not win is not compared. */
static void lits_match(const uint8_t *b, size_t n, const char **best, int *bs)
{
	unsigned j;

	for (j = first[b[0]]; j < first[b[0] + 1]; j++) {
		const struct lit_sig *l = &lits[by_first[j]];

		if (better(l->mime, l->strength, *best, *bs) && lit_match(l, b, n)) {
			*best = l->mime;
			*bs = l->strength;
		}
	}
	for (j = 0; j < n_at_off; j++) {
		const struct lit_sig *l = &lits[at_off[j]];

		if (better(l->mime, l->strength, *best, *bs) && lit_match(l, b, n)) {
			*best = l->mime;
			*bs = l->strength;
		}
	}
}

static bool is_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_wsnl(uint8_t c) /* [\x0d\x0a[:blank:]] */
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool has(const uint8_t *b, size_t n, size_t at, const char *s)
{
	size_t l = strlen(s);

	return at + l <= n && memcmp(b + at, s, l) == 0;
}

static bool has_ci(const uint8_t *b, size_t n, size_t at, const char *s)
{
	size_t l = strlen(s), i;

	if (at + l > n)
		return false;
	for (i = 0; i < l; i++) {
		uint8_t c = b[at + i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (c != (uint8_t)s[i])
			return false;
	}
	return true;
}

/* First position >= from where s starts, or n. memchr for the first byte, then a compare:
 * several times memmem's speed on binary data, where the needles' first bytes are rare. */
static size_t find(const uint8_t *b, size_t n, size_t from, const char *s)
{
	size_t l = strlen(s);
	const uint8_t *p = b + from, *end;

	if (from >= n || l > n - from)
		return n;
	if (!l)
		return from;
	end = b + n - l + 1; /* the last position a match can start at, plus one */
	while (p < end && (p = memchr(p, (uint8_t)s[0], (size_t)(end - p)))) {
		if (!memcmp(p + 1, s + 1, l - 1))
			return (size_t)(p - b);
		p++;
	}
	return n;
}

/* general.sig's optional BOM (\xef\xbb\xbf|\xff\xfe|\xfe\xff)? */
static size_t bom3(const uint8_t *b, size_t n)
{
	if (has(b, n, 0, "\xef\xbb\xbf"))
		return 3;
	if (has(b, n, 0, "\xff\xfe") || has(b, n, 0, "\xfe\xff"))
		return 2;
	return 0;
}

/* ^(\xef\xbb\xbf|(\x00\x00)?\xfe\xff|\xff\xfe(\x00\x00)?)?[[:space:]\x20-\x7E]{10} */
static bool sig_plaintext(const uint8_t *b, size_t n)
{
	static const char *const boms[] = {"",	       "\xef\xbb\xbf", "\xfe\xff", "\0\0\xfe\xff",
					   "\xff\xfe", "\xff\xfe\0\0"};
	static const size_t bl[] = {0, 3, 2, 4, 2, 4};
	size_t k, i;

	for (k = 0; k < sizeof(bl) / sizeof(bl[0]); k++) {
		if (bl[k] + 10 > n || memcmp(b, boms[k], bl[k]) != 0)
			continue;
		for (i = 0; i < 10; i++) {
			uint8_t c = b[bl[k] + i];

			if (!is_space(c) && (c < 0x20 || c > 0x7e))
				break;
		}
		if (i == 10)
			return true;
	}
	return false;
}

/* Marks in reach[] every position reachable from the marked ones through
 * ([\x0d\x0a[:blank:]]*(<!--.*-->)?[\x0d\x0a[:blank:]]*)*  (forward-only, one pass).
 * hi is the highest marked position; returns the new one (nothing beyond it is marked, so
 * the pass stops there: on binary content, at once). */
static size_t close_ws_comments(const uint8_t *b, size_t n, uint8_t *reach, size_t hi)
{
	size_t p, q;
	bool marked = false;

	for (p = 0; p <= n && p <= hi; p++) {
		if (!reach[p])
			continue;
		if (p < n && is_wsnl(b[p])) {
			reach[p + 1] = 1;
			if (p + 1 > hi)
				hi = p + 1;
		}
		/* The ends reachable from a later comment start are a subset of those from the
		 * first one: mark them once (linear time). */
		if (!marked && has(b, n, p, "<!--")) {
			marked = true;
			for (q = find(b, n, p + 4, "-->"); q < n; q = find(b, n, q + 1, "-->")) {
				reach[q + 3] = 1;
				if (q + 3 > hi)
					hi = q + 3;
			}
		}
	}
	return hi;
}

/* The prefix shared by Zeek's HTML/XML signatures:
 * ^BOM?(ws/comments)*(<\?xml .*\?>)?(ws/comments)*  -> reach[] of possible tag starts.
 * Returns the highest reachable position (reach[] is set up to it only). */
static size_t markup_prefix(const uint8_t *b, size_t n, uint8_t *reach, bool with_decl)
{
	size_t p, q, hi = bom3(b, n);

	memset(reach, 0, n + 1);
	reach[0] = 1;
	reach[hi] = 1;
	hi = close_ws_comments(b, n, reach, hi);
	if (!with_decl)
		return hi;
	for (p = 0; p < n && p <= hi; p++) {
		if (!reach[p] || !has(b, n, p, "<?xml "))
			continue;
		for (q = find(b, n, p + 6, "?>"); q < n; q = find(b, n, q + 1, "?>")) {
			reach[q + 2] = 1;
			if (q + 2 > hi)
				hi = q + 2;
		}
		break; /* later declarations reach a subset of these ends */
	}
	return close_ws_comments(b, n, reach, hi);
}

static bool tag_at(const uint8_t *b, size_t n, size_t p, const char *name, bool need_space)
{
	size_t l = strlen(name), i;

	if (!has_ci(b, n, p, name))
		return false;
	if (!need_space)
		return true;
	i = p + l;
	if (i >= n || b[i] != ' ')
		return false;
	return true;
}

static size_t skip_wsnl(const uint8_t *b, size_t n, size_t i)
{
	while (i < n && is_wsnl(b[i]))
		i++;
	return i;
}

/* has() where a '.' in s matches any byte (a regex's unescaped dot). */
static bool has_dot(const uint8_t *b, size_t n, size_t at, const char *s)
{
	size_t l = strlen(s), i;

	if (at + l > n)
		return false;
	for (i = 0; i < l; i++)
		if (s[i] != '.' && b[at + i] != (uint8_t)s[i])
			return false;
	return true;
}

/* [^>]*LIT from i: LIT before the first '>' (LIT has no '>'). Returns its end, or n. */
static size_t before_gt(const uint8_t *b, size_t n, size_t i, const char *lit)
{
	const uint8_t *gt = i < n ? memchr(b + i, '>', n - i) : NULL;
	size_t lim = gt ? (size_t)(gt - b) : n, q = find(b, n, i, lit);

	return q < lim ? q + strlen(lit) : n;
}

/* file-atom's feed form from i (after "<feed"): [^>]*xmlns=["']?http://www.w3.org/2005/Atom */
static bool atom_feed(const uint8_t *b, size_t n, size_t i)
{
	const uint8_t *gt = i < n ? memchr(b + i, '>', n - i) : NULL;
	size_t lim = gt ? (size_t)(gt - b) : n, q;
	static const char url[] = "http://www.w3.org/2005/Atom";

	for (q = find(b, n, i, "xmlns="); q < lim; q = find(b, n, q + 1, "xmlns=")) {
		size_t u = q + 6;

		if (has_dot(b, n, u, url) ||
		    (u < n && (b[u] == '"' || b[u] == '\'') && has_dot(b, n, u + 1, url)))
			return true;
	}
	return false;
}

/* general.sig's markup signatures on their shared prefix (BOM, white space and comments, an
 * optional XML declaration, white space and comments) at every reachable '<': file-xhtml
 * (100), file-html (49), file-html2 (20), file-rss (90), file-atom (100), file-soap (49),
 * file-xmlrpc (49), file-f4m (49), and without the BOM file-cross-domain-policy(2) (49). */
static void sig_markup(const uint8_t *b, size_t n, uint8_t *reach, const char **best, int *bs)
{
	size_t p, i, j, hi = markup_prefix(b, n, reach, true);
	bool bom = bom3(b, n) > 0;

	for (p = 0; p < n && p <= hi; p++) {
		if (!reach[p] || b[p] != '<')
			continue;
		i = p + 1;
		if (has_ci(b, n, i, "!doctype ")) {
			j = i + 9;
			while (j < n && b[j] == ' ')
				j++;
			/* file-xhtml 100, also file-html 49 */
			if (has_ci(b, n, j, "html"))
				consider(best, bs, "text/html", 100);
			if (!bom && has_ci(b, n, j, "cross-domain-policy"))
				consider(best, bs, "text/x-cross-domain-policy", 49);
		}
		if (has_ci(b, n, i, "html"))
			consider(best, bs, "text/html", 100);
		if (tag_at(b, n, i, "meta", true)) {
			j = i + 5;
			while (j < n && b[j] == ' ')
				j++;
			if (has_ci(b, n, j, "http-equiv"))
				consider(best, bs, "text/html", 100);
		}
		/* file-html2, 20: <(head|html|title|body) */
		if (has_ci(b, n, i, "head") || has_ci(b, n, i, "title") || has_ci(b, n, i, "body"))
			consider(best, bs, "text/html", 20);
		if (has_ci(b, n, i, "rss")) {
			consider(best, bs, "text/rss", 90);
			/* file-atom: <rss[^>]*xmlns:atom */
			if (before_gt(b, n, i + 3, "xmlns:atom") < n)
				consider(best, bs, "text/atom", 100);
		}
		if (has_ci(b, n, i, "feed") && atom_feed(b, n, i + 4))
			consider(best, bs, "text/atom", 100);
		/* file-soap: <soap(-env)?:envelope */
		if (has_ci(b, n, i, "soap")) {
			j = i + 4;
			if (has_ci(b, n, j, "-env"))
				j += 4;
			if (has_ci(b, n, j, ":envelope"))
				consider(best, bs, "application/soap+xml", 49);
		}
		if (has_ci(b, n, i, "methodresponse>"))
			consider(best, bs, "application/xml-rpc", 49);
		/* file-f4m: <manifest[ws]{1,}xmlns="http://ns.adobe.com/f4m/ */
		if (has_ci(b, n, i, "manifest") && i + 8 < n && is_wsnl(b[i + 8])) {
			j = skip_wsnl(b, n, i + 8);
			if (has_dot(b, n, j, "xmlns=\"http://ns.adobe.com/f4m/"))
				consider(best, bs, "application/f4m", 49);
		}
		if (!bom && has_ci(b, n, i, "cross-domain-policy"))
			consider(best, bs, "text/x-cross-domain-policy", 49);
	}
}

/* file-xml, 10: ^BOM?(ws/comments)*\x00?<\x00?\?\x00?x\x00?m\x00?l\x00?\x20 ; and on the same
 * reach (no XML declaration) without the BOM, file-coldfusion, 20: <(CFPARAM|CFSET|CFIF) */
static void sig_xml(const uint8_t *b, size_t n, uint8_t *reach, const char **best, int *bs)
{
	static const char pat[] = "<?xml ";
	size_t p, i, k, hi = markup_prefix(b, n, reach, false);
	bool xml = false, cf = false, bom = bom3(b, n) > 0;

	for (p = 0; p < n && p <= hi; p++) {
		if (!reach[p])
			continue;
		if (!bom && !cf && b[p] == '<' &&
		    (has(b, n, p + 1, "CFPARAM") || has(b, n, p + 1, "CFSET") ||
		     has(b, n, p + 1, "CFIF")))
			cf = true;
		if (xml)
			continue;
		i = p;
		for (k = 0; k < 6; k++) {
			if (i < n && b[i] == 0)
				i++;
			if (i >= n || b[i] != (uint8_t)pat[k])
				break;
			i++;
		}
		if (k == 6)
			xml = true;
	}
	if (xml)
		consider(best, bs, "application/xml", 10);
	if (cf)
		consider(best, bs, "magnus-internal/cold-fusion", 20);
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* file-json (1), file-json2 (1), file-json3 (0). Returns strength or -1000. */
static int sig_json(const uint8_t *b, size_t n)
{
	size_t i = skip_wsnl(b, n, bom3(b, n)), j;

	if (i >= n)
		return -1000;
	if (b[i] == '{') {
		j = skip_wsnl(b, n, i + 1);
		if (j < n && b[j] == '}' && skip_wsnl(b, n, j + 1) == n)
			return 0; /* file-json3 */
		if (j < n && b[j] == '"') {
			size_t q = j + 1;

			while (q < n && b[q] != '"')
				q++;
			if (q >= n || q == j + 1)
				return -1000;
			j = q + 1;
		} else if (j < n && is_alpha(b[j])) {
			while (j < n &&
			       (is_alpha(b[j]) || is_digit(b[j]) || b[j] == '\\' || b[j] == '_'))
				j++;
		} else {
			return -1000;
		}
		j = skip_wsnl(b, n, j);
		if (j >= n || b[j] != ':')
			return -1000;
		j = skip_wsnl(b, n, j + 1);
		if (j < n && (b[j] == '"' || b[j] == '[' || b[j] == '{' || is_digit(b[j])))
			return 1;
		if (has(b, n, j, "true") || has(b, n, j, "false"))
			return 1;
		return -1000;
	}
	if (b[i] == '[') {
		j = skip_wsnl(b, n, i + 1);
		if (j < n && b[j] == ']' && skip_wsnl(b, n, j + 1) == n)
			return 0;
		if (j < n && (b[j] == '{' || b[j] == '['))
			return 1;
		if (j < n && b[j] == '"') {
			size_t q = j + 1;

			while (q < n && b[q] != '"')
				q++;
			if (q >= n || q == j + 1)
				return -1000;
			j = q + 1;
		} else if (j < n && is_digit(b[j])) {
			while (j < n && is_digit(b[j]))
				j++;
			if (j + 1 < n && b[j] == '.' && is_digit(b[j + 1])) {
				j++;
				while (j < n && is_digit(b[j]))
					j++;
			}
		} else if (has(b, n, j, "true")) {
			j += 4;
		} else if (has(b, n, j, "false")) {
			j += 5;
		} else {
			return -1000;
		}
		j = skip_wsnl(b, n, j);
		return j < n && b[j] == ',' ? 1 : -1000;
	}
	return -1000;
}

/* file-ini, 20: ^BOM?[\x00\x0d\x0a[:blank:]]*\[[^\x0d\x0a]+\][[:blank:]\x00]*[\x0d\x0a] */
static bool sig_ini(const uint8_t *b, size_t n)
{
	size_t i = bom3(b, n), j, last = 0;

	while (i < n && (b[i] == 0 || is_wsnl(b[i])))
		i++;
	if (i >= n || b[i] != '[')
		return false;
	for (j = i + 1; j < n && b[j] != '\r' && b[j] != '\n'; j++)
		if (b[j] == ']' && j > i + 1)
			last = j;
	if (j >= n || !last)
		return false;
	for (j = last + 1; j < n && (b[j] == ' ' || b[j] == '\t' || b[j] == 0); j++)
		;
	return j < n && (b[j] == '\r' || b[j] == '\n');
}

/* libmagic auto88, text/x-diff 55: "--- " .. \n .. "+++ " .. \n .. "@@" anywhere, in order. */
static bool sig_diff(const uint8_t *b, size_t n)
{
	size_t p = find(b, n, 0, "--- ");

	if (p >= n)
		return false;
	p = find(b, n, p + 4, "\n");
	if (p >= n)
		return false;
	p = find(b, n, p + 1, "+++ ");
	if (p >= n)
		return false;
	p = find(b, n, p + 4, "\n");
	if (p >= n)
		return false;
	return find(b, n, p + 1, "@@") < n;
}

/* file-bmp, 50: BM.{12}[\x0c\x28\x40\x6c\x7c\x80]\x00 */
static bool sig_bmp(const uint8_t *b, size_t n)
{
	if (n < 16 || b[0] != 'B' || b[1] != 'M' || b[15] != 0)
		return false;
	return b[14] == 0x0c || b[14] == 0x28 || b[14] == 0x40 || b[14] == 0x6c || b[14] == 0x7c ||
	       b[14] == 0x80;
}

/* file-elf*: \x7fELF[\x01\x02](\x01.{10}T\x00|\x02.{10}\x00T) */
static const char *sig_elf(const uint8_t *b, size_t n)
{
	static const char *const types[] = {NULL, "application/x-object",
					    "application/x-executable", "application/x-sharedlib",
					    "application/x-coredump"};
	unsigned t;

	if (n < 18 ||
	    memcmp(b,
		   "\x7f"
		   "ELF",
		   4) != 0 ||
	    (b[4] != 1 && b[4] != 2))
		return NULL;
	if (b[5] == 1 && b[17] == 0)
		t = b[16];
	else if (b[5] == 2 && b[16] == 0)
		t = b[17];
	else
		return NULL;
	return t >= 1 && t <= 4 ? types[t] : NULL;
}

/* file-docx/xlsx/pptx, 80:
 * ^PK\x03\x04.{26}(\[Content_Types\]\.xml|_rels/\.rels|DIR/).*PK\x03\x04.{26}DIR/ */
static void sig_ooxml(const uint8_t *b, size_t n, const char **best, int *bs)
{
	static const char *const dirs[] = {"word/", "xl/", "ppt/"};
	static const char *const mimes[] = {
	    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	    "application/vnd.openxmlformats-officedocument.presentationml.presentation"};
	size_t k, p;
	bool any;

	if (!has(b, n, 0, "PK\x03\x04"))
		return;
	any = has(b, n, 30, "[Content_Types].xml") || has(b, n, 30, "_rels/.rels");
	for (k = 0; k < 3; k++) {
		if (!any && !has(b, n, 30, dirs[k]))
			continue;
		for (p = find(b, n, 31, "PK\x03\x04"); p < n; p = find(b, n, p + 1, "PK\x03\x04"))
			if (has(b, n, p + 30, dirs[k])) {
				consider(best, bs, mimes[k], 80);
				break;
			}
	}
}

/* programming.sig: ^#![^\n]{1,15}bin/(env[[:space:]]+)?NAME, every split point and name (a
 * later "bin/" within the 15 bytes may name a stronger one) */
static void sig_script(const uint8_t *b, size_t n, const char **best, int *bs)
{
	static const struct {
		const char *name;
		const char *mime;
		int strength;
	} scripts[] = {
	    {"bash", "text/x-shellscript", 250},
	    {"tcsh", "text/x-shellscript", 250},
	    {"csh", "text/x-shellscript", 250},
	    {"zsh", "text/x-shellscript", 250},
	    {"fash", "text/x-shellscript", 250},
	    {"aesh", "text/x-shellscript", 250},
	    {"ksh", "text/x-shellscript", 250},
	    {"sh", "text/x-shellscript", 250},
	    {"perl", "text/x-perl", 60},
	    {"ruby", "text/x-ruby", 60},
	    {"python", "text/x-python", 60},
	    {"gawk", "text/x-awk", 60},
	    {"nawk", "text/x-awk", 60},
	    {"awk", "text/x-awk", 60},
	    {"wish", "text/x-tcl", 60},
	    {"tcl", "text/x-tcl", 60},
	    {"lua", "text/x-lua", 49},
	    {"nodejs", "application/javascript", 60},
	    {"node", "application/javascript", 60},
	    {"php", "text/x-php", 60},
	};
	size_t i, j, k;

	if (!has(b, n, 0, "#!"))
		return;
	/* [^\n]{1,15} then "bin/": try every split point */
	for (i = 3; i <= 17 && i + 4 <= n; i++) {
		if (b[i - 1] == '\n')
			break;
		if (!has(b, n, i, "bin/"))
			continue;
		j = i + 4;
		if (has(b, n, j, "env") && j + 3 < n && is_space(b[j + 3])) {
			size_t e = j + 3;

			while (e < n && is_space(b[e]))
				e++;
			for (k = 0; k < sizeof(scripts) / sizeof(scripts[0]); k++)
				if (has(b, n, e, scripts[k].name))
					consider(best, bs, scripts[k].mime, scripts[k].strength);
		}
		for (k = 0; k < sizeof(scripts) / sizeof(scripts[0]); k++)
			if (has(b, n, j, scripts[k].name))
				consider(best, bs, scripts[k].mime, scripts[k].strength);
	}
}

/* archive.sig file-tar, 100: ^[[:print:]\x00]{100}([[:digit:]\x20]{7}\x00){3}
 * ([[:digit:]\x20]{11}\x00){2}([[:digit:]\x00\x20]{7}[\x20\x00])[0-7\x00]: a tar header's name,
 * mode, uid, gid, size, mtime, checksum and type fields (157 bytes). */
static bool sig_tar(const uint8_t *b, size_t n)
{
	static const uint8_t runs[5] = {7, 7, 7, 11, 11};
	size_t i, k, j = 100;

	if (n < 157)
		return false;
	for (i = 0; i < 100; i++)
		if (b[i] && (b[i] < 0x20 || b[i] > 0x7e))
			return false;
	for (k = 0; k < 5; j += runs[k] + 1, k++) {
		for (i = j; i < j + runs[k]; i++)
			if (!is_digit(b[i]) && b[i] != ' ')
				return false;
		if (b[j + runs[k]])
			return false;
	}
	for (i = 148; i < 155; i++)
		if (!is_digit(b[i]) && b[i] != ' ' && b[i])
			return false;
	return (b[155] == ' ' || !b[155]) && (!b[156] || (b[156] >= '0' && b[156] <= '7'));
}

/* libmagic file-magic-auto44, image/svg+xml 38: ^<\?xml version="[^\x00].{3}.*<svg */
static bool sig_svg(const uint8_t *b, size_t n)
{
	return n >= 23 && has(b, n, 0, "<?xml version=\"") && b[15] && find(b, n, 19, "<svg") < n;
}

/* java.sig: file-jar (100), ^PK\x03\x04.{1,200}\x14\x00..META-INF/MANIFEST\.MF (a local header
 * whose name, 20 bytes long, is the manifest, starting within the first 200 bytes);
 * file-java-applet (71), ^\xca\xfe\xba\xbe...[\x2d-\x34] (a class file of Java 1.1 to 8; the
 * Mach-O universal header has \x00[\x01-\x14] there); file-jar-pack200 (1), ^\xca\xfe\xd0\x0d. */
static void sig_java(const uint8_t *b, size_t n, const char **best, int *bs)
{
	size_t q, last;

	if (n >= 5 && b[0] == 0xca && b[1] == 0xfe) {
		if (n >= 8 && b[2] == 0xba && b[3] == 0xbe && b[7] >= 0x2d && b[7] <= 0x34)
			consider(best, bs, "application/x-java-applet", 71);
		if (b[2] == 0xd0 && b[3] == 0x0d)
			consider(best, bs, "application/x-java-pack200", 1);
		return;
	}
	if (n < 29 || !has(b, n, 0, "PK\x03\x04"))
		return;
	last = n - 24 < 204 ? n - 24 : 204; /* \x14\x00, 2 bytes, the 20-byte name */
	for (q = 5; q <= last; q++) {
		const uint8_t *p = memchr(b + q, 0x14, last - q + 1);

		if (!p)
			break;
		q = (size_t)(p - b);
		if (!b[q + 1] && !memcmp(b + q + 4, "META-INF/MANIFEST.MF", 20)) {
			consider(best, bs, "application/java-archive", 100);
			return;
		}
	}
}

/* office.sig's OpenDocument signatures and libmagic's EPUB (file-magic-auto245): a zip whose
 * first entry is "mimetype", stored: ^PK\x03\x04.{22}\x08\x00\x00\x00mimetypeapplication/ then
 * "epub+zip" (110) or "vnd.oasis.opendocument." and a kind: the kind alone (followed by any byte
 * but '-') 110, "-template" 120, text's "-web" 70 and "-master" 100; "database" with anything
 * after it 110. And libmagic's KMZ (file-magic-auto226, 100): ^PK\x03\x04\x14.{25}doc\.kml */
static void sig_odf(const uint8_t *b, size_t n, const char **best, int *bs)
{
	static const struct {
		const char *kind, *base, *tmpl;
	} kinds[] = {
	    {"text", "application/vnd.oasis.opendocument.text",
	     "application/vnd.oasis.opendocument.text-template"},
	    {"graphics", "application/vnd.oasis.opendocument.graphics",
	     "application/vnd.oasis.opendocument.graphics-template"},
	    {"presentation", "application/vnd.oasis.opendocument.presentation",
	     "application/vnd.oasis.opendocument.presentation-template"},
	    {"spreadsheet", "application/vnd.oasis.opendocument.spreadsheet",
	     "application/vnd.oasis.opendocument.spreadsheet-template"},
	    {"chart", "application/vnd.oasis.opendocument.chart",
	     "application/vnd.oasis.opendocument.chart-template"},
	    {"formula", "application/vnd.oasis.opendocument.formula",
	     "application/vnd.oasis.opendocument.formula-template"},
	    {"image", "application/vnd.oasis.opendocument.image",
	     "application/vnd.oasis.opendocument.image-template"},
	};
	size_t k, p = 50 + 23, e;

	if (n >= 37 && b[4] == 0x14 && has(b, n, 30, "doc.kml"))
		consider(best, bs, "application/vnd.google-earth.kmz", 100);
	if (n < 58 || memcmp(b + 26, "\x08\0\0\0mimetypeapplication/", 24) != 0)
		return;
	if (has(b, n, 50, "epub+zip"))
		consider(best, bs, "application/epub+zip", 110);
	if (!has(b, n, 50, "vnd.oasis.opendocument."))
		return;
	if (has(b, n, p, "database")) {
		consider(best, bs, "application/vnd.oasis.opendocument.database", 110);
		return;
	}
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (!has(b, n, p, kinds[k].kind))
			continue;
		e = p + strlen(kinds[k].kind);
		if (e < n && b[e] != '-')
			consider(best, bs, kinds[k].base, 110);
		else if (has(b, n, e, "-template"))
			consider(best, bs, kinds[k].tmpl, 120);
		else if (k == 0 && has(b, n, e, "-web"))
			consider(best, bs, "application/vnd.oasis.opendocument.text-web", 70);
		else if (k == 0 && has(b, n, e, "-master"))
			consider(best, bs, "application/vnd.oasis.opendocument.text-master", 100);
		return;
	}
}

/* programming.sig's file-javascript2..6 (application/javascript, 60); ws is [\x0d\x0a[:blank:]]:
 * 2: ^ws*<script[[:blank:]]+(type|language)=['"]?(text/)?javascript (case-insensitive);
 * 3: ^ws*for \(;;\);   4: ^ws*document\.write(ln)?[:blank:]?\( ("[:blank:]" outside a bracket
 * is the class of the characters :, b, l, a, n, k);   5: ^\(function\(\)[[:blank:]\n]*\{ ;
 * 6: ^ws*<script>ws*(var|function)\x20 */
static bool sig_js(const uint8_t *b, size_t n)
{
	size_t i = skip_wsnl(b, n, 0), j, k;

	if (has(b, n, 0, "(function()")) {
		for (j = 11; j < n && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n'); j++)
			;
		if (j < n && b[j] == '{')
			return true;
	}
	if (i >= n)
		return false;
	if (b[i] == '<') {
		if (has(b, n, i, "<script>")) {
			j = skip_wsnl(b, n, i + 8);
			if (has(b, n, j, "var ") || has(b, n, j, "function "))
				return true;
		}
		if (!has_ci(b, n, i, "<script") || i + 7 >= n ||
		    (b[i + 7] != ' ' && b[i + 7] != '\t'))
			return false;
		for (j = i + 7; j < n && (b[j] == ' ' || b[j] == '\t'); j++)
			;
		if (has_ci(b, n, j, "type="))
			j += 5;
		else if (has_ci(b, n, j, "language="))
			j += 9;
		else
			return false;
		if (j < n && (b[j] == '\'' || b[j] == '"'))
			j++;
		/* (text/)? javascript: "text/" cannot start "javascript": no backtracking */
		if (has_ci(b, n, j, "text/"))
			j += 5;
		return has_ci(b, n, j, "javascript");
	}
	if (has(b, n, i, "for (;;);"))
		return true;
	if (!has(b, n, i, "document.write"))
		return false;
	for (k = 0; k < 2; k++) { /* after "write", then after "writeln" */
		j = i + 14 + 2 * k;
		if (k && !has(b, n, i + 14, "ln"))
			break;
		if (j < n && b[j] == '(')
			return true;
		if (j + 1 < n && memchr(":blank", b[j], 6) && b[j + 1] == '(')
			return true;
	}
	return false;
}

/* python.sig's file-pyc-* (application/x-python-bytecode 80): ^M\x0d\x0a, the two magic
 * bytes M of a Python release, as listed there (1.x to 3.14). */
static bool sig_pyc(const uint8_t *b, size_t n)
{
	static const uint8_t f2[] = {0x3b, 0x45, 0x59, 0x63, 0x6d, 0x77, 0x81, 0x8b, 0x8c, 0x95,
				     0x9f, 0xa9, 0xb3, 0xc7, 0xd1, 0xdb, 0xe5, 0xef, 0xf9};
	static const uint8_t b30[] = {0xb8, 0xc2, 0xcc, 0xd6, 0xe0, 0xea, 0xf4, 0xf5, 0xff};
	static const uint8_t c0c[] = {0x09, 0x13, 0x1d, 0x1f, 0x27, 0x3b,	/* 3.0 */
				      0x45, 0x4f, 0x58, 0x62, 0x6c,		/* 3.1, 3.2 */
				      0x76, 0x80, 0x94, 0x9e,			/* 3.3 */
				      0xb2, 0xcc, 0xc6, 0xd0, 0xda, 0xe4, 0xee, /* 3.4 */
				      0xf8};					/* 3.5 */
	uint8_t c = b[0];

	if (n < 4 || b[2] != 0x0d || b[3] != 0x0a)
		return false;
	switch (b[1]) {
	case 0xc4:
		return c == 0xfc;
	case 0x4e:
		return c == 0x99;
	case 0xc6:
		return c == 0x87;
	case 0xed:
		return c == 0x2a || c == 0x2d;
	case 0xf2:
		return memchr(f2, c, sizeof(f2)) != NULL;
	case 0xf3:
		return c == 0x03;
	case 0x0b:
		return memchr(b30, c, sizeof(b30)) != NULL;
	case 0x0c:
		return memchr(c0c, c, sizeof(c0c)) != NULL;
	case 0x0d: /* 3.5 to 3.13 */
		return c == 0x02 || c == 0x0c || c == 0x16 || c == 0x17 || c == 0x20 || c == 0x21 ||
		       (c >= 0x2a && c <= 0x2d) || (c >= 0x2f && c <= 0x33) ||
		       (c >= 0x3e && c <= 0x42) || c == 0x48 || c == 0x49 ||
		       (c >= 0x52 && c <= 0x55) || (c >= 0x5c && c <= 0x61) ||
		       (c >= 0x66 && c <= 0x6f) || (c >= 0x7a && c <= 0xa7) ||
		       (c >= 0xac && c <= 0xcb) || (c >= 0xde && c <= 0xf3);
	case 0x0e:
		return c >= 0x10 && c <= 0x19; /* 3.14 */
	}
	return false;
}

/* general.sig's file-ocsp-request and file-ocsp-response (71): ^.{11,19} then the SHA-1
 * algorithm identifier, or the id-pkix-ocsp-basic one. */
static void sig_ocsp(const uint8_t *b, size_t n, const char **best, int *bs)
{
	size_t o;

	for (o = 11; o <= 19; o++) {
		if (has(b, n, o, "\x06\x05\x2b\x0e\x03\x02\x1a"))
			consider(best, bs, "application/ocsp-request", 71);
		if (has(b, n, o, "\x06\x09\x2b\x06\x01\x05\x05\x07\x30\x01\x01"))
			consider(best, bs, "application/ocsp-response", 71);
	}
}

/* file-lzh's method: lh[ abcdex0-9]|lz[s2-8]|pm[s012]|pc1 */
static bool lzh_method(const uint8_t *m)
{
	if (m[0] == 'l' && m[1] == 'h')
		return m[2] == ' ' || (m[2] >= 'a' && m[2] <= 'e') || m[2] == 'x' ||
		       (m[2] >= '0' && m[2] <= '9');
	if (m[0] == 'l' && m[1] == 'z')
		return m[2] == 's' || (m[2] >= '2' && m[2] <= '8');
	if (m[0] == 'p' && m[1] == 'm')
		return m[2] == 's' || (m[2] >= '0' && m[2] <= '2');
	return m[0] == 'p' && m[1] == 'c' && m[2] == '1';
}

/* archive.sig's signatures that are more than one literal: file-lzh, file-arc, file-dmg's
 * fifth form and the self-extracting archives after an MZ header (file-magic-auto434, PKWARE
 * or PKLITE, beats x-dosexec; file-magic-auto436, LHa). */
static void sig_archive(const uint8_t *b, size_t n, const char **best, int *bs)
{
	/* file-lzh, 80: ^.{2}-(lh[ abcdex0-9]|lz[s2-8]|pm[s012]|pc1)- */
	if (n >= 7 && b[2] == '-' && b[6] == '-' && lzh_method(b + 3))
		consider(best, bs, "application/x-lzh", 80);
	/* file-arc, 70: ^[\x00-\x7f]{2}[\x02-\x0a\x14\x48]\x1a */
	if (n >= 4 && b[0] < 0x80 && b[1] < 0x80 &&
	    ((b[2] >= 0x02 && b[2] <= 0x0a) || b[2] == 0x14 || b[2] == 0x48) && b[3] == 0x1a)
		consider(best, bs, "application/x-arc", 70);
	/* file-dmg, 100 (the other four forms are literals): ^\x78[\x01\xDA]\xED[\xD0-\xD9] */
	if (n >= 4 && b[0] == 0x78 && (b[1] == 0x01 || b[1] == 0xda) && b[2] == 0xed &&
	    b[3] >= 0xd0 && b[3] <= 0xd9)
		consider(best, bs, "application/x-dmg", 100);
	if (!has(b, n, 0, "MZ"))
		return;
	/* file-magic-auto434, 340: ^MZ.{28}(Copyright 1989\x2d1990 PKWARE Inc|PKLITE Copr)\x2e */
	if (has(b, n, 30, "Copyright 1989-1990 PKWARE Inc.") || has(b, n, 30, "PKLITE Copr."))
		consider(best, bs, "application/zip", 340);
	/* file-magic-auto436, 120: ^MZ.{34}LH[aA]\x27s SFX */
	if (has(b, n, 36, "LHa's SFX") || has(b, n, 36, "LHA's SFX"))
		consider(best, bs, "application/x-lha", 120);
}

const char *mimesniff__detect(const uint8_t *b, size_t n, int *strength)
{
	uint8_t reach[MIMESNIFF_BOF_DEFAULT + 1];
	const char *best = NULL;
	int bs = -1000, st;

	if (!b || n == 0)
		return NULL;
	if (n > MIMESNIFF_BOF_DEFAULT)
		n = MIMESNIFF_BOF_DEFAULT;

	lits_match(b, n, &best, &bs);

	if (sig_plaintext(b, n))
		consider(&best, &bs, "text/plain", -20);
	st = sig_json(b, n);
	if (st > -1000)
		consider(&best, &bs, "text/json", st);
	sig_xml(b, n, reach, &best, &bs);
	sig_markup(b, n, reach, &best, &bs);
	if (sig_ini(b, n))
		consider(&best, &bs, "text/ini", 20);
	if (sig_diff(b, n))
		consider(&best, &bs, "text/x-diff", 55);
	if (sig_bmp(b, n))
		consider(&best, &bs, "image/x-ms-bmp", 50);
	consider(&best, &bs, sig_elf(b, n), 50);
	sig_ooxml(b, n, &best, &bs);
	if (sig_tar(b, n))
		consider(&best, &bs, "application/x-tar", 100);
	if (b[0] == '<' && sig_svg(b, n))
		consider(&best, &bs, "image/svg+xml", 38);
	if (n >= 6 && has(b, n, 0, "PK\x03\x04")) {
		consider(&best, &bs, "application/zip", 10);
		sig_odf(b, n, &best, &bs);
	}
	sig_archive(b, n, &best, &bs);
	sig_java(b, n, &best, &bs);
	if (n >= 8 && has(b, n, 0, "\xca\xfe\xba\xbe") && b[6] == 0 && b[7] >= 1 && b[7] <= 0x14)
		consider(&best, &bs, "application/x-mach-o-executable", 100);
	if (has(b, n, 0, "MIME-Version:") &&
	    find(b, n, 13, "protocol=\"application/pkcs7-signature\"") < n)
		consider(&best, &bs, "application/pkcs7-signature", 100);
	if (find(b, n, 0, "<?php") < n)
		consider(&best, &bs, "text/x-php", 40);
	if (n >= 2 && b[0] == '@') {
		size_t j = 1;

		while (j < n && b[j] == ' ')
			j++;
		if (has_ci(b, n, j, "echo") && j + 4 < n && b[j + 4] == ' ') {
			j += 4;
			while (j < n && b[j] == ' ')
				j++;
			if (has_ci(b, n, j, "off"))
				consider(&best, &bs, "text/x-msdos-batch", 110);
		}
	}
	if (sig_pyc(b, n))
		consider(&best, &bs, "application/x-python-bytecode", 80);
	if (n >= 18 && memchr(b + 11, 0x06, (n < 20 ? n : 20) - 11))
		sig_ocsp(b, n, &best, &bs);
	/* file-pcap-ng, 100: ^\x0a\x0d\x0d\x0a.{4}(\x1a\x2b\x3c\x4d|\x4d\x3c\x2b\x1a) */
	if (n >= 12 && has(b, n, 0, "\x0a\x0d\x0d\x0a") &&
	    (has(b, n, 8, "\x1a\x2b\x3c\x4d") || has(b, n, 8, "\x4d\x3c\x2b\x1a")))
		consider(&best, &bs, "application/vnd.tcpdump.pcap", 100);
	/* executable.sig file-elc, 10: ^\x3bELC[\x00-\x1f\x80-\xff] */
	if (n >= 5 && has(b, n, 0, ";ELC") && (b[4] < 0x20 || b[4] >= 0x80))
		consider(&best, &bs, "application/x-elc", 10);
	if (sig_js(b, n))
		consider(&best, &bs, "application/javascript", 60);
	sig_script(b, n, &best, &bs);
	if (n >= 12 && has(b, n, 0, "RIFF") && has(b, n, 8, "CDR") &&
	    (b[11] == 'A' || b[11] == '6'))
		consider(&best, &bs, "image/x-coreldraw", 70);
	if (n >= 16 && has(b, n, 0, "AT&TFORM") &&
	    (has(b, n, 12, "DJVM") || has(b, n, 12, "DJVU") || has(b, n, 12, "DJVI") ||
	     has(b, n, 12, "THUM")))
		consider(&best, &bs, "image/vnd.djvu", 70);
	if (n >= 24 && has(b, n, 0, "\0\0\0\x0cjP  \r\n\x87\n")) {
		if (has(b, n, 20, "jp2 "))
			consider(&best, &bs, "image/jp2", 70);
		else if (has(b, n, 20, "jpx "))
			consider(&best, &bs, "image/jpx", 70);
		else if (has(b, n, 20, "jpm "))
			consider(&best, &bs, "image/jpm", 70);
	}
	if (n >= 12 && has(b, n, 0, "!BDN") &&
	    (b[10] == 0x0e || b[10] == 0x0f || b[10] == 0x15 || b[10] == 0x17) && b[11] <= 2)
		consider(&best, &bs, "application/vnd.ms-outlook", 49);

	if (best && strength)
		*strength = bs;
	return best;
}
