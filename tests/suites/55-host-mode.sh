#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Host mode (--capture host; user/hostcap.c + bpf/mailtap_host.bpf.c through
# build/tools/hostcap_dump): Postfix and the capture in one network namespace ("server"),
# swaks in another ("client"), joined by a veth pair.
# Two rounds, MTU 1500 and MTU 9000 (received frames > 4 KiB reach native XDP as
# multi-buffer frames: the program declares frags support and copies across fragments):
#  1. The mail is delivered into Postfix's mailbox: the sensor took nothing away.
#  2. Both directions are captured: per direction, the TCP payload bytes of the SMTP
#     session equal those a tcpdump in the server namespace saw; the counters add up
#     (matched = copied = delivered, nothing lost); mailtap -r gives the same smtp and conn
#     records from both captures (mirror-mode view = tcpdump's capture).
#  3. Cleanup: on SIGTERM the XDP program, the tc filter and the clsact qdisc it created go;
#     a clsact qdisc that was there before stays, and so does one it created where another
#     tool added a filter meanwhile; after kill -9 the XDP link is gone at once
#     and the next run replaces the stale tc filter and still removes the clsact. A lock file
#     a run could not remove (--user: /run/mailtap is root's) holds no value, and a value
#     without the filter of the run that wrote it (an older mailtap's file) makes no run
#     remove another tool's clsact qdisc and filter. An interface that goes away ends the
#     capture with exit status 2 and a message.
#  4. -f: mailtap --capture host applies the filter to the copied frames (kept or left out).
#  5. Capabilities: CAP_NET_ADMIN + CAP_BPF + CAP_PERFMON are enough, and a start without
#     one of them names it.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools nsenter tcpdump tshark swaks postfix postconf tc python3
nl_require_bpffs
DUMP=$BUILD/tools/hostcap_dump
MAILTAP=$BUILD/mailtap
CAT=$BUILD/mailtap-cat
[ -x "$DUMP" ] || nl_fail "$DUMP not built"
[ -x "$MAILTAP" ] && [ -x "$CAT" ] || nl_fail "$MAILTAP / $CAT not built"
bpftool feature probe kernel 2>/dev/null | grep -q "map_type ringbuf is available" ||
	nl_skip "kernel has no BPF ring buffer (5.8+)"
bpftool feature probe kernel 2>/dev/null | grep -q "program_type sched_cls is available" ||
	nl_skip "kernel has no BPF tc (sched_cls) programs"

nl_setup 1
CLI_NS="$NL_NS-c"
SRV=10.77.5.1
CLI=10.77.5.2
PF=""

host_cleanup() {
	local rc=$?
	[ -n "$PF" ] && nl_exec postfix -c "$PF/etc" stop >/dev/null 2>&1
	[ -n "$PF" ] && pkill -F "$PF/queue/pid/master.pid" 2>/dev/null
	ip netns del "$CLI_NS" 2>/dev/null
	(exit $rc)
	nl_cleanup
}
trap host_cleanup EXIT

# Server end mtcap stays in NL_NS; the client end moves to its own namespace.
ip netns add "$CLI_NS" || nl_fail "ip netns add $CLI_NS"
ip -n "$NL_NS" link set "$NL_INJ" netns "$CLI_NS" || nl_fail "move veth"
ip -n "$CLI_NS" link set lo up
ip -n "$CLI_NS" addr add "$CLI/24" dev "$NL_INJ"
ip -n "$CLI_NS" link set "$NL_INJ" up
ip -n "$NL_NS" addr add "$SRV/24" dev "$NL_CAP"
cli_exec() { nsenter --net="/run/netns/$CLI_NS" -- "$@"; }

tc_state() { # qdiscs and filters on the server end, one line each
	nl_exec tc qdisc show dev "$NL_CAP" | grep -c clsact
	nl_exec tc filter show dev "$NL_CAP" egress | grep -c mailtap_host_tc
}

