# SPDX-License-Identifier: BSD-3-Clause
# Shared helpers for the network tests (tests/suites/50-xdp-*.sh) and tools/demo.sh:
# a network namespace with a veth pair, capture end NL_CAP ("mtcap") and injection end
# NL_INJ ("mtinj"), both inside the namespace. Commands run in it with nl_exec, which
# switches the network namespace only (nsenter --net), so /sys/fs/bpf stays the host's
# bpffs and pins made by a test are visible (and removable) from here.
# Source it, then: nl_require_root; nl_setup [QUEUES]; ...; cleanup is automatic (trap
# EXIT: background processes, namespace, pins, temp dir), also when the test fails.
# Every wait is bounded.

BUILD=${BUILD:-build}
NL_NS=""
NL_CAP=mtcap
NL_INJ=mtinj
NL_TMP=""
NL_PINS=()
NL_PIDS=()
NL_EXTRA_NS=()
NL_HOOKS=()
NL_CORPUS=${NL_CORPUS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/corpus}

nl_skip() {
	echo "SKIP: $*"
	exit 249
}

nl_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

nl_require_root() {
	[ "$(id -u)" -eq 0 ] || nl_skip "needs root (network namespaces, XDP, AF_XDP)"
}

nl_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || nl_skip "needs $t"
	done
}

# Mounts bpffs at /sys/fs/bpf if it is not there (libxdp and pinning need it).
nl_require_bpffs() {
	if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
		mount -t bpf bpf /sys/fs/bpf || nl_skip "cannot mount bpffs at /sys/fs/bpf"
	fi
}

# nl_require_mailtap: MT and CAT set to the built mailtap and mailtap-cat (fails when they
# are not built; skips when this mailtap has no live capture).
nl_require_mailtap() {
	MT=$BUILD/mailtap
	CAT=$BUILD/mailtap-cat
	[ -x "$MT" ] && [ -x "$CAT" ] || nl_fail "$MT / $CAT not built"
	"$MT" --help 2>&1 | grep -q -- '--xdp-mode' || nl_skip "this mailtap has no live capture (-i)"
}

# PCAP=$(nl_corpus_file PATH) || exit: $NL_CORPUS/PATH, or exit 249 (skip, said on stderr)
# when the corpus does not have it.
nl_corpus_file() {
	[ -r "$NL_CORPUS/$1" ] || { echo "SKIP: corpus not found: $NL_CORPUS/$1" >&2; exit 249; }
	echo "$NL_CORPUS/$1"
}

nl_exec() {
	nsenter --net="/run/netns/$NL_NS" -- "$@"
}

# nl_setup [QUEUES]: namespace + veth pair with QUEUES rx/tx queues each (default 1).
nl_setup() {
	local q=${1:-1}
	NL_NS="mt-$(basename "${0%.sh}")-$$"
	NL_NS=${NL_NS:0:40}
	NL_TMP=$(mktemp -d /tmp/mailtap-net.XXXXXX)
	trap nl_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NL_NS" || nl_fail "ip netns add $NL_NS"
	ip -n "$NL_NS" link set lo up
	ip -n "$NL_NS" link add "$NL_CAP" numtxqueues "$q" numrxqueues "$q" type veth \
		peer name "$NL_INJ" numtxqueues "$q" numrxqueues "$q" || nl_fail "veth"
	# No IPv6 autoconfiguration chatter: the only packets are the ones we replay.
	nl_exec sysctl -qw "net.ipv6.conf.$NL_CAP.disable_ipv6=1" "net.ipv6.conf.$NL_INJ.disable_ipv6=1" || true
	ip -n "$NL_NS" link set "$NL_CAP" up
	ip -n "$NL_NS" link set "$NL_INJ" up
}

# nl_set_mtu MTU: both veth ends (native XDP on veth without frags support allows up to
# about 3500 bytes).
nl_set_mtu() {
	ip -n "$NL_NS" link set dev "$NL_CAP" mtu "$1" &&
		ip -n "$NL_NS" link set dev "$NL_INJ" mtu "$1"
}

# nl_add_ns NAME: an extra namespace NAME (deleted at cleanup). Not in $(...): the list
# of namespaces to delete lives in this shell.
nl_add_ns() {
	ip netns add "$1" || nl_fail "ip netns add $1"
	NL_EXTRA_NS+=("$1")
	ip -n "$1" link set lo up
}

# nl_ns_exists NAME
nl_ns_exists() {
	ip netns list | awk '{print $1}' | grep -qxF "$1"
}

# nl_on_cleanup 'COMMAND': run (eval) at cleanup, before the namespaces go.
nl_on_cleanup() {
	NL_HOOKS+=("$1")
}

