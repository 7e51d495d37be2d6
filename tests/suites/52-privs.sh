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
nl_bg "$B/mailtap" -i "$NL_CAP" --user nobody ${PRIVS_SECCOMP---seccomp} --extract-dir "$NL_TMP/extract" \
	--stats-interval 0 -w "$NL_TMP/live.mp" 2>"$NL_TMP/live.err"
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
[ "$uid" = "$(id -u nobody)" ] && ok "runs as nobody" || bad "uid $uid"
# CAP_NET_ADMIN = 12, CAP_BPF = 39
[ "$((16#$capeff))" = "$(((1 << 12) | (1 << 39)))" ] && ok "CapEff = NET_ADMIN+BPF ($capeff)" || bad "CapEff $capeff"
[ "$((16#$capbnd))" = "$(((1 << 12) | (1 << 39)))" ] && ok "bounding set reduced ($capbnd)" || bad "CapBnd $capbnd"
[ "$seccomp" = 2 ] && ok "seccomp filter mode" || bad "Seccomp: $seccomp"
sleep 0.3
nl_replay tests/data/demo-smtp.pcap --pps 500
sleep 1
kill -TERM $pid
nl_wait_pid $pid 15 || bad "exit status $?"
cat "$NL_TMP/live.err"
nl_xdp_attached && bad "XDP program still attached after exit" || ok "XDP program detached at exit"
n=$("$B/mailtap-cat" -s smtp "$NL_TMP/live.mp" | wc -l)
[ "$n" -ge 1 ] && ok "live records as nobody ($n smtp)" || bad "no live smtp record: $(tail -5 "$NL_TMP/live.err")"
echo "privs: $fails failure(s)"
[ $fails -eq 0 ]
