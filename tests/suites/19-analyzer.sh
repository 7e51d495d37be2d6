#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# analyzer (Zeek 7's analyzer.log, base/frameworks/analyzer/logging.zeek): a record per
# protocol violation of the SMTP or SSL analyzer. Every capture of the corpus: each record has
# exactly Analyzer::Logging::Info's fields (cause violation, analyzer_kind protocol,
# analyzer_name SMTP or SSL, failure_data the SMTP line at fault) and the uid of a conn record; the captures with violations give
# the records Zeek's analyzers would (names and texts listed below); no weird
# ssl_protocol_violation is left. A scapy session whose server answers 30 commands with lines
# without a reply code after 12 KB of mail (past DPD::ignore_violations_after, so SMTP
# analysis goes on): 8 records (the bound a connection) and analyzer_suppressed 22;
# --no-analyzer-log: none. --analyzer-log-confirmations on zeek's smtp-starttls.pcap (with
# --known-tracking remote, so that known_services logs the remote server): a
# confirmation record for SMTP, then SSL, at the times known_services logs them, with the
# connection's uid; none without the option.
set -u
cd "$(dirname "$0")/../.."
. tests/suite-lib.sh
C=../shared/corpus

cat >"$T/check.py" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
uids = {r["uid"] for r in recs if r["_path"] == "conn"}
keys = {"_path", "ts", "cause", "analyzer_kind", "analyzer_name", "uid", "id.orig_h",
        "id.orig_p", "id.resp_h", "id.resp_p", "failure_reason"}
out = []
for r in recs:
    if r["_path"] == "weird" and r["name"] == "ssl_protocol_violation":
        sys.exit("weird ssl_protocol_violation")
    if r["_path"] != "analyzer":
        continue
    # SMTP gives the line at fault (Zeek's failure_data, at most 40 bytes), SSL none
    want = keys | {"failure_data"} if r.get("analyzer_name") == "SMTP" else keys
    if set(r) != want or r["cause"] != "violation" or r["analyzer_kind"] != "protocol" \
            or r["analyzer_name"] not in ("SMTP", "SSL") or r["uid"] not in uids \
            or len(r.get("failure_data", "").encode("utf-8", "surrogateescape")) > 4 * 40:
        sys.exit("bad record %s" % r)
    out.append("%s|%s" % (r["analyzer_name"], r["failure_reason"]))
