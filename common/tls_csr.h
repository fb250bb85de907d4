#pragma once
// Certificate signing requests for mesh workload certificates. The sidecar makes its key (it
// never leaves the process) and a CSR naming its SPIFFE ID as the only URI SAN; the control
// plane's CA parses the CSR, checks its self-signature and key, and signs a certificate for the
// identity it has authenticated by other means (control/mesh_ca.h). Part of remora_tls.

#include <string>
#include <string_view>
#include <vector>

#include "common/spiffe_id.h"
#include "common/status.h"
#include "common/tls_pem.h"

namespace remora::common {

// Largest CSR accepted, PEM text (a P-256 CSR with one URI SAN is under 600 bytes).
inline constexpr size_t kMaxCsrPemBytes = 16 * 1024;

// A PEM CSR for `key` asking for `id` (URI SAN) and signed with it (SHA-256).
Result<std::string> makeCsr(EVP_PKEY* key, const SpiffeId& id);

struct CsrContents {
  EvpPkeyPtr public_key;
  std::vector<std::string> uri_sans;  // the URI SANs the CSR asks for, in order
};

// Parses one PEM CSR: at most kMaxCsrPemBytes, a valid self-signature, a key of EC P-256 or
// P-384 (or RSA of 2048 bits or more). The error says which check failed.
Result<CsrContents> parseCsr(std::string_view pem);

}  // namespace remora::common
