#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Hostile traffic and resource limits (issue 9): every limit hit with generated traffic
# (build/tools/gen_hostile, streamed into mailtap -r -), memory measured (/usr/bin/time peak
# RSS), counters and records asserted with exact values. docs/robustness.md has the figures.
#   1. SYN flood over --max-flows: bounded RSS, bytes per tracked flow, evictions, conn records,
#      --workers 2; one real SMTP session inside the flood gives the records it gives alone
#   2. open DATA sessions over --max-flows: bounded RSS, bytes per open session
#   3. a 1 GiB client line in the command phase and inside DATA; 3b. 5000 pipelined RCPTs;
#      3c. a BDAT chunk claiming 2^63 - 1 bytes; 3d. floods of short lines
#   4. a MIME message nested 10000 deep; 4b. a 10 MB header; 4c. 20000 parts
#   5. a 100 MB base64 body of garbage
#   6. TLS on 465: a record header claiming 65535 bytes; a ClientHello claiming 16 MiB
#   7. out-of-order data above a hole: --reasm-max-ooo-bytes, --reasm-max-total-bytes
#   8. a Forward receiver that never reads: drop-oldest, drop-newest, block + SIGTERM; a peer
#      replying garbage
#   9. files in flight over --max-files; extraction to a full tmpfs, extraction limits, planted
#      symlinks; 9b. IP fragments that never complete
#  10. garbage captures (under the sanitizer build when there is one); 11. captures from pipes
# LIMITS_SCALE=P runs the flood/size scenarios at P% of the issue's figures (default 20: the
# suite stays well under 3 minutes on 2 cores); LIMITS_SCALE=100 is the full scale.
# Checks that fail because of a known, reported bug are XFAIL (listed at the end; the suite
# passes); LIMITS_STRICT=1 makes them failures. An XPASS means the bug is fixed: drop the x.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
M=$B/mailtap
C=$B/mailtap-cat
G=$B/tools/gen_hostile
S=${LIMITS_SCALE:-20}
STRICT=${LIMITS_STRICT:-0}
for x in "$M" "$C" "$G" /usr/bin/time; do
	[ -x "$x" ] || {
		echo "skip: $x not built (make BUILD=$B)"
		exit 249
	}
done
# Under ASan (make SANITIZE=1) redzones, shadow memory and the quarantine change RSS: the
# memory bounds are printed, not asserted; everything else is.
RSSCHK=1
if grep -q __asan_init "$M" 2>/dev/null; then
	RSSCHK=0
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1
	echo "(sanitizer build: RSS bounds reported, not asserted)"
