#include "control/cli/stat_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string_view>
#include <thread>
#include <utility>

#include "control/cli/api_client.h"
#include "control/cli/args.h"
#include "control/cli/format.h"
#include "control/cli/table.h"
#include "xds/duration.h"

namespace remora::control::cli {

namespace {

constexpr auto kDefaultWindow = std::chrono::seconds(2);
constexpr auto kMaxWindow = std::chrono::hours(1);
// /v1/stats scrapes every proxy before it answers: give it more time than a plain GET.
constexpr auto kStatsTimeout = std::chrono::seconds(15);
// Failing grpc-statuses named in a row of the GRPC ERRORS column.
constexpr size_t kTopGrpcFailures = 3;

common::Result<v1::StatsResponse> sample(const std::string& address) {
  auto body = httpGet(address, "/v1/stats", "the control plane", kStatsTimeout);
  if (!body.isOk()) {
    return body.status();
  }
  return parseStats(body.value());
}

// "14 UNAVAILABLE: 3, 5 NOT_FOUND: 1, +2 more"; "-" without failures.
std::string grpcFailuresCell(const std::vector<GrpcStatusCount>& failures) {
  if (failures.empty()) {
    return "-";
  }
  std::string out;
  for (size_t i = 0; i < failures.size() && i < kTopGrpcFailures; ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(failures[i].code);
    if (std::string_view name = grpcStatusName(failures[i].code); !name.empty()) {
      out += " " + std::string(name);
    }
    out += ": " + std::to_string(failures[i].calls);
  }
  if (failures.size() > kTopGrpcFailures) {
    out += ", +" + std::to_string(failures.size() - kTopGrpcFailures) + " more";
  }
  return out;
}

}  // namespace

std::string renderStat(const std::vector<ServiceWindow>& windows, double window_seconds,
                       const v1::StatsResponse& latest) {
  std::string out;
  if (windows.empty()) {
    out = "no services with traffic\n";
  } else {
    const bool grpc =
        std::any_of(windows.begin(), windows.end(), [](const ServiceWindow& w) { return w.grpc; });
    std::vector<std::string> headers = {"SERVICE", "RPS", "SUCCESS", "P50", "P99", "REQUESTS"};
    if (grpc) {
      headers.push_back("GRPC ERRORS");
    }
    Table table(std::move(headers));
    for (size_t c = 1; c < 6; ++c) {
      table.setAlign(c, Table::Align::kRight);
    }
    for (const ServiceWindow& w : windows) {
      std::vector<std::string> row = {
          w.namespace_.empty() ? w.service : w.service + "." + w.namespace_,
          formatRate(w.rps),
          formatPercent(w.success),
          formatMs(w.p50_ms),
          formatMs(w.p99_ms),
          std::to_string(w.requests)};
      if (grpc) {
        row.push_back(grpcFailuresCell(w.grpc_failures));
      }
      table.addRow(std::move(row));
    }
    out = table.render();
  }
  char footer[128];
  if (window_seconds >= 1.0) {
    std::snprintf(footer, sizeof(footer), "\nwindow %.1fs", window_seconds);
  } else {
    std::snprintf(footer, sizeof(footer), "\nwindow %.0fms", window_seconds * 1000.0);
  }
  out += footer;
  out += ", " + std::to_string(latest.proxies_scraped()) + " proxies scraped";
  if (latest.proxies_failed() > 0) {
    out += ", " + std::to_string(latest.proxies_failed()) + " failed";
  }
  out += "\n";
  return out;
}

int runStat(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  auto parsed = parseCommandArgs("stat", args, {"--control", "--window"});
  if (!parsed.isOk()) {
    return usageError(err, parsed.status().message());
  }
  if (!parsed.value().positionals.empty()) {
    return usageError(err,
                      "stat takes no arguments, got '" + parsed.value().positionals.front() + "'");
  }
  auto address = controlAddress(parsed.value());
  if (!address.isOk()) {
    return usageError(err, "stat: " + address.status().message());
  }
  std::chrono::nanoseconds window = kDefaultWindow;
  if (auto it = parsed.value().flags.find("--window"); it != parsed.value().flags.end()) {
    auto d = xds::parseDuration(it->second);
    if (!d.isOk() || d.value() < std::chrono::milliseconds(1) || d.value() > kMaxWindow) {
      return usageError(err,
                        "stat: --window wants a duration from 1ms to 1h such as 2s or "
                        "500ms, got '" +
                            it->second + "'");
    }
    window = d.value();
  }

  auto before = sample(address.value());
  if (!before.isOk()) {
    return commandFailure(err, "stat", before.status().message());
  }
  std::this_thread::sleep_for(window);
  auto after = sample(address.value());
  if (!after.isOk()) {
    return commandFailure(err, "stat", after.status().message());
  }
  const double requested = std::chrono::duration<double>(window).count();
  const double seconds = windowSeconds(before.value(), after.value(), requested);
  std::fputs(
      renderStat(serviceWindows(before.value(), after.value(), seconds), seconds, after.value())
          .c_str(),
      out);
  return kExitOk;
}

}  // namespace remora::control::cli
