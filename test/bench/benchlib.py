#!/usr/bin/env python3
"""Helpers for test/bench/run.sh (python3 stdlib only).

Subcommands (all read-only on the system except the files they are told to
write):
  ports N                       print N distinct free TCP ports on 127.0.0.1
  cpu PID                       utime+stime clock ticks of PID and its descendants
  cpu --with-children PID       utime+stime+cutime+cstime of PID alone (itself plus
                                every child it has reaped: the load generators)
  rss PID                       VmRSS (KiB) of PID and its descendants
  procstat                      the cpuN lines of /proc/stat (for steal time)
  busy SECONDS                  % of all CPUs' time not idle over SECONDS (other people's load)
  sample --pid P --out F ...    sample RSS of the tree until --stop-file or --max-seconds;
                                write the maximum (KiB) to F
  record ...                    turn one wrk/openloop output + CPU/RSS readings into a
                                JSON line (printed)
  emit TYPE k=v... [@FILE]       print a JSON record {"type": TYPE, k: v...}; values that look
                                numeric become numbers; @FILE merges the JSON object on
                                FILE's last line
  report --jsonl F --out J ...  print the comparison tables, write the results JSON
  markdown RESULTS.json [--rows direct,haproxy,...]
                                the same tables as Markdown (for docs/benchmarks.md)
"""
import argparse
import json
import os
import re
import statistics
import socket
import sys
import time

# ----------------------------------------------------------------- /proc ----


