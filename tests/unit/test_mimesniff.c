// SPDX-License-Identifier: BSD-3-Clause
/* mimesniff.c against Zeek's current file-magic signatures (base/frameworks/files/magic:
 * general, java, office, programming, python, image, executable, archive and the slimmed
 * libmagic.sig): one case per signature or rule, with the type and strength Zeek's
 * RuleMatcher gives (the strongest match; on equal strengths the smallest mime string, as
 * RuleMatcher::MIME_Matches is a map<int, set<string>, greater> and File::DetectMIME takes
 * the first). Every case states the whole answer: type and strength, or no type. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "mailtap/mimesniff.h"

struct scase {
	const char *data;
	size_t len;
	const char *mime; /* NULL: no signature matches (Zeek leaves mime_type unset) */
	int strength;
};

#define C(s, m, st)                                                                                \
	{                                                                                          \
		(s), sizeof(s) - 1, (m), (st)                                                      \
	}

/* Checks every case and reports each mismatch, then fails once if there was any. */
static void check(const struct scase *c, size_t n, const char *name)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		int st = 0;
		const char *m = mimesniff__detect((const uint8_t *)c[i].data, c[i].len, &st);
		bool ok = c[i].mime ? m && !strcmp(m, c[i].mime) && st == c[i].strength : !m;

		if (!ok) {
			print_message("%s case %zu: got %s (%d), want %s (%d)\n", name, i,
				      m ? m : "(none)", m ? st : 0,
				      c[i].mime ? c[i].mime : "(none)",
				      c[i].mime ? c[i].strength : 0);
			bad++;
		}
	}
	if (bad)
		fail_msg("%s: %zu of %zu cases differ from Zeek", name, bad, n);
}

#define CHECK(cases) check(cases, sizeof(cases) / sizeof(cases[0]), __func__)

/* F1: the slimmed libmagic.sig has no XML declaration at 185 and no Received: at 120, so what
 * follows the declaration decides (general.sig's markup signatures, libmagic's SVG one), and a
 * saved message starting with Received: is text/plain. Entries that moved to archive.sig and
 * image.sig have those files' strengths. */
static void test_libmagic_current(void **state)
{
	static const struct scase cases[] = {
	    /* XHTML: general.sig file-xhtml through its (<\?xml .*\?>)? prefix */
	    C("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD "
	      "XHTML 1.0 Strict//EN\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\">",
	      "text/html", 100),
	    /* SVG: libmagic file-magic-auto44 (38) beats file-xml (10) */
	    C("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg "
	      "xmlns=\"http://www.w3.org/2000/svg\" width=\"10\"/>",
	      "image/svg+xml", 38),
	    /* auto44 wants a byte other than NUL after version=" */
	    C("<?xml version=\"\0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
	      "application/xml", 10),
	    /* plain XML stays file-xml's application/xml, at 10 */
	    C("<?xml version=\"1.0\"?>\n<root><a>1</a></root>\n", "application/xml", 10),
	    /* a saved message whose first header is Received: */
	    C("Received: from mx.example.com (mx.example.com [192.0.2.1])\r\n\tby "
	      "mail.example.org\r\n"
	      "From: a@example.com\r\n",
	      "text/plain", -20),
	    /* PO^Q` (old libmagic msword, 80) is gone */
	    C("PO^Q`\0\0\0\0\0\0\0", NULL, 0),
	    /* OLE compound file: office.sig file-msword, 50 (not libmagic's 110) */
	    C("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0", "application/msword", 50),
	    /* moved to archive.sig: StuffIt and !<arch> at 70, PK\x07\x08 at 10 */
	    C("StuffIt (c)1997-2001 Aladdin Systems", "application/x-stuffit", 70),
	    C("!<arch>\nlibfoo.o/       ", "application/x-archive", 70),
	    C("PK\x07\x08PK\x03\x04\x14\0\0\0", "application/zip", 10),
	};

	(void)state;
	CHECK(cases);
}

/* F1: ustar headers: archive.sig's file-tar (100) checks the header's numeric fields; the
 * old libmagic ustar entries (110, 90) are gone. */
