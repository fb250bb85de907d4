#include "control/cli/yaml_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "common/utf8.h"
#include "xds/yaml_to_proto.h"

namespace remora::control::cli {

using common::Result;
using common::Status;
using google::protobuf::Value;

namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

const char* const kStrTag = "tag:yaml.org,2002:str";

bool isNullWord(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

int boolWord(std::string_view s) {  // 1 true, 0 false, -1 neither
  if (s == "true" || s == "True" || s == "TRUE") {
    return 1;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return 0;
  }
  return -1;
}

const std::regex& intPattern() {
  static const std::regex r("[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+");
  return r;
}

const std::regex& floatPattern() {
  static const std::regex r(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  return r;
}

const std::regex& specialFloatPattern() {
  static const std::regex r(R"([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  return r;
}

// A core-schema scalar: null, bool, int or float; "" in `problem` when `text` is a string.
// Returns true when typed (then *out is set) or when there is a problem.
bool resolvePlain(const std::string& text, Value* out, std::string* problem) {
  if (isNullWord(text)) {
    out->set_null_value(google::protobuf::NULL_VALUE);
    return true;
  }
  if (int b = boolWord(text); b >= 0) {
    out->set_bool_value(b == 1);
    return true;
  }
  if (std::regex_match(text, intPattern())) {
    double d = 0;
    if (text.rfind("0o", 0) == 0 || text.rfind("0x", 0) == 0) {
      const std::string digits = text.substr(2);
      d = digits.size() > 13 ? kMaxExactInteger * 2
                             : static_cast<double>(
                                   std::strtoull(digits.c_str(), nullptr, text[1] == 'o' ? 8 : 16));
    } else {
      d = std::strtod(text.c_str(), nullptr);
    }
    if (std::fabs(d) > kMaxExactInteger) {
      *problem = "integer '" + text + "' is beyond +-2^53: a JSON number cannot keep it exactly";
      return true;
    }
    out->set_number_value(d);
    return true;
  }
  if (std::regex_match(text, floatPattern())) {
    const double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) {
      *problem = "number '" + text + "' is out of range";
      return true;
    }
    out->set_number_value(d);
    return true;
  }
  if (std::regex_match(text, specialFloatPattern())) {
    *problem = "'" + text + "': infinities and NaN have no JSON form";
    return true;
  }
  return false;
}

class Converter {
 public:
  explicit Converter(int depth_limit) : depth_limit_(depth_limit) {}

  // On failure `problem_` and `problem_line_` say why and where.
  bool convert(const YAML::Node& node, Value* out, int depth) {
    if (depth > depth_limit_) {
      return fail(node, "nesting deeper than " + std::to_string(depth_limit_));
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out->set_null_value(google::protobuf::NULL_VALUE);
        return true;
      case YAML::NodeType::Scalar:
        return scalar(node, out);
      case YAML::NodeType::Sequence: {
        auto* list = out->mutable_list_value();
        for (const YAML::Node& element : node) {
          if (!convert(element, list->add_values(), depth + 1)) {
            return false;
          }
        }
        return true;
      }
      case YAML::NodeType::Map: {
        auto* fields = out->mutable_struct_value()->mutable_fields();
        for (auto it = node.begin(); it != node.end(); ++it) {
          if (!it->first.IsScalar()) {
            return fail(it->first, "a mapping key must be a scalar");
          }
          const std::string& key = it->first.Scalar();
          if (!common::isValidUtf8(key)) {
            return fail(it->first, "key is not valid UTF-8");
          }
          if (fields->count(key) != 0) {
            return fail(it->first, "key '" + key + "' appears twice");
          }
          if (!convert(it->second, &(*fields)[key], depth + 1)) {
            return false;
          }
        }
        return true;
      }
    }
    return fail(node, "unexpected node");
  }

  const std::string& problem() const { return problem_; }
  int problemLine() const { return problem_line_; }

 private:
  bool scalar(const YAML::Node& node, Value* out) {
    const std::string& text = node.Scalar();
    if (!common::isValidUtf8(text)) {
      return fail(node, "value is not valid UTF-8");
    }
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == kStrTag) {  // quoted or block scalar, or !!str
      out->set_string_value(text);
      return true;
    }
    std::string problem;
    if (tag == "?" || tag.empty()) {
      if (resolvePlain(text, out, &problem)) {
        return problem.empty() || fail(node, problem);
      }
      out->set_string_value(text);
      return true;
    }
    return fail(node, "tag '" + tag + "' is not supported (only the YAML core schema)");
  }

  bool fail(const YAML::Node& node, std::string problem) {
    problem_ = std::move(problem);
    problem_line_ = node.Mark().line + 1;
    return false;
  }

  int depth_limit_;
  std::string problem_;
  int problem_line_ = 0;
};

// The 1-based document a 1-based line belongs to, counted as yaml-cpp does: every "---" starts
// one, and so does content before the first "---".
int documentAtLine(std::string_view text, int line) {
  int docs = 0;
  int current = 1;
  size_t pos = 0;
  while (pos < text.size() && current <= line) {
    size_t end = text.find('\n', pos);
    std::string_view l = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (l.rfind("---", 0) == 0 && (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r')) {
      ++docs;
    } else if (docs == 0 && !l.empty() && l[0] != '#' &&
               l.find_first_not_of(" \t\r") != std::string::npos) {
      docs = 1;
    }
    if (end == std::string_view::npos) {
      break;
    }
    pos = end + 1;
    ++current;
  }
  return std::max(docs, 1);
}

std::string where(std::string_view source, int doc, int line) {
  return std::string(source) + ": document " + std::to_string(doc) + ", line " +
         std::to_string(line) + ": ";
}

// Strings that a YAML 1.1 or 1.2 reader would type as something else, or are empty.
bool needsQuotes(const std::string& s) {
  if (s.empty()) {
    return true;
  }
  // A digit, sign or dot may start a number (1.1 also has 0b, 1_000, 1:30, -.5, .inf); "~"
  // is null, "<<" a merge key, "=" a 1.1 value key. Other syntax YAML::Emitter quotes itself.
  const char c = s[0];
  const char next = s.size() > 1 ? s[1] : '\0';
  if ((c >= '0' && c <= '9') || c == '.' || c == '~' || c == '<' || c == '=' ||
      ((c == '-' || c == '+') && (s.size() == 1 || (next >= '0' && next <= '9') || next == '.'))) {
    return true;
  }
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  static const char* const kWords[] = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
  for (const char* w : kWords) {
    if (lower == w) {
      return true;
    }
  }
  return false;
}

std::string numberText(double d) {
  if (std::nearbyint(d) == d && std::fabs(d) <= kMaxExactInteger) {
    return std::to_string(static_cast<long long>(d));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, end);
}

void emitString(YAML::Emitter& e, const std::string& s) {
  if (needsQuotes(s)) {
    e << YAML::DoubleQuoted << s;
  } else {
    e << s;
  }
}

void emitValue(YAML::Emitter& e, const Value& v) {
  switch (v.kind_case()) {
    case Value::kStructValue: {
      const auto& fields = v.struct_value().fields();
      if (fields.empty()) {
        e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      std::vector<const std::string*> keys;
      for (const auto& [k, unused] : fields) {
        keys.push_back(&k);
      }
      std::sort(keys.begin(), keys.end(),
                [](const std::string* a, const std::string* b) { return *a < *b; });
      e << YAML::BeginMap;
      for (const std::string* k : keys) {
        e << YAML::Key;
        emitString(e, *k);
        e << YAML::Value;
        emitValue(e, fields.at(*k));
      }
      e << YAML::EndMap;
      return;
    }
    case Value::kListValue:
      if (v.list_value().values_size() == 0) {
        e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      e << YAML::BeginSeq;
      for (const Value& element : v.list_value().values()) {
        emitValue(e, element);
      }
      e << YAML::EndSeq;
      return;
    case Value::kStringValue:
      emitString(e, v.string_value());
      return;
    case Value::kNumberValue:
      e << numberText(v.number_value());
      return;
    case Value::kBoolValue:
      e << (v.bool_value() ? "true" : "false");
      return;
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      e << YAML::Null;
      return;
  }
}

}  // namespace

Result<std::vector<YamlDocument>> parseYamlDocuments(std::string_view text,
                                                     std::string_view source) {
  const xds::YamlLimits limits;
  if (Status s = xds::checkYamlExpansion(text, source, limits); !s.isOk()) {
    // "SOURCE:LINE:COL: problem": say which document that line is in.
    std::string_view rest = std::string_view(s.message()).substr(source.size());
    int line = 0;
    if (!rest.empty() && rest[0] == ':') {
      line = std::atoi(std::string(rest.substr(1)).c_str());
    }
    const size_t problem_at = s.message().find(": ", source.size());
    return Status::invalid(
        where(source, documentAtLine(text, line), line) +
        (problem_at == std::string::npos ? s.message() : s.message().substr(problem_at + 2)));
  }
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line + 1;
    return Status::invalid(where(source, documentAtLine(text, line), line) +
                           "YAML syntax error: " + e.msg);
  }
  std::vector<YamlDocument> docs;
  int index = 0;
  for (const YAML::Node& node : nodes) {
    ++index;
    if (node.IsNull()) {
      continue;
    }
    YamlDocument doc;
    doc.index = index;
    doc.line = node.Mark().line + 1;
    doc.node = node;
    Converter converter(static_cast<int>(limits.max_depth));
    if (!converter.convert(node, &doc.value, 0)) {
      return Status::invalid(where(source, index, converter.problemLine()) + converter.problem());
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

int lineOf(const YamlDocument& doc, std::string_view pointer) {
  YAML::Node node = doc.node;
  int line = doc.line;
  size_t pos = pointer.empty() ? std::string_view::npos : 1;
  while (pos != std::string_view::npos && pos <= pointer.size()) {
    const size_t slash = pointer.find('/', pos);
    std::string token(pointer.substr(pos, slash == std::string_view::npos ? slash : slash - pos));
    for (size_t i = token.find('~'); i != std::string::npos; i = token.find('~', i + 1)) {
      if (i + 1 < token.size()) {
        token.replace(i, 2, token[i + 1] == '1' ? "/" : "~");
      }
    }
    const YAML::Node current = node;
    bool found = false;
    if (current.IsMap()) {
      for (auto it = current.begin(); it != current.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == token) {
          node.reset(it->second);
          line = it->first.Mark().line + 1;
          found = true;
        }
      }
    } else if (current.IsSequence()) {
      const size_t i = std::strtoul(token.c_str(), nullptr, 10);
      if (i < current.size()) {
        node.reset(current[i]);
        line = node.Mark().line + 1;
        found = true;
      }
    }
    if (!found) {
      break;
    }
    pos = slash == std::string_view::npos ? slash : slash + 1;
  }
  return line;
}

std::string emitYaml(const Value& value) {
  YAML::Emitter e;
  e.SetNullFormat(YAML::LowerNull);
  e.SetIndent(2);
  e.SetSeqFormat(YAML::Block);
  emitValue(e, value);
  return std::string(e.c_str()) + "\n";
}

}  // namespace remora::control::cli
