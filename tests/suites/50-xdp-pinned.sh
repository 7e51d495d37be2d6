#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The operator (bpftool) workflow end to end, as docs/capture.md shows it:
# bpftool loads $BUILD/mailtap.bpf.o and pins program + maps, bpftool attaches it, the port
# set is written with bpftool, then xsk_dump --pinned DIR (mailtap's AF_XDP source in
# pinned mode) receives the mail frames of a replay. Then the operator removes port 25 at
# run time with bpftool: the next replay reaches no socket. The pinned program stays
# attached after the capture exits (pinned mode does not detach); the test removes it.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools tcpreplay tcpdump nsenter python3 bpftool
nl_require_bpffs
PCAP=$NL_CORPUS/zeek/traces/smtp.pcap
[ -r "$PCAP" ] || nl_skip "corpus not found: $PCAP"
DUMP=$BUILD/tools/xsk_dump
OBJ=$BUILD/mailtap.bpf.o
[ -x "$DUMP" ] && [ -r "$OBJ" ] || nl_fail "$DUMP or $OBJ not built"

nl_setup 1
PIN=$(nl_pin_dir)
bpftool prog load "$OBJ" "$PIN/prog" type xdp pinmaps "$PIN" || nl_fail "bpftool prog load"
ls "$PIN"
for m in prog xsks_map mailtap_ports mailtap_stats; do
	[ -e "$PIN/$m" ] || nl_fail "$PIN/$m not pinned"
done
nl_exec bpftool net attach xdp pinned "$PIN/prog" dev "$NL_CAP" || nl_fail "bpftool net attach"
nl_xdp_attached || nl_fail "not attached"
for p in 25 465 587; do
	nl_port_set "$PIN" $p 1 || nl_fail "port set $p"
done
ports=$(nl_ports_list "$PIN")
echo "port set: $ports"
[ "$ports" = "25 465 587" ] || nl_fail "port set '$ports'"

nl_pcap_filter "$PCAP" "$NL_TMP/exp.pcap" 'tcp port 25 or tcp port 465 or tcp port 587'
want=$(tcpdump -r "$NL_TMP/exp.pcap" 2>/dev/null | wc -l)

run_capture() { # $1: output name
	rm -f "$NL_TMP/ready"
	nl_bg "$DUMP" -i "$NL_CAP" --pinned "$PIN" -w "$NL_TMP/$1.pcap" --timeout 60 \
		--ready "$NL_TMP/ready" >"$NL_TMP/$1.stats" 2>"$NL_TMP/$1.err"
	local pid=$!
	nl_wait_file "$NL_TMP/ready" 10 || { cat "$NL_TMP/$1.err"; nl_fail "xsk_dump did not start"; }
	nl_replay "$PCAP" --pps 2000
	sleep 1
	kill -TERM "$pid"
	nl_wait_pid "$pid" 10 || { cat "$NL_TMP/$1.err"; nl_fail "xsk_dump failed"; }
	cat "$NL_TMP/$1.err"
}

run_capture one
s() { nl_stat "$NL_TMP/one.stats" "$1"; }
[ "$(s xdp.mode)" = pinned ] || nl_fail "not in pinned mode"
nl_pcap_same "$NL_TMP/exp.pcap" "$NL_TMP/one.pcap" || nl_fail "pinned mode: frames differ"
[ "$(s xsk.delivered)" -eq "$want" ] || nl_fail "delivered $(s xsk.delivered) != $want"
[ "$(s xdp.redirected)" -eq "$want" ] || nl_fail "redirected $(s xdp.redirected) != $want"
nl_xdp_attached || nl_fail "pinned mode detached the operator's program"
for m in prog xsks_map mailtap_ports mailtap_stats; do
	[ -e "$PIN/$m" ] || nl_fail "pinned mode removed $PIN/$m"
done

# Run-time change by the operator: no port 25 any more. smtp.pcap's mail is all on 25.
nl_port_set "$PIN" 25 0 || nl_fail "port clear"
[ "$(nl_ports_list "$PIN")" = "465 587" ] || nl_fail "port set after clear: $(nl_ports_list "$PIN")"
run_capture two
s() { nl_stat "$NL_TMP/two.stats" "$1"; }
[ "$(s xsk.delivered)" -eq 0 ] || nl_fail "port 25 removed, yet $(s xsk.delivered) delivered"
# The counters are cumulative in the pinned map: the second replay added no redirect.
[ "$(s xdp.redirected)" -eq "$want" ] || nl_fail "redirected $(s xdp.redirected) != $want"
[ "$(s xdp.seen)" -eq $(($(s xdp.redirected) + $(s xdp.passed))) ] || nl_fail "seen != redirected + passed"

# Operator teardown.
nl_exec bpftool net detach xdp dev "$NL_CAP" || nl_fail "detach"
nl_xdp_attached && nl_fail "still attached"
rm -rf "$PIN"
echo "PASS: pinned mode delivered $want frames; run-time port change honoured"
