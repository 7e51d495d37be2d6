#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make demo: live capture on a veth pair in a network namespace. Starts
# `mailtap -i mtcap -w -` (XDP filter + AF_XDP) piped to mailtap-cat, replays the bundled
# SMTP capture tests/data/demo-smtp.pcap (one mail + HTTP/DNS/ARP noise the XDP filter
# passes) into the other end with tcpreplay, stops mailtap (SIGTERM: flush, detach) and
# prints the records as JSON lines plus the XDP counters. Cleans up after itself, also on
# failure or Ctrl-C. Needs root.
# If this mailtap has no live capture yet, the demo falls back to the same path in two
# steps: build/tools/xsk_dump (mailtap's XDP + AF_XDP source) writes a pcap, then
# `mailtap -r` reads it.
set -u
cd "$(dirname "$0")/.."
source tools/netns-lib.sh
BUILD=${BUILD:-build}
PCAP=tests/data/demo-smtp.pcap
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespace, XDP, AF_XDP)"; exit 1; }
for t in tcpreplay nsenter; do
	command -v $t >/dev/null || { echo "demo: needs $t (tools/install-deps.sh)"; exit 1; }
done
for f in "$BUILD/mailtap" "$BUILD/mailtap-cat" "$BUILD/tools/xsk_dump" "$PCAP"; do
	[ -e "$f" ] || { echo "demo: $f missing (make BUILD=$BUILD)"; exit 1; }
done
nl_require_bpffs
nl_setup 1
echo "demo: namespace $NL_NS, veth $NL_CAP (capture, XDP) <-> $NL_INJ (tcpreplay)"

live=1
if ! "$BUILD/mailtap" --help 2>&1 | grep -q -- '--xdp-mode'; then
	live=0
fi

if [ $live = 1 ]; then
	mkfifo "$NL_TMP/records"
	"$BUILD/mailtap-cat" <"$NL_TMP/records" >"$NL_TMP/records.json" &
	cat_pid=$!
	nl_bg "$BUILD/mailtap" -i "$NL_CAP" --stats -w - >"$NL_TMP/records" 2>"$NL_TMP/mailtap.err"
	mt_pid=$!
	for ((i = 0; i < 100; i++)); do
		nl_xdp_attached && break
		kill -0 "$mt_pid" 2>/dev/null || break
		sleep 0.1
	done
	nl_xdp_attached || { cat "$NL_TMP/mailtap.err"; echo "demo: mailtap did not start"; exit 1; }
	sleep 0.5 # sockets are bound right after the attach
	ip -n "$NL_NS" link show "$NL_CAP" | sed -n 's/^ *prog\/xdp/demo: XDP program:/p'
	echo "demo: replaying $PCAP into $NL_INJ"
	nl_replay "$PCAP" --pps 500
	sleep 1
	kill -TERM "$mt_pid"
	nl_wait_pid "$mt_pid" 15 || echo "demo: mailtap exit status $?"
	nl_wait_pid "$cat_pid" 5 >/dev/null
	cat "$NL_TMP/mailtap.err"
else
	echo "demo: this mailtap has no live capture (-i) yet: capturing with build/tools/xsk_dump, then mailtap -r"
	nl_bg "$BUILD/tools/xsk_dump" -i "$NL_CAP" -w "$NL_TMP/live.pcap" --timeout 60 \
		--ready "$NL_TMP/ready" >"$NL_TMP/xsk.stats" 2>"$NL_TMP/xsk.err"
	pid=$!
	nl_wait_file "$NL_TMP/ready" 10 || { cat "$NL_TMP/xsk.err"; echo "demo: capture did not start"; exit 1; }
	ip -n "$NL_NS" link show "$NL_CAP" | sed -n 's/^ *prog\/xdp/demo: XDP program:/p'
	echo "demo: replaying $PCAP into $NL_INJ"
	nl_replay "$PCAP" --pps 500
	sleep 1
	kill -TERM "$pid"
	nl_wait_pid "$pid" 10 || { cat "$NL_TMP/xsk.err"; echo "demo: capture failed"; exit 1; }
	cat "$NL_TMP/xsk.err"
	echo "demo: XDP / AF_XDP counters:"
	grep -E '^xdp\.(seen|matched|redirected|passed|other_port|non_tcp|non_ip)=|^xsk\.(delivered|rx_dropped)=' \
		"$NL_TMP/xsk.stats" | sed 's/^/  /'
	"$BUILD/mailtap" -r "$NL_TMP/live.pcap" -w - | "$BUILD/mailtap-cat" >"$NL_TMP/records.json"
fi
echo "demo: records:"
cat "$NL_TMP/records.json"
n=$(wc -l <"$NL_TMP/records.json")
echo "demo: $n records; cleaning up"
[ "$n" -gt 0 ]
