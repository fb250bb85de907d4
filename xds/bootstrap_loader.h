#pragma once
// The sidecar's bootstrap file: YAML/JSON -> config::v1::Bootstrap, then semantic validation.

#include <string>
#include <string_view>

#include "common/status.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "xds/source_map.h"

namespace remora::xds {

// Reads the bootstrap file at `path` (exactly one YAML or JSON document), parses it with
// parseYamlInto and validates it with validateBootstrap. On failure the kInvalidArgument
// Status (kNotFound when the file does not exist) lists every problem, one per line, each
// "PATH:LINE:COL: FIELD.PATH: problem". Never throws.
common::Result<config::v1::Bootstrap> loadBootstrap(const std::string& path);

// Same as loadBootstrap for text already in memory; `source_name` is used in error messages.
common::Result<config::v1::Bootstrap> parseBootstrap(std::string_view text,
                                                     std::string_view source_name);

// Semantic checks that the schema cannot express. `map` (from parseYamlInto; may be empty for a
// bootstrap built in code) gives each error its line and column: the field's own position, or
// its closest recorded ancestor's when the field was not written. Checks:
//  - concurrency <= 128; admin, Prometheus and health addresses (when set) are IP:PORT;
//    xds addresses are HOST:PORT (host names allowed) with a non-zero port;
//  - listeners: name non-empty and unique, address IPv4:PORT or [IPv6]:PORT (port 0 allowed),
//    no two listeners on the same non-zero IP:PORT, opaque_ports in 1..65535,
//    max_request_headers_kb <= 1024;
//  - clusters: name non-empty and unique; STATIC needs at least one endpoint (static mode only:
//    with a control plane its endpoints may come as a ClusterLoadAssignment), ORIGINAL_DST must
//    have none; endpoint addresses are IP:PORT with a non-zero port (weight 0 means 1);
//  - route configurations: name non-empty and unique; every virtual host has at least one
//    domain, wildcards only as "*", "*suffix" or "prefix*", and no domain twice in one
//    configuration; every route's match sets prefix, path or regex; every regex (route, header
//    and query matchers) compiles as std::regex ECMAScript; header and query matchers name
//    something; every route names a cluster;
//  - references: Listener.route_config, Listener.tcp_cluster and RouteAction.cluster name a
//    route configuration / cluster defined in static_resources. These are checked only in
//    static mode (no xds address): with a control plane, names may be resolved by xDS;
//  - every Duration is non-negative and fits in int64 nanoseconds.
// Returns OK, or one kInvalidArgument Status listing ALL problems one per line, in file order.
common::Status validateBootstrap(const config::v1::Bootstrap& bootstrap,
                                 std::string_view source_name, const SourceMap& map);

// What a sidecar checks of one resource the control plane pushes, on its own: it must parse
// (every `string` field valid UTF-8) and pass validateBootstrap as the only resource of a mesh
// mode bootstrap (names of other resources are not resolved). `resource` is a Cluster,
// ClusterLoadAssignment (checked as the endpoints of a STATIC cluster) or RouteConfiguration;
// other types only get the UTF-8 check. Returns OK or kInvalidArgument listing the problems,
// one per line, "FIELD.PATH: problem" with proto field names relative to the resource.
common::Status checkPushedResource(const google::protobuf::Message& resource);

// The path ("fallback.body", "virtual_hosts[0].routes[2].request_headers.set[1].value") of the
// first `string` field of `message` that is not valid UTF-8, or "" when there is none.
std::string invalidUtf8Field(const google::protobuf::Message& message);

// The same for serialized bytes of a message of type `type` that failed to parse: protobuf says
// only "cannot parse", this names the field. "" when no string field is at fault (or the bytes
// are not even well-formed wire format).
std::string invalidUtf8FieldInWire(const google::protobuf::Descriptor* type,
                                   std::string_view bytes);

// The `name` (or `cluster_name`) field of serialized bytes of a message of type `type`, when it
// is there and valid UTF-8; "" otherwise. For naming a resource that does not parse.
std::string resourceNameInWire(const google::protobuf::Descriptor* type, std::string_view bytes);

// True for a control plane address: HOST:PORT where HOST is an IP literal ([IPv6] bracketed) or
// a DNS name (letters, digits, '.', '-'), PORT 1..65535.
bool isControlPlaneAddress(std::string_view text);

}  // namespace remora::xds
