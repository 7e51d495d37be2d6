#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Strict Fluent Forward v1 receiver for mailtap's tests: the conformance oracle.

It accepts what fluent-bit's in_forward accepts, and is stricter where mailtap promises more
(--strict, the default): every message must carry options {"chunk": str, "size": n} with
size == number of entries, every time must be an EventTime (ext 0, 8 bytes, nsec < 1e9,
not a reserved group marker), every record a map with str keys, every message at most
--max-message bytes. A violation is logged ("VIOLATION ...") and the connection is closed,
as in_forward does; --stats FILE gets the counters at exit.

Modes: serve (default) and check (verifies an --out file against an expected id range).

serve: --unix PATH | --tcp HOST:PORT, --out FILE (one line per record:
  "<conn> <chunk> <tag> <id>"), --log FILE, --no-ack, --stall-ms T (hold acks for T ms from
  start, then send them), --die-after N (exit after the Nth message, records written, not
  acked), --shared-key K [--server-hostname H] [--user NAME:PASS ...], --ready FILE,
  --tls-cert FILE --tls-key FILE (TLS, as in_forward's "tls on") [--tls-client-ca FILE:
  a client certificate is required and must chain to it] [--tls12: TLS 1.2 at most].
  --dump FILE appends every record as a canonical JSON line [tag, ts_ns, record].
check: check --out FILE --ids A:B [--ids C:D ...] [--allow-missing A:B] -- prints counters,
  exits 1 when an id is missing or a duplicate is not a resend of the same chunk.
filedump: filedump --file F -- the records of a file-sink output (Message-mode entries) as
  the same canonical JSON lines, to compare with --dump.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import zlib

import msgpack

BUFFER_MAX = 6144000  # in_forward buffer_max_size default
lock = threading.Lock()
state = {"messages": 0, "records": 0, "acks": 0, "violations": 0, "conns": 0,
         "bytes": 0, "modes": {}, "split_msgs": 0, "multi_msg_reads": 0, "auth_refused": 0,
         "tls_refused": 0}


class Violation(Exception):
    pass


class Refused(Exception):
    pass


def log(args, line):
    with lock:
        if args.log_f:
            args.log_f.write(line + "\n")
            args.log_f.flush()
    if args.verbose:
        print(line, file=sys.stderr, flush=True)


def check_str(v, what):
    if not isinstance(v, str):
        raise Violation("%s is %s, not str" % (what, type(v).__name__))
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise Violation("%s is not valid UTF-8" % what)


def check_time(t, strict, in_entry):
    if isinstance(t, msgpack.ExtType):
        if t.code != 0 or len(t.data) != 8:
            raise Violation("time ext type %d len %d (EventTime is type 0, 8 bytes)"
                            % (t.code, len(t.data)))
        sec = int.from_bytes(t.data[:4], "big")
        nsec = int.from_bytes(t.data[4:], "big")
        if nsec >= 1000000000:
            raise Violation("EventTime nsec %d >= 1e9" % nsec)
        if sec in (0xFFFFFFFF, 0xFFFFFFFE) and nsec == 0:
            raise Violation("reserved EventTime %x.0 (group marker)" % sec)
        return sec * 1000000000 + nsec
    if strict:
        raise Violation("time is %s, not EventTime" % type(t).__name__)
    if isinstance(t, bool):
        raise Violation("time is bool")
    if isinstance(t, int) and t >= 0:
        return t * 1000000000
    if isinstance(t, float) and in_entry:
        return int(t * 1e9)
    raise Violation("time is %r" % (t,))


def check_record(r):
    if not isinstance(r, dict):
        raise Violation("record is %s, not map" % type(r).__name__)
    for k in r:
        check_str(k, "record key")


def canon(tag, ts, rec):
    """One record as a canonical JSON line (bytes as latin-1 text), for comparisons."""
    def fix(v):
        if isinstance(v, bytes):
            return {"bin": v.decode("latin-1")}
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, msgpack.ExtType):
            return {"ext": v.code, "data": v.data.hex()}
        return v
    return json.dumps([tag, ts, fix(rec)], sort_keys=True)


