// SPDX-License-Identifier: BSD-3-Clause
/* Zeek's version parser (base/frameworks/software/main.zeek, Software::parse and
 * parse_mozilla) and Software::cmp_versions. See include/mailtap/swparse.h.
 *
 * The parser follows Software::parse and parse_mozilla step by step. Zeek's string functions
 * are rebuilt here with their exact rules (strings.bif do_split_string and do_sub,
 * utils/numbers.zeek extract_count, HTTP's unescape_URI), and each expression is a matcher
 * with the rule of Zeek's own: at the first position where the pattern matches something,
 * its longest match. Zeek matches anew at every position in split and sub, so a '^' there
 * matches anywhere; in `pattern in string` it is the start of the string. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "mailtap/swparse.h"
#include "mailtap/uri.h"

/* ---- the expressions ----
 *
 * Each expression of Software::parse and parse_mozilla is a matcher: the length of its longest
 * match starting at s[i] (0: none), as Zeek's MatchPrefix. Written by hand rather than with
 * regcomp/regexec: glibc's regex leaks and double-frees when an allocation fails, and these
 * need no memory at all. Zeek's '.' does not match a newline. */

typedef size_t (*matcher)(const char *s, size_t n, size_t i);

/* The character classes of the expressions, as bits of a table. */
enum {
	C_DIGIT = 1 << 0,  /* [0-9] */
	C_DIGDOT = 1 << 1, /* [0-9\.] */
	C_VCHAR = 1 << 2,  /* [0-9\-\._, ] */
	C_VSEP = 1 << 3,   /* [\/\-\._v\(] */
	C_SEP1 = 1 << 4,   /* [\/\-_] */
	C_PV = 1 << 5,	   /* [\(v] */
	C_VNUM = 1 << 6,   /* [\-\._,\[\(\{ ] */
	C_ADDL = 1 << 7,   /* [\-\._,;\[\]\(\)\{\} ] */
	C_BLANK = 1 << 8,  /* [[:blank:]] */
	C_PADDL = 1 << 9,  /* [a-zA-Z0-9\-\._[:blank:]] */
	C_JAVA = 1 << 10,  /* [0-9\._] */
	C_DOT = 1 << 11,   /* \. */
};

#define D_ (C_DIGIT | C_DIGDOT | C_VCHAR | C_PADDL | C_JAVA)
static const uint16_t cls[256] = {
    ['0' ... '9'] = D_,
    ['a' ... 'u'] = C_PADDL,
    ['v'] = C_PADDL | C_VSEP | C_PV,
    ['w' ... 'z'] = C_PADDL,
    ['A' ... 'Z'] = C_PADDL,
    ['.'] = C_DIGDOT | C_VCHAR | C_VSEP | C_VNUM | C_ADDL | C_PADDL | C_JAVA | C_DOT,
    ['-'] = C_VCHAR | C_VSEP | C_SEP1 | C_VNUM | C_ADDL | C_PADDL,
    ['_'] = C_VCHAR | C_VSEP | C_SEP1 | C_VNUM | C_ADDL | C_PADDL | C_JAVA,
    [','] = C_VCHAR | C_VNUM | C_ADDL,
    [' '] = C_VCHAR | C_VNUM | C_ADDL | C_BLANK | C_PADDL,
    ['\t'] = C_BLANK | C_PADDL,
    ['/'] = C_VSEP | C_SEP1,
    ['('] = C_VSEP | C_PV | C_VNUM | C_ADDL,
    [')'] = C_ADDL,
    ['['] = C_VNUM | C_ADDL,
    [']'] = C_ADDL,
    ['{'] = C_VNUM | C_ADDL,
    ['}'] = C_ADDL,
    [';'] = C_ADDL,
};
#undef D_

static inline bool is(char c, unsigned set)
{
	return cls[(unsigned char)c] & set;
}

static size_t run_of(const char *s, size_t n, size_t i, unsigned set)
{
	size_t j = i;

	while (j < n && is(s[j], set))
		j++;
	return j - i;
}

