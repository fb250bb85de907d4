#pragma once
// Generic YAML / JSON -> protobuf loading by descriptor reflection, with the standard protobuf
// JSON mapping and errors of the shape "FILE:LINE:COL: FIELD.PATH: problem".

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/message.h>

#include "common/status.h"
#include "xds/source_map.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace remora::xds {

// How parseYamlInto / parseYamlNodeInto treat a document beyond the fixed mapping rules below.
// The default (all members empty / false) is the strict behaviour of the config model.
struct ParseOptions {
  // Spell field paths (in error messages, in SourceMap keys and in the unknown-field predicate
  // below) with the json_name of each field (lowerCamelCase, as Kubernetes manifests are
  // written: `spec.backendRefs[0].port`) instead of the proto name (`spec.backend_refs[0].port`).
  // The "X has: ..." list of an unknown-field error uses the same spelling.
  bool json_paths = false;
  // Called with the path of a key that names no field (the parent's path plus the key as
  // written, e.g. "metadata.uid" or "status"); true skips the key and its whole value without an
  // error and without a SourceMap entry. Empty: every unknown key is an error.
  std::function<bool(std::string_view path)> ignore_unknown;
};

// A predicate for ParseOptions::ignore_unknown: true for a path equal to one of `roots` or
// below one (`root.` or `root[` follows). The root "" matches every path.
std::function<bool(std::string_view path)> ignoreUnknownUnder(std::vector<std::string> roots);

// What one YAML text may expand to. YAML aliases (`*name`) repeat an anchored node without
// repeating its bytes, so a few KB of nested aliases ("billion laughs") stand for billions of
// nodes once walked. checkYamlExpansion counts what the text stands for, each alias at every use
// with the whole size of the node it names, and refuses the text at the first place a limit is
// crossed, before anything is built from it.
struct YamlLimits {
  size_t max_depth = 64;                     // nesting of sequences and mappings, aliases expanded
  size_t max_aliases = 10000;                // alias uses in the whole text
  size_t max_alias_nodes = 100000;           // nodes that alias uses add, in the whole text
  size_t max_alias_bytes = 4 * 1024 * 1024;  // scalar bytes that alias uses add
};

// Reads the YAML event stream of `text` (every document) and checks it against `limits` without
// expanding anything: cost and memory are linear in the text. Errors: kInvalidArgument
// "SOURCE:LINE:COL: YAML ... limit ..." at the alias or collection that crossed a limit, or the
// syntax error found first ("SOURCE:LINE:COL: YAML syntax error: ..."). Never throws.
common::Status checkYamlExpansion(std::string_view text, std::string_view source_name,
                                  const YamlLimits& limits = {});

// Parses `text`, one YAML document (JSON is a YAML subset, so JSON works too), into `out`, which
// is cleared first. Mapping rules (the protobuf JSON mapping):
//  - a key is a field's proto name (snake_case) or its json_name (lowerCamelCase);
//  - messages are mappings, repeated fields sequences, map fields mappings (keys converted to
//    the map's key type); as a YAML convenience a single scalar given for a repeated scalar
//    field is a one-element list (`methods: GET` == `methods: [GET]`);
//  - enums by exact value name (case-sensitive) or by number of a defined value;
//  - integers in decimal, range-checked for their type; floats/doubles also accept inf/nan;
//    bools are true/false; bytes are base64; strings take any scalar as written that is valid
//    UTF-8 (protobuf refuses to parse a `string` field that is not, so a peer would too);
//  - google.protobuf.Duration is a string such as "250ms" or "1.5s" (see xds/duration.h);
//    the wrapper types (google.protobuf.UInt32Value, ...) take their bare scalar;
//  - null (`~`, `null` or an empty value) leaves a field unset; setting a field twice or two
//    members of one oneof is an error; `optional` scalars get presence when written.
// The text is first checked with checkYamlExpansion (default YamlLimits).
// Unknown fields, wrong node kinds, bad numbers, bad enum names (the message lists the valid
// names), bad durations, YAML syntax errors, an empty document ("empty document") and more than
// one non-empty document are all errors. Parsing goes on after an error, so the returned
// kInvalidArgument Status lists every problem found, one per line, each
// "SOURCE_NAME:LINE:COL: PATH: problem" (1-based; see SourceMap for the path syntax).
// On error `out` holds a partial result and must not be used.
// When `map` is not null it is cleared and receives the position of every field set (the
// value's position for scalars, the key's for messages, lists and maps) plus "" for the
// document. Never throws.
common::Status parseYamlInto(std::string_view text, std::string_view source_name,
                             google::protobuf::Message* out, SourceMap* map);

// parseYamlInto with options.
common::Status parseYamlInto(std::string_view text, std::string_view source_name,
                             google::protobuf::Message* out, SourceMap* map,
                             const ParseOptions& options);

// Walks one already loaded YAML node (a document from YAML::LoadAll, or any mapping inside one)
// into `out` with the rules of parseYamlInto. Positions are the node's own marks, so a document
// from a multi-document stream reports the stream's real lines. A null node is "empty
// document". The node is only read; it may be dropped when the call returns. Never throws.
common::Status parseYamlNodeInto(const YAML::Node& node, std::string_view source_name,
                                 google::protobuf::Message* out, SourceMap* map,
                                 const ParseOptions& options = {});

// The whole content of the file at `path`. Errors: kNotFound "PATH: cannot open: ..." when it
// does not exist, kInvalidArgument "PATH: ..." when it cannot be opened or read or is a
// directory.
common::Result<std::string> readConfigFile(const std::string& path);

// Reads the file at `path` and calls parseYamlInto with `path` as the source name.
// A file that cannot be opened or read gives kNotFound / kInvalidArgument "PATH: ...".
common::Status loadYamlFile(const std::string& path, google::protobuf::Message* out,
                            SourceMap* map);

}  // namespace remora::xds
