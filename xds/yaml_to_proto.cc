#include "xds/yaml_to_proto.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "common/base64.h"
#include "common/utf8.h"
#include "xds/duration.h"

namespace remora::xds {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using i128 = __int128;

// Deeper nesting than this is refused (recursive message types fed with YAML aliases would
// otherwise recurse without end).
constexpr int kMaxDepth = 64;
// Past this many errors the rest are only counted.
constexpr size_t kMaxErrors = 50;
// Values quoted in messages are cut to this length.
constexpr size_t kMaxQuoted = 60;

SourcePos toPos(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0 || m.column < 0) {
    return {};
  }
  return {m.line + 1, m.column + 1};
}

SourcePos orElse(SourcePos pos, SourcePos fallback) {
  return pos.known() ? pos : fallback;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  if (s.size() > kMaxQuoted) {
    out.append(s.substr(0, kMaxQuoted));
    out += "...";
  } else {
    out.append(s);
  }
  out += '"';
  return out;
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "the scalar " + quote(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// "remora.config.v1.Cluster.Type" -> "Cluster.Type".
std::string shortName(const std::string& full_name, const std::string& package) {
  if (!package.empty() && full_name.size() > package.size() &&
      full_name.compare(0, package.size(), package) == 0 && full_name[package.size()] == '.') {
    return full_name.substr(package.size() + 1);
  }
  return full_name;
}
std::string shortName(const pb::Descriptor* d) {
  return shortName(d->full_name(), d->file()->package());
}
std::string shortName(const pb::EnumDescriptor* e) {
  return shortName(e->full_name(), e->file()->package());
}

// A field's name as paths spell it (see ParseOptions::json_paths).
const std::string& pathName(const FD* f, bool json_paths) {
  return json_paths ? f->json_name() : f->name();
}

std::string fieldList(const pb::Descriptor* d, bool json_paths) {
  std::string out;
  for (int i = 0; i < d->field_count(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += pathName(d->field(i), json_paths);
  }
  return out;
}

std::string enumValueList(const pb::EnumDescriptor* e) {
  std::string out;
  for (int i = 0; i < e->value_count(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += e->value(i)->name();
  }
  return out;
}

const FD* findField(const pb::Descriptor* d, const std::string& key) {
  if (const FD* f = d->FindFieldByName(key)) {
    return f;
  }
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == key) {
      return d->field(i);
    }
  }
  return nullptr;
}

bool isWrapperType(const std::string& name) {
  static const char* const kWrappers[] = {
      "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.Int64Value",
      "google.protobuf.UInt64Value", "google.protobuf.Int32Value",  "google.protobuf.UInt32Value",
      "google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.BytesValue",
  };
  for (const char* w : kWrappers) {
    if (name == w) {
      return true;
    }
  }
  return false;
}

bool isUnsupportedWellKnownType(const std::string& name) {
  static const char* const kUnsupported[] = {
      "google.protobuf.Any",       "google.protobuf.Struct",    "google.protobuf.Value",
      "google.protobuf.ListValue", "google.protobuf.Timestamp", "google.protobuf.FieldMask",
  };
  for (const char* w : kUnsupported) {
    if (name == w) {
      return true;
    }
  }
  return false;
}

// Decimal integer with an optional sign. Magnitudes far beyond 64 bits saturate, so that the
// caller's range check reports them as out of range.
std::optional<i128> parseInteger(std::string_view s) {
  size_t i = 0;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) {
    return std::nullopt;
  }
  const i128 cap = i128{1} << 70;
  i128 v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    if (v < cap) {
      v = v * 10 + (s[i] - '0');
    }
  }
  return negative ? -v : v;
}

std::string toString(i128 v) {
  if (v == 0) {
    return "0";
  }
  bool negative = v < 0;
  std::string digits;
  while (v != 0) {
    int d = static_cast<int>(v % 10);
    digits += static_cast<char>('0' + (d < 0 ? -d : d));
    v /= 10;
  }
  if (negative) {
    digits += '-';
  }
  return std::string(digits.rbegin(), digits.rend());
}

enum class FloatParse { kOk, kInvalid, kOutOfRange };

