#pragma once
// Command-line flags shared by the remora binaries: `--name value` or `--name=value`, flags
// without a value (`--help`), and an environment twin for every flag that takes a value
// (`--foo-bar` -> PREFIX + FOO_BAR) read when the flag is absent (the flag wins). Errors are one
// line, meant for exit code 2.

#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace remora::common {

template <typename Options>
struct FlagSpec {
  const char* name;  // without the leading "--"
  std::function<Status(Options&, const std::string&)> set;
  bool takes_value = true;
};

// "--foo-bar" -> `prefix` + "FOO_BAR".
std::string flagEnvName(const std::string& prefix, const std::string& flag);

// Splits "--name=value" / "--name" into name and value; `has_value` tells which.
void splitFlag(const std::string& arg, std::string& name, std::string& value, bool& has_value);

// The items of a comma-separated flag value, each trimmed of spaces and tabs, empty ones
// dropped: "a, b,,c" -> {"a", "b", "c"}.
std::vector<std::string> splitCommaList(const std::string& value);

// Applies argv, then the environment twins of the flags argv did not give, to `options`.
template <typename Options>
Status parseFlags(int argc, char** argv, const std::vector<FlagSpec<Options>>& specs,
                  const std::string& env_prefix, Options& options) {
  std::set<std::string> seen;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      return Status::invalid("unexpected argument '" + arg + "' (see --help)");
    }
    std::string name;
    std::string value;
    bool has_value = false;
    splitFlag(arg, name, value, has_value);
    const FlagSpec<Options>* spec = nullptr;
    for (const FlagSpec<Options>& f : specs) {
      if (name == f.name) {
        spec = &f;
      }
    }
    if (spec == nullptr) {
      return Status::invalid("unknown flag --" + name + " (see --help)");
    }
    if (spec->takes_value && !has_value) {
      if (i + 1 >= argc) {
        return Status::invalid("--" + name + " needs a value");
      }
      value = argv[++i];
    }
    Status s = spec->set(options, value);
    if (!s.isOk()) {
      return s;
    }
    seen.insert(name);
  }
  for (const FlagSpec<Options>& f : specs) {
    if (!f.takes_value || seen.count(f.name) != 0) {
      continue;
    }
    const std::string env_name = flagEnvName(env_prefix, f.name);
    const char* env = std::getenv(env_name.c_str());
    if (env != nullptr && *env != '\0') {
      Status s = f.set(options, env);
      if (!s.isOk()) {
        return Status::invalid(env_name + ": " + s.message());
      }
    }
  }
  return Status::ok();
}

}  // namespace remora::common
