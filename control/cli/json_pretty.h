#pragma once
// Indenting JSON text for people (`remoractl proxy-config ADDR config`).

#include <string>
#include <string_view>

namespace remora::control::cli {

// `json` re-indented by two spaces per level, one member or element per line, ": " after keys,
// empty containers as {} and [], a final newline. Keys keep their order and scalars their exact
// text (the sidecar's own rendering). `json` must be valid JSON (check it first, e.g. with
// parseJsonValue): only whitespace outside strings is changed, nothing is validated here.
std::string prettyJson(std::string_view json);

}  // namespace remora::control::cli
