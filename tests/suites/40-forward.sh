#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Fluent Forward output, end to end: build/tools/fwd_send -> sink_fwd -> tests/fwd_receiver.py
# (strict Forward v1 oracle acking like in_forward), over unix sockets and TCP on loopback.
#   1. oracle self-test: frames fluent-bit rejects are flagged
#   2. conformance: Forward/PackedForward/CompressedPackedForward, unix + TCP, split messages,
#      several messages per read, shared_key handshake (right key; wrong key, wrong password,
#      no key refused), the empty shared key
#   3. loss: 20000 records through a receiver killed/restarted 4 times mid-stream
#   4. loss: the sender SIGKILLed mid-stream and restarted with the same spool
#   5. backpressure: receiver that stalls or never acks; drop-newest, drop-oldest, block;
#      a receiver that hangs up on messages larger than its buffer (reported)
#   6. close() with no receiver returns within its timeout
#   7. the mailtap binary on the corpus: -w FILE and -o forward carry the same records
#   8. the sender thread and two workers under ThreadSanitizer
#   9. TLS (forward:tls:): delivery with shared_key through a receiver killed mid-stream,
#      a burst of 1000 acks,
#      server certificate and name checked, a peer without TLS and a silent one, client
#      certificates, mailtap -o forward:tls:
#      (also under ThreadSanitizer)
# Every step is bounded by `timeout`; everything started is killed and removed on exit.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSAN_BUILD=${TSAN_BUILD:-build-tsan} # the ThreadSanitizer build of steps 8 and 9e
SEND=$BUILD/tools/fwd_send
PY=/usr/bin/python3
RX="$PY tests/fwd_receiver.py"

if [ ! -x "$SEND" ]; then
	echo "skip: $SEND not built (make BUILD=$BUILD)"
	exit 249
fi
if ! $PY -c 'import msgpack' 2>/dev/null; then
	echo "skip: $PY has no msgpack (apt-get install python3-msgpack)"
	exit 249
fi

