#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The deployment files are valid, with the tools Debian has (no kubeconform/kubeval there):
#  - deploy/k8s/mailtap-pod.yaml: every object checked field by field against the
#    Kubernetes API models of python3-kubernetes (generated from the OpenAPI schema, API
#    1.22): unknown fields, wrong types and missing required fields fail. The one field
#    newer than those models, initContainers[].restartPolicy (native sidecars, 1.28+), is
#    allowed by name. Plus what mailtap needs: capabilities exactly BPF/PERFMON/NET_ADMIN,
#    non-root, probes, volumes mounted where the socket path points.
#  - deploy/compose/docker-compose.yml: `docker-compose config -q` (the compose JSON schema).
#  - deploy/systemd/mailtap.service: `systemd-analyze verify`, no warning at all.
#  - deploy/man/*: groff -ww without warnings; every long option of `mailtap --help` and
#    `mailtap-cat`'s options are in the pages.
#  - deploy/docker-entrypoint.sh, mailtap-health.sh, tools/container-test.sh: sh -n / bash -n.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/mailtap-deploy.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# Kubernetes
if /usr/bin/python3 -c 'import kubernetes, yaml' 2>/dev/null; then
	if /usr/bin/python3 - deploy/k8s/mailtap-pod.yaml >"$T/k8s.log" 2>&1 <<'PY'; then
import datetime, re, sys
import yaml
import kubernetes.client as kc
from kubernetes.client import ApiClient

EXTRA = {("V1Container", "restartPolicy")}  # native sidecars (1.28+), newer than the models
errors = []

def model_for(kind, api):
    ver = api.split("/")[-1].capitalize()
    return getattr(kc, ver + kind)

def check_value(val, t, path, owner, field):
    if t.startswith("list["):
        if not isinstance(val, list):
            errors.append(f"{path}: expected a list"); return
        for i, v in enumerate(val):
            check_value(v, t[5:-1], f"{path}[{i}]", owner, field)
    elif t.startswith("dict("):
        if not isinstance(val, dict):
            errors.append(f"{path}: expected a map"); return
        inner = t[t.index(", ") + 2:-1]
        for k, v in val.items():
            check_value(v, inner, f"{path}.{k}", owner, field)
    elif t == "str":
        if not isinstance(val, str):
            errors.append(f"{path}: expected a string, got {val!r}")
    elif t == "int":
        if not isinstance(val, int) or isinstance(val, bool):
            errors.append(f"{path}: expected an integer, got {val!r}")
    elif t == "bool":
        if not isinstance(val, bool):
            errors.append(f"{path}: expected a boolean, got {val!r}")
    elif t in ("object", "datetime", "float"):
        pass
    elif hasattr(kc, t):
        check_obj(val, t, path)
    else:
        errors.append(f"{path}: unknown type {t}")

def check_obj(obj, name, path):
    if not isinstance(obj, dict):
        errors.append(f"{path}: expected a map"); return
    cls = getattr(kc, name)
    rev = {v: k for k, v in cls.attribute_map.items()}
    for key, val in obj.items():
        if key not in rev:
            if (name, key) in EXTRA:
                continue
            errors.append(f"{path}.{key}: unknown field of {name}")
            continue
        check_value(val, cls.openapi_types[rev[key]], f"{path}.{key}", name, key)

class R:  # ApiClient.deserialize wants a response; it runs the models' required checks
    def __init__(self, d):
        import json
        self.data = json.dumps(d, default=str)

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
objs = {}
for i, d in enumerate(docs):
    name = model_for(d["kind"], d["apiVersion"]).__name__
    check_obj(d, name, f"doc{i}({d['kind']})")
    try:
        ApiClient().deserialize(R(d), name)
    except ValueError as e:
        errors.append(f"doc{i}({d['kind']}): {e}")
    objs[d["kind"]] = d

if errors:
    print("\n".join(errors))
    sys.exit(1)
pod = objs["Pod"]["spec"]
vols = {v["name"] for v in pod["volumes"]}
cms = {objs["ConfigMap"]["metadata"]["name"]}
for v in pod["volumes"]:
    if "configMap" in v and v["configMap"]["name"] not in cms:
        errors.append(f"volume {v['name']}: no ConfigMap {v['configMap']['name']}")
conts = {c["name"]: c for c in pod.get("initContainers", []) + pod["containers"]}
for c in conts.values():
    for m in c.get("volumeMounts", []):
        if m["name"] not in vols:
            errors.append(f"{c['name']}: mounts unknown volume {m['name']}")
