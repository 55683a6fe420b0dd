"""protocol.py: the control protocol spoken raw, for protocol.sh.

    protocol.py SOCKET PID DIR MANPAGE

Sends malformed, unknown, oversized and well-formed requests to the control
socket of process PID and checks each reply exactly; DIR is a scratch
directory for reports.  Checks that every key of every reply is an item
(".Li key") of the CONTROL PROTOCOL section of MANPAGE (man/memgc.1).
Prints one PASS or FAIL line per check and exits 1 when any failed.
"""
import json
import os
import re
import socket
import sys
import threading

sock_path, pid, scratch, manpage = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
failures = 0


def check(ok, what):
    global failures
    print(("PASS: " if ok else "FAIL: ") + what)
    failures += not ok


def exchange(data, shut=True, timeout=20):
    """Sends data on a new connection and returns every byte received until
    the server closes it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass    # the server closed after an oversized request: read its reply
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except ConnectionResetError:
        pass
    s.close()
    return out


def replies(data):
    return [json.loads(line) for line in exchange(data).decode().splitlines()]


ERR = 'a request is a JSON object, such as {"memgc": 1, "cmd": "stats"}'
CMDS = "accepted: stats, collect, trim, report"
bad = [
    (b"", None),  # nothing sent: no reply at all
    (b"\n", 'empty request: send one JSON object per line, such as {"memgc": 1, "cmd": "stats"}'),
    (b"stats\n", ERR),
    (b"[1]\n", ERR),
    (b'"memgc"\n', ERR),
    (b"{}\n", 'missing "memgc": 1, the protocol version'),
    (b'{"memgc": 1}\n', 'missing "cmd"; ' + CMDS),
    (b'{"cmd": "stats"}\n', 'missing "memgc": 1, the protocol version'),
    (b'{"memgc": 2, "cmd": "stats"}\n', "protocol version 2 is not supported; this memgc speaks 1"),
    (b'{"memgc": 0, "cmd": "stats"}\n', "protocol version 0 is not supported; this memgc speaks 1"),
    (b'{"memgc": "1", "cmd": "stats"}\n', "'memgc' must be an integer, not a string"),
    (b'{"memgc": 1.0, "cmd": "stats"}\n', "'memgc' must be an integer, not a number"),
    (b'{"memgc": 1e0, "cmd": "stats"}\n', "'memgc' must be an integer, not a number"),
    (b'{"memgc": 99999999999999999999, "cmd": "stats"}\n', "'memgc' must be an integer, not a number"),
    (b'{"memgc": 01, "cmd": "stats"}\n', "bad number: leading zeros are not JSON"),
    (b'{"memgc": -, "cmd": "stats"}\n', "bad number: a digit must follow '-'"),
    (b'{"memgc": true, "cmd": "stats"}\n', "'memgc' must be an integer, not true"),
    (b'{"memgc": null, "cmd": "stats"}\n', "'memgc' must be an integer, not null"),
    (b'{"memgc": 1, "cmd": "stats", "memgc": 1}\n', "key 'memgc' given twice"),
    (b'{"memgc": 1, "cmd": "gc"}\n', "unknown cmd 'gc'; " + CMDS),
    (b'{"memgc": 1, "cmd": "STATS"}\n', "unknown cmd 'STATS'; " + CMDS),
    (b'{"memgc": 1, "cmd": ["stats"]}\n', "'cmd' must be a string, not an object or array"),
    (b'{"memgc": 1, "cmd": {"x": 1}}\n', "'cmd' must be a string, not an object or array"),
    (b'{"memgc": 1, "cmd": 7}\n', "'cmd' must be a string, not an integer"),
    (b'{"memgc": 1, "cmd": "stats", "verbose": true}\n',
     "unknown key 'verbose'; accepted: memgc, cmd, generation, path"),
    (b'{"memgc": 1, "cmd": "stats\x01"}\n',
     "control character 0x01 inside a string: write it as \\u0001"),
    (b'{"memgc": 1, "cmd": "st\\x"}\n', "bad escape '\\x' in a string"),
    (b'{"memgc": 1, "cmd": "\\u00"}\n', "bad \\u escape: write \\u and four hex digits"),
    (b'{"memgc": 1, "cmd": "\\ud800"}\n', "bad \\u escape: a high surrogate with no low one"),
    (b'{"memgc": 1, "cmd": "\\udc00"}\n', "bad \\u escape: a low surrogate with no high one"),
    (b'{"memgc": 1, "cmd": "a\\u0000"}\n', "\\u0000 inside a string is not accepted"),
    (b'{"memgc": 1, "cmd": "\xff"}\n', "invalid UTF-8 inside a string"),
    (b'{"memgc": 1, "cmd": "\xc0\xaf"}\n', "invalid UTF-8 inside a string"),
    (b'{"memgc": 1, "cmd": "stats"\n', "expected ',' or '}' after the value of 'cmd'"),
    (b'{"memgc": 1, "cmd": "stats}\n', "unterminated string"),
    (b'{"memgc" 1, "cmd": "stats"}\n', "expected ':' after key 'memgc'"),
    (b'{memgc: 1}\n', "expected a key in double quotes"),
    (b'{"memgc": 1, "cmd": "stats",}\n', "expected a key in double quotes"),
    (b'{"memgc": 1, "cmd": "stats"} x\n', "bytes after the request object: 'x'"),
    (b'{"memgc": 1, "cmd": "stats"}{}\n', "bytes after the request object: '{}'"),
    (b'{"memgc": 1, "cmd": "stats", "generation": 1}\n', "'generation' belongs to cmd collect only"),
    (b'{"memgc": 1, "cmd": "collect", "generation": 3}\n', "generation 3 is out of range: 0, 1 or 2"),
    (b'{"memgc": 1, "cmd": "collect", "generation": -1}\n', "generation -1 is out of range: 0, 1 or 2"),
    (b'{"memgc": 1, "cmd": "collect", "generation": "2"}\n', "'generation' must be an integer, not a string"),
    (b'{"memgc": 1, "cmd": "trim", "path": "/tmp/x"}\n', "'path' belongs to cmd report only"),
    (b'{"memgc": 1, "cmd": "report"}\n', 'report needs "path": an absolute path (%p is the pid)'),
    (b'{"memgc": 1, "cmd": "report", "path": "rel.json"}\n',
     "path must be absolute: the process's working directory is not yours"),
    (b'{"memgc": 1, "cmd": "report", "path": ""}\n',
     "path must be absolute: the process's working directory is not yours"),
    (b'{"memgc": 1, "cmd": "report", "path": "/' + b"a" * 4095 + b'"}\n',
     "path: string longer than 4095 bytes"),
    (b'{"memgc": 1, "cmd": "report", "path": "/proc/nonexistent/r.json"}\n',
     "cannot write the report to /proc/nonexistent/r.json: No such file or directory"),
    (b'{"' + b"k" * 70 + b'": 1}\n', "a key: string longer than 63 bytes"),
    (b'{"memgc": 1, "cmd": "\xe2\x82"}\n', "invalid UTF-8 inside a string"),
]
for data, want in bad:
    got = replies(data)
    shown = data[:60]
    if want is None:
        check(got == [], "%r: no reply" % shown)
        continue
    ok = (len(got) == 1 and got[0] == {"memgc": 1, "ok": False, "error": want})
    check(ok, "%r: %s" % (shown, want if ok else "got %r, want error %r" % (got, want)))

# oversized: 8192 bytes of a line are the limit; one more and the connection
# gets an error and is closed, without a reply to what follows
line = b'{"memgc": 1, "cmd": "stats"' + b" " * (8192 - 28) + b"}"
got = replies(line + b"\n")
check(len(line) == 8192 and len(got) == 1 and got[0]["ok"] is True,
      "a request of exactly 8192 bytes is served")
got = replies(b"x" * 8193 + b'\n{"memgc": 1, "cmd": "stats"}\n')
check(got == [{"memgc": 1, "ok": False,
               "error": "request longer than 8192 bytes: closing the connection"}],
      "a request of 8193 bytes: an error, then the connection is closed")
got = replies(b"{" * 100000)
check(len(got) == 1 and got[0]["ok"] is False and "longer than 8192" in got[0]["error"],
      "100000 bytes without a newline: an error, no crash")

# many requests on one connection, in order; the last one ends at EOF with
# no newline; \r\n line ends; escapes in a string decode
got = replies(b'{"memgc": 1, "cmd": "stats"}\n{"memgc": 1, "cmd": "trim"}\r\n'
              b'\n{"memgc":1,"cmd":"\\u0063ollect","generation":0}\n'
              b' {"memgc": 1, "cmd": "st\\u0061ts"} ')
check([(r.get("ok"), r.get("cmd", r.get("error"))) for r in got] ==
      [(True, "stats"), (True, "trim"),
       (False, 'empty request: send one JSON object per line, such as {"memgc": 1, "cmd": "stats"}'),
       (True, "collect"), (True, "stats")],
      "five requests on one connection: five replies in order")
check(all(r["pid"] == pid for r in got if r["ok"]), "every reply names pid %d" % pid)

# report: %p expanded, the file is the process's JSON report
got = replies(json.dumps({"memgc": 1, "cmd": "report",
                          "path": scratch + "/report-%p.json"}).encode() + b"\n")
want_path = "%s/report-%d.json" % (scratch, pid)
ok = got == [{"memgc": 1, "ok": True, "cmd": "report", "pid": pid, "path": want_path}]
if ok:
    rep = json.load(open(want_path))
    ok = rep["memgc_report"] == 1 and rep["pid"] == pid and rep["options"]["control"] == 1
check(ok, "report: written to %s, a report of pid %d with control=1" % (want_path, pid))
# a path given with escapes, and non-ASCII
name = scratch + "/r\u00e9p\U0001F600-%p.json"
got = replies(json.dumps({"memgc": 1, "cmd": "report", "path": name}).encode() + b"\n")
want_path = name.replace("%p", str(pid))
check(got and got[0].get("path") == want_path and os.path.exists(want_path),
      "report: a path with \\u escapes (a surrogate pair too) decoded to UTF-8")

# 16 clients at once: every one answered
results = [None] * 16


def client(i):
    try:
        results[i] = replies(b'{"memgc": 1, "cmd": "stats"}\n')
    except Exception as e:  # noqa: BLE001 - reported as a failure below
        results[i] = e


threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(all(isinstance(r, list) and len(r) == 1 and r[0]["ok"] for r in results),
      "16 clients at once: 16 replies")

# a client that connects and leaves at once, or sends half a line and
# leaves: the server carries on
for data in (b"", b'{"memgc": 1, "cmd": "sta'):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(data)
    s.close()
got = replies(b'{"memgc": 1, "cmd": "stats"}\n')
check(len(got) == 1 and got[0]["ok"], "after clients that left early: still serving")
# every key of every kind of reply is documented in memgc(1)
section, documented = None, set()
for line in open(manpage, encoding="utf-8"):
    if line.startswith(".Sh "):
        section = line[4:].strip()
    elif section == "CONTROL PROTOCOL":
        documented.update(re.findall(r"\bLi ([a-z_]+)", line))
keys = set()


def collect_keys(v):
    if isinstance(v, dict):
        for k, x in v.items():
            keys.add(k)
            collect_keys(x)
    elif isinstance(v, list):
        for x in v:
            collect_keys(x)


for req in ({"cmd": "stats"}, {"cmd": "collect", "generation": 1}, {"cmd": "trim"},
            {"cmd": "report", "path": scratch + "/keys.json"}, {"cmd": "nope"}):
    for r in replies(json.dumps(dict(memgc=1, **req)).encode() + b"\n"):
        collect_keys(r)
keys.add("refused")   # the refusal's own key: refused.sh sees it
missing = sorted(keys - documented)
check(not missing and len(keys) > 20,
      "memgc(1) CONTROL PROTOCOL documents the %d keys of the replies%s"
      % (len(keys), "; missing: " + ", ".join(missing) if missing else ""))
sys.exit(1 if failures else 0)