static inline size_t lit_at_n(const char *s, size_t n, size_t i, const char *l, size_t k)
{
	return n - i >= k && memcmp(s + i, l, k) == 0 ? k : 0;
}
#define lit_at(s, n, i, l) lit_at_n(s, n, i, l, sizeof(l) - 1)

/* literal, then a run of set */
#define lit_run(s, n, i, l, set)                                                                   \
	({                                                                                         \
		size_t k_ = lit_at(s, n, i, l);                                                    \
		k_ ? k_ + run_of(s, n, (i) + k_, set) : 0;                                         \
	})

#define DIGITS C_DIGIT
#define DIGDOT C_DIGDOT
#define VCHARS C_VCHAR
#define VSEP C_VSEP

/* /^(Mozilla|Opera)\/[0-9]+\./ */
static size_t m_moz(const char *s, size_t n, size_t i)
{
	size_t k = lit_at(s, n, i, "Mozilla/"), d;

	if (!k)
		k = lit_at(s, n, i, "Opera/");
	if (!k || !(d = run_of(s, n, i + k, DIGITS)) || i + k + d >= n || s[i + k + d] != '.')
		return 0;
	return k + d + 1;
}

/* /A\/[0-9\.]*\/Google\/Pixel/ */
static size_t m_pixel(const char *s, size_t n, size_t i)
{
	size_t k = lit_run(s, n, i, "A/", DIGDOT), l;

	if (!k || !(l = lit_at(s, n, i + k, "/Google/Pixel")))
		return 0;
	return k + l;
}

static size_t m_slash(const char *s, size_t n, size_t i)
{
	return i < n && s[i] == '/';
}

/* /\\x/ */
static size_t m_bsx(const char *s, size_t n, size_t i)
{
	return lit_at(s, n, i, "\\x");
}

/* ( [\(v]+): its length at i, 0 if none */
static size_t space_paren_v(const char *s, size_t n, size_t i)
{
	size_t k;

	if (i >= n || s[i] != ' ' || !(k = run_of(s, n, i + 1, C_PV)))
		return 0;
	return 1 + k;
}

/* /([\/\-_]|( [\(v]+))?[0-9\-\._, ]{2,}/: the longest of the three ways to start */
static size_t m_sep(const char *s, size_t n, size_t i)
{
	size_t best = 0, r, k;

	if ((r = run_of(s, n, i, VCHARS)) >= 2)
		best = r;
	if (i < n && is(s[i], C_SEP1) && (r = run_of(s, n, i + 1, VCHARS)) >= 2 && 1 + r > best)
		best = 1 + r;
	/* ' ' is not in [\(v], so [\(v]+ must take its whole run */
	if ((k = space_paren_v(s, n, i)) && (r = run_of(s, n, i + k, VCHARS)) >= 2 && k + r > best)
		best = k + r;
	return best;
}

/* /([\/\-_]|( [\(v]+))/ */
static size_t m_sep_any(const char *s, size_t n, size_t i)
{
	size_t k = space_paren_v(s, n, i);

	if (k)
		return k;
	return i < n && is(s[i], C_SEP1);
}

/* /([\/\-_]|( [\(v]+))$/ */
static size_t m_sep_end(const char *s, size_t n, size_t i)
{
	size_t k = m_sep_any(s, n, i);

	return i + k == n ? k : 0;
}

static size_t m_lparen(const char *s, size_t n, size_t i)
{
	return i < n && s[i] == '(';
}

static size_t m_vsep1(const char *s, size_t n, size_t i)
{
	return i < n && is(s[i], VSEP);
}

/* /\(?[\/\-\._v\(]/ */
static size_t m_vsep(const char *s, size_t n, size_t i)
{
	if (i + 1 < n && s[i] == '(' && is(s[i + 1], VSEP))
		return 2;
	return m_vsep1(s, n, i);
}

static size_t m_vnum(const char *s, size_t n, size_t i)
{
	return i < n && is(s[i], C_VNUM);
}

