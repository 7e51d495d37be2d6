#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# intel (Zeek's intelligence framework with policy/frameworks/intel/seen): for every capture
# of the corpus and a generated one (SMTP, attachments, STARTTLS, 465, client user agents),
# indicators are taken from mailtap's own records of a run without intel (addresses, a
# subnet, envelope and header addresses, file hashes and names, certificate hashes, SNI,
# SAN and CN names, a user agent; some in other letter case), written as a Zeek intel file,
# and a second run with --intel-file must give
#  - a record for every place Zeek's seen scripts look that holds an indicator: exactly one
#    per established connection and address, per file and hash, per file name, per SNI;
#    at least one per SMTP transaction and field (Zeek looks at every MIME entity's end);
#  - no record that is not one of these, each with the matched type and source;
#  - the same other records as the run without intel.
# Then: meta.whitelist holds a record back (not its notice); indicators that occur nowhere
# give no record; --workers 2 gives the same intel
# records; the stats counters add up; a broken intel file is refused (exit 1, FILE:LINE), as
# are one with a UTF-8 byte order mark (named as such) and a FIFO or a directory (at once,
# before any read: a FIFO without a writer used to block).
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh

cat >"$T/intel.py" <<'EOF2'
import ipaddress, json, re, sys
from collections import Counter

def load(p):
    return [json.loads(l) for l in open(p)]

EMAIL_RE = re.compile(r'(?:^|[<,:\s])([^<,:\s@]+@[^>,;\s]+)(?:[>,;\s]|$)')

def emails(s):
    return [m for m in EMAIL_RE.findall(s or "")]

def first_email(s):
    e = emails(s)
    return e[0] if e else None

def mk(base, out):
    recs = load(base)
    by = lambda p: [r for r in recs if r["_path"] == p]
    items = []  # (indicator, type, source)
    def add(v, t, src):
        if v and "\t" not in v and "\n" not in v and (v, t) not in [(i[0], i[1]) for i in items]:
            items.append((v, t, src))
    for f in by("files"):
        if f.get("source") == "SMTP" and f.get("md5"):
            add(f["md5"].upper(), "Intel::FILE_HASH", "hashes"); break
    for f in by("files"):
        if f.get("source") == "SSL" and f.get("sha1"):
            add(f["sha1"], "Intel::CERT_HASH", "certs")
            add(f["sha1"], "Intel::FILE_HASH", "hashes"); break
    for f in by("files"):
        if f.get("filename"):
            add(f["filename"], "Intel::FILE_NAME", "names"); break
    for s in by("smtp"):
        if s.get("mailfrom"):
            add(s["mailfrom"].upper(), "Intel::EMAIL", "mail"); break
    for s in by("smtp"):
        for r in s.get("rcptto", [])[:1]:
            add(r, "Intel::EMAIL", "mail2")
    for s in by("smtp"):
        for e in emails(s.get("from"))[:1] + [first_email(t) for t in s.get("to", [])[:1]] + \
                [first_email(t) for t in s.get("cc", [])[:1]] + [first_email(s.get("reply_to"))]:
            add(e, "Intel::EMAIL", "mail3")
        if s.get("user_agent"):
            add(s["user_agent"], "Intel::SOFTWARE", "ua")
        if len(items) > 12:
            break
    c = by("conn")
    if c:
        add(c[0]["id.orig_h"], "Intel::ADDR", "hosts")
        net = ipaddress.ip_network(c[-1]["id.resp_h"] + ("/24" if ":" not in c[-1]["id.resp_h"] else "/64"), strict=False)
        add(str(net), "Intel::SUBNET", "nets")
    for s in by("ssl"):
        if s.get("server_name"):
            add(s["server_name"].upper(), "Intel::DOMAIN", "sni"); break
    for x in by("x509"):
        for d in x.get("san.dns", [])[:1]:
            add(d, "Intel::DOMAIN", "san")
        m = re.search(r'(?:^|,)CN=([^,]*)', x.get("certificate.subject", ""))
        if m:
            add(m.group(1), "Intel::DOMAIN", "cn")
        break
    with open(out, "w") as f:
        f.write("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n")
        for i in items:
            f.write("%s\t%s\t%s\tfrom the records\n" % i)
        # a second source for the first item, and indicators that occur nowhere
        if items:
            f.write("%s\t%s\tsecond\t-\n" % (items[0][0], items[0][1]))
        f.write("203.0.113.250\tIntel::ADDR\tnowhere\t-\nnobody@nowhere.invalid\tIntel::EMAIL\tnowhere\t-\n")
    print(len(items))

