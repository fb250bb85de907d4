#pragma once
// Reading generic JSON (google.protobuf.Value, as parsed by parseJsonValue) without a schema:
// the sidecar admin API's bodies. Every accessor tolerates absent fields and wrong kinds, so a
// newer or older sidecar renders with blanks instead of failing.

#include <google/protobuf/struct.pb.h>

#include <optional>
#include <string>
#include <string_view>

namespace remora::control::cli {

// The member `key` of an object; nullptr when `v` is null, not an object or has no such key.
const google::protobuf::Value* member(const google::protobuf::Value* v, std::string_view key);

// The elements of an array; an empty list when `v` is null or not an array.
const google::protobuf::ListValue& elements(const google::protobuf::Value* v);

// A scalar as text: strings as they are, whole numbers without decimals ("3"), other numbers
// with up to 3 decimals, booleans "true"/"false". `fallback` for null, absent, objects, arrays.
std::string text(const google::protobuf::Value* v, std::string_view fallback = "-");

// A number (or a string holding one); nullopt otherwise.
std::optional<double> number(const google::protobuf::Value* v);

}  // namespace remora::control::cli