/* /^[[:blank:]]*\([a-zA-Z0-9\-\._[:blank:]]*\)/ */
static size_t m_paren_addl(const char *s, size_t n, size_t i)
{
	size_t j = i + run_of(s, n, i, C_BLANK);

	if (j >= n || s[j] != '(')
		return 0;
	j++;
	while (j < n && is(s[j], C_PADDL))
		j++;
	return j < n && s[j] == ')' ? j + 1 - i : 0;
}

static size_t m_parens(const char *s, size_t n, size_t i)
{
	return i < n && (s[i] == '(' || s[i] == ')');
}

static size_t m_addl(const char *s, size_t n, size_t i)
{
	return i < n && is(s[i], C_ADDL);
}

static size_t m_digits(const char *s, size_t n, size_t i)
{
	return run_of(s, n, i, DIGITS);
}

/* /Opera [0-9\.]*$/ */
static size_t m_opera_end(const char *s, size_t n, size_t i)
{
	size_t k = lit_run(s, n, i, "Opera ", DIGDOT);

	return k && i + k == n ? k : 0;
}

/* / MSIE |Trident\// */
static size_t m_msie_in(const char *s, size_t n, size_t i)
{
	size_t k = lit_at(s, n, i, " MSIE ");

	return k ? k : lit_at(s, n, i, "Trident/");
}

/* /MSIE [0-9]{1,2}\.*[0-9]*b?[0-9]* / */
static size_t m_msie(const char *s, size_t n, size_t i)
{
	size_t k = lit_at(s, n, i, "MSIE "), d, j;

	if (!k || !(d = run_of(s, n, i + k, DIGITS)))
		return 0;
	j = i + k + d;
	if (d <= 2) { /* [0-9]{1,2} took them all: dots, then digits */
		j += run_of(s, n, j, C_DOT);
		j += run_of(s, n, j, DIGITS);
	} /* else [0-9]* took the digits after the first two, and \.* nothing */
	if (j < n && s[j] == 'b')
		j++;
	j += run_of(s, n, j, DIGITS);
	return j - i;
}

static size_t m_edge(const char *s, size_t n, size_t i)
{
	return lit_run(s, n, i, "Edge/", DIGDOT);
}

/* A, then anything but a newline, then B (the longest: to the last B of the line). */
static size_t lit_any_lit(const char *s, size_t n, size_t i, const char *a, const char *b)
{
	size_t k = lit_at(s, n, i, a), best = 0;

	if (!k)
		return 0;
	for (size_t j = i + k; j < n && s[j] != '\n'; j++) {
		size_t l = lit_at(s, n, j, b);

		if (l && !memchr(s + j, '\n', l))
			best = j + l - i;
	}
	return best;
}

/* /Version\/.*Safari\// */
static size_t m_safari_in(const char *s, size_t n, size_t i)
{
	return lit_any_lit(s, n, i, "Version/", "Safari/");
}

static size_t m_version(const char *s, size_t n, size_t i)
{
	return lit_run(s, n, i, "Version/", DIGDOT);
}

/* / Mobile\/?.* Safari/ (the optional slash is one of the .* characters) */
static size_t m_mobile(const char *s, size_t n, size_t i)
{
	return lit_any_lit(s, n, i, " Mobile", " Safari");
}

/* /(Firefox|Netscape|Thunderbird)\/[0-9\.]* / */
static size_t m_gecko(const char *s, size_t n, size_t i)
{
	size_t k = lit_run(s, n, i, "Firefox/", DIGDOT);

	if (!k)
		k = lit_run(s, n, i, "Netscape/", DIGDOT);
	return k ? k : lit_run(s, n, i, "Thunderbird/", DIGDOT);
}

/* /Chrome\/.*Safari\// */
static size_t m_chrome_in(const char *s, size_t n, size_t i)
{
	return lit_any_lit(s, n, i, "Chrome/", "Safari/");
}

static size_t m_chrome(const char *s, size_t n, size_t i)
{
	return lit_run(s, n, i, "Chrome/", DIGDOT);
}

static size_t m_opera_start(const char *s, size_t n, size_t i)
{
	return lit_at(s, n, i, "Opera/");
}

