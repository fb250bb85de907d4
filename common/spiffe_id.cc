#include "common/spiffe_id.h"

namespace remora::common {

namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr size_t kMaxUri = 2048;
constexpr size_t kMaxTrustDomain = 255;
constexpr size_t kMaxName = 253;

bool lowerAlnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool validTrustDomain(std::string_view td) noexcept {
  if (td.empty() || td.size() > kMaxTrustDomain) {
    return false;
  }
  for (char c : td) {
    if (!lowerAlnum(c) && c != '.' && c != '-' && c != '_') {
      return false;
    }
  }
  return true;
}

// A Kubernetes namespace or service account name (DNS subdomain).
bool validKubeName(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxName || !lowerAlnum(name.front()) ||
      !lowerAlnum(name.back())) {
    return false;
  }
  for (char c : name) {
    if (!lowerAlnum(c) && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string SpiffeId::uri() const {
  std::string out;
  out.reserve(kScheme.size() + trust_domain.size() + ns.size() + service_account.size() + 8);
  out.append(kScheme)
      .append(trust_domain)
      .append("/ns/")
      .append(ns)
      .append("/sa/")
      .append(service_account);
  return out;
}

Status checkTrustDomain(std::string_view trust_domain) {
  if (!validTrustDomain(trust_domain)) {
    return Status::invalid("trust domain '" + std::string(trust_domain) +
                           "': lowercase letters, digits, '.', '-' and '_' only, 1 to 255 bytes");
  }
  return Status::ok();
}

Result<SpiffeId> makeSpiffeId(std::string_view trust_domain, std::string_view ns,
                              std::string_view service_account) {
  if (Status s = checkTrustDomain(trust_domain); !s.isOk()) {
    return s;
  }
  if (!validKubeName(ns)) {
    return Status::invalid("namespace '" + std::string(ns) +
                           "': not a Kubernetes name (lowercase letters, digits, '-' and '.')");
  }
  if (!validKubeName(service_account)) {
    return Status::invalid("service account '" + std::string(service_account) +
                           "': not a Kubernetes name (lowercase letters, digits, '-' and '.')");
  }
  return SpiffeId{std::string(trust_domain), std::string(ns), std::string(service_account)};
}

Result<SpiffeId> parseSpiffeId(std::string_view uri) {
  if (uri.size() > kMaxUri) {
    return Status::invalid("SPIFFE ID longer than 2048 bytes");
  }
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return Status::invalid("'" + std::string(uri) + "' is not a SPIFFE ID (spiffe://...)");
  }
  std::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return Status::invalid("SPIFFE ID '" + std::string(uri) + "' has no path (/ns/NS/sa/SA)");
  }
  const std::string_view td = rest.substr(0, slash);
  std::string_view path = rest.substr(slash);
  // "/ns/NS/sa/SA": exactly four segments.
  std::string_view seg[4];
  for (std::string_view& s : seg) {
    if (path.empty() || path.front() != '/') {
      return Status::invalid("SPIFFE ID '" + std::string(uri) + "': the path is not /ns/NS/sa/SA");
    }
    path.remove_prefix(1);
    const size_t next = path.find('/');
    s = path.substr(0, next);
    path = next == std::string_view::npos ? std::string_view() : path.substr(next);
  }
  if (!path.empty() || seg[0] != "ns" || seg[2] != "sa") {
    return Status::invalid("SPIFFE ID '" + std::string(uri) + "': the path is not /ns/NS/sa/SA");
  }
  auto id = makeSpiffeId(td, seg[1], seg[3]);
  if (!id.isOk()) {
    return Status::invalid("SPIFFE ID '" + std::string(uri) + "': " + id.status().message());
  }
  return id;
}

}  // namespace remora::common