fi
le_kb() { [ $RSSCHK = 0 ] || [ "$1" -le "$2" ]; }
T=$(mktemp -d /tmp/mailtap-limits.XXXXXX)
PIDS=()
MNT=
cleanup() {
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0 xfails=0 xpasses=0
XF=()
ok() { echo "ok    $*"; }
bad() {
	echo "FAIL  $*"
	fails=$((fails + 1))
}
# xcheck "what" "bug" CONDITION...: a check a known bug makes fail
xcheck() {
	local what=$1 bug=$2
	shift 2
	if "$@"; then
		echo "XPASS $what (known bug fixed? $bug)"
		xpasses=$((xpasses + 1))
	elif [ "$STRICT" = 1 ]; then
		bad "$what [$bug]"
	else
		echo "XFAIL $what [$bug]"
		xfails=$((xfails + 1))
		XF+=("$what [$bug]")
	fi
}
# st FILE KEY: a counter of the last stats record
st() { $C -s stats -c "$2" <"$1" | tail -n 1; }
# n STREAM FILE: number of records
n() { $C -s "$1" "$2" | wc -l; }
# rss NAME CMD...: runs CMD under /usr/bin/time; peak RSS (KiB) in $T/NAME.rss, wall seconds
# in $T/NAME.secs, exit status in $T/NAME.rc, stderr in $T/NAME.err
rss() {
	local name=$1
	shift
	/usr/bin/time -f "%M %e" -o "$T/$name.time" "$@" 2>"$T/$name.err"
	echo $? >"$T/$name.rc"
	awk 'END {print $1}' "$T/$name.time" >"$T/$name.rss"
	awk 'END {print $2}' "$T/$name.time" >"$T/$name.secs"
}
rc() { cat "$T/$1.rc"; }
kb() { cat "$T/$1.rss"; }
secs() { cat "$T/$1.secs"; }
scale() { echo $(($1 * S / 100)); }
# jcheck FILE PYTHON-EXPR: the records of FILE (mailtap-cat JSON lines) as list R of dicts;
# exit 0 when EXPR is true, else print the expression
jcheck() {
	python3 -c '
import json, sys
R = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def S(p): return [r for r in R if r["_path"] == p]
ok = eval("(" + sys.argv[2] + ")")
if not ok: print("    (false: %s)" % sys.argv[2])
sys.exit(0 if ok else 1)' "$1" "$2"
}
cat_json() { $C "$1" >"$1.json"; }

echo "== 0. baseline: one normal session"
$G -s mimedeep -n 0 -o "$T/base.pcap" 2>/dev/null
rss base $M -r "$T/base.pcap" --seed 1 -w "$T/base.mp"
BASE=$(kb base)
[ "$(rc base)" = 0 ] && [ "$(n smtp "$T/base.mp")" = 2 ] && ok "baseline: 2 smtp records, peak RSS ${BASE} KiB" ||
	bad "baseline run (rc $(rc base))"

echo "== 1. SYN flood over --max-flows"
N=$(scale 1000000)
MFA=$((N / 10)) MFB=$((N / 20))
$G -s synflood -n "$N" -o "$T/flood.pcap" 2>/dev/null
rss sfa $M -r "$T/flood.pcap" --max-flows $MFA --stats-interval 1 -w "$T/sfa.mp"
rss sfb $M -r "$T/flood.pcap" --max-flows $MFB --stats-interval 1 -w "$T/sfb.mp"
A=$(kb sfa) Bk=$(kb sfb)
# bytes per tracked flow from two runs far apart (a narrow spread is lost in RSS noise)
MFC=$((N / 4)) MFD=$((N / 40))
rss sfc $M -r "$T/flood.pcap" --max-flows $MFC -w /dev/null
rss sfd $M -r "$T/flood.pcap" --max-flows $MFD -w /dev/null
PERFLOW=$((($(kb sfc) - $(kb sfd)) * 1024 / (MFC - MFD)))
echo "    $N SYNs: --max-flows $MFA: ${A} KiB in $(secs sfa) s; --max-flows $MFB: ${Bk} KiB in $(secs sfb) s; ${PERFLOW} B per tracked flow"
ev=$(st "$T/sfa.mp" flows_evicted)
if [ "$(rc sfa)" = 0 ] && [ "$ev" = $((N - MFA)) ] && [ "$(st "$T/sfa.mp" flows_peak)" = $MFA ] &&
	[ "$(st "$T/sfa.mp" records_conn)" = "$N" ]; then
	ok "flows_evicted $ev = $N - $MFA, flows_peak $MFA, records_conn $N"
else
	bad "flood counters: rc $(rc sfa) evicted $ev peak $(st "$T/sfa.mp" flows_peak) conn $(st "$T/sfa.mp" records_conn)"
fi
c=$($C -s conn -c conn_state history <"$T/sfa.mp" | sort | uniq -c | awk '{print $1, $2, $3}')
[ "$c" = "$N S0 S" ] && ok "$N conn records, all S0 with history S (evicted ones included)" ||
	bad "conn records of the flood: $c"
# bound: the baseline plus 1 KiB per tracked flow (twice the budget) whatever N is
le_kb "$A" $((BASE + MFA)) && ok "peak RSS ${A} KiB <= baseline ${BASE} + $MFA flows x 1 KiB" ||
	bad "peak RSS ${A} KiB > ${BASE} + $MFA KiB"
if [ $RSSCHK = 1 ]; then
	[ "$PERFLOW" -le 512 ] && ok "flow state ${PERFLOW} B per idle tracked connection <= 512 B" ||
		bad "flow state ${PERFLOW} B per idle tracked connection > 512 B"
fi

# with 2 workers the cap should still be the process's
rss sfw $M -r "$T/flood.pcap" --workers 2 --max-flows $MFA --stats-interval 1 -w "$T/sfw.mp"
pw=$(st "$T/sfw.mp" flows_peak)
[ "$(rc sfw)" = 0 ] && [ "$(st "$T/sfw.mp" records_conn)" = "$N" ] && ok "--workers 2: $N conn records" ||
	bad "--workers 2 flood (rc $(rc sfw))"
[ "$pw" -le $MFA ] && ok "--workers 2 --max-flows $MFA: the limit is shared out (flows_peak $pw, peak RSS $(kb sfw) KiB)" ||
	bad "--workers 2 --max-flows $MFA: flows_peak $pw"


# one real session inside the flood
$G -s synflood-mix -n "$N" -o - 2>/dev/null |
	$M -r - --max-flows $MFA --seed 5 -w "$T/mix.mp"
$G -s session -n "$N" -o - 2>/dev/null | $M -r - --max-flows $MFA --seed 5 -w "$T/alone.mp"
for f in mix alone; do
	$C "$T/$f.mp" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r.get("id.orig_h") != "10.1.1.1": continue
    for k in ("uid", "fuid", "fuids"): r.pop(k, None)
    print(json.dumps(r, sort_keys=True))' | sort >"$T/$f.sess"
done
ns=$(grep -c '"_path": "smtp"' "$T/alone.sess")
nf=$(grep -c '"_path": "files"' "$T/alone.sess")
if [ "$ns" = 1 ] && [ "$nf" = 2 ] && cmp -s "$T/mix.sess" "$T/alone.sess" &&
	grep -q '"subject": "reference session"' "$T/mix.sess" &&
	grep -q '"conn_state": "SF"' "$T/mix.sess"; then
	ok "session inside a $N-SYN flood: smtp, 2 files and conn records identical to the session alone (uids aside)"
else
	bad "session inside the flood differs ($ns smtp, $nf files alone)"
	diff "$T/mix.sess" "$T/alone.sess" | head -n 6
fi

echo "== 2. open DATA sessions over --max-flows"
N2=$(scale 1000000)
MF2A=$((N2 / 5)) MF2B=$((N2 / 10))
rss doa sh -c "$G -s dataopen -n $N2 -o - 2>/dev/null | $M -r - --max-flows $MF2A --stats-interval 1 -w $T/doa.mp"
rss dob sh -c "$G -s dataopen -n $N2 -o - 2>/dev/null | $M -r - --max-flows $MF2B --stats-interval 1 -w $T/dob.mp"
A=$(kb doa) Bk=$(kb dob)
PERDATA=$(((A - Bk) * 1024 / (MF2A - MF2B)))
echo "    $N2 sessions: --max-flows $MF2A: ${A} KiB in $(secs doa) s; --max-flows $MF2B: ${Bk} KiB in $(secs dob) s; ${PERDATA} B per open DATA session"
if [ "$(rc doa)" = 0 ] && [ "$(st "$T/doa.mp" flows_evicted)" = $((N2 - MF2A)) ] &&
	[ "$(st "$T/doa.mp" files_refused)" -gt 0 ]; then
	ok "flows_evicted $((N2 - MF2A)), files_refused $(st "$T/doa.mp" files_refused) (--max-files 10000 hit by $MF2A open messages)"
else
	bad "open DATA counters: rc $(rc doa) evicted $(st "$T/doa.mp" flows_evicted) refused $(st "$T/doa.mp" files_refused)"
fi
r=$($C -s smtp -c last_reply <"$T/doa.mp" | sort | uniq -c | sed 's/^ *//')
[ "$r" = "$N2 354 End data with <CR><LF>.<CR><LF>" ] &&
	ok "$N2 smtp records (evicted or at exit), all with last_reply 354" ||
	bad "smtp records of open sessions: $r"
le_kb "$A" $((BASE + MF2A * 32)) && ok "peak RSS ${A} KiB <= baseline + $MF2A sessions x 32 KiB" ||
	bad "peak RSS ${A} KiB > baseline + $MF2A x 32 KiB"

echo "== 3. a single huge line"
LL=$(scale 1073741824)
[ "$LL" -lt 33554432 ] && LL=33554432 # above Zeek's 16 MiB ContentLine limit
rss llc sh -c "$G -s longline-cmd -b $LL --mss 16000 --ack-every 4 -o - 2>/dev/null | $M -r - --seed 1 -w $T/llc.mp"
cat_json "$T/llc.mp"
if [ "$(rc llc)" = 0 ] && le_kb "$(kb llc)" $((BASE + 16384)) &&
	jcheck "$T/llc.mp.json" '[w["name"] for w in S("weird")] == ["contentline_size_exceeded"] and
	[(s["id.orig_p"], s["mailfrom"], s["rcptto"], s.get("subject"), s["last_reply"]) for s in S("smtp")] ==
	[(50001, "alice@example.org", ["bob@example.net"], "after the long line", "250 2.0.0 Ok: queued as 4711"),
	 (50002, "alice@example.org", ["rcpt0@example.net"], "after the storm", "250 2.0.0 Ok: queued as 4711")]'; then
	ok "$LL-byte command line: contentline_size_exceeded, the transaction after it and the next session exact, peak RSS $(kb llc) KiB, $(secs llc) s"
else
	bad "$LL-byte command line (rc $(rc llc), RSS $(kb llc) KiB)"
fi
rss lld sh -c "$G -s longline-data -b $LL --mss 16000 --ack-every 4 -o - 2>/dev/null | $M -r - --seed 1 -w $T/lld.mp"
cat_json "$T/lld.mp"
if [ "$(rc lld)" = 0 ] && le_kb "$(kb lld)" $((BASE + 16384)) &&
	jcheck "$T/lld.mp.json" "[(f['id.orig_p'], f['seen_bytes'], f['missing_bytes']) for f in S('files')] ==
	[(50001, $LL + 2, 0), (50002, 14, 0)] and [s['msg_size'] for s in S('smtp')] == [$LL + 54, 95]"; then
	ok "$LL-byte DATA line: streamed (file seen_bytes $LL + CRLF, msg_size exact), next session exact, peak RSS $(kb lld) KiB, $(secs lld) s"
else
	bad "$LL-byte DATA line (rc $(rc lld), RSS $(kb lld) KiB)"
fi
if [ "$LL" -gt $((16 * 1024 * 1024)) ]; then
	jcheck "$T/lld.mp.json" '"contentline_size_exceeded" in [w["name"] for w in S("weird")]' &&
		ok "contentline_size_exceeded for a DATA line > 16 MiB (Zeek's ContentLine limit)" ||
		bad "no contentline_size_exceeded for a $LL-byte DATA line"
fi

echo "== 3b. pipelined commands over --smtp-max-pending"
rss pl sh -c "$G -s pipeline -n 5000 -o - 2>/dev/null | $M -r - --seed 1 -w $T/pl.mp"
cat_json "$T/pl.mp"
if [ "$(rc pl)" = 0 ] && le_kb "$(kb pl)" $((BASE + 4096)) &&
	jcheck "$T/pl.mp.json" 'sorted(w["name"] for w in S("weird") if w.get("id.orig_p") == 50009) ==
	["smtp_excessive_pending_cmds", "smtp_too_many_rcptto_addresses"] and
	[(s["id.orig_p"], s.get("subject"), s["last_reply"]) for s in S("smtp")] ==
	[(50009, "many recipients", "250 2.0.0 Ok: queued as 4711"), (50010, "after the storm", "250 2.0.0 Ok: queued as 4711")]'; then
	ok "5000 pipelined RCPTs: smtp_excessive_pending_cmds, smtp_too_many_rcptto_addresses, the message and the next session exact, peak RSS $(kb pl) KiB"
else
	bad "pipelined commands (rc $(rc pl), RSS $(kb pl) KiB)"
fi

echo "== 3c. a BDAT chunk claiming 2^63 - 1 bytes"
BD=$(scale 100000000)
rss bd sh -c "$G -s bdat -b $BD --mss 16000 --ack-every 4 -o - 2>/dev/null | $M -r - --seed 1 -w $T/bd.mp"
cat_json "$T/bd.mp"
if [ "$(rc bd)" = 0 ] && le_kb "$(kb bd)" $((BASE + 4096)) &&
	jcheck "$T/bd.mp.json" "sorted(w['name'] for w in S('weird')) == ['smtp_bdat_line_too_long', 'smtp_bdat_remaining_at_end_data', 'smtp_bdat_undelivered_at_done'] and
	sorted((f['id.orig_p'], f['seen_bytes']) for f in S('files')) == [(50014, $BD), (50015, 14)] and
	sorted((s['subject'], s['bdat'], s['msg_size']) for s in S('smtp')) == [('after the storm', False, 95), ('huge chunk', True, $BD + 23)]"; then
	ok "BDAT claiming 2^63 - 1, $BD bytes sent, then FIN: streamed (file $BD bytes, msg_size exact), BDAT weirds, next session exact, peak RSS $(kb bd) KiB"
else
	bad "huge BDAT (rc $(rc bd), RSS $(kb bd) KiB)"
fi

echo "== 3d. floods of short lines (10 MB each at full scale): replies, bare CR, bare LF, invalid RCPTs"
RP=$(scale 10000000)
rp() { # name expected-subject-of-50016 gen-args...
	local name=$1 subj=$2
	shift 2
	rss $name sh -c "$G -s repeat -b $RP --mss 16000 --ack-every 4 $* -o - 2>/dev/null | $M -r - --seed 1 -w $T/$name.mp"
	cat_json "$T/$name.mp"
	if [ "$(rc $name)" = 0 ] && le_kb "$(kb $name)" $((BASE + 4096)) &&
		jcheck "$T/$name.mp.json" "sorted((s['id.orig_p'], s.get('subject')) for s in S('smtp')) == [(50016, $subj), (50017, 'after the storm')]"; then
		ok "$name: $RP bytes of '$(echo "$*" | sed "s/.*-p //; s/'//g")': weirds [$($C -s weird -c name <"$T/$name.mp" | tr '\n' ' ')], records exact, peak RSS $(kb $name) KiB, $(secs $name) s"
	else
		bad "$name flood (rc $(rc $name), RSS $(kb $name) KiB)"
	fi
}
rp replies "'after the pattern'" --server -p "'250 ok\r\n'"
rp bare-cr "'after the pattern'" -p "'\r'"
rp bare-lf "'after the pattern'" -p "'\n'"
rp rcpt-flood None -p "'RCPT TO:<x@y>\r\n'"
jcheck "$T/rcpt-flood.mp.json" '"smtp_excessive_invalid_mail_transactions" in [w["name"] for w in S("weird")]' &&
	ok "rcpt-flood: smtp_excessive_invalid_mail_transactions, analysis of that connection stopped" ||
	bad "rcpt-flood: no smtp_excessive_invalid_mail_transactions"

echo "== 4. MIME nested 10000 deep"
$G -s mimedeep -n 10000 -o "$T/md.pcap" 2>/dev/null
rss md $M -r "$T/md.pcap" --seed 1 -w "$T/md.mp"
cat_json "$T/md.mp"
python3 -c '
import hashlib
print(repr([hashlib.md5(b"leaf %d" % i).hexdigest() for i in range(100)]))' >"$T/md.expect"
if [ "$(rc md)" = 0 ] && le_kb "$(kb md)" $((BASE + 4096)) &&
	jcheck "$T/md.mp.json" "[(w['name'], w.get('addl')) for w in S('weird')] == [('exceeded_mime_max_depth', '100')] and
	[f['md5'] for f in S('files') if f['id.orig_p'] == 50003] == $(cat "$T/md.expect") and
	[f['depth'] for f in S('files') if f['id.orig_p'] == 50003] == list(range(2, 201, 2)) and
	[s['subject'] for s in S('smtp')] == ['deep', 'after the storm']"; then
	ok "10000 levels: one exceeded_mime_max_depth (100), files of leaves 0..99 exact (md5, depth), nothing deeper, next session exact, peak RSS $(kb md) KiB"
else
	bad "MIME 10000 deep (rc $(rc md), RSS $(kb md) KiB)"
fi

echo "== 4b. one MIME header of 10 MB (continuation lines)"
rss bh sh -c "$G -s bigheader -b 10000000 --mss 16000 -o - 2>/dev/null | $M -r - --seed 1 -w $T/bh.mp"
cat_json "$T/bh.mp"
if [ "$(rc bh)" = 0 ] && le_kb "$(kb bh)" $((BASE + 4096)) &&
	jcheck "$T/bh.mp.json" '[w["name"] for w in S("weird")] == ["exceeded_mime_max_header_bytes"] and
	[(f["id.orig_p"], f["seen_bytes"], f.get("mime_type")) for f in S("files")] == [(50011, 27, "text/plain"), (50012, 14, "text/plain")] and
	[s["subject"] for s in S("smtp")] == ["big header", "after the storm"]'; then
	ok "10 MB header: exceeded_mime_max_header_bytes (addl $($C -s weird -c addl <"$T/bh.mp")), the body after it exact (27 bytes), next session exact, peak RSS $(kb bh) KiB"
else
	bad "10 MB header (rc $(rc bh), RSS $(kb bh) KiB)"
fi

echo "== 4c. one message with 20000 parts"
rss mw sh -c "$G -s mimewide -n 20000 -o - 2>/dev/null | $M -r - --seed 1 -w $T/mw.mp"
cat_json "$T/mw.mp"
if [ "$(rc mw)" = 0 ] && le_kb "$(kb mw)" $((BASE + 4096)) &&
	jcheck "$T/mw.mp.json" 'sorted((w["name"], w.get("addl")) for w in S("weird")) ==
	[("exceeded_mime_max_entities", "10000"), ("log_container_field_truncated", "SMTP::LOG")] and
	[f["depth"] for f in S("files") if f["id.orig_p"] == 50018] == list(range(2, 10001)) and
	all(f["seen_bytes"] == len("part %d" % (f["depth"] - 2)) for f in S("files") if f["id.orig_p"] == 50018) and
	sorted(s["subject"] for s in S("smtp")) == ["after the storm", "wide"]'; then
	ok "20000 parts: exceeded_mime_max_entities (10000), fuids cut at 100 (log_container_field_truncated), files of parts 0..9998 exact (the message is entity 1), next session exact, peak RSS $(kb mw) KiB"
else
	bad "20000 parts (rc $(rc mw), RSS $(kb mw) KiB)"
fi

# --mime-max-entities: the same limit, set lower
$G -s mimewide -n 300 -o - 2>/dev/null | $M -r - --seed 1 --mime-max-entities 100 -w "$T/mw100.mp" 2>/dev/null
cat_json "$T/mw100.mp"
if jcheck "$T/mw100.mp.json" '[(w["name"], w.get("addl")) for w in S("weird") if w["name"].startswith("exceeded")] ==
	[("exceeded_mime_max_entities", "100")] and
	[f["depth"] for f in S("files") if f["id.orig_p"] == 50018] == list(range(2, 101))'; then
	ok "--mime-max-entities 100: 300 parts give files of depths 2..100 and exceeded_mime_max_entities (100)"
else
	bad "--mime-max-entities 100"
fi

# --mime-max-open-messages: messages parsed at once, all connections together. 300 sessions
# left open in DATA under a limit of 100: the first 100 are parsed, the other 200 are not
# (one weird each, counted); every session keeps its smtp record (the envelope).
$G -s dataopen -n 300 -o - 2>/dev/null | $M -r - --seed 1 --mime-max-open-messages 100 --stats-interval 3600 -w "$T/mo.mp" 2>/dev/null
cat_json "$T/mo.mp"
if jcheck "$T/mo.mp.json" 'len(S("smtp")) == 300 and sum(1 for s in S("smtp") if "subject" in s) == 100 and
	all(s["rcptto"] for s in S("smtp")) and len(S("files")) == 100 and
	[(w["name"], w.get("addl")) for w in S("weird")] == [("exceeded_mime_max_open_messages", "100")] * 200 and
	(S("stats")[-1]["mime_messages_refused"], S("stats")[-1]["mime_open_messages"]) == (200, 0)'; then
	ok "--mime-max-open-messages 100: 300 open messages, 100 parsed, 200 refused (weird, mime_messages_refused), 300 smtp records"
else
	bad "--mime-max-open-messages 100"
fi

echo "== 5. base64 body of garbage"
BG=$(scale 100000000)
rss bg sh -c "$G -s b64garbage -b $BG --mss 16000 --ack-every 4 -o - 2>$T/bg.gen | $M -r - --seed 1 -w $T/bg.mp"
cat_json "$T/bg.mp"
dec=$(grep -o 'decoded bytes [0-9]*' "$T/bg.gen" | awk '{print $3}')
msz=$(grep -o 'msg_size [0-9]*' "$T/bg.gen" | awk '{print $2}')
if [ "$(rc bg)" = 0 ] && [ -n "$dec" ] && le_kb "$(kb bg)" $((BASE + 8192)) &&
	jcheck "$T/bg.mp.json" "sorted(w['name'] for w in S('weird')) == ['NUL_in_line', 'base64_illegal_encoding'] and
	[w['addl'] for w in S('weird') if w['name'] == 'base64_illegal_encoding'][0].startswith('character ') and
	[(f['id.orig_p'], f['seen_bytes'], f['missing_bytes']) for f in S('files')] == [(50005, $dec, 0), (50006, 14, 0)] and
	[s['msg_size'] for s in S('smtp')] == [$msz, 95]"; then
	ok "$BG garbage bytes: base64_illegal_encoding once (and NUL_in_line once), files record seen_bytes $dec (= valid characters x 3/4), msg_size $msz, next session exact, peak RSS $(kb bg) KiB, $(secs bg) s"
else
	bad "base64 garbage (rc $(rc bg), RSS $(kb bg) KiB, expected $dec decoded bytes)"
fi

echo "== 6. TLS lengths on port 465"
rss tr sh -c "$G -s tls-record --mss 16000 -o - 2>/dev/null | $M -r - --seed 1 -w $T/tr.mp"
cat_json "$T/tr.mp"
if [ "$(rc tr)" = 0 ] && le_kb "$(kb tr)" $((BASE + 4096)) &&
	jcheck "$T/tr.mp.json" '[(s["id.resp_p"], s["established"], s["ssl_history"][0]) for s in S("ssl")] == [(465, False, "C")] and
	[c.get("service") for c in S("conn") if c["id.resp_p"] == 465] == ["ssl"] and
	[s["subject"] for s in S("smtp")] == ["after the storm"]'; then
	ok "record header claiming 65535 bytes: ssl record (C...), weirds $($C -s weird -c name <"$T/tr.mp" | tr '\n' ' '), next session exact, peak RSS $(kb tr) KiB"
else
	bad "TLS record of 65535 bytes (rc $(rc tr), RSS $(kb tr) KiB)"
fi
rss th sh -c "$G -s tls-hello --mss 16000 --ack-every 4 -o - 2>/dev/null | $M -r - --seed 1 -w $T/th.mp"
cat_json "$T/th.mp"
if [ "$(rc th)" = 0 ] && le_kb "$(kb th)" $((BASE + 4096)) &&
	jcheck "$T/th.mp.json" '[w["name"] for w in S("weird")] == ["SSL_handshake_message_too_large"] and
	[(s["established"], s["ssl_history"]) for s in S("ssl")] == [(False, "C")] and
	[c["orig_bytes"] for c in S("conn") if c["id.resp_p"] == 465] == [16777215 + 4 + 1024 * 5] and
	[s["subject"] for s in S("smtp")] == ["after the storm"]'; then
	ok "ClientHello claiming 16 MiB (sent in full): SSL_handshake_message_too_large, ssl_history C, peak RSS $(kb th) KiB (not 16 MiB)"
else
	bad "ClientHello of 16 MiB (rc $(rc th), RSS $(kb th) KiB)"
fi

echo "== 7. out-of-order data above a hole"
OO=$(scale 67108864)
rss oo sh -c "$G -s ooo -f 1 -b $OO --ack-every 8 -o - 2>/dev/null | $M -r - --reasm-max-ooo-bytes 262144 --stats-interval 1 -w $T/oo.mp"
pk=$(st "$T/oo.mp" reasm_bytes_peak)
if [ "$(rc oo)" = 0 ] && [ "$(st "$T/oo.mp" reasm_ooo_limit_hits)" -ge 1 ] && [ "$pk" -le $((262144 + 65536 + 8192)) ] &&
	[ "$(st "$T/oo.mp" reasm_gap_bytes)" = 1000 ] && le_kb "$(kb oo)" $((BASE + 4096)); then
	ok "one flow, $OO bytes above a 1000-byte hole, --reasm-max-ooo-bytes 262144: ooo_limit_hits $(st "$T/oo.mp" reasm_ooo_limit_hits), reasm_bytes_peak $pk (<= limit + 64 KiB retention + headers), gap 1000 bytes, peak RSS $(kb oo) KiB"
else
	bad "ooo per flow (rc $(rc oo), hits $(st "$T/oo.mp" reasm_ooo_limit_hits), peak $pk, RSS $(kb oo))"
fi
rss oom sh -c "$G -s ooo -f 200 -b 524288 --ack-every 8 -o - 2>/dev/null | $M -r - --reasm-max-total-bytes 8388608 --stats-interval 1 -w $T/oom.mp"
pk=$(st "$T/oom.mp" reasm_bytes_peak)
if [ "$(rc oom)" = 0 ] && [ "$(st "$T/oom.mp" reasm_memcap_hits)" -gt 0 ] && [ "$pk" -le 8388608 ] &&
	le_kb "$(kb oom)" $((BASE + 8192 + 16384)); then
	ok "200 flows x 512 KiB above holes, --reasm-max-total-bytes 8 MiB: memcap_hits $(st "$T/oom.mp" reasm_memcap_hits), reasm_bytes_peak $pk <= 8388608, peak RSS $(kb oom) KiB"
else
	bad "reassembly memcap (rc $(rc oom), hits $(st "$T/oom.mp" reasm_memcap_hits), peak $pk, RSS $(kb oom))"
fi

echo "== 8. a Forward receiver that never reads"
cat >"$T/sink.py" <<'EOF'
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(16)
open(sys.argv[2], "w").close()
held = []
while True:
    c, _ = s.accept()  # accepted, never read, never acked
    held.append(c)
EOF
python3 "$T/sink.py" "$T/fw.sock" "$T/fw.ready" &
PIDS+=($!)
for _ in $(seq 100); do
	[ -e "$T/fw.ready" ] && break
	sleep 0.05
done
NF=$(scale 1000000)
FWOPT=(-o "forward:unix:$T/fw.sock" --forward-queue-bytes 65536 --forward-close-timeout-ms 1500
	--max-flows 1000 --stats-interval 1)
for pol in drop-oldest drop-newest; do
	rss fw-$pol $M -r "$T/flood.pcap" "${FWOPT[@]}" --forward-policy $pol -w "$T/fw-$pol.mp"
	d=$(st "$T/fw-$pol.mp" forward_records_dropped)
	if [ "$(rc fw-$pol)" = 3 ] && [ "$(st "$T/fw-$pol.mp" forward_records_acked)" = 0 ] &&
		[ "$d" -ge $((N - 1000)) ] && [ "$(n conn "$T/fw-$pol.mp")" = "$N" ] &&
		le_kb "$(kb fw-$pol)" $((BASE + 8192)) &&
		awk -v s="$(secs fw-$pol)" -v f="$(secs sfa)" 'BEGIN {exit !(s <= f + 1.5 + 2)}'; then
		ok "$pol: records_dropped $d of $N, the -w file still has all $N conn records, exit 3 after $(secs fw-$pol) s (close timeout 1.5 s), peak RSS $(kb fw-$pol) KiB"
	else
		bad "$pol (rc $(rc fw-$pol), dropped $d, $(n conn "$T/fw-$pol.mp") conn, $(secs fw-$pol) s, RSS $(kb fw-$pol))"
	fi
done
# block: mailtap stalls on the full queue; SIGTERM ends it within the close timeout
$M -r "$T/flood.pcap" "${FWOPT[@]}" --forward-policy block -w "$T/fw-block.mp" 2>"$T/fw-block.err" &
MP=$!
PIDS+=($MP)
sleep 2
alive=0
kill -0 $MP 2>/dev/null && alive=1
t0=$(date +%s%N)
kill -TERM $MP
for _ in $(seq 100); do
	kill -0 $MP 2>/dev/null || break
	sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
wait $MP
brc=$?
pp=$(st "$T/fw-block.mp" pkts_proc_total)
if [ $alive = 1 ] && [ $ms -le 2500 ] && [ "$brc" = 3 ] && [ "$pp" -lt "$N" ] &&
	[ "$(n conn "$T/fw-block.mp")" = "$pp" ]; then
	ok "block: stalled after $pp packets, SIGTERM -> exit 3 after ${ms} ms (close timeout 1500), every flow seen has its conn record in the -w file"
else
	bad "block + SIGTERM (alive $alive, ${ms} ms, rc $brc, pkts $pp, $(n conn "$T/fw-block.mp") conn)"
fi

# a hostile peer: replies with garbage, or with an ack map whose string claims 4 GiB
cat >"$T/evil.py" <<'EOF'
import os, socket, sys, threading
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(16)
open(sys.argv[3], "w").close()
def serve(c):
    try:
        while c.recv(65536):
            if sys.argv[2] == "garbage":
                c.sendall(os.urandom(4096))
            else:
                c.sendall(b"\x81\xa3ack\xdb\xff\xff\xff\xff" + b"A" * 100000)
    except OSError:
        pass
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
for mode in garbage hugestr; do
	python3 "$T/evil.py" "$T/evil-$mode.sock" $mode "$T/evil-$mode.ready" &
	PIDS+=($!)
	for _ in $(seq 100); do
		[ -e "$T/evil-$mode.ready" ] && break
		sleep 0.05
	done
	rss ev-$mode $M -r "$T/flood.pcap" --max-flows 1000 --stats-interval 1 -o "forward:unix:$T/evil-$mode.sock" \
		--forward-queue-bytes 1048576 --forward-close-timeout-ms 1500 -w "$T/ev-$mode.mp"
	if [ "$(rc ev-$mode)" = 3 ] && [ "$(st "$T/ev-$mode.mp" forward_disconnects)" -gt 0 ] &&
		[ "$(st "$T/ev-$mode.mp" forward_records_acked)" = 0 ] && [ "$(n conn "$T/ev-$mode.mp")" = "$N" ] &&
		grep -q "bad reply" "$T/ev-$mode.err" && le_kb "$(kb ev-$mode)" $((BASE + 8192)); then
		ok "peer replying $mode: '$(grep -o 'bad reply: [^)]*' "$T/ev-$mode.err" | head -n 1)', $(st "$T/ev-$mode.mp" forward_disconnects) reconnects, nothing acked, -w file complete, exit 3 after $(secs ev-$mode) s, peak RSS $(kb ev-$mode) KiB"
	else
		bad "peer replying $mode (rc $(rc ev-$mode), disconnects $(st "$T/ev-$mode.mp" forward_disconnects), RSS $(kb ev-$mode))"
	fi
done

echo "== 9. files in flight and extraction"
rss at sh -c "$G -s attach -n 100 -o - 2>/dev/null | $M -r - --max-files 10 --seed 1 --stats-interval 1 -w $T/at.mp"
cat_json "$T/at.mp"
if [ "$(rc at)" = 0 ] && [ "$(st "$T/at.mp" files_opened)" = 10 ] && [ "$(st "$T/at.mp" files_refused)" = 90 ] &&
	jcheck "$T/at.mp.json" 'len(S("smtp")) == 100 and [f["seen_bytes"] for f in S("files")] == [570] * 10 and
	sum(1 for s in S("smtp") if s.get("fuids")) == 10'; then
	ok "100 concurrent attachments, --max-files 10: 10 files (570 bytes each), files_refused 90, 100 smtp records"
else
	bad "--max-files (rc $(rc at), opened $(st "$T/at.mp" files_opened), refused $(st "$T/at.mp" files_refused))"
fi
# refused at the first half, a slot free for the second half
$G -s attach-split -n 100 -o - 2>/dev/null | $M -r - --max-files 10 --seed 1 --stats-interval 1 -w "$T/as.mp"
sb=$($C -s files -c seen_bytes <"$T/as.mp" | sort | uniq -c | awk '{printf "%sx%s ", $1, $2}')
[ "$(st "$T/as.mp" files_refused)" = 90 ] && ok "attach-split: files_refused 90" || bad "attach-split: refused $(st "$T/as.mp" files_refused)"
[ "$sb" = "10x570 " ] && ok "an entity refused by --max-files gets no files record later (seen_bytes of files: $sb)" ||
	bad "refused entities got files records: $sb"
MNT="$T/ext"
mkdir -p "$MNT"
if mount -t tmpfs -o size=1m tmpfs "$MNT" 2>/dev/null; then
	rss ex sh -c "$G -s extract -n 8 -b 300000 -o - 2>/dev/null | $M -r - --seed 1 --stats-interval 1 --extract-dir $MNT -w $T/ex.mp"
	cat_json "$T/ex.mp"
	nmsg=$(grep -c "No space left on device" "$T/ex.err")
	kept=$(find "$MNT" -name 'extract-*' -size 300000c | wc -l)
	tmps=$(find "$MNT" -name '.tmp-*' | wc -l)
	if [ "$(rc ex)" = 0 ] && [ "$nmsg" = 1 ] && [ "$(st "$T/ex.mp" files_extracted)" = 3 ] &&
		[ "$(st "$T/ex.mp" files_extract_errors)" = 5 ] && [ "$kept" = 3 ] && [ "$tmps" = 0 ] &&
		jcheck "$T/ex.mp.json" 'len(S("smtp")) == 8 and [f["seen_bytes"] for f in S("files")] == [300000] * 8 and
		sum(1 for f in S("files") if f.get("extracted")) == 3'; then
		ok "1 MiB tmpfs: 3 files extracted, ENOSPC reported once, extract_errors 5, no temporary left, all 8 files and smtp records written"
	else
		bad "full extract dir (rc $(rc ex), $nmsg messages, extracted $(st "$T/ex.mp" files_extracted), errors $(st "$T/ex.mp" files_extract_errors), kept $kept, tmps $tmps)"
	fi
	[ "$(st "$T/ex.mp" files_extracted_bytes)" = 900000 ] && ok "files_extracted_bytes counts the bytes kept (3 x 300000)" ||
		bad "files_extracted_bytes $(st "$T/ex.mp" files_extracted_bytes), 900000 kept"
	umount "$MNT" && MNT=
else
	echo "skip  full tmpfs (mount -t tmpfs needs root)"
fi
# --extract-max-file and --extract-max-total
mkdir -p "$T/xm"
rss xm sh -c "$G -s extract -n 4 -b 300000 -o - 2>/dev/null | $M -r - --seed 1 --stats-interval 1 --extract-dir $T/xm --extract-max-file 100000 --extract-max-total 250000 -w $T/xm.mp"
cat_json "$T/xm.mp"
sizes=$(find "$T/xm" -name 'extract-*' -printf '%s\n' | sort -n | tr '\n' ' ')
if [ "$(rc xm)" = 0 ] && [ "$sizes" = "50000 100000 100000 " ] &&
	[ "$(st "$T/xm.mp" files_extracted_bytes)" = 250000 ] && [ "$(st "$T/xm.mp" files_extract_cutoffs)" = 2 ] &&
	[ "$(st "$T/xm.mp" files_extract_total_limit)" = 2 ] &&
	jcheck "$T/xm.mp.json" '[(f["seen_bytes"], f.get("extracted_cutoff"), f.get("extracted_size"), "extracted" in f) for f in S("files")] ==
	[(300000, True, 100000, True), (300000, True, 100000, True), (300000, True, 50000, True), (300000, None, None, False)]'; then
	ok "4 x 300000 bytes, --extract-max-file 100000, --extract-max-total 250000: files of 100000, 100000, 50000 bytes, extracted_cutoff T with extracted_size, the fourth not extracted (the total used up: no empty file), files_extract_cutoffs 2 (per-file limit), files_extract_total_limit 2"
else
	bad "extraction limits (rc $(rc xm), sizes $sizes, bytes $(st "$T/xm.mp" files_extracted_bytes), cutoffs $(st "$T/xm.mp" files_extract_cutoffs), total limit $(st "$T/xm.mp" files_extract_total_limit))"
fi
grep -q '"files_extract_total_limit":[1-9]' "$T/xm.mp.json" && ok "the stats record shows --extract-max-total being hit" ||
	bad "files_extract_total_limit not in the stats record"
# symlinks planted at the final and the temporary name of the first file
mkdir -p "$T/xd"
$G -s extract -n 2 -b 3000 -o "$T/ex2.pcap" 2>/dev/null
$M -r "$T/ex2.pcap" --seed 1 --extract-dir "$T/xd" -w "$T/ex2a.mp"
f1=$($C -s files -c extracted <"$T/ex2a.mp" | head -n 1)
u1=$($C -s files -c fuid <"$T/ex2a.mp" | head -n 1)
u2=$($C -s files -c fuid <"$T/ex2a.mp" | tail -n 1)
rm -rf "$T/xd"
mkdir -p "$T/xd"
echo "victim" >"$T/victim1"
echo "victim" >"$T/victim2"
ln -s "$T/victim1" "$T/xd/$f1"
ln -s "$T/victim2" "$T/xd/.tmp-$u2"
rss ex2 $M -r "$T/ex2.pcap" --seed 1 --stats-interval 1 --extract-dir "$T/xd" -w "$T/ex2.mp"
if [ -n "$f1" ] && [ "$(rc ex2)" = 0 ] && [ "$(cat "$T/victim1")" = victim ] &&
	[ "$(cat "$T/victim2")" = victim ] && [ -L "$T/xd/$f1" ] && [ -L "$T/xd/.tmp-$u2" ] &&
	[ "$(st "$T/ex2.mp" files_extract_errors)" = 2 ] && [ "$(n files "$T/ex2.mp")" = 2 ] &&
	[ "$($C -s files -c extracted <"$T/ex2.mp" | sort -u)" = "-" ]; then
	ok "symlinks planted at extract-...-$u1 and .tmp-$u2: never followed (targets intact), both counted in extract_errors, files records kept"
else
	bad "planted symlinks (rc $(rc ex2), errors $(st "$T/ex2.mp" files_extract_errors), victims $(cat "$T/victim1" "$T/victim2" | tr '\n' ' '))"
fi

echo "== 9b. IP fragments that never complete"
NFR=$(scale 500000)
rss ff sh -c "$G -s fragflood -n $NFR -b 1480 -o - 2>/dev/null | $M -r - --seed 1 --stats-interval 1 -w $T/ff.mp"
fto=$(st "$T/ff.mp" frag_timeouts) fdr=$(st "$T/ff.mp" frag_dropped) fev=$(st "$T/ff.mp" frag_evicted)
if [ "$(rc ff)" = 0 ] && [ "$(st "$T/ff.mp" frag_fragments)" = "$NFR" ] && [ $((fev + fdr)) -ge $((NFR - 4096)) ] &&
	le_kb "$(kb ff)" $((BASE + 16384 + 4096)) && [ "$($C -s smtp -c subject <"$T/ff.mp")" = "after the storm" ]; then
	ok "$NFR first fragments (1480 bytes): --frag-max-datagrams 4096 hit ($fev evicted, $fdr dropped), next session exact, peak RSS $(kb ff) KiB"
else
	bad "fragment flood (rc $(rc ff), evicted $fev, dropped $fdr, RSS $(kb ff))"
fi
[ "$fto" = 0 ] && ok "datagrams evicted at the limit are not counted as timeouts (packet time spans $((NFR / 1000)) ms of a 30 s timeout)" ||
	bad "frag_timeouts $fto within $((NFR / 1000)) ms of packet time"
rss ff2 sh -c "$G -s fragflood -n 20000 -b 16000 -o - 2>/dev/null | $M -r - --seed 1 --stats-interval 1 -w $T/ff2.mp"
if [ "$(rc ff2)" = 0 ] && [ "$(st "$T/ff2.mp" frag_evicted)" -gt 0 ] && le_kb "$(kb ff2)" $((BASE + 16384 + 4096)) &&
	[ "$($C -s smtp -c subject <"$T/ff2.mp")" = "after the storm" ]; then
	ok "20000 first fragments of 16000 bytes: --frag-max-bytes 16 MiB hit (the oldest evicted: frag_evicted $(st "$T/ff2.mp" frag_evicted)), peak RSS $(kb ff2) KiB, next session exact"
else
	bad "fragment bytes limit (rc $(rc ff2), evicted $(st "$T/ff2.mp" frag_evicted), RSS $(kb ff2))"
fi

echo "== 10. garbage captures"
SM=$M
[ -x build-san/mailtap ] && [ "$B" != build-san ] && SM=build-san/mailtap
echo "    (binary: $SM)"
head -c 65536 /dev/urandom >"$T/rand.pcap"
$G -s mimedeep -n 3 -o "$T/valid.pcap" 2>/dev/null
{ head -c 24 "$T/valid.pcap"; head -c 65536 /dev/urandom; } >"$T/hdrgarbage.pcap"
# a valid header, one good record, then a record claiming caplen 0xffffff00
{ head -c $((24 + 16 + 54)) "$T/valid.pcap"; printf '\x01\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\x00\xff\xff\xff'; head -c 100 /dev/zero; } >"$T/hugecap.pcap"
python3 - "$T" <<'EOF'
import struct, sys, os
t = sys.argv[1]
def block(btype, body):
    n = 12 + len(body) + (-len(body) % 4)
    return struct.pack("<II", btype, n) + body + b"\0" * (-len(body) % 4) + struct.pack("<I", n)
shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
idb = block(1, struct.pack("<HHI", 1, 0, 262144))
frame = open(os.path.join(t, "valid.pcap"), "rb").read()[40:40 + 54]
epb = block(6, struct.pack("<IIIII", 0, 0, 0, 54, 54) + frame)
# a block whose total length is not a multiple of 4 and points past the end
bad = struct.pack("<II", 6, 0x7fffffff) + b"\x00" * 64
open(os.path.join(t, "badblock.pcapng"), "wb").write(shb + idb + epb + bad)
# an enhanced packet block whose captured length exceeds its block
epb2 = struct.pack("<II", 6, 48) + struct.pack("<IIIII", 0, 0, 0, 100000, 100000) + b"\0" * 16 + struct.pack("<I", 48)
open(os.path.join(t, "badepb.pcapng"), "wb").write(shb + idb + epb + epb2)
open(os.path.join(t, "shbonly.pcapng"), "wb").write(shb[:20])
EOF
for f in rand hdrgarbage hugecap badblock badepb shbonly; do
	ext=pcap
	[ -e "$T/$f.pcapng" ] && ext=pcapng
	timeout 60 $SM -r "$T/$f.$ext" -w "$T/g-$f.mp" >/dev/null 2>"$T/g-$f.err"
	grc=$?
	msg=$(grep -v '^mailtap: files\|^$' "$T/g-$f.err" | head -n 1)
	# a capture refused at its header opens no output (the input is opened first); one that
	# breaks later leaves what came before it, readable
	case $f in rand | shbonly) out_ok() { [ ! -e "$T/g-$f.mp" ]; } ;; *) out_ok() { $C "$T/g-$f.mp" >/dev/null; } ;; esac
	if [ $grc = 2 ] && [ -n "$msg" ] && ! grep -q "Sanitizer\|runtime error" "$T/g-$f.err" && out_ok; then
		ok "$f.$ext: exit 2, '$msg', output readable (none for a refused header)"
	else
		bad "$f.$ext: exit $grc: $(head -c 400 "$T/g-$f.err")"
	fi