T=$(mktemp -d /tmp/mailtap-fwd.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

FAILS=0
ok() { echo "ok   $*"; }
fail() {
	echo "FAIL $*"
	FAILS=$((FAILS + 1))
}
# kv KEY FILE: the value of KEY=... on the last line of FILE that has it
kv() { grep -o "\b$1=[^ ]*" "$2" 2>/dev/null | tail -n 1 | cut -d= -f2; }
PORT=$((24300 + RANDOM % 2000))

# start_rx NAME ARGS...: starts a receiver in the background, waits until it listens
start_rx() {
	local name=$1
	shift
	rm -f "$T/$name.ready"
	$RX "$@" --ready "$T/$name.ready" --stats "$T/$name.stats" --log "$T/$name.log" \
		2>>"$T/$name.err" &
	RXPID=$!
	PIDS+=("$RXPID")
	for _ in $(seq 100); do
		[ -e "$T/$name.ready" ] && return 0
		sleep 0.05
	done
	echo "receiver $name did not start"
	cat "$T/$name.err"
	return 1
}
stop_rx() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# tsan_forward NAME PCAP WHAT ARGS...: $TSAN_BUILD/mailtap -r PCAP --workers 2 ARGS... to the
# receiver started as NAME with --dump $T/NAME.jsonl (stopped here): every record acked and
# received, no race report
tsan_forward() {
	local name=$1 pcap=$2 what=$3 r in
	shift 3
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" timeout 120 "$TSAN_BUILD/mailtap" -r "$pcap" \
		--workers 2 "$@" 2>"$T/$name.err"
	r=$?
	stop_rx "$RXPID"
	in=$(kv in "$T/$name.err")
	if [ $r -eq 0 ] && [ -n "$in" ] && [ "$in" -gt 0 ] && [ "$(kv acked "$T/$name.err")" = "$in" ] &&
		[ "$(wc -l <"$T/$name.jsonl")" -eq "$in" ]; then
		ok "TSan: --workers 2 $what: $in records acked and received, no race report"
	else
		fail "TSan $what: exit $r, in=$in acked=$(kv acked "$T/$name.err")"
		grep -A12 'WARNING: ThreadSanitizer' "$T/$name.err" | head -n 30
	fi
}
# invariant on a fwd_send output file: offered + recovered == acked + dropped + oversize +
# spool_lost + unacked_at_close
balance() {
	local f=$1 w
	w=$(awk '/^WRITTEN/ {print $2}' "$f")
	local lhs=$((w + $(kv recovered "$f")))
	local rhs=$(($(kv acked "$f") + $(kv dropped "$f") + $(kv oversize "$f") + \
		$(kv spool_lost "$f") + $(kv unacked_at_close "$f")))
	echo "    counters: written=$w recovered=$(kv recovered "$f") acked=$(kv acked "$f")" \
		"dropped=$(kv dropped "$f") oversize=$(kv oversize "$f")" \
		"spool_lost=$(kv spool_lost "$f") unacked_at_close=$(kv unacked_at_close "$f")" \
		"resent=$(kv msgs_resent "$f") connects=$(kv connects "$f")" \
		"mem_bytes_max=$(kv mem_bytes_max "$f")"
	[ "$lhs" -eq "$rhs" ]
}

echo "== 1. the oracle rejects what fluent-bit rejects"
start_rx oracle --unix "$T/oracle.sock" --out "$T/oracle.out" || exit 1
timeout 20 $PY - "$T/oracle.sock" <<'EOF'
import msgpack, socket, sys, time
p = sys.argv[1]
et = msgpack.ExtType(0, (1700000000).to_bytes(4, "big") + (5).to_bytes(4, "big"))
good = ["t", [[et, {"a": 1}]], {"chunk": "c1", "size": 1}]
bad = [
    None,                                                     # nil heartbeat
    {"tag": "t"},                                             # top-level map
    ["t"],                                                    # 1-element array
    [1, [[et, {"a": 1}]], {"chunk": "c", "size": 1}],         # non-string tag
    ["t", 1.5, {"a": 1}, {"chunk": "c"}],                     # float time, Message mode
    ["t", [[et, {"a": 1}]], {"chunk": 7, "size": 1}],         # non-string chunk
    ["t", [[msgpack.ExtType(0, b"\xff\xff\xff\xff\x00\x00\x00\x00"), {"a": 1}]],
     {"chunk": "c", "size": 1}],                              # reserved EventTime
    ["t", [[msgpack.ExtType(0, b"\x00\x00\x00\x01"), {"a": 1}]],
     {"chunk": "c", "size": 1}],                              # 4-byte EventTime
    ["t", [[msgpack.ExtType(1, b"\x00" * 8), {"a": 1}]], {"chunk": "c", "size": 1}],
    ["t", msgpack.packb([et, {"a": 1}]), None],               # nil options (packed)
    ["t", [[et, {"a": 1}]], {"chunk": "c", "size": 2}],       # size mismatch
    ["t", [[et, ["not", "a", "map"]]], {"chunk": "c", "size": 1}],
    ["t", msgpack.packb([et, {"a": 1}]).decode("latin1"),
     {"chunk": "c", "size": 1, "compressed": "gzip"}],        # gzip entries as str
]
acks = 0
for i, m in enumerate([good] + bad):
    s = socket.socket(socket.AF_UNIX)
    s.connect(p)
    s.sendall(msgpack.packb(m, use_bin_type=True))
    s.settimeout(2)
    try:
        r = s.recv(100)
    except socket.timeout:
        r = b""
    if i == 0:
        assert msgpack.unpackb(r) == {"ack": "c1"}, r
    elif r:
        print("oracle acked bad frame %d: %r" % (i, m)); sys.exit(1)
    s.close()
print("oracle: 1 good frame acked, %d bad frames refused" % len(bad))
EOF
rc=$?
sleep 0.2
stop_rx "$RXPID"
v=$(kv violations "$T/oracle.stats")
if [ $rc -eq 0 ] && [ "$v" = 13 ]; then ok "oracle: 13 bad frames flagged, connection closed, no ack"; else fail "oracle (rc=$rc violations=$v)"; fi

echo "== 2. conformance: every mode over unix and TCP"
n=0
for tr in unix tcp; do
	for mode in forward packed gzip; do
		n=$((n + 1))
		if [ $tr = unix ]; then
			addr=(--unix "$T/c$n.sock")
			spec="forward:unix:$T/c$n.sock"
		else
			addr=(--tcp "127.0.0.1:$PORT")
			spec="forward:tcp:127.0.0.1:$PORT"
		fi
		# small reads: every message arrives split over many reads
		start_rx c$n "${addr[@]}" --out "$T/c$n.out" --read-size 997 || exit 1
		timeout 30 "$SEND" -o "$spec" -n 3000 --tags 3 --mode $mode --batch-records 100 \
			--flush-ms 200 >"$T/c$n.send" 2>"$T/c$n.send.err"
		rc=$?
		stop_rx "$RXPID"
		# big reads, small messages, acks held: several messages per read
		start_rx d$n "${addr[@]}" --out "$T/d$n.out" --stall-ms 300 || exit 1
		timeout 30 "$SEND" -o "$spec" -n 600 --mode $mode --batch-records 5 --inflight 32 \
			>"$T/d$n.send" 2>"$T/d$n.send.err"
		rc2=$?
		stop_rx "$RXPID"
		$RX check --out "$T/c$n.out" --ids 0:3000 >"$T/c$n.check"
		c1=$?
		$RX check --out "$T/d$n.out" --ids 0:600 >"$T/d$n.check"
		c2=$?
		if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ $c1 -eq 0 ] && [ $c2 -eq 0 ] &&
			[ "$(kv violations "$T/c$n.stats")" = 0 ] &&
			[ "$(kv violations "$T/d$n.stats")" = 0 ] &&
			[ "$(kv acked "$T/c$n.send")" = 3000 ] &&
			[ "$(kv split_msgs "$T/c$n.stats")" -gt 0 ] &&
			[ "$(kv multi_msg_reads "$T/d$n.stats")" -gt 0 ]; then
			ok "$tr $mode: 3000+600 records, 0 violations, $(kv split_msgs "$T/c$n.stats") split messages, $(kv multi_msg_reads "$T/d$n.stats") multi-message reads, modes $(kv modes "$T/c$n.stats")"
		else
			fail "$tr $mode (send rc=$rc/$rc2 check=$c1/$c2)"
			cat "$T/c$n.check" "$T/d$n.check" "$T/c$n.stats" "$T/d$n.stats"
			tail -n 5 "$T/c$n.send.err" "$T/c$n.err" "$T/d$n.err"
		fi
	done
done

# shared_key: right key accepted; refused, records kept, close times out: a wrong key (the
# receiver hangs up after the PING, as in_forward), a wrong password (PONG false), and no key
# at all (the receiver's HELO is answered with records: a handshake failure, said so)
start_rx sk --tcp "127.0.0.1:$PORT" --out "$T/sk.out" --shared-key 's3cr3t' \
	--user 'alice:pw' || exit 1
timeout 30 "$SEND" -o "forward:tcp:127.0.0.1:$PORT" -n 1000 --mode gzip --shared-key s3cr3t \
	--username alice --password pw >"$T/sk1.send" 2>"$T/sk1.err"
rc1=$?
timeout 30 "$SEND" -o "forward:tcp:127.0.0.1:$PORT" -n 10 --shared-key wrong \
	--backoff-max-ms 200 --close-timeout-ms 1000 >"$T/sk2.send" 2>"$T/sk2.err"
