// SPDX-License-Identifier: BSD-3-Clause
/* Mail software detection: Zeek's version parser against the vectors of Zeek's own test
 * (testing/btest/scripts/base/frameworks/software/version-parsing.zeek), the webmail
 * expression, Software::cmp_versions, and the per-host table of Software::register (new,
 * unchanged, changed, expired, evicted). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>
#include "mailtap/software.h"

#define U (-1LL)

struct vec {
	const char *ua;
	const char *name;
	long long major, minor, minor2, minor3;
	const char *addl;
};

/* Zeek's table, in its order: [unparsed] = [$name, $version]. */
static const struct vec zeek_vectors[] = {
    {"OpenSSH_4.4", "OpenSSH", 4, 4, U, U, NULL},
    {"OpenSSH_5.2", "OpenSSH", 5, 2, U, U, NULL},
    {"Apache/2.0.63 (Unix) mod_auth_kerb/5.3 mod_ssl/2.0.63 OpenSSL/0.9.7a mod_fastcgi/2.4.2",
     "Apache", 2, 0, 63, U, "Unix"},
    {"Apache/1.3.19 (Unix)", "Apache", 1, 3, 19, U, "Unix"},
    {"ProFTPD 1.2.5rc1 Server (Debian)", "ProFTPD", 1, 2, 5, U, "rc1"},
    {"wu-2.4.2-academ[BETA-18-VR14](1)", "wu", 2, 4, 2, U, "academ"},
    {"wu-2.6.2(1)", "wu", 2, 6, 2, U, "1"},
    {"Java1.2.2-JDeveloper", "Java", 1, 2, 2, U, "JDeveloper"},
    {"Java/1.6.0_13", "Java", 1, 6, 0, 13, NULL},
    {"Python-urllib/3.1", "Python-urllib", 3, 1, U, U, NULL},
    {"libwww-perl/5.820", "libwww-perl", 5, 820, U, U, NULL},
    {"Wget/1.9+cvs-stable (Red Hat modified)", "Wget", 1, 9, U, U, "+cvs"},
    {"Wget/1.11.4 (Red Hat modified)", "Wget", 1, 11, 4, U, "Red Hat modified"},
    {"curl/7.15.1 (i486-pc-linux-gnu) libcurl/7.15.1 OpenSSL/0.9.8a zlib/1.2.3 libidn/0.5.18",
     "curl", 7, 15, 1, U, "i486-pc-linux-gnu"},
    {"Apache", "Apache", U, U, U, U, NULL},
    {"Zope/(Zope 2.7.8-final, python 2.3.5, darwin) ZServer/1.1 Plone/Unknown", "Zope/(Zope", 2, 7,
     8, U, "final"},
    {"The Bat! (v2.00.9) Personal", "The Bat!", 2, 0, 9, U, "Personal"},
    {"Flash/10,2,153,1", "Flash", 10, 2, 153, 1, NULL},
    {"Flash%20Player/26.0.0.137 CFNetwork/811.5.4 Darwin/16.6.0 (x86_64)", "Flash", 26, 0, 0, 137,
     "CFNetwork/811"},
    {"mt2/1.2.3.967 Oct 13 2010-13:40:24 ord-pixel-x2 pid 0x35a3 13731", "mt2", 1, 2, 3, 967,
     "Oct"},
    {"CacheFlyServe v26b", "CacheFlyServe", 26, U, U, U, "b"},
    {"Apache/2.0.46 (Win32) mod_ssl/2.0.46 OpenSSL/0.9.7b mod_jk2/2.0.4", "Apache", 2, 0, 46, U,
     "Win32"},
    {"Apple iPhone v4.3.1 Weather v1.0.0.8G4", "Apple iPhone", 4, 3, 1, U, "Weather"},
    {"Mozilla/5.0 (iPhone; U; CPU iPhone OS 4_3_2 like Mac OS X; en-us) AppleWebKit/533.17.9 "
     "(KHTML, like Gecko) Version/5.0.2 Mobile/8H7 Safari/6533.18.5",
     "Safari", 5, 0, 2, U, "Mobile"},
    {"Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_7; en-US) AppleWebKit/534.16 (KHTML, like "
     "Gecko) Chrome/10.0.648.205 Safari/534.16",
     "Chrome", 10, 0, 648, 205, NULL},
    {"Opera/9.80 (Windows NT 6.1; U; sv) Presto/2.7.62 Version/11.01", "Opera", 11, 1, U, U, NULL},
    {"Mozilla/5.0 (Windows; U; Windows NT 5.1; de; rv:1.9.2.11) Gecko/20101013 Lightning/1.0b2 "
     "Thunderbird/3.1.5",
     "Thunderbird", 3, 1, 5, U, NULL},
    {"iTunes/9.0 (Macintosh; Intel Mac OS X 10.5.8) AppleWebKit/531.9", "iTunes", 9, 0, U, U,
     "Macintosh"},
    {"Java1.3.1_04", "Java", 1, 3, 1, 4, NULL},
    {"Mozilla/5.0 (Linux; U; Android 2.3.3; zh-tw; HTC Pyramid Build/GRI40) AppleWebKit/533.1 "
     "(KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
     "Safari", 4, 0, U, U, "Mobile"},
    {"Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_6; en-us) AppleWebKit/533.20.25 (KHTML, "
     "like Gecko) Version/5.0.4 Safari/533.20.27",
     "Safari", 5, 0, 4, U, NULL},
    {"Mozilla/5.0 (iPod; U; CPU iPhone OS 4_0 like Mac OS X; en-us) AppleWebKit/532.9 (KHTML, "
     "like Gecko) Version/4.0.5 Mobile/8A293 Safari/6531.22.7",
     "Safari", 4, 0, 5, U, "Mobile"},
    {"Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) "
     "Presto/2.5.25 Version/10.54",
     "Opera Mini", 10, 54, U, U, NULL},
    {"Opera/9.80 (J2ME/MIDP; Opera Mini/5.0.18741/18.794; U; en) Presto/2.4.15", "Opera Mini", 5, 0,
     18741, U, NULL},
    {"Opera/9.80 (Windows NT 5.1; Opera Mobi/49; U; en) Presto/2.4.18 Version/10.00", "Opera Mobi",
     10, 0, U, U, NULL},
    {"Mozilla/4.0 (compatible; MSIE 8.0; Android 2.2.2; Linux; Opera Mobi/ADR-1103311355; en) "
     "Opera 11.00",
     "Opera", 11, 0, U, U, NULL},
    {"Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.7.2) Gecko/20040804 Netscape/7.2 (ax)",
     "Netscape", 7, 2, U, U, NULL},
    {"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0; GTB5; SLCC1; .NET CLR 2.0.50727; Media "
     "Center PC 5.0; .NET CLR 3.0.04506; InfoPath.2)",
     "MSIE", 7, 0, U, U, NULL},
    {"Mozilla/4.0 (compatible; MSIE 7.0b; Windows NT 5.1; Media Center PC 3.0; .NET CLR "
     "1.0.3705; .NET CLR 1.1.4322; .NET CLR 2.0.50727; InfoPath.1)",
     "MSIE", 7, 0, U, U, "b"},
    {"Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; SLCC2; .NET CLR "
     "2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0; Tablet PC 2.0; "
     "InfoPath.2; InfoPath.3)",
     "MSIE", 8, 0, U, U, NULL},
    {"Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; WOW64; Trident/5.0)", "MSIE", 9, 0, U, U,
     NULL},
    {"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; WOW64; Trident/5.0; SLCC2; .NET CLR "
     "2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0; .NET4.0C; "
     ".NET4.0E; InfoPath.3; Creative AutoUpdate v1.40.02)",
     "MSIE", 9, 0, U, U, NULL},
    {"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)", "MSIE", 10, 0, U, U,
     NULL},
    {"Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko", "MSIE", 11, 0, U, U, NULL},
    {"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.3; Trident/7.0; .NET4.0E; .NET4.0C)", "MSIE",
     11, 0, U, U, NULL},
    {"The Bat! (3.0.1 RC3) Professional", "The Bat!", 3, 0, 1, U, "RC3"},
    {"Total Commander", "Total Commander", U, U, U, U, NULL},
    {"(vsFTPd 2.0.5)", "vsFTPd", 2, 0, 5, U, NULL},
    {"Apple Mail (2.1084)", "Apple Mail", 2, 1084, U, U, NULL},
    {"Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/420+ (KHTML, like Gecko) "
     "AdobeAIR/1.0",
     "AdobeAIR", 1, 0, U, U, NULL},
    {"Mozilla/5.0 (Windows; U; en) AppleWebKit/420+ (KHTML, like Gecko) AdobeAIR/1.0", "AdobeAIR",
     1, 0, U, U, NULL},
    /* Zeek's \\x escapes, turned into % escapes, then unescaped as a URI */
    {"\\xe6\\xbc\\xab\\xe7\\x94\\xbb\\xe4\\xba\\xba 2.6.2 rv:1.2 (iPhone; iOS 10.3.2; en_US)",
     "\xe6\xbc\xab\xe7\x94\xbb\xe4\xba\xba", 2, 6, 2, U, "rv:1"},
    {"%E6%9C%89%E9%81%93%E8%AF%8D%E5%85%B8/128 CFNetwork/760.2.6 Darwin/15.3.0 (x86_64)",
     "\xe6\x9c\x89\xe9\x81\x93\xe8\xaf\x8d\xe5\x85\xb8", 128, U, U, U, "CFNetwork/760"},
    {"QQ%E9%82%AE%E7%AE%B1/5.3.2.8 CFNetwork/811.5.4 Darwin/16.6.0", "QQ\xe9\x82\xae\xe7\xae\xb1",
     5, 3, 2, 8, "CFNetwork/811"},
    {"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
     "Edge", 15, 15063, U, U, NULL},
    {"A/8.0.0/Google/Pixel#XL/marlin/unknown/QCX3/l8100358318783302904/-/1456904160/-/google/"
     "662107/662098/-",
     "Android (Google Pixel)", 8, 0, 0, U, NULL},
    {"A/8.1.0/Google/Pixel#2/walleye/unknown/QCX3/l10660929675510745862/-/104360422/-/google/"
     "3606/3607/-",
     "Android (Google Pixel)", 8, 1, 0, U, NULL},
    {"A/9/Google/Pixel#2/walleye/unknown/QCX3/l17463753539612639959/-/2406658516/-/google/"
     "724998/724992/-",
     "Android (Google Pixel)", 9, U, U, U, NULL},
    {"A/9/Google/Pixel#2#XL/taimen/unknown/QCX3/l2640039522761750592/-/1061307257/-/google/"
     "1199700/1199701/-",
     "Android (Google Pixel)", 9, U, U, U, NULL},
};