# nl_no_offload NS DEV: TSO, GSO, GRO and TX checksum offload off (SIOCETHTOOL), so that
# mirrored frames are wire-sized (no ethtool binary needed).
nl_no_offload() {
	nsenter --net="/run/netns/$1" -- python3 - "$2" <<'EOF'
import ctypes, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for cmd in (0x1f, 0x24, 0x2c, 0x17):  # ETHTOOL_STSO, _SGSO, _SGRO, _STXCSUM
    buf = ctypes.create_string_buffer(struct.pack("II", cmd, 0))
    ifr = struct.pack("16sP", sys.argv[1].encode(), ctypes.addressof(buf))
    try:
        fcntl.ioctl(s, 0x8946, ifr)
    except OSError:
        pass
EOF
}

# Background command in the namespace; its pid (nsenter execs the command, so it is the
# command's own pid: signals reach it) is killed at cleanup.
nl_bg() {
	nsenter --net="/run/netns/$NL_NS" -- "$@" &
	NL_PIDS+=($!)
}

# nl_wait_file FILE SECONDS
nl_wait_file() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# nl_wait_pid PID SECONDS: waits for exit; returns its status, 124 on timeout.
nl_wait_pid() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"
			return $?
		fi
		sleep 0.1
	done
	return 124
}

# nl_iface_gone PID ERR IFACE WHAT: once mailtap (PID, stderr in ERR) captures on IFACE (in
# $NL_NS), deletes that link and expects exit status 2 within 5 s and the message that the
# interface is gone.
nl_iface_gone() {
	local pid=$1 err=$2 ifc=$3 what=$4 i rc
	for ((i = 0; i < 100; i++)); do grep -q "capturing on" "$err" && break; sleep 0.1; done
	grep -q "capturing on" "$err" || { cat "$err"; nl_fail "$what did not start"; }
	ip -n "$NL_NS" link del "$ifc"
	nl_wait_pid "$pid" 5
	rc=$?
	sed 's/^/    /' "$err"
	[ "$rc" -eq 2 ] || nl_fail "$what: exit status $rc after the interface went away, want 2"
	grep -q "interface $ifc (index [0-9]*) is gone" "$err" || nl_fail "$what: not said"
}

# nl_replay PCAP [tcpreplay options]: replays into the injection end.
nl_replay() {
	local f=$1
	shift
	nl_exec tcpreplay -q -i "$NL_INJ" "$@" "$f" >"$NL_TMP/tcpreplay.log" 2>&1 ||
		{ cat "$NL_TMP/tcpreplay.log"; nl_fail "tcpreplay $f"; }
}

# nl_stat FILE NAME: value of NAME=value in FILE (xsk_dump's counters).
nl_stat() {
	sed -n "s/^$2=//p" "$1" | head -n 1
}

# True if an XDP program is attached to the capture end.
nl_xdp_attached() {
	ip -n "$NL_NS" link show dev "$NL_CAP" 2>/dev/null | grep -q 'prog/xdp'
}

