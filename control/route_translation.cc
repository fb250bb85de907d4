#include "control/route_translation.h"

#include <algorithm>
#include <cctype>

#include "control/policy_translation.h"
#include "xds/source_map.h"

namespace remora::control {
namespace {

namespace cfg = remora::config::v1;

constexpr uint64_t kMaxTotalWeight = 1000000;  // the sidecar's limit on a route's weights

bool hasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string backendCluster(const mesh::HTTPBackendRef& b, const std::string& route_ns) {
  return clusterName(b.name(), b.namespace_().empty() ? route_ns : b.namespace_(),
                     static_cast<uint32_t>(b.port()));
}

// The rule's name, or its index: the third part of its routes' names.
std::string ruleId(const mesh::HTTPRouteRule& rule, int index) {
  return rule.name().empty() ? std::to_string(index) : rule.name();
}

void headerModifierProblems(const Manifest<mesh::HTTPRoute>& route, const mesh::HTTPHeaderFilter& f,
                            const std::string& path, std::vector<std::string>* problems) {
  for (std::string_view list : {"set", "add"}) {
    const auto& headers = list == "set" ? f.set() : f.add();
    for (int k = 0; k < headers.size(); ++k) {
      if (hasLineBreak(headers[k].value())) {
        problems->push_back(route.error(xds::indexPath(xds::joinPath(path, list), k) + ".value",
                                        "a header value cannot hold a line break"));
      }
    }
  }
}

void applyHeaderFilter(const mesh::HTTPHeaderFilter& f, cfg::HeaderMutation* out) {
  for (const mesh::HTTPHeader& h : f.set()) {
    (*out->mutable_set())[lower(h.name())] = h.value();
  }
  for (const mesh::HTTPHeader& h : f.add()) {
    (*out->mutable_add())[lower(h.name())] = h.value();
  }
  for (const std::string& name : f.remove()) {
    out->add_remove(lower(name));
  }
}

// Case-insensitive ECMAScript for one literal host name.
std::string hostPattern(std::string_view host) {
  std::string out;
  for (char c : host) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      out += '[';
      out += static_cast<char>(std::tolower(u));
      out += static_cast<char>(std::toupper(u));
      out += ']';
    } else if (c == '.') {
      out += "\\.";
    } else {
      out += c;  // digits and '-' (validation admits nothing else)
    }
  }
  return out;
}

}  // namespace

std::string clusterName(std::string_view service, std::string_view ns, uint32_t port) {
  std::string out(service);
  out += '.';
  out += ns;
  out += ':';
  out += std::to_string(port);
  return out;
}

std::vector<std::string> routeProblems(const Manifest<mesh::HTTPRoute>& route,
                                       const BackendCheck& backend_check) {
  std::vector<std::string> problems;
  const mesh::HTTPRoute& r = route.object;
  for (int i = 0; i < r.spec().rules_size(); ++i) {
    const mesh::HTTPRouteRule& rule = r.spec().rules(i);
    const std::string path = xds::indexPath("spec.rules", i);
    uint64_t total = 0;
    for (int k = 0; k < rule.backend_refs_size(); ++k) {
      const mesh::HTTPBackendRef& b = rule.backend_refs(k);
      const std::string& ns = b.namespace_().empty() ? r.metadata().namespace_() : b.namespace_();
      if (std::string why = backend_check(ns, b.name(), static_cast<uint32_t>(b.port()));
          !why.empty()) {
        problems.push_back(route.error(xds::indexPath(path + ".backendRefs", k), why));
      }
      total += b.has_weight() ? static_cast<uint64_t>(b.weight()) : 1;
    }
    if (total > kMaxTotalWeight) {
      problems.push_back(
          route.error(path + ".backendRefs", "the weights add up to " + std::to_string(total) +
                                                 ", above the sidecar's maximum of 1000000"));
    }
    if (rule.retry().has_attempts() &&
        static_cast<uint32_t>(rule.retry().attempts()) > kMaxRetries) {
      problems.push_back(
          route.error(path + ".retry.attempts", std::to_string(rule.retry().attempts()) +
                                                    " is above the sidecar's maximum of " +
                                                    std::to_string(kMaxRetries) + " retries"));
    }
    bool sets_host = false;
    for (int k = 0; k < rule.filters_size(); ++k) {
      const mesh::HTTPRouteFilter& f = rule.filters(k);
      const std::string fpath = xds::indexPath(path + ".filters", k);
      if (f.has_request_header_modifier()) {
        headerModifierProblems(route, f.request_header_modifier(), fpath + ".requestHeaderModifier",
                               &problems);
        for (const mesh::HTTPHeader& h : f.request_header_modifier().set()) {
          sets_host = sets_host || lower(h.name()) == "host";
        }
      }
      if (f.has_response_header_modifier()) {
        headerModifierProblems(route, f.response_header_modifier(),
                               fpath + ".responseHeaderModifier", &problems);
      }
    }
    for (int k = 0; k < rule.filters_size(); ++k) {
      const mesh::HTTPRouteFilter& f = rule.filters(k);
      const std::string fpath = xds::indexPath(path + ".filters", k) + ".urlRewrite";
      if (!f.has_url_rewrite()) {
        continue;
      }
      if (!f.url_rewrite().hostname().empty() && sets_host) {
        problems.push_back(route.error(
            fpath + ".hostname",
            "the rule's RequestHeaderModifier sets host too: only one of them can win"));
      }
      if (f.url_rewrite().path().type() == "ReplaceFullPath") {
        problems.push_back(route.error(
            fpath + ".path.type",
            "ReplaceFullPath cannot be honoured: the sidecar rewrites only a matched prefix "
            "(prefix_rewrite needs a PathPrefix match)"));
      }
    }
  }
  return problems;
}

