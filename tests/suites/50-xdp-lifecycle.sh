#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Lifecycle and errors of live capture (mailtap's loader + AF_XDP source via xsk_dump):
# clear messages for a missing interface, no bpffs, a missing capability, zero-copy on a
# driver without it; a second capture on the same interface is refused; after kill -9 the
# program stays attached and the next run removes the stale attachment; --xdp-mode skb
# works; SIGTERM detaches and removes the lock. A run that locked the file an owner had just
# removed lets it go (the lock is the file at the path); more receive queues than mailtap
# takes and an MTU too large for native XDP are refused with what to do; an interface that
# goes away while mailtap captures ends it with exit status 2 and a message, and does not
# keep the next run from starting once it is back. A queue another AF_XDP socket holds is
# tried again for 2 s (the socket of a run just ended), then refused with the reason.
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
nl_pin_dir
PIN=$NL_PIN
bpftool prog load "$BUILD/mailtap.bpf.o" "$PIN/prog" type xdp pinmaps "$PIN" || nl_fail "bpftool load"
nl_exec bpftool net attach xdp pinned "$PIN/prog" dev "$NL_CAP" || nl_fail "bpftool attach"
expect_err "use --pinned" nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/d.pcap" --timeout 1
nl_xdp_attached || nl_fail "operator's program was removed"
nl_exec bpftool net detach xdp dev "$NL_CAP"
rm -rf "$PIN"

echo "- pinned mode without pins"
expect_err "no pinned maps there" nl_exec "$DUMP" -i "$NL_CAP" --pinned /sys/fs/bpf/mailtap-none-$$ -w "$NL_TMP/e.pcap" --timeout 1

echo "- a lock file removed under a waiting run is no lock: the file at the path is"
# B opens the lock file while A holds it; its flock (slowed down) comes after A stopped and
# removed the file and C created and locked a new one: B must not capture beside C.
if command -v cc >/dev/null 2>&1; then
	cat >"$NL_TMP/slowflock.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
int flock(int fd, int op) /* waits SLOWFLOCK seconds first */
{
	static int (*real)(int, int);
	const char *s = getenv("SLOWFLOCK");

	if (!real)
		real = (int (*)(int, int))dlsym(RTLD_NEXT, "flock");
	if (s)
		sleep((unsigned)atoi(s));
	return real(fd, op);
}
EOF
	cc -shared -fPIC -o "$NL_TMP/slowflock.so" "$NL_TMP/slowflock.c" -ldl || nl_fail "cc slowflock.so"
	nl_bg "$DUMP" -i "$NL_CAP" -w "$NL_TMP/ra.pcap" --timeout 30 --ready "$NL_TMP/ra.ready" >/dev/null 2>&1
	pa=$!
	nl_wait_file "$NL_TMP/ra.ready" 10 || nl_fail "A did not start"
	nl_bg env LD_PRELOAD="$NL_TMP/slowflock.so" SLOWFLOCK=3 "$DUMP" -i "$NL_CAP" \
		-w "$NL_TMP/rb.pcap" --timeout 30 --ready "$NL_TMP/rb.ready" >/dev/null 2>"$NL_TMP/rb.err"
	pb=$!
	sleep 0.5
	kill -TERM "$pa"
	nl_wait_pid "$pa" 10 || nl_fail "A did not stop"
	nl_bg "$DUMP" -i "$NL_CAP" -w "$NL_TMP/rc.pcap" --timeout 30 --ready "$NL_TMP/rc.ready" >/dev/null 2>"$NL_TMP/rc.err"
	pc=$!
	nl_wait_file "$NL_TMP/rc.ready" 10 || { cat "$NL_TMP/rc.err"; nl_fail "C did not start"; }
	nl_wait_pid "$pb" 20
	rc=$?
	sed 's/^/    B: /' "$NL_TMP/rb.err"
	[ "$rc" -ne 0 ] && [ ! -e "$NL_TMP/rb.ready" ] || nl_fail "B captures beside C"
	grep -q "another mailtap (pid $pc) captures on $NL_CAP" "$NL_TMP/rb.err" ||
		nl_fail "B did not find C's lock"
	kill -0 "$pc" 2>/dev/null && nl_xdp_attached || nl_fail "C lost its capture"
	kill -TERM "$pc"
	nl_wait_pid "$pc" 10 || nl_fail "C did not stop"
	nl_xdp_attached && nl_fail "XDP left after C"
else
	echo "  (skipped: no cc)"
fi

echo "- a queue another AF_XDP socket holds: tried again for 2 s, then refused with why"
# A socket of someone else (no program of its own: libxdp's INHIBIT_PROG_LOAD) holds queue 0
# for HOLD ms, then closes. Held 1.2 s the capture starts once it is free (without the EBUSY
# retry it would fail at once); held 6 s it fails after 2 s, with the reason, leaving nothing.
if command -v cc >/dev/null 2>&1; then
	cat >"$NL_TMP/xskhold.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/mman.h>
