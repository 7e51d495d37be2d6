# SPDX-License-Identifier: BSD-3-Clause
"""Field mapping and documented differences for tests/xcheck/xcheck.py (docs/xcheck.md)."""
import fnmatch
import re

MAIL_PORTS = {25, 465, 587}

# Captures whose SMTP runs on other ports: Suricata finds SMTP on any port by probing, Arkime
# by its classifiers, Zeek by DPD signatures; mailtap analyses the ports it is given, so the
# harness adds these (path relative to the corpus).
PORTS = {
    "suricata-verify/bug-5867-fp-drop-01/input.pcap": [225],
    "suricata-verify/mime/mime-stream-depth/input.pcap": [2525],
    "suricata-verify/smtp-url-base64/smtp-url-b64.pcap": [2525],
    "arkime/smtp-decrypted.pcap": [2525],
    "arkime/wireshark-bdat.pcap": [1224],
}

# ---------------------------------------------------------------------------------------------
# Suricata eve -> mailtap

# smtp record field -> eve "email" key
EMAIL_FIELDS = {
    "from": "from", "to": "to", "cc": "cc", "subject": "subject", "date": "date",
    "msg_id": "message_id", "user_agent": "x_mailer", "reply_to": "reply_to",
    "in_reply_to": "in_reply_to", "x_originating_ip": "x_originating_ip",
}

# indexed eve keys that are Zeek sets (compared by membership; "addr": brackets removed)
SET_KEYS = {"smtp.rcpt_to[]": "addr", "email.to[]": None, "email.cc[]": None,
            # Suricata lists every Received header in order; Zeek keeps the last one
            # (first_received) and the one before it (second_received)
            "email.received[]": None}

STRIP_KEYS = set()

# Keys of a filter that are not compared, with the reason (docs/xcheck.md).
IGNORED = [
    (r"^pcap_cnt$", "Suricata's packet number of the logging moment"),
    (r"^tx_id$", "Suricata numbers every transaction it opens (an envelope abandoned by RSET "
     "or EHLO, a rejected DATA, a HELO-only session); Zeek's trans_depth counts messages"),
    (r"^pkt_src$", "Suricata's packet source"),
    (r"^email\.status$", "Suricata's MIME parser state (PARSE_DONE, ...)"),
    (r"^email\.url(\[\d+\])?$", "URL extraction: Zeek has none"),
    (r"^email\.(body|subject)_md5$", "Suricata's body/subject MD5 (smtp.md5 option): Zeek "
     "has none"),
    (r"^(fileinfo|files\[\d+\])\.(state|stored|tx_id)$", "Suricata's file state, store "
     "flag, tx"),
    (r"^alert\.", "detection"),
    (r"^flow\.(?!pkts_)", "Suricata's flow counters/timers (bytes include link headers)"),
    (r"^tcp\.", "Suricata's TCP flag summary"),
    (r"^app_proto$", None),  # smtp/fileinfo: always smtp; flow: compared with conn service
    (r"^app_proto_tc$", "Suricata's per-direction detection"),
    (r"^anomaly\.(app_proto|type|layer)$", "Suricata's anomaly classification"),
    (r"^frame\.", "Suricata's frames"),
]
_IGN = [(re.compile(p), r) for p, r in IGNORED]


def ignored(key, event_type=None):
    for rx, _ in _IGN:
        if rx.search(key):
            if key == "app_proto" and event_type == "flow":
                return False
            return True
    return False


TUPLE_KEYS = {"src_ip", "src_port", "dest_ip", "dest_port", "proto"}
FLOW_KEYS = TUPLE_KEYS | {"flow.pkts_toserver", "flow.pkts_toclient"}
APP_PROTO = {"smtp": "smtp", "tls": "ssl"}