def _children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        ppid = int(rest[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    """PID plus all its descendants (nginx master + worker, ...)."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo and len(out) < 10000:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(pid):
    total = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        # fields 14 and 15 of stat(5) are utime, stime; rest[0] is field 3.
        total += int(rest[11]) + int(rest[12])
    return total


def self_and_reaped_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    rest = s[s.rfind(")") + 2:].split()
    return sum(int(x) for x in rest[11:15])  # utime stime cutime cstime


def rss_kib(pid):
    total = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for ln in f:
                    if ln.startswith("VmRSS:"):
                        total += int(ln.split()[1])
                        break
        except OSError:
            continue
    return total


def procstat():
    out = {}
    with open("/proc/stat") as f:
        for ln in f:
            m = re.match(r"^(cpu\d+)\s+(.*)$", ln)
            if m:
                out[m.group(1)] = [int(x) for x in m.group(2).split()]
    return out


def busy_pct(seconds):
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v[:8]), v[3] + v[4]   # total, idle + iowait
    t0, i0 = snap()
    time.sleep(min(max(seconds, 0.1), 10))
    t1, i1 = snap()
    return round(100.0 * (1 - (i1 - i0) / (t1 - t0)), 1) if t1 > t0 else 0.0


def free_ports(n):
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def _statm_kib(pids):
    """RSS of PIDS from /proc/PID/statm; None if one of them is gone."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/statm" % p) as f:
                total += int(f.read().split()[1]) * PAGE_KIB
        except (OSError, IndexError, ValueError):
            return None
    return total


PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def sample(pid, out, stop_file, max_seconds, interval):
    # The process tree is found once (a /proc scan costs ~7 ms, which would
    # steal time from the load generator sharing this CPU) and only looked up
    # again if one of its processes goes away; each sample then reads a few
    # statm files.
    best, n = 0, 0
    pids = tree(pid)
    end = time.monotonic() + max_seconds
    while time.monotonic() < end:
        if not os.path.exists("/proc/%d" % pid):
            break
        kib = _statm_kib(pids)
        if kib is None:
            pids = tree(pid)
            kib = _statm_kib(pids) or 0
        best = max(best, kib)
        n += 1
        if stop_file and os.path.exists(stop_file):
            break
        time.sleep(interval)
    with open(out, "w") as f:
        f.write("%d %d\n" % (best, n))

# ---------------------------------------------------------------- record ----


def _int_or_none(v):
    return None if v in (None, "", "-") else int(v)


def steal_pct(stat0, stat1, cpu):
    try:
        a = json.load(open(stat0))[cpu]
        b = json.load(open(stat1))[cpu]
    except (OSError, ValueError, KeyError):
        return None
    d = [y - x for x, y in zip(a, b)]
    tot = sum(d[:8])  # user nice system idle iowait irq softirq steal
    return round(100.0 * d[7] / tot, 1) if tot > 0 and len(d) > 7 else None


def _add(a, b):
    return None if a is None or b is None else round(a + b, 1)


def others_pct(stat0, stat1, cpu, our_ticks):
    """Share of CPU time on `cpu` used by processes other than the proxy and
    the upstream (user+nice+system minus their utime+stime), i.e. other
    people's load on the servers' core.  Approximate: tick accounting."""
    try:
        a = json.load(open(stat0))[cpu]
        b = json.load(open(stat1))[cpu]
    except (OSError, ValueError, KeyError):
        return None
    d = [y - x for x, y in zip(a, b)]
    tot = sum(d[:8])
    if tot <= 0:
        return None
    return round(max(0.0, 100.0 * (d[0] + d[1] + d[2] - our_ticks) / tot), 1)


def record(a):
    rec = {"type": "run", "row": a.row, "scenario": a.scenario, "round": a.round,
           "tool": a.kind, "ok": False}
    try:
        text = open(a.out).read()
    except OSError:
        text = ""
    if a.kind == "wrk":
        m = re.search(r"^WRK_JSON (\{.*\})\s*$", text, re.M)
        if m:
            w = json.loads(m.group(1))
            dur = w["duration_us"] / 1e6
            errs = {k[4:]: int(w[k]) for k in w if k.startswith("err_")}
            rec.update({
                "ok": True, "requests": int(w["requests"]), "duration_s": round(dur, 3),
                "rps": round(w["requests"] / dur, 1) if dur > 0 else 0.0,
                "p50_us": w["p50_us"], "p75_us": w["p75_us"], "p90_us": w["p90_us"],
                "p99_us": w["p99_us"], "p999_us": w["p999_us"], "max_us": w["max_us"],
                "errors": sum(errs.values()), "errors_detail": errs,
                "bytes": int(w["bytes"]),
            })
        rec["raw"] = text[-4000:]
    else:
        try:
            o = json.loads(text.strip().splitlines()[-1])
        except (ValueError, IndexError):
            o = {}
        if "p50_us" in o and o.get("requests"):
            rec.update({
                "ok": True, "requests": o["requests"], "duration_s": o["duration_s"],
                "rps": o["rps"], "target_rate": o["target_rate"],
                "p50_us": o["p50_us"], "p90_us": o["p90_us"], "p99_us": o["p99_us"],
                "p999_us": o["p999_us"], "max_us": o["max_us"],
                "errors": o["errors_total"], "errors_detail": o["errors"],
                "send_lag_p99_us": o["send_lag_p99_us"],
                "send_lag_max_us": o["send_lag_max_us"],
                "pool_waited": o.get("pool_waited"), "max_backlog": o.get("max_backlog"),
            })
        rec["raw"] = text[-4000:]
    if a.exit_code is not None:
        rec["exit_code"] = a.exit_code
    hz = a.clk_tck
    c0, c1 = _int_or_none(a.cpu0), _int_or_none(a.cpu1)
    if c0 is not None and c1 is not None:
        rec["proxy_cpu_s"] = round((c1 - c0) / hz, 3)
        if rec.get("requests"):
            rec["proxy_cpu_s_per_100k"] = round((c1 - c0) / hz / rec["requests"] * 1e5, 3)
    u0, u1 = _int_or_none(a.up0), _int_or_none(a.up1)
    if u0 is not None and u1 is not None:
        rec["upstream_cpu_s"] = round((u1 - u0) / hz, 3)
        if rec.get("requests"):
            rec["upstream_cpu_s_per_100k"] = round((u1 - u0) / hz / rec["requests"] * 1e5, 3)
    if a.rss_file:
        try:
            best, n = open(a.rss_file).read().split()
            rec["rss_load_max_mib"] = round(int(best) / 1024.0, 1)
            rec["rss_samples"] = int(n)
        except (OSError, ValueError):
            pass
    if a.stat0 and a.stat1:
        rec["steal_pct_cpu0"] = steal_pct(a.stat0, a.stat1, "cpu0")
        rec["steal_pct_cpu1"] = steal_pct(a.stat0, a.stat1, "cpu1")
        ours = (c1 - c0 if c0 is not None and c1 is not None else 0) + \
            (u1 - u0 if u0 is not None and u1 is not None else 0)
        rec["others_pct_cpu0"] = others_pct(a.stat0, a.stat1, "cpu0", ours)
        m0, m1 = _int_or_none(a.me0), _int_or_none(a.me1)
        if m0 is not None and m1 is not None and a.load_cpu != "cpu0":
            rec["others_pct_" + a.load_cpu] = others_pct(a.stat0, a.stat1, a.load_cpu, m1 - m0)
        rec["noise_pct_cpu0"] = _add(rec["steal_pct_cpu0"], rec["others_pct_cpu0"])
        rec["noise_pct_cpu1"] = _add(rec.get("steal_pct_cpu1"), rec.get("others_pct_cpu1"))
    if rec["ok"]:
        sys.stderr.write("    %-8s %-12s %10s req/s  p50 %8s  p99 %8s  errors %s  proxy CPU-s/100k %s\n" % (
            a.row, a.scenario, fmt_num(rec["rps"]), fmt_us(rec["p50_us"]), fmt_us(rec["p99_us"]),
            rec["errors"], rec.get("proxy_cpu_s_per_100k", "-")))
    else:
        sys.stderr.write("    %-8s %-12s FAILED (exit %s); output tail:\n%s\n" % (
            a.row, a.scenario, a.exit_code, text[-800:]))
    print(json.dumps(rec))

# ---------------------------------------------------------------- report ----


SCENARIOS = [
    ("ka_small", "a. keep-alive GET / (small body)"),
    ("ka_4k", "b. keep-alive GET /4k"),
    ("ka_64k", "c. keep-alive GET /64k"),
    ("close_small", "d. new connection per request (Connection: close), GET /"),
    ("rate_small", "e. fixed rate (open loop), GET /"),
]
ROW_ORDER = ["direct", "remora", "remora-policy", "haproxy", "nginx"]


def fmt_us(v):
    if v is None:
        return "-"
    if v < 1000:
        return "%.0fus" % v
    if v < 1e6:
        return "%.2fms" % (v / 1000.0)
    return "%.2fs" % (v / 1e6)


def fmt_signed_us(v):
    if v is None:
        return "-"
    return ("+" if v >= 0 else "-") + fmt_us(abs(v))


def fmt_num(v, nd=0):
    if v is None:
        return "-"
    return "{:,.{}f}".format(v, nd)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(v):
    return "-" if v is None else "%.2fx" % v


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) if i == 0 else str(h).rjust(w)
                     for i, (h, w) in enumerate(zip(headers, widths)))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