# Postfix: a private instance (config, queue, data and mail spool in a temp dir), SMTP on
# the server address only, the test domain local, delivery to the spool as user nobody.
setup_postfix() {
	PF=$NL_TMP/pf
	mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$PF/spool"
	chmod 755 "$NL_TMP" "$PF"
	chmod 1777 "$PF/spool"
	chown postfix "$PF/data"
	cp /etc/postfix/master.cf "$PF/etc/"
	: >"$PF/etc/main.cf"
	postconf -c "$PF/etc" -e \
		"compatibility_level = 3.6" \
		"queue_directory = $PF/queue" \
		"data_directory = $PF/data" \
		"maillog_file_prefixes = $PF" "maillog_file = $PF/maillog" \
		"myhostname = mx.mailtap.test" \
		"mydomain = mailtap.test" \
		"myorigin = mailtap.test" \
		"mydestination = mailtap.test, mx.mailtap.test" \
		"inet_interfaces = $SRV" \
		"inet_protocols = ipv4" \
		"mynetworks = 10.77.5.0/24" \
		"mail_spool_directory = $PF/spool" \
		"alias_maps =" "alias_database =" \
		"local_recipient_maps =" \
		"relayhost =" "default_transport = error" "relay_transport = error" \
		"smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination" \
		"biff = no" "smtputf8_enable = no" || nl_fail "postconf"
	postconf -c "$PF/etc" -F '*/*/chroot = n' || nl_fail "postconf -F"
	nl_exec postfix -c "$PF/etc" start >"$NL_TMP/pf.start" 2>&1 ||
		{ cat "$NL_TMP/pf.start" "$PF/maillog" 2>/dev/null; nl_fail "postfix start"; }
	local i
	for ((i = 0; i < 100; i++)); do
		nl_exec bash -c "exec 3<>/dev/tcp/$SRV/25" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$PF/maillog" 2>/dev/null
	nl_fail "Postfix does not listen on $SRV:25"
}

# Per-direction TCP payload of the SMTP session in a pcap: tshark's follow, as hex.
dialogue() {
	tshark -r "$1" -q -z follow,tcp,raw,0 2>/dev/null | python3 -c '
import sys
c, s = [], []
body = False
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("Node 1:"):
        body = True
        continue
    if not body or line.startswith("====") or not line.strip():
        continue
    (s if line.startswith("\t") else c).append(line.strip())
print("client:" + "".join(c))
print("server:" + "".join(s))'
}

# records PCAP: smtp and conn fields that do not depend on capture timing. The order of
# the two FINs in history ("fF" or "Ff") is normalised: when swaks and Postfix close at
# the same moment, XDP (before GRO) and tcpdump's tap (after GRO) may order them apart.
records() {
	"$MAILTAP" -r "$1" --seed 7 -w - | "$CAT" -s smtp -c uid id.orig_h id.resp_h id.resp_p \
		trans_depth helo mailfrom rcptto from to subject msg_id last_reply path is_webmail
	"$MAILTAP" -r "$1" --seed 7 -w - | "$CAT" -s conn -c uid id.orig_h id.resp_h id.resp_p \
		conn_state history orig_bytes resp_bytes orig_pkts resp_pkts missed_bytes service |
		sed -E 's/\t([A-Za-z]*)Ff\t/\t\1fF\t/'
}

