#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live capture on a veth: mailtap's XDP program + AF_XDP source (build/tools/xsk_dump) on
# one end, tcpreplay of ../shared/corpus/zeek/traces/smtp.pcap (2 SMTP flows and non-mail
# flows) into the other. Checks: the frames delivered are exactly the mail-port frames of
# the file (bytes and order), the XDP counters add up (seen = redirected + passed,
# matched = redirected + no_xsk), nothing dropped, metadata timestamps used, and after
# exit no XDP program, lock file or namespace remains.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools tcpreplay tcpdump nsenter python3
nl_require_bpffs
PCAP=$NL_CORPUS/zeek/traces/smtp.pcap
[ -r "$PCAP" ] || nl_skip "corpus not found: $PCAP"
DUMP=$BUILD/tools/xsk_dump
[ -x "$DUMP" ] || nl_fail "$DUMP not built (make BUILD=$BUILD)"

nl_setup 1
nl_pcap_filter "$PCAP" "$NL_TMP/exp.pcap" 'tcp port 25 or tcp port 465 or tcp port 587'
want=$(tcpdump -r "$NL_TMP/exp.pcap" 2>/dev/null | wc -l)
total=$(tcpdump -r "$PCAP" 2>/dev/null | wc -l)
echo "file: $total frames, $want on mail ports"

nl_bg "$DUMP" -i "$NL_CAP" -w "$NL_TMP/got.pcap" --timeout 60 \
	--ready "$NL_TMP/ready" >"$NL_TMP/stats" 2>"$NL_TMP/err"
pid=${NL_PIDS[0]}
nl_wait_file "$NL_TMP/ready" 10 || { cat "$NL_TMP/err"; nl_fail "xsk_dump did not start"; }
nl_xdp_attached || nl_fail "no XDP program on $NL_CAP while capturing"
nl_replay "$PCAP" --pps 2000
sleep 1 # let the receiving NAPI finish, then stop the capture
kill -TERM "$pid"
nl_wait_pid "$pid" 10
rc=$?
cat "$NL_TMP/err"
cat "$NL_TMP/stats"
[ $rc -eq 0 ] || nl_fail "xsk_dump exit $rc"

nl_pcap_same "$NL_TMP/exp.pcap" "$NL_TMP/got.pcap" || nl_fail "delivered frames differ from the mail-port frames of the file"
s() { nl_stat "$NL_TMP/stats" "$1"; }
[ "$(s xdp.seen)" -eq "$total" ] || nl_fail "xdp.seen $(s xdp.seen) != $total"
[ "$(s xdp.seen)" -eq $(($(s xdp.redirected) + $(s xdp.passed))) ] || nl_fail "seen != redirected + passed"
[ "$(s xdp.matched)" -eq $(($(s xdp.redirected) + $(s xdp.no_xsk))) ] || nl_fail "matched != redirected + no_xsk"
[ "$(s xdp.matched)" -eq "$want" ] || nl_fail "matched $(s xdp.matched) != $want"
[ "$(s xdp.redirected)" -eq "$want" ] || nl_fail "redirected $(s xdp.redirected) != $want"
[ "$(s xdp.passed)" -eq $((total - want)) ] || nl_fail "passed $(s xdp.passed) != $((total - want))"
[ "$(s xsk.delivered)" -eq "$want" ] || nl_fail "delivered $(s xsk.delivered) != $want"
[ "$(s xsk.rx_dropped)" -eq 0 ] || nl_fail "rx_dropped $(s xsk.rx_dropped)"
[ "$(s xsk.meta_ts)" -eq "$want" ] || nl_fail "meta_ts $(s xsk.meta_ts): XDP timestamps not used"
# Timestamps are capture times (now), not the file's.
first=$(tcpdump -tt -r "$NL_TMP/got.pcap" -c 1 2>/dev/null | cut -d. -f1)
now=$(date +%s)
[ $((now - first)) -lt 120 ] || nl_fail "timestamp $first is not the capture time ($now)"

nl_xdp_attached && nl_fail "XDP program left on $NL_CAP after exit"
ls /run/mailtap/*-"$NL_CAP".lock 2>/dev/null | while read -r f; do
	fuser "$f" >/dev/null 2>&1 && nl_fail "lock $f still held"
done
echo "PASS: $want mail frames delivered, counters add up"
