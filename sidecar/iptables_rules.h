#pragma once
// The interception rules of `remora-sidecar iptables` as text, and the parsing of the values
// its flags take. Pure: no process is started and nothing is read from the system; the caller
// (iptables_command.h) feeds in what `iptables-save -t nat` printed and runs the batches.
//
// The rules live in the nat table, in chains of remora's own (every name starts "REMORA_"):
//   PREROUTING -p tcp -> REMORA_INBOUND      own ports and excluded ports RETURN, then every
//                                            (or every listed) port -> REMORA_IN_REDIRECT
//   REMORA_IN_REDIRECT                       REDIRECT --to-ports <inbound port>
//   OUTPUT -p tcp -> REMORA_OUTPUT           the proxy's own traffic RETURNs (uid, gid), except
//                                            that the proxy dialling this pod's own address
//                                            over lo goes through REMORA_INBOUND; the app's
//                                            traffic over lo RETURNs; localhost, excluded
//                                            ranges and ports RETURN; the rest -> REMORA_REDIRECT
//   REMORA_REDIRECT                          REDIRECT --to-ports <outbound port>
// docs/interception.md describes them for users.
//
// Idempotency: an install batch first removes what remora left in the table (every rule outside
// the REMORA_ chains that jumps into one is deleted with -D, every REMORA_ chain is flushed by
// declaring it, and REMORA_ chains this version no longer uses are deleted with -X), then
// appends the rules. One `iptables-restore --noflush` commits the whole batch atomically, so
// running it on any earlier state leaves exactly one copy of each rule.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace remora::sidecar {

enum class IpFamily : uint8_t { kV4, kV6 };

// An address range, normalized: host bits cleared, "10.0.0.0/8", "fd00::/8".
struct IpRange {
  IpFamily family = IpFamily::kV4;
  std::string text;
  bool operator==(const IpRange& o) const = default;
};

struct InterceptionConfig {
  uint32_t proxy_uid = 1337;
  std::optional<uint32_t> proxy_gid;
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  std::vector<uint16_t> exclude_inbound_ports;
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<IpRange> exclude_outbound_ranges;  // both families; each batch takes its own
  // Inbound capture: every port (the default, '*'), or only include_inbound_ports (an empty
  // list: no inbound capture at all).
  bool include_all_inbound = true;
  std::vector<uint16_t> include_inbound_ports;
};

// The sidecar's own ports, never redirected inbound whatever the flags say: 15000 (admin),
// 15001, 15006, 15021 (health), 15090 (Prometheus), plus the configured outbound and inbound
// ports when they differ. Sorted, no duplicates.
std::vector<uint16_t> sidecarOwnPorts(const InterceptionConfig& config);

// Parsers for flag values. `flag` ("--exclude-inbound-ports") starts every error message, which
// is one line and quotes the offending entry. Lists are comma-separated; spaces around entries
// and empty entries are ignored; duplicates are dropped (the first position kept); at most
// kMaxListEntries entries.
inline constexpr size_t kMaxListEntries = 1024;
// A port number 1..65535.
common::Result<uint16_t> parsePort(std::string_view flag, std::string_view text);
common::Result<std::vector<uint16_t>> parsePortList(std::string_view flag, std::string_view text);
// A numeric uid or gid, 0..4294967294.
common::Result<uint32_t> parseOwnerId(std::string_view flag, std::string_view text);
// ADDRESS[/PREFIX] entries, IPv4 or IPv6 mixed; no prefix means one address (/32, /128).
common::Result<std::vector<IpRange>> parseIpRangeList(std::string_view flag, std::string_view text);

// What remora has in a nat table now, from `iptables-save -t nat` (or ip6tables-save) output.
struct NatState {
  std::vector<std::string> remora_chains;  // declared chains whose name starts "REMORA_"
  // Rules of other chains that jump (-j / -g) to a REMORA_ chain, as saved ("-A OUTPUT ...").
  std::vector<std::string> jumps_into_remora;
};
NatState parseNatState(std::string_view save_output);

// The chains the install batch creates, in the order it declares them.
const std::vector<std::string>& remoraChains();

// The install batch for `family` (iptables-restore format, for --noflush), replacing whatever
// `current` holds. Ends with "COMMIT\n".
std::string installBatch(const InterceptionConfig& config, IpFamily family,
                         const NatState& current);

// The batch that removes every remora rule and chain in `current` and nothing else; empty when
// there is nothing to remove.
std::string cleanupBatch(const NatState& current);

}  // namespace remora::sidecar
