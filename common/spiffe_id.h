#pragma once
// Mesh workload identities as SPIFFE IDs: spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT.
// The trust domain defaults to cluster.local; outside Kubernetes a workload's service account is
// the sidecar's --service-account flag (default "default"). This form is the one a mesh
// certificate carries as its only URI SAN and the one authorization policies name.
//
// Checks (SPIFFE ID spec, with the mesh's path shape): the trust domain is lowercase letters,
// digits, '.', '-' and '_', at most 255 bytes; namespace and service account are Kubernetes
// names (lowercase letters, digits, '-' and '.', starting and ending alphanumeric, at most 253
// bytes); no query, fragment, port, user info or percent-encoding; at most 2048 bytes in all.

#include <string>
#include <string_view>

#include "common/status.h"

namespace remora::common {

inline constexpr std::string_view kDefaultTrustDomain = "cluster.local";

struct SpiffeId {
  std::string trust_domain;
  std::string ns;
  std::string service_account;

  // "spiffe://td/ns/NS/sa/SA"
  std::string uri() const;
  bool operator==(const SpiffeId&) const = default;
};

// A valid trust domain, or an error that says why not.
Status checkTrustDomain(std::string_view trust_domain);
// Builds an identity from its parts; the error names the part that is not valid.
Result<SpiffeId> makeSpiffeId(std::string_view trust_domain, std::string_view ns,
                              std::string_view service_account);
// Parses "spiffe://td/ns/NS/sa/SA"; the error says what is wrong with the text.
Result<SpiffeId> parseSpiffeId(std::string_view uri);

}  // namespace remora::common
