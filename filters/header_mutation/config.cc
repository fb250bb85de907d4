#include "filters/header_mutation/config.h"

#include <algorithm>

#include "filters/header_mutation/header_mutation_filter.h"

namespace remora::filters::header_mutation {

namespace {
Mutation convert(const config::v1::HeaderMutation& m) {
  Mutation out;
  out.remove.assign(m.remove().begin(), m.remove().end());
  out.set.assign(m.set().begin(), m.set().end());
  out.add.assign(m.add().begin(), m.add().end());
  std::sort(out.set.begin(), out.set.end());  // protobuf maps have no order
  std::sort(out.add.begin(), out.add.end());
  return out;
}
}  // namespace

std::shared_ptr<const HttpFilterFactory> makeHeaderMutationFactory(
    const config::v1::Route& route, const std::string& matched_prefix) {
  MutationConfig c;
  c.request = convert(route.request_headers());
  c.response = convert(route.response_headers());
  if (!route.prefix_rewrite().empty()) {
    c.rewrite = true;
    c.prefix = matched_prefix;
    c.prefix_rewrite = route.prefix_rewrite();
  }
  if (c.request.empty() && c.response.empty() && !c.rewrite) {
    return nullptr;
  }
  return std::make_shared<HeaderMutationFactory>(std::move(c));
}

std::shared_ptr<const HttpFilterFactory> makeRouteFactory(const RouteFilterConfig& rc) {
  const config::v1::Route& r = rc.route;
  return makeHeaderMutationFactory(
      r, r.match().path_specifier_case() == config::v1::RouteMatch::kPrefix ? r.match().prefix()
                                                                            : std::string());
}

}  // namespace remora::filters::header_mutation
