#include "sidecar/route_table.h"

#include <algorithm>

namespace remora::sidecar {

namespace {
std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
  }
  return out;
}

// Value of query parameter `name` in "a=1&b=2" (no decoding); nullopt when absent.
std::optional<std::string_view> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    if (k == name) {
      return eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}
}  // namespace

bool StringMatch::matches(std::string_view v) const {
  switch (kind) {
    case Kind::kExact:
      return v == value;
    case Kind::kPrefix:
      return v.substr(0, value.size()) == value;
    case Kind::kRegex:
      return regex && std::regex_match(v.begin(), v.end(), *regex);
    case Kind::kPresent:
      return true;
  }
  return false;
}

size_t RouteTable::addVirtualHost(VirtualHost vh, const std::vector<std::string>& domains) {
  size_t idx = vhosts_.size();
  vhosts_.push_back(std::move(vh));
  for (const std::string& d : domains) {
    std::string l = lowercase(d);
    if (l == "*") {
      if (!any_) {
        any_ = idx;
      }
    } else if (l.size() > 1 && l[0] == '*') {
      suffix_.emplace_back(l.substr(1), idx);
    } else if (l.size() > 1 && l.back() == '*') {
      prefix_.emplace_back(l.substr(0, l.size() - 1), idx);
    } else {
      exact_.emplace(l, idx);
    }
  }
  auto longest_first = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
  std::stable_sort(suffix_.begin(), suffix_.end(), longest_first);
  std::stable_sort(prefix_.begin(), prefix_.end(), longest_first);
  return idx;
}

const VirtualHost* RouteTable::findVirtualHost(std::string_view authority) const {
  std::string host = lowercase(authority);
  if (!exact_.empty()) {
    auto it = exact_.find(host);
    if (it != exact_.end()) {
      return &vhosts_[it->second];
    }
  }
  // Without the port ("orders:8080" -> "orders"; "[::1]:80" -> "[::1]").
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    host.resize(colon);
    auto it = exact_.find(host);
    if (it != exact_.end()) {
      return &vhosts_[it->second];
    }
  }
  for (const auto& [suffix, idx] : suffix_) {
    if (host.size() > suffix.size() &&
        host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return &vhosts_[idx];
    }
  }
  for (const auto& [prefix, idx] : prefix_) {
    if (host.size() > prefix.size() && host.compare(0, prefix.size(), prefix) == 0) {
      return &vhosts_[idx];
    }
  }
  return any_ ? &vhosts_[*any_] : nullptr;
}

bool routeMatches(const RouteEntry& r, const RouteRequest& req) {
  std::string_view path = req.path;
  std::string_view query;
  size_t q = path.find('?');
  if (q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  switch (r.path_kind) {
    case RouteEntry::PathKind::kPrefix:
      if (path.substr(0, r.path.size()) != r.path) {
        return false;
      }
      break;
    case RouteEntry::PathKind::kExact:
      if (path != r.path) {
        return false;
      }
      break;
    case RouteEntry::PathKind::kRegex:
      if (!r.path_regex || !std::regex_match(path.begin(), path.end(), *r.path_regex)) {
        return false;
      }
      break;
  }
  if (!r.methods.empty() &&
      std::find(r.methods.begin(), r.methods.end(), req.method) == r.methods.end()) {
    return false;
  }
  for (const HeaderCondition& h : r.headers) {
    bool present = req.headers != nullptr && req.headers->has(h.name);
    bool ok = present && h.match.matches(req.headers->get(h.name));
    if (ok == h.invert) {
      return false;
    }
  }
  for (const QueryCondition& c : r.query) {
    auto v = queryParam(query, c.name);
    if (!v || !c.match.matches(*v)) {
      return false;
    }
  }
  return true;
}

const RouteEntry* RouteTable::match(const RouteRequest& req) const {
  const VirtualHost* vh = findVirtualHost(req.authority);
  if (vh == nullptr) {
    return nullptr;
  }
  for (const RouteEntry& r : vh->routes) {
    if (routeMatches(r, req)) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace remora::sidecar