mt = conts["mailtap"]
sc = mt["securityContext"]
env = {e["name"]: e.get("value") for e in mt.get("env", [])}
if sorted(sc["capabilities"]["add"]) != ["BPF", "NET_ADMIN", "PERFMON"] or sc["capabilities"]["drop"] != ["ALL"]:
    errors.append("mailtap: capabilities must be drop ALL, add BPF PERFMON NET_ADMIN")
if not sc.get("runAsNonRoot") or sc.get("runAsUser", 0) == 0:
    errors.append("mailtap: must run as non-root")
if env.get("MAILTAP_CAPTURE") != "host":
    errors.append("mailtap: must use host mode in the MTA's pod")
sock = env.get("MAILTAP_OUTPUT", "").split("forward:unix:")[-1]
mounts = {m["mountPath"]: m["name"] for m in mt["volumeMounts"]}
fb = conts["fluent-bit"]
fbm = {m["mountPath"]: m["name"] for m in fb["volumeMounts"]}
d = sock.rsplit("/", 1)[0]
if d not in mounts or d not in fbm or mounts[d] != fbm[d]:
    errors.append(f"socket dir {d} is not a volume shared by mailtap and fluent-bit")
conf = objs["ConfigMap"]["data"]["fluent-bit.conf"]
if not re.search(r"(?im)^\s*unix_path\s+" + re.escape(sock) + r"\s*$", conf):
    errors.append(f"fluent-bit.conf does not listen on {sock}")
if "readinessProbe" not in mt:
    errors.append("mailtap: no readinessProbe")
timeout = int(re.search(r"--forward-close-timeout-ms (\d+)", env.get("MAILTAP_ARGS", "")).group(1))
if timeout / 1000 >= pod["terminationGracePeriodSeconds"]:
    errors.append("forward close timeout not inside the grace period")
print("\n".join(errors) if errors else f"{len(docs)} objects valid")
sys.exit(1 if errors else 0)
PY
		ok "k8s manifest ($(tail -n 1 "$T/k8s.log"); python3-kubernetes $(/usr/bin/python3 -c 'import kubernetes; print(kubernetes.__version__)') models)"
	else
		cat "$T/k8s.log"
		bad "k8s manifest"
	fi
else
	echo "SKIP k8s manifest: python3-kubernetes missing (tools/install-deps.sh)"
fi

# Compose
if command -v docker-compose >/dev/null 2>&1; then
	/usr/bin/python3 deploy/seccomp/make-profile.py >"$T/seccomp.json" || bad "seccomp profile"
	if MAILTAP_SECCOMP="$T/seccomp.json" docker-compose -f deploy/compose/docker-compose.yml config -q >"$T/compose.log" 2>&1; then
		ok "compose file (docker-compose $(docker-compose version --short 2>/dev/null) config)"
	else
		cat "$T/compose.log"
		bad "compose file"
	fi
else
	echo "SKIP compose: docker-compose missing (tools/install-deps.sh)"
fi
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any("bpf" in r["names"] and r["action"]=="SCMP_ACT_ALLOW" and r.get("includes",{}).get("caps")==["CAP_BPF"] for r in d["syscalls"]); assert not any("bpf" in r["names"] and r["action"]!="SCMP_ACT_ALLOW" for r in d["syscalls"])' "$T/seccomp.json" 2>/dev/null &&
	ok "seccomp profile allows bpf(2) with CAP_BPF" || bad "seccomp profile"

