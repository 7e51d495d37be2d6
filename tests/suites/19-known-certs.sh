#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# known_certs (Zeek's policy/protocols/ssl/known-certs.zeek, loaded by local.zeek): one record
# per local server and host certificate at ssl_established, again after the expiry.
#  - Every capture of the corpus with TLS, all addresses local (--local-nets 0.0.0.0/0,::/0):
#    one record per (server address, host certificate) among the established ssl records,
#    none for the others; its subject, issuer and serial are the x509 record's of that
#    certificate, port_num the server's port, ts the ssl record's (established).
#  - The corpus' servers are public: no record by default (cert_tracking = LOCAL_HOSTS).
#  - Generated sessions to one private server with one certificate, twice 100 s apart: one
#    record; with --known-certs-expire 1, two; --no-known-certs none.
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh

cat >"$T/check.py" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
x509 = {r["fingerprint"]: r for r in recs if r["_path"] == "x509"}
kc = [r for r in recs if r["_path"] == "known_certs"]
want = {}
for r in recs:
    if r["_path"] != "ssl" or not r.get("established") or not r.get("cert_chain_fps"):
        continue
    fp = r["cert_chain_fps"][0]
    key = (r["id.resp_h"], fp)
    if key not in want:
        want[key] = r
got = {}
for k in kc:
    # the record's certificate: the established connection to that host at that time
    m = [key for key, s in want.items() if key[0] == k["host"] and s["ts"] <= k["ts"]]
    if not m:
        sys.exit("known_certs record for %s with no established ssl record" % k["host"])
    hits = [key for key in m if x509.get(key[1], {}).get("certificate.serial") == k.get("serial")
            and x509[key[1]].get("certificate.subject") == k.get("subject")
            and x509[key[1]].get("certificate.issuer") == k.get("issuer_subject")]
    if not hits:
        sys.exit("known_certs %s: no x509 record with its subject/issuer/serial" % k)
    key = hits[0]
    if key in got:
        sys.exit("known_certs twice for %s" % (key,))
    if k["port_num"] != want[key]["id.resp_p"]:
        sys.exit("port_num %s, want %s" % (k["port_num"], want[key]["id.resp_p"]))
    got[key] = k
if len(got) != len(want):
    sys.exit("%d known_certs records, %d (server, certificate) pairs established" % (len(got), len(want)))
print(len(got))
EOF2

n=0 tot=0 def=0
while IFS= read -r p; do
	"$B/mailtap" -r "$p" -w - --local-nets 0.0.0.0/0,::/0 2>/dev/null |
		"$B/mailtap-cat" - >"$T/a.json"
	grep -q '"_path":"ssl"' "$T/a.json" || continue
	n=$((n + 1))
	if c=$(python3 "$T/check.py" "$T/a.json" 2>&1); then
		tot=$((tot + c))
	else
		bad "$(basename "$p"): $c"
	fi
	d=$("$B/mailtap" -r "$p" -w - 2>/dev/null | "$B/mailtap-cat" -s known_certs - | wc -l)
	def=$((def + d))
done < <(find ../shared/corpus -name '*.pcap' | sort)
if [ $n -gt 0 ] && [ $fails = 0 ] && [ $tot -gt 0 ] && [ $def = 0 ]; then
	ok "corpus: $n captures with TLS, $tot known_certs records with all addresses local, each the x509 record's subject, issuer and serial; none with the default (public servers)"
else
	bad "corpus: $n captures, $tot records, $def by default"
fi

"$B/tools/gen_smtp_pcap" -o "$T/g1.pcap" -n 100 -c 4 --mix starttls=1,tls465=1 --seed 3 \
	>/dev/null 2>&1
# the same sessions again 100 s later (the connections closed long before: new ones)
editcap -t 100 "$T/g1.pcap" "$T/g2.pcap" && mergecap -a -w "$T/g.pcap" "$T/g1.pcap" "$T/g2.pcap"
a=$("$B/mailtap" -r "$T/g.pcap" -w - | "$B/mailtap-cat" -s known_certs - | wc -l)
span=$(tshark -r "$T/g.pcap" -T fields -e frame.time_epoch 2>/dev/null | sed -n '1p;$p' |
	awk 'NR==1{a=$1} NR==2{printf "%d", $1-a}')
b=$("$B/mailtap" -r "$T/g.pcap" -w - --known-certs-expire 1 | "$B/mailtap-cat" -s known_certs - | wc -l)
c=$("$B/mailtap" -r "$T/g.pcap" -w - --no-known-certs | "$B/mailtap-cat" -s known_certs - | wc -l)
# the counter of records written
st=$("$B/mailtap" -r "$T/g.pcap" -w - --known-certs-expire 1 --stats-interval 3600 |
	"$B/mailtap-cat" -s stats - | tail -n 1 | grep -o '"known_certs_logged":[0-9]*' | cut -d: -f2)
"$B/mailtap" -r "$T/g.pcap" -w - | "$B/mailtap-cat" >"$T/g.json"
if [ "$a" = 1 ] && python3 "$T/check.py" "$T/g.json" >/dev/null && [ "$b" = 2 ] && [ "$c" = 0 ] && [ "$st" = 2 ]; then
	ok "generated: one server, one certificate: 1 record; --known-certs-expire 1 over ${span} s: $b; --no-known-certs: 0"
else
	bad "generated: $a records, $b with expire 1 (${span} s), $c with --no-known-certs, known_certs_logged '$st'"
fi

[ $fails -eq 0 ]
