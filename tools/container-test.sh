#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Container test (tests/suites/56-container.sh runs it): builds deploy/Dockerfile with podman
# from a local Debian 12 root filesystem (no image registry: debootstrap from Debian's
# mirror, then podman import; cached as localhost/debian-local:12), runs the image as its
# non-root user with only the needed capabilities in a test network namespace, replays
# tests/data/demo-smtp.pcap into the captured veth, and checks that
#  - the container's mailtap runs as uid 10025 with exactly the capabilities granted,
#  - mailtap-health (the readiness probe) reports ready,
#  - the records reach a strict Fluent Forward receiver (tests/fwd_receiver.py) on a unix
#    socket in a directory shared with the container, and they are the records
#    `mailtap -r` gives for the same capture (smtp and conn fields, uids aside),
#  - SIGTERM (podman stop) ends it with status 0 and the XDP program detached (mirror
#    mode: a warning, see below),
#  - before that, the host-mode source itself (build/tools/hostcap_dump, mounted in) runs
#    there as uid 10025 with CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN only, captures exactly
#    the capture's mail-port frames and leaves no XDP program or clsact qdisc behind.
# The container gets the runtime's default seccomp profile plus bpf(2) under CAP_BPF
# (deploy/seccomp/make-profile.py).
# Host mode (--capture host) when this mailtap has it, else mirror mode (AF_XDP).
# Exits 249 (skip) with the reason when no container engine can run here.
# Environment: BASE_IMAGE (skip debootstrap, e.g. docker.io/library/debian:12-slim where a
# registry is reachable), DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -u
cd "$(dirname "$0")/.."
source tools/netns-lib.sh
nl_require_root
command -v podman >/dev/null 2>&1 || nl_skip "needs podman (apt-get install podman) to build and run the image"
nl_require_bpffs
PCAP=tests/data/demo-smtp.pcap
IMAGE=localhost/mailtap:test
BASE=${BASE_IMAGE:-localhost/debian-local:12}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CT=mailtap-ct-$$
[ -x "$BUILD/mailtap" ] && [ -x "$BUILD/mailtap-cat" ] || nl_fail "$BUILD/mailtap not built"
nl_setup 1
ct_cleanup() {
	local rc=$?
	podman rm -f -t 0 "$CT" >/dev/null 2>&1
	(exit $rc)
	nl_cleanup
}
trap ct_cleanup EXIT

# 1. The base image: a Debian 12 minbase root filesystem, imported.
if ! podman image exists "$BASE"; then
	[ -n "${BASE_IMAGE:-}" ] && nl_skip "base image $BASE not available"
	command -v debootstrap >/dev/null 2>&1 || nl_skip "needs debootstrap to assemble a Debian 12 base image (no registry)"
	echo "- debootstrap bookworm from $MIRROR"
	mkdir -p "$NL_TMP/rootfs"
	timeout 600 debootstrap --variant=minbase bookworm "$NL_TMP/rootfs" "$MIRROR" >"$NL_TMP/debootstrap.log" 2>&1 ||
		{ tail -n 5 "$NL_TMP/debootstrap.log"; nl_skip "debootstrap from $MIRROR failed: no Debian mirror reachable"; }
	tar -C "$NL_TMP/rootfs" -c . | podman import - "$BASE" >/dev/null || nl_fail "podman import"
	rm -rf "$NL_TMP/rootfs"
fi

# 2. Which run options work here. Rootless-style limits (no CAP_SYS_RESOURCE: rlimits cannot
# be raised to podman's defaults) and cgroup v1/hybrid hosts (crun refuses them) need
# --ulimit and runc.
GLOBAL=() RUN=()
for opts in "|" "|--ulimit nofile=1024:1024 --ulimit nproc=1024:1024" \
	"--runtime runc|--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"; do
	read -r -a g <<<"${opts%%|*}"
	read -r -a r <<<"${opts#*|}"
	if podman "${g[@]}" run --rm --network none "${r[@]}" "$BASE" true >"$NL_TMP/probe.log" 2>&1; then
		GLOBAL=("${g[@]}") RUN=("${r[@]}")
		PROBE_OK=1
		break
	fi
done
[ -n "${PROBE_OK:-}" ] || { cat "$NL_TMP/probe.log"; nl_skip "podman cannot run a container here: $(tail -n 1 "$NL_TMP/probe.log")"; }
echo "- podman options: ${GLOBAL[*]} run ${RUN[*]}"