def check_entry(e, strict):
    if not isinstance(e, list) or len(e) != 2:
        raise Violation("entry is not [time, record]: %r" % (e,)[:80])
    t = e[0]
    if isinstance(t, list):  # [[time, metadata], record]
        if strict or len(t) != 2 or not isinstance(t[1], dict):
            raise Violation("entry header %r" % (t,))
        t = t[0]
    ts = check_time(t, strict, True)
    check_record(e[1])
    return ts, e[1]


def gunzip_members(data, cap):
    out = bytearray()
    while data:
        if data[:2] != b"\x1f\x8b":
            raise Violation("compressed entries are not gzip")
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(data, cap + 1 - len(out))
        except zlib.error as e:
            raise Violation("gzip: %s" % e)
        if len(out) > cap:
            raise Violation("decompressed payload exceeds %d" % cap)
        if not d.eof:
            raise Violation("truncated gzip member")
        data = d.unused_data
    return bytes(out)


def unpack_entries(blob, strict):
    u = msgpack.Unpacker(raw=False, unicode_errors="surrogateescape", strict_map_key=False,
                         max_buffer_size=max(len(blob), 1024))
    u.feed(blob)
    entries = []
    for e in u:
        entries.append(check_entry(e, strict))
    if u.tell() != len(blob):
        raise Violation("packed entries end in the middle of an entry (%d of %d bytes)"
                        % (u.tell(), len(blob)))
    return entries


def validate(msg, strict):
    """Returns (tag, records, chunk, mode) or raises Violation."""
    if not isinstance(msg, list):
        raise Violation("root is %s, not array" % type(msg).__name__)
    if len(msg) < 2:
        raise Violation("array of %d elements" % len(msg))
    check_str(msg[0], "tag")
    tag, el = msg[0], msg[1]
    if isinstance(el, list):
        mode, nopt = "forward", 2
    elif isinstance(el, (str, bytes)):
        mode, nopt = "packed", 2
    elif isinstance(el, (int, msgpack.ExtType)) and not isinstance(el, bool):
        mode, nopt = "message", 3
    else:
        raise Violation("element [1] is %s (float time in Message mode?)" % type(el).__name__)
    if len(msg) > nopt + 1:
        raise Violation("%s mode array of %d elements" % (mode, len(msg)))
    opts = msg[nopt] if len(msg) > nopt else None
    if len(msg) > nopt and not isinstance(opts, dict):
        raise Violation("options is %s, not map" % type(opts).__name__)
    chunk, size, compressed = None, None, None
    for k, v in (opts or {}).items():
        check_str(k, "option key")
        if k == "chunk":
            if not isinstance(v, str) or not v:
                raise Violation("chunk is %r, not a non-empty str" % (v,))
            chunk = v
        elif k == "size":
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise Violation("size is %r" % (v,))
            size = v
        elif k == "compressed":
            if v != "gzip":
                raise Violation("compressed is %r" % (v,))
            compressed = v
        elif k == "fluent_signal":
            if v not in (0, 1, 2) or isinstance(v, bool):
                raise Violation("fluent_signal %r" % (v,))
        elif k == "metadata":
            if not isinstance(v, dict):
                raise Violation("metadata is not a map")
    if strict and (chunk is None or size is None):
        raise Violation("options without chunk and size")
    if mode == "forward":
        if compressed:
            raise Violation("compressed with Forward mode")
        records = [check_entry(e, strict) for e in el]
    elif mode == "packed":
        blob = el
        if isinstance(el, str):
            if compressed:
                raise Violation("CompressedPackedForward entries must be bin")
            blob = el.encode("utf-8", "surrogateescape")
        if len(blob) > BUFFER_MAX:
            raise Violation("packed payload exceeds %d" % BUFFER_MAX)
        if compressed:
            blob = gunzip_members(blob, BUFFER_MAX)
            mode = "compressed"
        records = unpack_entries(blob, strict)
    else:
        if strict:
            raise Violation("Message mode (mailtap batches)")
        ts = check_time(el, False, False)
        check_record(msg[2])
        records = [(ts, msg[2])]
    if size is not None and size != len(records) and strict:
        raise Violation("size %d but %d entries" % (size, len(records)))
    if strict and not records:
        raise Violation("empty batch")
    return tag, [r for _, r in records], chunk, mode, [t for t, _ in records]