// A decimal or exponent number, or one of the YAML / protobuf JSON spellings of inf and nan.
FloatParse parseDouble(std::string_view s, double* out) {
  static const std::pair<std::string_view, double> kSpecial[] = {
      {"inf", HUGE_VAL},        {"+inf", HUGE_VAL},     {"Infinity", HUGE_VAL},
      {"+Infinity", HUGE_VAL},  {".inf", HUGE_VAL},     {".Inf", HUGE_VAL},
      {".INF", HUGE_VAL},       {"+.inf", HUGE_VAL},    {"-inf", -HUGE_VAL},
      {"-Infinity", -HUGE_VAL}, {"-.inf", -HUGE_VAL},   {"-.Inf", -HUGE_VAL},
      {"-.INF", -HUGE_VAL},     {"nan", std::nan("")},  {"NaN", std::nan("")},
      {".nan", std::nan("")},   {".NaN", std::nan("")}, {".NAN", std::nan("")},
  };
  for (const auto& [name, value] : kSpecial) {
    if (s == name) {
      *out = value;
      return FloatParse::kOk;
    }
  }
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
  }
  if (s.empty() || !(s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) {
    return FloatParse::kInvalid;  // also keeps from_chars' own "inf"/"nan" forms out
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::result_out_of_range) {
    return FloatParse::kOutOfRange;
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return FloatParse::kInvalid;
  }
  return FloatParse::kOk;
}

std::optional<bool> parseBool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  return std::nullopt;
}

// Walks one YAML document along a message descriptor, filling the message and collecting
// errors. Every method reports its own errors and returns false when it reported any.
class Walker {
 public:
  Walker(std::string_view source, SourceMap* map, const ParseOptions& options)
      : source_(source), map_(map), options_(options) {}

  bool message(const YAML::Node& node, SourcePos pos, const std::string& path, pb::Message* msg,
               int depth);

  void fail(SourcePos pos, std::string_view path, std::string_view problem) {
    if (++error_count_ <= kMaxErrors) {
      errors_.push_back(formatConfigError(source_, pos, path, problem));
    }
  }

  bool ok() const noexcept { return error_count_ == 0; }

  common::Status status() const {
    if (error_count_ == 0) {
      return common::Status::ok();
    }
    std::string m;
    for (const std::string& e : errors_) {
      if (!m.empty()) {
        m += '\n';
      }
      m += e;
    }
    if (error_count_ > errors_.size()) {
      m += '\n';
      m += formatConfigError(
          source_, {}, "",
          "... and " + std::to_string(error_count_ - errors_.size()) + " more errors");
    }
    return common::Status::invalid(std::move(m));
  }

 private:
  bool field(SourcePos key_pos, const YAML::Node& value, const std::string& path, pb::Message* msg,
             const FD* f, int depth);
  bool mapField(const YAML::Node& value, SourcePos pos, const std::string& path, pb::Message* msg,
                const FD* f, int depth);
  bool messageValue(const YAML::Node& node, SourcePos pos, const std::string& path,
                    pb::Message* msg, int depth);
  bool scalar(const YAML::Node& node, SourcePos pos, const std::string& path, pb::Message* msg,
              const FD* f, bool add);
  std::optional<i128> integer(const std::string& text, SourcePos pos, const std::string& path,
                              const FD* f, i128 lo, i128 hi);
  std::string expectation(const FD* f) const;

  void record(const std::string& path, SourcePos pos) {
    if (map_ != nullptr && pos.known()) {
      map_->add(path, pos);
    }
  }

  std::string source_;
  SourceMap* map_;
  const ParseOptions& options_;
  std::vector<std::string> errors_;
  size_t error_count_ = 0;
};

