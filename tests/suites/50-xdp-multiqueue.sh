#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Multi-queue: a veth with 4 rx/tx queues, one AF_XDP socket per queue (all queues).
# XPS on the injection end plus taskset put flow A (10.10.1.4 <-> 74.53.140.153:25) on
# queue 1 and flow B (192.168.133.100 <-> .102:25) on queue 3 (veth delivers a frame on
# the peer's rx queue of the same index; this kernel has no tc skbedit/flower). Checks each socket got exactly its flow's
# frames, the union equals the mail-port frames of the file, and the counters add up.
# Then asymmetric RSS: the two directions of one connection on queues 1 and 3, sent while
# mailtap is stopped (SIGSTOP) so that its next round finds both queues full: handed on in
# the order of their XDP timestamps, the records equal `mailtap -r`'s; queue after queue
# (before), the replies came before their requests.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools tcpreplay tcpdump nsenter python3 taskset
nl_require_bpffs
PCAP=$NL_CORPUS/zeek/traces/smtp.pcap
[ -r "$PCAP" ] || nl_skip "corpus not found: $PCAP"
DUMP=$BUILD/tools/xsk_dump
[ -x "$DUMP" ] || nl_fail "$DUMP not built"

nl_setup 4
nl_two_flow_queues "$PCAP"
A=$NL_A
B=$NL_B
want=$(tcpdump -r "$NL_TMP/exp.pcap" 2>/dev/null | wc -l)
want_a=$(tcpdump -r "$NL_TMP/exp.pcap" "$A" 2>/dev/null | wc -l)
want_b=$(tcpdump -r "$NL_TMP/exp.pcap" "$B" 2>/dev/null | wc -l)
echo "mail frames: $want (flow A $want_a on queue 1, flow B $want_b on queue 3)"
nl_bg "$DUMP" -i "$NL_CAP" -w "$NL_TMP/got.pcap" --timeout 60 --ready "$NL_TMP/ready" \
	>"$NL_TMP/stats" 2>"$NL_TMP/err"
pid=$!
nl_wait_file "$NL_TMP/ready" 10 || { cat "$NL_TMP/err"; nl_fail "xsk_dump did not start"; }
nl_replay "$NL_TMP/rest.pcap" --pps 2000
nl_exec taskset -c 0 tcpreplay -q -i "$NL_INJ" --pps 2000 "$NL_TMP/a.pcap" >/dev/null || nl_fail "replay A"
nl_exec taskset -c 1 tcpreplay -q -i "$NL_INJ" --pps 2000 "$NL_TMP/b.pcap" >/dev/null || nl_fail "replay B"
sleep 1
kill -TERM "$pid"
nl_wait_pid "$pid" 10 || { cat "$NL_TMP/err"; nl_fail "xsk_dump failed"; }
cat "$NL_TMP/err"
grep -E '^(q[0-9]|xsk\.|xdp\.(seen|matched|redirected|passed|no_xsk))' "$NL_TMP/stats"
s() { nl_stat "$NL_TMP/stats" "$1"; }
[ "$(s xsk.queues)" -eq 4 ] || nl_fail "$(s xsk.queues) sockets, want 4"
[ "$(s q0.delivered)" -eq 0 ] || nl_fail "queue 0 got $(s q0.delivered)"
[ "$(s q1.delivered)" -eq "$want_a" ] || nl_fail "queue 1 got $(s q1.delivered), want $want_a"
[ "$(s q2.delivered)" -eq 0 ] || nl_fail "queue 2 got $(s q2.delivered)"
[ "$(s q3.delivered)" -eq "$want_b" ] || nl_fail "queue 3 got $(s q3.delivered), want $want_b"
[ "$(s xdp.redirected)" -eq "$want" ] || nl_fail "redirected $(s xdp.redirected) != $want"
[ "$(s xdp.seen)" -eq $(($(s xdp.redirected) + $(s xdp.passed))) ] || nl_fail "seen != redirected + passed"
[ "$(s xdp.no_xsk)" -eq 0 ] || nl_fail "no_xsk $(s xdp.no_xsk)"
# Per-flow order is kept; across queues it is interleaved: compare per flow.
for f in A B; do
	nl_pcap_filter "$NL_TMP/exp.pcap" "$NL_TMP/exp-$f.pcap" "${!f}"
	nl_pcap_filter "$NL_TMP/got.pcap" "$NL_TMP/got-$f.pcap" "${!f}"
	nl_pcap_same "$NL_TMP/exp-$f.pcap" "$NL_TMP/got-$f.pcap" || nl_fail "flow $f differs"
done
nl_xdp_attached && nl_fail "XDP program left after exit"

echo "- asymmetric RSS: client->server on queue 1, server->client on queue 3, one round"
MT=$BUILD/mailtap
CAT=$BUILD/mailtap-cat
DEMO=tests/data/demo-smtp.pcap
nl_bg "$MT" -i "$NL_CAP" --seed 1 --stats -w "$NL_TMP/rss.mp" 2>"$NL_TMP/rss.err"
pid=$!
for ((i = 0; i < 100; i++)); do grep -q "capturing on" "$NL_TMP/rss.err" && break; sleep 0.1; done
grep -q "capturing on" "$NL_TMP/rss.err" || { cat "$NL_TMP/rss.err"; nl_fail "mailtap did not start"; }
kill -STOP "$pid"
# each frame of the capture in its order, from the CPU of its direction (XPS: its queue)
nl_exec python3 - "$NL_INJ" "$DEMO" <<'EOF' || { kill -CONT "$pid"; nl_fail "sending $DEMO"; }
import os, socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
d = open(sys.argv[2], 'rb').read()
assert struct.unpack('<I', d[:4])[0] == 0xa1b2c3d4
off = 24
while off < len(d):
    incl = struct.unpack('<I', d[off + 8:off + 12])[0]
    fr = d[off + 16:off + 16 + incl]
    off += 16 + incl
    l4 = 14 + (fr[14] & 15) * 4
    os.sched_setaffinity(0, {0 if struct.unpack('!H', fr[l4 + 2:l4 + 4])[0] == 25 else 1})
    s.send(fr)
EOF
kill -CONT "$pid"
sleep 1
kill -INT "$pid"
nl_wait_pid "$pid" 10 || { cat "$NL_TMP/rss.err"; nl_fail "mailtap failed"; }
grep -E "af_xdp|xdp seen" "$NL_TMP/rss.err" | cut -c1-100
"$MT" -r "$DEMO" --seed 1 -w "$NL_TMP/rss-off.mp" 2>/dev/null || nl_fail "mailtap -r $DEMO"
rss_records() {
	"$CAT" -s conn -c history conn_state orig_pkts resp_pkts orig_bytes resp_bytes missed_bytes <"$1"
	"$CAT" -s smtp -c trans_depth mailfrom rcptto last_reply path <"$1"
	"$CAT" -s weird -c name <"$1"
}
rss_records "$NL_TMP/rss-off.mp" >"$NL_TMP/rss-off.txt"
rss_records "$NL_TMP/rss.mp" >"$NL_TMP/rss-live.txt"
cat "$NL_TMP/rss-live.txt"
grep -q "queued as" "$NL_TMP/rss-off.txt" || nl_fail "no smtp record offline"
diff "$NL_TMP/rss-off.txt" "$NL_TMP/rss-live.txt" || nl_fail "live records differ from mailtap -r's"
echo "PASS: 4 queues, flows delivered on their own sockets, merged by time"
