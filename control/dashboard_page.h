#pragma once
// The dashboard at GET / on the control plane's API port: one self-contained HTML page (no build
// step, no outside assets) whose script polls /v1/services, /v1/proxies, /v1/status and
// /v1/stats every two seconds and shows services, proxies with their sync state, config errors
// and request rates (computed from the difference between two /v1/stats samples).

#include <string_view>

namespace remora::control {

std::string_view dashboardPage() noexcept;

}  // namespace remora::control