/* Mail clients as they appear in User-Agent and X-Mailer headers, parsed by hand with the
 * same rules (Zeek has no test of these). */
static const struct vec mail_vectors[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:102.0) Gecko/20100101 Thunderbird/102.10.0",
     "Thunderbird", 102, 10, 0, U, NULL},
    {"Microsoft Outlook 16.0", "Microsoft Outlook", 16, 0, U, U, NULL},
    {"Apple Mail (2.3654.120.0.1.13)", "Apple Mail", 2, 3654, 120, 0, NULL},
    {"Microsoft Office Outlook 12.0", "Microsoft Office Outlook", 12, 0, U, U, NULL},
    {"Roundcube Webmail/1.6.5", "Roundcube Webmail", 1, 6, 5, U, NULL},
    {"", "", U, U, U, U, NULL},
    /* MSIE with three digits: [0-9]{1,2} and [0-9]* share them, \.* matches nothing */
    {"Mozilla/4.0 (compatible; MSIE 100.5; Windows NT 6.1)", "MSIE", 100, U, U, U, NULL},
    {"Mozilla/4.0 (compatible; MSIE 5.5b1; Windows 98)", "MSIE", 5, 5, U, U, "b1"},
};

static void check(const struct vec *t, const struct sw_desc *d)
{
	const long long want[4] = {t->major, t->minor, t->minor2, t->minor3};
	const uint64_t got[4] = {d->v.major, d->v.minor, d->v.minor2, d->v.minor3};
	static const unsigned bits[4] = {SW_MAJOR, SW_MINOR, SW_MINOR2, SW_MINOR3};
	char name[256];

	snprintf(name, sizeof(name), "%.*s", (int)d->name_len, d->name);
	if (strlen(t->name) != d->name_len || memcmp(t->name, d->name, d->name_len))
		fail_msg("'%s': name '%s', want '%s'", t->ua, name, t->name);
	for (int i = 0; i < 4; i++) {
		if ((want[i] == U) != !(d->v.has & bits[i]))
			fail_msg("'%s': version part %d %s, want %s", t->ua, i,
				 (d->v.has & bits[i]) ? "set" : "unset",
				 want[i] == U ? "unset" : "set");
		if (want[i] != U && got[i] != (uint64_t)want[i])
			fail_msg("'%s': version part %d = %llu, want %lld", t->ua, i,
				 (unsigned long long)got[i], want[i]);
	}
	if (!t->addl != !(d->v.has & SW_ADDL))
		fail_msg("'%s': addl %s, want %s", t->ua, (d->v.has & SW_ADDL) ? "set" : "unset",
			 t->addl ? t->addl : "unset");
	if (t->addl &&
	    (strlen(t->addl) != d->v.addl_len || memcmp(t->addl, d->v.addl, d->v.addl_len)))
		fail_msg("'%s': addl '%.*s', want '%s'", t->ua, (int)d->v.addl_len, d->v.addl,
			 t->addl);
}

