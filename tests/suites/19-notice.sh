#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# notice (Zeek's notice.log) for what mailtap raises: SSL::Invalid_Server_Cert
# (policy/protocols/ssl/validate-certs.zeek) and Intel::Notice (policy/frameworks/intel/
# do_notice.zeek), with Zeek's suppression (Notice::default_suppression_interval, an hour).
# The expected notices are computed from the other records of the same run:
#  - every ssl record whose validation_status is not "ok" is a candidate; its identifier is
#    (server, port, host certificate, status); the first of each identifier within the hour
#    is a notice with that connection, its msg, the host certificate's subject (the x509
#    record) as sub and its file (the files record whose sha256 is the fingerprint) as fuid;
#    with --notice-suppress 0 every candidate is one;
#  - with intel items that ask for notices (meta.do_notice, meta.if_in), every intel record of
#    such an item at such a place is a candidate, its identifier the indicator and the two
#    addresses; the first of each is a notice "Intel hit on X at WHERE".
# For every capture of the corpus and generated TLS sessions; then --workers 2 gives the same
# notices (one suppression table), --no-notice none, and the counters add up.
# --smtp-blocklists (policy/protocols/smtp/blocklists.zeek): a scapy capture of four sessions
# whose servers refuse with block list texts: the originator named first in the text gives
# SMTP::Blocklist_Blocked_Host, another address SMTP::Blocklist_Error_Message, a 421 none;
# each notice carries its connection's uid and the whole text as sub (one of 1500 bytes and
# more), and no peer_descr (a standalone Zeek sets none); without the option none.
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh

cat >"$T/notice.py" <<'EOF2'
import ipaddress, json, sys

def load(p):
    return [json.loads(l) for l in open(p)]

def mk(base, out):
    recs = load(base)
    smtp = [r for r in recs if r["_path"] == "smtp" and r.get("mailfrom")]
    conn = [r for r in recs if r["_path"] == "conn"]
    with open(out, "w") as f:
        f.write("#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\tmeta.if_in\n")
        if smtp:
            f.write("%s\tIntel::EMAIL\ta\tT\t-\n" % smtp[0]["mailfrom"])
        if conn:
            f.write("%s\tIntel::ADDR\tb\tT\tConn::IN_ORIG\n" % conn[0]["id.orig_h"])
            f.write("%s\tIntel::ADDR\tc\tF\t-\n" % conn[-1]["id.resp_h"])
    print(1 if (smtp or conn) else 0)

def items(p):
    it = {}
    for l in open(p):
        if l.startswith("#"):
            continue
        v, t, src, dn, ifin = l.rstrip("\n").split("\t")
        it.setdefault((t, v.lower()), []).append((dn == "T", ifin))
    return it

def check(run, itemsfile, suppress):
    recs = load(run)
    notices = [r for r in recs if r["_path"] == "notice" and not r["note"].startswith("CaptureLoss::")]
    want = []
    x509 = {r["fingerprint"]: r for r in recs if r["_path"] == "x509"}
    certfile = {(r["uid"], r.get("sha256")): r["fuid"] for r in recs
                if r["_path"] == "files" and r.get("source") == "SSL"}
    for s in recs:
        if s["_path"] != "ssl" or s.get("validation_status") in (None, "ok") or not s.get("cert_chain_fps"):
            continue
        fp = s["cert_chain_fps"][0]
        want.append(("SSL::Invalid_Server_Cert", s["uid"],
                     (s["id.resp_h"], s["id.resp_p"], fp, s["validation_status"]),
                     "SSL certificate validation failed with (%s)" % s["validation_status"],
                     x509.get(fp, {}).get("certificate.subject"), certfile.get((s["uid"], fp)),
                     s["ts"]))
    it = items(itemsfile) if itemsfile else {}
    for r in recs:
        if r["_path"] != "intel":
            continue
        t, v = r["seen.indicator_type"], r["seen.indicator"]
        keys = [(t, v.lower())]
        if t == "Intel::ADDR":
            keys = [("Intel::ADDR", v)]
        if not any(dn and (ifin == "-" or ifin == r["seen.where"]) for k in keys for dn, ifin in it.get(k, [])):
            continue
        a, b = sorted([ipaddress.ip_address(r["id.orig_h"]), ipaddress.ip_address(r["id.resp_h"])],
                      key=lambda x: x.packed if x.version == 6 else b"\0" * 10 + b"\xff\xff" + x.packed)
        want.append(("Intel::Notice", r["uid"], (v, str(a), str(b)),
                     "Intel hit on %s at %s" % (v, r["seen.where"]), v, None, r["ts"]))
    # suppression: not again within the hour after the one logged
    last, exp = {}, []
    for w in sorted(want, key=lambda w: w[6]):
        k = (w[0], w[2])
        if suppress and k in last and w[6] < last[k] + 3600:
            continue
        last[k] = w[6]
        exp.append(w)
    got = sorted((n["note"], n["uid"], n["msg"], n.get("sub"), n.get("fuid")) for n in notices)
    e = sorted((w[0], w[1], w[3], w[4], w[5]) for w in exp)
    if got != e:
        return "notices %s, expected %s" % (got[:3], e[:3])
    for n in notices:
        if n["src"] != n["id.orig_h"] or n["dst"] != n["id.resp_h"] or n["p"] != n["id.resp_p"] \
           or n["actions"] != ["Notice::ACTION_LOG"] or n["proto"] != "tcp":
            return "notice fields: %s" % n
    print(len(notices), len(want))

