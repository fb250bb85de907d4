#!/usr/bin/env python3
"""Traffic and checks for `make demo` (scripts/demo.sh): plays the calls the shop's apps make.

remora-echo does not call anyone, so this driver makes the calls each app would make, through
that app's own sidecar (its outbound listener, Host = the Service name, as an app using the
sidecar as its HTTP proxy would):  frontend -> catalog, catalog -> orders.

  demo_traffic.py split   OUTBOUND N            -> JSON {ids: {x-echo-id: count}, codes: {...}}
  demo_traffic.py burst   OUTBOUND HOST N       -> JSON {codes: {...}}
"""
import collections
import http.client
import json
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


def main():
    mode = sys.argv[1]
    if mode == "split":
        print(json.dumps(split(sys.argv[2], int(sys.argv[3]))))
    elif mode == "burst":
        print(json.dumps(burst(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        sys.exit("usage: demo_traffic.py split OUTBOUND N | burst OUTBOUND HOST N")


if __name__ == "__main__":
    main()