# 3. The image (chroot isolation: RUN steps need no cgroups).
echo "- podman build"
timeout 1200 podman build --isolation=chroot -f deploy/Dockerfile --ignorefile deploy/Dockerfile.dockerignore \
	--build-arg BASE="$BASE" -t "$IMAGE" . >"$NL_TMP/build.log" 2>&1 ||
	{ tail -n 30 "$NL_TMP/build.log"; nl_fail "podman build"; }
grep -A1 'getcap' "$NL_TMP/build.log" | tail -n 1

# The runtime's default seccomp profile refuses bpf(2) without CAP_SYS_ADMIN.
/usr/bin/python3 deploy/seccomp/make-profile.py >"$NL_TMP/seccomp.json" || nl_fail "seccomp profile"
HOSTCAPS=(--cap-add BPF --cap-add PERFMON --cap-add NET_ADMIN)

# 4. The host-mode source in the image's environment (non-root, CAP_BPF + CAP_PERFMON +
# CAP_NET_ADMIN, the seccomp profile): build/tools/hostcap_dump mounted in.
if [ -x "$BUILD/tools/hostcap_dump" ]; then
	echo "- host-mode source (hostcap_dump) in the container"
	mkdir -p "$NL_TMP/out" && chmod 0777 "$NL_TMP/out" && chmod 0755 "$NL_TMP"
	podman "${GLOBAL[@]}" run -d --name "$CT" "${RUN[@]}" --network "ns:/run/netns/$NL_NS" \
		--security-opt seccomp="$NL_TMP/seccomp.json" --cap-drop all "${HOSTCAPS[@]}" \
		-v "$PWD/$BUILD/tools/hostcap_dump:/usr/local/bin/hostcap_dump:ro" -v "$NL_TMP/out:/out" \
		--entrypoint /usr/local/bin/hostcap_dump "$IMAGE" -i "$NL_CAP" -w /out/host.pcap \
		--ready /out/ready >/dev/null || nl_fail "podman run hostcap_dump"
	nl_wait_file "$NL_TMP/out/ready" 20 || { podman logs "$CT"; nl_fail "hostcap_dump did not start in the container"; }
	nl_replay "$PCAP" --pps 500
	sleep 1
	podman "${GLOBAL[@]}" stop -t 20 "$CT" >/dev/null || nl_fail "podman stop"
	rc=$(podman inspect -f '{{.State.ExitCode}}' "$CT")
	podman logs "$CT" >"$NL_TMP/hostcap.log" 2>&1
	podman rm -f "$CT" >/dev/null
	[ "$rc" = 0 ] || { cat "$NL_TMP/hostcap.log"; nl_fail "hostcap_dump exited with $rc"; }
	grep -E '^(host.delivered|host.xdp_mode|bpf.rb_full)=' "$NL_TMP/hostcap.log" | sed 's/^/  /'
	nl_pcap_filter "$PCAP" "$NL_TMP/mail.pcap" "tcp port 25 or tcp port 465 or tcp port 587"
	nl_pcap_same "$NL_TMP/mail.pcap" "$NL_TMP/out/host.pcap" || nl_fail "host-mode frames differ from the capture's mail frames"
	nl_xdp_attached && nl_fail "hostcap_dump left XDP attached"
	ip netns exec "$NL_NS" tc qdisc show dev "$NL_CAP" | grep -q clsact && nl_fail "hostcap_dump left the clsact qdisc"
fi

# 5. mailtap -> Forward receiver on a unix socket in a shared directory.
SOCKDIR=$NL_TMP/fluent
mkdir -p "$SOCKDIR" && chmod 0777 "$SOCKDIR" && chmod 0755 "$NL_TMP"
/usr/bin/python3 tests/fwd_receiver.py serve --unix "$SOCKDIR/fluent.sock" --dump "$NL_TMP/dump.jsonl" \
	--ready "$NL_TMP/rx.ready" --stats "$NL_TMP/rx.stats" --log "$NL_TMP/rx.log" &
NL_PIDS+=($!)
nl_wait_file "$NL_TMP/rx.ready" 10 || nl_fail "receiver did not start"
chmod 0666 "$SOCKDIR/fluent.sock"

if "$BUILD/mailtap" --help 2>&1 | grep -q -- '--capture'; then
	MODE=host
	CAPS=("${HOSTCAPS[@]}")
	EXTRA=()
else
	MODE=""
	CAPS=(--cap-add BPF --cap-add PERFMON --cap-add NET_ADMIN --cap-add NET_RAW --cap-add IPC_LOCK)
	EXTRA=(-v /sys/fs/bpf:/sys/fs/bpf)