# systemd
if command -v systemd-analyze >/dev/null 2>&1; then
	case $BUILD in /*) mt=$BUILD/mailtap ;; *) mt=$PWD/$BUILD/mailtap ;; esac # BUILD=/tmp/x too
	sed "s|/usr/bin/mailtap|$mt|" deploy/systemd/mailtap.service >"$T/mailtap.service"
	if systemd-analyze verify --man=no "$T/mailtap.service" >"$T/sd.log" 2>&1 && [ ! -s "$T/sd.log" ]; then
		ok "systemd unit (systemd-analyze verify)"
	else
		cat "$T/sd.log"
		bad "systemd unit"
	fi
else
	echo "SKIP systemd unit: no systemd-analyze"
fi
grep -q '^AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_NET_ADMIN' deploy/systemd/mailtap.service &&
	grep -q '^ExecReload=/bin/kill -HUP $MAINPID' deploy/systemd/mailtap.service &&
	! grep -qE '^User=root' deploy/systemd/mailtap.service && ok "unit: capabilities, reload = SIGHUP, not root" || bad "unit contents"
# /run/mailtap (RuntimeDirectory=) holds the program id a crashed run left attached: removed
# between the crash and the restart, the next run refuses to start next to that program.
grep -q '^Restart=on-failure' deploy/systemd/mailtap.service &&
	grep -q '^RuntimeDirectory=mailtap$' deploy/systemd/mailtap.service &&
	grep -qE '^RuntimeDirectoryPreserve=(restart|yes)$' deploy/systemd/mailtap.service &&
	ok "unit: restarted on failure, /run/mailtap kept across restarts" ||
	bad "unit: /run/mailtap (the lock files) must survive a restart: RuntimeDirectoryPreserve=restart"

# man pages
for m in deploy/man/mailtap.8 deploy/man/mailtap-cat.1; do
	if groff -man -ww -z "$m" 2>"$T/groff.log" && [ ! -s "$T/groff.log" ]; then
		ok "$m renders without warnings"
	else
		cat "$T/groff.log"
		bad "$m"
	fi
done
# man_lacks PAGE OPTION...: the options PAGE does not name. Whole names: "\-\-stats" must
# not be found as the start of "\-\-stats\-interval" (or --spool in --spool-max-bytes), so
# the name ends at the end of the line or at a character that cannot continue it (a blank, a
# quote, "=", "[", ",", a font escape like "\fR", ...), never at a letter, digit or "\-".
man_lacks() {
	local page=$1 o re missing=""
	shift
	for o in "$@"; do
		re=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
		grep -qE -- "${re}(\$|[^a-z0-9\\]|\\[^-])" "$page" || missing+=" $o"
	done
	echo "$missing"
}
if [ -x "$BUILD/mailtap" ]; then
	opts=$("$BUILD/mailtap" --help 2>&1 | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u)
	# shellcheck disable=SC2086
	missing=$(man_lacks deploy/man/mailtap.8 $opts)
	[ -z "$missing" ] && ok "mailtap.8 documents every option of mailtap --help" || bad "mailtap.8 lacks:$missing"
fi
# the check itself: a page naming only longer options lacks the shorter ones they begin with
# (a substring match found --stats in --stats-interval); the ways the page writes a name
# (end of line, " N", "\fR", "[=", ",") count
printf '%s\n' '.BI \-\-stats\-interval " S"' '.B \-\-spool\-max\-bytes' \
	'.BR \-r ", " \-\-read " \fIFILE\fR"' '.BR \-\-community\-id [ =\fIS\fR ]' \
	'.BI \-\-rx\-ring " N\fR, " \-\-fill\-ring " N"' '.BR \-w ", " \-\-write' >"$T/cut.8"
missing=$(man_lacks "$T/cut.8" --stats --stats-interval --spool --spool-max-bytes --read \
	--community-id --rx-ring --fill-ring --write --ring-bytes)
[ "$missing" = " --stats --spool --ring-bytes" ] &&
	ok "the man check wants whole names: --stats, --spool are not in --stats-interval, --spool-max-bytes" ||
	bad "the man check on a page of longer names lacks '$missing', wanted ' --stats --spool --ring-bytes'"
for o in -s -t -c -r; do
	grep -qF -- "\\$o" deploy/man/mailtap-cat.1 || bad "mailtap-cat.1 lacks $o"
done

# scripts
for s in deploy/docker-entrypoint.sh deploy/mailtap-health.sh; do
	sh -n "$s" && ok "$s (sh -n)" || bad "$s"
done
bash -n tools/container-test.sh && ok "tools/container-test.sh (bash -n)" || bad "tools/container-test.sh"
# The entrypoint turns the variables into flags, in order, before the command's own.
got=$(env -i MAILTAP_INTERFACE=eth0 MAILTAP_CAPTURE=host MAILTAP_OUTPUT=forward:unix:/s MAILTAP_PORTS=25 \
	MAILTAP_ARGS="--stats --workers 2" sh -c 'sed "s|exec /usr/bin/mailtap|echo|" deploy/docker-entrypoint.sh | sh -s -- -v')
[ "$got" = "-i eth0 --capture host -o forward:unix:/s --ports 25 --stats --workers 2 -v" ] &&
	ok "entrypoint: $got" || bad "entrypoint gives: $got"
# MAILTAP_ARGS is split, never globbed (a "*" in a directory of files stays a "*"); an input
# on the command line replaces MAILTAP_INTERFACE (mailtap refuses two), -r also the
# live-capture variables (mailtap refuses them with -r).
mkdir -p "$T/glob" && touch "$T/glob/a" "$T/glob/b"
sed 's#^exec /usr/bin/mailtap "\$@"$#printf "%s|" "$@"; echo#' deploy/docker-entrypoint.sh >"$T/ep.sh"
ep() { (cd "$T/glob" && env -i MAILTAP_INTERFACE=eth0 MAILTAP_CAPTURE=host MAILTAP_XDP_MODE=skb \
	MAILTAP_OUTPUT=forward:unix:/s MAILTAP_ARGS="--extract-types * --workers 2" sh "$T/ep.sh" "$@"); }
got=$(ep -v)
[ "$got" = "-i|eth0|--capture|host|-o|forward:unix:/s|--xdp-mode|skb|--extract-types|*|--workers|2|-v|" ] &&
	ok "entrypoint: MAILTAP_ARGS not globbed: $got" || bad "entrypoint globbed MAILTAP_ARGS: $got"
got=$(ep -i eth1)
[ "$got" = "--capture|host|-o|forward:unix:/s|--xdp-mode|skb|--extract-types|*|--workers|2|-i|eth1|" ] &&
	ok "entrypoint: -i replaces MAILTAP_INTERFACE: $got" || bad "entrypoint with -i: $got"
got=$(ep -r /x.pcap)
[ "$got" = "-o|forward:unix:/s|--extract-types|*|--workers|2|-r|/x.pcap|" ] &&
	ok "entrypoint: -r leaves the live-capture variables out: $got" || bad "entrypoint with -r: $got"

# The health probe takes the interface and mode from the running mailtap's command line: a
# stand-in process named mailtap (a shell, kept from exec'ing its command) with flags as a
# user passes them after the image name; the env variables say otherwise and must lose.
cp /bin/sh "$T/mailtap"
probe() { # ARGS...: the probe's output against a stand-in mailtap run with ARGS
	# its output away from the caller's $(...), which would wait for the sleep otherwise
	"$T/mailtap" -c 'sleep 20; :' mailtap "$@" </dev/null >/dev/null 2>&1 &
	local p=$! out
	sleep 0.2
	out=$(MAILTAP_INTERFACE=mtnone0 MAILTAP_CAPTURE=mirror sh deploy/mailtap-health.sh 2>&1)
	pkill -P "$p" 2>/dev/null
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	echo "$out"
}
for args in "-i mtprobe9 --capture host" "--interface=mtprobe9 --capture=host" "-vimtprobe9 --capture mirror --capture host"; do
	# shellcheck disable=SC2086 # the flags, word-split
	out=$(probe $args)
	case $out in
	*"no XDP program on mtprobe9 yet (host mode, from its command line)"*)
		ok "health probe, mailtap $args: checks mtprobe9 in host mode" ;;
	*) bad "health probe, mailtap $args: $out" ;;
	esac
done
out=$(probe -r /x.pcap)
case $out in *"only reads files"*) ok "health probe: a -r run is no live capture" ;; *) bad "health probe with -r: $out" ;; esac
# The probe's parser knows which of mailtap's short options take a value ([irwof]): the
# letters followed by one ':' in opts.c's getopt string ('::', an optional value, must be
# attached), or a new one would be read as a flag
# and its value as the next option.
opts=$(sed -n 's/.*getopt_long(argc, argv, "\([^"]*\)".*/\1/p' user/opts.c)
want=$(printf '%s\n' "$opts" | grep -o '[[:alnum:]]::\?' | grep -v '::' | tr -d ':\n' | fold -w1 | sort | tr -d '\n')
have=$(sed -n 's/^[[:space:]]*\[\([[:alnum:]]*\)\])$/\1/p' deploy/mailtap-health.sh | fold -w1 | sort | tr -d '\n')
[ -n "$opts" ] && [ -n "$want" ] && [ "$want" = "$have" ] &&
	ok "health probe: the short options with a value are opts.c's ($want of $opts)" ||
	bad "health probe: short options with a value [$have], opts.c's getopt string \"$opts\" has [$want]"

[ $fails -eq 0 ] || exit 1
echo PASS