done

echo "== 11. captures from pipes"
# -r on a named pipe (process substitution, /dev/stdin, a FIFO)
$M -r <(cat "$T/valid.pcap") -w "$T/fifo.mp" 2>"$T/fifo.err"
frc=$?
$M -r "$T/valid.pcap" -w "$T/file.mp" 2>/dev/null
if [ $frc = 0 ] && [ "$(n smtp "$T/fifo.mp")" = "$(n smtp "$T/file.mp")" ] && [ "$(n smtp "$T/file.mp")" -ge 1 ]; then
	ok "-r on a FIFO / process substitution reads the capture ($(n smtp "$T/fifo.mp") smtp records, as from the file)"
else
	bad "-r on a FIFO / process substitution (exit $frc: $(head -c 120 "$T/fifo.err"))"
fi
# -r - from a live pipe that stays open: packets already written must be processed
{
	$G -s synflood -n 1000 -o - 2>/dev/null
	sleep 3
} | $M -r - --stats-interval 1 -w "$T/pipe.mp" 2>"$T/pipe.err" &
MP=$!
PIDS+=($MP)
sleep 1.5
kill -TERM $MP 2>/dev/null
wait $MP
prc=$?
pp=$(st "$T/pipe.mp" pkts_proc_total 2>/dev/null)
[ "${pp:-0}" = 1000 ] && ok "-r - on an open pipe: 1000 SYNs written, processed before SIGTERM" ||
	bad "-r - on an open pipe: pkts_proc_total '${pp:-none}', exit $prc: $(head -c 100 "$T/pipe.err")"

