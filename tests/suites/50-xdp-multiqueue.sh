#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Multi-queue: a veth with 4 rx/tx queues, one AF_XDP socket per queue (all queues).
# XPS on the injection end plus taskset put flow A (10.10.1.4 <-> 74.53.140.153:25) on
# queue 1 and flow B (192.168.133.100 <-> .102:25) on queue 3 (veth delivers a frame on
# the peer's rx queue of the same index; this kernel has no tc skbedit/flower). Checks each socket got exactly its flow's
# frames, the union equals the mail-port frames of the file, and the counters add up.
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
echo "PASS: 4 queues, flows delivered on their own sockets"