bool Walker::message(const YAML::Node& node, SourcePos pos, const std::string& path,
                     pb::Message* msg, int depth) {
  const pb::Descriptor* d = msg->GetDescriptor();
  if (depth > kMaxDepth) {
    fail(pos, path, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    return false;
  }
  if (!node.IsMap()) {
    fail(pos, path, "expected a mapping (" + shortName(d) + "), got " + describe(node));
    return false;
  }
  std::map<int, SourcePos> seen;           // field number -> where it was first set
  std::map<int, const FD*> oneof_members;  // oneof index -> the member that was set
  bool ok = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    YAML::Node key = it->first;  // a copy: it-> yields a temporary proxy
    YAML::Node value = it->second;
    SourcePos key_pos = orElse(toPos(key.Mark()), pos);
    if (!key.IsScalar()) {
      fail(key_pos, path, "expected a field name, got " + describe(key) + " as a key");
      ok = false;
      continue;
    }
    const FD* f = findField(d, key.Scalar());
    if (f == nullptr) {
      std::string unknown_path = joinPath(path, key.Scalar());
      if (options_.ignore_unknown && options_.ignore_unknown(unknown_path)) {
        continue;
      }
      fail(key_pos, unknown_path,
           "unknown field (" + shortName(d) + " has: " + fieldList(d, options_.json_paths) + ")");
      ok = false;
      continue;
    }
    std::string field_path = joinPath(path, pathName(f, options_.json_paths));
    auto [first, fresh] = seen.emplace(f->number(), key_pos);
    if (!fresh) {
      fail(key_pos, field_path,
           "set more than once (first at line " + std::to_string(first->second.line) + ")");
      ok = false;
      continue;
    }
    if (value.IsNull()) {
      record(field_path, key_pos);  // null leaves the field unset; the key still has a place
      continue;
    }
    if (const pb::OneofDescriptor* o = f->real_containing_oneof()) {
      auto [other, first_member] = oneof_members.emplace(o->index(), f);
      if (!first_member) {
        fail(key_pos, field_path,
             quote(pathName(f, options_.json_paths)) + " conflicts with " +
                 quote(pathName(other->second, options_.json_paths)) + ": only one of oneof " +
                 quote(o->name()) + " may be set");
        ok = false;
        continue;
      }
    }
    if (!field(key_pos, value, field_path, msg, f, depth)) {
      ok = false;
    }
  }
  return ok;
}

bool Walker::field(SourcePos key_pos, const YAML::Node& value, const std::string& path,
                   pb::Message* msg, const FD* f, int depth) {
  SourcePos pos = value.IsScalar() ? orElse(toPos(value.Mark()), key_pos) : key_pos;
  record(path, pos);
  const pb::Reflection* r = msg->GetReflection();
  if (f->is_map()) {
    return mapField(value, pos, path, msg, f, depth);
  }
  if (f->is_repeated()) {
    if (value.IsScalar() && f->cpp_type() != FD::CPPTYPE_MESSAGE) {
      // YAML convenience (beyond the JSON mapping): one scalar stands for a one-element list,
      // so `xds: {address: 127.0.0.1:15010}` and `methods: GET` read as written.
      std::string element_path = indexPath(path, 0);
      record(element_path, pos);
      return scalar(value, pos, element_path, msg, f, /*add=*/true);
    }
    if (!value.IsSequence()) {
      fail(pos, path, "expected a sequence of " + expectation(f) + ", got " + describe(value));
      return false;
    }
    bool ok = true;
    size_t i = 0;
    for (auto it = value.begin(); it != value.end(); ++it, ++i) {
      YAML::Node element = *it;
      std::string element_path = indexPath(path, i);
      SourcePos element_pos = orElse(toPos(element.Mark()), pos);
      record(element_path, element_pos);
      bool element_ok;
      if (element.IsNull()) {
        fail(element_pos, element_path, "null is not allowed as a list element");
        element_ok = false;
      } else if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
        element_ok =
            messageValue(element, element_pos, element_path, r->AddMessage(msg, f), depth + 1);
      } else {
        element_ok = scalar(element, element_pos, element_path, msg, f, /*add=*/true);
      }
      ok = ok && element_ok;
    }
    return ok;
  }
  if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
    return messageValue(value, pos, path, r->MutableMessage(msg, f), depth + 1);
  }
  return scalar(value, pos, path, msg, f, /*add=*/false);
}

