#pragma once
// Multi-document YAML <-> google.protobuf.Value (the JSON document model), for commands that
// rewrite Kubernetes manifests (`remoractl inject`). The YAML 1.2 core schema decides what a
// scalar is: quoted scalars are strings; plain `null`/`~`/empty, `true`/`false`, integers and
// floats are typed; everything else is a string. Comments, anchors and key order are not kept:
// documents are written back with keys in alphabetical order (as `kubectl get -o yaml` does).

#include <google/protobuf/struct.pb.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace remora::control::cli {

struct YamlDocument {
  google::protobuf::Value value;
  YAML::Node node;  // the parsed document, for the line of a field (lineOf)
  int index = 0;    // 1-based position among the stream's documents (empty ones included)
  int line = 0;     // 1-based line where the document's content starts
};

// Every non-empty document of `text` (documents holding nothing, or only comments, are left
// out). Errors (kInvalidArgument), one line naming the source, the document and the line:
// "SOURCE: document N, line L: problem" — YAML syntax errors, alias bombs (xds::YamlLimits),
// non-scalar or duplicate mapping keys, integers beyond +-2^53 (a JSON number would not keep
// them exactly), infinities and NaN, tags other than the core schema's, invalid UTF-8.
common::Result<std::vector<YamlDocument>> parseYamlDocuments(std::string_view text,
                                                             std::string_view source);

// The 1-based line of the node at JSON Pointer `pointer` inside `doc`, or of its deepest
// ancestor that exists; `doc`'s own line for "".
int lineOf(const YamlDocument& doc, std::string_view pointer);

// One YAML document (no "---"), ending in a newline. Strings that would read back as another
// type ("true", "8080", "1.0", "null", "yes", "") are double-quoted, so parseYamlDocuments of
// the output gives `value` back exactly. Numbers that are whole and within +-2^53 are written
// without a fraction.
std::string emitYaml(const google::protobuf::Value& value);

}  // namespace remora::control::cli
