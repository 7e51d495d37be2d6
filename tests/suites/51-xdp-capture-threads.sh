#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Capture threads: `mailtap -i --queues 4 --capture-threads 4 --workers 2` on a veth with 4
# rx queues. XPS on the injection end plus taskset put flow A (10.10.1.4 <-> 74.53.140.153:25)
# on queue 1 and flow B (192.168.133.100 <-> .102:25) on queue 3, replayed at the same time,
# so two capture threads hand packets to the workers at once; the other mail frames of the
# file go to queue 0. Checks: the records equal `mailtap -r` of the same frames (as sets,
# without capture times and random ids), every frame was delivered once and processed once
# (the stats record's counters add up), nothing dropped, the program detached at exit.
set -u
cd "$(dirname "$0")/../.."
source tools/netns-lib.sh
nl_require_root
nl_require_tools tcpreplay tcpdump nsenter python3 taskset
nl_require_bpffs
PCAP=$NL_CORPUS/zeek/traces/smtp.pcap
[ -r "$PCAP" ] || nl_skip "corpus not found: $PCAP"
MT=$BUILD/mailtap
CAT=$BUILD/mailtap-cat
[ -x "$MT" ] && [ -x "$CAT" ] || nl_fail "$MT / $CAT not built"

nl_setup 4
nl_two_flow_queues "$PCAP"
want=$(tcpdump -r "$NL_TMP/exp.pcap" 2>/dev/null | wc -l)
echo "mail frames: $want"

# run BIN OUT STATS_INTERVAL: the capture of the flows as described above, records to OUT;
# EXTRA: more options.
EXTRA=()
run() {
	nl_bg "$1" -i "$NL_CAP" --queues 4 --capture-threads 4 --workers 2 --seed 1 \
		--stats-interval "$3" ${EXTRA[@]+"${EXTRA[@]}"} -w "$2" 2>"$NL_TMP/err"
	pid=$!
	for ((i = 0; i < 100; i++)); do nl_xdp_attached && break; sleep 0.1; done
	sleep 0.5
	nl_replay "$NL_TMP/rest.pcap" --pps 2000
	nl_exec taskset -c 0 tcpreplay -q -i "$NL_INJ" --pps 2000 "$NL_TMP/a.pcap" >/dev/null &
	ra=$!
	nl_exec taskset -c 1 tcpreplay -q -i "$NL_INJ" --pps 2000 "$NL_TMP/b.pcap" >/dev/null &
	rb=$!
	wait $ra || nl_fail "replay A"
	wait $rb || nl_fail "replay B"
	sleep 1.5
	kill -TERM "$pid"
	nl_wait_pid "$pid" 60 || { cat "$NL_TMP/err"; nl_fail "$1 -i failed"; }
	cat "$NL_TMP/err"
	grep -q '4 capture threads, 2 workers' "$NL_TMP/err" || nl_fail "$1 did not start 4 capture threads"
	nl_xdp_attached && nl_fail "XDP program left after exit"
}
# check LIVE.mp MIN_STATS [PROC]: LIVE's records equal mailtap -r's (as sets, without capture
# times and random ids); the last stats record counts every frame once, none dropped, PROC of
# them processed (default: all); at least MIN_STATS stats records.
check() {
	"$CAT" "$1" >"$NL_TMP/live.json"
	python3 - "$NL_TMP/off.json" "$NL_TMP/live.json" "$want" "$2" "${3:-$want}" <<'EOF'
import json, sys
ids = ("uid", "fuid", "fuids", "parent_fuid")
def load(path):
    recs, stats = [], []
    for line in open(path):
        r = json.loads(line)
        if r["_path"] == "capture_loss" or r.get("note", "").startswith("CaptureLoss::"):
            continue  # measurements on each run's clock
        (stats if r["_path"] == "stats" else recs).append(r)
    return recs, stats
def norm(r):
    if r["_path"] == "notice":  # which connection raises it first depends on the workers
        return json.dumps([r.get(k) for k in ("note", "msg", "sub", "dst", "p")])
    r = {k: v for k, v in r.items() if k not in ids and k not in ("ts", "duration")
         and not k.endswith("_time")}
    return json.dumps(r, sort_keys=True)
off, _ = load(sys.argv[1])
live, stats = load(sys.argv[2])
want, min_stats, proc = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
a, b = sorted(map(norm, off)), sorted(map(norm, live))
if a != b:
    for x in [x for x in a if x not in b][:3]:
        print("  offline only:", x[:300])
    for x in [x for x in b if x not in a][:3]:
        print("  live only:   ", x[:300])
    sys.exit(1)
print(f"{len(a)} records equal ({len([r for r in off if r['_path'] == 'smtp'])} smtp), "
      f"{len(stats)} stats records")
s = stats[-1]
for k in ("xsk_queues", "xsk_delivered", "pkts_proc_total", "pkts_dropped_total", "xdp_redirected"):
    print(f"  {k} = {s.get(k)}")
assert len(stats) >= min_stats, "want %d stats records, got %d" % (min_stats, len(stats))
assert s["xsk_queues"] == 4, s["xsk_queues"]
assert s["xsk_delivered"] == want, "delivered %d, want %d" % (s["xsk_delivered"], want)
assert s["xdp_redirected"] == want, "redirected %d, want %d" % (s["xdp_redirected"], want)
assert s["pkts_proc_total"] == proc, "processed %d, want %d" % (s["pkts_proc_total"], proc)
assert s["pkts_dropped_total"] == 0, s["pkts_dropped_total"]
EOF
}