bool Walker::mapField(const YAML::Node& value, SourcePos pos, const std::string& path,
                      pb::Message* msg, const FD* f, int depth) {
  if (!value.IsMap()) {
    fail(pos, path, "expected a mapping, got " + describe(value));
    return false;
  }
  const FD* key_field = f->message_type()->map_key();
  const FD* value_field = f->message_type()->map_value();
  const pb::Reflection* r = msg->GetReflection();
  std::map<std::string, SourcePos> seen;
  bool ok = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    YAML::Node key = it->first;  // a copy: it-> yields a temporary proxy
    YAML::Node val = it->second;
    SourcePos key_pos = orElse(toPos(key.Mark()), pos);
    if (!key.IsScalar()) {
      fail(key_pos, path, "expected a scalar map key, got " + describe(key));
      ok = false;
      continue;
    }
    std::string entry_path = mapEntryPath(path, key.Scalar());
    auto [first, fresh] = seen.emplace(key.Scalar(), key_pos);
    if (!fresh) {
      fail(key_pos, entry_path,
           "duplicate map key (first at line " + std::to_string(first->second.line) + ")");
      ok = false;
      continue;
    }
    SourcePos val_pos = val.IsScalar() ? orElse(toPos(val.Mark()), key_pos) : key_pos;
    record(entry_path, val_pos);
    pb::Message* entry = r->AddMessage(msg, f);
    bool entry_ok = scalar(key, key_pos, entry_path, entry, key_field, /*add=*/false);
    if (val.IsNull()) {
      fail(key_pos, entry_path, "null is not allowed as a map value");
      entry_ok = false;
    } else if (value_field->cpp_type() == FD::CPPTYPE_MESSAGE) {
      entry_ok =
          messageValue(val, val_pos, entry_path,
                       entry->GetReflection()->MutableMessage(entry, value_field), depth + 1) &&
          entry_ok;
    } else {
      entry_ok = scalar(val, val_pos, entry_path, entry, value_field, /*add=*/false) && entry_ok;
    }
    ok = ok && entry_ok;
  }
  return ok;
}

bool Walker::messageValue(const YAML::Node& node, SourcePos pos, const std::string& path,
                          pb::Message* msg, int depth) {
  const pb::Descriptor* d = msg->GetDescriptor();
  const std::string& type = d->full_name();
  if (type == "google.protobuf.Duration") {
    if (!node.IsScalar()) {
      fail(pos, path, "expected a duration such as \"5s\", got " + describe(node));
      return false;
    }
    auto parsed = parseDuration(node.Scalar());
    if (!parsed.isOk()) {
      fail(pos, path, parsed.status().message());
      return false;
    }
    const int64_t ns = parsed.value().count();
    const pb::Reflection* r = msg->GetReflection();
    r->SetInt64(msg, d->FindFieldByName("seconds"), ns / 1000000000);
    r->SetInt32(msg, d->FindFieldByName("nanos"), static_cast<int32_t>(ns % 1000000000));
    return true;
  }
  if (isWrapperType(type)) {
    return scalar(node, pos, path, msg, d->FindFieldByName("value"), /*add=*/false);
  }
  if (isUnsupportedWellKnownType(type)) {
    fail(pos, path, "the well-known type " + type + " is not supported in config files");
    return false;
  }
  return message(node, pos, path, msg, depth);
}

std::string Walker::expectation(const FD* f) const {
  switch (f->cpp_type()) {
    case FD::CPPTYPE_BOOL:
      return "true or false";
    case FD::CPPTYPE_INT32:
    case FD::CPPTYPE_INT64:
    case FD::CPPTYPE_UINT32:
    case FD::CPPTYPE_UINT64:
      return std::string("an integer (") + f->type_name() + ")";
    case FD::CPPTYPE_FLOAT:
    case FD::CPPTYPE_DOUBLE:
      return std::string("a number (") + f->type_name() + ")";
    case FD::CPPTYPE_STRING:
      return f->type() == FD::TYPE_BYTES ? "a base64 string" : "a string";
    case FD::CPPTYPE_ENUM:
      return "one of " + enumValueList(f->enum_type());
    case FD::CPPTYPE_MESSAGE:
      if (f->message_type()->full_name() == "google.protobuf.Duration") {
        return "durations";
      }
      return "mappings (" + shortName(f->message_type()) + ")";
  }
  return "a value";
}

std::optional<i128> Walker::integer(const std::string& text, SourcePos pos, const std::string& path,
                                    const FD* f, i128 lo, i128 hi) {
  std::optional<i128> v = parseInteger(text);
  if (!v) {
    fail(pos, path, "expected " + expectation(f) + ", got " + quote(text));
    return std::nullopt;
  }
  if (*v < lo || *v > hi) {
    fail(pos, path,
         quote(text) + " is out of range for " + f->type_name() + " (" + toString(lo) + ".." +
             toString(hi) + ")");
    return std::nullopt;
  }
  return v;
}

