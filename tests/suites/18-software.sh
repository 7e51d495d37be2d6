#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Mail software (Zeek's policy/protocols/smtp/software.zeek, which local.zeek loads): the
# software stream and smtp's is_webmail, through the whole pipeline.
#  - Zeek's smtp.pcap: its two clients as Zeek would log them (Outlook 12.0 from 10.10.1.4,
#    Apple Mail 2.2102 from 192.168.133.100), is_webmail false.
#  - A generated capture with five clients (tools/gen_smtp_pcap --user-agents): each smtp
#    record is checked against Software::register's rule, replayed from the records
#    themselves: a software record follows an smtp record exactly when its client is new on
#    its host or its version changed there; the host is the earliest Received hop (the one
#    before it for a webmail message received "via HTTP"); the type is WEBMAIL_SERVER exactly
#    for is_webmail, which is true exactly for the SquirrelMail User-Agent.
#  - Counters add up (software_found, software_logged); --software-max-hosts 1 forgets hosts
#    (counted) and logs them again; --no-private-local without --local-nets: no host is
#    local, no software record; --no-software: neither the stream nor is_webmail.
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh
CORPUS=../shared/corpus

# 1. Zeek's smtp.pcap
if [ -f "$CORPUS/zeek/traces/smtp.pcap" ]; then
	"$B/mailtap" -r "$CORPUS/zeek/traces/smtp.pcap" -w "$T/z.mp" 2>"$T/z.err" &&
		"$B/mailtap-cat" "$T/z.mp" >"$T/z.json"
	if python3 - "$T/z.json" <<'EOF2'; then
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
sw = [{k: v for k, v in r.items() if k not in ("_path", "ts")} for r in recs
      if r["_path"] == "software"]
want = [
    {"host": "10.10.1.4", "software_type": "SMTP::MAIL_CLIENT",
     "name": "Microsoft Office Outlook", "version.major": 12, "version.minor": 0,
     "unparsed_version": "Microsoft Office Outlook 12.0"},
    {"host": "192.168.133.100", "software_type": "SMTP::MAIL_CLIENT", "name": "Apple Mail",
     "version.major": 2, "version.minor": 2102, "unparsed_version": "Apple Mail (2.2102)"},
]
if sw != want:
    sys.exit("software records %s" % sw)
smtp = [r for r in recs if r["_path"] == "smtp"]
if [r.get("is_webmail") for r in smtp] != [False, False]:
    sys.exit("is_webmail %s" % [r.get("is_webmail") for r in smtp])
# the record follows its smtp record, at or after it
order = [r["_path"] for r in recs if r["_path"] in ("smtp", "software")]
if order != ["smtp", "software", "smtp", "software"]:
    sys.exit("order %s" % order)
EOF2
		ok "smtp.pcap: Outlook 12.0 on 10.10.1.4, Apple Mail 2.2102 on 192.168.133.100, is_webmail false"
	else
		bad "smtp.pcap"
	fi
else
	echo "skip smtp.pcap: no corpus"
fi

# 2. generated clients, replayed against Software::register
"$B/tools/gen_smtp_pcap" -o "$T/g.pcap" -n 1500 -c 40 -a 3000 -m 300 --seed 11 --user-agents \
	>/dev/null 2>&1
cat >"$T/check.py" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
stats = [r for r in recs if r["_path"] == "stats"][-1]
seq = [r for r in recs if r["_path"] in ("smtp", "software")]
ver = lambda r: tuple(r.get("version." + k) for k in ("major", "minor", "minor2", "minor3", "addl"))
parsed = {}
for r in seq:
    if r["_path"] == "software":
        p = (r["name"], ver(r))
        if parsed.setdefault(r["unparsed_version"], p) != p:
            sys.exit("%s parsed two ways" % r["unparsed_version"])
