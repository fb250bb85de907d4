#include "control/cli/json_value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace remora::control::cli {

using google::protobuf::ListValue;
using google::protobuf::Value;

const Value* member(const Value* v, std::string_view key) {
  if (v == nullptr || !v->has_struct_value()) {
    return nullptr;
  }
  const auto& fields = v->struct_value().fields();
  auto it = fields.find(std::string(key));
  return it == fields.end() ? nullptr : &it->second;
}

const ListValue& elements(const Value* v) {
  if (v == nullptr || !v->has_list_value()) {
    return ListValue::default_instance();
  }
  return v->list_value();
}

std::string text(const Value* v, std::string_view fallback) {
  if (v == nullptr) {
    return std::string(fallback);
  }
  switch (v->kind_case()) {
    case Value::kStringValue:
      return v->string_value();
    case Value::kBoolValue:
      return v->bool_value() ? "true" : "false";
    case Value::kNumberValue: {
      const double d = v->number_value();
      char buf[64];
      if (std::nearbyint(d) == d && std::fabs(d) < 1e15) {
        std::snprintf(buf, sizeof(buf), "%.0f", d);
      } else {
        std::snprintf(buf, sizeof(buf), "%.3f", d);
        std::string s = buf;
        while (s.back() == '0') {
          s.pop_back();
        }
        if (s.back() == '.') {
          s.pop_back();
        }
        return s;
      }
      return buf;
    }
    default:
      return std::string(fallback);
  }
}

std::optional<double> number(const Value* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->has_number_value()) {
    return v->number_value();
  }
  if (v->has_string_value() && !v->string_value().empty()) {
    char* end = nullptr;
    const double d = std::strtod(v->string_value().c_str(), &end);
    if (end != nullptr && *end == '\0') {
      return d;
    }
  }
  return std::nullopt;
}

}  // namespace remora::control::cli