def sha512_hex(*parts):
    h = hashlib.sha512()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def handshake(args, conn, cid):
    nonce = os.urandom(16)
    auth = os.urandom(16)
    # like fluent-bit: nonce and salt as msgpack str of raw bytes
    conn.sendall(msgpack.packb(["HELO", {"nonce": nonce, "auth": auth, "keepalive": True}],
                               use_bin_type=False))
    u = msgpack.Unpacker(raw=False, unicode_errors="surrogateescape", max_buffer_size=1023)
    while True:
        data = conn.recv(1024)
        if not data:
            raise Violation("closed during handshake")
        try:
            u.feed(data)
        except msgpack.BufferFull:
            # in_forward reads the PING into 1023 bytes (secure_forward_read)
            raise Violation("PING larger than 1023 bytes (records without the handshake?)")
        for ping in u:
            if (not isinstance(ping, list) or len(ping) != 6 or ping[0] != "PING"
                    or not all(isinstance(x, str) for x in ping)):
                raise Violation("bad PING %r" % (ping,))
            _, host, salt, digest, user, pdigest = ping
            want = sha512_hex(salt, host, nonce, args.shared_key)
            ok = digest == want
            if not ok:
                # in_forward's check_ping() returns -1: no PONG, the connection is closed
                # (only a user/password mismatch gets PONG false)
                log(args, "handshake %s shared_key mismatch" % cid)
                raise Refused("shared_key mismatch")
            reason = ""
            if args.user:
                users = dict(x.split(":", 1) for x in args.user)
                ok = user in users and pdigest == sha512_hex(auth, user, users[user])
                reason = "" if ok else "username/password mismatch"
            if ok:
                pong = ["PONG", True, "", args.server_hostname,
                        sha512_hex(salt, args.server_hostname, nonce, args.shared_key)]
            else:
                pong = ["PONG", False, reason, "", ""]
            conn.sendall(msgpack.packb(pong))
            log(args, "handshake %s %s" % (cid, "ok" if ok else reason))
            if not ok:
                raise Refused(reason)
            return