rc2=$?
timeout 30 "$SEND" -o "forward:tcp:127.0.0.1:$PORT" -n 10 --shared-key s3cr3t \
	--username alice --password bad --backoff-max-ms 200 --close-timeout-ms 1000 \
	>"$T/sk3.send" 2>"$T/sk3.err"
rc3=$?
timeout 30 "$SEND" -o "forward:tcp:127.0.0.1:$PORT" -n 10 \
	--backoff-max-ms 200 --close-timeout-ms 1000 >"$T/sk4.send" 2>"$T/sk4.err"
rc4=$?
stop_rx "$RXPID"
if [ $rc1 -eq 0 ] && [ "$(kv acked "$T/sk1.send")" = 1000 ] && [ $rc2 -eq 3 ] &&
	[ "$(kv acked "$T/sk2.send")" = 0 ] && [ "$(kv handshake_failures "$T/sk2.send")" -gt 0 ] &&
	[ $rc3 -eq 3 ] && [ "$(kv acked "$T/sk3.send")" = 0 ] &&
	[ "$(kv handshake_failures "$T/sk3.send")" -gt 0 ] &&
	grep -q 'refused the handshake: username/password mismatch' "$T/sk3.err" &&
	[ $rc4 -eq 3 ] && [ "$(kv acked "$T/sk4.send")" = 0 ] &&
	[ "$(kv handshake_failures "$T/sk4.send")" -gt 0 ] &&
	grep -q 'asks for the shared-key handshake' "$T/sk4.err" &&
	[ "$(kv auth_refused "$T/sk.stats")" -gt 0 ] &&
	[ "$(grep -c 'shared_key mismatch' "$T/sk.log")" -gt 0 ] &&
	[ "$(cat "$T/sk.out" | wc -l)" = 1000 ]; then
	ok "shared_key handshake: right key acked 1000; wrong key, wrong password, no key refused $(kv handshake_failures "$T/sk2.send"), $(kv handshake_failures "$T/sk3.send"), $(kv handshake_failures "$T/sk4.send") times, nothing sent"
else
	fail "shared_key (rc=$rc1/$rc2/$rc3/$rc4)"
	cat "$T/sk1.send" "$T/sk2.send" "$T/sk3.send" "$T/sk4.send" "$T/sk.stats"
fi

# in_forward's empty_shared_key: the handshake with "" as the key
start_rx ske --unix "$T/ske.sock" --out "$T/ske.out" --shared-key '' || exit 1
timeout 30 "$SEND" -o "forward:unix:$T/ske.sock" -n 100 --shared-key '' >"$T/ske.send" \
	2>"$T/ske.err"
rc=$?
stop_rx "$RXPID"
if [ $rc -eq 0 ] && [ "$(kv acked "$T/ske.send")" = 100 ] && grep -q 'handshake .* ok' "$T/ske.log"; then
	ok "empty shared key (empty_shared_key): handshake done, 100 records acked"
else
	fail "empty shared key (rc=$rc)"
	tail -n 3 "$T/ske.send" "$T/ske.err"
fi

echo "== 3. loss: receiver killed and restarted mid-stream"
N=20000
sock="$T/loss.sock"
# (not under timeout(1), so that cleanup's kill reaches fwd_send itself; it is bounded by
# its own --close-timeout-ms)
"$SEND" -o "forward:unix:$sock" -n $N --rate 8000 --batch-records 250 \
	--flush-ms 200 --backoff-min-ms 50 --backoff-max-ms 400 --close-timeout-ms 20000 \
	--mode gzip >"$T/loss.send" 2>"$T/loss.send.err" &
SPID=$!
PIDS+=("$SPID")
# die after a few messages (the last one received, written, not acked), then SIGKILL by timer
for d in 5 9 7; do
	start_rx loss --unix "$sock" --out "$T/loss.out" --die-after $d || exit 1
	for _ in $(seq 200); do kill -0 "$RXPID" 2>/dev/null || break; sleep 0.05; done
	wait "$RXPID" 2>/dev/null
	sleep 0.3 # receiver down: the sender backs off and retries
done
start_rx loss --unix "$sock" --out "$T/loss.out" || exit 1
sleep 0.4
kill -9 "$RXPID"
wait "$RXPID" 2>/dev/null
sleep 0.3
start_rx loss --unix "$sock" --out "$T/loss.out" || exit 1
wait "$SPID"
rc=$?
stop_rx "$RXPID"
$RX check --out "$T/loss.out" --ids 0:$N >"$T/loss.check"
c=$?
cat "$T/loss.check"
if [ $rc -eq 0 ] && [ $c -eq 0 ] && balance "$T/loss.send" &&
	[ "$(kv acked "$T/loss.send")" = $N ] && [ "$(kv dropped "$T/loss.send")" = 0 ] &&
	[ "$(kv msgs_resent "$T/loss.send")" -gt 0 ] && ! grep -q VIOLATION "$T/loss.log"; then
	ok "receiver restarts: all $N records arrived, duplicates only as resent chunks"
else
	fail "receiver restarts (send rc=$rc check=$c)"
	tail -n 5 "$T/loss.send.err"
fi

echo "== 4. loss: sender SIGKILLed mid-stream, restarted with the same spool"
sock="$T/spool.sock"
spool="$T/spool"
# the receiver acks 6 messages, takes the 7th without acking, and dies
start_rx sp1 --unix "$sock" --out "$T/spool.out" --die-after 7 || exit 1
"$SEND" -o "forward:unix:$sock" -n $N --pause-after 12000 --rate 20000 \
	--batch-records 300 --flush-ms 100 --spool "$spool" --progress "$T/spool.progress" \
	--backoff-max-ms 300 >"$T/spool1.send" 2>"$T/spool1.err" &
