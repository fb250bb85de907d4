#include "sidecar/access_log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace remora::sidecar {

namespace {
std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> l;
  return l;
}
}  // namespace

void initAccessLog() {
  if (logger()) {
    return;
  }
  auto l = std::make_shared<spdlog::logger>("access",
                                            std::make_shared<spdlog::sinks::stdout_sink_mt>());
  l->set_pattern("[%Y-%m-%dT%H:%M:%S.%eZ] %v", spdlog::pattern_time_type::utc);
  l->set_level(spdlog::level::info);
  // Lines are flushed once a second rather than one write(2) per request.
  l->flush_on(spdlog::level::warn);
  logger() = l;
  spdlog::register_logger(l);
  spdlog::flush_every(std::chrono::seconds(1));
}

void writeAccessLog(const filters::StreamInfo& i, bool http10) {
  auto& l = logger();
  if (!l) {
    return;
  }
  std::string_view reason = filters::reasonName(i.reason);
  l->info("\"{} {} {}\" {} {} {} {} {:.3f}ms {:.3f}ms \"{}\" route={} cluster={} upstream={} "
          "attempts={} id={} listener={}",
          i.method, i.path, http10 ? "HTTP/1.0" : "HTTP/1.1", i.status,
          reason.empty() ? "-" : reason, i.bytes_received, i.bytes_sent,
          static_cast<double>(i.duration_us) / 1000.0, static_cast<double>(i.upstream_us) / 1000.0,
          i.authority, i.route.empty() ? "-" : i.route, i.cluster.empty() ? "-" : i.cluster,
          i.attempts.empty() ? "-" : i.attempts.back().endpoint, i.attempts.size(),
          i.request_id.empty() ? "-" : i.request_id, i.listener);
}

}  // namespace remora::sidecar