def serve_conn(args, conn, cid):
    held = []
    try:
        if args.shared_key is not None:  # "" too: in_forward's empty_shared_key
            handshake(args, conn, cid)
        u = msgpack.Unpacker(raw=False, unicode_errors="surrogateescape",
                             strict_map_key=False, max_buffer_size=BUFFER_MAX)
        start = 0
        fed = 0
        while True:
            if held and time.monotonic() >= args.t_release:
                for c in held:
                    conn.sendall(msgpack.packb({"ack": c}))
                with lock:
                    state["acks"] += len(held)
                held = []
            conn.settimeout(0.05 if held else None)
            try:
                data = conn.recv(args.read_size)
            except socket.timeout:
                continue
            if not data:
                break
            with lock:
                state["bytes"] += len(data)
            try:
                u.feed(data)
            except msgpack.BufferFull:
                raise Violation("incoming data exceed limit (%d)" % BUFFER_MAX)
            in_read = 0
            read_start = fed
            fed += len(data)
            while True:
                try:
                    msg = next(u)
                except StopIteration:
                    break
                except (ValueError, msgpack.ExtraData, msgpack.FormatError,
                        msgpack.StackError) as e:
                    raise Violation("undecodable msgpack: %s" % e)
                end = u.tell()
                mlen, start = end - start, end
                in_read += 1
                if end - mlen < read_start:
                    with lock:
                        state["split_msgs"] += 1
                if args.strict and mlen > args.max_message:
                    raise Violation("message of %d bytes > %d" % (mlen, args.max_message))
                tag, records, chunk, mode, times = validate(msg, args.strict)
                if args.dump_f:
                    with lock:
                        for ts, r in zip(times, records):
                            args.dump_f.write(canon(tag, ts, r) + "\n")
                        args.dump_f.flush()
                lines = []
                for r in records:
                    rid = r.get("id", "-")
                    lines.append("%s %s %s %s\n" % (cid, chunk, tag, rid))
                with lock:
                    if args.out_f:
                        args.out_f.write("".join(lines))
                        args.out_f.flush()
                    state["messages"] += 1
                    state["records"] += len(records)
                    state["modes"][mode] = state["modes"].get(mode, 0) + 1
                    n = state["messages"]
                log(args, "msg %s chunk=%s tag=%s mode=%s records=%d bytes=%d"
                    % (cid, chunk, tag, mode, len(records), mlen))
                if args.die_after and n >= args.die_after:
                    log(args, "dying after %d messages (last one not acked)" % n)
                    write_stats(args)
                    os._exit(0)
                if chunk is None or args.no_ack:
                    continue
                if time.monotonic() < args.t_release or held:
                    held.append(chunk)
                    continue
                conn.sendall(msgpack.packb({"ack": chunk}))
                with lock:
                    state["acks"] += 1
            if in_read >= 2:
                with lock:
                    state["multi_msg_reads"] += 1
    except Refused as e:
        with lock:
            state["auth_refused"] += 1
        log(args, "refused %s %s" % (cid, e))
    except Violation as e:
        with lock:
            state["violations"] += 1
        log(args, "VIOLATION %s %s" % (cid, e))
        print("fwd_receiver: VIOLATION %s: %s" % (cid, e), file=sys.stderr, flush=True)
    except (ConnectionError, OSError) as e:
        log(args, "conn %s error %s" % (cid, e))
    finally:
        conn.close()
        log(args, "conn %s closed" % cid)


def write_stats(args):
    if not args.stats:
        return
    with open(args.stats, "a") as f:
        f.write("pid=%d messages=%d records=%d acks=%d violations=%d conns=%d bytes=%d "
                "split_msgs=%d multi_msg_reads=%d auth_refused=%d tls_refused=%d modes=%s\n"
                % (os.getpid(), state["messages"], state["records"], state["acks"],
                   state["violations"], state["conns"], state["bytes"], state["split_msgs"],
                   state["multi_msg_reads"], state["auth_refused"], state["tls_refused"],
                   ",".join("%s:%d" % kv for kv in sorted(state["modes"].items()))))


def serve(args):
    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(args.unix)
    else:
        host, port = args.tcp.rsplit(":", 1)
        host = host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, int(port)))
    ls.listen(16)
    args.out_f = open(args.out, "a") if args.out else None
    args.log_f = open(args.log, "a") if args.log else None
    args.dump_f = open(args.dump, "a") if args.dump else None
    args.t_release = time.monotonic() + (args.stall_ms / 1000.0 if args.stall_ms else 0)
    if args.no_ack:
        args.t_release = float("inf")

    def term(sig, frm):
        write_stats(args)
        os._exit(0)
    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGINT, term)
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls12:
            tls.maximum_version = ssl.TLSVersion.TLSv1_2
        if args.tls_client_ca:
            tls.verify_mode = ssl.CERT_REQUIRED
            tls.load_verify_locations(args.tls_client_ca)
    if args.ready:
        open(args.ready, "w").close()
    n = 0

    def tls_then_serve(args, conn, cid):
        try:
            conn.settimeout(10)
            conn = tls.wrap_socket(conn, server_side=True)
            conn.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            with lock:
                state["tls_refused"] += 1
            log(args, "conn %s TLS refused: %s" % (cid, e))
            conn.close()
            return
        log(args, "conn %s TLS %s" % (cid, conn.version()))
        serve_conn(args, conn, cid)

    while True:
        conn, _ = ls.accept()
        n += 1
        cid = "%d.%d" % (os.getpid(), n)
        with lock:
            state["conns"] += 1
        log(args, "conn %s open" % cid)
        threading.Thread(target=tls_then_serve if tls else serve_conn, args=(args, conn, cid),
                         daemon=True).start()


