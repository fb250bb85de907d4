#include "control/dashboard_page.h"

namespace remora::control {

namespace {
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>remora mesh</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; }
  h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
  th { background: #f5f5f5; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .SYNCED { color: #18794e; } .STALE { color: #ad5700; } .NACKED { color: #cd2b31; font-weight: 600; }
  .muted { color: #777; } .err { color: #cd2b31; font-family: monospace; white-space: pre-wrap; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>remora mesh</h1>
<div id="summary" class="muted">loading…</div>
<h2>Services</h2>
<table><thead><tr><th>service</th><th>endpoints</th><th>proxies</th><th>routes</th><th>policy</th>
<th>rps</th><th>success</th><th>p50 ms</th><th>p99 ms</th></tr></thead><tbody id="services"></tbody></table>
<h2>Proxies</h2>
<table><thead><tr><th>node</th><th>service</th><th>status</th><th>clusters</th><th>endpoints</th>
<th>routes</th><th>listeners</th><th>admin</th><th>connected</th></tr></thead><tbody id="proxies"></tbody></table>
<h2>Config problems</h2>
<div id="errors" class="muted">none</div>
<script>
"use strict";
let previous = null;
const esc = s => String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c]));
async function get(path) { const r = await fetch(path); if (!r.ok) throw new Error(path + ": " + r.status); return r.json(); }
function quantile(bounds, buckets, q) {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let rank = q * total, seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    if (seen + buckets[i] >= rank && buckets[i] > 0) {
      const lo = i === 0 ? 0 : bounds[i - 1], hi = i < bounds.length ? bounds[i] : bounds[bounds.length - 1];
      return lo + (hi - lo) * (rank - seen) / buckets[i];
    }
    seen += buckets[i];
  }
  return bounds[bounds.length - 1];
}
function rates(stats) {
  const out = {};
  if (!previous) return out;
  const dt = (stats.collected_unix_ms - previous.collected_unix_ms) / 1000;
  const before = {};
  for (const s of previous.services) before[s.namespace + "/" + s.service] = s;
  for (const s of stats.services) {
    const k = s.namespace + "/" + s.service, b = before[k];
    if (!b || dt <= 0) continue;
    let req = s.requests - b.requests, err = s.errors - b.errors;
    // gRPC calls by grpc-status: a Service with calls is measured by them (0 OK is success).
    const g = s.grpc_statuses || {}, gb = b.grpc_statuses || {};
    let calls = 0, ok = 0;
    for (const [code, n] of Object.entries(g)) {
      const d = Math.max(0, n - (gb[code] || 0));
      calls += d;
      if (code === "0") ok = d;
    }
    if (calls > 0) { req = calls; err = calls - ok; }
    const buckets = s.latency_buckets.map((v, i) => v - (b.latency_buckets[i] || 0));
    out[k] = { rps: req / dt, success: req > 0 ? 100 * (1 - err / req) : null,
               p50: quantile(stats.latency_bounds_ms, buckets, 0.5), p99: quantile(stats.latency_bounds_ms, buckets, 0.99) };
  }
  return out;
}
const fmt = (v, d) => v === null || v === undefined ? "–" : v.toFixed(d);
const short = v => v ? esc(v.slice(0, 8)) : "–";
async function refresh() {
  try {
    const [services, proxies, status, stats] = await Promise.all(
      [get("/v1/services"), get("/v1/proxies"), get("/v1/status"), get("/v1/stats")]);
    const r = rates(stats); previous = stats;
    document.getElementById("summary").textContent =
      `${services.services.length} services · ${proxies.proxies.length} proxies · config ${status.config_version.slice(0, 8)} · ` +
      `push #${status.pushes} at ${status.last_push} (${status.last_push_duration_ms.toFixed(1)} ms)`;
    document.getElementById("services").innerHTML = services.services.map(s => {
      const x = r[s.namespace + "/" + s.name] || {};
      return `<tr><td>${esc(s.name)}.${esc(s.namespace)}</td><td>${s.endpoints.map(esc).join("<br>") || "<span class=muted>none</span>"}</td>
        <td class=num>${s.proxies}</td><td>${s.routes.map(esc).join("<br>")}</td><td>${esc(s.policy)}</td>
        <td class=num>${fmt(x.rps, 1)}</td><td class=num>${x.success === null || x.success === undefined ? "–" : x.success.toFixed(1) + "%"}</td>
        <td class=num>${fmt(x.p50, 1)}</td><td class=num>${fmt(x.p99, 1)}</td></tr>`;
    }).join("");
    document.getElementById("proxies").innerHTML = proxies.proxies.map(p => {
      const t = k => { const v = p.types[k] || {}; return `<td class="${esc(v.status)}" title="${esc(v.error || "")}">${esc(v.status)} <code>${short(v.acked)}</code></td>`; };
      return `<tr><td>${esc(p.node_id)}</td><td>${esc(p.service)}.${esc(p.namespace)}</td><td class="${esc(p.status)}">${esc(p.status)}</td>
        ${t("clusters")}${t("endpoints")}${t("routes")}${t("listeners")}<td><code>${esc(p.admin)}</code></td><td>${p.connected_seconds}s</td></tr>`;
    }).join("");
    const problems = [];
    for (const s of status.sources) for (const e of s.errors) problems.push(s.name + ": " + e);
    for (const e of status.translation_errors) problems.push(e);
    for (const p of proxies.proxies) for (const [k, v] of Object.entries(p.types)) if (v.status === "NACKED") problems.push(`${p.node_id} rejected ${k}: ${v.error}`);
    const el = document.getElementById("errors");
    el.className = problems.length ? "err" : "muted";
    el.textContent = problems.length ? problems.join("\n") : "none";
  } catch (e) {
    document.getElementById("summary").textContent = "cannot reach the control plane: " + e.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";
}  // namespace

std::string_view dashboardPage() noexcept { return kPage; }

}  // namespace remora::control