# mail_round NAME LINES: capture (hostcap_dump + tcpdump) while swaks sends a mail of LINES
# body lines; every check of a round. Files in $NL_TMP/NAME/.
mail_round() {
	local D=$NL_TMP/$1
	mkdir -p "$D"
	echo "- capture while swaks sends a mail"
	nl_bg tcpdump -i "$NL_CAP" -U -s 0 -w "$D/tcpdump.pcap" tcp port 25 2>"$D/tcpdump.err"
	local TD=${NL_PIDS[-1]} HC MARK i
	nl_bg "$DUMP" -i "$NL_CAP" -w "$D/host.pcap" --timeout 60 --ready "$D/ready" \
		>"$D/host.stats" 2>"$D/host.err"
	HC=${NL_PIDS[-1]}
	nl_wait_file "$D/ready" 10 || { cat "$D/host.err"; nl_fail "hostcap_dump did not start"; }
	cat "$D/host.err"
	[ "$(tc_state | tr '\n' ' ')" = "1 1 " ] || nl_fail "expected a clsact qdisc and our egress filter: $(tc_state)"
	nl_xdp_attached || nl_fail "no XDP program on $NL_CAP"
	sleep 1 # tcpdump's socket
	MARK="mailtap-host-mode-$1-$$-$RANDOM"
	for i in $(seq 1 "$2"); do echo "line $i of the body of $MARK, long enough to need several segments"; done >"$D/body.txt"
	cli_exec timeout 30 swaks --server "$SRV" --helo client.mailtap.test --from sender@client.test \
		--to nobody@mailtap.test --header "Subject: $MARK" --body "@$D/body.txt" >"$D/swaks.log" 2>&1 ||
		{ cat "$D/swaks.log"; nl_fail "swaks"; }
	grep -E '^ *<- *250 .*queued as' "$D/swaks.log" || { cat "$D/swaks.log"; nl_fail "not queued"; }
	sleep 1
	kill "$HC"
	nl_wait_pid "$HC" 10 || nl_fail "hostcap_dump did not stop on SIGTERM"
	kill "$TD"
	nl_wait_pid "$TD" 10
	cat "$D/host.stats"

	echo "- the mail was delivered"
	for ((i = 0; i < 100; i++)); do
		grep -q "$MARK" "$PF/spool/nobody" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "^Subject: $MARK" "$PF/spool/nobody" 2>/dev/null ||
		{ tail -n 20 "$PF/maillog"; nl_fail "mail not in the mailbox $PF/spool/nobody"; }
	[ "$(grep -c "of the body of $MARK" "$PF/spool/nobody")" -eq "$2" ] || nl_fail "body incomplete in the mailbox"
	echo "  delivered to $PF/spool/nobody"

	echo "- cleanup on SIGTERM"
	[ "$(tc_state | tr '\n' ' ')" = "0 0 " ] || nl_fail "left behind: $(nl_exec tc qdisc show dev "$NL_CAP"; nl_exec tc filter show dev "$NL_CAP" egress)"
	nl_xdp_attached && nl_fail "XDP left on $NL_CAP"

	echo "- both directions, same payload bytes as tcpdump"
	st() { nl_stat "$D/host.stats" "$1"; }
	[ "$(st host.delivered_ingress)" -gt 0 ] && [ "$(st host.delivered_egress)" -gt 0 ] ||
		nl_fail "a direction is missing"
	[ "$(st bpf.matched)" = "$(st bpf.copied)" ] || nl_fail "matched != copied"
	[ "$(st bpf.copied)" = "$(st host.delivered)" ] || nl_fail "copied != delivered"
	for c in rb_full load_err truncated; do
		[ "$(st bpf.$c)" = 0 ] || nl_fail "bpf.$c = $(st bpf.$c)"
	done
	[ "$(st host.bad_records)" = 0 ] || nl_fail "bad records"
	dialogue "$D/tcpdump.pcap" >"$D/d.tcpdump"
	dialogue "$D/host.pcap" >"$D/d.host"
	[ "$(wc -c <"$D/d.tcpdump")" -gt 1000 ] || nl_fail "tcpdump saw no dialogue"
	cmp "$D/d.tcpdump" "$D/d.host" || nl_fail "SMTP dialogue differs from tcpdump's"
	echo "  client->server $(($(head -n 1 "$D/d.host" | wc -c) / 2 - 4)) bytes, server->client $(($(tail -n 1 "$D/d.host" | wc -c) / 2 - 4)) bytes, identical"
	echo "  frames: host $(tshark -r "$D/host.pcap" 2>/dev/null | wc -l), tcpdump $(tshark -r "$D/tcpdump.pcap" 2>/dev/null | wc -l)"

	echo "- timestamps: realtime, within 50 ms of tcpdump's"
	python3 - "$(tshark -r "$D/host.pcap" -T fields -e frame.time_epoch 2>/dev/null | head -n 1)" \
		"$(tshark -r "$D/tcpdump.pcap" -T fields -e frame.time_epoch 2>/dev/null | head -n 1)" <<'PY' ||
import sys
a, b = float(sys.argv[1]), float(sys.argv[2])
print(f"  first frame: host {a:.6f}, tcpdump {b:.6f}, difference {abs(a - b) * 1e3:.3f} ms")
sys.exit(0 if abs(a - b) < 0.05 else 1)
PY
		nl_fail "timestamps too far apart"

	echo "- mailtap records: host capture = tcpdump capture"
	records "$D/tcpdump.pcap" >"$D/r.tcpdump"
	records "$D/host.pcap" >"$D/r.host"
	cat "$D/r.host"
	grep -q "$MARK" "$D/r.host" || nl_fail "no smtp record with the subject"
	grep -qP '\tSF\t' "$D/r.host" || nl_fail "conn not SF"
	diff "$D/r.tcpdump" "$D/r.host" || nl_fail "records differ"
}