static void run(const struct vec *v, size_t n)
{
	struct sw_parser *p = sw_parser__new(4096);
	struct sw_desc d;

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sw_parser__parse(p, v[i].ua, strlen(v[i].ua), &d), 0);
		check(&v[i], &d);
	}
	sw_parser__free(p);
}

static void test_zeek_vectors(void **st)
{
	(void)st;
	run(zeek_vectors, sizeof(zeek_vectors) / sizeof(zeek_vectors[0]));
}

static void test_mail_clients(void **st)
{
	(void)st;
	run(mail_vectors, sizeof(mail_vectors) / sizeof(mail_vectors[0]));
}

/* Strings longer than max_len are parsed cut; hostile ones end (bounded work). */
static void test_cut_and_hostile(void **st)
{
	struct sw_parser *p = sw_parser__new(18);
	static char big[65536];
	struct sw_desc d;

	(void)st;
	assert_non_null(p);
	assert_int_equal(sw_parser__parse(p, "Thunderbird/102.10.0 and a long tail", 36, &d),
			 -E2BIG);
	assert_int_equal(d.name_len, 11);
	assert_memory_equal(d.name, "Thunderbird", 11);
	assert_int_equal(d.v.major, 102);
	assert_true(d.v.has & SW_MINOR); /* parsed: "Thunderbird/102.10" */
	assert_int_equal(d.v.minor, 10);
	assert_false(d.v.has & SW_MINOR2);
	sw_parser__free(p);

	p = sw_parser__new(256);
	assert_non_null(p);
	/* Quadratic for glibc if uncut: "Version/" many times and no "Safari/". */
	memcpy(big, "Mozilla/5.0 ", 12);
	for (size_t i = 12; i + 8 < sizeof(big); i += 8)
		memcpy(big + i, "Version/", 8);
	assert_int_equal(sw_parser__parse(p, big, sizeof(big) - 8, &d), -E2BIG);
	memset(big, '%', sizeof(big));
	assert_int_equal(sw_parser__parse(p, big, sizeof(big), &d), -E2BIG);
	memset(big, 0, sizeof(big)); /* NUL bytes are bytes */
	assert_int_equal(sw_parser__parse(p, big, 200, &d), 0);
	assert_int_equal(d.name_len, 200); /* no version: the whole string names it */
	sw_parser__free(p);
}