/* /Opera M(ini|obi)\// */
static size_t m_opera_m_in(const char *s, size_t n, size_t i)
{
	size_t k = lit_at(s, n, i, "Opera Mini/");

	return k ? k : lit_at(s, n, i, "Opera Mobi/");
}

/* /Opera M(ini|obi)/ */
static size_t m_opera_m(const char *s, size_t n, size_t i)
{
	size_t k = lit_at(s, n, i, "Opera Mini");

	return k ? k : lit_at(s, n, i, "Opera Mobi");
}

static size_t m_opera_mini(const char *s, size_t n, size_t i)
{
	return lit_run(s, n, i, "Opera Mini/", DIGDOT);
}

static size_t m_slash_sp(const char *s, size_t n, size_t i)
{
	return i < n && (s[i] == '/' || s[i] == ' ');
}

static size_t m_air(const char *s, size_t n, size_t i)
{
	return lit_run(s, n, i, "AdobeAIR/", DIGDOT);
}

static size_t m_webkit(const char *s, size_t n, size_t i)
{
	return lit_run(s, n, i, "AppleWebKit/", DIGDOT);
}

/* / Java\/[0-9]\./ */
static size_t m_java_in(const char *s, size_t n, size_t i)
{
	size_t k = lit_at(s, n, i, " Java/");

	return k && i + k + 1 < n && isdigit((unsigned char)s[i + k]) && s[i + k + 1] == '.' ? k + 2
											     : 0;
}

static size_t m_java(const char *s, size_t n, size_t i)
{
	return lit_run(s, n, i, "Java/", C_JAVA);
}

/* The expressions. */
enum {
	R_MOZ,
	R_PIXEL,
	R_SLASH,
	R_BSX,
	R_SEP,
	R_SEP_END,
	R_SEP_ANY,
	R_LP_START,
	R_LP,
	R_VSEP_START,
	R_VSEP,
	R_VNUM,
	R_PAREN_ADDL,
	R_PARENS,
	R_ADDL,
	R_DIGITS,
	R_OPERA_END,
	R_MSIE_IN,
	R_MSIE,
	R_EDGE,
	R_SAFARI_IN,
	R_VERSION,
	R_MOBILE,
	R_GECKO,
	R_CHROME_IN,
	R_CHROME,
	R_OPERA_START,
	R_OPERA_M_IN,
	R_OPERA_M,
	R_OPERA_MINI,
	R_SLASH_SP,
	R_AIR,
	R_WEBKIT,
	R_JAVA_IN,
	R_JAVA,
	R_N
};

static const struct {
	matcher m;
	bool bol;   /* '^': at the start only */
	char first; /* the byte every match starts with, if one: candidates found by memchr */
} re_tab[R_N] = {
    [R_MOZ] = {m_moz, true, 0},
    [R_PIXEL] = {m_pixel, false, 'A'},
    [R_SLASH] = {m_slash, false, '/'},
    [R_BSX] = {m_bsx, false, '\\'},
    [R_SEP] = {m_sep, false, 0},
    [R_SEP_END] = {m_sep_end, false, 0},
    [R_SEP_ANY] = {m_sep_any, false, 0},
    [R_LP_START] = {m_lparen, true, 0},
    [R_LP] = {m_lparen, false, '('},
    [R_VSEP_START] = {m_vsep1, true, 0},
    [R_VSEP] = {m_vsep, false, 0}, /* /^\(?[\/\-\._v\(]/ in sub: '^' matches anywhere */
    [R_VNUM] = {m_vnum, false, 0},
    [R_PAREN_ADDL] = {m_paren_addl, true, 0},
    [R_PARENS] = {m_parens, false, 0},
    [R_ADDL] = {m_addl, false, 0},
    [R_DIGITS] = {m_digits, false, 0},
    [R_OPERA_END] = {m_opera_end, false, 'O'},
    [R_MSIE_IN] = {m_msie_in, false, 0},
    [R_MSIE] = {m_msie, false, 'M'},
    [R_EDGE] = {m_edge, false, 'E'},
    [R_SAFARI_IN] = {m_safari_in, false, 'V'},
    [R_VERSION] = {m_version, false, 'V'},
    [R_MOBILE] = {m_mobile, false, ' '},
    [R_GECKO] = {m_gecko, false, 0},
    [R_CHROME_IN] = {m_chrome_in, false, 'C'},
    [R_CHROME] = {m_chrome, false, 'C'},
    [R_OPERA_START] = {m_opera_start, true, 0},
    [R_OPERA_M_IN] = {m_opera_m_in, false, 'O'},
    [R_OPERA_M] = {m_opera_m, false, 'O'},
    [R_OPERA_MINI] = {m_opera_mini, false, 'O'},
    [R_SLASH_SP] = {m_slash_sp, false, 0},
    [R_AIR] = {m_air, false, 'A'},
    [R_WEBKIT] = {m_webkit, false, 'A'},
    [R_JAVA_IN] = {m_java_in, false, ' '},
    [R_JAVA] = {m_java, false, 'J'},
};