"$MT" -r "$NL_TMP/exp.pcap" --seed 1 -w "$NL_TMP/off.mp" 2>/dev/null || nl_fail "mailtap -r"
"$CAT" "$NL_TMP/off.mp" >"$NL_TMP/off.json"
run "$MT" "$NL_TMP/live.mp" 3600
check "$NL_TMP/live.mp" 1 || nl_fail "live records differ"
# -f with capture threads (each thread runs its own copy of the filter): one of the two SMTP
# connections left out; the records are those of mailtap -r -f, the frames processed those
# tcpdump keeps.
cport=$(python3 -c 'import json,sys; print(min(json.loads(l)["id.orig_p"] for l in open(sys.argv[1]) if json.loads(l)["_path"] == "smtp"))' "$NL_TMP/off.json")
FX="not tcp port $cport"
"$MT" -r "$NL_TMP/exp.pcap" --seed 1 -f "$FX" -w - 2>/dev/null | "$CAT" >"$NL_TMP/off.json"
kept=$(tcpdump -r "$NL_TMP/exp.pcap" "$FX" 2>/dev/null | wc -l)
[ "$(grep -c '"_path":"smtp"' "$NL_TMP/off.json")" -ge 1 ] && [ "$kept" -lt "$want" ] ||
	nl_fail "-f '$FX' leaves nothing to compare"
EXTRA=(-f "$FX")
run "$MT" "$NL_TMP/live-f.mp" 3600
EXTRA=()
check "$NL_TMP/live-f.mp" 1 "$kept" || nl_fail "live records with -f '$FX' differ"
echo "-f '$FX': $kept of $want frames processed, the records of mailtap -r -f"
"$MT" -r "$NL_TMP/exp.pcap" --seed 1 -w - 2>/dev/null | "$CAT" >"$NL_TMP/off.json"
# The same under ThreadSanitizer (built by 25-workers), with a stats record every second
# while the threads run: TSan ends mailtap with exit 66 on any race report.
TS=build-tsan
if [ -x "$TS/mailtap" ]; then
	export TSAN_OPTIONS="halt_on_error=1 exitcode=66"
	run "$TS/mailtap" "$NL_TMP/tsan.mp" 1
	check "$NL_TMP/tsan.mp" 2 || nl_fail "records under TSan differ"
	echo "TSan: no race report"
else
	echo "build-tsan/mailtap not built (25-workers builds it): TSan pass not run"
fi
echo "PASS: 4 capture threads, 2 workers: the records of mailtap -r, every frame processed once"
