#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Least privilege: live capture with --user nobody --seccomp. After setup the process runs as
# nobody with exactly CAP_NET_ADMIN + CAP_BPF (to detach at exit), under the seccomp
# allow-list; records still come out (file and extraction into a directory nobody owns), and
# at SIGTERM the XDP program is detached. Offline: no capability at all.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
B=${BUILD:-build}
nl_require_root
nl_require_bpffs
nl_setup 1
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# offline: nothing kept
"$B/mailtap" -r tests/data/demo-smtp.pcap --user nobody --seccomp -w "$NL_TMP/off.mp" 2>"$NL_TMP/off.err"
grep -q "running as nobody with capabilities 0x0, seccomp on" "$NL_TMP/off.err" && ok "offline: nobody, no capabilities" || bad "offline: $(cat "$NL_TMP/off.err")"
[ "$("$B/mailtap-cat" -s smtp "$NL_TMP/off.mp" | wc -l)" -ge 1 ] && ok "offline records" || bad "offline records"

mkdir -p "$NL_TMP/extract" && chown nobody "$NL_TMP/extract"
chmod 0755 "$NL_TMP"
# live RUN-ARGS...: the live checks, with mailtap's extra arguments
live() {
	local what=${*:-one thread} pid uid capeff capbnd seccomp n i
	rm -f "$NL_TMP/live.mp" "$NL_TMP/live.err"
	nl_bg "$B/mailtap" -i "$NL_CAP" --user nobody ${PRIVS_SECCOMP---seccomp} --extract-dir "$NL_TMP/extract" \
		--stats-interval 0 -w "$NL_TMP/live.mp" "$@" 2>"$NL_TMP/live.err"
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "capturing on" "$NL_TMP/live.err" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	grep -q "capturing on" "$NL_TMP/live.err" || { cat "$NL_TMP/live.err"; nl_fail "mailtap did not start"; }
	uid=$(awk '/^Uid:/ {print $3}' /proc/$pid/status)
	capeff=$(awk '/^CapEff:/ {print $2}' /proc/$pid/status)
	capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/$pid/status)
	seccomp=$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status)
	[ "$uid" = "$(id -u nobody)" ] && ok "$what: runs as nobody" || bad "$what: uid $uid"
	# CAP_NET_ADMIN = 12, CAP_BPF = 39
	[ "$((16#$capeff))" = "$(((1 << 12) | (1 << 39)))" ] && ok "$what: CapEff = NET_ADMIN+BPF ($capeff)" || bad "$what: CapEff $capeff"
	[ "$((16#$capbnd))" = "$(((1 << 12) | (1 << 39)))" ] && ok "$what: bounding set reduced ($capbnd)" || bad "$what: CapBnd $capbnd"
	[ "$seccomp" = 2 ] && ok "$what: seccomp filter mode" || bad "$what: Seccomp: $seccomp"
	# every other thread (workers, capture threads): the same user, the filter and
	# no_new_privs, no capability (the uid change cleared them)
	local t tn=0 tbad=0
	for t in /proc/$pid/task/*; do
		[ "${t##*/}" = "$pid" ] && continue
		tn=$((tn + 1))
		[ "$(awk '/^Uid:/ {print $3}' "$t/status")" = "$(id -u nobody)" ] &&
			[ "$(awk '/^Seccomp:/ {print $2}' "$t/status")" = 2 ] &&
			[ "$(awk '/^NoNewPrivs:/ {print $2}' "$t/status")" = 1 ] &&
			[ "$((16#$(awk '/^CapEff:/ {print $2}' "$t/status")))" = 0 ] || {
			tbad=$((tbad + 1))
			grep -E '^(Name|Uid|CapEff|NoNewPrivs|Seccomp):' "$t/status" | tr '\n' ' '
			echo
		}
	done
	[ $tbad -eq 0 ] && ok "$what: $tn other threads: nobody, seccomp, no_new_privs, no capability" ||
		bad "$what: $tbad of $tn other threads not confined"
	sleep 0.3
	nl_replay tests/data/demo-smtp.pcap --pps 500
	sleep 1
	kill -TERM $pid
	nl_wait_pid $pid 15 || bad "$what: exit status $?"
	cat "$NL_TMP/live.err"
	nl_xdp_attached && bad "$what: XDP program still attached after exit" || ok "$what: XDP program detached at exit"
	n=$("$B/mailtap-cat" -s smtp "$NL_TMP/live.mp" | wc -l)
	[ "$n" -ge 1 ] && ok "$what: live records as nobody ($n smtp)" || bad "$what: no live smtp record: $(tail -5 "$NL_TMP/live.err")"
}
live
# capture and worker threads under the same seccomp filter and capabilities
live --capture-threads 2 --workers 2
grep -q "1 capture threads, 2 workers" "$NL_TMP/live.err" && ok "capture thread and workers started" ||
	bad "no capture thread: $(tail -3 "$NL_TMP/live.err")"
echo "privs: $fails failure(s)"
[ $fails -eq 0 ]