print("\n".join(out))
EOF2
n=0 tot=0
declare -A want=(
	[suricata-verify/protocol-change-failed-event/input.pcap]="SSL|Invalid version in TLS connection. Version: 21588"
	[suricata-verify/smtp-errors/smtperr.pcap]="SMTP|reply code -1 out of range SMTP|reply code -1 out of range SSL|Invalid version in TLS connection. Version: 12848"
	[suricata-verify/smtp-tls-protodetect/input.pcap]="SSL|Invalid version late in TLS connection. Packet reported version: 12848"
	[arkime/smtp-decrypted.pcap]="SSL|Invalid version in TLS connection. Version: 18508 SSL|Invalid version in TLS connection. Version: 18508"
)
while IFS= read -r p; do
	"$B/mailtap" -r "$p" -w - 2>/dev/null | "$B/mailtap-cat" - >"$T/a.json"
	grep -q '"_path":"conn"' "$T/a.json" || continue
	n=$((n + 1))
	if ! got=$(python3 "$T/check.py" "$T/a.json" 2>&1); then
		bad "${p#$C/}: $got"
		continue
	fi
	k=${p#$C/}
	[ -n "$got" ] && tot=$((tot + $(echo "$got" | wc -l)))
	if [ -n "${want[$k]+x}" ]; then
		[ "$(echo "$got" | sort | tr '\n' ' ')" = "$(echo "${want[$k]}" | sed 's/ \(SMTP\|SSL\)|/\n\1|/g' | sort | tr '\n' ' ')" ] ||
			bad "$k: got '$(echo "$got" | tr '\n' ';')', want '${want[$k]}'"
		unset "want[$k]"
	fi
done < <(find "$C" -name '*.pcap' -o -name '*.pcapng' | sort)
[ ${#want[@]} = 0 ] || bad "not found: ${!want[*]}"
[ $fails = 0 ] && [ $tot -gt 0 ] && ok "$n captures: $tot analyzer records with Zeek's fields and texts, no ssl_protocol_violation weird"

PYTHONPATH=tests /usr/bin/python3 - "$T/v.pcap" <<'EOF2'
import sys
from scapy.all import wrpcap
from tcp_session import TcpSession
pk = []
x = TcpSession(pk, "10.1.0.1", 40001, "10.1.0.2", 25, t0=1000.0)
x.handshake()
x.srv(b"220 mx.example ESMTP\r\n")
for cmd, rep in ((b"EHLO a\r\n", b"250 mx\r\n"), (b"MAIL FROM:<a@example.com>\r\n", b"250 ok\r\n"),
                 (b"RCPT TO:<b@example.com>\r\n", b"250 ok\r\n"), (b"DATA\r\n", b"354 go\r\n")):
    x.cli(cmd); x.srv(rep)
body = b"Subject: x\r\n\r\n" + b"".join(b"line %05d of filler text for the size\r\n" % i for i in range(300))
for i in range(0, len(body), 1400):
    x.cli(body[i:i + 1400])
x.cli(b".\r\n"); x.srv(b"250 queued\r\n")
for i in range(30):
    x.cli(b"NOOP\r\n"); x.srv(b"xx not a reply\r\n")
x.cli(b"QUIT\r\n"); x.srv(b"221 bye\r\n")
x.close()
wrpcap(sys.argv[1], pk)
EOF2
"$B/mailtap" -r "$T/v.pcap" -w - --stats-interval 3600 | "$B/mailtap-cat" - >"$T/v.json"
nv=$(grep -c '"_path":"analyzer"' "$T/v.json")
sup=$(grep '"_path":"stats"' "$T/v.json" | tail -n 1 | grep -o '"analyzer_suppressed":[0-9]*' | cut -d: -f2)
ra=$(grep '"_path":"stats"' "$T/v.json" | tail -n 1 | grep -o '"records_analyzer":[0-9]*' | cut -d: -f2)
smtp=$(grep -c '"_path":"smtp"' "$T/v.json")
off=$("$B/mailtap" -r "$T/v.pcap" -w - --no-analyzer-log | "$B/mailtap-cat" -s analyzer - | wc -l)
if [ "$nv" = 8 ] && [ "$ra" = 8 ] && [ "$sup" = 22 ] && [ "$smtp" = 1 ] && [ "$off" = 0 ] &&
	grep '"_path":"analyzer"' "$T/v.json" | head -n 1 | grep -q '"analyzer_name":"SMTP".*"failure_reason":"reply code -1 out of range","failure_data":"xx not a reply"}'; then
	ok "30 violations past 12 KB: SMTP analysis goes on, 8 analyzer records, analyzer_suppressed 22; --no-analyzer-log none"
else
	bad "30 violations: $nv records (stats $ra), suppressed '$sup', smtp records $smtp, --no-analyzer-log $off"
fi
st=../shared/corpus/zeek/traces/tls/smtp-starttls.pcap
"$B/mailtap" -r "$st" -w - --analyzer-log-confirmations --known-tracking remote | "$B/mailtap-cat" - >"$T/c.json"
noc=$("$B/mailtap" -r "$st" -w - | "$B/mailtap-cat" -s analyzer - | wc -l)
if python3 - "$T/c.json" <<'EOF2' && [ "$noc" = 0 ]; then
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
uid = [r["uid"] for r in recs if r["_path"] == "conn"][0]
conf = [(r["analyzer_name"], r["ts"], r["uid"] == uid, r["analyzer_kind"], sorted(r))
        for r in recs if r["_path"] == "analyzer"]
ks = [r["ts"] for r in recs if r["_path"] == "known_services"]
keys = sorted(["_path", "ts", "cause", "analyzer_kind", "analyzer_name", "uid", "id.orig_h",
               "id.orig_p", "id.resp_h", "id.resp_p"])
want = [("SMTP", ks[0], True, "protocol", keys), ("SSL", ks[1], True, "protocol", keys)]
sys.exit(0 if conf == want and all(r["cause"] == "confirmation" for r in recs
                                   if r["_path"] == "analyzer") else "got %s" % conf)
EOF2
	ok "--analyzer-log-confirmations: SMTP then SSL confirmed, with the uid, at known_services' times; none without it"
else
	bad "--analyzer-log-confirmations: $(grep analyzer "$T/c.json" | head -3); without $noc"
fi

[ $fails -eq 0 ]