# Suricata SMTP/MIME anomaly events -> (skip reason, or None, and the Zeek weird names that
# correspond; analyzer:NAME: an analyzer record, Zeek's analyzer.log, of that analyzer).
# Counts: Suricata logs every occurrence, Zeek's weird.log a name once per connection, so
# "count N>0" is checked as "at least one".
ANOMALY = {
    "INVALID_BDAT": (None, ("smtp_invalid_bdat_command",)),
    "BDAT_CHUNK_LEN_EXCEEDED": (None, ("smtp_huge_bdat_chunk",)),
    "MIME_INVALID_BASE64": (None, ("base64_illegal_encoding",)),
    "FAILED_PROTOCOL_CHANGE": (None, ("analyzer:SSL",)),
    "TRUNCATED_LINE": (None, ("contentline_size_exceeded",)),
    "MAX_COMMAND_LINE_LEN_EXCEEDED": (None, ("contentline_size_exceeded",)),
    "MAX_REPLY_LINE_LEN_EXCEEDED": (None, ("contentline_size_exceeded",)),
    "INVALID_REPLY": (None, ("analyzer:SMTP",)),  # Zeek: an analyzer violation, no weird
    "INVALID_PIPELINED_SEQUENCE": ("Zeek assumes PIPELINING and has no such weird", ()),
    "DUPLICATE_FIELDS": ("Suricata's duplicate-envelope event: no Zeek weird", ()),
    "DATA_COMMAND_REJECTED": ("Suricata's event for a rejected DATA: no Zeek weird", ()),
    "UNPARSABLE_CONTENT": ("Suricata's event: no Zeek weird", ()),
    "MIME_LONG_LINE": ("Suricata's RFC 5322 line length event (998): Zeek has none", ()),
    "MIME_LONG_ENC_LINE": ("Suricata's encoded line length event: Zeek has none", ()),
    "MIME_LONG_FILENAME": ("Suricata's filename length event: Zeek has none (mailtap's "
                           "max_filename is 1024)", ()),
    "APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION":
        ("Suricata's protocol detection event: no Zeek weird", ()),
}

# checks that are not filters
NONFILTER = {
    "stats": "Suricata's engine counters (mailtap's stats stream has its own)",
    "shell": "runs a command over Suricata's own outputs",
    "file-compare": "compares Suricata's output files",
}

EVENT_SKIP = {
    "drop": "IPS verdict (mailtap is passive)",
    "packet": "packet logging of tagged sessions",
    "frame": "Suricata's frame logging",
    "stats": "Suricata's engine counters",
}

# Tests run in IPS mode with firewall rules that drop flows: Suricata stops logging a flow's
# transactions after its drop verdict, a passive sensor logs them all. Their "count 0" filters
# are the verdict's, and "count N" filters are checked as "at least one".
IPS_VERDICT = re.compile(r"^firewall/")

# whole tests skipped, with the reason
SV_SKIP = {
    "mime/mime-stream-depth": "runs Suricata with stream.reassembly.depth=1mb (files cut at "
                              "1 MiB of stream); mailtap has no stream depth",
}

# extra mailtap options per test
SV_ARGS = {}

# ---------------------------------------------------------------------------------------------
# Arkime session -> mailtap. kind: smtp (a field of the connection's smtp records), smtpset (a
# set field), files (a field of the records' MIME files), msgid (msg_id without <>), path
# (Received addresses: Zeek's path after resp_h, orig_h).
ARKIME_EMAIL = {
    "smtpHello": ("smtp", "helo"),
    "src": ("src", None),
    "dst": ("dst", None),
    "subject": ("smtp", "subject"),
    "filename": ("files", "filename"),
    "md5": ("filessub", "md5"),
    "sha256": ("filessub", "sha256"),
    "bodyMagic": ("filessub", "mime_type"),
    "id": ("msgid", "msg_id"),
    "useragent": ("smtp", "user_agent"),
    "ip": ("path", None),
}
# Arkime lowercases host names and addresses
ARKIME_LOWER = {"smtpHello", "src", "dst"}
ARKIME_EMAIL_SKIP = {
    "contentType": "Zeek logs no Content-Type of the message (files.mime_type is sniffed)",
    "header": "Zeek logs no list of header names",
    "headerField": "Arkime's configured header capture: no Zeek field",
    "headerValue": "Arkime's configured header capture: no Zeek field",
    "header-x-elnk-trace": "Arkime's configured header capture: no Zeek field",
    "host": "host names of Received headers: Zeek's path keeps addresses only",
    "mimeVersion": "Zeek logs no MIME-Version",
    "ASN": "Arkime's enrichment", "GEO": "Arkime's enrichment", "RIR": "Arkime's enrichment",
    "folder": "IMAP",
}


