#include "sidecar/iptables_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace remora::sidecar {

using common::Result;
using common::Status;

namespace {

constexpr std::string_view kChainPrefix = "REMORA_";
constexpr const char* kInbound = "REMORA_INBOUND";
constexpr const char* kInRedirect = "REMORA_IN_REDIRECT";
constexpr const char* kOutput = "REMORA_OUTPUT";
constexpr const char* kRedirect = "REMORA_REDIRECT";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// The non-empty, trimmed entries of a comma-separated list.
std::vector<std::string_view> listEntries(std::string_view text) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view entry = trim(text.substr(0, comma));
    if (!entry.empty()) {
      out.push_back(entry);
    }
    if (comma == std::string_view::npos) {
      return out;
    }
    text.remove_prefix(comma + 1);
  }
}

std::string quoted(std::string_view s) {
  constexpr size_t kShown = 64;  // a hostile value is not echoed whole
  std::string out = "'";
  out.append(s.substr(0, kShown));
  if (s.size() > kShown) {
    out.append("...");
  }
  return out + "'";
}

// Decimal digits only (no sign, no spaces), at most `max`.
std::optional<uint64_t> parseNumber(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 20) {
    return std::nullopt;
  }
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n > max) {
    return std::nullopt;
  }
  return n;
}

Status tooLong(std::string_view flag) {
  return Status::invalid(std::string(flag) + ": more than " + std::to_string(kMaxListEntries) +
                         " entries");
}

template <typename T>
void appendUnique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) {
    v.push_back(x);
  }
}