cfg::RetryPolicy mergeRetry(const mesh::HTTPRouteRule& rule,
                            const mesh::TrafficPolicySpec* policy) {
  const bool policy_retry = policy != nullptr && policy->has_retry();
  cfg::RetryPolicy out = policy_retry ? retryPolicyOf(policy->retry()) : cfg::RetryPolicy();
  if (rule.has_retry()) {
    const mesh::HTTPRouteRetry& r = rule.retry();
    if (r.codes_size() > 0) {
      cfg::RetryPolicy merged;
      for (const std::string& on : out.retry_on()) {
        if (on == "reset" || on == "connect-failure") {
          merged.add_retry_on(on);
        }
      }
      merged.add_retry_on("retriable-status-codes");
      out.mutable_retry_on()->Swap(merged.mutable_retry_on());
      out.clear_retriable_status_codes();
      for (int32_t code : r.codes()) {
        out.add_retriable_status_codes(static_cast<uint32_t>(code));
      }
    }
    if (r.has_attempts()) {
      out.set_num_retries(static_cast<uint32_t>(r.attempts()));
    } else if (!(policy_retry && policy->retry().has_attempts())) {
      out.set_num_retries(1);
    }
    if (r.has_backoff()) {
      cfg::RetryPolicy::Backoff* b = out.mutable_backoff();
      *b->mutable_base_interval() = r.backoff();
      const auto nanos = [](const google::protobuf::Duration& d) {
        return d.seconds() * 1000000000 + d.nanos();
      };
      if (b->has_max_interval() && nanos(b->max_interval()) < nanos(r.backoff())) {
        b->clear_max_interval();
      }
    }
  }
  if (rule.timeouts().has_backend_request()) {
    *out.mutable_per_try_timeout() = rule.timeouts().backend_request();
  }
  return out;
}

std::string hostnamesRegex(const google::protobuf::RepeatedPtrField<std::string>& hostnames) {
  std::string alternatives;
  for (const std::string& h : hostnames) {
    if (!alternatives.empty()) {
      alternatives += '|';
    }
    if (h.rfind("*.", 0) == 0) {
      alternatives += "[^:]+" + hostPattern(h.substr(1));  // one or more labels, then ".suffix"
    } else {
      alternatives += hostPattern(h);
    }
  }
  return "(?:" + alternatives + ")(?::[0-9]+)?";
}