echo "== 12. limits with no effect on the corpus at their defaults, set lower"
# Each option reaches its limit: the records show the cut, with the weird Zeek (or mailtap)
# names for it. At the defaults these corpus captures give none of these cuts (10-golden).
Z=$(realpath -m ../shared/corpus)
$M -r "$Z/zeek/traces/smtp.pcap" --seed 1 --smtp-max-fuids 2 --smtp-max-extensions 2 \
	--smtp-max-header-value 3 -w "$T/lo-smtp.mp" 2>/dev/null
cat_json "$T/lo-smtp.mp"
if jcheck "$T/lo-smtp.mp.json" '[(len(s["fuids"]), s["server_extensions"], s["subject"], s["user_agent"]) for s in S("smtp")][0] ==
	(2, ["SIZE", "PIPELINING"], "SMT", "Mic") and len([f for f in S("files") if f["source"] == "SMTP"]) >= 3'; then
	ok "--smtp-max-fuids 2, --smtp-max-extensions 2, --smtp-max-header-value 3: fuids, server_extensions, subject and user_agent cut (every file still has its files record)"
else
	bad "--smtp-max-fuids / --smtp-max-extensions / --smtp-max-header-value"
fi
$M -r "$Z/zeek/traces/tls/smtp-starttls.pcap" --seed 1 --ssl-max-history 3 --ssl-max-hello-list 2 \
	--ssl-max-certificates-per-message 1 -w "$T/lo-tls.mp" 2>/dev/null