def read_items(p):
    items = {}
    for l in open(p):
        if l.startswith("#"):
            continue
        v, t, src = l.rstrip("\n").split("\t")[:3]
        items.setdefault((t, v if t in ("Intel::ADDR", "Intel::SUBNET") else v.lower()), set()).add(src)
    return items

def check(base, withintel, itemsfile):
    items = read_items(itemsfile)
    recs, recs2 = load(base), load(withintel)
    rows = [r for r in recs2 if r["_path"] == "intel"]
    other = lambda rs: sorted(json.dumps(r, sort_keys=True) for r in rs if r["_path"] not in ("intel", "stats"))
    if other(recs) != other(recs2):
        return "the other records changed with intel"
    nets = [(ipaddress.ip_network(v), s) for (t, v), s in items.items() if t == "Intel::SUBNET"]
    def match(t, v):
        """matched types and sources Zeek would give, or None"""
        if v is None:
            return None
        if t == "Intel::ADDR":
            a = ipaddress.ip_address(v)
            m, src = set(), set()
            if ("Intel::ADDR", str(a)) in items:
                m.add("Intel::ADDR"); src |= items[("Intel::ADDR", str(a))]
            for n, s in nets:
                if a.version == n.version and a in n:
                    m.add("Intel::SUBNET"); src |= s
            return (sorted(m), sorted(src)) if m else None
        s = items.get((t, v.lower()))
        return ([t], sorted(s)) if s else None
    want = Counter()   # (where, uid, fuid, indicator, type) -> exact count
    least = set()      # ... at least one
    allowed = set()    # ... any number (a transaction whose message had no file)
    meta = {}
    def expect(where, uid, fuid, t, v, exact=True):
        m = match(t, v)
        if not m:
            return
        if t == "Intel::ADDR":
            v = str(ipaddress.ip_address(v))
        k = (where, uid, fuid, v, t)
        meta[k] = m
        if exact:
            want[k] += 1
        elif exact is False:
            least.add(k)
        allowed.add(k)
    for c in recs:
        if c["_path"] == "conn" and "S" in c.get("history", "") and "h" in c.get("history", ""):
            expect("Conn::IN_ORIG", c["uid"], None, "Intel::ADDR", c["id.orig_h"])
            expect("Conn::IN_RESP", c["uid"], None, "Intel::ADDR", c["id.resp_h"])
        if c["_path"] == "files":
            for h in ("md5", "sha1", "sha256"):
                expect("Files::IN_HASH", c["uid"], c["fuid"], "Intel::FILE_HASH", c.get(h))
            expect("Files::IN_NAME", c["uid"], c["fuid"], "Intel::FILE_NAME", c.get("filename"))
            if c.get("source") == "SSL":
                expect("X509::IN_CERT", c["uid"], c["fuid"], "Intel::CERT_HASH", c.get("sha1"))
        if c["_path"] == "ssl":
            expect("SSL::IN_SERVER_NAME", c["uid"], None, "Intel::DOMAIN", c.get("server_name"))
        if c["_path"] == "smtp":
            # a file means an entity ended (at least one record); without one, maybe none
            u, need = c["uid"], False if c.get("fuids") else None
            f = lambda w, t, v: expect(w, u, None, t, v, exact=need)
            for p in c.get("path", []):
                f("SMTP::IN_RECEIVED_HEADER", "Intel::ADDR", p)
            f("SMTP::IN_X_ORIGINATING_IP_HEADER", "Intel::ADDR", c.get("x_originating_ip"))
            f("SMTP::IN_HEADER", "Intel::SOFTWARE", c.get("user_agent"))
            f("SMTP::IN_MAIL_FROM", "Intel::EMAIL", c.get("mailfrom"))
            for r in c.get("rcptto", []):
                f("SMTP::IN_RCPT_TO", "Intel::EMAIL", r)
            for e in set(emails(c.get("from"))):
                f("SMTP::IN_FROM", "Intel::EMAIL", e)
            for t in c.get("to", []):
                f("SMTP::IN_TO", "Intel::EMAIL", first_email(t))
            for t in c.get("cc", []):
                f("SMTP::IN_CC", "Intel::EMAIL", first_email(t))
            f("SMTP::IN_REPLY_TO", "Intel::EMAIL", first_email(c.get("reply_to")))
    got = Counter()
    x509_rows = 0
    # per connection: every certificate's SAN names that match, and the host certificate's
    # CN when it matches and the session was established (a certificate the x509 cache spared
    # from parsing included: its names are remembered)
    x509 = {r["fingerprint"]: r for r in recs if r["_path"] == "x509"}
    x509_want, x509_got = Counter(), Counter()
    for c in recs:
        if c["_path"] != "ssl":
            continue
        for fp in c.get("cert_chain_fps", []) + c.get("client_cert_chain_fps", []):
            for d in x509.get(fp, {}).get("san.dns", []):
                if match("Intel::DOMAIN", d):
                    x509_want[c["uid"]] += 1
        h = x509.get((c.get("cert_chain_fps") or [None])[0], {})
        m = re.findall(r'(?:^|,)CN=([^,]*)', h.get("certificate.subject", ""))
        if c.get("established") and m and match("Intel::DOMAIN", m[0]):
            x509_want[c["uid"]] += 1
    unlogged = [0]
    smtp_uids = {c["uid"] for c in recs if c["_path"] in ("smtp", "conn")}
    for r in rows:
        k = (r["seen.where"], r.get("uid"), r.get("fuid"), r["seen.indicator"], r["seen.indicator_type"])
        if k[0] == "X509::IN_CERT" and k[4] == "Intel::DOMAIN":
            # SAN names (with the certificate's fuid) and the host certificate's CN
            if not match("Intel::DOMAIN", k[3]):
                return "X509 domain row %s matches no item" % (k,)
            x509_rows += 1
            x509_got[k[1]] += 1
            continue
        if k[0].startswith("SMTP::"):
            k2 = k
        elif k not in want:
            return "unexpected intel record %s" % (k,)
        else:
            k2 = k
        if k2[0].startswith("SMTP::") and k2 not in allowed:
            # A message whose transaction is never logged (Zeek's has_client_activity: a
            # transaction begun by a reply, pipelining gone wrong) is still looked at, as in
            # Zeek: the row must come from a connection and match an item.
            t = "Intel::ADDR" if k[4] == "Intel::ADDR" else k[4]
            if k[1] not in smtp_uids or not match(t, k[3]):
                return "unexpected SMTP intel record %s" % (k,)
            meta[k2] = match(t, k[3])
            unlogged[0] += 1
        m = meta[k2]
        if r["matched"] != m[0] or r["sources"] != m[1]:
            return "%s: matched %s sources %s, want %s" % (k, r["matched"], r["sources"], m)
        got[k] += 1
    for k, n in want.items():
        if got[k] != n:
            return "%s: %d records, want %d" % (k, got[k], n)
    for k in least:
        if not got[k]:
            return "%s: no record" % (k,)
    if x509_got != x509_want:
        return "certificate names: %s, want %s" % (dict(x509_got), dict(x509_want))
    print(len(rows), sum(want.values()), len(least), x509_rows, unlogged[0])

