#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The operator (bpftool) workflow end to end, as docs/capture.md shows it:
# bpftool loads $BUILD/mailtap.bpf.o and pins program + maps, bpftool attaches it, the port
# set is written with bpftool, then xsk_dump --pinned DIR (mailtap's AF_XDP source in
# pinned mode) receives the mail frames of a replay. Then the operator removes port 25 at
# run time with bpftool: the next replay reaches no socket. The pinned program stays
# attached after the capture exits (pinned mode does not detach); the test removes it.
# The VXLAN and Geneve ports (docs/capture.md): pinned as _data_tunports with Zeek's defaults;
# mailtap --pinned --vxlan-ports 4789,8472 writes them there and its records of VXLAN on
# 8472 equal mailtap -r's; the operator sets them with bpftool and mailtap without the options
# warns of the difference; a pin dir without _data_tunports (an older object) refuses other
# ports (exit 1) and takes the defaults.
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
nl_pin_dir
PIN=$NL_PIN
bpftool prog load "$OBJ" "$PIN/prog" type xdp pinmaps "$PIN" || nl_fail "bpftool prog load"
ls "$PIN"
for m in prog xsks_map mailtap_ports mailtap_stats _data_tunports; do
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

# The VXLAN and Geneve ports. tun_ports: the pinned lists as "4789,0,0,0 6081,0,0,0" (from
# the value's bytes: __u16 vxlan[4], geneve[4], host order).
MT=$BUILD/mailtap
tun_ports() {
	bpftool -j map dump pinned "$PIN/_data_tunports" | python3 -c '
import json, sys
b = bytes(int(x, 16) for x in json.load(sys.stdin)[0]["value"])
p = [int.from_bytes(b[i:i + 2], "little") for i in range(0, 16, 2)]
print(",".join(map(str, p[:4])), ",".join(map(str, p[4:])))'
}
# mailtap_pinned NAME [options]: mailtap -i --pinned for 2 s (or while $REPLAY is replayed);
# exit status in $NAME.rc, stderr in $NAME.err, records in $NAME.json
mailtap_pinned() {
	local name=$1 pid
	shift
	nl_bg "$MT" -i "$NL_CAP" --pinned "$PIN" --seed 1 "$@" -w "$NL_TMP/$name.mp" 2>"$NL_TMP/$name.err"
	pid=$!
	sleep 1.5
	if [ -n "${REPLAY:-}" ] && kill -0 "$pid" 2>/dev/null; then
		nl_replay "$REPLAY" --pps 2000
		sleep 1
	fi
	kill -TERM "$pid" 2>/dev/null
	nl_wait_pid "$pid" 10
	echo $? >"$NL_TMP/$name.rc"
	[ -s "$NL_TMP/$name.mp" ] && "$BUILD/mailtap-cat" <"$NL_TMP/$name.mp" >"$NL_TMP/$name.json"
	return 0
}
[ "$(tun_ports)" = "4789,0,0,0 6081,0,0,0" ] || nl_fail "pinned tunnel ports '$(tun_ports)', want the defaults"
nl_port_set "$PIN" 25 1 || nl_fail "port set 25"
# (--mss 1200: the frames with their VXLAN headers fit the veth's MTU of 1500)
"$BUILD/tools/gen_smtp_pcap" -o "$NL_TMP/vx8472.pcap" -n 6 -c 3 -a 3000 --seed 5 --mss 1200 \
	--mix plain=50,attach=50 --encap vxlan --encap-port 8472 >/dev/null 2>&1 || nl_fail "gen_smtp_pcap"
"$MT" -r "$NL_TMP/vx8472.pcap" --seed 1 --vxlan-ports 4789,8472 -w - 2>/dev/null |
	"$BUILD/mailtap-cat" -s smtp >"$NL_TMP/vx-off.json"
[ "$(wc -l <"$NL_TMP/vx-off.json")" = 6 ] || nl_fail "offline: $(wc -l <"$NL_TMP/vx-off.json") smtp records, not 6"
REPLAY=$NL_TMP/vx8472.pcap mailtap_pinned vx --vxlan-ports 4789,8472
[ "$(cat "$NL_TMP/vx.rc")" = 0 ] || { cat "$NL_TMP/vx.err"; nl_fail "mailtap --pinned --vxlan-ports: exit $(cat "$NL_TMP/vx.rc")"; }
[ "$(tun_ports)" = "4789,8472,0,0 6081,0,0,0" ] || nl_fail "mailtap did not write the tunnel ports: '$(tun_ports)'"
strip_ts() { python3 -c '
import json, sys
for l in sorted(l for l in open(sys.argv[1]) if "\"_path\":\"smtp\"" in l):
    r = json.loads(l)
    r.pop("ts", None)
    print(json.dumps(r, sort_keys=True))' "$1"; }
[ "$(strip_ts "$NL_TMP/vx-off.json")" = "$(strip_ts "$NL_TMP/vx.json")" ] ||
	nl_fail "VXLAN on 8472, pinned: live smtp records differ from offline ($(grep -c smtp "$NL_TMP/vx.json") live)"
echo "pinned, --vxlan-ports 4789,8472: written to _data_tunports, 6 smtp records as offline"
# the operator's change with bpftool (docs/capture.md): Geneve on 6082 too; mailtap without the
# options warns that the program follows other ports than it decodes
bpftool map update pinned "$PIN/_data_tunports" key 0 0 0 0 \
	value 0xb5 0x12 0x18 0x21 0 0 0 0 0xc1 0x17 0xc2 0x17 0 0 0 0 || nl_fail "bpftool map update"
[ "$(tun_ports)" = "4789,8472,0,0 6081,6082,0,0" ] || nl_fail "bpftool update: '$(tun_ports)'"
REPLAY= mailtap_pinned warn
grep -q "the pinned program follows VXLAN on 4789,8472 and Geneve on 6081,6082, mailtap decodes VXLAN on 4789 and Geneve on 6081" "$NL_TMP/warn.err" ||
	{ cat "$NL_TMP/warn.err"; nl_fail "no warning of the differing tunnel ports"; }
[ "$(tun_ports)" = "4789,8472,0,0 6081,6082,0,0" ] || nl_fail "mailtap without the options changed the pin: '$(tun_ports)'"
echo "pinned, the operator's tunnel ports differ: warned, left alone"
# an object older than the option: no _data_tunports pin
mv "$PIN/_data_tunports" "$NL_TMP/"
REPLAY= mailtap_pinned old --vxlan-ports 4789,8472
[ "$(cat "$NL_TMP/old.rc")" = 1 ] && grep -q "_data_tunports: no such pin" "$NL_TMP/old.err" ||
	{ cat "$NL_TMP/old.err"; nl_fail "older object, --vxlan-ports: exit $(cat "$NL_TMP/old.rc"), not refused"; }
REPLAY= mailtap_pinned old-def
[ "$(cat "$NL_TMP/old-def.rc")" = 0 ] || { cat "$NL_TMP/old-def.err"; nl_fail "older object, default ports: exit $(cat "$NL_TMP/old-def.rc")"; }
echo "pinned, no _data_tunports: other ports refused, the defaults taken"

# Operator teardown.
nl_exec bpftool net detach xdp dev "$NL_CAP" || nl_fail "detach"
nl_xdp_attached && nl_fail "still attached"
rm -rf "$PIN"
echo "PASS: pinned mode delivered $want frames; run-time port change honoured"