def arkime_version(v):
    return ndpi_version(v)


ARKIME_TLS = {
    "version": ("version", arkime_version),
    "cipher": ("cipher", str),
    "ja3": ("ja3", str),
    "ja3s": ("ja3s", str),
    "ja4": ("ja4", str),
}
ARKIME_TLS_SKIP = {
    "ja3string": "the string hashed; its MD5 (ja3) is compared",
    "ja3sstring": "the string hashed; its MD5 (ja3s) is compared",
    "ja4_r": "JA4's raw form; the hashed form (ja4) is compared",
}
ARKIME_SKIP = {
    "socks5-smtp-503.test": "SMTP inside a SOCKS5 tunnel on port 1080: mailtap does not "
                            "decapsulate SOCKS",
}

# ---------------------------------------------------------------------------------------------
# nDPI

NDPI_PROTO = {"SMTP": "SMTP", "SMTPS": "SMTPS"}


def ndpi_version(v):
    m = re.match(r"^TLSv1(?:\.(\d))?$", v)
    if m:
        return "TLSv1" + (m.group(1) or "0")
    return v


# ---------------------------------------------------------------------------------------------
# Documented differences. Key: the expectation's name as printed. Value: reason (a "BUG:"
# reason is a mailtap bug reported to the lead), and for Suricata filters the adjusted
# expectation that must hold instead (drop: keys not compared, set: values mailtap gives,
# count: mailtap's count); for Arkime/nDPI fields, got: the value mailtap gives.
_NO_RECORD = ("no MAIL FROM or RCPT TO in the session (only EHLO/HELO, AUTH, RSET, DATA): "
              "Zeek writes no smtp record without client activity (docs/smtp.md)")
_CRLF = ("Zeek's file keeps the CRLF that ends the entity's last line (docs/files.md, "
         "docs/smtp.md); the extracted content without it has Suricata's size and hashes")
_RFC2231 = ("the name comes as RFC 2231 continuations (filename*0=, filename*1=): Zeek's "
            "extract_filename_from_content_disposition does not read them, so the entity "
            "file has no filename (mailtap's decode_filenames option would give it)")
