#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Lifecycle and errors of live capture (mailtap's loader + AF_XDP source via xsk_dump):
# clear messages for a missing interface, no bpffs, a missing capability, zero-copy on a
# driver without it; a second capture on the same interface is refused; after kill -9 the
# program stays attached and the next run removes the stale attachment; --xdp-mode skb
# works; SIGTERM detaches and removes the lock.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools nsenter unshare setpriv
nl_require_bpffs
DUMP=$BUILD/tools/xsk_dump
[ -x "$DUMP" ] || nl_fail "$DUMP not built"
nl_setup 1

expect_err() { # expect_err PATTERN CMD...: CMD fails and stderr matches PATTERN
	local pat=$1 out
	shift
	out=$("$@" 2>&1 >/dev/null)
	local rc=$?
	echo "$out" | sed 's/^/    /'
	[ $rc -ne 0 ] || nl_fail "succeeded: $*"
	echo "$out" | grep -q -- "$pat" || nl_fail "message lacks '$pat': $*"
}

echo "- missing interface"
expect_err "interface nosuch0 not found" nl_exec "$DUMP" -i nosuch0 -w "$NL_TMP/x.pcap" --timeout 1

echo "- no bpffs (private mount namespace without it)"
expect_err "mount -t bpf bpf /sys/fs/bpf" unshare -m sh -c \
	"umount -l /sys/fs/bpf && exec nsenter --net=/run/netns/$NL_NS -- $DUMP -i $NL_CAP -w $NL_TMP/x.pcap --timeout 1"

echo "- missing capability"
expect_err "missing capability CAP_NET_ADMIN" nl_exec setpriv --inh-caps=-all --bounding-set=-net_admin \
	"$DUMP" -i "$NL_CAP" -w "$NL_TMP/x.pcap" --timeout 1
expect_err "missing capability CAP_NET_RAW" nl_exec setpriv --inh-caps=-all --bounding-set=-net_raw \
	"$DUMP" -i "$NL_CAP" -w "$NL_TMP/x.pcap" --timeout 1
nl_xdp_attached && nl_fail "a failed start left XDP attached"

echo "- zero-copy on veth"
expect_err "no zero-copy AF_XDP" nl_exec "$DUMP" -i "$NL_CAP" --bind zerocopy -w "$NL_TMP/x.pcap" --timeout 1
nl_xdp_attached && nl_fail "a failed start left XDP attached"

echo "- skb mode"
nl_exec "$DUMP" -i "$NL_CAP" --xdp-mode skb -w "$NL_TMP/x.pcap" --timeout 1 >"$NL_TMP/skb.stats" 2>&1 ||
	{ cat "$NL_TMP/skb.stats"; nl_fail "skb mode"; }
[ "$(nl_stat "$NL_TMP/skb.stats" xdp.mode)" = skb ] || nl_fail "mode $(nl_stat "$NL_TMP/skb.stats" xdp.mode)"

echo "- second instance refused"
nl_bg "$DUMP" -i "$NL_CAP" -w "$NL_TMP/a.pcap" --timeout 30 --ready "$NL_TMP/ready" >/dev/null 2>"$NL_TMP/a.err"
pid=$!
nl_wait_file "$NL_TMP/ready" 10 || { cat "$NL_TMP/a.err"; nl_fail "first instance did not start"; }
expect_err "another mailtap (pid $pid) captures on $NL_CAP" nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/b.pcap" --timeout 1
nl_xdp_attached || nl_fail "the refused instance detached the first one's program"

echo "- crash (kill -9) then restart"
kill -9 "$pid"
wait "$pid" 2>/dev/null
nl_xdp_attached || nl_fail "expected the program to stay attached after kill -9"
rm -f "$NL_TMP/ready"
nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/c.pcap" --timeout 1 >/dev/null 2>"$NL_TMP/c.err" ||
	{ cat "$NL_TMP/c.err"; nl_fail "restart after crash"; }
cat "$NL_TMP/c.err"
grep -q "removing stale mailtap_xdp" "$NL_TMP/c.err" || nl_fail "stale attachment not reported"
nl_xdp_attached && nl_fail "XDP left after the clean restart"

echo "- someone else's mailtap_xdp (bpftool) is not removed"
PIN=$(nl_pin_dir)
bpftool prog load "$BUILD/mailtap.bpf.o" "$PIN/prog" type xdp pinmaps "$PIN" || nl_fail "bpftool load"
nl_exec bpftool net attach xdp pinned "$PIN/prog" dev "$NL_CAP" || nl_fail "bpftool attach"
expect_err "use --pinned" nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/d.pcap" --timeout 1
nl_xdp_attached || nl_fail "operator's program was removed"
nl_exec bpftool net detach xdp dev "$NL_CAP"
rm -rf "$PIN"

echo "- pinned mode without pins"
expect_err "no pinned maps there" nl_exec "$DUMP" -i "$NL_CAP" --pinned /sys/fs/bpf/mailtap-none-$$ -w "$NL_TMP/e.pcap" --timeout 1
echo "PASS"
