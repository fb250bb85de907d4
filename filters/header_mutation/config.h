#pragma once
// Where a route's header mutations and prefix rewrite become a filter factory (the only file of
// this filter that sees protobuf types).

#include <memory>
#include <string>

#include "filters/api/http_filter.h"
#include "filters/api/route_filter_config.h"
#include "remora/config/v1/route.pb.h"

namespace remora::filters::header_mutation {

// nullptr when the route changes nothing. `matched_prefix` is the route's prefix match (empty
// when it has none; validation ensures prefix_rewrite comes with a prefix match).
std::shared_ptr<const HttpFilterFactory> makeHeaderMutationFactory(
    const config::v1::Route& route, const std::string& matched_prefix);
// The registry's entry point: the route's header mutations and prefix rewrite.
std::shared_ptr<const HttpFilterFactory> makeRouteFactory(const RouteFilterConfig& rc);

}  // namespace remora::filters::header_mutation