MEDIAN_FIELDS = ("rps", "p50_us", "p75_us", "p90_us", "p99_us", "p999_us", "max_us",
                 "proxy_cpu_s_per_100k", "upstream_cpu_s_per_100k", "rss_load_max_mib",
                 "noise_pct_cpu0", "noise_pct_cpu1", "send_lag_p99_us")
ROUND_FIELDS = ("round", "rps", "p99_us", "proxy_cpu_s_per_100k", "noise_pct_cpu0",
                "noise_pct_cpu1")


def combine_rounds(rs):
    """One record for a row's rounds of one scenario (BENCH_REPEAT): the median of each
    figure, the errors summed, each round's main figures kept under "rounds". A failed round
    makes the row failed."""
    if len(rs) == 1:
        return rs[0]
    rounds = [{k: r.get(k) for k in ROUND_FIELDS} for r in rs]
    bad = [r for r in rs if not r.get("ok")]
    if bad:
        return dict(bad[0], rounds=rounds)
    out = dict(rs[0])
    out.pop("raw", None)
    for f in MEDIAN_FIELDS:
        vals = [r[f] for r in rs if r.get(f) is not None]
        if vals:
            out[f] = statistics.median(vals)
    out["requests"] = sum(r.get("requests", 0) for r in rs)
    out["errors"] = sum(r.get("errors", 0) for r in rs)
    out["rounds"] = rounds
    return out


def paired_ratio(a, b, field):
    """a's figure over b's: with rounds, the median of the ratios within each round."""
    if not a or not b or not a.get("ok") or not b.get("ok"):
        return None
    ra, rb = a.get("rounds"), b.get("rounds")
    if ra and rb:
        other = {r["round"]: r for r in rb}
        vals = [ratio(r.get(field), other[r["round"]].get(field))
                for r in ra if r["round"] in other]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None
    return ratio(a.get(field), b.get(field))