cat_json "$T/lo-tls.mp"
if jcheck "$T/lo-tls.mp.json" '[(s["ssl_history"], len(s["cert_chain_fps"])) for s in S("ssl")] == [("Csx", 1)] and
	sorted((w["name"], w.get("addl")) for w in S("weird") if w["name"].startswith("SSL")) ==
	[("SSL_hello_list_truncated", None), ("SSL_max_ssl_history_length_reached", "3"), ("SSL_too_many_certificates", None)]'; then
	ok "--ssl-max-history 3, --ssl-max-hello-list 2, --ssl-max-certificates-per-message 1: ssl_history Csx, one certificate, the three weirds"
else
	bad "--ssl-max-history / --ssl-max-hello-list / --ssl-max-certificates-per-message"
fi
# rexmit_inconsistency needs the delivered bytes kept: none kept, no weird
RX="$Z/suricata-verify/smtp-bug-5981/input.pcap"
r64=$($M -r "$RX" --seed 1 2>/dev/null | $C -s weird - | grep -c '"rexmit_inconsistency"')
r0=$($M -r "$RX" --seed 1 --reasm-max-retain-bytes 0 2>/dev/null | $C -s weird - | grep -c '"rexmit_inconsistency"')
[ "$r64" = 1 ] && [ "$r0" = 0 ] &&
	ok "--reasm-max-retain-bytes 0: no rexmit_inconsistency (1 at the default)" ||
	bad "--reasm-max-retain-bytes: $r64 rexmit_inconsistency at the default, $r0 with 0"

echo
if [ ${#XF[@]} -gt 0 ]; then
	echo "known bugs (XFAIL):"
	printf '  %s\n' "${XF[@]}"
fi
echo "$fails failed, $xfails xfail, $xpasses xpass (LIMITS_SCALE=$S)"
[ $fails -eq 0 ]
