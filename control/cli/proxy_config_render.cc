#include "control/cli/proxy_config_render.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <vector>

#include "control/cli/api_client.h"
#include "control/cli/format.h"
#include "control/cli/json_value.h"
#include "control/cli/table.h"
#include "remora/config/v1/route.pb.h"

namespace remora::control::cli {

using google::protobuf::Value;

namespace {

constexpr size_t kMaxDomains = 3;
constexpr size_t kMaxDomainsWidth = 60;

std::optional<double> share(double good, double total) {
  if (total <= 0) {
    return std::nullopt;
  }
  return good / total;
}

std::string wholeNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", v);
  return buf;
}

std::string healthCell(const Value& endpoint) {
  std::string health = text(member(&endpoint, "health"));
  if (auto ms = number(member(&endpoint, "ejected_for_ms")); ms && health == "ejected") {
    health += " " + formatAge(static_cast<uint64_t>(std::ceil(*ms / 1000.0)));
  }
  return health;
}

// --- routes --------------------------------------------------------------------------------

// Every object with a "virtual_hosts" array, depth first, in document order.
void collectRouteConfigs(const Value& v, std::vector<const Value*>& out) {
  if (v.has_list_value()) {
    for (const Value& e : v.list_value().values()) {
      collectRouteConfigs(e, out);
    }
    return;
  }
  if (!v.has_struct_value()) {
    return;
  }
  const Value* hosts = member(&v, "virtual_hosts");
  if (hosts == nullptr) {
    hosts = member(&v, "virtualHosts");
  }
  if (hosts != nullptr && hosts->has_list_value()) {
    out.push_back(&v);
    return;
  }
  // Struct fields are a map without order: visit them sorted so the output is stable.
  std::set<std::string> keys;
  for (const auto& [key, unused] : v.struct_value().fields()) {
    keys.insert(key);
  }
  for (const std::string& key : keys) {
    collectRouteConfigs(v.struct_value().fields().at(key), out);
  }
}

std::string headerCondition(const config::v1::HeaderMatcher& h) {
  std::string s = h.invert() ? "!" : "";
  s += h.name();
  switch (h.match_case()) {
    case config::v1::HeaderMatcher::kExact:
      return s + "=" + h.exact();
    case config::v1::HeaderMatcher::kPrefix:
      return s + "=" + h.prefix() + "*";
    case config::v1::HeaderMatcher::kRegex:
      return s + "~=" + h.regex();
    default:
      return s;
  }
}

std::string queryCondition(const config::v1::QueryParamMatcher& q) {
  const std::string s = "?" + q.name();
  switch (q.match_case()) {
    case config::v1::QueryParamMatcher::kExact:
      return s + "=" + q.exact();
    case config::v1::QueryParamMatcher::kRegex:
      return s + "~=" + q.regex();
    default:
      return s;
  }
}

std::string matchCell(const config::v1::RouteMatch& m) {
  std::string s;
  for (int i = 0; i < m.methods_size(); ++i) {
    s += (i > 0 ? "," : "") + m.methods(i);
  }
  if (!s.empty()) {
    s += " ";
  }
  switch (m.path_specifier_case()) {
    case config::v1::RouteMatch::kPrefix:
      s += m.prefix() + "*";
      break;
    case config::v1::RouteMatch::kPath:
      s += m.path();
      break;
    case config::v1::RouteMatch::kRegex:
      s += "regex:" + m.regex();
      break;
    default:
      s += "/*";
  }
  for (const auto& h : m.headers()) {
    s += " " + headerCondition(h);
  }
  for (const auto& q : m.query_params()) {
    s += " " + queryCondition(q);
  }
  return s;
}

std::string clustersCell(const config::v1::RouteAction& action) {
  if (action.weighted_clusters_size() == 0) {
    return action.cluster().empty() ? "-" : action.cluster();
  }
  double sum = 0;
  for (const auto& w : action.weighted_clusters()) {
    sum += w.weight();
  }
  std::string s;
  for (const auto& w : action.weighted_clusters()) {
    if (!s.empty()) {
      s += ", ";
    }
    char pct[32];
    if (sum > 0) {
      std::snprintf(pct, sizeof(pct), " %.0f%%", 100.0 * w.weight() / sum);
    } else {
      std::snprintf(pct, sizeof(pct), " 0%%");
    }
    s += w.cluster() + pct;
  }
  return s;
}

std::string domainsCell(const config::v1::VirtualHost& vh) {
  std::string s;
  const size_t shown = std::min<size_t>(static_cast<size_t>(vh.domains_size()), kMaxDomains);
  for (size_t i = 0; i < shown; ++i) {
    s += (i > 0 ? "," : "") + vh.domains(static_cast<int>(i));
  }
  if (static_cast<size_t>(vh.domains_size()) > shown) {
    s += " +" + std::to_string(static_cast<size_t>(vh.domains_size()) - shown) + " more";
  }
  return s.empty() ? "-" : truncateText(s, kMaxDomainsWidth);
}

}  // namespace