static void test_webmail(void **st)
{
	static const char *const yes[] = {
	    "iPlanet Messenger Express 5.2",
	    "Sun Java(tm) System Messenger Express 6.3",
	    "Internet Messaging Program (IMP) H3 (4.1.4)",
	    "SquirrelMail/1.4.22",
	    "NeoMail 1.0",
	    "Zimbra 8.8 (ZimbraWebClient - FF115 (Linux)/8.8.15_GA_4581)",
	};
	static const char *const no[] = {
	    "Thunderbird",
	    "squirrelmail/1.4",
	    " SquirrelMail",
	    "x iPlanet Messenger",
	    "(imp)",
	    "Microsoft Outlook 16.0",
	    "",
	};

	(void)st;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!software__webmail_ua(yes[i], strlen(yes[i])))
			fail_msg("'%s' not webmail", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (software__webmail_ua(no[i], strlen(no[i])))
			fail_msg("'%s' webmail", no[i]);
}

static void test_cmp_versions(void **st)
{
	struct sw_version a = {SW_MAJOR | SW_MINOR, 1, 2, 0, 0, NULL, 0}, b = a;

	(void)st;
	assert_int_equal(sw_version__cmp(&a, &b), 0);
	b.minor = 3;
	assert_int_equal(sw_version__cmp(&a, &b), -1);
	assert_int_equal(sw_version__cmp(&b, &a), 1);
	b = a;
	b.has |= SW_MINOR2; /* set beats unset */
	assert_int_equal(sw_version__cmp(&a, &b), -1);
	b = a;
	b.has |= SW_ADDL;
	b.addl = "b";
	b.addl_len = 1;
	assert_int_equal(sw_version__cmp(&b, &a), 1);
	a.has |= SW_ADDL;
	a.addl = "a";
	a.addl_len = 1;
	assert_int_equal(sw_version__cmp(&a, &b), -1);
	a.addl = "bb";
	a.addl_len = 2;
	assert_int_equal(sw_version__cmp(&a, &b), 1);
}

