#pragma once
// Arguments of remoractl's commands: flags ("--name VALUE" or "--name=VALUE") and positionals,
// and the addresses they name. Errors are one-line usage messages (kInvalidArgument) that
// main() prints as "remoractl: MESSAGE (see remoractl --help)" with exit code 2.

#include <cstdio>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace remora::control::cli {

struct CommandArgs {
  std::map<std::string, std::string> flags;  // "--window" -> "2s"
  std::vector<std::string> positionals;      // in order
  bool has(std::string_view flag) const { return flags.count(std::string(flag)) > 0; }
};

// Splits `args` (what follows the command name). Every flag of `value_flags` takes a value; any
// other argument starting with '-' (but "-" alone) is "COMMAND: unknown flag X". A flag given
// twice keeps the last value. "--" ends the flags.
common::Result<CommandArgs> parseCommandArgs(std::string_view command,
                                             const std::vector<std::string>& args,
                                             std::initializer_list<std::string_view> value_flags);

// "IP:PORT" from what a user typed: an optional "http://" prefix and trailing "/" are dropped;
// the rest must be IPv4:PORT or [IPv6]:PORT with a non-zero port. `what` names the source in
// the error: "WHAT wants IP:PORT, got 'TEXT'".
common::Result<std::string> normalizeAddress(std::string_view text, std::string_view what);

// The control plane's address: `--control` when given, else $REMORA_CONTROL when set and not
// empty, else 127.0.0.1:15014; normalized as above.
common::Result<std::string> controlAddress(const CommandArgs& args);

inline constexpr const char* kDefaultControlAddress = "127.0.0.1:15014";

// Exit codes of every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed (cannot connect, bad answer)
inline constexpr int kExitUsage = 2;

// Prints "remoractl: MESSAGE (see remoractl --help)" on `err`; returns kExitUsage.
int usageError(std::FILE* err, std::string_view message);
// Prints "remoractl: COMMAND: MESSAGE" on `err`; returns kExitFailure.
int commandFailure(std::FILE* err, std::string_view command, std::string_view message);

}  // namespace remora::control::cli