/* A string piece: into the parsed string or the scratch space. */
struct sl {
	const char *p;
	size_t n;
};

/* Parts a split returns at most (Zeek's vectors are unbounded; every use here reads the
 * first few, and the count only matters up to "more than 2"). */
#define SPLIT_MAX 8
/* Software::parse calls itself at most twice deep (parse_mozilla -> parse). */
#define PARSE_DEPTH 3

struct sw_parser {
	size_t max_len;
	char *scratch; /* every string a parse makes: at most 6 copies per level */
	size_t cap, used;
};

struct sw_parser *sw_parser__new(size_t max_len)
{
	struct sw_parser *p = calloc(1, sizeof(*p));

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->max_len = max_len ? max_len : 1;
	p->cap = 6 * PARSE_DEPTH * (p->max_len + 1) + 64;
	p->scratch = malloc(p->cap);
	if (!p->scratch) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void sw_parser__free(struct sw_parser *p)
{
	if (!p)
		return;
	free(p->scratch);
	free(p);
}

/* ---- Zeek's string functions ---- */

/* The first match of re at or after from (Zeek: the first position where MatchPrefix matches
 * something, its longest match there), as [*mo, *me). A '^' expression matches at 0 only. */
static bool find(const struct sw_parser *p, int re, struct sl s, size_t from, size_t *mo,
		 size_t *me)
{
	(void)p;
	for (size_t i = from; i < s.n; i++) {
		size_t k;

		if (re_tab[re].first) {
			const char *q = memchr(s.p + i, re_tab[re].first, s.n - i);

			if (!q)
				return false;
			i = (size_t)(q - s.p);
		}
		k = re_tab[re].m(s.p, s.n, i);
		if (k) {
			*mo = i;
			*me = i + k;
			return true;
		}
		if (re_tab[re].bol)
			break;
	}
	return false;
}

/* `pattern in s` */
static bool in(const struct sw_parser *p, int re, struct sl s)
{
	size_t a, b;

	return find(p, re, s, 0, &a, &b);
}

/* strings.bif do_split_string: parts (and, with incl, the separators between them); at most
 * max_sep separators (0: all); no empty part after a separator that ends the string.
 * Returns the number of parts Zeek would return; out holds the first SPLIT_MAX. */
static int split(const struct sw_parser *p, int re, struct sl s, bool incl, int max_sep,
		 struct sl *out)
{
	size_t pos = 0, mo = 0, me = 0;
	int num = 0, num_sep = 0;

	for (;;) {
		bool found =
		    pos < s.n && (!max_sep || num_sep < max_sep) && find(p, re, s, pos, &mo, &me);

		if (!found)
			mo = s.n;
		if (num < SPLIT_MAX)
			out[num] = (struct sl){s.p + pos, mo - pos};
		num++;
		if (!found)
			break;
		if (incl) {
			if (num < SPLIT_MAX)
				out[num] = (struct sl){s.p + mo, me - mo};
			num++;
		}
		num_sep++;
		pos = me;
		if (pos >= s.n)
			break;
	}
	return num;
}

static struct sl scratch_copy(struct sw_parser *p, const char *a, size_t an, const char *b,
			      size_t bn)
{
	char *d;

	if (p->used + an + bn > p->cap) /* cannot happen: cap covers every copy */
		return (struct sl){a, an};
	d = p->scratch + p->used;
	memcpy(d, a, an);
	memcpy(d + an, b, bn);
	p->used += an + bn;
	return (struct sl){d, an + bn};
}

/* sub(s, re, ""): the first match removed. */
static struct sl sub(struct sw_parser *p, int re, struct sl s)
{
	size_t mo, me;

