#include "control/field_checks.h"

#include <arpa/inet.h>

#include <cstdio>
#include <regex>
#include <string>

namespace remora::control {
namespace {

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

bool isDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!isLowerAlnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

bool isDns1035Label(std::string_view s) {
  return isDnsLabel(s) && s.front() >= 'a' && s.front() <= 'z';
}

bool isDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!isDnsLabel(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

bool isIpLiteral(std::string_view s) {
  std::string text(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

void checkMetadata(const mesh::ObjectMeta& meta, NameRule rule, ObjectChecker& check) {
  if (meta.name().empty()) {
    check.error("metadata.name", "required");
  } else if (rule == NameRule::kDns1035Label && !isDns1035Label(meta.name())) {
    check.error("metadata.name", quote(meta.name()) +
                                     " is not a valid Service name (a DNS-1035 label: at most 63 "
                                     "of a-z, 0-9 and '-', starting with a letter, ending with a "
                                     "letter or digit)");
  } else if (rule == NameRule::kDnsSubdomain && !isDnsSubdomain(meta.name())) {
    check.error("metadata.name", quote(meta.name()) +
                                     " is not a valid name (a DNS-1123 subdomain: at most 253 of "
                                     "a-z, 0-9, '-' and '.', alphanumeric at both ends)");
  }
  checkNamespace(meta.namespace_(), "metadata.namespace", check);
}

bool checkServiceName(std::string_view name, std::string_view path, ObjectChecker& check) {
  if (name.empty()) {
    check.error(xds::joinPath(path, "name"), "required");
    return false;
  }
  if (!isDns1035Label(name)) {
    check.error(xds::joinPath(path, "name"), quote(name) + " is not a valid Service name");
    return false;
  }
  return true;
}

bool checkNamespace(std::string_view ns, std::string_view path, ObjectChecker& check) {
  if (!ns.empty() && !isDnsLabel(ns)) {
    check.error(path, quote(ns) + " is not a valid namespace (a DNS-1123 label)");
    return false;
  }
  return true;
}

bool checkPort(int64_t port, std::string_view path, ObjectChecker& check) {
  if (port < 1 || port > 65535) {
    check.error(path, "port " + std::to_string(port) + " is out of range (1..65535)");
    return false;
  }
  return true;
}

bool checkProtocol(std::string_view protocol, std::string_view path, ObjectChecker& check) {
  if (protocol.empty() || protocol == "TCP" || protocol == "UDP" || protocol == "SCTP") {
    return true;
  }
  check.error(path, "unknown protocol " + quote(protocol) + " (valid: TCP, UDP, SCTP)");
  return false;
}

bool checkPercent(double percent, std::string_view path, ObjectChecker& check) {
  if (!(percent >= 0 && percent <= 100)) {  // also catches nan
    char shown[32];
    std::snprintf(shown, sizeof(shown), "%g", percent);
    check.error(path, std::string(shown) + " is not a percentage (0..100)");
    return false;
  }
  return true;
}

bool checkStatus(int64_t status, int64_t lo, int64_t hi, std::string_view path,
                 ObjectChecker& check) {
  if (status < lo || status > hi) {
    check.error(path, "status " + std::to_string(status) + " is out of range (" +
                          std::to_string(lo) + ".." + std::to_string(hi) + ")");
    return false;
  }
  return true;
}

bool checkHeaderName(std::string_view name, std::string_view path, ObjectChecker& check) {
  static constexpr std::string_view kTokenSymbols = "!#$%&'*+-.^_`|~";
  bool ok = !name.empty();
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && kTokenSymbols.find(c) == std::string_view::npos) {
      ok = false;
    }
  }
  if (!ok) {
    check.error(path, name.empty() ? "a header name is required"
                                   : quote(name) + " is not a valid header name");
  }
  return ok;
}

bool checkRegex(std::string_view pattern, std::string_view path, ObjectChecker& check) {
  try {
    std::regex re{std::string(pattern), std::regex::ECMAScript};
    return true;
  } catch (const std::regex_error& e) {
    check.error(path, "invalid regular expression " + quote(pattern) + ": " + e.what());
    return false;
  }
}

bool checkPositive(bool present, const google::protobuf::Duration& d, std::string_view path,
                   ObjectChecker& check) {
  if (present && toNanos(d) <= 0) {
    check.error(path, "must be greater than 0");
    return false;
  }
  return true;
}

int64_t toNanos(const google::protobuf::Duration& d) {
  return d.seconds() * 1000000000 + d.nanos();
}

}  // namespace remora::control