#include <xdp/xsk.h>
int main(int argc, char **argv) /* xskhold IFACE HOLD_MS READY_FILE */
{
	struct xsk_socket_config c = { .rx_size = 64, .tx_size = 64,
				       .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
				       .bind_flags = XDP_COPY };
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq, rx;
	struct xsk_umem *u;
	struct xsk_socket *x;
	size_t sz = 64 * 4096;
	long ms = argc > 2 ? atol(argv[2]) : 0;
	void *a = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int e;
	FILE *f;

	if (argc != 4 || a == MAP_FAILED)
		return 2;
	if ((e = xsk_umem__create(&u, a, sz, &fq, &cq, NULL)))
		return 1;
	/* a capture that has just ended may hold the queue a little longer */
	for (int i = 0; (e = xsk_socket__create(&x, argv[1], 0, u, &rx, NULL, &c)) == -16 && i < 50; i++)
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
	if (e) {
		fprintf(stderr, "xskhold: %d\n", e);
		return 1;
	}
	if (!(f = fopen(argv[3], "w")))
		return 1;
	fclose(f);
	nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000L }, NULL);
	xsk_socket__delete(x);
	xsk_umem__delete(u);
	return 0;
}
EOF
	cc -o "$NL_TMP/xskhold" "$NL_TMP/xskhold.c" -lxdp -lbpf || nl_fail "cc xskhold"
	for hold in 1200 6000; do
		rm -f "$NL_TMP/hold.ready"
		nl_bg "$NL_TMP/xskhold" "$NL_CAP" $hold "$NL_TMP/hold.ready" 2>"$NL_TMP/hold.err"
		ph=$!
		nl_wait_file "$NL_TMP/hold.ready" 10 || { cat "$NL_TMP/hold.err"; nl_fail "xskhold did not bind"; }
		t0=$(date +%s%N)
		nl_exec "$DUMP" -i "$NL_CAP" -w "$NL_TMP/h.pcap" --timeout 1 >/dev/null 2>"$NL_TMP/h.err"
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		sed 's/^/    /' "$NL_TMP/h.err"
		echo "    held $hold ms: exit $rc after $ms ms"
		if [ $hold = 1200 ]; then
			[ $rc -eq 0 ] || nl_fail "no capture once the queue was free"
		else
			[ $rc -ne 0 ] && grep -q "queue 0 of $NL_CAP is already bound by another AF_XDP socket (still after 2000 ms)" "$NL_TMP/h.err" ||
				nl_fail "a queue held 6 s: exit $rc, message"
			[ $ms -ge 1900 ] || nl_fail "refused after $ms ms, not after trying for 2 s"
			nl_xdp_attached && nl_fail "a refused start left XDP attached"
		fi
		nl_wait_pid "$ph" 10 || nl_fail "xskhold did not end"
	done
else
	echo "  (skipped: no cc)"
fi

echo "- more receive queues than mailtap takes: refused, with what to do"
ip -n "$NL_NS" link add mtmany numrxqueues 65 numtxqueues 65 type veth peer name mtmany-p \
	numrxqueues 65 numtxqueues 65 || nl_fail "veth of 65 queues"
ip -n "$NL_NS" link set mtmany up
expect_err "mtmany has 65 receive queues, more than the 64 mailtap can capture on.*ethtool -L mtmany combined 64.*--queues N" \
	nl_exec "$DUMP" -i mtmany -w "$NL_TMP/m.pcap" --timeout 1
ip -n "$NL_NS" link show dev mtmany | grep -q prog/xdp && nl_fail "a refused start left XDP on mtmany"

echo "- an MTU too large for native XDP: the MTU and what to do"
nl_set_mtu 9000 || nl_fail "mtu 9000"
expect_err "MTU (9000) is too large for native XDP.*--xdp-mode skb" \
	nl_exec "$DUMP" -i "$NL_CAP" --xdp-mode native -w "$NL_TMP/j.pcap" --timeout 1
nl_xdp_attached && nl_fail "a refused start left XDP attached"
nl_set_mtu 1500 || nl_fail "mtu 1500"

echo "- the interface goes away while mailtap captures: exit status 2, said"
MT=$BUILD/mailtap
[ -x "$MT" ] || nl_fail "$MT not built"
ino=$(stat -L -c %i "/run/netns/$NL_NS")
for args in "" "--capture-threads 2"; do
	ip -n "$NL_NS" link add mtgone numrxqueues 2 numtxqueues 2 type veth peer name mtgone-p \
		numrxqueues 2 numtxqueues 2 || nl_fail "veth mtgone"
	ip -n "$NL_NS" link set mtgone up
	# shellcheck disable=SC2086
	nl_bg "$MT" -i mtgone $args -w "$NL_TMP/gone.mp" 2>"$NL_TMP/gone.err"
	nl_iface_gone $! "$NL_TMP/gone.err" mtgone "mailtap $args"
	# The lock keeps the program id (the interface may come back with it, 50-xdp-restart):
	# the next run on mtgone starts all the same.
	echo "    lock: $(cat "/run/mailtap/$ino-mtgone.lock" 2>/dev/null)"
done
ip -n "$NL_NS" link add mtgone type veth peer name mtgone-p || nl_fail "veth mtgone"
ip -n "$NL_NS" link set mtgone up
nl_exec "$DUMP" -i mtgone -w "$NL_TMP/gone.pcap" --timeout 1 >/dev/null 2>"$NL_TMP/gone2.err" ||
	{ cat "$NL_TMP/gone2.err"; nl_fail "a run after the interface came back"; }
[ -e "/run/mailtap/$ino-mtgone.lock" ] && nl_fail "lock file left"
ip -n "$NL_NS" link del mtgone
echo "PASS"