bool Walker::scalar(const YAML::Node& node, SourcePos pos, const std::string& path,
                    pb::Message* msg, const FD* f, bool add) {
  if (!node.IsScalar()) {
    fail(pos, path, "expected " + expectation(f) + ", got " + describe(node));
    return false;
  }
  const std::string& text = node.Scalar();
  const pb::Reflection* r = msg->GetReflection();
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32: {
      auto v = integer(text, pos, path, f, std::numeric_limits<int32_t>::min(),
                       std::numeric_limits<int32_t>::max());
      if (!v) {
        return false;
      }
      if (add) {
        r->AddInt32(msg, f, static_cast<int32_t>(*v));
      } else {
        r->SetInt32(msg, f, static_cast<int32_t>(*v));
      }
      return true;
    }
    case FD::CPPTYPE_INT64: {
      auto v = integer(text, pos, path, f, std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max());
      if (!v) {
        return false;
      }
      if (add) {
        r->AddInt64(msg, f, static_cast<int64_t>(*v));
      } else {
        r->SetInt64(msg, f, static_cast<int64_t>(*v));
      }
      return true;
    }
    case FD::CPPTYPE_UINT32: {
      auto v = integer(text, pos, path, f, 0, std::numeric_limits<uint32_t>::max());
      if (!v) {
        return false;
      }
      if (add) {
        r->AddUInt32(msg, f, static_cast<uint32_t>(*v));
      } else {
        r->SetUInt32(msg, f, static_cast<uint32_t>(*v));
      }
      return true;
    }
    case FD::CPPTYPE_UINT64: {
      auto v = integer(text, pos, path, f, 0, std::numeric_limits<uint64_t>::max());
      if (!v) {
        return false;
      }
      if (add) {
        r->AddUInt64(msg, f, static_cast<uint64_t>(*v));
      } else {
        r->SetUInt64(msg, f, static_cast<uint64_t>(*v));
      }
      return true;
    }
    case FD::CPPTYPE_FLOAT:
    case FD::CPPTYPE_DOUBLE: {
      double v = 0;
      FloatParse p = parseDouble(text, &v);
      const bool is_float = f->cpp_type() == FD::CPPTYPE_FLOAT;
      if (p == FloatParse::kOk && is_float && std::isfinite(v) &&
          std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
        p = FloatParse::kOutOfRange;
      }
      if (p == FloatParse::kInvalid) {
        fail(pos, path, "expected " + expectation(f) + ", got " + quote(text));
        return false;
      }
      if (p == FloatParse::kOutOfRange) {
        fail(pos, path, quote(text) + " is out of range for " + f->type_name());
        return false;
      }
      if (is_float) {
        if (add) {
          r->AddFloat(msg, f, static_cast<float>(v));
        } else {
          r->SetFloat(msg, f, static_cast<float>(v));
        }
      } else if (add) {
        r->AddDouble(msg, f, v);
      } else {
        r->SetDouble(msg, f, v);
      }
      return true;
    }
    case FD::CPPTYPE_BOOL: {
      std::optional<bool> v = parseBool(text);
      if (!v) {
        fail(pos, path, "expected true or false, got " + quote(text));
        return false;
      }
      if (add) {
        r->AddBool(msg, f, *v);
      } else {
        r->SetBool(msg, f, *v);
      }
      return true;
    }
    case FD::CPPTYPE_STRING: {
      std::string value;
      if (f->type() == FD::TYPE_BYTES) {
        if (!common::decodeBase64(text, &value)) {
          fail(pos, path, "expected a base64 string, got " + quote(text));
          return false;
        }
      } else {
        if (!common::isValidUtf8(text)) {
          fail(pos, path, "not valid UTF-8 (a text field must be: a sidecar cannot parse it)");
          return false;
        }
        value = text;
      }
      if (add) {
        r->AddString(msg, f, std::move(value));
      } else {
        r->SetString(msg, f, std::move(value));
      }
      return true;
    }
    case FD::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* e = f->enum_type();
      const pb::EnumValueDescriptor* ev = e->FindValueByName(text);
      if (ev == nullptr) {
        std::optional<i128> n = parseInteger(text);
        const bool fits = n && *n >= std::numeric_limits<int32_t>::min() &&
                          *n <= std::numeric_limits<int32_t>::max();
        if (fits) {
          ev = e->FindValueByNumber(static_cast<int>(*n));
        }
      }
      if (ev == nullptr) {
        fail(pos, path,
             "unknown value " + quote(text) + " for enum " + shortName(e) +
                 " (valid values: " + enumValueList(e) + ")");
        return false;
      }
      if (add) {
        r->AddEnumValue(msg, f, ev->number());
      } else {
        r->SetEnumValue(msg, f, ev->number());
      }
      return true;
    }
    case FD::CPPTYPE_MESSAGE:
      break;
  }
  fail(pos, path, "internal error: no scalar conversion for this field");
  return false;
}

