#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The stats stream as Zeek's stats.log (policy/misc/stats.zeek): mailtap -i with
# --stats-interval 1 while zeek/traces/smtp.pcap is replayed three times, two seconds apart.
# Checks: pkts_proc, bytes_recv, pkts_link, pkts_dropped, tcp_conns and files count what
# happened since the previous record (their sums over the records equal the totals of the
# last one: pkts_proc_total, bytes_recv_total, pkts_link_total, pkts_dropped_total,
# flows_created, files_opened), more than one record saw packets, every record has mem (MB,
# above 0) and a pkt_lag under 3 s, and the gauges (active_tcp_conns, active_files,
# reassem_tcp_size) are present.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools tcpreplay nsenter python3
nl_require_bpffs
PCAP=$(nl_corpus_file zeek/traces/smtp.pcap) || exit
nl_require_mailtap

nl_setup 1
nl_bg "$MT" -i "$NL_CAP" --stats-interval 1 -w "$NL_TMP/out.mp" 2>"$NL_TMP/err"
pid=$!
for ((i = 0; i < 100; i++)); do nl_xdp_attached && break; sleep 0.1; done
sleep 0.3
for k in 1 2 3; do
	nl_replay "$PCAP" --pps 2000
	sleep 2
done
kill -TERM "$pid"
nl_wait_pid "$pid" 30 || { cat "$NL_TMP/err"; nl_fail "mailtap did not end"; }
"$CAT" -s stats "$NL_TMP/out.mp" >"$NL_TMP/stats.json"
python3 - "$NL_TMP/stats.json" <<'EOF2' || nl_fail "stats records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
last = recs[-1]
if len(recs) < 4:
    sys.exit("%d stats records" % len(recs))
for delta, total in (("pkts_proc", "pkts_proc_total"), ("bytes_recv", "bytes_recv_total"),
                     ("pkts_link", "pkts_link_total"), ("pkts_dropped", "pkts_dropped_total"),
                     ("tcp_conns", "flows_created"), ("files", "files_opened")):
    s = sum(r[delta] for r in recs)
    if s != last[total] or (total != "pkts_dropped_total" and s == 0):
        sys.exit("sum of %s %d, %s %d" % (delta, s, total, last[total]))
busy = sum(1 for r in recs if r["pkts_proc"] > 0)
if busy < 2:
    sys.exit("only %d records saw packets" % busy)
for r in recs:
    if not r.get("mem", 0) > 0 or not 0 <= r["pkt_lag"] < 3:
        sys.exit("mem %s, pkt_lag %s" % (r.get("mem"), r.get("pkt_lag")))
    for g in ("active_tcp_conns", "active_files", "reassem_tcp_size", "reassem_frag_size"):
        if g not in r:
            sys.exit("no %s" % g)
print("%d stats records, %d with packets: the per-record counts add up to the totals "
      "(%d packets, %d connections, %d files); mem %d MB" %
      (len(recs), busy, last["pkts_proc_total"], last["flows_created"], last["files_opened"],
       last["mem"]))
EOF2
echo "PASS: stats records as Zeek's stats.log"