if sys.argv[1] == "mk":
    mk(sys.argv[2], sys.argv[3])
else:
    r = check(sys.argv[2], sys.argv[3] if sys.argv[3] != "-" else None, sys.argv[4] == "1")
    if r:
        sys.exit(r)
EOF2

"$B/tools/gen_smtp_pcap" -o "$T/gen.pcap" -n 80 -c 4 --mix plain=2,starttls=1,tls465=1 --seed 3 \
	>/dev/null 2>&1
n=0 tot=0 cand=0 all=0
while IFS= read -r p; do
	"$B/mailtap" -r "$p" -w - --seed 1 2>/dev/null | "$B/mailtap-cat" - >"$T/a.json"
	[ "$(python3 "$T/notice.py" mk "$T/a.json" "$T/i.dat")" = 1 ] || continue
	n=$((n + 1))
	"$B/mailtap" -r "$p" -w - --seed 1 --intel-file "$T/i.dat" 2>/dev/null | "$B/mailtap-cat" - >"$T/b.json"
	if c=$(python3 "$T/notice.py" check "$T/b.json" "$T/i.dat" 1 2>&1); then
		tot=$((tot + ${c% *})) cand=$((cand + ${c#* }))
	else
		bad "$(basename "$p"): $c"
	fi
	"$B/mailtap" -r "$p" -w - --seed 1 --notice-suppress 0 2>/dev/null | "$B/mailtap-cat" - >"$T/c.json"
	if c=$(python3 "$T/notice.py" check "$T/c.json" - 0 2>&1); then
		all=$((all + ${c% *}))
	else
		bad "$(basename "$p") --notice-suppress 0: $c"
	fi
done < <(find ../shared/corpus -name '*.pcap' | sort; echo "$T/gen.pcap")
if [ $fails = 0 ] && [ $tot -gt 0 ] && [ $all -gt 0 ]; then
	ok "$n captures: $tot notices of $cand candidates (invalid server chains, intel items with do_notice), each as computed from the records; $all invalid-chain notices without suppression"
else
	bad "$n captures: $tot notices, $cand candidates, $all without suppression"
fi

"$B/mailtap" -r "$T/gen.pcap" -w - --seed 1 --stats-interval 3600 | "$B/mailtap-cat" - >"$T/g.json"
"$B/mailtap" -r "$T/gen.pcap" -w - --seed 1 --workers 2 | "$B/mailtap-cat" -s notice - >"$T/w.json"
# which connection raises a notice first depends on the workers' order (as in a Zeek
# cluster): the notices compare by what identifies them (server, port, message, subject)
key='import json,sys
for l in sys.stdin:
    r = json.loads(l)
    if r["_path"] == "notice":
        print(r["note"], r["dst"], r["p"], r["msg"], r.get("sub"))'
g=$(python3 -c "$key" <"$T/g.json" | sort | md5sum)
w=$(python3 -c "$key" <"$T/w.json" | sort | md5sum)
nn=$(grep -c '"_path":"notice"' "$T/g.json")
st=$(grep '"_path":"stats"' "$T/g.json" | tail -n 1)
sn=$(echo "$st" | grep -o '"notices":[0-9]*' | cut -d: -f2)
ss=$(echo "$st" | grep -o '"notices_suppressed":[0-9]*' | cut -d: -f2)
bad_ssl=$(grep '"_path":"ssl"' "$T/g.json" | grep '"validation_status"' | grep -vc '"validation_status":"ok"')
nono=$("$B/mailtap" -r "$T/gen.pcap" -w - --no-notice --stats-interval 3600 | "$B/mailtap-cat" - | grep -c '"_path":"notice"\|"notices"')
if [ "$g" = "$w" ] && [ "$nn" -gt 0 ] && [ "$sn" = "$nn" ] && [ $((sn + ss)) = "$bad_ssl" ] && [ "$nono" = 0 ]; then
	ok "generated: $nn notices, the same servers and messages with --workers 2 (one suppression table); notices $sn + suppressed $ss = $bad_ssl invalid chains; --no-notice: none"
else
	bad "generated: $nn notices (workers alike: $([ "$g" = "$w" ] && echo yes || echo no)), counters $sn + $ss vs $bad_ssl, --no-notice $nono"
fi

# --smtp-blocklists: three sessions from 10.2.0.1, 10.2.0.2 and 10.2.0.3 to 10.2.0.25
PYTHONPATH=tests /usr/bin/python3 - "$T/bl.pcap" <<'EOF2'
import sys
from scapy.all import wrpcap
from tcp_session import TcpSession
pk = []
def session(c, cp, refusal):
    x = TcpSession(pk, c, cp, "10.2.0.25", 25, t0=2000.0 + len(pk) * 0.001)
    x.handshake()
    x.srv(b"220 mx ESMTP\r\n")
    x.cli(b"EHLO a\r\n"); x.srv(b"250 mx\r\n")
    x.cli(b"MAIL FROM:<a@example.com>\r\n"); x.srv(refusal)
    x.cli(b"QUIT\r\n"); x.srv(b"221 bye\r\n")
    x.close()
session("10.2.0.1", 40001, b"554 5.7.1 Client host [10.2.0.1] blocked using zen.spamhaus.org; "
        b"https://www.spamhaus.org/query/ip/10.2.0.1\r\n")
session("10.2.0.2", 40002, b"550 5.7.1 192.0.2.99 listed, see http://www.spamcop.net/bl.shtml\r\n")
session("10.2.0.3", 40003, b"421 4.7.0 too busy, see https://www.spamhaus.org/\r\n")
session("10.2.0.4", 40004, b"550 5.7.1 see spamcop.net/bl " + b"x" * 1500 + b"\r\n")
wrpcap(sys.argv[1], pk)
EOF2
"$B/mailtap" -r "$T/bl.pcap" -w - --smtp-blocklists | "$B/mailtap-cat" - >"$T/bl.json"
off=$("$B/mailtap" -r "$T/bl.pcap" -w - | "$B/mailtap-cat" -s notice - | wc -l)
if r=$(python3 - "$T/bl.json" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
uid = {r["id.orig_h"]: r["uid"] for r in recs if r["_path"] == "conn"}
notices = [r for r in recs if r["_path"] == "notice"]
got = sorted((r["note"], r["src"], r["msg"], r["uid"] == uid.get(r["src"])) for r in notices)
want = [("SMTP::Blocklist_Blocked_Host", "10.2.0.1", "10.2.0.1 is on an SMTP block list", True),
        ("SMTP::Blocklist_Error_Message", "10.2.0.2",
         "10.2.0.2 received an error message mentioning an SMTP block list", True),
        ("SMTP::Blocklist_Error_Message", "10.2.0.4",
         "10.2.0.4 received an error message mentioning an SMTP block list", True)]
if got != want:
    sys.exit("got %s" % got)
# $sub=msg: the whole reply text (1500 bytes and more); no peer_descr (a standalone Zeek's)
long = [r.get("sub", "") for r in notices if r["src"] == "10.2.0.4"]
if long != ["5.7.1 see spamcop.net/bl " + "x" * 1500]:
    sys.exit("sub of the long reply: %d bytes" % len(long[0]) if long else "no sub")
if any("peer_descr" in r for r in notices):
    sys.exit("peer_descr without a node name")
EOF2
) && [ "$off" = 0 ]; then
	ok "--smtp-blocklists: Blocklist_Blocked_Host for the listed originator, Blocklist_Error_Message for another address (sub the whole text, 1500 bytes and more), none for a 421; none without the option; no peer_descr"
else
	bad "--smtp-blocklists: $r; without the option $off notices"
fi

# with --node-name, peer_descr is that name (Zeek's peer_description in a cluster)
pd=$("$B/mailtap" -r "$T/bl.pcap" -w - --smtp-blocklists --node-name sensor7 |
	"$B/mailtap-cat" -s notice -c peer_descr - | sort -u)
[ "$pd" = sensor7 ] && ok "--node-name sensor7: every notice's peer_descr" ||
	bad "--node-name sensor7: peer_descr '$pd'"

[ $fails -eq 0 ]
