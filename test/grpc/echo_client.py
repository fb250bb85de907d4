#!/usr/bin/python3
"""A gRPC client of remora-echo's Echo service (test/apps/echo/echo.proto), for tests.

usage: echo_client.py TARGET SCENARIO [--metadata NAME=VALUE]... [--expect-code CODE]
                      [--timeout SECONDS] [--authority HOST[:PORT]]

TARGET is host:port: remora-echo --grpc itself, or a proxy in front of it. SCENARIO is one of
unary, server-stream, client-stream, bidi, metadata, deadline, cancel, error, unimplemented,
unavailable, too-large, concurrent, slow-reader, slow-stream. The client runs the scenario's calls and prints one JSON line: the
first call's code, details and instance id at the top, then every call (code, details,
replies, initial and trailing metadata, elapsed ms) and the expectations that failed.
Exit status: 0 when every expectation held, 1 when one did not, 2 on a usage or setup error.

--metadata adds fields to every call. --authority sets :authority (default TARGET), for a
sidecar's outbound listener that routes by the Service name. --expect-code CODE replaces the scenario's checks by one
Unary call that must end with CODE (for instance UNAVAILABLE against
`remora-echo --grpc --fail-rate 1`, or through a proxy that retries).

The message classes are generated at start with protoc --python_out into a temporary folder.
Needs Debian's python3-grpcio and python3-protobuf (scripts/setup.sh installs them).
"""

import argparse
import base64
import importlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time

PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apps", "echo", "echo.proto")
SERVICE = "/remora.echo.v1.Echo/"


def fail_setup(message):
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(2)


try:
    import grpc
except ImportError:
    fail_setup("python3 has no grpc module (apt-get install python3-grpcio python3-protobuf)")