if sys.argv[1] == "mk":
    mk(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "count":
    print(len(read_items(sys.argv[2])))
else:
    r = check(sys.argv[2], sys.argv[3], sys.argv[4])
    if r:
        sys.exit(r)
EOF2

"$B/tools/gen_smtp_pcap" -o "$T/gen.pcap" -n 80 -c 4 --mix plain=2,attach=2,starttls=1,tls465=1 \
	--seed 5 --user-agents >/dev/null 2>&1
n=0 rows=0 exact=0 least=0 x509=0 empty=0 unl=0
while IFS= read -r p; do
	"$B/mailtap" -r "$p" -w - --seed 1 2>/dev/null | "$B/mailtap-cat" - >"$T/a.json"
	k=$(python3 "$T/intel.py" mk "$T/a.json" "$T/intel.dat")
	[ "$k" -gt 0 ] || continue
	n=$((n + 1))
	"$B/mailtap" -r "$p" -w - --seed 1 --intel-file "$T/intel.dat" 2>/dev/null |
		"$B/mailtap-cat" - >"$T/b.json"
	if c=$(python3 "$T/intel.py" check "$T/a.json" "$T/b.json" "$T/intel.dat" 2>&1); then
		set -- $c
		rows=$((rows + $1)) exact=$((exact + $2)) least=$((least + $3)) x509=$((x509 + $4))
		unl=$((unl + $5))
		[ "$1" = 0 ] && empty=$((empty + 1))
	else
		bad "$(basename "$p"): $c"
	fi
done < <(find ../shared/corpus -name '*.pcap' | sort; echo "$T/gen.pcap")
if [ $fails = 0 ] && [ $n -gt 0 ] && [ $rows -gt 0 ] && [ $exact -gt 0 ] && [ $least -gt 0 ]; then
	ok "$n captures: $rows intel records, each where Zeek looks: $exact exact (connections, files, hashes, names, SNI), $least SMTP fields, $x509 certificate names, $unl from messages of unlogged transactions (as Zeek); other records unchanged"
else
	bad "$n captures: $rows records ($exact exact, $least SMTP, $x509 x509), $empty captures without one"
fi

# the generated capture: every kind of indicator found, two workers alike, counters
"$B/mailtap" -r "$T/gen.pcap" -w - --seed 1 | "$B/mailtap-cat" - >"$T/a.json"
python3 "$T/intel.py" mk "$T/a.json" "$T/intel.dat" >/dev/null
"$B/mailtap" -r "$T/gen.pcap" -w - --seed 1 --intel-file "$T/intel.dat" --stats-interval 3600 \
	2>/dev/null | "$B/mailtap-cat" - >"$T/b.json"
kinds=$(grep '"_path":"intel"' "$T/b.json" | grep -o '"seen.where":"[^"]*","seen.node":"[^"]*","matched":\["[^"]*' |
	sed 's/"seen.node":"[^"]*",//' | sort -u | wc -l)
nrec=$(grep -c '"_path":"intel"' "$T/b.json")
st=$(grep '"_path":"stats"' "$T/b.json" | tail -n 1 | grep -o '"intel_matches":[0-9]*' | cut -d: -f2)
items=$(grep '"_path":"stats"' "$T/b.json" | tail -n 1 | grep -o '"intel_items":[0-9]*' | cut -d: -f2)
lines=$(grep -vc '^#' "$T/intel.dat")
distinct=$(python3 "$T/intel.py" count "$T/intel.dat")
if [ "$kinds" -ge 10 ] && [ "$st" = "$nrec" ] && [ "$items" = "$distinct" ]; then
	ok "generated: $nrec intel records of $kinds kinds (where, type); intel_matches $st, intel_items $items ($lines lines, some the same indicator in other letter case or source)"
else
	bad "generated: $nrec records of $kinds kinds; intel_matches '$st', intel_items '$items' ($lines lines)"
fi
"$B/mailtap" -r "$T/gen.pcap" -w - --seed 1 --workers 2 --intel-file "$T/intel.dat" 2>/dev/null |
	"$B/mailtap-cat" -s intel - >"$T/w.json"
strip='s/"uid":"[^"]*",//; s/"fuid":"[^"]*",\?//'
if [ "$(sed "$strip" "$T/w.json" | sort | md5sum)" = "$(grep '"_path":"intel"' "$T/b.json" | sed "$strip" | sort | md5sum)" ]; then
	ok "--workers 2: the same $(wc -l <"$T/w.json") intel records (one store, read by both)"
else
	bad "--workers 2: intel records differ"
fi

# URLs in message bodies (seen/smtp-url-extraction.zeek): Zeek's smtp.pcap has an HTML part
# whose two namespace URLs stand in quotes; each is found once per entity, whatever the
# hashing (base64 parts are decoded for it), and a URL in other letter case matches.
printf '#fields\tindicator\tindicator_type\tmeta.source\nWWW.W3.ORG/TR/REC-html40\tIntel::URL\tu\nschemas.microsoft.com/office/2004/12/omml\tIntel::URL\tu\nschemas.microsoft.com\tIntel::URL\tu\n' >"$T/url.dat"
sp=../shared/corpus/zeek/traces/smtp.pcap
u1=$("$B/mailtap" -r "$sp" -w - --intel-file "$T/url.dat" 2>/dev/null | "$B/mailtap-cat" -s intel - |
	grep -c '"seen.where":"SMTP::IN_MESSAGE"')
u2=$("$B/mailtap" -r "$sp" -w - --hashes none --intel-file "$T/url.dat" 2>/dev/null |
	"$B/mailtap-cat" -s intel - | grep '"seen.where":"SMTP::IN_MESSAGE"' | grep -o '"seen.indicator":"[^"]*"' | sort | tr '\n' ' ')
if [ "$u1" = 2 ] && [ "$u2" = '"seen.indicator":"schemas.microsoft.com/office/2004/12/omml" "seen.indicator":"www.w3.org/TR/REC-html40" ' ]; then
	ok "URLs in message bodies: the 2 of smtp.pcap's HTML part, once each, also with --hashes none"
else
	bad "URLs in message bodies: $u1 records; with --hashes none: $u2"
fi

# meta.whitelist (policy/frameworks/intel/whitelist.zeek): the whitelisted URL of smtp.pcap
# writes no intel record but still its do_notice notice; the other is written; counted
printf '#fields\tindicator\tindicator_type\tmeta.source\tmeta.whitelist\tmeta.do_notice\nWWW.W3.ORG/TR/REC-html40\tIntel::URL\tu\tT\tT\nschemas.microsoft.com/office/2004/12/omml\tIntel::URL\tu\tF\tF\n' >"$T/wl.dat"
"$B/mailtap" -r "$sp" -w - --intel-file "$T/wl.dat" --stats-interval 3600 2>/dev/null |
	"$B/mailtap-cat" - >"$T/wl.json"
w1=$(grep '"_path":"intel"' "$T/wl.json" | grep -o '"seen.indicator":"[^"]*"' | tr '\n' ' ')
w2=$(grep '"_path":"notice"' "$T/wl.json" | grep -c '"msg":"Intel hit on www.w3.org/TR/REC-html40 at SMTP::IN_MESSAGE"')
w3=$(grep '"_path":"stats"' "$T/wl.json" | tail -n 1 | grep -o '"intel_whitelisted":[0-9]*' | cut -d: -f2)
if [ "$w1" = '"seen.indicator":"schemas.microsoft.com/office/2004/12/omml" ' ] && [ "$w2" = 1 ] && [ "$w3" = 1 ]; then
	ok "meta.whitelist: the whitelisted URL writes no intel record but its notice, the other is written; intel_whitelisted 1"
else
	bad "meta.whitelist: intel records '$w1', notices $w2, intel_whitelisted '$w3'"
fi

# indicators that occur nowhere; no --intel-file: no stream, no counters
printf '#fields\tindicator\tindicator_type\tmeta.source\n203.0.113.9\tIntel::ADDR\tx\nno@where.invalid\tIntel::EMAIL\tx\n' >"$T/none.dat"
a=$("$B/mailtap" -r "$T/gen.pcap" -w - --intel-file "$T/none.dat" 2>/dev/null | "$B/mailtap-cat" -s intel - | wc -l)
b=$("$B/mailtap" -r "$T/gen.pcap" -w - --stats-interval 3600 2>/dev/null | "$B/mailtap-cat" - |
	grep -c '"_path":"intel"\|intel_items')
if [ "$a" = 0 ] && [ "$b" = 0 ]; then
	ok "no record for indicators that occur nowhere; none and no intel counters without --intel-file"
else
	bad "$a records for absent indicators, $b intel lines without --intel-file"
fi

# broken files: refused with the place; a bad line is skipped and named
printf '1.2.3.4\tIntel::ADDR\tx\n' >"$T/bad1.dat"
printf '#fields\tindicator\tmeta.source\n' >"$T/bad2.dat"
printf '#fields\tindicator\tindicator_type\tmeta.source\n300.0.0.1\tIntel::ADDR\tx\n203.0.113.9\tIntel::ADDR\tx\n' >"$T/bad3.dat"
"$B/mailtap" -r "$T/gen.pcap" -w /dev/null --intel-file "$T/bad1.dat" 2>"$T/e1"; r1=$?
"$B/mailtap" -r "$T/gen.pcap" -w /dev/null --intel-file "$T/bad2.dat" 2>"$T/e2"; r2=$?
"$B/mailtap" -r "$T/gen.pcap" -w /dev/null --intel-file "$T/missing.dat" 2>"$T/e3"; r3=$?
"$B/mailtap" -r "$T/gen.pcap" -w /dev/null --intel-file "$T/bad3.dat" 2>"$T/e4"; r4=$?
# a byte order mark, a FIFO at start (process substitution: read; rereading refuses FIFOs,
# test_intel) and a directory
printf '\xef\xbb\xbf#fields\tindicator\tindicator_type\tmeta.source\n' >"$T/bom.dat"
timeout 20 "$B/mailtap" -r "$T/gen.pcap" -w /dev/null --intel-file "$T/bom.dat" 2>"$T/e5"; r5=$?
timeout 20 "$B/mailtap" -r "$T/gen.pcap" -w /dev/null --intel-file <(cat "$T/bad3.dat") 2>"$T/e6"; r6=$?
timeout 20 "$B/mailtap" -r "$T/gen.pcap" -w /dev/null --intel-file "$T" 2>"$T/e7"; r7=$?
if [ $r1 = 1 ] && grep -q 'bad1.dat:1: data before the #fields line' "$T/e1" &&
	[ $r2 = 1 ] && grep -q 'bad2.dat:1: the #fields line lacks' "$T/e2" &&
	[ $r3 = 1 ] && grep -q 'cannot open .*missing.dat' "$T/e3" &&
	[ $r4 = 0 ] && grep -q 'bad3.dat:2: bad address, line skipped' "$T/e4" &&
	[ $r5 = 1 ] && grep -q 'bom.dat:1: the file starts with a UTF-8 byte order mark' "$T/e5" &&
	[ $r6 = 0 ] && grep -q 'intel: 1 items from /dev/fd/' "$T/e6" &&
	[ $r7 = 1 ] && grep -q 'is a directory, not a regular file' "$T/e7"; then
	ok "broken intel files refused with FILE:LINE (exit 1), a byte order mark named, a directory refused at once, a FIFO read at start; a bad line skipped and named"
else
	bad "broken intel files: exits $r1 $r2 $r3 $r4 $r5 $r6 $r7: $(cat "$T/e1" "$T/e2" "$T/e3" "$T/e4" "$T/e5" "$T/e6" "$T/e7")"
fi

# USER_NAME at SMTP::IN_AUTH (mailtap's place): the AUTH LOGIN name of zeek's smtp.pcap, in
# another case; none with --smtp-no-auth-user
printf '#fields\tindicator\tindicator_type\tmeta.source\nGurpartap@Patriots.in\tIntel::USER_NAME\tleaks\n' >"$T/user.dat"
u=$("$B/mailtap" -r ../shared/corpus/zeek/traces/smtp.pcap -w - --intel-file "$T/user.dat" 2>/dev/null | "$B/mailtap-cat" -s intel -)
un=$("$B/mailtap" -r ../shared/corpus/zeek/traces/smtp.pcap -w - --intel-file "$T/user.dat" --smtp-no-auth-user 2>/dev/null | "$B/mailtap-cat" -s intel - | wc -l)
if [ "$(echo "$u" | grep -c .)" = 1 ] && echo "$u" | grep -q '"seen.indicator":"gurpartap@patriots.in","seen.indicator_type":"Intel::USER_NAME","seen.where":"SMTP::IN_AUTH".*"sources":\["leaks"\]' && [ "$un" = 0 ]; then
	ok "USER_NAME: the AUTH login name matched at SMTP::IN_AUTH, once; none with --smtp-no-auth-user"
else
	bad "USER_NAME: '$u', with --smtp-no-auth-user $un"
fi

[ $fails -eq 0 ]
