#pragma once
// Protobuf messages printed as JSON for the admin port and the control plane's API.
//
// protobuf's own printer (3.21) does not produce valid UTF-8 from string fields that hold
// ill-formed bytes (a peer's label, a manifest value): it drops some sequences silently, passes
// overlong forms through, and logs an error per field. Strings are made valid first here, each
// ill-formed subpart replaced by U+FFFD as common::toValidUtf8 does.

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <string>

namespace remora::xds {

// True when some string field of `m` (nested messages, repeated fields and maps included) holds
// ill-formed UTF-8.
bool hasInvalidUtf8(const google::protobuf::Message& m);

// Replaces ill-formed UTF-8 in every string field of `m` (as hasInvalidUtf8 walks them).
void replaceInvalidUtf8(google::protobuf::Message& m);

// MessageToJsonString on `m`, or on a copy with its strings made valid when it needs it: the
// output is always valid UTF-8. False when protobuf refuses the message (`out` is then empty).
bool printJson(const google::protobuf::Message& m,
               const google::protobuf::util::JsonPrintOptions& options, std::string* out);

}  // namespace remora::xds