std::string renderClusters(const Value& clusters) {
  const auto& list = elements(member(&clusters, "clusters"));
  if (list.values_size() == 0) {
    return "no clusters\n";
  }
  Table summary({"CLUSTER", "TYPE", "LB", "ENDPOINTS", "ACTIVE", "REQUESTS", "SUCCESS"});
  Table endpoints(
      {"ENDPOINT", "CLUSTER", "WEIGHT", "HEALTH", "ACTIVE", "REQUESTS", "SUCCESS", "LATENCY"});
  for (size_t c : {4, 5, 6}) {
    summary.setAlign(c, Table::Align::kRight);
  }
  for (size_t c : {2, 4, 5, 6, 7}) {
    endpoints.setAlign(c, Table::Align::kRight);
  }
  for (const Value& cluster : list.values()) {
    const std::string name = text(member(&cluster, "name"));
    const auto& eps = elements(member(&cluster, "endpoints"));
    int healthy = 0;
    double active = 0;
    double requests = 0;
    double errors = 0;
    for (const Value& e : eps.values()) {
      healthy += text(member(&e, "health")) == "healthy" ? 1 : 0;
      const double ep_requests = number(member(&e, "requests_total")).value_or(0);
      const double ep_errors = number(member(&e, "errors_total")).value_or(0);
      active += number(member(&e, "active_requests")).value_or(0);
      requests += ep_requests;
      errors += ep_errors;
      endpoints.addRow({text(member(&e, "address")), name, text(member(&e, "weight")),
                        healthCell(e), text(member(&e, "active_requests")),
                        text(member(&e, "requests_total")),
                        formatPercent(share(ep_requests - ep_errors, ep_requests)),
                        formatMs(number(member(&e, "ewma_latency_ms")))});
    }
    summary.addRow({name, text(member(&cluster, "type")), text(member(&cluster, "lb_policy")),
                    std::to_string(healthy) + "/" + std::to_string(eps.values_size()),
                    wholeNumber(active), wholeNumber(requests),
                    formatPercent(share(requests - errors, requests))});
  }
  std::string out = summary.render();
  if (endpoints.rowCount() > 0) {
    out += "\n" + endpoints.render();
  }
  return out;
}

std::string renderListeners(const Value& listeners) {
  const auto& list = elements(member(&listeners, "listeners"));
  if (list.values_size() == 0) {
    return "no listeners\n";
  }
  Table table({"NAME", "ADDRESS", "DIRECTION", "PROTOCOL", "ROUTE CONFIG", "CONNECTIONS"});
  table.setAlign(5, Table::Align::kRight);
  for (const Value& l : list.values()) {
    std::string route_config = text(member(&l, "route_config"));
    table.addRow({text(member(&l, "name")), text(member(&l, "address")),
                  text(member(&l, "direction")), text(member(&l, "protocol")),
                  route_config.empty() ? "-" : route_config,
                  text(member(&l, "downstream_cx_active"))});
  }
  return table.render();
}

common::Result<std::string> renderRoutes(const Value& config_dump) {
  std::vector<const Value*> found;
  collectRouteConfigs(config_dump, found);
  std::set<std::string> seen;
  Table table({"ROUTE CONFIG", "VIRTUAL HOST", "DOMAINS", "MATCH", "CLUSTERS"});
  for (const Value* v : found) {
    const std::string name = text(member(v, "name"), "");
    if (!seen.insert(name).second) {
      continue;
    }
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    if (!google::protobuf::util::MessageToJsonString(*v, &json, print).ok()) {
      return common::Status::invalid("route configuration '" + name + "' cannot be rendered");
    }
    config::v1::RouteConfiguration rc;
    if (auto s = parseJson(json, "route configuration '" + name + "'", &rc); !s.isOk()) {
      return s;
    }
    for (const auto& vh : rc.virtual_hosts()) {
      if (vh.routes_size() == 0) {
        table.addRow({rc.name(), vh.name(), domainsCell(vh), "-", "-"});
      }
      for (const auto& route : vh.routes()) {
        table.addRow({rc.name(), vh.name(), domainsCell(vh), matchCell(route.match()),
                      clustersCell(route.route())});
      }
    }
  }
  if (seen.empty()) {
    return std::string("no route configurations\n");
  }
  return table.render();
}

}  // namespace remora::control::cli
