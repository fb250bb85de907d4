#!/usr/bin/env python3
"""Hold N idle keep-alive connections open to a proxy (for test/bench/run.sh).

Opens --conns connections to 127.0.0.1:--port, sends one keep-alive
"GET --path" on each and reads the full response, then keeps every socket open
and idle.  When done it writes a JSON status line to --ready-file (so the
caller can sample the proxy's RSS) and waits until --stop-file exists or
--hold seconds pass, whichever is first.  On exit it prints how many
connections were still open (peeked without blocking), then closes them.

Every step is bounded: per-socket timeouts, a total setup deadline, --hold.
The caller must raise `ulimit -n` above --conns.
"""
import argparse
import json
import os
import socket
import sys
import time

HDR_END = b"\r\n\r\n"


def read_response(s, deadline):
    """Read one Content-Length response; return its status code."""
    buf = b""
    while HDR_END not in buf:
        if time.monotonic() > deadline:
            raise TimeoutError("setup deadline")
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before headers")
        buf += chunk
    head, _, body = buf.partition(HDR_END)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    clen = 0
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            clen = int(v.strip())
        if k.strip().lower() == "transfer-encoding":
            raise ValueError("chunked reply: use a path with a fixed-size body")
    while len(body) < clen:
        if time.monotonic() > deadline:
            raise TimeoutError("setup deadline")
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    return status


def still_open(s):
    s.setblocking(False)  # a socket with a timeout would wait for data in recv()
    try:
        data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return len(data) > 0  # unexpected bytes, but the socket is open
    except BlockingIOError:
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=5.0, help="per-socket timeout")
    ap.add_argument("--setup-max", type=float, default=60.0, help="max seconds to open all")
    ap.add_argument("--hold", type=float, default=60.0, help="max seconds to hold them")
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--stop-file", required=True)
    a = ap.parse_args()

    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: remora-bench-idle\r\n\r\n"
           % (a.path, a.port)).encode()
    socks, failed, bad_status = [], 0, 0
    deadline = time.monotonic() + a.setup_max
    t0 = time.monotonic()
    for _ in range(a.conns):
        if time.monotonic() > deadline:
            failed += 1
            continue
        try:
            s = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
            s.sendall(req)
            if not 200 <= read_response(s, deadline) < 400:
                bad_status += 1
            socks.append(s)
        except (OSError, ValueError, IndexError):
            failed += 1
    status = {"requested": a.conns, "opened": len(socks), "failed": failed,
              "bad_status": bad_status, "setup_s": round(time.monotonic() - t0, 3)}
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(status) + "\n")
    os.replace(tmp, a.ready_file)

    end = time.monotonic() + a.hold
    while time.monotonic() < end and not os.path.exists(a.stop_file):
        time.sleep(0.05)
    status["open_at_end"] = sum(1 for s in socks if still_open(s))
    for s in socks:
        s.close()
    print(json.dumps(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