// Walks one non-null document node; the caller handles exceptions.
common::Status walkDocument(const YAML::Node& root, const std::string& source,
                            google::protobuf::Message* out, SourceMap* map,
                            const ParseOptions& options) {
  const SourcePos root_pos = orElse(toPos(root.Mark()), SourcePos{1, 1});
  if (map != nullptr) {
    map->add("", root_pos);
  }
  Walker walker(source, map, options);
  walker.message(root, root_pos, "", out, 0);
  if (walker.ok() && !out->IsInitialized()) {
    walker.fail(root_pos, "", "missing required fields: " + out->InitializationErrorString());
  }
  return walker.status();
}

// Runs `body` with the output cleared, turning any exception into an error Status.
template <typename Body>
common::Status guarded(const std::string& source, google::protobuf::Message* out, SourceMap* map,
                       Body&& body) {
  if (out == nullptr) {
    return common::Status::internal(source + ": parseYamlInto: null output message");
  }
  try {
    out->Clear();
    if (map != nullptr) {
      map->clear();
    }
    return body();
  } catch (const YAML::Exception& e) {
    return common::Status::invalid(formatConfigError(source, toPos(e.mark), "", e.msg));
  } catch (const std::exception& e) {
    return common::Status::internal(formatConfigError(source, {}, "", e.what()));
  }
}

}  // namespace

std::function<bool(std::string_view path)> ignoreUnknownUnder(std::vector<std::string> roots) {
  return [roots = std::move(roots)](std::string_view path) {
    for (const std::string& root : roots) {
      if (root.empty() || path == root) {
        return true;
      }
      if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
          (path[root.size()] == '.' || path[root.size()] == '[')) {
        return true;
      }
    }
    return false;
  };
}

common::Status parseYamlInto(std::string_view text, std::string_view source_name,
                             google::protobuf::Message* out, SourceMap* map) {
  return parseYamlInto(text, source_name, out, map, ParseOptions{});
}

common::Status parseYamlInto(std::string_view text, std::string_view source_name,
                             google::protobuf::Message* out, SourceMap* map,
                             const ParseOptions& options) {
  const std::string source(source_name);
  return guarded(source, out, map, [&]() -> common::Status {
    common::Status bounded = checkYamlExpansion(text, source);
    if (!bounded.isOk()) {
      return bounded;
    }
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::ParserException& e) {
      return common::Status::invalid(
          formatConfigError(source, toPos(e.mark), "", "YAML syntax error: " + e.msg));
    }
    // Blank documents (a leading or trailing "---") do not count.
    std::vector<const YAML::Node*> real;
    for (const YAML::Node& d : docs) {
      if (!d.IsNull()) {
        real.push_back(&d);
      }
    }
    if (real.empty()) {
      return common::Status::invalid(formatConfigError(source, {}, "", "empty document"));
    }
    if (real.size() > 1) {
      return common::Status::invalid(
          formatConfigError(source, toPos(real[1]->Mark()), "",
                            "expected one YAML document, found " + std::to_string(real.size())));
    }
    return walkDocument(*real[0], source, out, map, options);
  });
}

common::Status parseYamlNodeInto(const YAML::Node& node, std::string_view source_name,
                                 google::protobuf::Message* out, SourceMap* map,
                                 const ParseOptions& options) {
  const std::string source(source_name);
  return guarded(source, out, map, [&]() -> common::Status {
    if (!node.IsDefined()) {  // IsDefined first: Mark() throws on an undefined node
      return common::Status::invalid(formatConfigError(source, {}, "", "empty document"));
    }
    if (node.IsNull()) {
      return common::Status::invalid(
          formatConfigError(source, toPos(node.Mark()), "", "empty document"));
    }
    return walkDocument(node, source, out, map, options);
  });
}

namespace {

// What a node stands for once its aliases are expanded.
struct Expanded {
  uint64_t nodes = 0;
  uint64_t bytes = 0;   // scalar bytes
  uint64_t height = 0;  // collection levels: 0 for a scalar
};

struct LimitCrossed {
  YAML::Mark mark;
  std::string problem;
};

// Sizes every node of the event stream bottom-up; an alias adds the size of the node it names.
class ExpansionCounter : public YAML::EventHandler {
 public:
  explicit ExpansionCounter(const YamlLimits& limits) : limits_(limits) {}