static void test_tar(void **state)
{
	static char gnu[512], posix[512], bad[512];
	struct scase cases[3];

	(void)state;
	/* GNU tar: octal fields with NUL ends, the checksum as 6 digits, NUL, space */
	memset(gnu, 0, sizeof(gnu));
	memcpy(gnu, "dir/file.txt", 12);
	memcpy(gnu + 100,
	       "0000644\0"
	       "0001750\0"
	       "0001750\0"
	       "00000000012\0"
	       "14567012345\0"
	       "012345\0 0",
	       157 - 100);
	memcpy(gnu + 257, "ustar  \0", 8);
	memcpy(posix, gnu, sizeof(gnu));
	memcpy(posix + 257,
	       "ustar\0"
	       "00",
	       8);
	/* a non-octal byte in the size field: no file-tar, no ustar entry: the name is text */
	memcpy(bad, gnu, sizeof(gnu));
	bad[130] = 'x';
	cases[0] = (struct scase){gnu, sizeof(gnu), "application/x-tar", 100};
	cases[1] = (struct scase){posix, sizeof(posix), "application/x-tar", 100};
	cases[2] = (struct scase){bad, sizeof(bad), "text/plain", -20};
	CHECK(cases);
}

/* F1, F5: general.sig's markup signatures on the HTML/XML prefix (BOM, white space, comments,
 * XML declaration): file-rss, file-atom, file-soap, file-xmlrpc, file-f4m,
 * file-cross-domain-policy(2) (no BOM in their prefix) and file-coldfusion (no BOM, no
 * declaration). */
static void test_general_markup(void **state)
{
	static const struct scase cases[] = {
	    C("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>",
	      "text/rss", 90),
	    C("\xef\xbb\xbf<!-- feed -->\r\n<RSS version=\"0.91\">", "text/rss", 90),
	    /* file-atom, its rss form (xmlns:atom before the tag's '>') beats file-rss */
	    C("<?xml version=\"1.0\"?><rss version=\"2.0\" "
	      "xmlns:atom=\"http://www.w3.org/2005/Atom\">",
	      "text/atom", 100),
	    /* xmlns:atom after the '>': file-rss only */
	    C("<rss version=\"2.0\"><channel xmlns:atom=\"x\">", "text/rss", 90),
	    /* file-atom, its feed form, quoted, unquoted, '.' matching any byte */
	    C("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed "
	      "xmlns=\"http://www.w3.org/2005/Atom\">",
	      "text/atom", 100),
	    C("<feed xml:lang=\"en\" xmlns=http://wwwXw3Xorg/2005/Atom>", "text/atom", 100),
	    C("<feed xmlns=\"http://www.w3.org/2005/atom\">", "text/plain", -20),
	    /* file-soap */
	    C("<?xml version=\"1.0\"?>\n<soap:Envelope xmlns:soap=\"x\">", "application/soap+xml",
	      49),
	    C("<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"x\">", "application/soap+xml", 49),
	    /* file-xmlrpc */
	    C("<?xml version=\"1.0\"?>\n<methodResponse><params>", "application/xml-rpc", 49),
	    /* file-f4m */
	    C("<?xml version=\"1.0\"?>\n<manifest\r\n  xmlns=\"http://ns.adobe.com/f4m/1.0\">",
	      "application/f4m", 49),
	    /* file-cross-domain-policy (doctype) and file-cross-domain-policy2 (tag) */
	    C("<?xml version=\"1.0\"?>\n<!DOCTYPE cross-domain-policy SYSTEM \"x\">",
	      "text/x-cross-domain-policy", 49),
	    C("<cross-domain-policy><allow-access-from domain=\"*\"/>",
	      "text/x-cross-domain-policy", 49),
	    /* ... whose prefix has no BOM */
	    C("\xef\xbb\xbf<cross-domain-policy><allow-access-from domain=\"*\"/>", "text/plain",
	      -20),
	    /* file-coldfusion: no BOM, no XML declaration, upper case */
	    C("<!-- page -->\n<CFSET x = 1>\n", "magnus-internal/cold-fusion", 20),
	    C("<?xml version=\"1.0\"?><CFIF x>", "application/xml", 10),
	    C("<cfset x = 1>\n", "text/plain", -20),
	};

	(void)state;
	CHECK(cases);
}