static struct mt_addr host(uint8_t last)
{
	struct mt_addr a;
	const uint8_t v4[4] = {10, 0, 0, last};

	mt_addr__from_v4(&a, v4);
	return a;
}

#define SEC 1000000000ULL

static bool found(struct software *sw, uint8_t h, const char *ua, uint64_t t)
{
	struct mt_addr a = host(h);
	struct sw_desc d;

	return software__found(sw, &a, SW_MAIL_CLIENT, ua, strlen(ua), t * SEC, &d);
}

/* Software::register: logged when new on the host or changed; not when seen again; again
 * once the host's set expired (created + 1 day, however busy) or was evicted. */
static void test_register(void **st)
{
	struct software_cfg c;
	struct software *sw;
	struct software_stats s0, s1;

	(void)st;
	software_cfg__default(&c);
	c.max_hosts = 3;
	sw = software__new(&c);
	assert_non_null(sw);
	software__stats(&s0);
	assert_true(found(sw, 1, "Thunderbird/3.1.5", 100));
	assert_false(found(sw, 1, "Thunderbird/3.1.5", 200));
	/* a different string with the same name and version: parsed, not logged */
	assert_false(found(sw, 1, "Thunderbird/3.1.5 ", 300));
	assert_true(found(sw, 1, "Thunderbird/3.1.6", 400));   /* version_change */
	assert_true(found(sw, 1, "Thunderbird/3.1.5", 500));   /* changed back */
	assert_true(found(sw, 1, "Apple Mail (2.1084)", 600)); /* another name */
	assert_false(found(sw, 1, "Thunderbird/3.1.5", 700));
	assert_true(found(sw, 2, "Thunderbird/3.1.5", 800)); /* another host */
	/* host 1's set was made at 100 s: gone at 100 s + 1 day, seen or not since */
	assert_false(found(sw, 1, "Thunderbird/3.1.5", 86399));
	assert_true(found(sw, 1, "Thunderbird/3.1.5", 86400 + 100));
	/* max_hosts 3: host 2 (oldest set now) is forgotten for host 4 */
	assert_true(found(sw, 3, "Thunderbird/3.1.5", 86400 + 200));
	assert_true(found(sw, 4, "Thunderbird/3.1.5", 86400 + 300));
	assert_true(found(sw, 2, "Thunderbird/3.1.5", 86400 + 400));
	/* time going back (packets out of order) expires nothing */
	assert_false(found(sw, 4, "Thunderbird/3.1.5", 50));
	/* more names than a host keeps: the oldest goes, and is new again */
	for (int i = 0; i < SOFTWARE_NAMES_PER_HOST; i++) {
		char ua[32];

		snprintf(ua, sizeof(ua), "Client%c/1.0", 'A' + i);
		assert_true(found(sw, 4, ua, 86400 + 500));
	}
	assert_true(found(sw, 4, "Thunderbird/3.1.5", 86400 + 600));
	software__stats(&s1);
	assert_int_equal(s1.found - s0.found, 23);
	assert_int_equal(s1.logged - s0.logged, 18);
	assert_int_equal(s1.hosts - s0.hosts, 3);
	assert_int_equal(s1.hosts_evicted - s0.hosts_evicted, 2);
	software__free(sw);
	software__stats(&s1);
	assert_int_equal(s1.hosts, s0.hosts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zeek_vectors),    cmocka_unit_test(test_mail_clients),
	    cmocka_unit_test(test_cut_and_hostile), cmocka_unit_test(test_webmail),
	    cmocka_unit_test(test_cmp_versions),    cmocka_unit_test(test_register),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
