#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Intel files reread by a live sensor (Zeek's Input::REREAD): mailtap -i with --intel-file
# naming the sender of the first session of zeek/traces/smtp.pcap (the one that closes:
# each replay is a new connection); the capture is replayed into the veth; the file is
# replaced by one naming its recipient instead (renamed over it, as feed updaters do); once
# mailtap says it reread the files, a second replay; then a file without #fields (the store
# in use is kept), the file fixed again, and SIGHUP (a rereading without a change), and a
# third replay. Checks: the sender matches as often as in one replay offline (replay 1
# only: the item gone from the file matches nothing), the recipient twice as often
# (replays 2 and 3), and the stats record counts 3 reloads and 1 error.
# The sensor runs as --user nobody under --seccomp, as deployed: the rereading thread works
# within both. --no-intel-reread: a changed file is not read.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools tcpreplay nsenter python3
nl_require_bpffs
PCAP=$(nl_corpus_file zeek/traces/smtp.pcap) || exit
nl_require_mailtap

nl_setup 1
A=gurpartap@patriots.in
B=raj_deol2002in@yahoo.co.in
intel() { # intel FILE INDICATOR
	printf '#fields\tindicator\tindicator_type\tmeta.source\n%s\tIntel::EMAIL\tsuite\n' "$2" >"$1"
}
# wait_log FILE PATTERN COUNT: until FILE has COUNT lines matching PATTERN (10 s at most)
wait_log() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c "$2" "$1")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# start the sensor; $pid
start() {
	rm -f "$NL_TMP/out.mp" # each run its own records (live, -w appends)
	nl_bg "$MT" -i "$NL_CAP" --stats-interval 3600 -w "$NL_TMP/out.mp" "$@" 2>"$NL_TMP/err"
	pid=$!
	local i
	for ((i = 0; i < 100; i++)); do nl_xdp_attached && break; sleep 0.1; done
	sleep 0.3
}
stop() {
	kill -TERM "$pid"
	nl_wait_pid "$pid" 30 || { cat "$NL_TMP/err"; nl_fail "mailtap did not end"; }
	"$CAT" -s intel "$NL_TMP/out.mp" >"$NL_TMP/intel.json"
}
# hits INDICATOR: intel records for it
hits() { grep -c "\"seen.indicator\":\"$1\"" "$NL_TMP/intel.json"; }
# replay, then wait until the connections have ended (tcp_close_delay, 5 s)
replay() {
	nl_replay "$PCAP" --pps 2000
	sleep 6.5
}

intel "$NL_TMP/intel.dat" "$A"
chmod 755 "$NL_TMP" # the files are reread as the --user
start --intel-file "$NL_TMP/intel.dat" --user nobody --seccomp
replay
intel "$NL_TMP/new.dat" "$B"
mv "$NL_TMP/new.dat" "$NL_TMP/intel.dat"
wait_log "$NL_TMP/err" 'intel: files reread' 1 || { cat "$NL_TMP/err"; nl_fail "the changed file was not reread"; }
replay
printf 'no header\n' >"$NL_TMP/new.dat"
mv "$NL_TMP/new.dat" "$NL_TMP/intel.dat"
wait_log "$NL_TMP/err" 'the intel store in use is kept' 1 || { cat "$NL_TMP/err"; nl_fail "no message for a file without #fields"; }
intel "$NL_TMP/intel.dat" "$B"
sleep 1.5 # its rereading: the second
wait_log "$NL_TMP/err" 'intel: files reread' 2 || { cat "$NL_TMP/err"; nl_fail "the fixed file was not reread"; }
kill -HUP "$pid"
wait_log "$NL_TMP/err" 'intel: files reread' 3 || { cat "$NL_TMP/err"; nl_fail "SIGHUP did not reread"; }
replay
stop
cat "$NL_TMP/err"
a=$(hits "$A") b=$(hits "$B")
st=$("$CAT" -s stats "$NL_TMP/out.mp" | tail -n 1)
rl=$(echo "$st" | grep -o '"intel_reloads":[0-9]*' | cut -d: -f2)
re=$(echo "$st" | grep -o '"intel_reload_errors":[0-9]*' | cut -d: -f2)
# offline: what one replay gives for each
off=$("$MT" -r "$PCAP" -w - --intel-file <(printf '#fields\tindicator\tindicator_type\tmeta.source\n%s\tIntel::EMAIL\ts\n%s\tIntel::EMAIL\ts\n' "$A" "$B") | "$CAT" -s intel -)
oa=$(echo "$off" | grep -c "\"seen.indicator\":\"$A\"")
ob=$(echo "$off" | grep -c "\"seen.indicator\":\"$B\"")
echo "live: $a records for $A, $b for $B; one replay offline: $oa, $ob; reloads $rl, errors $re"
[ "$oa" -gt 0 ] && [ "$ob" -gt 0 ] || nl_fail "offline: no matches ($oa, $ob)"
[ "$a" = "$oa" ] || nl_fail "$A matched after it left the file: $a records, want $oa"
[ "$b" = $((2 * ob)) ] || nl_fail "$B: $b records, want $((2 * ob)) (replays 2 and 3)"
[ "$rl" = 3 ] && [ "$re" = 1 ] || nl_fail "stats: intel_reloads '$rl' (want 3), intel_reload_errors '$re' (want 1)"

# --no-intel-reread: read once
intel "$NL_TMP/intel.dat" "$A"
start --intel-file "$NL_TMP/intel.dat" --no-intel-reread
intel "$NL_TMP/new.dat" "$B"
mv "$NL_TMP/new.dat" "$NL_TMP/intel.dat"
sleep 1.5
replay
stop
[ "$(hits "$A")" = "$oa" ] && [ "$(hits "$B")" = 0 ] && ! grep -q 'reread' "$NL_TMP/err" ||
	nl_fail "--no-intel-reread: $(hits "$A") for $A, $(hits "$B") for $B"
echo "PASS: the store follows the file (reread on change and on SIGHUP, kept on a bad file); --no-intel-reread reads once"
