#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Golden tests: mailtap's records against the logs Zeek itself wrote on the same captures.

For every Zeek btest baseline in ../shared/corpus/zeek whose trace is in the corpus, run
`mailtap -r TRACE` (with the options equivalent to the baseline's Zeek settings, see OPTIONS),
convert the records to Zeek's TSV value forms and compare every column the baseline has:
- ts is compared only where the baseline has it unmasked (btest masks it as XXXXXXXXXX.XXXXXX);
- uid and fuid values cannot be reproduced (Zeek's seeded RNG), so they are checked for
  consistency instead: one mailtap uid per Zeek uid and back, across every log of the baseline.
Rows are matched by connection 4-tuple plus the row's position among that connection's rows.
Usage: golden.py [--streams conn,smtp,...] [--only SUBSTR] [-v]
Exit 0 when everything compared is equal; prints "N passed, N failed" per baseline."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
ZEEK = os.path.join(CORPUS, "zeek")
BUILD = os.environ.get("BUILD", "build")
MAILTAP = os.path.join(ROOT, BUILD, "mailtap")
CAT = os.path.join(ROOT, BUILD, "mailtap-cat")

# Zeek script settings -> mailtap options. A baseline whose settings are not all here is
# skipped (and said so).
SETTINGS = {
    "SMTP::max_rcptto_addresses": "--smtp-max-rcptto",
    "SMTP::max_to_addresses": "--smtp-max-to",
    "SMTP::max_cc_addresses": "--smtp-max-cc",
    "SMTP::max_path_length": "--smtp-max-path",
    "SMTP::max_invalid_mail_transactions": "--smtp-max-invalid-transactions",
    "Log::default_max_field_string_bytes": "--log-max-field-string-bytes",
    "Log::default_max_total_string_bytes": "--log-max-total-string-bytes",
}

RFC822 = ["--rfc822-msg-files", "--hashes", "none", "--rfc822-msg-hashes", "sha1"]

# Per-baseline deviations, each with the reason (also in docs/records.md).
SPECIAL = {
    # Bare mode (-b) with only base/protocols/smtp: no hash analyzers attached, so files.log
    # has no md5/sha1 columns and an empty analyzers set.
    "scripts.base.protocols.smtp.attachment": {"args": ["--hashes", "none"]},
    # These btests redef SMTP::enable_rfc822_msg_file_analysis = T and attach SHA1 to the
    # message/rfc822 files only (bare mode: no hashes for the entities).
    "scripts.base.protocols.smtp.rfc822-msg-file-analysis": {"args": RFC822},
    "scripts.base.protocols.smtp.rfc822-msg-file-analysis-binary": {"args": RFC822},
    "scripts.base.protocols.smtp.rfc822-msg-file-analysis-gap": {"args": RFC822},
    "scripts.base.protocols.smtp.rfc822-msg-file-analysis-multi-mail": {"args": RFC822},
    "scripts.base.protocols.smtp.rfc822-msg-file-analysis-multi-session": {"args": RFC822},
    # SMTP inside an HTTP CONNECT tunnel on port 3378: mailtap tracks the TCP connection when
    # told the port, but does not analyse HTTP, so Zeek's "http,smtp" service is not compared.
    # The btest's intel.dat (tests/data/intel/); seen.node is Zeek's peer_description.
    "scripts.policy.frameworks.intel.seen.smtp": {
        "args": ["--intel-file", os.path.join(ROOT, "tests/data/intel/smtp-multi-addr.dat"),
                 "--node-name", "zeek"],
    },
    "scripts.base.protocols.http.http-connect": {
        "args": ["--ports", "3378"],
        "ignore": {"conn": {"service"}},
        "skip_logs": {"smtp.log"},
    },
}

# Baselines mailtap does not match yet, each with the reason. Reported as XFAIL; one that
# starts to pass is reported as XPASS and fails the run, so this list cannot go stale.
XFAIL = {
    "scripts.base.protocols.smtp.rfc822-msg-file-analysis-gap":
        "after the BDAT gap Zeek's next message file collides with the entity's file handle and "
        "logs one 86-byte file; mailtap logs the message file and the entity file (docs/files.md)",
}

# Baselines that test something other than mailtap's analysis, with the reason.
NOT_APPLICABLE = {
    "bifs.decode_base64_conn":
        "tests Zeek's decode_base64_conn() bif called by the test script on its own strings",
}

LOGS = {
    "conn.log": "conn", "conn.log.cut": "conn", "smtp.log": "smtp", "weird.log": "weird",
    "files.log": "files", "files.log.cut": "files", "files.cut": "files", "ssl.log": "ssl",
    "x509.log": "x509", "intel.log": "intel",
}
KEY_COLS = ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")


# Zeek set[...] columns: their order in a log is Zeek's hash order, so they compare as sets.
SET_COLS = {"rcptto", "to", "cc", "analyzers", "tunnel_parents", "san.dns", "san.uri",
            "san.email", "san.ip", "matched", "sources"}

# Streams whose rows Zeek writes in an order mailtap cannot reproduce (intel: one row per
# element of a set, in Zeek's hash order): rows are paired after sorting both sides by
# their columns other than ts and the ids, then compared column by column as usual.
UNORDERED = {"intel"}


def parse_zeek(path):
    """Zeek TSV (with #fields) or a zeek-cut output (a header row of names). -> (cols, rows)"""
    cols, rows, types = None, [], None
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("###"):
                continue
            if line.startswith("#fields\t"):
                cols = line.split("\t")[1:]
                continue
            if line.startswith("#types\t"):
                types = line.split("\t")[1:]
                for c, t in zip(cols or [], types):
                    if t.startswith("set["):
                        SET_COLS.add(c)
                continue
            if line.startswith("#"):
                continue
            if cols is None:
                cols = line.split("\t")
                continue
            rows.append(dict(zip(cols, line.split("\t"))))
    return [c for c in (cols or []) if c], rows


def zeek_value(v, col):
    """A JSON value of a mailtap record in Zeek's TSV form."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float):
        return "%.6f" % v
    if isinstance(v, list):
        if not v:
            return "(empty)"
        return ",".join(zeek_value(x, col) for x in v)
    if isinstance(v, str):
        if v == "":
            return "(empty)"
        return zeek_escape(v)
    return str(v)


def zeek_escape(s):
    """mailtap's string value in Zeek's TSV form. The value carries control bytes and bytes
    that are not valid UTF-8 as the text \\xNN already (as Zeek's JSON does): that stays."""
    out = []
    i = 0
    while i < len(s):
        ch = s[i]
        o = ord(ch)
        if ch == "\\" and re.match(r"x[0-9a-f]{2}", s[i + 1:i + 4]):
            out.append(s[i:i + 4])
            i += 4
            continue
        if ch == "\t" or o < 0x20 or o == 0x7f:
            out.append("\\x%02x" % o)
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def run_mailtap(traces, args):
    recs = []
    for t in traces:
        with tempfile.NamedTemporaryFile(suffix=".mp") as out:
            cmd = [MAILTAP, "-r", t, "-w", out.name, "--seed", "1"] + args
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if p.returncode not in (0, 2):
                raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr))
            c = subprocess.run([CAT, out.name], capture_output=True, text=True, timeout=120)
            if c.returncode != 0:
                raise RuntimeError("mailtap-cat failed: %s" % c.stderr)
            recs += [json.loads(l) for l in c.stdout.splitlines()]
    return recs


class Uids:
    """Consistent bijection between Zeek's and mailtap's ids."""

    def __init__(self):
        self.z2m, self.m2z = {}, {}

    def check(self, z, m):
        if z in ("-", "(empty)") or m in ("-", "(empty)"):
            return z == m
        zs, ms = z.split(","), m.split(",")
        if len(zs) != len(ms):
            return False
        for a, b in zip(zs, ms):
            if self.z2m.setdefault(a, b) != b or self.m2z.setdefault(b, a) != a:
                return False
        return True


ID_COLS = {"uid", "fuid", "fuids", "parent_fuid", "cert_chain_fps", "client_cert_chain_fps"}


def compare(base, logname, cols, zrows, mrecs, ignore, uids, verbose, ports):
    errors = []
    stream = LOGS[logname]
    mrows = [r for r in mrecs if r.get("_path") == stream]

    def key(row, get):
        return tuple(get(row, c) for c in KEY_COLS if c in cols)

    def zget(row, c):
        return row.get(c, "-")

    def mget(row, c):
        return zeek_value(row.get(c), c)

    # group rows per connection, in order
    groups = {}
    for r in mrows:
        groups.setdefault(key(r, mget), []).append(r)
    used = {}
    if stream == "weird":
        # Zeek logs only some weirds; mailtap may log more (TCP ones). Every Zeek row must be
        # present; extra mailtap rows of the SMTP/MIME families are errors.
        # Zeek's rows for connections on ports mailtap does not track are not expected.
        zset = [(key(r, zget), r.get("name"), r.get("addl", "-"), r.get("source", "-"))
                for r in zrows
                if r.get("id.resp_p", "-") == "-" or int(r["id.resp_p"]) in ports
                or int(r["id.orig_p"]) in ports]
        mset = [(key(r, mget), mget(r, "name"), mget(r, "addl"), mget(r, "source")) for r in mrows]
        for z in zset:
            if z in mset:
                mset.remove(z)
            else:
                errors.append("weird row missing: %s" % (z,))
        for m in mset:
            if m[1].startswith(("smtp_", "exceeded_mime", "base64_", "missing_SMTP")):
                errors.append("extra weird row: %s" % (m,))
        return errors
    if stream in UNORDERED:
        def skey(row, get):
            return tuple(get(row, c) for c in cols if c not in ID_COLS and c != "ts")
        zrows = sorted(zrows, key=lambda r: skey(r, zget))
        mrows = sorted(mrows, key=lambda r: skey(r, mget))
        groups = {}
        for r in mrows:
            groups.setdefault(key(r, mget), []).append(r)
    for i, zr in enumerate(zrows):
        k = key(zr, zget)
        n = used.get(k, 0)
        used[k] = n + 1
        cands = groups.get(k, [])
        if not k:
            cands = mrows
            n = i
        if n >= len(cands):
            errors.append("%s row %d (%s): no mailtap record" % (logname, i + 1, k))
            continue
        mr = cands[n]
        for c in cols:
            if c in ignore:
                continue
            zv = zr.get(c, "-")
            mv = mget(mr, c)
            if c in ID_COLS:
                if not uids.check(zv, mv):
                    errors.append("%s row %d %s: id mapping broken (zeek %s, mailtap %s)"
                                  % (logname, i + 1, c, zv, mv))
                continue
            if zv.startswith("XXXXXXXXXX"):
                continue
            if c in SET_COLS and zv not in ("-", "(empty)"):
                zv = ",".join(sorted(zv.split(",")))
                mv = ",".join(sorted(mv.split(",")))
            if zv != mv:
                errors.append("%s row %d %s: zeek %r != mailtap %r" % (logname, i + 1, c, zv, mv))
    if len(mrows) > len(zrows) and all(c for c in KEY_COLS if c in cols):
        errors.append("%s: mailtap wrote %d records, zeek %d" % (logname, len(mrows), len(zrows)))
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", default="conn,smtp,weird,files,ssl,x509,intel")
    ap.add_argument("--only", default="")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    streams = set(a.streams.split(","))
    manifest = json.load(open(os.path.join(ZEEK, "MANIFEST.json")))
    passed = failed = skipped = xfailed = 0
    for base, m in sorted(manifest.items()):
        if a.only and a.only not in base:
            continue
        bdir = os.path.join(ZEEK, "baselines", base)
        logs = [f for f in m["expected_files"] if f in LOGS and LOGS[f] in streams]
        if not logs:
            continue
        if base in NOT_APPLICABLE:
            print("SKIP  %s: %s" % (base, NOT_APPLICABLE[base]))
            skipped += 1
            continue
        sp = SPECIAL.get(base, {})
        logs = [l for l in logs if l not in sp.get("skip_logs", ())]
        runs = [r for r in m["runs"] if r["traces"]]
        traces = [os.path.join(ZEEK, "traces", t) for r in runs[:1] for t in r["traces"]]
        if not traces or not all(os.path.exists(t) for t in traces):
            print("SKIP  %s: trace not in the corpus" % base)
            skipped += 1
            continue
        args = list(sp.get("args", []))
        if runs[0]["capture_filter"]:
            args += ["-f", runs[0]["capture_filter"]]
        unknown = [s for s in m["settings"] if s not in SETTINGS]
        if unknown:
            print("SKIP  %s: no mailtap option for %s" % (base, ", ".join(unknown)))
            skipped += 1
            continue
        for s, v in m["settings"].items():
            if SETTINGS[s]:
                args += [SETTINGS[s], v]
        try:
            recs = run_mailtap(traces, args)
        except Exception as e:  # noqa: BLE001 - reported as a failure
            print("FAIL  %s: %s" % (base, e))
            failed += 1
            continue
        uids = Uids()
        errs = []
        ports = {25, 465, 587}
        if "--ports" in args:
            ports = {int(x) for x in args[args.index("--ports") + 1].split(",")}
        for lg in logs:
            cols, rows = parse_zeek(os.path.join(bdir, lg))
            ign = sp.get("ignore", {}).get(LOGS[lg], set())
            errs += compare(base, lg, cols, rows, recs, ign, uids, a.v, ports)
        xf = XFAIL.get(base)
        if errs and xf:
            xfailed += 1
            print("XFAIL %s (%s): %s" % (base, ", ".join(logs), xf))
            for e in errs[:5]:
                print("      " + e)
        elif errs:
            failed += 1
            print("FAIL  %s (%s)" % (base, ", ".join(logs)))
            for e in errs[:30]:
                print("      " + e)
        elif xf:
            failed += 1
            print("XPASS %s: listed in XFAIL but passes now: remove it from the list" % base)
        else:
            passed += 1
            print("PASS  %s (%s)" % (base, ", ".join(logs)))
    print("golden: %d baselines equal, %d known differences (XFAIL), %d failed, %d skipped"
          % (passed, xfailed, failed, skipped))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