setup_postfix
echo "== MTU 1500"
mail_round mtu1500 200
echo "== MTU 9000: received frames > 4 KiB reach native XDP as multi-buffer (frags) frames"
ip -n "$NL_NS" link set dev "$NL_CAP" mtu 9000 || nl_fail "mtu"
ip -n "$CLI_NS" link set dev "$NL_INJ" mtu 9000 || nl_fail "mtu"
mail_round mtu9000 2000
big=$(tshark -r "$NL_TMP/mtu9000/host.pcap" -T fields -e frame.len 2>/dev/null | sort -n | tail -n 1)
echo "  largest captured frame: $big bytes"
[ "${big:-0}" -gt 4096 ] || nl_fail "no frame above 4096 bytes at MTU 9000"


# host_mail NAME FILTER: mailtap --capture host -i with -f FILTER while swaks sends a mail;
# its records in $NL_TMP/NAME.json, its stderr (with --stats) in $NL_TMP/NAME.err
host_mail() {
	nl_bg "$MAILTAP" --capture host -i "$NL_CAP" -f "$2" --stats -w "$NL_TMP/$1.mp" 2>"$NL_TMP/$1.err"
	local p=${NL_PIDS[-1]} i
	for ((i = 0; i < 100; i++)); do grep -q "capturing on" "$NL_TMP/$1.err" && break; sleep 0.1; done
	grep -q "capturing on" "$NL_TMP/$1.err" || { cat "$NL_TMP/$1.err"; nl_fail "mailtap -f '$2' did not start"; }
	cli_exec timeout 30 swaks --server "$SRV" --helo client.mailtap.test --from sender@client.test \
		--to nobody@mailtap.test --header "Subject: filter $1" >"$NL_TMP/$1.swaks" 2>&1 ||
		{ cat "$NL_TMP/$1.swaks"; nl_fail "swaks ($1)"; }
	sleep 1
	kill -TERM "$p"
	nl_wait_pid "$p" 10 || { cat "$NL_TMP/$1.err"; nl_fail "mailtap -f '$2'"; }
	"$CAT" "$NL_TMP/$1.mp" >"$NL_TMP/$1.json"
}
echo "- -f in host mode: the filter runs on the frames the programs copied"
ip -n "$NL_NS" link set dev "$NL_CAP" mtu 1500
ip -n "$CLI_NS" link set dev "$NL_INJ" mtu 1500
host_mail fkeep "tcp port 25 and host $CLI"
host_mail fdrop "tcp port 25 and not host $CLI"
grep -q '"_path":"smtp".*"subject":"filter fkeep"' "$NL_TMP/fkeep.json" ||
	{ cat "$NL_TMP/fkeep.err"; nl_fail "-f 'host $CLI': no smtp record"; }
kept_left=$(grep -o 'left out [0-9]* frames' "$NL_TMP/fkeep.err" | grep -o '[0-9]*')
drop_left=$(grep -o 'left out [0-9]* frames' "$NL_TMP/fdrop.err" | grep -o '[0-9]*')
[ "${kept_left:-x}" = 0 ] || nl_fail "-f 'host $CLI' left out '${kept_left:-no count}' frames"
[ "${drop_left:-0}" -gt 10 ] || nl_fail "-f 'not host $CLI' left out '${drop_left:-no count}' frames"
grep -q '"_path":"\(conn\|smtp\)"' "$NL_TMP/fdrop.json" &&
	nl_fail "-f 'not host $CLI' still wrote conn or smtp records"
echo "  host $CLI kept: the smtp record, nothing left out; not host $CLI: $drop_left frames left out, no record"
# The final stats record carries the host capture's counters, and Zeek's pkts_dropped and
# pkts_link from them (before, host-mode stats records had no drop counter at all).
grep '"_path":"stats"' "$NL_TMP/fkeep.json" | tail -n 1 >"$NL_TMP/fkeep.stats.json"
python3 - "$NL_TMP/fkeep.stats.json" <<'PYEOF' || { cat "$NL_TMP/fkeep.stats.json"; nl_fail "host-mode stats record"; }
import json, sys
r = json.loads(open(sys.argv[1]).read())
lost = r["host_rb_full"] + r["host_load_err"]
assert r["pkts_dropped_total"] == lost, "pkts_dropped_total is not rb_full + load_err"
assert r["pkts_link_total"] == r["host_seen"], "pkts_link_total is not host_seen"
assert r["host_matched"] == r["host_copied"] + lost, "matched != copied + lost"
assert r["host_seen"] == r["host_ingress"] + r["host_egress"], "seen != ingress + egress"
assert 0 < r["host_delivered"] <= r["host_copied"], "delivered"
assert "xsk_queues" not in r
print("  stats record: seen %d, copied %d, dropped %d, delivered %d" %
      (r["host_seen"], r["host_copied"], r["pkts_dropped_total"], r["host_delivered"]))
