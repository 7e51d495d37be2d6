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
				      m ? m : "(none)", m ? st : 0, c[i].mime ? c[i].mime : "(none)",
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
	    C("Received: from mx.example.com (mx.example.com [192.0.2.1])\r\n\tby mail.example.org\r\n"
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
	memcpy(gnu + 100, "0000644\0" "0001750\0" "0001750\0" "00000000012\0" "14567012345\0"
			  "012345\0 0", 157 - 100);
	memcpy(gnu + 257, "ustar  \0", 8);
	memcpy(posix, gnu, sizeof(gnu));
	memcpy(posix + 257, "ustar\0" "00", 8);
	/* a non-octal byte in the size field: no file-tar, no ustar entry: the name is text */
	memcpy(bad, gnu, sizeof(gnu));
	bad[130] = 'x';
	cases[0] = (struct scase){gnu, sizeof(gnu), "application/x-tar", 100};
	cases[1] = (struct scase){posix, sizeof(posix), "application/x-tar", 100};
	cases[2] = (struct scase){bad, sizeof(bad), "text/plain", -20};
	CHECK(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libmagic_current),
	    cmocka_unit_test(test_tar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