std::vector<cfg::Route> translateRules(const Manifest<mesh::HTTPRoute>& route,
                                       const RouteParent& parent) {
  std::vector<cfg::Route> out;
  const mesh::HTTPRoute& r = route.object;
  const std::string& ns = r.metadata().namespace_();
  const std::string prefix = ns + "/" + r.metadata().name() + "/";
  const std::string host_regex =
      r.spec().hostnames_size() > 0 ? hostnamesRegex(r.spec().hostnames()) : std::string();
  for (int i = 0; i < r.spec().rules_size(); ++i) {
    const mesh::HTTPRouteRule& rule = r.spec().rules(i);
    // Everything but the match is the same for every match of the rule.
    cfg::Route base;
    cfg::RouteAction* action = base.mutable_route();
    if (rule.backend_refs_size() == 0) {
      action->set_cluster(parent.cluster);
    } else if (rule.backend_refs_size() == 1) {
      action->set_cluster(backendCluster(rule.backend_refs(0), ns));
    } else {
      for (const mesh::HTTPBackendRef& b : rule.backend_refs()) {
        cfg::WeightedCluster* wc = action->add_weighted_clusters();
        wc->set_cluster(backendCluster(b, ns));
        wc->set_weight(b.has_weight() ? static_cast<uint32_t>(b.weight()) : 1);
      }
    }
    if (rule.timeouts().has_request()) {
      *action->mutable_timeout() = rule.timeouts().request();  // 0: none
    }
    if (rule.has_retry() || rule.timeouts().has_backend_request()) {
      *action->mutable_retry_policy() = mergeRetry(rule, parent.policy);
    }
    if (parent.policy != nullptr && parent.policy->has_fault_injection()) {
      *base.mutable_fault() = faultOf(parent.policy->fault_injection());
    }
    for (const mesh::HTTPRouteFilter& f : rule.filters()) {
      if (f.has_request_header_modifier()) {
        applyHeaderFilter(f.request_header_modifier(), base.mutable_request_headers());
      }
      if (f.has_response_header_modifier()) {
        applyHeaderFilter(f.response_header_modifier(), base.mutable_response_headers());
      }
      if (f.has_url_rewrite()) {
        const mesh::HTTPURLRewriteFilter& u = f.url_rewrite();
        if (!u.hostname().empty()) {
          (*base.mutable_request_headers()->mutable_set())["host"] = u.hostname();
        }
        if (u.path().type() == "ReplacePrefixMatch") {
          base.set_prefix_rewrite(u.path().replace_prefix_match());
        }
      }
    }
    const int matches = std::max(rule.matches_size(), 1);
    for (int j = 0; j < matches; ++j) {
      cfg::Route& rt = out.emplace_back(base);
      rt.set_name(prefix + ruleId(rule, i) + "/" + std::to_string(j));
      cfg::RouteMatch* m = rt.mutable_match();
      if (rule.matches_size() == 0) {
        m->set_prefix("/");
      } else {
        const mesh::HTTPRouteMatch& match = rule.matches(j);
        const std::string& type = match.path().type();
        const std::string value = match.path().has_value() ? match.path().value() : "/";
        if (type == "Exact") {
          m->set_path(value);
        } else if (type == "RegularExpression") {
          m->set_regex(value);
        } else {
          m->set_prefix(value);  // PathPrefix, the default
        }
        for (const mesh::HTTPHeaderMatch& h : match.headers()) {
          cfg::HeaderMatcher* hm = m->add_headers();
          hm->set_name(lower(h.name()));
          if (h.type() == "RegularExpression") {
            hm->set_regex(h.value());
          } else {
            hm->set_exact(h.value());
          }
        }
        for (const mesh::HTTPQueryParamMatch& q : match.query_params()) {
          cfg::QueryParamMatcher* qm = m->add_query_params();
          qm->set_name(q.name());
          if (q.type() == "RegularExpression") {
            qm->set_regex(q.value());
          } else {
            qm->set_exact(q.value());
          }
        }
        if (!match.method().empty()) {
          m->add_methods(match.method());
        }
      }
      if (!host_regex.empty()) {
        cfg::HeaderMatcher* hm = m->add_headers();
        hm->set_name("host");
        hm->set_regex(host_regex);
      }
    }
  }
  return out;
}

cfg::Route defaultRoute(const RouteParent& parent) {
  cfg::Route rt;
  rt.set_name(parent.cluster + "/default");
  rt.mutable_match()->set_prefix("/");
  rt.mutable_route()->set_cluster(parent.cluster);
  if (parent.policy != nullptr && parent.policy->has_fault_injection()) {
    *rt.mutable_fault() = faultOf(parent.policy->fault_injection());
  }
  return rt;
}

}  // namespace remora::control