fi
echo "- run: ${MODE:-mirror} mode, capabilities ${CAPS[*]}, seccomp deploy/seccomp/make-profile.py"
podman "${GLOBAL[@]}" run -d --name "$CT" "${RUN[@]}" --network "ns:/run/netns/$NL_NS" \
	--security-opt seccomp="$NL_TMP/seccomp.json" --cap-drop all "${CAPS[@]}" "${EXTRA[@]}" -v "$SOCKDIR:/var/run/mailtap-fluent" \
	-e MAILTAP_INTERFACE="$NL_CAP" -e MAILTAP_CAPTURE="$MODE" -e MAILTAP_STATS_INTERVAL=0 \
	"$IMAGE" --forward-flush-ms 100 >/dev/null || nl_fail "podman run"
for ((i = 0; i < 100; i++)); do
	podman "${GLOBAL[@]}" exec "$CT" /usr/bin/mailtap-health >"$NL_TMP/health" 2>&1 && break
	[ "$(podman inspect -f '{{.State.Running}}' "$CT" 2>/dev/null)" = true ] || break
	sleep 0.2
done
cat "$NL_TMP/health"
podman "${GLOBAL[@]}" exec "$CT" /usr/bin/mailtap-health >/dev/null 2>&1 ||
	{ podman logs "$CT"; nl_fail "not ready"; }
nl_xdp_attached || nl_fail "no XDP program on $NL_CAP"

echo "- non-root, only the granted capabilities"
pid=$(podman inspect -f '{{.State.Pid}}' "$CT")
uid=$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")
eff=$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")
echo "  uid $uid, CapEff $eff ($(capsh --decode="$eff" 2>/dev/null | cut -d= -f2))"
[ "$uid" = 10025 ] || nl_fail "runs as uid $uid"
want=0
for c in "${CAPS[@]}"; do
	case $c in
	NET_ADMIN) want=$((want | 1 << 12)) ;; NET_RAW) want=$((want | 1 << 13)) ;;
	IPC_LOCK) want=$((want | 1 << 14)) ;; PERFMON) want=$((want | 1 << 38)) ;;
	BPF) want=$((want | 1 << 39)) ;;
	esac
done
[ $((16#$eff)) -eq $want ] || nl_fail "CapEff $eff, expected $(printf '%016x' $want)"

echo "- replay $PCAP"
nl_replay "$PCAP" --pps 500
sleep 1
podman "${GLOBAL[@]}" stop -t 20 "$CT" >/dev/null || nl_fail "podman stop"
rc=$(podman inspect -f '{{.State.ExitCode}}' "$CT")
podman logs "$CT" 2>&1 | tail -n 5 | sed 's/^/  | /'
[ "$rc" = 0 ] || nl_fail "mailtap exited with $rc after SIGTERM"
if nl_xdp_attached; then
	[ -n "$MODE" ] && nl_fail "XDP left attached after SIGTERM"
	# Mirror mode without CAP_SYS_ADMIN: libxdp cannot get the attached program's fd
	# (BPF_PROG_GET_FD_BY_ID needs CAP_SYS_ADMIN), so user/loader.c does not know the mode
	# and skips the detach. Reported; removed here.
	echo "  WARNING: mirror mode left mailtap_xdp attached after SIGTERM (user/loader.c without CAP_SYS_ADMIN: mode unknown, no detach)"
	ip -n "$NL_NS" link set dev "$NL_CAP" xdp off
fi

echo "- records at the Forward receiver = mailtap -r"
fields() { # tag + fields without uids/ts from canonical dump lines or mailtap-cat JSON
	python3 -c '
import json, sys
keep = ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "mailfrom", "rcptto", "subject",
        "helo", "last_reply", "conn_state", "history", "orig_bytes", "resp_bytes")
for line in sys.stdin:
    o = json.loads(line)
    if isinstance(o, list):
        tag, rec = o[0].split(".")[-1], o[2]
    else:
        tag, rec = o.get("_path"), o
    if tag in ("smtp", "conn"):
        print(tag, json.dumps({k: rec[k] for k in keep if k in rec}, sort_keys=True))' | sort
}
fields <"$NL_TMP/dump.jsonl" >"$NL_TMP/live.txt"
"$BUILD/mailtap" -r "$PCAP" -w - | "$BUILD/mailtap-cat" | fields >"$NL_TMP/offline.txt"
cat "$NL_TMP/live.txt"
grep -q '^smtp ' "$NL_TMP/live.txt" || nl_fail "no smtp record arrived"
diff "$NL_TMP/offline.txt" "$NL_TMP/live.txt" || nl_fail "records differ from mailtap -r"
grep -q VIOLATION "$NL_TMP/rx.log" && nl_fail "Forward protocol violation: $(grep VIOLATION "$NL_TMP/rx.log" | head -n 1)"
echo "PASS"