PYEOF

echo "- a clsact qdisc that was there before stays"
nl_exec tc qdisc add dev "$NL_CAP" clsact || nl_fail "tc qdisc add"
nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/b.pcap" --timeout 1 >"$NL_TMP/b.stats" 2>&1 ||
	{ cat "$NL_TMP/b.stats"; nl_fail "second run"; }
[ "$(nl_stat "$NL_TMP/b.stats" host.clsact_created)" = 0 ] || nl_fail "claims it created clsact"
[ "$(tc_state | tr '\n' ' ')" = "1 0 " ] || nl_fail "expected clsact kept, filter gone: $(tc_state)"
nl_exec tc qdisc del dev "$NL_CAP" clsact

echo "- a filter another tool adds while mailtap runs keeps the clsact qdisc mailtap created"
nl_bg "$DUMP" -i "$NL_CAP" -w "$NL_TMP/o.pcap" --timeout 3 --ready "$NL_TMP/ready-o" >"$NL_TMP/o.stats" 2>&1
po=${NL_PIDS[-1]}
nl_wait_file "$NL_TMP/ready-o" 10 || { cat "$NL_TMP/o.stats"; nl_fail "run o did not start"; }
nl_exec tc filter add dev "$NL_CAP" ingress pref 9 bpf obj "$BUILD/mailtap_host.bpf.o" sec tc da ||
	nl_fail "tc filter add (ingress)"
nl_wait_pid "$po" 10 || { cat "$NL_TMP/o.stats"; nl_fail "run o"; }
[ "$(nl_stat "$NL_TMP/o.stats" host.clsact_created)" = 1 ] || nl_fail "run o did not create the clsact"
q=$(nl_exec tc qdisc show dev "$NL_CAP" | grep -c clsact)
f=$(nl_exec tc filter show dev "$NL_CAP" ingress | grep -c 'pref 9 bpf.*handle')
e=$(nl_exec tc filter show dev "$NL_CAP" egress | grep -c 'bpf')
[ "$q $f $e" = "1 1 0" ] || nl_fail "expected the qdisc and the other ingress filter kept, ours gone: qdisc $q, theirs $f, egress $e"
nl_exec tc qdisc del dev "$NL_CAP" clsact