/* F2: java.sig. */
static void test_java(void **state)
{
	static const struct scase cases[] = {
	    /* file-jar: the jar tool's layout, META-INF/ first, then the manifest (name length
	     * 0x14 at 26 + 59) */
	    C("PK\x03\x04\x14\0\x08\x08\x08\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x09\0\x04\0"
	      "META-INF/\xfe\xca\0\0"
	      "PK\x03\x04\x14\0\x08\x08\x08\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x14\0\0\0"
	      "META-INF/MANIFEST.MF\x8d\x8e",
	      "application/java-archive", 100),
	    /* the manifest's header must start in the first 200 bytes after PK\x03\x04 */
	    C("PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x05\0\0\0abcde"
	      "0123456789012345678901234567890123456789012345678901234567890123456789"
	      "0123456789012345678901234567890123456789012345678901234567890123456789"
	      "012345678901234567890123456789012345678901234567890123456789"
	      "\x14\0\0\0META-INF/MANIFEST.MF",
	      "application/zip", 10),
	    /* file-java-applet: class file, major 52 (Java 8) and 45 (1.1) */
	    C("\xca\xfe\xba\xbe\0\0\0\x34\0\x1d\x0a\0", "application/x-java-applet", 71),
	    C("\xca\xfe\xba\xbe\0\x03\0\x2d\0\x1d", "application/x-java-applet", 71),
	    /* major 53 (Java 9) is not in the class: no type */
	    C("\xca\xfe\xba\xbe\0\0\0\x35\0\x1d", NULL, 0),
	    /* Mach-O universal with 2 architectures stays Mach-O */
	    C("\xca\xfe\xba\xbe\0\0\0\x02\x01\0", "application/x-mach-o-executable", 100),
	    /* file-jar-pack200 */
	    C("\xca\xfe\xd0\x0d\x07", "application/x-java-pack200", 1),
	    /* file-jnlp */
	    C("<jnlp spec=\"1.0+\" codebase=\"http://x/\">\n", "application/x-java-jnlp-file", 100),
	    /* file-java-keystore, file-java-jce-keystore */
	    C("\xfe\xed\xfe\xed\0\0\0\x02\0\0", "application/x-java-keystore", 70),
	    C("\xce\xce\xce\xce\0\0\0\x02\0\0", "application/x-java-jce-keystore", 70),
	};

	(void)state;
	CHECK(cases);
}

/* The local header of a stored first entry "mimetype" (26 bytes, then the name at 30) and its
 * content, as LibreOffice and EPUB writers put it. */
#define MT_HDR "PK\x03\x04\x0a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x08\0\0\0mimetype"
#define ODF(kind, after) MT_HDR "application/vnd.oasis.opendocument." kind after

/* F3: office.sig's OpenDocument signatures, libmagic's EPUB and KMZ. */
static void test_opendocument(void **state)
{
	static const struct scase cases[] = {
	    C(ODF("text", "PK\x03\x04"), "application/vnd.oasis.opendocument.text", 110),
	    C(ODF("spreadsheet", "PK\x03\x04"), "application/vnd.oasis.opendocument.spreadsheet",
	      110),
	    C(ODF("presentation", "PK\x03\x04"), "application/vnd.oasis.opendocument.presentation",
	      110),
	    C(ODF("graphics", "PK\x03\x04"), "application/vnd.oasis.opendocument.graphics", 110),
	    C(ODF("chart", "PK\x03\x04"), "application/vnd.oasis.opendocument.chart", 110),
	    C(ODF("formula", "PK\x03\x04"), "application/vnd.oasis.opendocument.formula", 110),
	    C(ODF("image", "PK\x03\x04"), "application/vnd.oasis.opendocument.image", 110),
	    C(ODF("database", "PK\x03\x04"), "application/vnd.oasis.opendocument.database", 110),
	    C(ODF("text-template", "PK"), "application/vnd.oasis.opendocument.text-template", 120),
	    C(ODF("spreadsheet-template", "PK"),
	      "application/vnd.oasis.opendocument.spreadsheet-template", 120),
	    C(ODF("text-web", "PK"), "application/vnd.oasis.opendocument.text-web", 70),
	    C(ODF("text-master", "PK"), "application/vnd.oasis.opendocument.text-master", 100),
	    /* a kind must be followed by a byte (the base types) ... */
	    C(ODF("text", ""), "application/zip", 10),
	    /* ... other than '-' unless one of the suffixes follows */
	    C(ODF("spreadsheet-web", "PK"), "application/zip", 10),
	    /* EPUB (libmagic file-magic-auto245) */
	    C(MT_HDR "application/epub+zipPK\x03\x04", "application/epub+zip", 110),
	    /* "mimetype" compressed (method 8, not the \x08 name length): a plain zip */
	    C("PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x09\0\0\0"
	      "mimetypex",
	      "application/zip", 10),
	    /* KMZ (libmagic file-magic-auto226): version 0x14 at 4, doc.kml as the first name */
	    C("PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x07\0\0\0doc.kml",
	      "application/vnd.google-earth.kmz", 100),
	};

	(void)state;
	CHECK(cases);
}