	if (!find(p, re, s, 0, &mo, &me))
		return s;
	return scratch_copy(p, s.p, mo, s.p + me, s.n - me);
}

/* gsub(s, /\\x/, "%") */
static struct sl gsub_bsx(struct sw_parser *p, struct sl s)
{
	char *d = p->scratch + p->used;
	size_t pos = 0, mo, me, n = 0;

	if (p->used + s.n > p->cap || !find(p, R_BSX, s, 0, &mo, &me))
		return s;
	while (find(p, R_BSX, s, pos, &mo, &me)) {
		memcpy(d + n, s.p + pos, mo - pos);
		n += mo - pos;
		d[n++] = '%';
		pos = me;
	}
	memcpy(d + n, s.p + pos, s.n - pos);
	n += s.n - pos;
	p->used += n;
	return (struct sl){d, n};
}

/* unescape_URI (the HTTP analyzer's, without its weirds: uri.h). */
static struct sl unescape_uri(struct sw_parser *p, struct sl s)
{
	char *d = p->scratch + p->used;
	size_t n;

	if (!memchr(s.p, '%', s.n) || p->used + s.n > p->cap)
		return s;
	n = mt_unescape_uri((const uint8_t *)s.p, s.n, (uint8_t *)d, s.n);
	p->used += n;
	return (struct sl){d, n};
}

static struct sl strip(struct sl s)
{
	while (s.n && isspace((unsigned char)s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && isspace((unsigned char)s.p[s.n - 1]))
		s.n--;
	return s;
}

/* utils/numbers.zeek extract_count: the first run of digits (to_count saturates as strtoull),
 * else 0. */
static uint64_t extract_count(const struct sw_parser *p, struct sl s)
{
	size_t mo, me;
	uint64_t v = 0;

	if (!find(p, R_DIGITS, s, 0, &mo, &me))
		return 0;
	for (size_t i = mo; i < me; i++) {
		unsigned dgt = (unsigned)(s.p[i] - '0');

		if (v > (UINT64_MAX - dgt) / 10)
			return UINT64_MAX;
		v = v * 10 + dgt;
	}
	return v;
}

static bool sl_eq(struct sl s, const char *c)
{
	return s.n == strlen(c) && memcmp(s.p, c, s.n) == 0;
}

static bool sl_has(struct sl s, const char *c)
{
	return memmem(s.p, s.n, c, strlen(c)) != NULL;
}

/* ---- Software::parse ---- */

struct desc {
	struct sl name;
	struct sw_version v;
};

static void set_num(struct sw_version *v, unsigned bit, uint64_t x)
{
	v->has |= bit;
	switch (bit) {
	case SW_MAJOR:
		v->major = x;
		break;
	case SW_MINOR:
		v->minor = x;
		break;
	case SW_MINOR2:
		v->minor2 = x;
		break;
	default:
		v->minor3 = x;
		break;
	}
}

static void set_addl(struct sw_version *v, struct sl s)
{
	v->has |= SW_ADDL;
	v->addl = s.p;
	v->addl_len = s.n;
}

#define LIT(s) ((struct sl){s, sizeof(s) - 1})

static struct desc parse(struct sw_parser *p, struct sl s, int depth);

/* parse(x)$version, where x is the first separator a split_string_all returned. */
static struct sw_version parse_part(struct sw_parser *p, int re, struct sl s, int depth)
{
	struct sl parts[SPLIT_MAX];

