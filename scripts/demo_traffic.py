#!/usr/bin/env python3
"""Traffic and checks for `make demo` (scripts/demo.sh): plays the calls the shop's apps make.

remora-echo does not call anyone, so this driver makes the calls each app would make, through
that app's own sidecar (its outbound listener, Host = the Service name, as an app using the
sidecar as its HTTP proxy would):  frontend -> catalog, catalog -> orders, and over gRPC
frontend -> inventory.

  demo_traffic.py split   OUTBOUND N            -> JSON {ids: {x-echo-id: count}, codes: {...}}
  demo_traffic.py burst   OUTBOUND HOST N       -> JSON {codes: {...}}
  demo_traffic.py grpc    OUTBOUND AUTHORITY N RATE EVERY
      -> JSON {ids: {instance id: count}, codes: {grpc status name: count}, asked_not_found: k}
      N unary calls of remora.echo.v1.Echo (test/apps/echo/echo.proto) at RATE calls a second,
      in batches of 10 on one HTTP/2 connection with :authority AUTHORITY; every EVERY-th call
      asks its server to answer NOT_FOUND (an application error, which no retry policy retries).
      Needs grpcio: run it with /usr/bin/python3 (Debian's python3-grpcio).
"""
import collections
import http.client
import json
import os
import sys
import time


def call(conn_holder, outbound, host, path="/"):
    for attempt in range(2):
        try:
            if conn_holder[0] is None:
                h, p = outbound.rsplit(":", 1)
                conn_holder[0] = http.client.HTTPConnection(h, int(p), timeout=5)
            c = conn_holder[0]
            c.request("GET", path, headers={"Host": host})
            r = c.getresponse()
            r.read()
            return r.status, r.getheader("x-echo-id", "-"), r.getheader("x-remora-reason", "")
        except (OSError, http.client.HTTPException):
            if conn_holder[0] is not None:
                conn_holder[0].close()
            conn_holder[0] = None
            if attempt == 1:
                return 0, "-", "client-error"
    return 0, "-", "client-error"


def split(outbound, n):
    ids, codes = collections.Counter(), collections.Counter()
    holder = [None]
    start = time.time()
    for _ in range(n):
        status, echo_id, _ = call(holder, outbound, "catalog.shop:8080", "/items")
        codes[str(status)] += 1
        ids[echo_id] += 1
    return {"ids": ids, "codes": codes, "seconds": round(time.time() - start, 2)}


def burst(outbound, host, n):
    codes = collections.Counter()
    reasons = collections.Counter()
    holder = [None]
    for _ in range(n):
        status, _, reason = call(holder, outbound, host)
        codes[str(status)] += 1
        if reason:
            reasons[reason] += 1
    return {"codes": codes, "reasons": reasons}


def grpc_calls(outbound, authority, n, rate, not_found_every):
    # test/grpc/echo_client.py generates the Echo messages and imports grpc (or prints why not).
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "grpc"))
    import echo_client  # pylint: disable=import-outside-toplevel
    grpc, pb = echo_client.grpc, echo_client.pb
    channel = grpc.insecure_channel(outbound, options=[("grpc.default_authority", authority)])
    grpc.channel_ready_future(channel).result(timeout=10)
    unary = channel.unary_unary(echo_client.SERVICE + "Unary", pb.EchoRequest.SerializeToString,
                                pb.EchoReply.FromString)
    ids, codes = collections.Counter(), collections.Counter()
    asked = 0
    start = time.time()
    for first in range(0, n, 10):
        time.sleep(max(0.0, start + first / rate - time.time()))
        batch = []
        for i in range(first, min(n, first + 10)):
            fail = not_found_every > 0 and i % not_found_every == not_found_every - 1
            asked += fail
            request = pb.EchoRequest(message="item-%d" % i, status_code=5 if fail else 0,
                                     status_message="no such item" if fail else "")
            batch.append(unary.future(request, timeout=10))
        for f in batch:
            try:
                ids[f.result().instance_id] += 1
            except grpc.RpcError:
                pass
            codes[f.code().name] += 1
    channel.close()
    return {"ids": ids, "codes": codes, "asked_not_found": asked,
            "seconds": round(time.time() - start, 2)}


def main():
    mode = sys.argv[1]
    if mode == "split":
        print(json.dumps(split(sys.argv[2], int(sys.argv[3]))))
    elif mode == "burst":
        print(json.dumps(burst(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    elif mode == "grpc":
        print(json.dumps(grpc_calls(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
                                    int(sys.argv[6]))))
    else:
        sys.exit("usage: demo_traffic.py split OUTBOUND N | burst OUTBOUND HOST N | "
                 "grpc OUTBOUND AUTHORITY N RATE EVERY")


if __name__ == "__main__":
    main()