# Operator helpers on a pinned port map (the same as docs/capture.md):
# nl_port_set DIR PORT 0|1
nl_port_set() {
	local dir=$1 port=$2 on=$3 word bit cur k v i
	word=$((port / 64))
	bit=$((port % 64))
	k=$(printf '%02x %02x %02x %02x' $((word & 255)) $((word >> 8 & 255)) 0 0)
	cur=$(bpftool -j map lookup pinned "$dir/mailtap_ports" key hex $k |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(int.from_bytes(bytes(int(x,16) for x in d["value"]),"little"))')
	if [ "$on" = 1 ]; then
		cur=$((cur | (1 << bit)))
	else
		cur=$((cur & ~(1 << bit)))
	fi
	v=""
	for ((i = 0; i < 8; i++)); do
		v+=$(printf '%02x ' $(((cur >> (8 * i)) & 255)))
	done
	bpftool map update pinned "$dir/mailtap_ports" key hex $k value hex $v
}

# nl_ports_list DIR: the ports set in a pinned port map, one line.
nl_ports_list() {
	bpftool -j map dump pinned "$1/mailtap_ports" | python3 -c '
import json, sys
ports = []
for e in json.load(sys.stdin):
    k = e["key"] if isinstance(e["key"], int) else int.from_bytes(bytes(int(x, 16) for x in e["key"]), "little")
    v = e["value"] if isinstance(e["value"], int) else int.from_bytes(bytes(int(x, 16) for x in e["value"]), "little")
    ports += [k * 64 + b for b in range(64) if v >> b & 1]
print(" ".join(map(str, sorted(ports))))'
}

# nl_pin_dir: a pin directory of this run in NL_PIN, removed by nl_cleanup (called in the
# suite's shell, not in $(...), whose NL_PINS the cleanup would not see).
nl_pin_dir() {
	NL_PIN=/sys/fs/bpf/mailtap-test-$$
	mkdir -p "$NL_PIN"
	NL_PINS+=("$NL_PIN")
}

nl_cleanup() {
	local rc=$? p
	trap - EXIT
	for p in "${NL_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${NL_PIDS[@]}"; do
		nl_wait_pid "$p" 5 >/dev/null 2>&1 || kill -9 "$p" 2>/dev/null
	done
	for p in "${NL_HOOKS[@]}"; do
		eval "$p" >/dev/null 2>&1
	done
	for p in "${NL_EXTRA_NS[@]}"; do
		ip netns del "$p" 2>/dev/null
	done
	if [ -n "$NL_NS" ]; then
		# mailtap's lock files for interfaces of this namespace (left by a kill -9).
		local ino
		ino=$(stat -L -c %i "/run/netns/$NL_NS" 2>/dev/null) && rm -f /run/mailtap/"$ino"-*.lock
		ip -n "$NL_NS" link set dev "$NL_CAP" xdp off 2>/dev/null
		ip netns del "$NL_NS" 2>/dev/null
	fi
	for p in "${NL_PINS[@]}"; do
		rm -rf "$p"
	done
	[ -n "$NL_TMP" ] && rm -rf "$NL_TMP"
	# What must not remain.
	if [ -n "$NL_NS" ] && nl_ns_exists "$NL_NS"; then
		echo "cleanup: namespace $NL_NS remains" >&2
		rc=1
	fi
	for p in "${NL_EXTRA_NS[@]}"; do
		if nl_ns_exists "$p"; then
			echo "cleanup: namespace $p remains" >&2
			rc=1
		fi
	done
	for p in "${NL_PINS[@]}"; do
		if [ -e "$p" ]; then
			echo "cleanup: pin dir $p remains" >&2
			rc=1
		fi
	done
	exit $rc
}

# nl_two_flow_queues PCAP: for the 4-queue suites. XPS on the injection end: a frame sent
# from CPU 0 leaves on tx queue 1, from CPU 1 on tx queue 3, and veth hands it to the capture
# end's rx queue of the same index. Writes NL_TMP/exp.pcap (PCAP's mail-port frames) and
# splits PCAP into a.pcap (flow A: 10.10.1.4 <-> 74.53.140.153, to replay from CPU 0), b.pcap
# (flow B: 192.168.133.100 <-> .102, from CPU 1) and rest.pcap; sets NL_A and NL_B (their
# filters).
nl_two_flow_queues() {
	[ "$(nproc)" -ge 2 ] || nl_skip "needs 2 CPUs (XPS steering)"
	ip netns exec "$NL_NS" sh -c "
		for q in 0 1 2 3; do echo 0 > /sys/class/net/$NL_INJ/queues/tx-\$q/xps_cpus; done
		echo 1 > /sys/class/net/$NL_INJ/queues/tx-1/xps_cpus
		echo 2 > /sys/class/net/$NL_INJ/queues/tx-3/xps_cpus" || nl_skip "cannot configure XPS"
	NL_A='host 10.10.1.4 and host 74.53.140.153'
	NL_B='host 192.168.133.100 and host 192.168.133.102'
	nl_pcap_filter "$1" "$NL_TMP/exp.pcap" 'tcp port 25 or tcp port 465 or tcp port 587'
	nl_pcap_filter "$1" "$NL_TMP/a.pcap" "$NL_A"
	nl_pcap_filter "$1" "$NL_TMP/b.pcap" "$NL_B"
	nl_pcap_filter "$1" "$NL_TMP/rest.pcap" "not ($NL_A) and not ($NL_B)"
}

# nl_pcap_filter IN OUT FILTER: tcpdump -r IN -w OUT FILTER
nl_pcap_filter() {
	tcpdump -r "$1" -w "$2" "$3" 2>/dev/null || nl_fail "tcpdump filter $3 on $1"
}

# nl_pcap_same A B: same frames (bytes) in the same order; prints the counts.
nl_pcap_same() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
def frames(path):
    out = []
    with open(path, 'rb') as f:
        hdr = f.read(24)
        magic = struct.unpack('<I', hdr[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            e = '<'
        else:
            e = '>'
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            _, _, incl, _ = struct.unpack(e + 'IIII', h)
            out.append(f.read(incl))
    return out
a, b = frames(sys.argv[1]), frames(sys.argv[2])
print(f"{sys.argv[1]}: {len(a)} frames, {sys.argv[2]}: {len(b)} frames")
if a != b:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            print(f"first difference at frame {i}")
            break
    sys.exit(1)
EOF
}
