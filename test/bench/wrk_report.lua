-- wrk done() hook for test/bench/run.sh: after wrk's normal --latency report,
-- print one machine-readable line (prefix WRK_JSON) with the same numbers, so
-- run.sh does not have to parse wrk's unit-suffixed text.  Latencies are in
-- microseconds, as wrk records them.  errors.status counts non-2xx/3xx replies.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,'
      .. '"err_connect":%.0f,"err_read":%.0f,"err_write":%.0f,"err_status":%.0f,"err_timeout":%.0f,'
      .. '"p50_us":%.0f,"p75_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"p999_us":%.0f,'
      .. '"max_us":%.0f,"mean_us":%.1f,"stdev_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, latency.stdev))
end