def report(a):
    runs, rows_meta, idle = [], {}, {}
    with open(a.jsonl) as f:
        for ln in f:
            ln = ln.strip()
            if not ln:
                continue
            r = json.loads(ln)
            if r["type"] == "run":
                runs.append(r)
            elif r["type"] == "row":
                rows_meta[r["row"]] = r
            elif r["type"] == "idle_conns":
                idle[r["row"]] = r
    meta = {}
    for kv in a.meta or []:
        k, _, v = kv.partition("=")
        meta[k] = v
    grouped = {}
    for r in runs:
        grouped.setdefault((r["row"], r["scenario"]), []).append(r)
    by = {k: combine_rounds(v) for k, v in grouped.items()}
    row_names = [n for n in ROW_ORDER if n in rows_meta] + \
        [n for n in rows_meta if n not in ROW_ORDER]

    results = {"meta": meta, "rows": {}, "scenarios": {}}
    for n in row_names:
        rm = dict(rows_meta[n])
        rm.pop("type", None)
        if n in idle:
            rm["idle_conns"] = {k: v for k, v in idle[n].items() if k not in ("type", "row")}
        results["rows"][n] = rm

    out = []
    out.append("remora benchmark: %s s per scenario, %s connections, wrk -t1, fixed rate %s req/s"
               % (meta.get("duration_s", "?"), meta.get("conns", "?"), meta.get("rate", "?")))
    if meta.get("repeat", "1") != "1":
        out.append("%s rounds per scenario: each figure is the row's median; each ratio the median "
                   "of the ratios within a round" % meta["repeat"])
    out.append("proxy + upstream pinned to CPU 0, load generator pinned to CPU 1; "
               "CPU/RSS columns are the proxy's (all its processes)")
    out.append("machine: %s CPUs, %s; CPU busy (others) before/after the run: %s%% / %s%%"
               % (meta.get("cpus", "?"), meta.get("cpu_model", "?"),
                  meta.get("busy_before_pct", "?"), meta.get("busy_after_pct", "?")))
    for n in row_names:
        st = rows_meta[n].get("status", "ok")
        if st != "ok":
            out.append("row %s: %s" % (n, st))
    for key, title in SCENARIOS:
        sc_runs = {n: by.get((n, key)) for n in row_names}
        if not any(sc_runs.values()):
            continue
        d = sc_runs.get("direct") or {}
        h = sc_runs.get("haproxy") or {}
        d_p99 = d.get("p99_us") if d.get("ok") else None
        h_p99 = h.get("p99_us") if h.get("ok") else None
        h_add = (h_p99 - d_p99) if (h_p99 is not None and d_p99 is not None) else None
        rem = sc_runs.get("remora") or {}
        policy_rows = []
        trows, rrows, sc_json = [], [], {}
        for n in row_names:
            r = sc_runs.get(n)
            if not r:
                continue
            is_direct = n == "direct"
            ok = r.get("ok")
            rps = r.get("rps") if ok else None
            p99 = r.get("p99_us") if ok else None
            add = (p99 - d_p99) if (p99 is not None and d_p99 is not None and not is_direct) else None
            cpu = r.get("proxy_cpu_s_per_100k")
            calc = {
                "rps_vs_direct": paired_ratio(r, d, "rps") if not is_direct else None,
                "rps_vs_haproxy": paired_ratio(r, h, "rps") if not is_direct else None,
                "added_p99_us": add,
                "added_p99_vs_haproxy": ratio(add, h_add) if (h_add and h_add > 0) else None,
                "cpu_vs_haproxy": (paired_ratio(r, h, "proxy_cpu_s_per_100k")
                                   if not is_direct else None),
            }
            if n == "remora-policy":
                calc["rps_vs_remora"] = paired_ratio(r, rem, "rps")
                calc["cpu_vs_remora"] = paired_ratio(r, rem, "proxy_cpu_s_per_100k")
                policy_rows.append([n, fmt_ratio(calc["rps_vs_remora"]),
                                    fmt_ratio(calc["cpu_vs_remora"])])
            calc = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in calc.items()}
            sc_json[n] = dict(r, **calc)
            sc_json[n].pop("type", None)
            idle_mib = rows_meta[n].get("idle_rss_mib")
            name = n if ok else n + " (FAILED)"
            trows.append([
                name,
                fmt_num(rps, 0),
                fmt_us(r.get("p50_us")) if ok else "-",
                fmt_us(p99),
                fmt_num(r.get("errors")) if ok else "-",
                "-" if is_direct else fmt_num(cpu, 3),
                "-" if is_direct else fmt_num(idle_mib, 1),
                "-" if is_direct else fmt_num(r.get("rss_load_max_mib"), 1),
                fmt_num(r.get("noise_pct_cpu0"), 1),
                fmt_num(r.get("noise_pct_cpu1"), 1),
            ])
            if not is_direct:
                rrows.append([
                    name,
                    fmt_ratio(calc["rps_vs_direct"]),
                    fmt_ratio(calc["rps_vs_haproxy"]),
                    fmt_signed_us(add),
                    fmt_ratio(calc["added_p99_vs_haproxy"]),
                    fmt_ratio(calc["cpu_vs_haproxy"]),
                ])
        results["scenarios"][key] = {"title": title, "rows": sc_json}
        out.append("")
        extra = ""
        if key == "rate_small":
            lag = [(n, r.get("send_lag_p99_us"), r.get("pool_waited"))
                   for n, r in sc_runs.items() if r and r.get("ok")]
            extra = ("\n   openloop.py, latency from the intended send time.  Generator send lag p99"
                     " / requests that waited for a free connection: "
                     + ", ".join("%s %s / %s" % (n, fmt_us(v), fmt_num(w)) for n, v, w in lag))
        out.append("== %s%s" % (title, extra))
        out.append(table(["row", "req/s", "p50", "p99", "errors", "CPU-s/100k",
                          "RSS idle", "RSS load", "noise0%", "noise1%"], trows))
        if rrows:
            out.append("")
            out.append(table(["ratios", "req/s vs direct", "req/s vs HAProxy", "added p99",
                              "added p99 vs HAProxy", "CPU vs HAProxy"], rrows))
        if policy_rows:
            out.append("")
            out.append(table(["policy cost", "req/s vs remora", "CPU-s/100k vs remora"],
                             policy_rows))
    if idle:
        out.append("")
        out.append("== RSS with idle keep-alive connections open (one GET each, then idle)")
        trows = []
        for n in row_names:
            r = idle.get(n)
            if not r:
                continue
            trows.append([n, fmt_num(rows_meta[n].get("idle_rss_mib"), 1),
                          fmt_num(r.get("rss_mib"), 1), fmt_num(r.get("opened")),
                          fmt_num(r.get("open_at_end")),
                          fmt_num(r.get("failed"))])
        out.append(table(["row", "RSS idle MiB", "RSS w/ conns MiB", "opened",
                          "open at end", "failed"], trows))
    out.append("")
    out.append("RSS in MiB (idle: after start; load: max sampled during the run).  "
               "CPU-s/100k: proxy utime+stime seconds per 100,000 requests.")
    out.append("added p99 = proxy p99 - direct p99; 'vs HAProxy' columns are ratios to HAProxy's "
               "figure (req/s: higher is better; added p99, CPU: lower is better).")
    out.append("noise0% / noise1%: share of CPU 0 (proxy + upstream) / CPU 1 (load generator) lost "
               "to hypervisor steal or used by processes outside the benchmark during the run.")
    text = "\n".join(out)
    print(text)
    results["table_text"] = text
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, a.out)
    print("\nraw results: %s" % a.out)


