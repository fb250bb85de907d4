#pragma once
// The admission webhook's serving certificate (docs/control-plane.md "Admission webhook"):
// generated at start (a private CA and a serving certificate it signs, both EC P-256), or loaded
// from PEM files. Either way the result is PEM text for common::TlsContext::server and the CA
// bundle that the API server must trust (the MutatingWebhookConfiguration's caBundle is the
// base64 of that text).

#include <string>
#include <vector>

#include "common/status.h"

namespace remora::control {

struct WebhookCertificate {
  std::string chain_pem;      // the serving certificate first, then any intermediates
  std::string key_pem;        // its private key (unencrypted PEM)
  std::string ca_bundle_pem;  // the CA certificate(s) clients verify with; empty when loaded
                              // without a CA file
  bool generated = false;
};

// A generated certificate's names when none are given: the remora-control Service in the
// remora-system namespace, the way the API server and pods address it.
std::vector<std::string> defaultWebhookSans();

// Generates a self-signed CA ("remora webhook CA") and a serving certificate it signs for
// `sans` (at least one): each entry is an IPv4/IPv6 address (an IP SAN) or a DNS name (a DNS
// SAN; letters, digits, '-' and '.', an optional leading "*."). Both are valid from an hour
// ago (clock skew) for `valid_days`. The CA's key is dropped once the serving certificate is
// signed: nothing else can be signed with it. Errors name the bad SAN or the failed step.
common::Result<WebhookCertificate> generateWebhookCertificate(const std::vector<std::string>& sans,
                                                              int valid_days = 365);

// Loads the serving certificate chain and its key from PEM files, and the CA bundle from
// `ca_file` when not empty. Checks: each file readable and at most 1 MiB, holding PEM of the
// right kind; the key matches the first certificate; that certificate is valid now; and, with a
// CA file, the chain verifies against it for TLS server use. Errors name the file and what is
// wrong with it.
common::Result<WebhookCertificate> loadWebhookCertificate(const std::string& cert_file,
                                                          const std::string& key_file,
                                                          const std::string& ca_file);

}  // namespace remora::control
