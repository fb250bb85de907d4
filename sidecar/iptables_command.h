#pragma once
// `remora-sidecar iptables ...`: what the injected init container runs to install (or remove)
// the interception rules of iptables_rules.h in the pod's network namespace.
//
// Flags (each that takes a value has an environment twin REMORA_FOO_BAR; the flag wins):
//   --proxy-uid N (1337), --proxy-gid N (none), --outbound-port P (15001),
//   --inbound-port P (15006), --exclude-inbound-ports LIST, --exclude-outbound-ports LIST,
//   --exclude-outbound-ip-ranges CIDR,..., --include-inbound-ports '*'|LIST ('*'),
//   --dry-run, --cleanup, --help.
//
// For each family (IPv4, then IPv6 when `ip6tables-save -t nat` works; otherwise a warning on
// stderr and IPv4 only) it reads the nat table with `iptables-save -t nat`, builds one batch
// and feeds it to `iptables-restore --noflush` on stdin. Programs are found on PATH and started
// with posix_spawn (no shell); each gets 30 s.
//
// Exit codes: 0 done (the applied batches are printed on stdout, for the init container's log),
// 1 an iptables program failed or could not be started (its stderr is printed), 2 bad flags
// (one line naming the flag).

#include <string>
#include <vector>

#include "common/status.h"
#include "sidecar/iptables_rules.h"

namespace remora::sidecar {

struct IptablesOptions {
  InterceptionConfig config;
  bool dry_run = false;
  bool cleanup = false;
  bool help = false;
};

// argv[0] is "iptables" (the subcommand); the rest are its flags. Reads REMORA_* environment
// twins. Errors are one line naming the flag (or the environment variable).
common::Result<IptablesOptions> parseIptablesOptions(int argc, char** argv);
std::string iptablesUsage();

// Parses, runs and reports as described above; returns the exit code.
int runIptablesCommand(int argc, char** argv);

}  // namespace remora::sidecar