	if (split(p, re, s, true, 0, parts) > 1)
		return parse(p, parts[1], depth + 1).v;
	return (struct sw_version){0};
}

static struct desc parse_mozilla(struct sw_parser *p, struct sl s, int depth)
{
	struct desc d = {LIT("<unknown browser>"), {0}};
	struct sl parts[SPLIT_MAX];

	if (in(p, R_OPERA_END, s)) {
		d.name = LIT("Opera");
		d.v = parse_part(p, R_OPERA_END, s, depth);
	} else if (in(p, R_MSIE_IN, s)) {
		static const char *const trident[] = {"Trident/4.0", "Trident/5.0", "Trident/6.0",
						      "Trident/7.0"};
		int i;

		d.name = LIT("MSIE");
		for (i = 0; i < 4; i++)
			if (sl_has(s, trident[i]))
				break;
		if (i < 4) {
			set_num(&d.v, SW_MAJOR, (uint64_t)(8 + i));
			set_num(&d.v, SW_MINOR, 0);
		} else {
			d.v = parse_part(p, R_MSIE, s, depth);
		}
	} else if (sl_has(s, "Edge/")) {
		d.name = LIT("Edge");
		d.v = parse_part(p, R_EDGE, s, depth);
	} else if (in(p, R_SAFARI_IN, s)) {
		d.name = LIT("Safari");
		if (split(p, R_VERSION, s, true, 0, parts) > 1) {
			d.v = parse(p, parts[1], depth + 1).v;
			if (in(p, R_MOBILE, s))
				set_addl(&d.v, LIT("Mobile"));
		}
	} else if (in(p, R_GECKO, s)) {
		if (split(p, R_GECKO, s, true, 0, parts) > 1)
			d = parse(p, parts[1], depth + 1);
	} else if (in(p, R_CHROME_IN, s)) {
		d.name = LIT("Chrome");
		d.v = parse_part(p, R_CHROME, s, depth);
	} else if (in(p, R_OPERA_START, s)) {
		if (in(p, R_OPERA_M_IN, s)) {
			if (split(p, R_OPERA_M, s, true, 0, parts) > 1)
				d.name = parts[1];
			if (split(p, R_VERSION, s, true, 0, parts) > 1)
				d.v = parse(p, parts[1], depth + 1).v;
			else
				d.v = parse_part(p, R_OPERA_MINI, s, depth);
		} else {
			d.name = LIT("Opera");
			d.v = parse_part(p, R_VERSION, s, depth);
		}
	} else if (sl_has(s, "Flash%20Player")) {
		d.name = LIT("Flash");
		if (split(p, R_SLASH_SP, s, true, 0, parts) > 2)
			d.v = parse(p, parts[2], depth + 1).v;
	} else if (in(p, R_AIR, s)) {
		d.name = LIT("AdobeAIR");
		d.v = parse_part(p, R_AIR, s, depth);
	} else if (in(p, R_WEBKIT, s)) {
		d.name = LIT("Unspecified WebKit");
		d.v = parse_part(p, R_WEBKIT, s, depth);
	} else if (in(p, R_JAVA_IN, s)) {
		d.name = LIT("Java");
		d.v = parse_part(p, R_JAVA, s, depth);
	}
	return d;
}

static struct desc parse(struct sw_parser *p, struct sl s, int depth)
{
	struct desc d = {LIT("<parse error>"), {0}};
	struct sl vp[SPLIT_MAX], vn[SPLIT_MAX], t[SPLIT_MAX];
	int nvp, nvn;