echo "- kill -9, then restart"
nl_bg "$DUMP" -i "$NL_CAP" -w "$NL_TMP/c.pcap" --timeout 30 --ready "$NL_TMP/ready2" >/dev/null 2>&1
pid=${NL_PIDS[-1]}
nl_wait_file "$NL_TMP/ready2" 10 || nl_fail "run 3 did not start"
out=$(nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/x.pcap" --timeout 1 2>&1) && nl_fail "a second instance started"
echo "$out" | grep -q "another mailtap (pid $pid) captures on $NL_CAP" || nl_fail "second instance: $out"
kill -9 "$pid"
wait "$pid" 2>/dev/null
sleep 0.5
nl_xdp_attached && nl_fail "XDP link survived kill -9"
[ "$(tc_state | tr '\n' ' ')" = "1 1 " ] || nl_fail "expected the stale filter after kill -9: $(tc_state)"
nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/d.pcap" --timeout 1 >"$NL_TMP/d.stats" 2>&1 ||
	{ cat "$NL_TMP/d.stats"; nl_fail "restart after kill -9"; }
[ "$(tc_state | tr '\n' ' ')" = "0 0 " ] || nl_fail "restart did not clean up: $(tc_state)"
echo "- after --user the lock file stays (root's directory), empty: the next run removes nothing"
ino=$(stat -L -c %i "/run/netns/$NL_NS")
lock=/run/mailtap/$ino-$NL_CAP.host.lock
nl_bg "$MAILTAP" --capture host -i "$NL_CAP" --user nobody -w "$NL_TMP/u.mp" 2>"$NL_TMP/u.err"
pu=${NL_PIDS[-1]}
for ((i = 0; i < 100; i++)); do grep -q "capturing on" "$NL_TMP/u.err" && break; sleep 0.1; done
grep -q "capturing on" "$NL_TMP/u.err" || { cat "$NL_TMP/u.err"; nl_fail "mailtap --user did not start"; }
kill -TERM "$pu"
nl_wait_pid "$pu" 10 || { cat "$NL_TMP/u.err"; nl_fail "mailtap --user"; }
[ -e "$lock" ] || nl_fail "expected the lock file to stay after --user"
[ -s "$lock" ] && nl_fail "the lock file holds '$(cat "$lock")' after a clean stop"
[ "$(tc_state | tr '\n' ' ')" = "0 0 " ] || nl_fail "--user run left: $(tc_state)"
other_tc() { # another tool's clsact qdisc and egress filter (pref 7)
	local q f
	q=$(nl_exec tc qdisc show dev "$NL_CAP" | grep -c clsact)
	f=$(nl_exec tc filter show dev "$NL_CAP" egress | grep -c 'pref 7 bpf.*handle')
	echo "$q $f"
}
nl_exec tc qdisc add dev "$NL_CAP" clsact || nl_fail "tc qdisc add"
nl_exec tc filter add dev "$NL_CAP" egress pref 7 bpf obj "$BUILD/mailtap_host.bpf.o" sec tc da ||
	nl_fail "another tool's filter"
[ "$(other_tc)" = "1 1" ] || nl_fail "another tool's filter: $(other_tc)"
nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/f.pcap" --timeout 1 >"$NL_TMP/f.stats" 2>&1 ||
	{ cat "$NL_TMP/f.stats"; nl_fail "run after --user"; }
[ "$(nl_stat "$NL_TMP/f.stats" host.clsact_created)" = 0 ] || nl_fail "claims it created clsact"
[ "$(other_tc)" = "1 1" ] || nl_fail "the other tool's clsact or filter is gone: $(other_tc)"
echo "- a value in the lock without its run's filter (an older mailtap's file) is not acted on"
printf '999999 1\n' >"$lock"
nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/g.pcap" --timeout 1 >"$NL_TMP/g.stats" 2>&1 ||
	{ cat "$NL_TMP/g.stats"; nl_fail "run on an old lock file"; }
[ "$(nl_stat "$NL_TMP/g.stats" host.clsact_created)" = 0 ] || nl_fail "took the old value"
[ "$(other_tc)" = "1 1" ] || nl_fail "the other tool's clsact or filter is gone: $(other_tc)"
nl_exec tc qdisc del dev "$NL_CAP" clsact
rm -f "$lock"

echo "- the interface goes away: exit status 2, said"
ip -n "$NL_NS" link add mtgone type veth peer name mtgone-p || nl_fail "veth mtgone"
ip -n "$NL_NS" link set mtgone up
nl_bg "$MAILTAP" --capture host -i mtgone -w "$NL_TMP/gone.mp" 2>"$NL_TMP/gone.err"
nl_iface_gone "${NL_PIDS[-1]}" "$NL_TMP/gone.err" mtgone "mailtap --capture host"
grep -q "detaching\|removing the clsact" "$NL_TMP/gone.err" && nl_fail "tried to detach from a gone interface"
[ -e "/run/mailtap/$ino-mtgone.host.lock" ] && nl_fail "lock file left"

echo "- capabilities: CAP_NET_ADMIN + CAP_BPF + CAP_PERFMON suffice; each is named when missing"
nl_exec setpriv --inh-caps=-all --bounding-set=-all,+net_admin,+bpf,+perfmon \
	"$DUMP" -i "$NL_CAP" -w "$NL_TMP/e.pcap" --timeout 1 >"$NL_TMP/e.stats" 2>&1 ||
	{ cat "$NL_TMP/e.stats"; nl_fail "with net_admin,bpf,perfmon only"; }
for c in net_admin bpf perfmon; do
	C=$(echo "$c" | tr a-z A-Z)
	out=$(nl_exec setpriv --inh-caps=-all --bounding-set=-all,+net_admin,+bpf,+perfmon,-$c \
		"$DUMP" -i "$NL_CAP" -w "$NL_TMP/e.pcap" --timeout 1 2>&1) && nl_fail "ran without $C"
	echo "$out" | grep -q "missing capability CAP_$C" || nl_fail "without $C: $out"
done
[ "$(tc_state | tr '\n' ' ')" = "0 0 " ] || nl_fail "capability runs left: $(tc_state)"
nl_xdp_attached && nl_fail "capability runs left XDP"
echo "PASS"
