#pragma once
// Issuing and checking X.509 certificates: what the control plane's certificate authorities
// share (the admission webhook's, control/webhook_certs.h, and the mesh CA that signs workload
// certificates). Keys are EC P-256, signatures ECDSA with SHA-256, serials random 159-bit.
// Part of remora_tls (the only library that links OpenSSL).

#include <openssl/asn1.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/tls_pem.h"

namespace remora::common {

struct SubjectAltName {
  enum class Kind : uint8_t { kDns, kIp, kUri };
  Kind kind;
  std::string value;
};

// A DNS name as certificates carry it: labels of letters, digits and '-', an optional "*.".
bool isDnsName(std::string_view name) noexcept;
// An IPv4/IPv6 address as an IP SAN, else a DNS name as a DNS SAN; the error names it when it
// is neither.
Result<SubjectAltName> hostSubjectAltName(const std::string& name);

struct CertificateSpec {
  std::string common_name;  // the subject's CN (omitted when empty or over 64 bytes)
  bool ca = false;
  int path_len = 0;  // a CA's pathlen: how many CAs may stand below it (0: it signs leaves only)
  int64_t valid_seconds = 365 * 86400;
  int64_t backdate_seconds = 3600;  // notBefore this far in the past (clock skew)
  // Leaf certificates: the extended key usages (at least one).
  bool server_auth = true;
  bool client_auth = false;
  std::vector<SubjectAltName> sans;  // none for a CA
};

// A new EC P-256 key.
Result<EvpPkeyPtr> newP256Key();

// A version 3 certificate for `subject_key` following `spec`, issued by `issuer` (nullptr:
// self-signed) and signed with `issuer_key`. The error names the step that failed.
Result<X509Ptr> issueCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                 EVP_PKEY* issuer_key);

enum class CertificateUse : uint8_t { kTlsServer, kTlsClient, kAny };

// The chain [leaf, intermediates...] verifies against `roots` (trusted, any of them) for
// `use`, now; the error is OpenSSL's verification failure ("certificate has expired"...).
Status verifyChain(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                   CertificateUse use);

// The text of a whole PEM file of at most 1 MiB; errors start with `what` and the path
// ("CA certificate file /x: cannot open: No such file or directory").
Result<std::string> readPemFile(const std::string& what, const std::string& path);

// "Jan  2 15:04:05 2027 GMT", or "an unreadable date".
std::string asn1TimeText(const ASN1_TIME* t);

}  // namespace remora::common