Result<IpRange> parseIpRange(std::string_view flag, std::string_view entry) {
  size_t slash = entry.find('/');
  std::string address(entry.substr(0, slash));
  std::array<uint8_t, 16> bytes{};
  IpRange range;
  size_t bits = 0;
  if (inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) {
    range.family = IpFamily::kV4;
    bits = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) {
    range.family = IpFamily::kV6;
    bits = 128;
  } else {
    return Status::invalid(std::string(flag) + ": " + quoted(entry) +
                           " is not an IPv4 or IPv6 address or CIDR range (ADDRESS[/PREFIX])");
  }
  size_t prefix = bits;
  if (slash != std::string_view::npos) {
    auto n = parseNumber(entry.substr(slash + 1), bits);
    if (!n) {
      return Status::invalid(std::string(flag) + ": " + quoted(entry) +
                             " has a bad prefix length (0.." + std::to_string(bits) + " for " +
                             (bits == 32 ? "IPv4" : "IPv6") + ")");
    }
    prefix = static_cast<size_t>(*n);
  }
  // Clear the host bits, as iptables does, so the saved rule reads the same as ours.
  for (size_t bit = prefix; bit < bits; ++bit) {
    bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(range.family == IpFamily::kV4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
  range.text = std::string(buf) + "/" + std::to_string(prefix);
  return range;
}

// The entries of a list, each parsed by `parse_one(flag, entry)`, duplicates dropped, bounded.
template <typename T, typename ParseOne>
Result<std::vector<T>> parseList(std::string_view flag, std::string_view text, ParseOne parse_one) {
  std::vector<T> values;
  for (std::string_view entry : listEntries(text)) {
    Result<T> value = parse_one(flag, entry);
    if (!value.isOk()) {
      return value.status();
    }
    appendUnique(values, value.value());
    if (values.size() > kMaxListEntries) {
      return tooLong(flag);
    }
  }
  return values;
}

std::string dportRule(const char* chain, uint16_t port, const char* target) {
  return std::string("-A ") + chain + " -p tcp -m tcp --dport " + std::to_string(port) + " -j " +
         target;
}

// The -A lines of the install batch, in order.
std::vector<std::string> rules(const InterceptionConfig& c, IpFamily family) {
  const std::string localhost = family == IpFamily::kV4 ? "127.0.0.1/32" : "::1/128";
  std::vector<std::string> out;

  std::vector<uint16_t> not_captured = sidecarOwnPorts(c);
  for (uint16_t p : c.exclude_inbound_ports) {
    appendUnique(not_captured, p);
  }
  for (uint16_t p : not_captured) {
    out.push_back(dportRule(kInbound, p, "RETURN"));
  }
  if (c.include_all_inbound) {
    out.push_back(std::string("-A ") + kInbound + " -p tcp -j " + kInRedirect);
  } else {
    for (uint16_t p : c.include_inbound_ports) {
      if (std::find(not_captured.begin(), not_captured.end(), p) == not_captured.end()) {
        out.push_back(dportRule(kInbound, p, kInRedirect));
      }
    }
  }
  out.push_back(std::string("-A ") + kInRedirect + " -p tcp -j REDIRECT --to-ports " +
                std::to_string(c.inbound_port));

  // The proxy's own traffic, by uid and then by gid. Over lo to an address of this pod other
  // than localhost it is the proxy calling its own pod (a Service whose endpoint is this pod):
  // that goes through the inbound capture like any caller's. The app's traffic over lo (to
  // itself, by localhost or its pod address) is never captured.
  auto owner = [&](const std::string& match) {
    out.push_back(std::string("-A ") + kOutput + " ! -d " + localhost + " -o lo -m owner " + match +
                  " -j " + kInbound);
    out.push_back(std::string("-A ") + kOutput + " -o lo -m owner ! " + match + " -j RETURN");
    out.push_back(std::string("-A ") + kOutput + " -m owner " + match + " -j RETURN");
  };
  owner("--uid-owner " + std::to_string(c.proxy_uid));
  if (c.proxy_gid) {
    owner("--gid-owner " + std::to_string(*c.proxy_gid));
  }
  out.push_back(std::string("-A ") + kOutput + " -d " + localhost + " -j RETURN");
  for (const IpRange& r : c.exclude_outbound_ranges) {
    if (r.family == family) {
      out.push_back(std::string("-A ") + kOutput + " -d " + r.text + " -j RETURN");
    }
  }
  for (uint16_t p : c.exclude_outbound_ports) {
    out.push_back(dportRule(kOutput, p, "RETURN"));
  }
  out.push_back(std::string("-A ") + kOutput + " -j " + kRedirect);
  out.push_back(std::string("-A ") + kRedirect + " -p tcp -j REDIRECT --to-ports " +
                std::to_string(c.outbound_port));

  out.push_back(std::string("-A PREROUTING -p tcp -j ") + kInbound);
  out.push_back(std::string("-A OUTPUT -p tcp -j ") + kOutput);
  return out;
}

bool isRemoraChain(std::string_view name) {
  return name.substr(0, kChainPrefix.size()) == kChainPrefix;
}

// Whether a saved rule ("CHAIN -p tcp ... -j TARGET") jumps (-j) or goes (-g) to a REMORA_ chain.
// Words inside a quoted comment ("...", with \" escapes) are not options.
bool jumpsIntoRemora(std::string_view rule) {
  bool quoted = false;
  std::string_view previous;
  while (!rule.empty()) {
    size_t space = rule.find(' ');
    std::string_view word = rule.substr(0, space);
    rule.remove_prefix(space == std::string_view::npos ? rule.size() : space + 1);
    if (!quoted && (previous == "-j" || previous == "-g") && isRemoraChain(word)) {
      return true;
    }
    for (size_t i = 0; i < word.size(); ++i) {
      if (word[i] == '\\') {
        ++i;
      } else if (word[i] == '"') {
        quoted = !quoted;
      }
    }
    previous = word;
  }
  return false;
}

// Flushes (by declaring) the chains of `current` that `keep` does not list, removes every jump
// into a REMORA_ chain and deletes those chains.
void appendRemoval(const NatState& current, const std::vector<std::string>& keep,
                   std::string& batch) {
  std::vector<std::string> stale;
  for (const std::string& chain : current.remora_chains) {
    if (std::find(keep.begin(), keep.end(), chain) == keep.end()) {
      batch += ":" + chain + " - [0:0]\n";
      stale.push_back(chain);
    }
  }
  for (const std::string& jump : current.jumps_into_remora) {
    batch += "-D" + jump.substr(2) + "\n";
  }
  for (const std::string& chain : stale) {
    batch += "-X " + chain + "\n";
  }
}

}  // namespace

std::vector<uint16_t> sidecarOwnPorts(const InterceptionConfig& config) {
  std::vector<uint16_t> ports = {
      15000, 15001, 15006, 15021, 15090, config.outbound_port, config.inbound_port};
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

Result<uint16_t> parsePort(std::string_view flag, std::string_view text) {
  auto n = parseNumber(trim(text), 65535);
  if (!n || *n == 0) {
    return Status::invalid(std::string(flag) + ": " + quoted(text) +
                           " is not a port (a number from 1 to 65535)");
  }
  return static_cast<uint16_t>(*n);
}

Result<std::vector<uint16_t>> parsePortList(std::string_view flag, std::string_view text) {
  return parseList<uint16_t>(flag, text, parsePort);
}

Result<uint32_t> parseOwnerId(std::string_view flag, std::string_view text) {
  auto n = parseNumber(trim(text), 4294967294u);  // (uid_t)-1 means "no id"
  if (!n) {
    return Status::invalid(std::string(flag) + ": " + quoted(text) +
                           " is not a numeric id (0 to 4294967294)");
  }
  return static_cast<uint32_t>(*n);
}

Result<std::vector<IpRange>> parseIpRangeList(std::string_view flag, std::string_view text) {
  return parseList<IpRange>(flag, text, parseIpRange);
}

NatState parseNatState(std::string_view save_output) {
  NatState state;
  bool in_nat = false;
  while (!save_output.empty()) {
    size_t eol = save_output.find('\n');
    std::string_view line = save_output.substr(0, eol);
    save_output.remove_prefix(eol == std::string_view::npos ? save_output.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.substr(0, 1) == "*") {
      in_nat = line == "*nat";
    } else if (!in_nat) {
      continue;
    } else if (line.substr(0, 1) == ":") {
      std::string_view name = line.substr(1, line.find(' ') - 1);
      if (isRemoraChain(name)) {
        state.remora_chains.emplace_back(name);
      }
    } else if (line.substr(0, 3) == "-A ") {
      std::string_view rest = line.substr(3);
      std::string_view chain = rest.substr(0, rest.find(' '));
      if (isRemoraChain(chain)) {
        continue;  // flushed with its chain
      }
      if (jumpsIntoRemora(rest)) {
        state.jumps_into_remora.emplace_back(line);
      }
    }
  }
  return state;
}

const std::vector<std::string>& remoraChains() {
  static const std::vector<std::string> chains = {kInbound, kInRedirect, kOutput, kRedirect};
  return chains;
}

std::string installBatch(const InterceptionConfig& config, IpFamily family,
                         const NatState& current) {
  std::string batch = "*nat\n";
  // Declaring a chain that exists flushes it (--noflush keeps everything else).
  for (const std::string& chain : remoraChains()) {
    batch += ":" + chain + " - [0:0]\n";
  }
  appendRemoval(current, remoraChains(), batch);
  for (const std::string& rule : rules(config, family)) {
    batch += rule + "\n";
  }
  return batch + "COMMIT\n";
}

std::string cleanupBatch(const NatState& current) {
  if (current.remora_chains.empty() && current.jumps_into_remora.empty()) {
    return "";
  }
  std::string batch = "*nat\n";
  appendRemoval(current, {}, batch);
  return batch + "COMMIT\n";
}

}  // namespace remora::sidecar
