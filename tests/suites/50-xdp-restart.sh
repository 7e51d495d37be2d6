#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Restarts after a run left its XDP program attached: the next run removes exactly that
# program (the id in the lock file) and captures.
# - kill -9, then a restart with the systemd unit's capabilities (no CAP_SYS_ADMIN: libxdp
#   cannot read the attached program back by id; netlink tells its id);
# - the interface moved to another namespace and back (the run that saw it go leaves the
#   program's id in the lock);
# - kill -9, then a start that fails before it removed the program (--pinned on a missing
#   dir), then a normal run: the failed start keeps the crashed run's id in the lock.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools setpriv
nl_require_bpffs
DUMP=$BUILD/tools/xsk_dump
MT=$BUILD/mailtap
[ -x "$DUMP" ] || nl_fail "$DUMP not built"
[ -x "$MT" ] || nl_fail "$MT not built"
nl_setup 1
ino=$(stat -L -c %i "/run/netns/$NL_NS")
LOCK=/run/mailtap/$ino-$NL_CAP.lock
# deploy/systemd/mailtap.service's AmbientCapabilities, and nothing more.
UNIT_CAPS=(setpriv --bounding-set=-all,+bpf,+perfmon,+net_admin,+net_raw,+ipc_lock)

# crash CMD...: starts CMD (a capture on $NL_CAP) in the namespace, kill -9 once it captures.
crash() {
	rm -f "$NL_TMP/ready"
	nl_bg "$@" -i "$NL_CAP" -w "$NL_TMP/a.pcap" --timeout 30 --ready "$NL_TMP/ready" \
		>/dev/null 2>"$NL_TMP/a.err"
	local pid=$!
	nl_wait_file "$NL_TMP/ready" 10 || { cat "$NL_TMP/a.err"; nl_fail "$* did not start"; }
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	nl_xdp_attached || nl_fail "expected the program to stay attached after kill -9"
	echo "    lock after kill -9: $(cat "$LOCK")"
}

# restart WHAT CMD...: CMD must capture on $NL_CAP, report the stale program, and leave
# neither XDP nor the lock file behind.
restart() {
	local what=$1
	shift
	"$@" >/dev/null 2>"$NL_TMP/r.err"
	local rc=$?
	sed 's/^/    /' "$NL_TMP/r.err"
	[ $rc -eq 0 ] || nl_fail "$what: restart failed (exit status $rc)"
	grep -q "removing stale mailtap_xdp" "$NL_TMP/r.err" || nl_fail "$what: stale program not reported"
	nl_xdp_attached && nl_fail "$what: XDP left after the restart"
	[ -e "$LOCK" ] && nl_fail "$what: lock file left after the restart"
	return 0
}

# CHECKS="caps failed move" (default: all) runs some of them.
want() { [[ " ${CHECKS:-caps failed move} " == *" $1 "* ]]; }

if want caps; then
echo "- kill -9, restart with the unit's capabilities (no CAP_SYS_ADMIN)"
nl_exec "${UNIT_CAPS[@]}" grep CapEff /proc/self/status | sed "s/^/    /"
crash "${UNIT_CAPS[@]}" "$DUMP"
restart "unit capabilities" nl_exec "${UNIT_CAPS[@]}" "$DUMP" -i "$NL_CAP" -w "$NL_TMP/b.pcap" -v --timeout 1

fi

if want failed; then
echo "- a failed start after kill -9 keeps the crashed run's program id"
crash "$DUMP"
old=$(cat "$LOCK")
nl_exec "$DUMP" -i "$NL_CAP" --pinned /sys/fs/bpf/mailtap-none-$$ -w "$NL_TMP/c.pcap" --timeout 1 \
	>/dev/null 2>&1 && nl_fail "--pinned on a missing dir succeeded"
echo "    lock after the failed start: $(cat "$LOCK" 2>/dev/null)"
[ "$(awk '{print $2}' "$LOCK" 2>/dev/null)" = "$(echo "$old" | awk '{print $2}')" ] ||
	nl_fail "the failed start lost the program id (lock '$(cat "$LOCK" 2>/dev/null)', was '$old')"
restart "after a failed start" nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/d.pcap" --timeout 1

fi

if want move; then
echo "- the interface moves to another namespace and back"
OTHER=${NL_NS}-o
nl_add_ns "$OTHER"
ip -n "$NL_NS" link add mtmove type veth peer name mtmove-p || nl_fail "veth mtmove"
ip -n "$NL_NS" link set mtmove up
ip -n "$NL_NS" link set mtmove-p up
nl_bg "$MT" -i mtmove -w "$NL_TMP/move.mp" 2>"$NL_TMP/move.err"
pid=$!
for ((i = 0; i < 100; i++)); do grep -q "capturing on" "$NL_TMP/move.err" && break; sleep 0.1; done
grep -q "capturing on" "$NL_TMP/move.err" || { cat "$NL_TMP/move.err"; nl_fail "mailtap did not start"; }
ip -n "$NL_NS" link set mtmove netns "$OTHER" || nl_fail "move to $OTHER"
nl_wait_pid "$pid" 5
rc=$?
sed 's/^/    /' "$NL_TMP/move.err"
[ $rc -eq 2 ] || nl_fail "exit status $rc after the interface went away, want 2"
ip -n "$OTHER" link set mtmove netns "$NL_NS" || nl_fail "move back"
ip -n "$NL_NS" link set mtmove up
ip -n "$NL_NS" link show dev mtmove | grep -q prog/xdp || echo "    (the program did not stay attached)"
echo "    lock: $(cat "/run/mailtap/$ino-mtmove.lock" 2>/dev/null)"
nl_exec "$DUMP" -i mtmove -w "$NL_TMP/e.pcap" --timeout 1 >/dev/null 2>"$NL_TMP/e.err"
rc=$?
sed 's/^/    /' "$NL_TMP/e.err"
[ $rc -eq 0 ] || nl_fail "restart after the interface came back failed (exit status $rc)"
ip -n "$NL_NS" link show dev mtmove | grep -q prog/xdp && nl_fail "XDP left on mtmove"
[ -e "/run/mailtap/$ino-mtmove.lock" ] && nl_fail "lock file left for mtmove"
fi
echo "PASS"
