#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live-vs-offline equality: for every Ethernet capture in ../shared/corpus, the mail-port
# frames (25/465/587) are replayed into the veth where mailtap's XDP program and AF_XDP
# sockets run. The records must equal `mailtap -r` of the same file in every field except
# capture times (ts, duration and other *time* fields). uids come from --seed.
# Files that pause longer than MAILTAP_LIVE_GAP_MAX (30 s) between frames (composite traces
# spanning years) are replayed at line rate, so flow timeouts split them differently: for
# those the reference is mailtap -r of the frames re-timed 50 us apart (or, with xsk_dump,
# the delivered frames are compared byte for byte).
# Live side: `mailtap -i` when this mailtap has it (--xdp-mode in --help); until then
# build/tools/xsk_dump (the same XDP + AF_XDP source) writes a pcap that `mailtap -r` reads.
# Skipped files (said at the end): no Ethernet link type, frames longer than the veth
# MTU 3400 allows (TSO/GRO-sized frames need XDP multi-buffer, not supported), or frames cut
# by a snap length (a replay cannot send the bytes that were not captured). Also fails on any AF_XDP drop.
# Then captures of tools/gen_smtp_pcap --encap (VXLAN, Geneve, GRE, ERSPAN II/III, MPLS, PPPoE,
# PPTP's GRE, AYIYA, GTPv1-U, Teredo (both directions of a client's tunnel), and VXLAN,
# ERSPAN II and GTP with fragmented outer datagrams; VXLAN on 8472 with --vxlan-ports
# 4789,8472, whole and fragmented, Geneve on 4789 with --vxlan-ports none --geneve-ports 4789),
# whole, the same way: the XDP program must find the mail inside them as userspace does; and
# mail two tunnels deep (--encap2: VXLAN on 8472 in VXLAN, whole and with outer fragments,
# Geneve in ERSPAN III, GTP in GRE, GRE in Geneve, PPTP in VXLAN).
# MAILTAP_LIVE_FILES=N limits the run to the first N files (quick runs).
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools tcpreplay tcpdump nsenter python3
nl_require_bpffs
[ -d "$NL_CORPUS" ] || nl_skip "corpus not found: $NL_CORPUS"
MT=$BUILD/mailtap
CAT=$BUILD/mailtap-cat
DUMP=$BUILD/tools/xsk_dump
for f in "$MT" "$CAT" "$DUMP"; do [ -x "$f" ] || nl_fail "$f not built"; done
live=0
"$MT" --help 2>&1 | grep -q -- '--xdp-mode' && live=1
echo "live side: $([ $live = 1 ] && echo "mailtap -i" || echo "xsk_dump + mailtap -r")"

nl_setup 1
MTU=3400 # the largest frames a veth with native XDP (no multi-buffer) and 4 KiB UMEM frames take
nl_set_mtu $MTU || nl_fail "mtu $MTU"
P='tcp port 25 or tcp port 465 or tcp port 587'
# tcpdump's offsets move with each VLAN tag: untagged, one tag, two tags (QinQ).
PORTS="($P) or (vlan and ($P)) or (vlan and vlan and ($P))"

# compare OFF.json LIVE.json: equal records but for capture times. Ignored: ts, duration,
# *_time; orig_bytes/resp_bytes of a conn record when one side has no duration (Zeek leaves
# them out of a zero-duration connection: files with equal timestamps); the stats stream.
compare() {
	python3 - "$1" "$2" <<'EOF2'
import json, sys
def load(path):
    recs = []
    for line in open(path):
        line = line.strip()
        if line:
            recs.append(json.loads(line))
    return recs
def norm(r, other_has_duration):
    r = dict(r)
    zero = "duration" not in r or not other_has_duration
    for k in list(r):
        if k in ("ts", "duration") or k.endswith(".ts") or k.endswith("_time"):
            del r[k]
    if r.get("_path") == "conn" and zero:
        r.pop("orig_bytes", None)
        r.pop("resp_bytes", None)
    return json.dumps(r, sort_keys=True)
# The stats stream (counters of the capture itself) exists only live; capture_loss and its
# notices are measurements on the clock of each run (network time: the file's, or now).
def measured(r):
    return r.get("_path") in ("stats", "capture_loss") or \
        (r.get("_path") == "notice" and r.get("note", "").startswith("CaptureLoss::"))
off = [r for r in load(sys.argv[1]) if not measured(r)]
live = [r for r in load(sys.argv[2]) if not measured(r)]
key = lambda r: (r.get("_path", ""), r.get("uid", ""), r.get("fuid", ""))
dur = {}
for r in off + live:
    dur.setdefault(key(r), []).append("duration" in r)
a = sorted(norm(r, all(dur[key(r)])) for r in off)
b = sorted(norm(r, all(dur[key(r)])) for r in live)
if a != b:
    sa, sb = set(a), set(b)
    for x in [x for x in a if x not in sb][:3]:
        print("      offline only:", x[:400])
    for x in [x for x in b if x not in sa][:3]:
        print("      live only:   ", x[:400])
    sys.exit(1)
print(len(a))
EOF2
}

