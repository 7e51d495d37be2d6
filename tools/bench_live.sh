#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live capture rate (make bench, root): a synthetic SMTP capture (build/tools/gen_smtp_pcap,
# every frame on port 25) is replayed with tcpreplay into a veth at increasing rates, once
# with `mailtap -i` (XDP + AF_XDP, full analysis, records to a file) and once with an
# AF_PACKET capture (`tcpdump -w /dev/null`) on the same veth. For each rate: frames lost by
# mailtap (sent - delivered: a frame the kernel dropped was not delivered) and dropped by tcpdump ("dropped by
# kernel"). Then the same with `mailtap -i --capture host` (host mode: the XDP ingress hook
# copies each mail frame into a BPF ring buffer; frames lost = sent - delivered). Prints the
# highest rate each one keeps up with.
#   BENCH_LIVE_RATES  packets/s to try, 0 = --topspeed (default "20000 50000 100000 200000 0")
#   BENCH_LIVE_HOST   0: no host-mode rows (default 1)
#   BENCH_LIVE_SESSIONS  SMTP sessions in the replayed capture (default 400)
#   BENCH_LIVE_ARGS  more mailtap options (e.g. "--rx-nap 0")
set -u
cd "$(dirname "$0")/.."
source tools/netns-lib.sh
B=${BUILD:-build}
[ "$(id -u)" -eq 0 ] || { echo "bench_live: needs root; skipped"; exit 0; }
for t in tcpreplay tcpdump nsenter; do
	command -v $t >/dev/null || { echo "bench_live: needs $t; skipped"; exit 0; }
done
for f in "$B/mailtap" "$B/tools/gen_smtp_pcap"; do
	[ -x "$f" ] || { echo "bench_live: $f not built; skipped"; exit 0; }
done
"$B/mailtap" --help 2>&1 | grep -q -- '--xdp-mode' || { echo "bench_live: mailtap has no -i; skipped"; exit 0; }
nl_require_bpffs
nl_setup 1
RATES=${BENCH_LIVE_RATES:-"20000 50000 100000 200000 0"}
"$B/tools/gen_smtp_pcap" -o "$NL_TMP/live.pcap" -n "${BENCH_LIVE_SESSIONS:-400}" -c 32 -a 20000 --seed 7 \
	>/dev/null 2>&1 || { echo "bench_live: gen_smtp_pcap failed"; exit 1; }
N=$(tcpdump -r "$NL_TMP/live.pcap" 2>/dev/null | wc -l)
echo "bench_live: $N frames ($(($(stat -c %s "$NL_TMP/live.pcap") / 1000)) kB), $(nproc) cores, veth, XDP native, AF_XDP copy mode"

replay() { # replay RATE: prints achieved packets/s
	local opt="--pps=$1"
	[ "$1" = 0 ] && opt="--topspeed"
	nl_exec tcpreplay -i "$NL_INJ" "$opt" "$NL_TMP/live.pcap" >"$NL_TMP/tr.log" 2>&1
	sed -n 's/.*Rated: .* \([0-9.]*\) pps.*/\1/p' "$NL_TMP/tr.log" | head -n 1 | cut -d. -f1
}

run_sensor() { # run_sensor ERRFILE RATE MAILTAP-ARGS...: mailtap -i runs while the capture is
	# replayed at RATE; prints the achieved packets/s; --stats go to ERRFILE
	local err=$1 rate=$2 i pid pps
	shift 2
	rm -f "$err"
	# shellcheck disable=SC2086 # the options, word-split
	nl_bg "$B/mailtap" -i "$NL_CAP" "$@" --stats ${BENCH_LIVE_ARGS:-} 2>"$err"
	pid=$!
	for ((i = 0; i < 100; i++)); do nl_xdp_attached && break; sleep 0.1; done
	sleep 0.5
	pps=$(replay "$rate")
	sleep 1
	kill -TERM "$pid"
	nl_wait_pid "$pid" 30 >/dev/null
	echo "${pps:-?}"
}

# Frames lost: those of the capture never delivered to mailtap (a frame the kernel dropped,
# rx_dropped or ring full, is one of them).
run_mailtap() { # prints: achieved lost
	local pps d
	pps=$(run_sensor "$NL_TMP/mt.err" "$1" -w "$NL_TMP/rec.msgpack")
	d=$(grep 'af_xdp' "$NL_TMP/mt.err" | tail -n 1 | sed -n 's/.*delivered \([0-9]*\).*/\1/p')
	echo "$pps $((N - ${d:-0}))"
}

run_host() { # prints: achieved lost
	local pps d
	pps=$(run_sensor "$NL_TMP/mh.err" "$1" --capture host -w "$NL_TMP/rech.msgpack")
	d=$(sed -n 's/.*host capture delivered \([0-9]*\).*/\1/p' "$NL_TMP/mh.err" | tail -n 1)
	echo "$pps $((N - ${d:-0}))"
}

run_tcpdump() { # prints: achieved dropped
	nl_bg tcpdump -i "$NL_CAP" -w /dev/null 2>"$NL_TMP/td.err"
	local pid=$!
	sleep 1
	local pps
	pps=$(replay "$1")
	sleep 1
	kill -INT "$pid"
	nl_wait_pid "$pid" 10 >/dev/null
	local c dr
	c=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$NL_TMP/td.err")
	dr=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$NL_TMP/td.err")
	echo "${pps:-?} $((N - ${c:-0} + ${dr:-0}))"
}

printf '%-12s %14s %12s %14s %12s\n' "target pps" "mailtap pps" "mailtap lost" "tcpdump pps" "tcpdump lost"
best_mt=0 best_td=0
for r in $RATES; do
	read -r mp ml < <(run_mailtap "$r")
	read -r tp tl < <(run_tcpdump "$r")
	printf '%-12s %14s %12s %14s %12s\n' "$([ "$r" = 0 ] && echo topspeed || echo "$r")" "$mp" "$ml" "$tp" "$tl"
	[ "$ml" = 0 ] && [ "$mp" != "?" ] && [ "$mp" -gt "$best_mt" ] && best_mt=$mp
	[ "$tl" = 0 ] && [ "$tp" != "?" ] && [ "$tp" -gt "$best_td" ] && best_td=$tp
done
echo "highest lossless rate: mailtap -i ${best_mt} pps, tcpdump (AF_PACKET) ${best_td} pps"
[ "${BENCH_LIVE_HOST:-1}" = 0 ] && exit 0
printf '%-12s %14s %12s\n' "target pps" "host pps" "host lost"
best_h=0
for r in $RATES; do
	read -r hp hl < <(run_host "$r")
	printf '%-12s %14s %12s\n' "$([ "$r" = 0 ] && echo topspeed || echo "$r")" "$hp" "$hl"
	[ "$hl" = 0 ] && [ "$hp" != "?" ] && [ "$hp" -gt "$best_h" ] && best_h=$hp
done
echo "highest lossless rate: mailtap -i --capture host ${best_h} pps"