state, found, logged, webmail, via_http = {}, 0, 0, 0, 0
for i, r in enumerate(seq):
    if r["_path"] == "software":
        if i == 0 or seq[i - 1]["_path"] != "smtp":
            sys.exit("software record not after an smtp record: %s" % r)
        continue
    ua = r.get("user_agent")
    nxt = seq[i + 1] if i + 1 < len(seq) and seq[i + 1]["_path"] == "software" else None
    is_wm = ua is not None and ua.startswith("SquirrelMail")
    if r.get("is_webmail") is not is_wm:
        sys.exit("smtp %s: is_webmail %s for %r" % (r["uid"], r.get("is_webmail"), ua))
    if ua is None:
        if nxt:
            sys.exit("software record after smtp %s without user_agent" % r["uid"])
        continue
    found += 1
    host = r["path"][-1]
    if is_wm and "via HTTP" in r.get("first_received", ""):
        host = r["path"][-2]
        via_http += 1
    name, v = parsed[ua]
    due = state.get((host, name)) != v
    if due != (nxt is not None):
        sys.exit("smtp %s (%r on %s): software record %s, want %s" % (r["uid"], ua, host, nxt is not None, due))
    if nxt:
        logged += 1
        webmail += is_wm
        want_t = "SMTP::WEBMAIL_SERVER" if is_wm else "SMTP::MAIL_CLIENT"
        if nxt["host"] != host or nxt["unparsed_version"] != ua or nxt["software_type"] != want_t:
            sys.exit("smtp %s: software record %s, want host %s type %s" % (r["uid"], nxt, host, want_t))
        if nxt["ts"] < r["ts"]:
            sys.exit("software ts before its smtp record")
        state[(host, name)] = v
if (stats["software_found"], stats["software_logged"]) != (found, logged):
    sys.exit("counters found %d logged %d, replay %d %d" % (stats["software_found"], stats["software_logged"], found, logged))
print("%d clients in smtp records, %d software records (%d webmail, %d hosts via HTTP), %d strings" % (found, logged, webmail, via_http, len(parsed)))
EOF2
"$B/mailtap" -r "$T/g.pcap" -w "$T/g.mp" --stats-interval 3600 2>"$T/g.err" &&
	"$B/mailtap-cat" "$T/g.mp" >"$T/g.json"
if out=$(python3 "$T/check.py" "$T/g.json" 2>&1) && [ -n "$out" ]; then
	ok "generated: $out, as Software::register"
else
	bad "generated: $out"
fi

# 3. limits and switches
"$B/mailtap" -r "$T/g.pcap" -w "$T/m.mp" --stats-interval 3600 --software-max-hosts 1 \
	2>"$T/m.err" && "$B/mailtap-cat" "$T/m.mp" >"$T/m.json"
if out=$(python3 - "$T/m.json" "$T/g.json" <<'EOF2'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
g = [json.loads(l) for l in open(sys.argv[2])]
st = [r for r in m if r["_path"] == "stats"][-1]
nm = sum(r["_path"] == "software" for r in m)
ng = sum(r["_path"] == "software" for r in g)
if not (st["software_hosts_evicted"] > 0 and st["software_hosts"] == 1 and nm > ng and nm == st["software_logged"]):
    sys.exit("evicted %d hosts %d records %d (default %d)" % (st["software_hosts_evicted"], st["software_hosts"], nm, ng))
print("%d hosts forgotten, %d software records (%d with the default)" % (st["software_hosts_evicted"], nm, ng))
EOF2
); then
	ok "--software-max-hosts 1: $out"
else
	bad "--software-max-hosts 1: $out"
fi
"$B/mailtap" -r "$T/g.pcap" -w - --no-private-local | "$B/mailtap-cat" - >"$T/n.json"
"$B/mailtap" -r "$T/g.pcap" -w - --no-software | "$B/mailtap-cat" - >"$T/o.json"
ns=$(grep -c '"_path":"software"' "$T/n.json")
nw=$(grep -c '"is_webmail":true' "$T/n.json")
os=$(grep -c '"_path":"software"\|is_webmail' "$T/o.json")
smtp=$(grep -c '"_path":"smtp"' "$T/o.json")
if [ "$ns" = 0 ] && [ "$nw" -gt 0 ] && [ "$os" = 0 ] && [ "$smtp" -gt 1000 ]; then
	ok "no local hosts: no software records ($nw webmail messages still marked); --no-software: no software records or is_webmail in $smtp smtp records"
else
	bad "no local hosts: $ns software records, $nw webmail; --no-software: $os"
fi

[ $fails -eq 0 ]
