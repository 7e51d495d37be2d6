#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Cross-check: mailtap's records against the OTHER tools' expectations in the corpus.

- Suricata-verify (../shared/corpus/suricata-verify/**/test.yaml): every `checks: - filter:`
  whose event type has a counterpart (smtp, fileinfo, anomaly, flow; the SMTP fields of alerts)
  is evaluated over "virtual eve events" built from mailtap's smtp/files/weird/conn records
  (mapping.py says how), with Suricata-verify's matching rules (dotted keys, [i] indexes,
  has-key/not-has-key, exact count).
- Arkime (../shared/corpus/arkime/*.test): the email and tls fields of each session against the
  records of the same connection.
- nDPI (../shared/corpus/ndpi/result/*.out): each mail-port flow's classification, packet
  counts, TLS version, cipher, SNI, JA3C/JA3S/JA4 against conn and ssl records.

Each expectation prints PASS, XFAIL (a documented difference: mapping.DIFFS, with its reason;
the adjusted expectation given there must hold), XPASS (listed in DIFFS but agrees now: fails
the run, so the table cannot go stale), SKIP (with the reason) or FAIL.
Usage: xcheck.py [--only SUBSTR] [-v]. Ends with "N passed, N failed"."""
import argparse
import base64
import copy
import email.header
import glob
import hashlib
import json
import os
import quopri
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mapping as M  # noqa: E402

try:
    import yaml
except ImportError:  # pragma: no cover
    print("SKIP: python3-yaml is not installed (tools/install-deps.sh)")
    sys.exit(249)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
BUILD = os.environ.get("BUILD", "build")
MAILTAP = os.path.join(ROOT, BUILD, "mailtap")
CAT = os.path.join(ROOT, BUILD, "mailtap-cat")

_cache = {}


def run_mailtap(pcap, extra=()):
    """mailtap's records for a capture (JSON dicts with _path), cached."""
    args = ["--hashes", "md5,sha1,sha256"] + list(extra)
    port = M.PORTS.get(os.path.relpath(pcap, CORPUS))
    if port:
        args += ["--ports", "25,465,587," + ",".join(str(p) for p in port)]
    key = (pcap, tuple(args))
    if key in _cache:
        return _cache[key]
    with tempfile.NamedTemporaryFile(suffix=".mp") as out, \
            tempfile.TemporaryDirectory() as xdir:
        cmd = [MAILTAP, "-r", pcap, "-w", out.name, "--seed", "1", "--extract-dir", xdir] + args
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if p.returncode not in (0, 2):
            raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                        p.stderr.strip()[-300:]))
        c = subprocess.run([CAT, out.name], capture_output=True, text=True, timeout=120)
        if c.returncode != 0:
            raise RuntimeError("mailtap-cat failed: %s" % c.stderr)
        recs = [json.loads(line) for line in c.stdout.splitlines()]
        # the extracted contents without their last CRLF (see "crlf" in mapping.DIFFS)
        for r in recs:
            if r.get("_path") == "files" and r.get("extracted"):
                with open(os.path.join(xdir, r["extracted"]), "rb") as f:
                    data = f.read()
                if data.endswith(b"\r\n"):
                    data = data[:-2]
                    r["_nocrlf"] = {"size": len(data)}
                    for h in ("md5", "sha1", "sha256"):
                        r["_nocrlf"][h] = hashlib.new(h, data).hexdigest()
    _cache[key] = recs
    return recs


# ---------------------------------------------------------------------------------------------
# Suricata eve events built from mailtap's records

def tuple_of(r):
    return {"src_ip": r.get("id.orig_h"), "src_port": r.get("id.orig_p"),
            "dest_ip": r.get("id.resp_h"), "dest_port": r.get("id.resp_p"), "proto": "TCP"}


def virtual_eve(recs):
    """Suricata-shaped events (nested dicts) from mailtap records: smtp events (one per smtp
    record), fileinfo events (one per named MIME entity file), anomaly events (one per weird,
    named by mailtap's weird name, or analyzer:NAME for an analyzer record: see ANOMALY in
    mapping.py), flow events (one per conn)."""
    files = {r["fuid"]: r for r in recs if r.get("_path") == "files"}
    evs = []
    for r in recs:
        p = r.get("_path")
        if p == "smtp":
            fl = [files[f] for f in r.get("fuids", []) if f in files]
            named = [f for f in fl if f.get("filename") is not None]
            ev = tuple_of(r)
            ev.update({"event_type": "smtp", "app_proto": "smtp", "tx_id": r["trans_depth"] - 1})
            smtp = {}
            if "helo" in r:
                smtp["helo"] = r["helo"]
            if "mailfrom" in r:
                smtp["mail_from"] = r["mailfrom"]
            if r.get("rcptto"):
                smtp["rcpt_to"] = r["rcptto"]
            em = {}
            for src, dst in M.EMAIL_FIELDS.items():
                if src in r:
                    em[dst] = r[src]
            rec = [r[k] for k in ("first_received", "second_received") if k in r]
            if rec:
                em["received"] = rec
            if named:
                em["attachment"] = [f["filename"] for f in named]
            if smtp:
                ev["smtp"] = smtp
            if em:
                ev["email"] = em
            ev["files"] = [fileinfo_of(f) for f in named]
            ev["_rec"] = r
            evs.append(ev)
            for f in fl:
                fe = copy.deepcopy({k: v for k, v in ev.items() if k not in ("files", "_rec")})
                fe["event_type"] = "fileinfo"
                fe["fileinfo"] = fileinfo_of(f)
                fe["fileinfo"]["tx_id"] = ev["tx_id"]
                fe["_rec"] = f
                fe["_named"] = f.get("filename") is not None
                evs.append(fe)
        elif p == "weird":
            ev = tuple_of(r)
            ev.update({"event_type": "anomaly", "anomaly": {"weird": r.get("name")}, "_rec": r})
            evs.append(ev)
        elif p == "analyzer":  # a protocol violation: "analyzer:SSL", "analyzer:SMTP"
            ev = tuple_of(r)
            ev.update({"event_type": "anomaly",
                       "anomaly": {"weird": "analyzer:" + r.get("analyzer_name", "")}, "_rec": r})
            evs.append(ev)
        elif p == "conn":
            ev = tuple_of(r)
            svc = r.get("service", "")
            ev.update({"event_type": "flow", "_rec": r,
                       "flow": {"pkts_toserver": r.get("orig_pkts"),
                                "pkts_toclient": r.get("resp_pkts")},
                       "_service": svc.split(",") if svc else []})
            evs.append(ev)
    return evs


def fileinfo_of(f):
    fi = {"filename": f.get("filename"), "size": f.get("seen_bytes"),
          "gaps": bool(f.get("missing_bytes"))}
    for h in ("md5", "sha1", "sha256"):
        if h in f:
            fi[h] = f[h]
    if "_nocrlf" in f:
        fi["nocrlf"] = f["_nocrlf"]
    return fi


_IDX = re.compile(r"^(.*)\[(\d+)\]$")


def resolve(ev, key):
    """Suricata-verify's key lookup: dotted path with [i] indexes. -> (found, value)"""
    cur = ev
    for part in key.split("."):
        m = _IDX.match(part)
        name, idx = (m.group(1), int(m.group(2))) if m else (part, None)
        if not isinstance(cur, dict) or name not in cur:
            return False, None
        cur = cur[name]
        if idx is not None:
            if not isinstance(cur, list) or idx >= len(cur):
                return False, None
            cur = cur[idx]
    return True, cur


def norm_addr(v):
    """Suricata keeps the MAIL FROM / RCPT TO argument as sent (angle brackets); Zeek's
    mailfrom/rcptto are the bare addresses (extract_first_email_addr)."""
    if isinstance(v, str):
        v = v.strip()
        if v.startswith("<") and v.endswith(">"):
            v = v[1:-1]
    return v


def field_ok(ev, key, want):
    """One match key of a filter against one virtual event."""
    if key == "has-key":
        return all(resolve(ev, k)[0] for k in aslist(want))
    if key == "not-has-key":
        return not any(resolve(ev, k)[0] for k in aslist(want))
    base = _IDX.sub(lambda m: m.group(1) + "[]", key) if _IDX.match(key) else key
    if base in M.SET_KEYS:
        # a Zeek set: compare by membership, not by position
        found, vals = resolve(ev, base[:-2])
        if not found:
            return False
        conv = M.SET_KEYS[base]
        if conv == "addr":
            return norm_addr(want) in vals
        return any(same_text(want, v) for v in vals)
    if key == "anomaly.event":
        found, name = resolve(ev, "anomaly.weird")
        return found and name in M.ANOMALY.get(want, (None, ()))[1]
    if key == "app_proto" and ev.get("event_type") == "flow":
        svc = ev.get("_service", [])
        return M.APP_PROTO.get(want, want) in svc
    found, got = resolve(ev, key)
    if not found:
        return False
    if key in ("smtp.mail_from",):
        want = norm_addr(want)
    if isinstance(want, str) and isinstance(got, str) and key.startswith("email."):
        return same_text(want, got)
    return got == want


def same_text(want, got):
    """Header values: Suricata removes folding white space (CRLF and the continuation's
    blanks), Zeek keeps the continuation's blanks: compared without white space."""
    if want == got:
        return True
    if isinstance(want, str) and isinstance(got, str):
        return re.sub(r"\s+", "", want) == re.sub(r"\s+", "", got)
    return False


def aslist(v):
    return v if isinstance(v, list) else [v]


def count_matches(evs, et, match, allfiles=False):
    """Events matching a filter. Suricata logs files only for attachments (entities with a
    file name); allfiles=True counts every entity file (for documented differences)."""
    n = 0
    for ev in evs:
        if et is not None and ev["event_type"] != et:
            continue
        if ev["event_type"] == "fileinfo" and not ev["_named"] and not allfiles:
            continue
        if et is None and ev["event_type"] not in ("smtp", "fileinfo"):
            continue
        if et == "anomaly" and not anomaly_tuple_ok(ev, match):
            continue
        if all(field_ok(ev, k, v) for k, v in match.items()
               if not (et == "anomaly" and k in M.TUPLE_KEYS)):
            n += 1
    return n


def anomaly_tuple_ok(ev, match):
    """Suricata's anomaly events carry the packet's direction; a weird is per connection."""
    want = {k: v for k, v in match.items() if k in M.TUPLE_KEYS and k != "proto"}
    fwd = all(ev.get(k) == v for k, v in want.items())
    rev = {"src_ip": "dest_ip", "dest_ip": "src_ip", "src_port": "dest_port",
           "dest_port": "src_port"}
    back = all(ev.get(rev[k]) == v for k, v in want.items())
    return fwd or back


def closest(evs, et, match):
    """For a failure: the keys the best candidate event disagrees on."""
    best = None
    for ev in evs:
        if et is not None and ev["event_type"] != et:
            continue
        if et is None and ev["event_type"] not in ("smtp", "fileinfo"):
            continue
        bad = [k for k, v in match.items() if not field_ok(ev, k, v)]
        if best is None or len(bad) < len(best[0]):
            best = (bad, ev)
    if best is None:
        return "no %s event at all" % et
    bad, ev = best
    parts = []
    for k in bad:
        found, got = resolve(ev, k.replace("anomaly.event", "anomaly.weird"))
        parts.append("%s: want %r got %s" % (k, match[k], repr(got) if found else "(absent)"))
    return "closest %s event differs in %s" % (ev["event_type"], "; ".join(parts))


class Result:
    def __init__(self):
        self.n = {"PASS": 0, "XFAIL": 0, "XPASS": 0, "SKIP": 0, "FAIL": 0}
        self.bugs = []
        self.fields = 0

    def out(self, kind, name, text="", detail=None):
        self.n[kind] += 1
        print("%-5s %s%s" % (kind, name, (": " + text) if text else ""))
        for d in detail or ():
            print("      " + d)


def version_skip(req):
    """Suricata version requirements: the expectations are taken as those of the newest
    Suricata (the snapshot's); ones for older versions only are skipped."""
    if not req:
        return None
    if "lt-version" in req:
        return "expectation for Suricata < %s only" % req["lt-version"]
    if "version" in req:
        return "expectation for Suricata %s only" % req["version"]
    if "features" in req:
        return "needs Suricata features %s" % ",".join(req["features"])
    return None


def suricata(res, only, verbose):
    base = os.path.join(CORPUS, "suricata-verify")
    for ty in sorted(glob.glob(os.path.join(base, "**", "test.yaml"), recursive=True)):
        tdir = os.path.dirname(ty)
        tname = os.path.relpath(tdir, base)
        if only and only not in "suricata:" + tname:
            continue
        y = yaml.safe_load(open(ty)) or {}
        checks = y.get("checks") or []
        if y.get("pcap"):
            pcap = os.path.normpath(os.path.join(tdir, y["pcap"]))
        else:
            pc = sorted(glob.glob(os.path.join(tdir, "*.pcap*")))
            pcap = pc[0] if pc else None
        why = version_skip(y.get("requires"))
        if why is None and M.SV_SKIP.get(tname):
            why = M.SV_SKIP[tname]
        if why is None and (not pcap or not os.path.exists(pcap)):
            why = "no pcap"
        evs = None
        if not why:
            hash_lists(res, tdir, tname, pcap, checks, verbose)
        for i, c in enumerate(checks):
            name = "suricata:%s#%d" % (tname, i)
            if why:
                res.out("SKIP", name, why)
                continue
            if "filter" not in c:
                res.out("SKIP", name, "%s check: %s" % (
                    "/".join(c), M.NONFILTER.get(next(iter(c)), "not a record")))
                continue
            f = c["filter"]
            w = version_skip(f.get("requires"))
            if w:
                res.out("SKIP", name, w)
                continue
            match = dict(f.get("match") or {})
            count = f.get("count")
            et = match.pop("event_type", None)
            dropped = [k for k in match if M.ignored(k, et)]
            for k in dropped:
                del match[k]
            skipwhy = None
            mode = "exact"
            ips = M.IPS_VERDICT.search(tname) and et in ("smtp", "fileinfo", "alert")
            if et is None and any(k.startswith(("alert.", "frame.")) for k in dropped):
                skipwhy = "alert/frame keys without event_type: detection, not a record"
            elif dropped and not match and et not in ("alert", "anomaly"):
                skipwhy = "only keys that are not compared (%s)" % ", ".join(dropped)
            elif count == 0 and "tx_id" in dropped and et == "smtp":
                # Suricata has no transaction number N with these fields: mailtap (whose
                # records are a subset of Suricata's transactions) has at most N of them
                mode = "atmost"
                count = f["match"]["tx_id"]
            elif count == 0 and dropped and et != "alert":
                # fewer keys make "none" stricter: compared, and skipped only if it fails
                mode = "zero-or-skip"
            elif ips and count == 0:
                skipwhy = "count 0 in IPS mode: transactions after a drop verdict are not logged"
            elif et == "alert":
                keys = [k for k in match if k.split(".")[0].split("[")[0] in ("smtp", "email",
                                                                             "files")]
                if not keys:
                    skipwhy = "alert without SMTP fields: detection (rules), not a record"
                elif count == 0:
                    skipwhy = "alert count 0: a rule did not fire (detection), not a record"
                else:
                    # the alert carries its transaction's SMTP metadata: such a transaction
                    # must exist (the number of alerts is the rules' business)
                    et, mode = "smtp", "atleast"
                    match = {k: v for k, v in match.items()
                             if k in keys or k in M.TUPLE_KEYS or k == "tx_id"}
            elif et == "anomaly":
                ev_name = match.get("anomaly.event")
                if ev_name is None:
                    skipwhy = ("counts every Suricata anomaly event; weird names are not "
                               "one-to-one with them")
                elif M.ANOMALY.get(ev_name, (None, ()))[0] is not None:
                    skipwhy = "anomaly %s: %s" % (ev_name, M.ANOMALY[ev_name][0])
                elif ev_name not in M.ANOMALY:
                    skipwhy = "anomaly %s: no mapping to a weird name" % ev_name
                elif count:
                    mode = "atleast"  # Zeek's weird.log: once per connection and name
            elif et == "flow":
                bad = [k for k in match if k not in M.FLOW_KEYS and k != "app_proto"
                       and not k.endswith("has-key")]
                if bad:
                    skipwhy = "flow keys without counterpart: %s" % ", ".join(sorted(bad))
            elif et in ("smtp", "fileinfo", None):
                if ips:
                    mode = "atleast"
                if et is None and any(not k.startswith(("smtp.", "email.", "not-has-key",
                                                        "has-key")) for k in match):
                    skipwhy = "no event_type and keys of other event types (%s)" % ", ".join(
                        sorted(k for k in match if not k.startswith(("smtp", "email"))))
            else:
                skipwhy = "event_type %s: %s" % (et, M.EVENT_SKIP.get(et, "no counterpart"))
            if skipwhy:
                res.out("SKIP", name, skipwhy)
                continue
            if evs is None:
                try:
                    evs = virtual_eve(run_mailtap(pcap, M.SV_ARGS.get(tname, ())))
                except Exception as e:  # noqa: BLE001 - reported as a failure
                    res.out("FAIL", name, str(e))
                    continue
            res.fields += len(match)
            desc = ", ".join("%s=%s" % (k, short(v)) for k, v in match.items())
            got = count_matches(evs, et, match)
            ok = {"atleast": got >= 1, "atmost": got <= count}.get(mode, got == count)
            want_s = {"atleast": ">=1", "atmost": "<=%d" % count}.get(mode, str(count))
            if mode == "zero-or-skip" and not ok and not M.diff(name):
                res.out("SKIP", name, "count 0 of keys that are not compared (%s)"
                        % ", ".join(dropped))
                continue
            d = M.diff(name)
            info = "%s count %s%s" % (et or "any", want_s, (" {" + desc + "}") if desc else "")
            if ok and not d:
                res.out("PASS", name, info if verbose else "")
            elif ok and d:
                res.out("XPASS", name, "listed in DIFFS but agrees now: remove the entry",
                        [d["reason"]])
            elif d:
                # the documented difference, applied: the adjusted expectation must hold
                m2 = dict(match)
                for k in d.get("drop", ()):
                    m2.pop(k, None)
                if d.get("crlf"):
                    # Zeek's file keeps the CRLF that ends the entity's last line: the content
                    # without it must have Suricata's size and hashes
                    m2 = {re.sub(r"^(fileinfo|files\[\d+\])\.(size|md5|sha1|sha256)$",
                                 r"\1.nocrlf.\2", k): v for k, v in m2.items()}
                m2.update(d.get("set", {}))
                c2 = d.get("count", count)
                g2 = count_matches(evs, et, m2, d.get("allfiles", False))
                ok2 = (g2 >= 1) if mode == "atleast" and "count" not in d else (g2 == c2)
                if ok2:
                    res.out("XFAIL", name, d["reason"])
                    if d["reason"].startswith("BUG:"):
                        res.bugs.append((name, d["reason"]))
                else:
                    res.out("FAIL", name, "documented difference no longer describes it",
                            [info, "got %d; %s" % (got, closest(evs, et, match)),
                             "adjusted: count %d, got %d" % (c2, g2)])
            else:
                res.out("FAIL", name, info,
                        ["got %d; %s" % (got, closest(evs, et, match))])


def hash_lists(res, tdir, tname, pcap, checks, verbose):
    """A test's hash list (target.md5: a filemd5 rule's list) whose alert fires: one of
    mailtap's file hashes must be in the list (the rules themselves are not in the corpus)."""
    fires = any("filter" in c and (c["filter"].get("match") or {}).get("event_type") == "alert"
                and (c["filter"].get("count") or 0) >= 1 for c in checks)
    for lst in sorted(glob.glob(os.path.join(tdir, "*.md5")) +
                      glob.glob(os.path.join(tdir, "*.sha1")) +
                      glob.glob(os.path.join(tdir, "*.sha256"))):
        h = lst.rsplit(".", 1)[1]
        name = "suricata:%s#%s" % (tname, os.path.basename(lst))
        if not fires:
            res.out("SKIP", name, "no alert expected from the hash list")
            continue
        want = {x.split()[0].lower() for x in open(lst) if x.strip() and not x.startswith("#")}
        recs = run_mailtap(pcap, M.SV_ARGS.get(tname, ()))
        got = sorted({r[h] for r in recs if r.get("_path") == "files" and r.get(h)} & want)
        res.fields += 1
        if got:
            res.out("PASS", name, ("%s %s in the list" % (h, got[0])) if verbose else "")
        else:
            res.out("FAIL", name, "no file %s in %s (the alert expects one)" % (h, lst))


def short(v, n=40):
    s = str(v)
    return s if len(s) <= n else s[:n - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Arkime

_EW = re.compile(r"=\?([^?]+)\?([QqBb])\?([^?]*)\?=")


def rfc2047_inplace(s):
    """Each encoded word decoded where it stands, the text around it kept (Arkime's way:
    it keeps the white space between adjacent encoded words)."""
    def dec(m):
        cs, enc, txt = m.group(1).split("*")[0], m.group(2).upper(), m.group(3)
        try:
            if enc == "B":
                raw = base64.b64decode(txt + "=" * (-len(txt) % 4))
            else:
                raw = quopri.decodestring(txt.replace("_", " ").encode("ascii"), header=True)
            return raw.decode(cs, errors="replace")
        except Exception:  # noqa: BLE001
            return m.group(0)
    return _EW.sub(dec, s)


def rfc2047(s):
    """RFC 2047 decoding as Arkime does for its subject (Python's email.header)."""
    try:
        parts = email.header.decode_header(s)
        out = []
        for b, cs in parts:
            if isinstance(b, bytes):
                out.append(b.decode(cs or "ascii", errors="replace"))
            else:
                out.append(b)
        return "".join(out)
    except Exception:  # noqa: BLE001
        return s


def header_addrs(values):
    """The addresses of header values: <...> parts, else words with an @."""
    out = []
    for v in values:
        a = re.findall(r"<([^<>]*)>", v)
        out += a if a else [w.strip('",;') for w in v.split() if "@" in w]
    return out


def field_check(res, name, want, got, verbose, note=""):
    """One field comparison (Arkime, nDPI): sets or values."""
    res.fields += 1
    d = M.diff(name)
    ok = want == got
    if ok and not d:
        res.out("PASS", name, ("%s%s" % (short(want), note)) if verbose else "")
    elif ok and d:
        res.out("XPASS", name, "listed in DIFFS but agrees now: remove the entry", [d["reason"]])
    elif d:
        if "got" in d and d["got"] != got:
            res.out("FAIL", name, "documented difference no longer describes it",
                    ["want %r, got %r, documented got %r" % (want, got, d["got"])])
        else:
            res.out("XFAIL", name, d["reason"])
            if d["reason"].startswith("BUG:"):
                res.bugs.append((name, d["reason"]))
    else:
        res.out("FAIL", name, "want %s, got %s" % (short(repr(want), 300), short(repr(got), 300)))


def conn_key(r):
    return (r.get("id.orig_h"), r.get("id.orig_p"), r.get("id.resp_h"), r.get("id.resp_p"))


def arkime(res, only, verbose):
    base = os.path.join(CORPUS, "arkime")
    for t in sorted(glob.glob(os.path.join(base, "*.test"))):
        tname = os.path.basename(t)
        if only and only not in "arkime:" + tname:
            continue
        pcap = t[:-5] + ".pcap"
        sessions = json.load(open(t)).get("sessions3", [])
        recs = None
        for si, s in enumerate(sessions):
            b = s["body"]
            em = b.get("email")
            tls = b.get("tls")
            if em is None and tls is None:
                continue
            key = (b["source"].get("ip"), b["source"].get("port"),
                   b["destination"].get("ip"), b["destination"].get("port"))
            pre = "arkime:%s#%d" % (tname, si)
            why = M.ARKIME_SKIP.get(tname)
            ports = M.MAIL_PORTS | set(M.PORTS.get(os.path.relpath(pcap, CORPUS), ()))
            if not why and key[3] not in ports:
                why = "%s session on port %s: not a mail port" % (
                    "/".join(b.get("protocol", [])), key[3])
            if why:
                res.out("SKIP", pre, why)
                continue
            if recs is None:
                try:
                    recs = run_mailtap(pcap)
                except Exception as e:  # noqa: BLE001
                    res.out("FAIL", pre, str(e))
                    break
            mine = [r for r in recs if conn_key(r) == key]
            smtp = [r for r in mine if r.get("_path") == "smtp"]
            fuids = {f for r in smtp for f in r.get("fuids", [])}
            files = [r for r in recs if r.get("_path") == "files" and r.get("fuid") in fuids]
            ssl = [r for r in mine if r.get("_path") == "ssl"]
            skipped = {}
            for k in sorted(list(em or {}) + ["tls." + k for k in tls or {}]):
                if k.endswith("Cnt") or k in M.ARKIME_EMAIL or k[4:] in M.ARKIME_TLS:
                    continue
                r = (M.ARKIME_TLS_SKIP.get(k[4:]) if k.startswith("tls.") else
                     M.ARKIME_EMAIL_SKIP.get(k)) or "no counterpart in Zeek's records"
                skipped.setdefault(r, []).append(k)
            for r, ks in sorted(skipped.items()):
                res.out("SKIP", "%s:%s" % (pre, ",".join(ks)), r)
            for k, v in sorted((em or {}).items()):
                if k.endswith("Cnt") or k not in M.ARKIME_EMAIL:
                    continue
                name = "%s:email.%s" % (pre, k)
                kind, src = M.ARKIME_EMAIL[k]
                if k in M.ARKIME_LOWER:
                    v = [x.lower() for x in v]
                if kind == "smtp":
                    got = sorted({r[src] for r in smtp if src in r})
                    if k in M.ARKIME_LOWER:
                        got = sorted({x.lower() for x in got})
                    want = sorted(set(v))
                    if src == "subject" and got != want:
                        dec = sorted({rfc2047(x) for x in got})
                        if dec != want:
                            dec = sorted({rfc2047_inplace(x) for x in got})
                        if dec == want:
                            field_check(res, name, want, dec, verbose,
                                        " (after RFC 2047 decoding of mailtap's raw header)")
                            continue
                elif kind == "src":
                    # Arkime's src: the MAIL FROM address and the From header's addresses
                    got = sorted({x.lower() for r in smtp for x in
                                  ([r["mailfrom"]] if "mailfrom" in r else []) +
                                  header_addrs([r.get("from", "")])})
                    want = sorted(set(v))
                elif kind == "dst":
                    # Arkime's dst: RCPT TO addresses and the To and Cc headers' addresses
                    got = sorted({x.lower() for r in smtp for x in r.get("rcptto", []) +
                                  header_addrs(r.get("to", []) + r.get("cc", []))})
                    want = sorted(set(v))
                elif kind == "filessub":
                    # Arkime hashes and sniffs only base64-encoded parts: each of its values
                    # must be one of mailtap's
                    want = sorted(set(v))
                    have = {f[src] for f in files if f.get(src)}
                    got = sorted(x for x in want if x in have)
                elif kind == "files":
                    got = sorted({f[src] for f in files if f.get(src)})
                    want = sorted(set(v))
                elif kind == "msgid":
                    got = sorted({r[src].strip().strip("<>") for r in smtp if src in r})
                    want = sorted(set(v))
                elif kind == "path":
                    # Arkime: every address in the Received headers; Zeek's path: resp_h,
                    # orig_h, then one address per Received header (find_address_in_smtp_
                    # header): each address mailtap took must be one of Arkime's
                    want = sorted({a for r in smtp for a in r.get("path", [])[2:]})
                    got = sorted(a for a in want if a in set(v))
                    if not want:
                        res.out("SKIP", name, "no Received address in Zeek's path (an address "
                                "equal to the previous hop is not repeated)")
                        continue
                else:
                    raise ValueError(kind)
                field_check(res, name, want, got, verbose)
            for ci, cert in enumerate(b.get("cert", [])):
                arkime_cert(res, "%s:cert[%d]" % (pre, ci), cert, recs, key, verbose)
            for k, v in sorted((tls or {}).items()):
                if k.endswith("Cnt") or k not in M.ARKIME_TLS:
                    continue
                name = "%s:tls.%s" % (pre, k)
                src, conv = M.ARKIME_TLS[k]
                want = sorted({conv(x) for x in v})
                got = sorted({r[src] for r in ssl if src in r})
                field_check(res, name, want, got, verbose)


def dn_parts(dn):
    """An RFC 2253 name (Zeek's x509 subject/issuer) as (attribute, value) pairs."""
    out = []
    for part in re.split(r"(?<!\\),", dn or ""):
        if "=" in part:
            k, v = part.split("=", 1)
            out.append((k.strip(), v.replace("\\,", ",").strip()))
    return out


def conn_certs(recs, key):
    """The server certificates of a connection, in order: (files record, x509 record)."""
    x509 = {r["fingerprint"]: r for r in recs if r.get("_path") == "x509"}
    out = []
    for r in recs:
        if (r.get("_path") == "files" and r.get("source") == "SSL" and not r.get("is_orig")
                and conn_key(r) == key):
            out.append((r, x509.get(r.get("sha256"), {})))
    return out


def arkime_cert(res, pre, cert, recs, key, verbose):
    """Arkime's cert entry against the certificate with the same SHA-1 (files record) and its
    x509 record. Arkime lowercases the CNs."""
    sha1 = cert.get("hash", "").replace(":", "").lower()
    found = [(f, x) for f, x in conn_certs(recs, key) if f.get("sha1") == sha1]
    field_check(res, pre + ".hash", sha1, found[0][0].get("sha1") if found else None, verbose)
    if not found:
        return
    x = found[0][1]
    checks = {
        "serial": lambda: x.get("certificate.serial", "").lower(),
        "notBefore": lambda: int(round(x.get("certificate.not_valid_before", 0) * 1000)),
        "notAfter": lambda: int(round(x.get("certificate.not_valid_after", 0) * 1000)),
        "publicAlgorithm": lambda: x.get("certificate.key_alg"),
        "alt": lambda: sorted(a.lower() for a in x.get("san.dns", [])),
        "subjectCN": lambda: sorted(v.lower() for k, v in dn_parts(x.get("certificate.subject"))
                                    if k == "CN"),
        "issuerCN": lambda: sorted(v.lower() for k, v in dn_parts(x.get("certificate.issuer"))
                                   if k == "CN"),
        "subjectON": lambda: sorted(v for k, v in dn_parts(x.get("certificate.subject"))
                                    if k == "O"),
        "issuerON": lambda: sorted(v for k, v in dn_parts(x.get("certificate.issuer"))
                                   if k == "O"),
        "subjectOU": lambda: sorted(v for k, v in dn_parts(x.get("certificate.subject"))
                                    if k == "OU"),
        "issuerOU": lambda: sorted(v for k, v in dn_parts(x.get("certificate.issuer"))
                                   if k == "OU"),
    }
    skipped = []
    for k, v in sorted(cert.items()):
        if k == "hash" or k.endswith("Cnt"):
            continue
        if k not in checks:
            skipped.append(k)
            continue
        want = sorted(x.lower() if k in ("alt", "subjectCN", "issuerCN") else x for x in v) \
            if isinstance(v, list) else v
        field_check(res, "%s.%s" % (pre, k), want, checks[k](), verbose)
    if skipped:
        res.out("SKIP", "%s.%s" % (pre, ",".join(skipped)),
                "relative to Arkime's test clock, or derived from the dates")


# ---------------------------------------------------------------------------------------------
# nDPI

FLOW = re.compile(r"^\s*\d+\s+TCP\s+\[?([0-9a-fA-F.:]+?)\]?:(\d+)\s+<->\s+\[?([0-9a-fA-F.:]+?)\]?:"
                  r"(\d+)\s+(.*)$")


def ndpi(res, only, verbose):
    base = os.path.join(CORPUS, "ndpi")
    for out in sorted(glob.glob(os.path.join(base, "result", "*.out"))):
        pname = os.path.basename(out)[:-4]
        if only and only not in "ndpi:" + pname:
            continue
        pcap = os.path.join(base, "pcap", pname)
        flows = []
        for line in open(out, encoding="utf-8", errors="replace"):
            m = FLOW.match(line)
            if not m:
                continue
            a, ap, b, bp, rest = m.groups()
            ap, bp = int(ap), int(bp)
            if not ({ap, bp} & M.MAIL_PORTS):
                continue
            flows.append((a, ap, b, bp, rest))
        if not flows:
            continue
        try:
            recs = run_mailtap(pcap)
        except Exception as e:  # noqa: BLE001
            res.out("FAIL", "ndpi:" + pname, str(e))
            continue
        for fi, (a, ap, b, bp, rest) in enumerate(flows):
            pre = "ndpi:%s#%d" % (pname, fi + 1)
            tags = dict((m.group(1), m.group(2)) for m in
                        re.finditer(r"\[([A-Za-z0-9 /-]+?): ([^\]]*)\]", rest))
            plain = re.findall(r"\[([A-Za-z0-9.]+)\]", rest)
            mine = [r for r in recs if set(conn_key(r)) >= {a, ap, b, bp} and
                    {conn_key(r)[0], conn_key(r)[2]} == {a, b}]
            conn = [r for r in mine if r.get("_path") == "conn"]
            ssl = [r for r in mine if r.get("_path") == "ssl"]
            proto = tags.get("proto", "").split("/")[-1]
            conf = tags.get("Confidence", "")
            svc = {s for r in conn for s in (r.get("service") or "").split(",") if s}
            got = "SMTPS" if "ssl" in svc else "SMTP" if "smtp" in svc else "(none)"
            if conf != "DPI":
                # nDPI named it by port only: no protocol recognised in the payload
                field_check(res, pre + ":proto", "(none)", got, verbose,
                            " (nDPI: %s by %s)" % (proto, conf))
            else:
                want = M.NDPI_PROTO.get(proto.split(".")[0], proto)
                field_check(res, pre + ":proto", want, got, verbose)
            m = re.search(r"\[(\d+) pkts/\d+ bytes <-> (\d+) pkts/\d+ bytes\]", rest)
            if m and conn:
                c = conn[0]
                orig_first = c.get("id.orig_h") == a and c.get("id.orig_p") == ap
                got = (c.get("orig_pkts"), c.get("resp_pkts"))
                if not orig_first:
                    got = got[::-1]
                field_check(res, pre + ":pkts", (int(m.group(1)), int(m.group(2))), got,
                            verbose)
            if "JA3C" not in tags and not any(p.startswith("TLSv") for p in plain):
                continue
            s = ssl[0] if ssl else {}
            vers = [p for p in plain if p.startswith(("TLSv", "SSLv"))]
            if vers:
                field_check(res, pre + ":version", M.ndpi_version(vers[0]), s.get("version"),
                            verbose)
            if "Cipher" in tags:
                field_check(res, pre + ":cipher", tags["Cipher"], s.get("cipher"), verbose)
            if "Hostname/SNI" in tags:
                field_check(res, pre + ":sni", tags["Hostname/SNI"], s.get("server_name"),
                            verbose)
            for t, f in (("JA3C", "ja3"), ("JA3S", "ja3s"), ("JA4", "ja4")):
                if t in tags:
                    field_check(res, pre + ":" + f, tags[t].split()[0], s.get(f), verbose)
            certs = conn_certs(recs, conn_key(s)) if s else []
            if "Certificate SHA-1" in tags:
                want = tags["Certificate SHA-1"].replace(":", "").lower()
                field_check(res, pre + ":cert_sha1", want,
                            certs[0][0].get("sha1") if certs else None, verbose)
            x = certs[0][1] if certs else {}
            for t, f in (("Subject", "certificate.subject"), ("Issuer", "certificate.issuer")):
                if t in tags:
                    want = sorted(tuple(p.split("=", 1)) for p in tags[t].split(", ")
                                  if "=" in p)
                    field_check(res, pre + ":cert_" + t.lower(), want,
                                sorted(dn_parts(x.get(f))), verbose)
            if "Validity" in tags:
                got = None
                if "certificate.not_valid_before" in x:
                    got = " - ".join(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(
                        x["certificate." + w])) for w in ("not_valid_before", "not_valid_after"))
                field_check(res, pre + ":cert_validity", tags["Validity"], got, verbose)
            if "ServerNames" in tags:
                field_check(res, pre + ":cert_san", sorted(tags["ServerNames"].split(",")),
                            sorted(x.get("san.dns", [])), verbose)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    for exe in (MAILTAP, CAT):
        if not os.access(exe, os.X_OK):
            print("%s is missing: run make" % exe)
            return 1
    res = Result()
    suricata(res, a.only, a.v)
    arkime(res, a.only, a.v)
    ndpi(res, a.only, a.v)
    n = res.n
    print()
    print("xcheck: %d expectations compared (%d fields): %d agree, %d documented differences "
          "(XFAIL, %d of them known bugs), %d skipped, %d XPASS, %d failed"
          % (n["PASS"] + n["XFAIL"] + n["XPASS"] + n["FAIL"], res.fields, n["PASS"],
             n["XFAIL"], len(res.bugs), n["SKIP"], n["XPASS"], n["FAIL"]))
    for b in res.bugs:
        print("known bug: %s: %s" % b)
    failed = n["FAIL"] + n["XPASS"]
    print("%d passed, %d failed" % (n["PASS"] + n["XFAIL"], failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
