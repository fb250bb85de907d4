#include "control/cli/args.h"

#include <cstdlib>

#include "common/host_port.h"

namespace remora::control::cli {

using common::Result;
using common::Status;

Result<CommandArgs> parseCommandArgs(std::string_view command, const std::vector<std::string>& args,
                                     std::initializer_list<std::string_view> value_flags) {
  CommandArgs out;
  const std::string prefix = std::string(command) + ": ";
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      out.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    bool known = false;
    for (std::string_view f : value_flags) {
      known = known || name == f;
    }
    if (!known) {
      return Status::invalid(prefix + "unknown flag " + name);
    }
    if (eq != std::string::npos) {
      out.flags[name] = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      out.flags[name] = args[++i];
    } else {
      return Status::invalid(prefix + name + " needs a value");
    }
  }
  return out;
}

Result<std::string> normalizeAddress(std::string_view text, std::string_view what) {
  std::string_view rest = text;
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  }
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  auto parsed = common::parseHostPort(rest);
  if (!parsed.isOk() || parsed.value().port == 0) {
    return Status::invalid(std::string(what) + " wants IP:PORT, got '" + std::string(text) + "'");
  }
  return std::string(rest);
}

Result<std::string> controlAddress(const CommandArgs& args) {
  if (auto it = args.flags.find("--control"); it != args.flags.end()) {
    return normalizeAddress(it->second, "--control");
  }
  if (const char* env = std::getenv("REMORA_CONTROL"); env != nullptr && *env != '\0') {
    return normalizeAddress(env, "REMORA_CONTROL");
  }
  return std::string(kDefaultControlAddress);
}

int usageError(std::FILE* err, std::string_view message) {
  std::fprintf(err, "remoractl: %.*s (see remoractl --help)\n", static_cast<int>(message.size()),
               message.data());
  return kExitUsage;
}

int commandFailure(std::FILE* err, std::string_view command, std::string_view message) {
  std::fprintf(err, "remoractl: %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data());
  return kExitFailure;
}

}  // namespace remora::control::cli