def parse_range(s):
    a, b = s.split(":")
    return int(a), int(b)


def check(args):
    seen = {}  # id -> list of (conn, chunk)
    chunk_conns = {}
    with open(args.out) as f:
        for line in f:
            cid, chunk, tag, rid = line.split()
            seen.setdefault(int(rid), []).append((cid, chunk))
            chunk_conns.setdefault(chunk, set()).add(cid)
    expected = set()
    for r in args.ids:
        a, b = parse_range(r)
        expected.update(range(a, b))
    allowed = set()
    for r in args.allow_missing or []:
        a, b = parse_range(r)
        allowed.update(range(a, b))
    missing = sorted(i for i in expected if i not in seen and i not in allowed)
    lost_allowed = sum(1 for i in allowed if i not in seen)
    unexpected = sorted(i for i in seen if i not in expected and i not in allowed)
    dup_ids, bad_dups = 0, []
    for i, occ in seen.items():
        if len(occ) > 1:
            dup_ids += 1
            chunks = {c for _, c in occ}
            conns = [c for c, _ in occ]
            # a duplicate must be the same message (same chunk) received again on
            # another connection (a resend after a reconnect)
            if len(chunks) != 1 or len(set(conns)) != len(conns):
                bad_dups.append((i, occ))
    resent_chunks = sum(1 for c, s in chunk_conns.items() if len(s) > 1)
    print("check: expected=%d received_unique=%d missing=%d unexpected=%d duplicate_ids=%d "
          "resent_chunks=%d bad_duplicates=%d allowed_missing_lost=%d"
          % (len(expected), len(seen), len(missing), len(unexpected), dup_ids,
             resent_chunks, len(bad_dups), lost_allowed))
    if missing:
        print("check: first missing ids: %s" % missing[:20])
    if bad_dups:
        print("check: duplicates not explained by a resend: %s" % bad_dups[:5])
    if unexpected:
        print("check: unexpected ids: %s" % unexpected[:20])
    return 1 if (missing or bad_dups or unexpected) else 0


def filedump(args):
    """Canonical lines of the records in a file written by the file sink ([tag, time, rec]*)."""
    with open(args.file, "rb") as f:
        u = msgpack.Unpacker(f, raw=False, unicode_errors="surrogateescape",
                             strict_map_key=False, max_buffer_size=BUFFER_MAX)
        for m in u:
            tag, records, chunk, mode, times = validate(m, False)
            for ts, r in zip(times, records):
                print(canon(tag, ts, r))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", nargs="?", default="serve", choices=["serve", "check", "filedump"])
    ap.add_argument("--file")
    ap.add_argument("--unix")
    ap.add_argument("--tcp")
    ap.add_argument("--out")
    ap.add_argument("--log")
    ap.add_argument("--dump", help="append every record as a canonical JSON line")
    ap.add_argument("--stats")
    ap.add_argument("--ready")
    ap.add_argument("--no-ack", action="store_true")
    ap.add_argument("--stall-ms", type=int, default=0)
    ap.add_argument("--die-after", type=int, default=0)
    ap.add_argument("--shared-key")
    ap.add_argument("--server-hostname", default="fwd-receiver")
    ap.add_argument("--user", action="append")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca")
    ap.add_argument("--tls12", action="store_true", help="TLS 1.2 at most")
    ap.add_argument("--max-message", type=int, default=1048576)
    ap.add_argument("--read-size", type=int, default=65536)
    ap.add_argument("--lax", dest="strict", action="store_false",
                    help="accept everything in_forward accepts (int/float times, Message mode)")
    ap.add_argument("--ids", action="append")
    ap.add_argument("--allow-missing", action="append")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.cmd == "check":
        sys.exit(check(args))
    if args.cmd == "filedump":
        sys.exit(filedump(args))
    if not args.unix and not args.tcp:
        ap.error("--unix or --tcp")
    serve(args)


if __name__ == "__main__":
    main()