# Longest gap between consecutive frames of a pcap (either direction in time), seconds.
max_gap() {
	tcpdump -tt -nr "$1" 2>/dev/null | awk '{t=$1+0; d=t-p; if (d<0) d=-d; if (NR>1 && d>g) g=d; p=t} END {printf "%d\n", g}'
}
GAP_MAX=${MAILTAP_LIVE_GAP_MAX:-30}

# retime IN OUT: the same pcap with frame i at t0 + i * 50 us (the replay's --pps 20000).
retime() {
	python3 - "$1" "$2" <<'EOF2'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f, open(dst, "wb") as o:
    gh = f.read(24)
    magic = struct.unpack("<I", gh[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = struct.unpack(e + "I", gh[:4])[0] == 0xA1B23C4D
    unit = 1000000000 if nano else 1000000
    o.write(gh)
    t0 = None
    i = 0
    while True:
        h = f.read(16)
        if len(h) < 16:
            break
        sec, frac, incl, orig = struct.unpack(e + "IIII", h)
        if t0 is None:
            t0 = sec * unit + frac
        t = t0 + i * unit // 20000
        o.write(struct.pack(e + "IIII", t // unit, t % unit, incl, orig))
        o.write(f.read(incl))
        i += 1
EOF2
}

# live_capture PCAP NAME: `mailtap -i` on the veth while PCAP is replayed at 20,000 frames
# a second; its records in $NL_TMP/live.json.
# LIVE_ARGS: more options for mailtap -i.
LIVE_ARGS=()
live_capture() {
	nl_bg "$MT" -i "$NL_CAP" --seed 1 ${LIVE_ARGS[@]+"${LIVE_ARGS[@]}"} -w "$NL_TMP/live.msgpack" \
		2>"$NL_TMP/live.err"
	local pid=$! i
	for ((i = 0; i < 100; i++)); do nl_xdp_attached && break; sleep 0.1; done
	sleep 0.3
	nl_replay "$1" --pps 20000
	sleep 0.5
	kill -TERM "$pid"
	nl_wait_pid "$pid" 30 || { cat "$NL_TMP/live.err"; nl_fail "$2: live capture failed"; }
	"$CAT" <"$NL_TMP/live.msgpack" >"$NL_TMP/live.json"
}

# judge NAME FRAMES: off.json against live.json, counted and said
judge() {
	local nrec
	if nrec=$(compare "$NL_TMP/off.json" "$NL_TMP/live.json"); then
		n_ok=$((n_ok + 1))
		printf 'ok    %-70s %5d frames %4d records\n' "$1" "$2" "$nrec"
	else
		n_fail=$((n_fail + 1)); failed+=("$1")
		printf 'DIFF  %s\n%s\n' "$1" "$nrec"
	fi
}

n_ok=0 n_fail=0 n_skip=0 n_time=0 failed=() skipped=() timing=()
max=${MAILTAP_LIVE_FILES:-100000}
mapfile -t files < <(find "$NL_CORPUS" \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
for f in "${files[@]:0:$max}"; do
	name=${f#"$NL_CORPUS"/}
	if ! tcpdump -r "$f" -c 1 2>&1 >/dev/null | grep -q 'link-type EN10MB'; then
		n_skip=$((n_skip + 1)); skipped+=("$name (link type)"); continue
	fi
	rm -f "$NL_TMP"/m.* "$NL_TMP"/ready "$NL_TMP"/off.* "$NL_TMP"/live.*
	tcpdump -r "$f" -w "$NL_TMP/m.pcap" "$PORTS" 2>/dev/null || { n_skip=$((n_skip + 1)); skipped+=("$name (unreadable)"); continue; }
	nmail=$(tcpdump -r "$NL_TMP/m.pcap" 2>/dev/null | wc -l)
	[ "$nmail" -gt 0 ] || { n_skip=$((n_skip + 1)); skipped+=("$name (no mail-port frames)"); continue; }
	if [ "$(tcpdump -r "$NL_TMP/m.pcap" greater $((MTU + 19)) 2>/dev/null | wc -l)" -gt 0 ]; then
		n_skip=$((n_skip + 1)); skipped+=("$name (frames > $((MTU + 18)) bytes)"); continue
	fi
	# frames captured shorter than they were on the wire (a snap length): a replay sends only
	# the captured bytes, so live an IP length past the frame is Zeek's truncated_IP_len
	# (the packet dropped) where the file's wire length makes it a truncated payload
	if [ "$(python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
e = "<" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
o, n = 24, 0
while o + 16 <= len(b):
    incl, orig = struct.unpack_from(e + "II", b, o + 8)
    n += incl < orig
    o += 16 + incl
print(n)' "$NL_TMP/m.pcap")" -gt 0 ]; then
		n_skip=$((n_skip + 1)); skipped+=("$name (frames cut by a snap length)"); continue
	fi
	"$MT" -r "$f" --seed 1 -w - 2>/dev/null | "$CAT" >"$NL_TMP/off.json"
	if [ $live = 1 ]; then
		live_capture "$NL_TMP/m.pcap" "$name"
	else
		nl_bg "$DUMP" -i "$NL_CAP" -w "$NL_TMP/live.pcap" --timeout 120 --ready "$NL_TMP/ready" \
			>"$NL_TMP/live.stats" 2>"$NL_TMP/live.err"
		pid=$!
		nl_wait_file "$NL_TMP/ready" 10 || { cat "$NL_TMP/live.err"; nl_fail "capture did not start"; }
		nl_replay "$NL_TMP/m.pcap" --pps 20000
		sleep 0.5
		kill -TERM "$pid"
		nl_wait_pid "$pid" 30 || { cat "$NL_TMP/live.err"; nl_fail "$name: live capture failed"; }
		drops=$(( $(nl_stat "$NL_TMP/live.stats" xsk.rx_dropped) + $(nl_stat "$NL_TMP/live.stats" xsk.rx_ring_full) ))
		got=$(nl_stat "$NL_TMP/live.stats" xsk.delivered)
		if [ "$drops" -ne 0 ] || [ "$got" -ne "$nmail" ]; then
			n_fail=$((n_fail + 1)); failed+=("$name (delivered $got of $nmail, $drops dropped)"); continue
		fi
		"$MT" -r "$NL_TMP/live.pcap" --seed 1 -w - 2>/dev/null | "$CAT" >"$NL_TMP/live.json"
	fi
	gap=$(max_gap "$NL_TMP/m.pcap")
	if [ "$gap" -gt "$GAP_MAX" ]; then
		# The file pauses for minutes to years (composite traces): replayed at line rate,
		# flow timeouts act differently, so records may differ by design. Check the
		# capture itself instead: every mail-port frame delivered, byte for byte.
		if [ $live = 1 ]; then
			# Compare with mailtap -r of the same frames 50 us apart, as replayed.
			retime "$NL_TMP/m.pcap" "$NL_TMP/m-retimed.pcap"
			"$MT" -r "$NL_TMP/m-retimed.pcap" --seed 1 -w - 2>/dev/null | "$CAT" >"$NL_TMP/off.json"
			if nrec=$(compare "$NL_TMP/off.json" "$NL_TMP/live.json"); then
				n_time=$((n_time + 1)); timing+=("$name (gap ${gap}s: $nrec records equal to the re-timed file's)")
			else
				n_fail=$((n_fail + 1)); failed+=("$name (re-timed)")
				printf 'DIFF  %s (re-timed)\n%s\n' "$name" "$nrec"
			fi
		elif nl_pcap_same "$NL_TMP/m.pcap" "$NL_TMP/live.pcap" >/dev/null; then
			n_time=$((n_time + 1)); timing+=("$name (gap ${gap}s: frames identical)")
		else
			n_fail=$((n_fail + 1)); failed+=("$name (frames differ)")
		fi
		continue
	fi
	judge "$name" "$nmail"
done

# Encapsulated mail (tools/gen_smtp_pcap --encap): the XDP program must find the mail inside
# VXLAN, Geneve, GRE, ERSPAN II/III, PPTP's GRE, AYIYA, GTPv1-U, Teredo and behind MPLS (IP,
# or an Ethernet pseudowire) or PPPoE, as userspace does offline.
# The whole file is replayed (its frames are all mail, none matches tcpdump's port filter).
if [ $live = 1 ]; then
	# "-frag": every outer IP datagram cut into 512-byte fragments, the last first (the XDP
	# program steers UDP and GRE fragments: only the whole datagram shows the mail inside);
	# "vxlan-2mirror": two mirror sessions, the clients' packets in VXLAN from one source and
	# the servers' from another (every connection names both tunnels: 17-encap);
	# "-PORT": VXLAN or Geneve to UDP port PORT (gen_smtp_pcap --encap-port), followed there
	# by both sides (--vxlan-ports 4789,PORT; Geneve: --vxlan-ports none --geneve-ports PORT)
	for enc in vxlan geneve gre erspan2 erspan3 mpls mpls-pw pppoe pptp ayiya gtp teredo \
		vxlan-frag erspan2-frag gtp-frag vxlan-2mirror vxlan-8472 vxlan-8472-frag geneve-4789; do
		name="generated --encap $enc"
		genc=${enc%-frag}
		genc=${genc%-2mirror}
		gargs=() targs=()
		case $genc in
		*-[0-9]*)
			gargs=(--encap-port "${genc##*-}")
			if [ "${genc%-*}" = vxlan ]; then
				targs=(--vxlan-ports "4789,${genc##*-}")
			else
				targs=(--vxlan-ports none --geneve-ports "${genc##*-}")
			fi
			name="$name (${targs[*]})"
			genc=${genc%-*}
			;;
		esac
		rm -f "$NL_TMP"/m.* "$NL_TMP"/off.* "$NL_TMP"/live.*
		"$BUILD/tools/gen_smtp_pcap" -o "$NL_TMP/m.pcap" -n 24 -c 6 -a 20000 --seed 11 \
			--encap "$genc" ${gargs[@]+"${gargs[@]}"} >/dev/null 2>&1 ||
			nl_fail "gen_smtp_pcap --encap $enc"
		if [ "$enc" = vxlan-2mirror ]; then
			mv "$NL_TMP/m.pcap" "$NL_TMP/m.whole"
			/usr/bin/python3 - "$NL_TMP/m.whole" "$NL_TMP/m.pcap" <<'EOF2' || nl_fail "scapy $enc"
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, TCP, UDP, PcapReader, PcapWriter
w = PcapWriter(sys.argv[2], sync=True)
for p in PcapReader(sys.argv[1]):
    if p[TCP].sport in (25, 465, 587):  # the server's packets: another mirror source
        p[IP].src = "172.16.0.3"
        del p[IP].chksum
        del p[UDP].chksum
    w.write(p)
EOF2
		fi
		if [ "$enc" != "${enc%-frag}" ]; then
			mv "$NL_TMP/m.pcap" "$NL_TMP/m.whole"
			/usr/bin/python3 tests/fragment_pcap.py "$NL_TMP/m.whole" "$NL_TMP/m.pcap" \
				--size 512 --reverse --any >/dev/null 2>&1 || nl_fail "fragment_pcap.py $enc"
		fi
		# frames, not lines: tcpdump prints a pseudowire's frame with hex lines after it
		nmail=$(tcpdump -r "$NL_TMP/m.pcap" 2>/dev/null | grep -c '^[0-9]')
		"$MT" -r "$NL_TMP/m.pcap" --seed 1 ${targs[@]+"${targs[@]}"} -w - 2>/dev/null |
			"$CAT" >"$NL_TMP/off.json"
		LIVE_ARGS=(${targs[@]+"${targs[@]}"})
		live_capture "$NL_TMP/m.pcap" "$name"
		LIVE_ARGS=()
		if grep -q '"_path":"smtp"' "$NL_TMP/off.json"; then
			judge "$name" "$nmail"
		else
			n_fail=$((n_fail + 1)); failed+=("$name (no smtp record offline)")
		fi
	done
fi
# Two tunnels deep (gen_smtp_pcap --encap OUTER --encap2 INNER): the XDP program's second
# tunnel (mailtap_classify_tunnel2) must steer what userspace reads offline. "OUTER,INNER[,frag]"
# (KIND:PORT: VXLAN to PORT, with --vxlan-ports 4789,8472 on both sides; frag: the outer
# datagrams cut into 512-byte fragments, the last first; innerfrag: the inner tunnel's
# datagrams cut so, inside the outer tunnel: the XDP program steers a UDP fragment inside a
# tunnel, userspace reassembles it there).
if [ $live = 1 ]; then
	for enc2 in vxlan,vxlan:8472 vxlan,vxlan:8472,frag vxlan,vxlan:8472,innerfrag \
		erspan3,geneve gre,gtp geneve,gre vxlan,pptp; do
		IFS=, read -r o i fr <<<"$enc2"
		name="generated --encap $o --encap2 $i${fr:+ ($fr)}"
		gargs=(--encap "${o%%:*}" --encap2 "${i%%:*}")
		[ "$i" != "${i%%:*}" ] && gargs+=(--encap2-port "${i#*:}")
		[ "$fr" = innerfrag ] && gargs=(--encap vxlan --encap-port 8472) # wrapped below
		targs=(--vxlan-ports 4789,8472)
		rm -f "$NL_TMP"/m.* "$NL_TMP"/off.* "$NL_TMP"/live.*
		"$BUILD/tools/gen_smtp_pcap" -o "$NL_TMP/m.pcap" -n 24 -c 6 -a 20000 --seed 11 \
			"${gargs[@]}" >/dev/null 2>&1 || nl_fail "gen_smtp_pcap ${gargs[*]}"
		if [ -n "$fr" ]; then
			mv "$NL_TMP/m.pcap" "$NL_TMP/m.whole"
			/usr/bin/python3 tests/fragment_pcap.py "$NL_TMP/m.whole" "$NL_TMP/m.pcap" \
				--size 512 --reverse --any >/dev/null 2>&1 || nl_fail "fragment_pcap.py $enc2"
		fi
		if [ "$fr" = innerfrag ]; then
			mv "$NL_TMP/m.pcap" "$NL_TMP/m.inner"
			/usr/bin/python3 tests/vxlan_wrap.py "$NL_TMP/m.inner" "$NL_TMP/m.pcap" ||
				nl_fail "scapy $enc2"
		fi
		nmail=$(tcpdump -r "$NL_TMP/m.pcap" 2>/dev/null | grep -c '^[0-9]')
		"$MT" -r "$NL_TMP/m.pcap" --seed 1 "${targs[@]}" -w - 2>/dev/null |
			"$CAT" >"$NL_TMP/off.json"
		LIVE_ARGS=("${targs[@]}")
		live_capture "$NL_TMP/m.pcap" "$name"
		LIVE_ARGS=()
		if grep -q '"_path":"smtp"' "$NL_TMP/off.json" &&
			[ "$(grep -c '"_path":"tunnel"' "$NL_TMP/off.json")" -ge 3 ]; then
			judge "$name" "$nmail"
		else
			n_fail=$((n_fail + 1)); failed+=("$name (no smtp or fewer than 3 tunnel records offline)")
		fi
	done
fi
# -f live: applied to each frame the XDP program steered, it keeps what -r -f keeps. The
# filter leaves out the 465 session, one client and a /30 of clients (6 of 24 connections).
if [ $live = 1 ]; then
	F='not tcp port 465 and not host 10.0.0.2 and not net 10.0.0.16/30'
	name="generated, -f '$F'"
	rm -f "$NL_TMP"/m.* "$NL_TMP"/off.* "$NL_TMP"/live.*
	"$BUILD/tools/gen_smtp_pcap" -o "$NL_TMP/m.pcap" -n 24 -c 6 -a 20000 --seed 11 >/dev/null 2>&1 ||
		nl_fail "gen_smtp_pcap"
	nmail=$(tcpdump -r "$NL_TMP/m.pcap" 2>/dev/null | wc -l)
	"$MT" -r "$NL_TMP/m.pcap" --seed 1 -f "$F" -w - 2>/dev/null | "$CAT" >"$NL_TMP/off.json"
	LIVE_ARGS=(-f "$F" --stats)
	live_capture "$NL_TMP/m.pcap" "$name"
	LIVE_ARGS=()
	nconn=$(grep -c '"_path":"conn"' "$NL_TMP/off.json")
	left=$(grep -o 'left out [0-9]* frames' "$NL_TMP/live.err" | grep -o '[0-9]*')
	kept=$(tcpdump -r "$NL_TMP/m.pcap" "$F" 2>/dev/null | wc -l)
	if [ "$nconn" != 18 ] || grep -q '"10\.0\.0\.\(2\|3\|16\|17\|18\|19\)"' "$NL_TMP/off.json"; then
		n_fail=$((n_fail + 1)); failed+=("$name (offline: $nconn conn records, not 18, or a left-out host)")
	elif [ "${left:-x}" != $((nmail - kept)) ]; then
		n_fail=$((n_fail + 1)); failed+=("$name (live --stats: '${left:-no count}' frames left out, tcpdump: $((nmail - kept)))")
	else
		judge "$name" "$nmail"
	fi
fi
echo
echo "skipped ${n_skip}:"
printf '  %s\n' "${skipped[@]}"
echo "long pauses ${n_time}:"
printf '  %s\n' "${timing[@]}"
[ $n_fail -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}"; nl_fail "$n_fail captures differ live vs offline"; }
[ $n_ok -gt 0 ] || nl_skip "no capture could be compared"
echo "PASS: $n_ok captures give the same records live and offline"