	if (depth >= PARSE_DEPTH)
		return d;
	if (in(p, R_MOZ, s))
		return parse_mozilla(p, s, depth);
	if (in(p, R_PIXEL, s)) {
		d.name = LIT("Android (Google Pixel)");
		if (split(p, R_SLASH, s, true, 0, t) > 2) {
			if (memchr(t[2].p, '.', t[2].n))
				d.v = parse(p, t[2], depth + 1).v;
			else
				set_num(&d.v, SW_MAJOR, extract_count(p, t[2]));
		}
		return d;
	}
	s = unescape_uri(p, gsub_bsx(p, s));
	nvp = split(p, R_SEP, s, true, 1, vp);
	/* Junk at the end of the name part. */
	if (in(p, R_SEP_END, vp[0]))
		vp[0] = strip(sub(p, R_SEP_ANY, vp[0]));
	if (in(p, R_LP_START, vp[0]))
		d.name = strip(sub(p, R_LP, vp[0]));
	else
		d.name = strip(vp[0]);
	if (nvp >= 2) {
		struct sl sv = strip(vp[1]);

		/* The name/version separator left at the start of the version. */
		if (in(p, R_VSEP_START, sv))
			sv = strip(sub(p, R_VSEP, vp[1]));
		nvn = split(p, R_VNUM, sv, false, 3, vn);
		/* Zeek's "4 in version_numbers" cannot hold (4 parts at most): addl comes from
		 * the rest of the string. */
		if (nvp > 2 && vp[2].n && !sl_eq(vp[2], ")")) {
			if (in(p, R_PAREN_ADDL, vp[2])) {
				if (split(p, R_PARENS, vp[2], false, 2, t) > 1)
					set_addl(&d.v, t[1]);
			} else {
				int nt = split(p, R_ADDL, vp[2], false, 3, t);

				if (nt >= 1 && t[0].n)
					set_addl(&d.v, strip(t[0]));
				else if (nt >= 2 && t[1].n)
					set_addl(&d.v, strip(t[1]));
				else if (nt >= 3 && t[2].n)
					set_addl(&d.v, strip(t[2]));
				else
					set_addl(&d.v, strip(vp[2]));
			}
		}
		if (nvn > 3 && vn[3].n)
			set_num(&d.v, SW_MINOR3, extract_count(p, vn[3]));
		if (nvn > 2 && vn[2].n)
			set_num(&d.v, SW_MINOR2, extract_count(p, vn[2]));
		if (nvn > 1 && vn[1].n)
			set_num(&d.v, SW_MINOR, extract_count(p, vn[1]));
		if (nvn > 0 && vn[0].n)
			set_num(&d.v, SW_MAJOR, extract_count(p, vn[0]));
	}
	/* Software::alternate_names */
	if (sl_eq(d.name, "Flash Player"))
		d.name = LIT("Flash");
	return d;
}

int sw_parser__parse(struct sw_parser *p, const char *s, size_t n, struct sw_desc *out)
{
	bool cut = n > p->max_len;
	struct desc d;

	p->used = 0;
	d = parse(p, (struct sl){s, cut ? p->max_len : n}, 0);
	out->name = d.name.p;
	out->name_len = d.name.n;
	out->v = d.v;
	return cut ? -E2BIG : 0;
}

static int cmp_u(bool ha, uint64_t a, bool hb, uint64_t b)
{
	if (ha && hb)
		return a < b ? -1 : a > b ? 1 : 0;
	if (!ha && !hb)
		return 0;
	return ha ? 1 : -1;
}

int sw_version__cmp(const struct sw_version *a, const struct sw_version *b)
{
	static const unsigned bits[] = {SW_MAJOR, SW_MINOR, SW_MINOR2, SW_MINOR3};
	const uint64_t va[] = {a->major, a->minor, a->minor2, a->minor3};
	const uint64_t vb[] = {b->major, b->minor, b->minor2, b->minor3};
	int c;

	for (int i = 0; i < 4; i++) {
		c = cmp_u(a->has & bits[i], va[i], b->has & bits[i], vb[i]);
		if (c)
			return c;
	}
	if ((a->has & SW_ADDL) && (b->has & SW_ADDL)) {
		size_t n = a->addl_len < b->addl_len ? a->addl_len : b->addl_len;

		c = memcmp(a->addl, b->addl, n);
		if (c)
			return c < 0 ? -1 : 1;
		return a->addl_len < b->addl_len ? -1 : a->addl_len > b->addl_len ? 1 : 0;
	}
	if (!(a->has & SW_ADDL) && !(b->has & SW_ADDL))
		return 0;
	return (a->has & SW_ADDL) ? 1 : -1;
}