DIFFS = {
    # -- Suricata-verify --
    "suricata:smtp-errors#0": {
        "reason": "Suricata's INVALID_REPLY for a '472 ...' reply: the code is in 100..599, "
                  "so Zeek's SMTP analyzer sees no violation (no analyzer record)", "count": 0},
    "suricata:smtp-errors#4": {
        "reason": "the client speaks TLS at once (port 465) and the server answers '400 ...': "
                  "the violation is the SSL analyzer's (analyzer record SSL, 'Invalid version "
                  "in TLS connection'), not SMTP's", "count": 0},
    "suricata:bug-1449-01#2": {"reason": _NO_RECORD, "count": 0},
    "suricata:smtp-to-comma#0": {
        "reason": "an empty To header: Zeek's to is then an empty set, logged as (empty) / []; "
                  "Suricata leaves empty fields out (the capture is corrupt after packet 18 on "
                  "purpose; both read the first 18)", "drop": ["not-has-key"]},
    "suricata:bug-6207-1#0": {"reason": _RFC2231, "allfiles": True,
                              "drop": ["email.attachment[0]", "fileinfo.filename"]},
    "suricata:bug-6207-1#1": {"reason": _RFC2231, "drop": ["email.attachment[0]"]},
    "suricata:bug-6207-2#0": {
        "reason": _RFC2231 + "; and Zeek's Base64Converter ignores the groups after '=' "
                  "padding ('NA= =Mg ==' gives '4', Suricata's RFC 2045 reading gives '42', "
                  "docs/files.md)",
        "allfiles": True, "drop": ["email.attachment[0]", "fileinfo.filename"],
        "set": {"fileinfo.size": 1, "fileinfo.sha256":
                "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"}},
    "suricata:bug-6207-2#1": {"reason": _RFC2231, "drop": ["email.attachment[0]"]},
    "suricata:smtp-rfc2231#0": {"reason": _RFC2231 + " (the zip: 51675 bytes)",
                                "allfiles": True, "drop": ["fileinfo.filename"],
                                "set": {"fileinfo.size": 51675}},
    "suricata:detect-email-received#3": {
        "reason": "Zeek keeps only the last Received header (first_received) and the one "
                  "before it (second_received); the first of three is not in its record",
        "drop": ["email.received[0]"]},
    "suricata:firewall/ruletype-firewall-132-smtp-nested-mail-from#1": {
        "reason": "Zeek takes every MAIL FROM whatever its reply: the nested MAIL FROM "
                  "(rejected 503) starts a new record with its address",
        "set": {"smtp.mail_from": "<bob@example.com>"}},
    "suricata:mime/mime-dec-parse-long-filename01#1": {
        "reason": "Suricata cuts file names at 255 bytes (anomaly MIME_LONG_FILENAME); Zeek "
                  "keeps the whole name",
        "set": {"email.attachment[0]": "12characters" * 22 + "12characters.exe"}},
    "suricata:mime/mime-dec-parse-long-filename01#3": {
        "reason": "Suricata cuts file names at 255 bytes (anomaly MIME_LONG_FILENAME); Zeek "
                  "keeps the whole name",
        "set": {"email.attachment[0]": "12characters" * 22 + "12characters.exe",
                "fileinfo.filename": "12characters" * 22 + "12characters.exe"}},
    "suricata:mime/mime-quoted-printable#0": {"reason": _CRLF, "crlf": True},
    "suricata:mime/smtp-mime-encap-8649-baseline#3": {"reason": _CRLF, "crlf": True},
    "suricata:smtp-eve#1": {"reason": _CRLF, "crlf": True},
    "suricata:smtp-eve#2": {"reason": _CRLF, "crlf": True},
    "suricata:smtp-file-data-02#2": {"reason": _CRLF, "crlf": True},
    "suricata:smtp-eve#4": {
        "reason": "Suricata's flow counts 29 packets to the client; the capture has 25 "
                  "(tshark's conversation statistics agree with conn's resp_pkts 25)",
        "set": {"flow.pkts_toclient": 25}},
    "suricata:smtp-ehlo-reset-after-rejected-data#0": {
        "reason": "the DATA rejected before any envelope opens no record in Zeek (no client "
                  "activity): one smtp record, Suricata two transactions", "count": 1},
    "suricata:smtp-ehlo-reset-after-rejected-data#1": {"reason": _NO_RECORD, "count": 0},
    "suricata:smtp-ehlo-reset-after-rejected-data#2": {
        "reason": "the rejected DATA began a MIME entity in the same (unwritten) record, so "
                  "the real message's entity is the record's second and Zeek takes no headers "
                  "from it (entities.zeek: process_smtp_headers only for the first entity)",
        "drop": ["email.from", "email.to[0]"]},
    "suricata:smtp-rejected-ehlo-preserves-envelope#1": {
        "reason": "Zeek sets helo from every HELO/EHLO argument, even one rejected (an empty "
                  "EHLO answered 501)", "set": {"smtp.helo": ""}},
    "suricata:smtp-long-command#0": {"reason": _NO_RECORD, "count": 0},
    "suricata:smtp-long-command#1": {
        "reason": "the EHLO line has 4,095 bytes + CRLF: within Zeek's ContentLine limit and "
                  "mailtap's max_line (4096), so no contentline_size_exceeded; Suricata's "
                  "limit is smaller", "count": 0},
    "suricata:smtp-pipelined-rset-data-replies#0": {"reason": _NO_RECORD, "count": 0},
    "suricata:smtp-rset-starttls#0": {
        "reason": "no greeting in the capture: Zeek matches replies to commands in order, so "
                  "the 220 answers RSET, not STARTTLS; no TLS, no client activity, no record "
                  "(docs/smtp.md)", "count": 0},
    # -- Arkime --
    "arkime:ntlm_synthetic.test#10:email.smtpHello": {"reason": _NO_RECORD, "got": []},
    "arkime:smtp-moloch-bof.test#0:email.filename": {
        "reason": "mailtap cuts file names at its max_filename limit (1024 bytes with the NUL, "
                  "docs/files.md); Arkime keeps 4095 bytes", "got": ["A" * 1023]},
    "arkime:smtp-moloch-bof.test#0:email.subject": {
        "reason": "Zeek strips the white space before a header value; Arkime keeps it",
        "got": ["MIME test"]},
    "arkime:smtp-subject-windows.test#0:email.subject": {
        "reason": "an unencoded 8-bit header (windows-1252 0x92): Zeek logs the raw byte, "
                  "escaped as \\x92 (docs/records.md); Arkime converts the charset",
        "got": ["Awesome windows: See What\\x92s Next in charset decoding!"]},
    "arkime:wireshark-bdat.test#0:email.src": {
        "reason": "MAIL FROM:<> (null sender): Zeek sets mailfrom only for a non-empty address",
        "got": ["sender@dom"]},
    # -- nDPI --
    "ndpi:smtp-starttls.pcap#1:sni": {
        "reason": "the ClientHello has no SNI (Arkime's JA4 't10i' agrees); nDPI's "
                  "Hostname/SNI is the host name of the SMTP banner", "got": None},
    "ndpi:smtp-starttls.pcap#1:ja4": {
        "reason": "no SNI extension: the JA4 specification (and Arkime) write 'i'; nDPI writes "
                  "'d' from the banner's host name (docs/tls.md)",
        "got": "t10i290100_cdba58456bdf_e78b541c01a9"},
    "ndpi:smtps.pcapng#1:version": {
        "reason": "the server answers the ClientHello with a plaintext banner ('220 "
                  "4223.hostgator.com ESMTP Exim'), no ServerHello: Zeek's version is the "
                  "server's choice, so none; nDPI prints the ClientHello's version "
                  "(an SSL analyzer violation)", "got": None},
    "ndpi:smtps.pcapng#1:ja4": {
        "reason": "no SNI extension: the JA4 specification writes 'i'; nDPI writes 'd' "
                  "(docs/tls.md)", "got": "t12i860600_e18388e7f3a3_4446390ac224"},
}

# STARTTLS followed by plaintext: the capture was rewritten with the decrypted session
_DECRYPTED = ("decrypted capture: after STARTTLS and its 220 the rest of the connection is "
              "plaintext SMTP; Zeek (and mailtap) hand the connection to the TLS analyzer "
              "there (an SSL analyzer violation), so the message is not analysed")
for _i, _fields in enumerate((
        ("bodyMagic", "dst", "filename", "id", "md5", "sha256", "src", "subject", "useragent"),
        ("dst", "id", "src", "subject"),
        ("dst", "filename", "id", "md5", "sha256", "src", "subject"),
        ("dst", "id", "src", "subject", "useragent"))):
    for _f in _fields:
        DIFFS["arkime:smtp-decrypted.test#%d:email.%s" % (_i, _f)] = {
            "reason": _DECRYPTED, "got": []}


def diff(name):
    """The DIFFS entry of an expectation: its own, else a pattern's (fnmatch)."""
    if name in DIFFS:
        return DIFFS[name]
    for k, v in DIFFS.items():
        if any(ch in k for ch in "*?[") and fnmatch.fnmatchcase(name, k):
            return v
    return None
