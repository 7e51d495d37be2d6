#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The README's first command, as written there (`tools/install-deps.sh && make demo`: live
# capture on a veth pair in a namespace,
# replaying tests/data/demo-smtp.pcap) exits 0 and prints the records `mailtap -r` gives for
# the same capture (without what depends on the replay's timing: ts, the ids, durations),
# the stats record's XDP counters add up, and it leaves no namespace or veth behind.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 249; }
ns_before=$(ip netns list | sort)
links_before=$(ip -o link show | grep -c .)
cmd=$(sed -n '/^```sh/{n;p;q}' README.md | sed 's/ *#.*//')
case $cmd in *"make demo") ;; *) echo "FAIL: README's first command is '$cmd', not one that ends in make demo"; exit 1 ;; esac
[ "$B" = build ] || cmd="$cmd BUILD=$B"
echo "running the README's first command: $cmd"
timeout -k 10 300 bash -c "$cmd" >"$T/demo.log" 2>&1
rc=$?
"$B/mailtap" -r tests/data/demo-smtp.pcap -w - 2>/dev/null | "$B/mailtap-cat" >"$T/off.json"
grep '^{"_path"' "$T/demo.log" >"$T/live.json"
python3 - "$T/off.json" "$T/live.json" <<'PY'
import json, sys
drop = ("ts", "uid", "fuid", "fuids", "duration")
def load(p):
    rows = [json.loads(l) for l in open(p)]
    return sorted(json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True)
                  for r in rows if r["_path"] not in ("stats", "capture_loss") and
                  not r.get("note", "").startswith("CaptureLoss::")), \
        [r for r in rows if r["_path"] == "stats"]
off, _ = load(sys.argv[1])
live, st = load(sys.argv[2])
if not off or live != off:
    for x in off:
        if x not in live: print("offline only:", x[:300])
    for x in live:
        if x not in off: print("live only:   ", x[:300])
    sys.exit("demo records differ from mailtap -r's")
s = st[-1] if st else sys.exit("no stats record")
if s["xdp_seen"] != s["xdp_redirected"] + s["xdp_passed"] or s["xdp_redirected"] != s["pkts_proc_total"] \
        or s["pkts_proc_total"] == 0 or s["xdp_passed"] == 0:
    sys.exit("demo counters: %s" % {k: s[k] for k in ("xdp_seen", "xdp_redirected", "xdp_passed", "pkts_proc_total")})
print("demo: %d records as mailtap -r's; xdp_seen %d = redirected %d + passed %d"
      % (len(live), s["xdp_seen"], s["xdp_redirected"], s["xdp_passed"]))
PY
ok=$?
if [ $rc -ne 0 ] || [ $ok -ne 0 ]; then
	tail -20 "$T/demo.log"
	echo "FAIL make demo (exit $rc)"
	exit 1
fi
[ "$(ip netns list | sort)" = "$ns_before" ] && [ "$(ip -o link show | grep -c .)" = "$links_before" ] ||
	{ echo "FAIL the demo left a namespace or link behind"; ip netns list; exit 1; }
echo "PASS: make demo, and nothing left behind"
