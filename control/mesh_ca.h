#pragma once
// The mesh certificate authority: the control plane signs each sidecar's workload certificate
// (its SPIFFE ID as the only URI SAN, usable for TLS client and server) from a CSR the sidecar
// made with its own key. Where the signing certificate comes from:
//   - given: --ca-cert / --ca-key, an intermediate (or root) of the operator's PKI; the chain
//     file may carry the intermediates up to the root, which is then what workloads trust;
//   - generated: a self-signed root for the trust domain (EC P-256, ten years), kept in
//     --ca-dir (ca.crt, ca.key with mode 0600) so that a restart signs with the same root.
// Extra trusted roots (root rotation: old and new trusted together while certificates move
// over) come from roots.pem in the same directory, or --ca-extra-roots.
//
// sign() trusts its caller to have authenticated the identity (a TokenReview or the join
// token): it checks only that the CSR is well formed and asks for that identity or none.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/spiffe_id.h"
#include "common/status.h"
#include "common/tls_pem.h"

namespace remora::control {

struct IssuedCertificate {
  std::string chain_pem;   // the workload certificate, then the CA's chain (not the root)
  int64_t not_before = 0;  // Unix seconds
  int64_t not_after = 0;   // Unix seconds: never past the signing certificate's own end
};

class MeshCa {
 public:
  static constexpr int64_t kDefaultCertTtlSeconds = 24 * 3600;
  static constexpr int64_t kMinCertTtlSeconds = 600;

  // A new self-signed root for `trust_domain`, in memory.
  static common::Result<std::unique_ptr<MeshCa>> generate(const std::string& trust_domain);
  // The signing certificate chain and key from PEM files (--ca-cert, --ca-key). The first
  // certificate of `cert_file` must be a CA that matches the key and is valid now; a
  // self-signed last certificate is the trusted root, else the first one is. Errors name the
  // file and the check.
  static common::Result<std::unique_ptr<MeshCa>> load(const std::string& cert_file,
                                                      const std::string& key_file,
                                                      const std::string& trust_domain);
  // --ca-dir: loads ca.crt / ca.key from `dir` when both are there, else generates a root
  // and writes them (ca.key 0600). roots.pem, when present, adds trusted roots.
  static common::Result<std::unique_ptr<MeshCa>> loadOrCreate(const std::string& dir,
                                                              const std::string& trust_domain);

  // Adds roots workloads trust besides this CA's own (PEM, one or more certificates).
  common::Status addTrustedRoots(std::string_view pem);

  // Signs `csr_pem` for `identity`, valid for `ttl_seconds` (at least kMinCertTtlSeconds; cut
  // to the signing certificate's end). Refused when the CSR is malformed, asks for another
  // identity or more than one, or the identity is in another trust domain.
  common::Result<IssuedCertificate> sign(std::string_view csr_pem, const common::SpiffeId& identity,
                                         int64_t ttl_seconds = kDefaultCertTtlSeconds) const;

  // The roots workloads verify peers with (this CA's, then any added), as PEM.
  const std::string& trustBundlePem() const noexcept { return bundle_pem_; }
  const std::string& trustDomain() const noexcept { return trust_domain_; }

  ~MeshCa();

 private:
  MeshCa() = default;
  common::Status finish();

  std::string trust_domain_;
  std::vector<common::X509Ptr> chain_;  // the signing certificate first, then up to its root
  common::EvpPkeyPtr key_;
  std::vector<common::X509Ptr> roots_;
  std::string chain_pem_;   // chain_ minus a self-signed root, for issued chains
  std::string bundle_pem_;  // roots_
};

}  // namespace remora::control