/* F4: programming.sig's file-javascript2..6. */
static void test_javascript(void **state)
{
	static const struct scase cases[] = {
	    /* 2: <script type|language=...javascript, case-insensitive */
	    C("<script type=\"text/javascript\">var a = 1;</script>\n", "application/javascript",
	      60),
	    C("\r\n\t<SCRIPT\tLanguage='JavaScript'>x()</SCRIPT>", "application/javascript", 60),
	    C("<script type=javascript>x()</script>", "application/javascript", 60),
	    C("<script type=\"module\">x()</script>", "text/plain", -20),
	    /* 3 */
	    C("  for (;;);{\"a\":1}", "application/javascript", 60),
	    /* 4: document.write, writeln, one of ":blank" before the '(' */
	    C("document.write(\"<iframe src=x></iframe>\");\n", "application/javascript", 60),
	    C("\n document.writeln(\"x\");", "application/javascript", 60),
	    C("document.writek(\"x\");", "application/javascript", 60),
	    C("document.write (\"x\");", "text/plain", -20),
	    /* 5: anchored, no leading white space */
	    C("(function(){ var a = 1; })();\n", "application/javascript", 60),
	    C("(function()\n\t {x})()", "application/javascript", 60),
	    C(" (function(){ var a = 1; })();\n", "text/plain", -20),
	    /* 6: <script> then var or function and a space, case-sensitive */
	    C("<script>\nvar x = new ActiveXObject(\"WScript.Shell\");", "application/javascript",
	      60),
	    C("<SCRIPT>\nvar x = 1;", "text/plain", -20),
	};

	(void)state;
	CHECK(cases);
}

/* F5: the rest of general.sig (file-reg-utf16, file-pcap-ng, file-skp, file-ocsp-*),
 * executable.sig's file-elc and python.sig's file-pyc-*. */
static void test_general_binary(void **state)
{
	static const struct scase cases[] = {
	    /* regedit's default export: UTF-16LE with a BOM */
	    C("\xff\xfeW\0i\0n\0d\0o\0w\0s\0 \0R\0e\0g\0i\0s\0t\0r\0y\0 \0E\0d\0i\0t\0o\0r\0 "
	      "\0V\0e\0r\0s\0i\0o\0n\0 \0"
	      "5\0.\0"
	      "0\0"
	      "0\0\r\0\n\0",
	      "application/vnd.ms-reg", 49),
	    /* pcapng section header block, both byte orders */
	    C("\x0a\x0d\x0d\x0a\x1c\0\0\0\x4d\x3c\x2b\x1a\x01\0", "application/vnd.tcpdump.pcap",
	      100),
	    C("\x0a\x0d\x0d\x0a\0\0\0\x1c\x1a\x2b\x3c\x4d\0\x01", "application/vnd.tcpdump.pcap",
	      100),
	    C("\x0a\x0d\x0d\x0a\x1c\0\0\0\x4d\x3c\x2b\x1b\x01\0", NULL, 0),
	    /* SketchUp */
	    C("\xff\xfe\xff\x0eS\0k\0e\0t\0c\0h\0U\0p\0 \0M\0o\0d\0e\0l\0\xff\xfe",
	      "application/skp", 100),
	    /* OCSP over HTTP: request (SHA-1 OID at 15) and response (basic OID at 17) */
	    C("\x30\x45\x30\x43\x30\x41\x30\x3f\x30\x3d\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\0",
	      "application/ocsp-request", 71),
	    C("\x30\x82\x01\xd3\x0a\x01\0\xa0\x82\x01\xcc\x30\x82\x01\xc8\x06\x09\x2b\x06\x01"
	      "\x05\x05\x07\x30\x01\x01\x04",
	      "application/ocsp-response", 71),
	    /* Emacs byte code */
	    C(";ELC\x1b\0\0\0\n;;; Compiled\n", "application/x-elc", 10),
	    /* Python bytecode: 2.7, 3.6, 3.12, 3.13, 3.14 */
	    C("\x03\xf3\x0d\x0a\0\0\0\0\xe3\0", "application/x-python-bytecode", 80),
	    C("\x33\x0d\x0d\x0a\0\0\0\0\xe3\0", "application/x-python-bytecode", 80),
	    C("\xcb\x0d\x0d\x0a\0\0\0\0\xe3\0", "application/x-python-bytecode", 80),
	    C("\xf3\x0d\x0d\x0a\0\0\0\0\xe3\0", "application/x-python-bytecode", 80),
	    C("\x2b\x0e\x0d\x0a\0\0\0\0\xe3\0", NULL, 0),
	    C("\x19\x0e\x0d\x0a\0\0\0\0\xe3\0", "application/x-python-bytecode", 80),
	};

	(void)state;
	CHECK(cases);
}