def load_messages():
    """Generates echo_pb2 from echo.proto and imports it."""
    out = tempfile.mkdtemp(prefix="echo-client-pb-")
    try:
        proto_dir = os.path.dirname(os.path.abspath(PROTO))
        r = subprocess.run(["protoc", "-I", proto_dir, "--python_out", out, os.path.basename(PROTO)],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            fail_setup("protoc failed: " + r.stderr.strip())
        sys.path.insert(0, out)
        module = importlib.import_module("echo_pb2")
        sys.path.remove(out)
        return module
    finally:
        shutil.rmtree(out, ignore_errors=True)


pb = load_messages()


def md_dict(md):
    """Metadata as {name: value}: text values as they are, binary ones in base64."""
    out = {}
    for item in md or ():
        value = item.value
        if isinstance(value, bytes):
            value = "base64:" + base64.b64encode(value).decode()
        out[item.key] = value
    return out


def reply_dict(reply):
    return {
        "message": reply.message if len(reply.message) <= 256 else "<%d chars>" % len(reply.message),
        "instance_id": reply.instance_id,
        "index": reply.index,
        "received": reply.received,
        "received_bytes": reply.received_bytes,
        "metadata": {m.name: m.value.decode("utf-8", "backslashreplace") for m in reply.metadata},
    }


class Runner:
    def __init__(self, target, extra_metadata, timeout, authority=None):
        options = [("grpc.default_authority", authority)] if authority else []
        self.channel = grpc.insecure_channel(target, options=options)
        self.extra = list(extra_metadata)
        self.timeout = timeout
        self.calls = []
        self.failed = []
        ser = pb.EchoRequest.SerializeToString
        de = pb.EchoReply.FromString
        self.stubs = {
            "Unary": self.channel.unary_unary(SERVICE + "Unary", ser, de),
            "ServerStream": self.channel.unary_stream(SERVICE + "ServerStream", ser, de),
            "ClientStream": self.channel.stream_unary(SERVICE + "ClientStream", ser, de),
            "Bidi": self.channel.stream_stream(SERVICE + "Bidi", ser, de),
        }

    def expect(self, condition, what):
        if not condition:
            self.failed.append(what)
        return condition

    def _record(self, method, started, code, details, replies, initial, trailing):
        call = {
            "method": method,
            "code": code.name,
            "details": details or "",
            "replies": [reply_dict(r) for r in replies],
            "initial_metadata": md_dict(initial),
            "trailing_metadata": md_dict(trailing),
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
        }
        call["_raw"] = replies
        self.calls.append(call)
        return call

    def call(self, method, requests, metadata=(), timeout=None, stub=None, on_reply=None):
        """One call; `requests` is a message (unary request) or an iterable (client streaming).
        `on_reply(call_object, reply, n)` may cancel a response stream. Returns the record."""
        stub = stub or self.stubs[method]
        md = self.extra + list(metadata)
        timeout = timeout or self.timeout
        started = time.monotonic()
        replies = []
        if method in ("Unary", "ClientStream"):
            try:
                reply, c = stub.with_call(requests, metadata=md, timeout=timeout)
                replies.append(reply)
                return self._record(method, started, c.code(), c.details(), replies,
                                    c.initial_metadata(), c.trailing_metadata())
            except grpc.RpcError as e:
                return self._record(method, started, e.code(), e.details(), replies,
                                    e.initial_metadata(), e.trailing_metadata())
        it = stub(requests, metadata=md, timeout=timeout)
        try:
            for reply in it:
                replies.append(reply)
                if on_reply is not None:
                    on_reply(it, reply, len(replies))
        except grpc.RpcError:
            pass
        return self._record(method, started, it.code(), it.details(), replies,
                            it.initial_metadata(), it.trailing_metadata())

    def expect_code(self, call, code):
        self.expect(call["code"] == code.name,
                    "%s: code %s, expected %s (%s)" % (call["method"], call["code"], code.name,
                                                       call["details"]))

    def expect_replies(self, call, messages):
        got = [r.message for r in call["_raw"]]
        self.expect(got == messages, "%s: replies %r, expected %r" % (call["method"], got, messages))
        indexes = [r.index for r in call["_raw"]]
        self.expect(indexes == list(range(len(indexes))),
                    "%s: reply indexes %r are not 0.." % (call["method"], indexes))

    def expect_instance(self, call):
        md = dict(call["initial_metadata"], **call["trailing_metadata"])
        ids = {r.instance_id for r in call["_raw"]}
        self.expect("x-echo-id" in md, "%s: no x-echo-id in the response metadata" % call["method"])
        if ids:
            self.expect(ids == {md.get("x-echo-id")},
                        "%s: replies from %r, x-echo-id %r" % (call["method"], ids, md.get("x-echo-id")))


def req(message="", **fields):
    return pb.EchoRequest(message=message, **fields)


def scenario_unary(r):
    request = req("hello")
    c = r.call("Unary", request)
    r.expect_code(c, grpc.StatusCode.OK)
    r.expect_replies(c, ["hello"])
    r.expect_instance(c)
    if c["_raw"]:
        reply = c["_raw"][0]
        r.expect(reply.received == 1, "Unary: received %d, expected 1" % reply.received)
        size = len(request.SerializeToString())
        r.expect(reply.received_bytes == size,
                 "Unary: received_bytes %d, expected %d" % (reply.received_bytes, size))


def scenario_server_stream(r):
    c = r.call("ServerStream", req("tick", count=5, delay_ms=10))
    r.expect_code(c, grpc.StatusCode.OK)
    r.expect_replies(c, ["tick"] * 5)
    r.expect_instance(c)
    r.expect(c["elapsed_ms"] >= 50, "ServerStream: 5 replies 10 ms apart took %s ms" % c["elapsed_ms"])


def scenario_slow_stream(r):
    # 10 replies 150 ms apart (1.5 s): long enough for a test to drain a proxy meanwhile.
    print("started", file=sys.stderr, flush=True)
    c = r.call("ServerStream", req("slow", count=10, delay_ms=150))
    r.expect_code(c, grpc.StatusCode.OK)
    r.expect_replies(c, ["slow"] * 10)


def scenario_client_stream(r):
    requests = [req("m%d" % i + "x" * (i * 100)) for i in range(4)]
    c = r.call("ClientStream", iter(requests))
    r.expect_code(c, grpc.StatusCode.OK)
    r.expect_replies(c, [requests[-1].message])
    r.expect_instance(c)
    if c["_raw"]:
        reply = c["_raw"][0]
        size = sum(len(q.SerializeToString()) for q in requests)
        r.expect(reply.received == 4, "ClientStream: received %d, expected 4" % reply.received)
        r.expect(reply.received_bytes == size,
                 "ClientStream: received_bytes %d, expected %d" % (reply.received_bytes, size))


def scenario_bidi(r):
    # Ping-pong: the next request leaves only once the reply to the previous one arrived, so
    # the replies must stream (not wait for the end of the requests).
    outbox = queue.Queue()
    messages = ["ping%d" % i for i in range(5)]

    def requests():
        while True:
            item = outbox.get()
            if item is None:
                return
            yield item

    def on_reply(_call, _reply, n):
        outbox.put(req(messages[n], delay_ms=(n % 2) * 15) if n < len(messages) else None)

    outbox.put(req(messages[0]))
    c = r.call("Bidi", requests(), on_reply=on_reply)
    r.expect_code(c, grpc.StatusCode.OK)
    r.expect_replies(c, messages)
    r.expect_instance(c)
    received = [x.received for x in c["_raw"]]
    r.expect(received == [1, 2, 3, 4, 5], "Bidi: received counts %r, expected 1..5" % received)


def scenario_metadata(r):
    c = r.call("Unary", req("md"), metadata=[("x-trace-me", "abc"), ("x-blob-bin", b"\x00\x01\xff")])
    r.expect_code(c, grpc.StatusCode.OK)
    initial = c["initial_metadata"]
    r.expect(initial.get("x-echo-md-x-trace-me") == "abc",
             "initial metadata x-echo-md-x-trace-me: %r" % initial.get("x-echo-md-x-trace-me"))
    blob = "base64:" + base64.b64encode(b"\x00\x01\xff").decode()
    r.expect(initial.get("x-echo-md-x-blob-bin") == blob,
             "initial metadata x-echo-md-x-blob-bin: %r" % initial.get("x-echo-md-x-blob-bin"))
    r.expect("x-echo-md-user-agent" not in initial, "user-agent echoed as custom metadata")
    r.expect_instance(c)
    if c["_raw"]:
        seen = {m.name: m.value for m in c["_raw"][0].metadata}
        r.expect(seen.get("x-trace-me") == b"abc", "reply metadata x-trace-me: %r" % seen.get("x-trace-me"))
        r.expect(base64.b64decode(seen.get("x-blob-bin", b"") + b"==") == b"\x00\x01\xff",
                 "reply metadata x-blob-bin: %r" % seen.get("x-blob-bin"))
        r.expect(seen.get("content-type", b"").startswith(b"application/grpc"),
                 "reply metadata content-type: %r" % seen.get("content-type"))
        r.expect("grpc-timeout" in seen, "the client's grpc-timeout not in the reply metadata")


def scenario_deadline(r):
    late = r.call("Unary", req("late", delay_ms=3000), timeout=0.3)
    r.expect_code(late, grpc.StatusCode.DEADLINE_EXCEEDED)
    r.expect(late["elapsed_ms"] < 2000, "DEADLINE_EXCEEDED after %s ms" % late["elapsed_ms"])
    in_time = r.call("Unary", req("in time", delay_ms=50), timeout=5)
    r.expect_code(in_time, grpc.StatusCode.OK)
    r.expect(in_time["elapsed_ms"] >= 50, "a 50 ms delay answered after %s ms" % in_time["elapsed_ms"])


def scenario_cancel(r):
    def on_reply(call, _reply, n):
        if n == 3:
            call.cancel()

    c = r.call("ServerStream", req("long", count=1000, delay_ms=20), on_reply=on_reply)
    r.expect_code(c, grpc.StatusCode.CANCELLED)
    r.expect(len(c["_raw"]) == 3, "cancelled after %d replies, expected 3" % len(c["_raw"]))
    after = r.call("Unary", req("after cancel"))
    r.expect_code(after, grpc.StatusCode.OK)


def scenario_error(r):
    details = "no such echo: \u00fc 100%"
    c = r.call("Unary", req("x", status_code=grpc.StatusCode.NOT_FOUND.value[0], status_message=details))
    r.expect_code(c, grpc.StatusCode.NOT_FOUND)
    r.expect(c["details"] == details, "details %r, expected %r" % (c["details"], details))
    r.expect(not c["_raw"], "an error call had replies")
    r.expect_instance(c)
    s = r.call("ServerStream", req("two", count=2, status_code=9, status_message="after two"))
    r.expect_code(s, grpc.StatusCode.FAILED_PRECONDITION)
    r.expect_replies(s, ["two", "two"])
    b = r.call("Bidi", iter([req("a"), req("b"), req("c", status_code=10), req("d")]))
    r.expect_code(b, grpc.StatusCode.ABORTED)
    r.expect_replies(b, ["a", "b"])


def scenario_unimplemented(r):
    stub = r.channel.unary_unary(SERVICE + "NoSuchMethod", pb.EchoRequest.SerializeToString,
                                 pb.EchoReply.FromString)
    c = r.call("Unary", req("x"), stub=stub)
    c["method"] = "NoSuchMethod"
    r.expect_code(c, grpc.StatusCode.UNIMPLEMENTED)


def scenario_unavailable(r):
    c = r.call("Unary", req("x"), metadata=[("x-echo-fail-rate", "1")])
    r.expect_code(c, grpc.StatusCode.UNAVAILABLE)
    ok = r.call("Unary", req("y"), metadata=[("x-echo-fail-rate", "0")])
    r.expect_code(ok, grpc.StatusCode.OK)


def scenario_too_large(r):
    c = r.call("Unary", req("x" * (5 * 1024 * 1024)))
    r.expect_code(c, grpc.StatusCode.RESOURCE_EXHAUSTED)
    after = r.call("Unary", req("small"))
    r.expect_code(after, grpc.StatusCode.OK)


def scenario_concurrent(r):
    # 20 calls of 300 ms at once on one channel (one HTTP/2 connection): together, not in turn.
    started = time.monotonic()
    futures = [r.stubs["Unary"].future(req("c%d" % i, delay_ms=300), metadata=r.extra,
                                       timeout=r.timeout) for i in range(20)]
    for i, f in enumerate(futures):
        try:
            replies = [f.result()]
        except grpc.RpcError:
            replies = []
        c = r._record("Unary", started, f.code(), f.details(), replies, f.initial_metadata(),
                      f.trailing_metadata())
        r.expect_code(c, grpc.StatusCode.OK)
        r.expect_replies(c, ["c%d" % i])
    elapsed = (time.monotonic() - started) * 1000
    r.expect(elapsed < 3000, "20 concurrent calls of 300 ms took %d ms" % elapsed)


def scenario_slow_reader(r):
    # A stream of 100,000 replies of 60 kB that the client stops reading after the first:
    # the server must wait (flow control), not queue gigabytes. "holding" on stderr tells a
    # test when to look at the server's memory.
    def on_reply(call, _reply, n):
        print("holding", file=sys.stderr, flush=True)
        time.sleep(2)
        call.cancel()

    c = r.call("ServerStream", req("x" * 60000, count=100000), on_reply=on_reply)
    r.expect_code(c, grpc.StatusCode.CANCELLED)
    r.expect(len(c["_raw"]) == 1, "%d replies read, expected 1" % len(c["_raw"]))


SCENARIOS = {
    "unary": scenario_unary,
    "server-stream": scenario_server_stream,
    "slow-stream": scenario_slow_stream,
    "client-stream": scenario_client_stream,
    "bidi": scenario_bidi,
    "metadata": scenario_metadata,
    "deadline": scenario_deadline,
    "cancel": scenario_cancel,
    "error": scenario_error,
    "unimplemented": scenario_unimplemented,
    "unavailable": scenario_unavailable,
    "too-large": scenario_too_large,
    "concurrent": scenario_concurrent,
    "slow-reader": scenario_slow_reader,
}


def parse_metadata(items):
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail_setup("--metadata: expected NAME=VALUE, got %r" % item)
        out.append((name.lower(), value))
    return out


def main():
    p = argparse.ArgumentParser(description="gRPC client of remora-echo's Echo service")
    p.add_argument("target", help="host:port")
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--metadata", action="append", default=[], help="NAME=VALUE on every call")
    p.add_argument("--expect-code", help="instead of the scenario: one Unary call must end with "
                   "this code (e.g. UNAVAILABLE)")
    p.add_argument("--timeout", type=float, default=10.0, help="deadline of each call (seconds)")
    p.add_argument("--authority", help=":authority of every call (default: the target)")
    args = p.parse_args()
    expect_code = None
    if args.expect_code:
        expect_code = getattr(grpc.StatusCode, args.expect_code.upper(), None)
        if expect_code is None:
            fail_setup("--expect-code: not a gRPC status name: %r" % args.expect_code)

    r = Runner(args.target, parse_metadata(args.metadata), args.timeout, args.authority)
    try:
        grpc.channel_ready_future(r.channel).result(timeout=args.timeout)
    except grpc.FutureTimeoutError:
        fail_setup("cannot connect to %s within %s s" % (args.target, args.timeout))
    if expect_code is not None:
        r.expect_code(r.call("Unary", req("hello")), expect_code)
    else:
        SCENARIOS[args.scenario](r)
    r.channel.close()

    first = r.calls[0] if r.calls else {}
    ids = [x["instance_id"] for c in r.calls for x in c["replies"]]
    result = {
        "scenario": args.scenario,
        "ok": not r.failed,
        "code": first.get("code", ""),
        "details": first.get("details", ""),
        "instance_id": ids[0] if ids else "",
        "calls_made": len(r.calls),
        "failed": r.failed,
        "calls": [{k: v for k, v in c.items() if k != "_raw"} for c in r.calls],
    }
    print(json.dumps(result, ensure_ascii=True, separators=(",", ":")))
    return 0 if not r.failed else 1


if __name__ == "__main__":
    sys.exit(main())
