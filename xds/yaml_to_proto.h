#pragma once
// Generic YAML / JSON -> protobuf loading by descriptor reflection, with the standard protobuf
// JSON mapping and errors of the shape "FILE:LINE:COL: FIELD.PATH: problem".

#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "common/status.h"
#include "xds/source_map.h"

namespace remora::xds {

// Parses `text`, one YAML document (JSON is a YAML subset, so JSON works too), into `out`, which
// is cleared first. Mapping rules (the protobuf JSON mapping):
//  - a key is a field's proto name (snake_case) or its json_name (lowerCamelCase);
//  - messages are mappings, repeated fields sequences, map fields mappings (keys converted to
//    the map's key type); as a YAML convenience a single scalar given for a repeated scalar
//    field is a one-element list (`methods: GET` == `methods: [GET]`);
//  - enums by exact value name (case-sensitive) or by number of a defined value;
//  - integers in decimal, range-checked for their type; floats/doubles also accept inf/nan;
//    bools are true/false; bytes are base64; strings take any scalar as written;
//  - google.protobuf.Duration is a string such as "250ms" or "1.5s" (see xds/duration.h);
//    the wrapper types (google.protobuf.UInt32Value, ...) take their bare scalar;
//  - null (`~`, `null` or an empty value) leaves a field unset; setting a field twice or two
//    members of one oneof is an error; `optional` scalars get presence when written.
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

// Reads the file at `path` and calls parseYamlInto with `path` as the source name.
// A file that cannot be opened or read gives kNotFound / kInvalidArgument "PATH: ...".
common::Status loadYamlFile(const std::string& path, google::protobuf::Message* out,
                            SourceMap* map);

}  // namespace remora::xds