/* F6: on equal strengths Zeek takes the smallest mime string; and every match counts. */
static void test_ties(void **state)
{
	static const struct scase cases[] = {
	    /* GIF8 and the zoo magic at 20, both 70: application/x-zoo < image/gif */
	    C("GIF89a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xdc\xa7\xc4\xfd\0\0\0\0", "application/x-zoo",
	      70),
	    /* file-arc (a matcher) and file-zoo (a literal), both 70: x-arc < x-zoo */
	    C("\x1a\x08\x02\x1a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xdc\xa7\xc4\xfd\0\0",
	      "application/x-arc", 70),
	    /* OOXML with word/ and xl/ entries: spreadsheetml < wordprocessingml */
	    C("PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x13\0\0\0[Content_Types]."
	      "xml"
	      "PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x11\0\0\0word/document.xml"
	      "PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x0f\0\0\0xl/workbook.xml",
	      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 80),
	    /* text/html (100, after the first comment) and text/atom (100, after the second) */
	    C("<!-- a --><html><!-- b --><feed xmlns=\"http://www.w3.org/2005/Atom\">", "text/atom",
	      100),
	    /* a second "bin/" within the 15 bytes: file-shellscript (250) beats file-perl (60) */
	    C("#!/bin/perl /bin/sh\nexit 0\n", "text/x-shellscript", 250),
	};

	(void)state;
	CHECK(cases);
}

/* F7: libmagic's vCard and iCalendar signatures are case-sensitive (no [bB] classes). */
static void test_vcard_case(void **state)
{
	static const struct scase cases[] = {
	    C("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A B\r\nEND:VCARD\r\n", "text/x-vcard", 140),
	    C("begin:vcard\r\nversion:3.0\r\nfn:A B\r\nend:vcard\r\n", "text/plain", -20),
	    C("Begin:VCard\r\nversion:3.0\r\n", "text/plain", -20),
	    C("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "text/calendar", 180),
	    C("begin:vcalendar\r\nversion:2.0\r\n", "text/plain", -20),
	};

	(void)state;
	CHECK(cases);
}

/* F8: office.sig's file-msaccess ends with a NUL: .{4}Standard (Jet|ACE) DB\x00 */
static void test_msaccess(void **state)
{
	static const struct scase cases[] = {
	    C("\0\x01\0\0Standard Jet DB\0\x01\0\0\0", "application/x-msaccess", 180),
	    C("\0\x01\0\0Standard ACE DB\0\x02\0\0\0", "application/x-msaccess", 180),
	    C("\0\x01\0\0Standard Jet DBX\0\0\0\0", NULL, 0),
	    C("\0\x01\0\0Standard ACE DB", NULL, 0),
	};

	(void)state;
	CHECK(cases);
}

/* F9: base general.sig has no ISO 9660 signature any more (Zeek moved it to a policy script,
 * not loaded by default), so neither CD001 at the start nor at 32769 gives a type. */
static void test_no_iso9660(void **state)
{
	static const struct scase cases[] = {
	    C("CD001\x01\0\0\0\0\0\0\0\0\0\0", NULL, 0),
	    C("CD001 is only text here\r\n", "text/plain", -20),
	};
	static uint8_t iso[MIMESNIFF_BOF_DEFAULT];
	int st = 0;

	(void)state;
	CHECK(cases);
	/* the first 4096 bytes of an ISO image (the system area) are zeros: no type */
	assert_null(mimesniff__detect(iso, sizeof(iso), &st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libmagic_current), cmocka_unit_test(test_tar),
	    cmocka_unit_test(test_general_markup),   cmocka_unit_test(test_java),
	    cmocka_unit_test(test_opendocument),     cmocka_unit_test(test_javascript),
	    cmocka_unit_test(test_general_binary),   cmocka_unit_test(test_ties),
	    cmocka_unit_test(test_vcard_case),	     cmocka_unit_test(test_msaccess),
	    cmocka_unit_test(test_no_iso9660),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