def emit(typ, items):
    rec = {"type": typ}
    for it in items:
        if it.startswith("@"):
            try:
                lines = open(it[1:]).read().strip().splitlines()
                obj = json.loads(lines[-1]) if lines else {}
                if isinstance(obj, dict):
                    rec.update(obj)
            except (OSError, ValueError):
                rec.setdefault("merge_errors", []).append(it[1:])
            continue
        k, _, v = it.partition("=")
        if v in ("true", "false"):
            rec[k] = v == "true"
        elif re.fullmatch(r"-?\d+", v):
            rec[k] = int(v)
        elif re.fullmatch(r"-?\d+\.\d*", v):
            rec[k] = float(v)
        else:
            rec[k] = v
    print(json.dumps(rec))


def markdown(path, rows_csv):
    d = json.load(open(path))
    want = rows_csv.split(",") if rows_csv else None
    out = []
    for key, title in SCENARIOS:
        sc = d.get("scenarios", {}).get(key)
        if not sc:
            continue
        out.append("**%s**%s" % (title, " (openloop.py; latency from intended send time)"
                                 if key == "rate_small" else ""))
        out.append("")
        out.append("| row | req/s | p50 | p99 | errors | CPU-s/100k | RSS idle MiB | RSS load MiB "
                   "| req/s vs direct | req/s vs HAProxy | added p99 | added p99 vs HAProxy "
                   "| CPU vs HAProxy | noise0% | noise1% |")
        out.append("|---|" + "---:|" * 14)
        for n in ROW_ORDER + [x for x in sc["rows"] if x not in ROW_ORDER]:
            r = sc["rows"].get(n)
            if not r or (want and n not in want):
                continue
            ok, dr = r.get("ok"), n == "direct"
            idle = d.get("rows", {}).get(n, {}).get("idle_rss_mib")
            cells = [n if ok else n + " (failed)",
                     fmt_num(r.get("rps")) if ok else "-",
                     fmt_us(r.get("p50_us")) if ok else "-",
                     fmt_us(r.get("p99_us")) if ok else "-",
                     fmt_num(r.get("errors")) if ok else "-"]
            if dr:
                cells += ["-"] * 8
            else:
                cells += [fmt_num(r.get("proxy_cpu_s_per_100k"), 3), fmt_num(idle, 1),
                          fmt_num(r.get("rss_load_max_mib"), 1),
                          fmt_ratio(r.get("rps_vs_direct")), fmt_ratio(r.get("rps_vs_haproxy")),
                          fmt_signed_us(r.get("added_p99_us")),
                          fmt_ratio(r.get("added_p99_vs_haproxy")),
                          fmt_ratio(r.get("cpu_vs_haproxy"))]
            cells += [fmt_num(r.get("noise_pct_cpu0"), 1), fmt_num(r.get("noise_pct_cpu1"), 1)]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    idle_rows = [(n, r) for n, r in d.get("rows", {}).items()
                 if r.get("idle_conns") and (not want or n in want)]
    if idle_rows:
        out.append("**RSS with idle keep-alive connections open**")
        out.append("")
        out.append("| row | connections | RSS idle MiB | RSS just before MiB | RSS with connections MiB "
                   "| KiB per connection | open at end |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for n, r in idle_rows:
            ic = r["idle_conns"]
            before = ic.get("rss_before_kib")
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                n, fmt_num(ic.get("opened")), fmt_num(r.get("idle_rss_mib"), 1),
                fmt_num(float(before) / 1024 if before is not None else None, 1),
                fmt_num(ic.get("rss_mib"), 1), fmt_num(ic.get("kib_per_conn"), 2),
                fmt_num(ic.get("open_at_end"))))
        out.append("")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ports")
    p.add_argument("n", type=int)
    for name in ("cpu", "rss"):
        p = sub.add_parser(name)
        p.add_argument("pid", type=int)
        if name == "cpu":
            p.add_argument("--with-children", action="store_true")
    sub.add_parser("procstat")
    p = sub.add_parser("busy")
    p.add_argument("seconds", type=float)
    p = sub.add_parser("emit")
    p.add_argument("rtype")
    p.add_argument("items", nargs="*")
    p = sub.add_parser("sample")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--stop-file")
    p.add_argument("--max-seconds", type=float, default=60)
    p.add_argument("--interval", type=float, default=0.2)
    p = sub.add_parser("record")
    p.add_argument("--row", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--kind", choices=("wrk", "openloop"), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--exit-code", type=int)
    p.add_argument("--cpu0")
    p.add_argument("--cpu1")
    p.add_argument("--up0")
    p.add_argument("--up1")
    p.add_argument("--me0")
    p.add_argument("--me1")
    p.add_argument("--load-cpu", default="cpu1")
    p.add_argument("--rss-file")
    p.add_argument("--stat0")
    p.add_argument("--stat1")
    p.add_argument("--clk-tck", type=int, default=100)
    p.add_argument("--round", type=int, default=0)
    p = sub.add_parser("markdown")
    p.add_argument("results")
    p.add_argument("--rows")
    p = sub.add_parser("report")
    p.add_argument("--jsonl", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--meta", action="append")
    a = ap.parse_args()

    if a.cmd == "ports":
        print(" ".join(str(x) for x in free_ports(a.n)))
    elif a.cmd == "cpu":
        print(self_and_reaped_ticks(a.pid) if a.with_children else cpu_ticks(a.pid))
    elif a.cmd == "rss":
        print(rss_kib(a.pid))
    elif a.cmd == "emit":
        emit(a.rtype, a.items)
    elif a.cmd == "busy":
        print(busy_pct(a.seconds))
    elif a.cmd == "procstat":
        print(json.dumps(procstat()))
    elif a.cmd == "sample":
        sample(a.pid, a.out, a.stop_file, a.max_seconds, a.interval)
    elif a.cmd == "record":
        record(a)
    elif a.cmd == "markdown":
        markdown(a.results, a.rows)
    elif a.cmd == "report":
        report(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
