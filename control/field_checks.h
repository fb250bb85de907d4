#pragma once
// Value checks shared by the validators of every manifest kind. Each records its problem on the
// checker at `path` and returns false when the value is bad.

#include <cstdint>
#include <string_view>

#include <google/protobuf/duration.pb.h>

#include "control/manifest_set.h"
#include "control/object_checker.h"

namespace remora::control {

// Kubernetes name rules. A DNS-1123 label: 1..63 of [a-z0-9-], alphanumeric at both ends.
bool isDnsLabel(std::string_view s);
// A DNS-1035 label (Service names): a DNS-1123 label that starts with a letter.
bool isDns1035Label(std::string_view s);
// A DNS-1123 subdomain: 1..253 characters, dot-separated DNS-1123 labels.
bool isDnsSubdomain(std::string_view s);
// An IPv4 or IPv6 literal (without brackets or port).
bool isIpLiteral(std::string_view s);

// How metadata.name must look for a kind.
enum class NameRule : uint8_t {
  kDns1035Label,  // Service (and what names one: a slice's service-name label)
  kDnsSubdomain,  // everything else
};

// metadata.name present and well-formed; metadata.namespace, when set, a DNS-1123 label.
void checkMetadata(const mesh::ObjectMeta& meta, NameRule rule, ObjectChecker& check);

// A reference's name (required) and namespace (optional) to a Service.
bool checkServiceName(std::string_view name, std::string_view path, ObjectChecker& check);
bool checkNamespace(std::string_view ns, std::string_view path, ObjectChecker& check);

// A port number 1..65535.
bool checkPort(int64_t port, std::string_view path, ObjectChecker& check);
// TCP, UDP or SCTP; empty means TCP.
bool checkProtocol(std::string_view protocol, std::string_view path, ObjectChecker& check);
// A percentage 0..100.
bool checkPercent(double percent, std::string_view path, ObjectChecker& check);
// An HTTP status code in lo..hi.
bool checkStatus(int64_t status, int64_t lo, int64_t hi, std::string_view path,
                 ObjectChecker& check);
// An HTTP header name (an RFC 9110 token).
bool checkHeaderName(std::string_view name, std::string_view path, ObjectChecker& check);
// A regular expression that std::regex (ECMAScript) compiles.
bool checkRegex(std::string_view pattern, std::string_view path, ObjectChecker& check);
// A duration that, when `present`, is greater than zero.
bool checkPositive(bool present, const google::protobuf::Duration& d, std::string_view path,
                   ObjectChecker& check);

// Nanoseconds of a Duration (the parser keeps them within int64).
int64_t toNanos(const google::protobuf::Duration& d);

}  // namespace remora::control