  void OnDocumentStart(const YAML::Mark&) override {
    anchors_.clear();  // anchors are per document
    open_.clear();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, 0); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    leaf(mark, anchor, value.size());
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw LimitCrossed{mark, "YAML alias to a node that contains it (endless expansion)"};
    }
    const Expanded e = it->second;
    ++aliases_;
    alias_nodes_ += e.nodes;
    alias_bytes_ += e.bytes;
    if (aliases_ > limits_.max_aliases) {
      throw LimitCrossed{mark, "more than " + std::to_string(limits_.max_aliases) +
                                   " YAML alias uses (limit of aliases per file)"};
    }
    if (alias_nodes_ > limits_.max_alias_nodes) {
      throw LimitCrossed{mark, "YAML aliases expand to more than " +
                                   std::to_string(limits_.max_alias_nodes) +
                                   " nodes (limit of alias expansion per file)"};
    }
    if (alias_bytes_ > limits_.max_alias_bytes) {
      throw LimitCrossed{mark, "YAML aliases expand to more than " +
                                   std::to_string(limits_.max_alias_bytes) +
                                   " bytes of scalars (limit of alias expansion per file)"};
    }
    child(mark, e);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    YAML::anchor_t anchor;
    Expanded size;
  };

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, uint64_t bytes) {
    const Expanded e{1, bytes, 0};
    if (anchor != YAML::NullAnchor) {
      anchors_[anchor] = e;
    }
    child(mark, e);
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (open_.size() >= limits_.max_depth) {
      throw LimitCrossed{
          mark, "YAML nested more than " + std::to_string(limits_.max_depth) + " levels deep"};
    }
    open_.push_back({anchor, {1, 0, 1}});
  }
  void close() {
    if (open_.empty()) {
      return;
    }
    Open done = open_.back();
    open_.pop_back();
    if (done.anchor != YAML::NullAnchor) {
      anchors_[done.anchor] = done.size;
    }
    if (!open_.empty()) {
      add(&open_.back().size, done.size);
    }
  }
  void child(const YAML::Mark& mark, const Expanded& e) {
    if (open_.size() + e.height > limits_.max_depth) {
      throw LimitCrossed{mark, "YAML nested more than " + std::to_string(limits_.max_depth) +
                                   " levels deep once aliases are expanded"};
    }
    if (!open_.empty()) {
      add(&open_.back().size, e);
    }
  }
  static void add(Expanded* parent, const Expanded& e) {
    parent->nodes += e.nodes;
    parent->bytes += e.bytes;
    parent->height = std::max(parent->height, e.height + 1);
  }

  const YamlLimits& limits_;
  std::unordered_map<YAML::anchor_t, Expanded> anchors_;
  std::vector<Open> open_;
  uint64_t aliases_ = 0;
  uint64_t alias_nodes_ = 0;
  uint64_t alias_bytes_ = 0;
};

}  // namespace

common::Status checkYamlExpansion(std::string_view text, std::string_view source_name,
                                  const YamlLimits& limits) {
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    ExpansionCounter counter(limits);
    while (parser.HandleNextDocument(counter)) {
    }
  } catch (const LimitCrossed& e) {
    return common::Status::invalid(formatConfigError(source_name, toPos(e.mark), "", e.problem));
  } catch (const YAML::Exception& e) {
    return common::Status::invalid(
        formatConfigError(source_name, toPos(e.mark), "", "YAML syntax error: " + e.msg));
  } catch (const std::exception& e) {
    return common::Status::invalid(formatConfigError(source_name, {}, "", e.what()));
  }
  return common::Status::ok();
}

common::Result<std::string> readConfigFile(const std::string& path) {
  auto errnoMessage = [&path](std::string_view what, int err) {
    return path + ": " + std::string(what) + ": " + std::generic_category().message(err);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string m = errnoMessage("cannot open", err);
    return err == ENOENT ? common::Status::notFound(std::move(m))
                         : common::Status::invalid(std::move(m));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return common::Status::invalid(path + ": is a directory, expected a YAML or JSON file");
  }
  std::string text;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      return common::Status::invalid(errnoMessage("cannot read", err));
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

common::Status loadYamlFile(const std::string& path, google::protobuf::Message* out,
                            SourceMap* map) {
  auto text = readConfigFile(path);
  if (!text.isOk()) {
    return text.status();
  }
  return parseYamlInto(text.value(), path, out, map);
}

}  // namespace remora::xds
