#include "control/http_route_validation.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>

#include "control/field_checks.h"

namespace remora::control {
namespace {

namespace pb = google::protobuf;

constexpr int32_t kMaxWeight = 1000000;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// "first at line N" for an earlier list element at `path`.
std::string firstAt(const ObjectChecker& check, const std::string& path) {
  return " (first at line " + std::to_string(check.lineOf(path)) + ")";
}

bool isHostname(std::string_view s, bool allow_wildcard) {
  if (allow_wildcard && s.substr(0, 2) == "*.") {
    s.remove_prefix(2);
  }
  return isDnsSubdomain(s) && !isIpLiteral(s);
}

void checkParentRefs(const mesh::HTTPRouteSpec& spec, ObjectChecker& check) {
  if (spec.parent_refs_size() == 0) {
    check.error("spec.parentRefs",
                "at least one parentRef is required: remora attaches routes to Services "
                "(kind: Service, the Gateway API mesh convention)");
  }
  for (int i = 0; i < spec.parent_refs_size(); ++i) {
    const std::string path = itemPath("spec", "parentRefs", i);
    const mesh::ParentReference& p = spec.parent_refs(i);
    if (!p.has_kind()) {
      check.error(path,
                  "kind is unset, which means Gateway: remora attaches routes to "
                  "Services (write kind: Service)");
    } else if (p.kind() != "Service") {
      check.error(path + ".kind", "kind " + quote(p.kind()) +
                                      " is not supported: remora attaches routes to Services "
                                      "(the Gateway API mesh convention)");
    }
    if (p.has_group() && !isCoreGroup(p.group())) {
      check.error(path + ".group",
                  "group " + quote(p.group()) + " is not the core group of a Service (\"\")");
    }
    checkServiceName(p.name(), path, check);
    checkNamespace(p.namespace_(), path + ".namespace", check);
    if (p.has_port()) {
      checkPort(p.port(), path + ".port", check);
    }
    if (!p.section_name().empty() && !isDnsLabel(p.section_name())) {
      check.error(path + ".sectionName",
                  quote(p.section_name()) + " is not a port name (a DNS-1123 label)");
    }
  }
}

// Header (case-insensitive) or query parameter (case-sensitive) matches of one match.
template <typename Match>
void checkNamedMatches(const pb::RepeatedPtrField<Match>& matches, std::string_view path,
                       std::string_view field, bool case_insensitive, ObjectChecker& check) {
  std::map<std::string, size_t> names;
  for (int k = 0; k < matches.size(); ++k) {
    const std::string item = itemPath(path, field, k);
    const Match& m = matches[k];
    if (m.type() == "RegularExpression") {
      checkRegex(m.value(), item + ".value", check);
    } else if (!m.type().empty() && m.type() != "Exact") {
      check.error(item + ".type",
                  "unknown match type " + quote(m.type()) + " (valid: Exact, RegularExpression)");
    }
    if (!checkHeaderName(m.name(), item + ".name", check)) {
      continue;
    }
    auto [first, fresh] = names.emplace(case_insensitive ? lower(m.name()) : m.name(), k);
    if (!fresh) {
      check.error(item + ".name", quote(m.name()) + " is matched twice" +
                                      firstAt(check, itemPath(path, field, first->second)));
    }
  }
}

// Returns the path match type of `m` with the default applied.
std::string checkMatch(const mesh::HTTPRouteMatch& m, const std::string& path,
                       ObjectChecker& check) {
  const std::string type = m.path().type().empty() ? "PathPrefix" : m.path().type();
  const std::string value = m.path().has_value() ? m.path().value() : "/";
  if (type == "Exact" || type == "PathPrefix") {
    if (value.empty() || value.front() != '/') {
      check.error(path + ".path.value", "a path must start with '/', got " + quote(value));
    }
  } else if (type == "RegularExpression") {
    checkRegex(value, path + ".path.value", check);
  } else {
    check.error(path + ".path.type", "unknown path match type " + quote(type) +
                                         " (valid: Exact, PathPrefix, RegularExpression)");
  }
  checkNamedMatches(m.headers(), path, "headers", /*case_insensitive=*/true, check);
  checkNamedMatches(m.query_params(), path, "queryParams", /*case_insensitive=*/false, check);
  static const std::set<std::string, std::less<>> kMethods = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  if (!m.method().empty() && kMethods.count(m.method()) == 0) {
    check.error(path + ".method",
                "unknown method " + quote(m.method()) +
                    " (valid: GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH)");
  }
  return type;
}

void checkHeaderFilter(const mesh::HTTPHeaderFilter& f, const std::string& path,
                       ObjectChecker& check) {
  auto unique = [&](std::string_view list, const std::string& name, size_t index,
                    std::map<std::string, size_t>* seen) {
    const std::string item = itemPath(path, list, index);
    auto [first, fresh] = seen->emplace(lower(name), index);
    if (!fresh) {
      check.error(item, quote(name) + " is listed twice" +
                            firstAt(check, itemPath(path, list, first->second)));
    }
  };
  for (std::string_view list : {"set", "add"}) {
    const auto& headers = list == "set" ? f.set() : f.add();
    std::map<std::string, size_t> seen;
    for (int k = 0; k < headers.size(); ++k) {
      if (checkHeaderName(headers[k].name(), itemPath(path, list, k) + ".name", check)) {
        unique(list, headers[k].name(), k, &seen);
      }
    }
  }
  std::map<std::string, size_t> removed;
  for (int k = 0; k < f.remove_size(); ++k) {
    if (checkHeaderName(f.remove(k), itemPath(path, "remove", k), check)) {
      unique("remove", f.remove(k), k, &removed);
    }
  }
}

void checkUrlRewrite(const mesh::HTTPURLRewriteFilter& f, const std::string& path,
                     const std::vector<std::string>& match_types, ObjectChecker& check) {
  if (f.hostname().empty() && !f.has_path()) {
    check.error(path, "set hostname or path");
  }
  if (!f.hostname().empty() && !isHostname(f.hostname(), /*allow_wildcard=*/false)) {
    check.error(path + ".hostname", quote(f.hostname()) + " is not a host name");
  }
  if (!f.has_path()) {
    return;
  }
  const std::string p = path + ".path";
  const mesh::HTTPPathModifier& m = f.path();
  const bool prefix = m.type() == "ReplacePrefixMatch";
  if (prefix || m.type() == "ReplaceFullPath") {
    // The two types are mirror images: each has its own value field and needs its own kind
    // of path match, and the other type's value must not be set.
    const bool has = prefix ? m.has_replace_prefix_match() : m.has_replace_full_path();
    const std::string& value = prefix ? m.replace_prefix_match() : m.replace_full_path();
    const std::string_view field = prefix ? "replacePrefixMatch" : "replaceFullPath";
    const std::string_view other = prefix ? "replaceFullPath" : "replacePrefixMatch";
    if (!has) {
      check.error(p, std::string(field) + " is required for type " + m.type());
    } else if (value.empty() || value.front() != '/') {
      check.error(xds::joinPath(p, field), "a path must start with '/', got " + quote(value));
    }
    if (prefix ? m.has_replace_full_path() : m.has_replace_prefix_match()) {
      check.error(xds::joinPath(p, other), "set but type is " + m.type());
    }
    const std::string_view wanted = prefix ? "PathPrefix" : "Exact";
    if (!std::all_of(match_types.begin(), match_types.end(),
                     [&](const std::string& t) { return t == wanted; })) {
      check.error(p + ".type",
                  prefix ? "ReplacePrefixMatch needs every match of the rule to be a PathPrefix "
                           "path match"
                         : "ReplaceFullPath can be mapped only when every match of the rule is "
                           "an Exact path match (the sidecar rewrites a matched prefix)");
    }
  } else if (m.type().empty()) {
    check.error(p + ".type", "required (ReplacePrefixMatch or ReplaceFullPath)");
  } else {
    check.error(p + ".type", "unknown path modifier type " + quote(m.type()) +
                                 " (valid: ReplacePrefixMatch, ReplaceFullPath)");
  }
}

void checkFilters(const mesh::HTTPRouteRule& rule, const std::string& rule_path,
                  const std::vector<std::string>& match_types, ObjectChecker& check) {
  static const std::set<std::string, std::less<>> kUnsupported = {
      "RequestRedirect", "RequestMirror", "ExtensionRef", "CORS"};
  std::map<std::string, size_t> seen;
  for (int k = 0; k < rule.filters_size(); ++k) {
    const std::string path = itemPath(rule_path, "filters", k);
    const mesh::HTTPRouteFilter& f = rule.filters(k);
    // Which config each type carries; a config of another type is an error.
    const bool request = f.type() == "RequestHeaderModifier";
    const bool response = f.type() == "ResponseHeaderModifier";
    const bool rewrite = f.type() == "URLRewrite";
    if (f.type().empty()) {
      check.error(path + ".type",
                  "required (RequestHeaderModifier, ResponseHeaderModifier or URLRewrite)");
    } else if (kUnsupported.count(f.type()) != 0) {
      check.error(path + ".type", "filter type " + f.type() +
                                      " is not supported by remora (supported: "
                                      "RequestHeaderModifier, ResponseHeaderModifier, URLRewrite)");
    } else if (!request && !response && !rewrite) {
      check.error(path + ".type", "unknown filter type " + quote(f.type()) +
                                      " (supported: RequestHeaderModifier, "
                                      "ResponseHeaderModifier, URLRewrite)");
    } else {
      auto [first, fresh] = seen.emplace(f.type(), k);
      if (!fresh) {
        check.error(path + ".type",
                    f.type() + " is given twice in one rule" +
                        firstAt(check, itemPath(rule_path, "filters", first->second)));
      }
    }
    auto config = [&](bool has, bool wanted, std::string_view field) {
      if (has && !wanted) {
        check.error(xds::joinPath(path, field), "set but type is " + quote(f.type()));
      } else if (!has && wanted) {
        check.error(path, std::string(field) + " is required for type " + f.type());
      }
      return has && wanted;
    };
    if (config(f.has_request_header_modifier(), request, "requestHeaderModifier")) {
      checkHeaderFilter(f.request_header_modifier(), path + ".requestHeaderModifier", check);
    }
    if (config(f.has_response_header_modifier(), response, "responseHeaderModifier")) {
      checkHeaderFilter(f.response_header_modifier(), path + ".responseHeaderModifier", check);
    }
    if (config(f.has_url_rewrite(), rewrite, "urlRewrite")) {
      checkUrlRewrite(f.url_rewrite(), path + ".urlRewrite", match_types, check);
    }
  }
}

void checkBackendRefs(const mesh::HTTPRouteRule& rule, const std::string& rule_path,
                      ObjectChecker& check) {
  int zero_weights = 0;
  for (int k = 0; k < rule.backend_refs_size(); ++k) {
    const std::string path = itemPath(rule_path, "backendRefs", k);
    const mesh::HTTPBackendRef& b = rule.backend_refs(k);
    if (!b.kind().empty() && b.kind() != "Service") {
      check.error(path + ".kind",
                  "kind " + quote(b.kind()) + " is not supported: backends are Services");
    }
    if (!isCoreGroup(b.group())) {
      check.error(path + ".group",
                  "group " + quote(b.group()) + " is not the core group of a Service (\"\")");
    }
    checkServiceName(b.name(), path, check);
    checkNamespace(b.namespace_(), path + ".namespace", check);
    if (!b.has_port()) {
      check.error(path, "port is required for a Service backend");
    } else {
      checkPort(b.port(), path + ".port", check);
    }
    const int32_t weight = b.has_weight() ? b.weight() : 1;
    if (weight < 0 || weight > kMaxWeight) {
      check.error(path + ".weight", "weight " + std::to_string(weight) + " is out of range (0.." +
                                        std::to_string(kMaxWeight) + ")");
    }
    zero_weights += weight == 0 ? 1 : 0;
  }
  if (rule.backend_refs_size() > 0 && zero_weights == rule.backend_refs_size()) {
    check.error(rule_path + ".backendRefs",
                "every backendRef has weight 0, so no request could be sent anywhere");
  }
}

void checkTimeoutsAndRetry(const mesh::HTTPRouteRule& rule, const std::string& rule_path,
                           ObjectChecker& check) {
  const mesh::HTTPRouteTimeouts& t = rule.timeouts();
  const int64_t request = toNanos(t.request());
  if (t.has_request() && t.has_backend_request() && request > 0 &&
      toNanos(t.backend_request()) > request) {
    check.error(rule_path + ".timeouts.backendRequest",
                "longer than timeouts.request (each try must fit in the whole request)");
  }
  const mesh::HTTPRouteRetry& r = rule.retry();
  for (int k = 0; k < r.codes_size(); ++k) {
    checkStatus(r.codes(k), 400, 599, itemPath(rule_path + ".retry", "codes", k), check);
  }
  if (r.has_attempts() && r.attempts() < 0) {
    check.error(rule_path + ".retry.attempts", "must be 0 or more");
  }
}

}  // namespace

void validateHttpRoute(const mesh::HTTPRoute& route, ObjectChecker& check) {
  checkMetadata(route.metadata(), NameRule::kDnsSubdomain, check);
  const mesh::HTTPRouteSpec& spec = route.spec();
  checkParentRefs(spec, check);
  for (int i = 0; i < spec.hostnames_size(); ++i) {
    if (!isHostname(spec.hostnames(i), /*allow_wildcard=*/true)) {
      check.error(itemPath("spec", "hostnames", i),
                  quote(spec.hostnames(i)) +
                      " is not a host name (a DNS name, optionally "
                      "starting with \"*.\"; no IP addresses)");
    }
  }
  for (int i = 0; i < spec.rules_size(); ++i) {
    const std::string path = itemPath("spec", "rules", i);
    const mesh::HTTPRouteRule& rule = spec.rules(i);
    if (!rule.name().empty() && !isDnsLabel(rule.name())) {
      check.error(path + ".name", quote(rule.name()) +
                                      " is not a valid rule name (a DNS-1123 "
                                      "label)");
    }
    std::vector<std::string> match_types;
    for (int j = 0; j < rule.matches_size(); ++j) {
      match_types.push_back(checkMatch(rule.matches(j), itemPath(path, "matches", j), check));
    }
    if (match_types.empty()) {
      match_types.push_back("PathPrefix");  // no matches: PathPrefix "/"
    }
    checkFilters(rule, path, match_types, check);
    checkBackendRefs(rule, path, check);
    checkTimeoutsAndRetry(rule, path, check);
  }
}

}  // namespace remora::control