SPID=$!
PIDS+=("$SPID")
for _ in $(seq 200); do
	[ "$(kv durable "$T/spool.progress")" = 12000 ] && break
	sleep 0.05
done
kill -9 "$SPID"
wait "$SPID" 2>/dev/null
files=$(ls "$spool"/*.fwd 2>/dev/null | wc -l)
acked1=$(kv acked "$T/spool.progress")
echo "    killed with durable=$(kv durable "$T/spool.progress") acked=$acked1, $files messages in the spool"
stop_rx "$RXPID"
start_rx sp2 --unix "$sock" --out "$T/spool.out" || exit 1
timeout 60 "$SEND" -o "forward:unix:$sock" -n 8000 --first-id 12000 --rate 20000 \
	--batch-records 300 --flush-ms 100 --spool "$spool" --close-timeout-ms 20000 \
	>"$T/spool2.send" 2>"$T/spool2.err"
rc=$?
stop_rx "$RXPID"
$RX check --out "$T/spool.out" --ids 0:$N >"$T/spool.check"
c=$?
cat "$T/spool.check"
left=$(ls "$spool"/*.fwd 2>/dev/null | wc -l)
if [ "$files" -gt 0 ] && [ $rc -eq 0 ] && [ $c -eq 0 ] && balance "$T/spool2.send" &&
	[ "$(kv recovered "$T/spool2.send")" -gt 0 ] && [ "$left" = 0 ] &&
	[ "$(kv spool_bytes "$T/spool2.send")" = 0 ]; then
	ok "SIGKILL + spool: all $N records arrived ($(kv recovered "$T/spool2.send") recovered from the spool), spool empty after acks"
else
	fail "SIGKILL + spool (files=$files rc=$rc check=$c left=$left)"
	tail -n 5 "$T/spool2.err"
fi

echo "== 5. backpressure"
Q=$((2 * 1024 * 1024))
# drop-newest: acks held 2 s while 100000 x ~260-byte records are written
start_rx bp1 --unix "$T/bp1.sock" --out "$T/bp1.out" --stall-ms 2000 || exit 1
timeout 60 "$SEND" -o "forward:unix:$T/bp1.sock" -n 100000 --pad 200 --queue-bytes $Q \
	--policy drop-newest --close-timeout-ms 20000 >"$T/bp1.send" 2>"$T/bp1.err"
rc=$?
stop_rx "$RXPID"
acked=$(kv acked "$T/bp1.send")
# ids delivered: a prefix 0..F-1, then at most a few later records that found room when an
# encoded batch released its unused framing reservation; never the newest
read -r uniq first_gap maxid < <(awk '{print $4}' "$T/bp1.out" | sort -n | uniq |
	awk 'BEGIN {g = -1} {if (g < 0 && $1 != NR - 1) g = NR - 1; m = $1} END {if (g < 0) g = NR; print NR, g, m}')
mx=$(kv mem_bytes_max "$T/bp1.send")
if [ $rc -eq 0 ] && balance "$T/bp1.send" && [ "$(kv dropped "$T/bp1.send")" -gt 0 ] &&
	[ "$uniq" = "$acked" ] && [ "$first_gap" -ge $((acked * 95 / 100)) ] &&
	[ "$maxid" -lt 99999 ] && [ "$mx" -le $Q ]; then
	ok "drop-newest: delivered ids 0..$((first_gap - 1)) + $((acked - first_gap)) later ones, dropped $(kv dropped "$T/bp1.send") newer, mem_bytes_max=$mx <= $Q, VmHWM $(awk '/VmHWM/ {print $2}' "$T/bp1.send") kB"
else
	fail "drop-newest (rc=$rc uniq=$uniq acked=$acked first_gap=$first_gap maxid=$maxid mem_max=$mx)"
	cat "$T/bp1.send"
fi
# drop-oldest: same load; the newest records survive
start_rx bp2 --unix "$T/bp2.sock" --out "$T/bp2.out" --stall-ms 2000 || exit 1
timeout 60 "$SEND" -o "forward:unix:$T/bp2.sock" -n 100000 --pad 200 --queue-bytes $Q \
	--policy drop-oldest --close-timeout-ms 20000 >"$T/bp2.send" 2>"$T/bp2.err"
rc=$?
stop_rx "$RXPID"
mx=$(kv mem_bytes_max "$T/bp2.send")
last=$(awk '{print $4}' "$T/bp2.out" | sort -n | tail -n 1)
if [ $rc -eq 0 ] && balance "$T/bp2.send" && [ "$(kv dropped "$T/bp2.send")" -gt 0 ] &&
	[ "$last" = 99999 ] && [ "$mx" -le $Q ] &&
	[ "$(kv violations "$T/bp2.stats")" = 0 ]; then
	ok "drop-oldest: newest record 99999 delivered, dropped $(kv dropped "$T/bp2.send") old ones, mem_bytes_max=$mx <= $Q"
else
	fail "drop-oldest (rc=$rc last=$last mem_max=$mx)"
	cat "$T/bp2.send"
fi
# block: nothing dropped, the writer waits for the stalled receiver
start_rx bp3 --unix "$T/bp3.sock" --out "$T/bp3.out" --stall-ms 2000 || exit 1
t0=$(date +%s%N)
timeout 60 "$SEND" -o "forward:unix:$T/bp3.sock" -n 30000 --pad 200 --queue-bytes $Q \
	--policy block --close-timeout-ms 20000 >"$T/bp3.send" 2>"$T/bp3.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
stop_rx "$RXPID"
$RX check --out "$T/bp3.out" --ids 0:30000 >"$T/bp3.check"
c=$?
mx=$(kv mem_bytes_max "$T/bp3.send")
if [ $rc -eq 0 ] && [ $c -eq 0 ] && [ "$(kv dropped "$T/bp3.send")" = 0 ] && [ $ms -ge 1800 ] &&
	[ "$mx" -le $Q ]; then
	ok "block: all 30000 delivered, none dropped, writer blocked (${ms} ms), mem_bytes_max=$mx <= $Q"
else
	fail "block (rc=$rc check=$c ms=$ms mem_max=$mx)"
	cat "$T/bp3.check" "$T/bp3.send"
fi
# a receiver whose buffer is smaller than our messages (in_forward with a Buffer_Max_Size
# below --forward-max-message hangs up on each, unacked): the stall is said, with the cure
start_rx bpsmall --unix "$T/bpsmall.sock" --out "$T/bpsmall.out" --max-message 20000 || exit 1
timeout 30 "$SEND" -o "forward:unix:$T/bpsmall.sock" -n 400 --batch-records 200 --pad 200 \
	--backoff-min-ms 20 --backoff-max-ms 100 --close-timeout-ms 1500 >"$T/bpsmall.send" \
	2>"$T/bpsmall.err"
rc=$?
stop_rx "$RXPID"
if [ $rc -eq 3 ] && [ "$(kv acked "$T/bpsmall.send")" = 0 ] &&
	[ "$(kv disconnects "$T/bpsmall.send")" -ge 3 ] &&
	[ "$(grep -c 'closed 3 connections in a row, without an ack, after message' "$T/bpsmall.err")" = 1 ] &&
	grep -q 'Buffer_Max_Size (keep --forward-max-message, 1000000, below it)' "$T/bpsmall.err"; then
	ok "receiver refusing a message (larger than its buffer): $(kv disconnects "$T/bpsmall.send") unacked hang-ups, the stall reported once with its cause"
else
	fail "receiver refusing a message (rc=$rc)"
	cat "$T/bpsmall.send"
	tail -n 3 "$T/bpsmall.err"
fi
# ... but our own ack timeouts on a receiver that reads and never acks are no refusal
start_rx bpslow --unix "$T/bpslow.sock" --no-ack || exit 1
timeout 30 "$SEND" -o "forward:unix:$T/bpslow.sock" -n 100 --ack-timeout-ms 150 \
	--backoff-min-ms 20 --backoff-max-ms 50 --close-timeout-ms 1500 >"$T/bpslow.send" \
	2>"$T/bpslow.err"
rc=$?
stop_rx "$RXPID"
if [ $rc -eq 3 ] && [ "$(kv ack_timeouts "$T/bpslow.send")" -ge 3 ] &&
	! grep -q 'connections in a row' "$T/bpslow.err"; then
	ok "never-acking receiver: $(kv ack_timeouts "$T/bpslow.send") ack timeouts, not reported as a refused message"
else
	fail "never-acking receiver, ack timeouts (rc=$rc)"
	grep 'connections in a row' "$T/bpslow.err"
fi
# never acks: 300000 records (~80 MB) through a 4 MiB queue, memory stays bounded
Q4=$((4 * 1024 * 1024))
start_rx bp4 --unix "$T/bp4.sock" --no-ack || exit 1
# (an ASan build would keep dropped batches in its quarantine: keep it small here)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1 \
timeout 60 "$SEND" -o "forward:unix:$T/bp4.sock" -n 300000 --pad 200 --queue-bytes $Q4 \
	--close-timeout-ms 1000 >"$T/bp4.send" 2>"$T/bp4.err"
rc=$?
stop_rx "$RXPID"
mx=$(kv mem_bytes_max "$T/bp4.send")
hwm=$(awk '/VmHWM/ {print $2}' "$T/bp4.send")
if [ $rc -eq 3 ] && balance "$T/bp4.send" && [ "$(kv acked "$T/bp4.send")" = 0 ] &&
	[ "$mx" -le $Q4 ] && [ "$hwm" -lt 40000 ]; then
	ok "never-acking receiver: queue held at $mx <= $Q4 bytes, VmHWM ${hwm} kB, dropped $(kv dropped "$T/bp4.send"), close gave up after its timeout"
else
	fail "never-acking receiver (rc=$rc mem_max=$mx hwm=$hwm)"
	cat "$T/bp4.send"
fi

echo "== 6. close() without a receiver is bounded"
t0=$(date +%s%N)
timeout 20 "$SEND" -o "forward:unix:$T/nobody.sock" -n 100 --close-timeout-ms 1500 \
	>"$T/nobody.send" 2>"$T/nobody.err"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
# A TCP blackhole: SYNs routed into a veth whose peer is down, inside a private network
# namespace (nothing leaves the host); without root/unshare, a refused loopback port.
t0=$(date +%s%N)
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
	where="TCP blackhole in a private netns"
	timeout 20 unshare -n bash -c 'ip link set lo up && ip link add v0 type veth peer name v1 &&
		ip addr add 10.9.9.1/24 dev v0 && ip link set v0 up &&
		ip route add 192.0.2.0/24 dev v0 &&
		exec "$0" -o forward:tcp:192.0.2.1:24224 -n 100 --close-timeout-ms 1500' "$SEND" \
		>"$T/nobody2.send" 2>"$T/nobody2.err"
	rc2=$?
else
	where="TCP port refused on loopback"
	timeout 20 "$SEND" -o "forward:tcp:127.0.0.1:1" -n 100 --close-timeout-ms 1500 \
		>"$T/nobody2.send" 2>"$T/nobody2.err"
	rc2=$?
fi
ms2=$((($(date +%s%N) - t0) / 1000000))
if [ $rc -eq 3 ] && [ $rc2 -eq 3 ] && [ $ms -lt 6000 ] && [ $ms2 -lt 6000 ] &&
	[ "$(kv unacked_at_close "$T/nobody.send")" = 100 ]; then
	ok "close() gave up after ${ms} ms (unix, no listener) and ${ms2} ms ($where), 100 unacked counted"
else
	fail "bounded close (rc=$rc/$rc2 ms=$ms/$ms2)"
fi

echo "== 7. mailtap itself: -w FILE and -o forward deliver the same records"
if [ -x "$BUILD/mailtap" ] && ls ../shared/corpus/*/*.pcap >/dev/null 2>&1; then
	start_rx mt --unix "$T/mt.sock" --dump "$T/mt.fwd.jsonl" || exit 1
	npcap=0
	: >"$T/mt.file.jsonl"
	for p in ../shared/corpus/*/*.pcap; do
		timeout 60 "$BUILD/mailtap" -r "$p" -w "$T/mt.file" -o "forward:unix:$T/mt.sock" \
			--forward-compress >/dev/null 2>>"$T/mt.err" || continue
		$RX filedump --file "$T/mt.file" >>"$T/mt.file.jsonl"
		npcap=$((npcap + 1))
	done
	stop_rx "$RXPID"
	sort "$T/mt.file.jsonl" >"$T/a"
	sort "$T/mt.fwd.jsonl" >"$T/b"
	nrec=$(wc -l <"$T/a")
	if [ "$npcap" -gt 0 ] && [ "$nrec" -gt 0 ] && cmp -s "$T/a" "$T/b" &&
		[ "$(kv violations "$T/mt.stats")" = 0 ]; then
		ok "mailtap -r on $npcap corpus pcaps: $nrec records, identical (tag, EventTime, record) through -w and -o forward (gzip), 0 violations"
	else
		fail "mailtap -w vs -o forward ($npcap pcaps, $nrec file records, $(wc -l <"$T/b") forward records, violations $(kv violations "$T/mt.stats"))"
		diff "$T/a" "$T/b" | head -n 5
	fi
else
	echo "skip 7: no $BUILD/mailtap or no corpus"
fi

echo "== 8. the sender thread and two workers under ThreadSanitizer"
if [ -x "$TSAN_BUILD/mailtap" ]; then
	start_rx ts --unix "$T/ts.sock" --dump "$T/ts.jsonl" || exit 1
	"$BUILD/tools/gen_smtp_pcap" -o "$T/ts.pcap" -n 300 -c 30 -a 20000 --seed 3 2>/dev/null
	tsan_forward ts "$T/ts.pcap" "-o forward (gzip)" -o "forward:unix:$T/ts.sock" \
		--forward-compress
else
	echo "skip 8: $TSAN_BUILD/mailtap not built (25-workers builds it)"
fi

echo "== 9. TLS"
if command -v openssl >/dev/null; then
	# a CA, a server certificate for fwd.test and 127.0.0.1, a client CA and a client
	# certificate; another CA that signed nothing here
	C=$T/tls
	mkdir -p "$C"
	mk_ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$C/$1.key" -out "$C/$1.pem" -days 2 -subj "/CN=$1" 2>>"$C/err"; }
	mk_cert() { # name ca san
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$1" 2>>"$C/err" &&
			printf 'subjectAltName=%s\n' "$3" >"$C/$1.ext" &&
			openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" \
				-CAcreateserial -out "$C/$1.pem" -days 2 -extfile "$C/$1.ext" 2>>"$C/err"
	}
	mk_ca ca && mk_ca other && mk_ca clientca &&
		mk_cert srv ca "DNS:fwd.test,IP:127.0.0.1" && mk_cert client clientca "DNS:sensor" ||
		{ fail "TLS: cannot make test certificates"; cat "$C/err"; }
	TLSRX=(--tls-cert "$C/srv.pem" --tls-key "$C/srv.key")

	# 9a. 20000 records, gzip, shared_key, through a receiver that dies twice mid-stream
	N=20000
	"$SEND" -o "forward:tls:127.0.0.1:$PORT" -n $N --rate 8000 --batch-records 250 \
		--flush-ms 200 --backoff-min-ms 50 --backoff-max-ms 400 --close-timeout-ms 20000 \
		--mode gzip --shared-key s3cr3t --tls-ca "$C/ca.pem" >"$T/tls.send" \
		2>"$T/tls.send.err" &
	SPID=$!
	PIDS+=("$SPID")
	for d in 5 9; do
		start_rx tls --tcp "127.0.0.1:$PORT" --out "$T/tls.out" --die-after $d \
			--shared-key s3cr3t --read-size 700 "${TLSRX[@]}" || exit 1
		for _ in $(seq 200); do kill -0 "$RXPID" 2>/dev/null || break; sleep 0.05; done
		wait "$RXPID" 2>/dev/null
		sleep 0.3
	done
	start_rx tls --tcp "127.0.0.1:$PORT" --out "$T/tls.out" --shared-key s3cr3t \
		--read-size 700 "${TLSRX[@]}" || exit 1
	wait "$SPID"
	rc=$?
	stop_rx "$RXPID"
	$RX check --out "$T/tls.out" --ids 0:$N >"$T/tls.check"
	c=$?
	if [ $rc -eq 0 ] && [ $c -eq 0 ] && balance "$T/tls.send" &&
		[ "$(kv acked "$T/tls.send")" = $N ] && [ "$(kv msgs_resent "$T/tls.send")" -gt 0 ] &&
		[ "$(kv tls_failures "$T/tls.send")" = 0 ] && grep -q ' TLS TLSv1.[23]' "$T/tls.log" &&
		! grep -q VIOLATION "$T/tls.log"; then
		ok "TLS + shared_key + gzip: all $N records through 2 receiver deaths, resent chunks only, $(grep -o ' TLS TLSv1.[23]' "$T/tls.log" | sort -u | tr -d '\n')"
	else
		fail "TLS delivery (send rc=$rc check=$c)"
		cat "$T/tls.check"
		tail -n 5 "$T/tls.send.err" "$T/tls.err"
	fi

	# 9a'. a burst of acks larger than the reply reader (12288 bytes: 1000 acks of 30 bytes,
	# held 1.5 s by the receiver, then sent at once): read in pieces the reader can take,
	# not taken for one oversized reply (which lost the connection and resent all 1000)
	start_rx tlsburst --tcp "127.0.0.1:$PORT" --out "$T/tlsburst.out" --stall-ms 1500 \
		"${TLSRX[@]}" || exit 1
	timeout 60 "$SEND" -o "forward:tls:127.0.0.1:$PORT" -n 1000 --tls-ca "$C/ca.pem" \
		--batch-records 1 --inflight 1000 --close-timeout-ms 20000 >"$T/tlsburst.send" \
		2>"$T/tlsburst.err"
	r=$?
	stop_rx "$RXPID"
	$RX check --out "$T/tlsburst.out" --ids 0:1000 >"$T/tlsburst.check"
	c=$?
	if [ $r -eq 0 ] && [ $c -eq 0 ] && [ "$(kv acked "$T/tlsburst.send")" = 1000 ] &&
		[ "$(kv disconnects "$T/tlsburst.send")" = 0 ] &&
		[ "$(kv msgs_resent "$T/tlsburst.send")" = 0 ] &&
		[ "$(kv duplicate_ids "$T/tlsburst.check")" = 0 ]; then
		ok "TLS: 1000 acks in one burst taken without a loss of the connection, no resend"
	else
		fail "TLS ack burst (rc=$r check=$c disconnects=$(kv disconnects "$T/tlsburst.send") resent=$(kv msgs_resent "$T/tlsburst.send"))"
		grep 'connection lost' "$T/tlsburst.err" | head -n 2
	fi

	# 9b. the server's certificate is checked: a wrong name, a CA that did not sign it, and
	# the system's CAs refuse it; nothing is sent, tls_failures counts the attempts
	start_rx tlsbad --tcp "127.0.0.1:$PORT" --out "$T/tlsbad.out" "${TLSRX[@]}" || exit 1
	bad=0
	for args in "--tls-ca $C/ca.pem --tls-name other.test" "--tls-ca $C/other.pem" ""; do
		# shellcheck disable=SC2086
		timeout 30 "$SEND" -o "forward:tls:127.0.0.1:$PORT" -n 10 $args \
			--backoff-max-ms 200 --close-timeout-ms 1000 >"$T/tlsbad.send" 2>"$T/tlsbad.err"
		r=$?
		if [ $r -eq 3 ] && [ "$(kv acked "$T/tlsbad.send")" = 0 ] &&
			[ "$(kv tls_failures "$T/tlsbad.send")" -gt 0 ] &&
			[ "$(kv connects "$T/tlsbad.send")" = 0 ] &&
			grep -q 'TLS handshake with .* failed' "$T/tlsbad.err"; then
			bad=$((bad + 1))
		else
			echo "    refused? '$args': rc=$r"
			cat "$T/tlsbad.send" "$T/tlsbad.err" | tail -n 4
		fi
	done
	# the same name through the IP address it is issued for: accepted
	timeout 30 "$SEND" -o "forward:tls:localhost:$PORT" -n 10 --tls-ca "$C/ca.pem" \
		--tls-name 127.0.0.1 >"$T/tlsip.send" 2>"$T/tlsip.err"
	r=$?
	stop_rx "$RXPID"
	if [ $bad -eq 3 ] && [ $r -eq 0 ] && [ "$(kv acked "$T/tlsip.send")" = 10 ] &&
		[ "$(cat "$T/tlsbad.out" 2>/dev/null | wc -l)" = 10 ]; then
		ok "TLS: wrong name, unknown CA and the system's CAs refused (nothing sent); the certificate's IP address accepted"
	else
		fail "TLS certificate checks ($bad of 3 refused, IP name rc=$r)"
	fi

	# 9b'. hostile or broken peers: a Forward receiver without TLS (it takes the ClientHello
	# for msgpack and hangs up), and one that accepts and never answers: nothing sent, the
	# failures counted, close() within its timeout
	start_rx tlsplain --tcp "127.0.0.1:$PORT" --out "$T/tlsplain.out" || exit 1
	timeout 30 "$SEND" -o "forward:tls:127.0.0.1:$PORT" -n 10 --tls-ca "$C/ca.pem" \
		--backoff-max-ms 200 --close-timeout-ms 1000 >"$T/tlsplain.send" 2>"$T/tlsplain.err"
	r1=$?
	stop_rx "$RXPID"
	$PY -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
held = []
while True:
    held.append(s.accept()[0])' "$PORT" &
	MUTE=$!
	PIDS+=("$MUTE")
	sleep 0.3
	t0=$(date +%s%N)
	timeout 30 "$SEND" -o "forward:tls:127.0.0.1:$PORT" -n 10 --tls-ca "$C/ca.pem" \
		--close-timeout-ms 1000 >"$T/tlsmute.send" 2>"$T/tlsmute.err"
	r2=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	kill "$MUTE" 2>/dev/null
	wait "$MUTE" 2>/dev/null
	if [ $r1 -eq 3 ] && [ "$(kv acked "$T/tlsplain.send")" = 0 ] &&
		[ "$(kv tls_failures "$T/tlsplain.send")" -gt 0 ] && [ ! -s "$T/tlsplain.out" ] &&
		[ $r2 -eq 3 ] && [ "$(kv acked "$T/tlsmute.send")" = 0 ] &&
		[ "$(kv unacked_at_close "$T/tlsmute.send")" = 10 ] && [ $ms -lt 6000 ]; then
		ok "TLS to a receiver without TLS: refused $(kv tls_failures "$T/tlsplain.send") times, nothing sent; to a silent peer: close() after ${ms} ms, 10 unacked counted"
	else
		fail "TLS with a broken peer (rc=$r1/$r2, ${ms} ms)"
		tail -n 3 "$T/tlsplain.send" "$T/tlsmute.send"
	fi

	# 9c. client certificates: a receiver that requires one refuses a sender without it
	start_rx tlscl --tcp "127.0.0.1:$PORT" --out "$T/tlscl.out" "${TLSRX[@]}" \
		--tls-client-ca "$C/clientca.pem" || exit 1
	timeout 30 "$SEND" -o "forward:tls:127.0.0.1:$PORT" -n 10 --tls-ca "$C/ca.pem" \
		--backoff-max-ms 200 --close-timeout-ms 1000 >"$T/tlscl1.send" 2>"$T/tlscl1.err"
	r1=$?
	timeout 30 "$SEND" -o "forward:tls:127.0.0.1:$PORT" -n 1000 --tls-ca "$C/ca.pem" \
		--tls-cert "$C/client.pem" --tls-key "$C/client.key" >"$T/tlscl2.send" 2>"$T/tlscl2.err"
	r2=$?
	stop_rx "$RXPID"
	if [ $r1 -eq 3 ] && [ "$(kv acked "$T/tlscl1.send")" = 0 ] &&
		[ "$(kv tls_refused "$T/tlscl.stats")" -gt 0 ] && [ $r2 -eq 0 ] &&
		[ "$(kv acked "$T/tlscl2.send")" = 1000 ]; then
		ok "TLS client certificate: refused without one ($(kv tls_refused "$T/tlscl.stats") attempts), 1000 records acked with it"
	else
		fail "TLS client certificate (rc=$r1/$r2)"
		tail -n 3 "$T/tlscl1.send" "$T/tlscl2.send" "$T/tlscl.log"
	fi

	# 9d. mailtap itself: the records of -w and of -o forward:tls: are the same (TLS 1.2 here)
	p=$T/tlsmt.pcap
	if [ -x "$BUILD/mailtap" ] &&
		"$BUILD/tools/gen_smtp_pcap" -o "$p" -n 300 -c 20 -a 20000 --seed 5 2>/dev/null; then
		start_rx tlsmt --tcp "127.0.0.1:$PORT" --dump "$T/tlsmt.fwd.jsonl" "${TLSRX[@]}" \
			--tls12 || exit 1
		timeout 60 "$BUILD/mailtap" -r "$p" -w "$T/tlsmt.file" \
			-o "forward:tls:127.0.0.1:$PORT" --forward-tls-ca "$C/ca.pem" \
			--forward-tls-name fwd.test >/dev/null 2>"$T/tlsmt.err"
		r=$?
		# the same receiver under a name its certificate does not carry: refused, and the
		# stats record says so (the capture ends 2 s after its last packet: attempts made)
		(cat "$p"; sleep 2) | timeout 60 "$BUILD/mailtap" -r - -w "$T/tlsbadname.file" \
			--stats-interval 3600 -o "forward:tls:127.0.0.1:$PORT" \
			--forward-tls-ca "$C/ca.pem" --forward-tls-name wrong.test \
			--forward-close-timeout-ms 500 >/dev/null 2>"$T/tlsbadname.err"
		rb=$?
		stop_rx "$RXPID"
		$RX filedump --file "$T/tlsmt.file" | sort >"$T/a"
		sort "$T/tlsmt.fwd.jsonl" >"$T/b"
		if [ $r -eq 0 ] && [ -s "$T/a" ] && cmp -s "$T/a" "$T/b" &&
			grep -q ' TLS TLSv1.2' "$T/tlsmt.log"; then
			ok "mailtap -o forward:tls: (TLS 1.2) on $(basename "$p"): $(wc -l <"$T/a") records, the same as -w"
		else
			fail "mailtap -o forward:tls: (rc=$r, $(wc -l <"$T/a") vs $(wc -l <"$T/b") records)"
			tail -n 3 "$T/tlsmt.err"
		fi
		stat_of() { "$BUILD/mailtap-cat" -s stats "$T/tlsbadname.file" | tail -n 1 |
			grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
		if [ $rb -eq 3 ] && [ "$(stat_of forward_tls_failures)" -gt 0 ] &&
			[ "$(stat_of forward_connects)" = 0 ] && [ "$(stat_of forward_records_acked)" = 0 ] &&
			[ "$(stat_of forward_records_in)" -gt 0 ]; then
			ok "mailtap -o forward:tls: with a wrong name: exit 3, stats record forward_tls_failures $(stat_of forward_tls_failures), forward_connects 0, nothing acked"
		else
			fail "mailtap -o forward:tls: with a wrong name (rc=$rb, tls_failures '$(stat_of forward_tls_failures)', connects '$(stat_of forward_connects)')"
			tail -n 3 "$T/tlsbadname.err"
		fi
	fi
	# 9e. the TLS sender thread beside two workers under ThreadSanitizer
	if [ -x "$TSAN_BUILD/mailtap" ] && [ -s "$p" ]; then
		start_rx tlsts --tcp "127.0.0.1:$PORT" --dump "$T/tlsts.jsonl" "${TLSRX[@]}" \
			--shared-key k || exit 1
		tsan_forward tlsts "$p" "-o forward:tls: (gzip, shared key)" \
			-o "forward:tls:127.0.0.1:$PORT" --forward-tls-ca "$C/ca.pem" \
			--forward-shared-key k --forward-compress
	else
		echo "skip 9e: $TSAN_BUILD/mailtap not built (25-workers builds it)"
	fi
else
	fail "TLS: no openssl command (tools/install-deps.sh installs it)"
fi

echo
if [ $FAILS -gt 0 ]; then
	echo "$FAILS forward test(s) failed"
	exit 1
fi
echo "all forward tests passed"
