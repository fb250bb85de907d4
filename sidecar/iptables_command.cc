#include "sidecar/iptables_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "common/cli_flags.h"

extern char** environ;

namespace remora::sidecar {

using common::Result;
using common::Status;

std::string iptablesUsage() {
  return R"(remora-sidecar iptables: install the pod's traffic interception (nat table rules)

Usage:
  remora-sidecar iptables [flags]            install (or replace) the rules
  remora-sidecar iptables --cleanup          remove every remora rule and chain

Flags (each that takes a value has an environment twin: --foo-bar = REMORA_FOO_BAR):
  --proxy-uid N                  the proxy's uid: its own traffic is not captured (default 1337)
  --proxy-gid N                  the proxy's gid, exempt as well (default: none)
  --outbound-port P              where outbound TCP is redirected (default 15001)
  --inbound-port P               where inbound TCP is redirected (default 15006)
  --exclude-inbound-ports LIST   inbound ports not captured, e.g. 15020,8081
  --exclude-outbound-ports LIST  destination ports the app reaches directly
  --exclude-outbound-ip-ranges CIDR,...
                                 destinations the app reaches directly (IPv4 and IPv6 mixed)
  --include-inbound-ports '*'|LIST
                                 inbound ports captured: '*' all (default), a list: only those,
                                 '' none
  --dry-run                      print the iptables-restore batches, change nothing
  --cleanup                      remove the rules instead of installing them
  --help

The sidecar's own ports (15000, 15001, 15006, 15021, 15090 and the two ports above) are never
captured inbound. Exit codes: 0 done, 1 iptables failed, 2 bad flags. See docs/interception.md.
)";
}

namespace {

using FlagSpec = common::FlagSpec<IptablesOptions>;

// "*" alone, or a port list (empty: no inbound capture).
Status setIncludeInbound(IptablesOptions& o, const std::string& v) {
  constexpr std::string_view kFlag = "--include-inbound-ports";
  size_t first = v.find_first_not_of(" \t");
  if (first != std::string::npos && v.substr(first, v.find_last_not_of(" \t") + 1 - first) == "*") {
    o.config.include_all_inbound = true;
    o.config.include_inbound_ports.clear();
    return Status::ok();
  }
  if (v.find('*') != std::string::npos) {
    return Status::invalid(std::string(kFlag) + ": '*' (all ports) stands alone, got '" + v + "'");
  }
  auto ports = parsePortList(kFlag, v);
  if (!ports.isOk()) {
    return ports.status();
  }
  o.config.include_all_inbound = false;
  o.config.include_inbound_ports = std::move(ports).value();
  return Status::ok();
}

// A setter for a flag whose value a parser turns into one field.
template <typename T, typename Parse, typename Store>
std::function<Status(IptablesOptions&, const std::string&)> setter(const char* flag, Parse parse,
                                                                   Store store) {
  return [flag, parse, store](IptablesOptions& o, const std::string& v) {
    Result<T> parsed = parse(std::string("--") + flag, v);
    if (!parsed.isOk()) {
      return parsed.status();
    }
    store(o.config, std::move(parsed).value());
    return Status::ok();
  };
}

const std::vector<FlagSpec>& flags() {
  using Ports = std::vector<uint16_t>;
  using C = InterceptionConfig;
  static const std::vector<FlagSpec> specs = {
      {"proxy-uid",
       setter<uint32_t>("proxy-uid", parseOwnerId, [](C& c, uint32_t v) { c.proxy_uid = v; })},
      {"proxy-gid",
       setter<uint32_t>("proxy-gid", parseOwnerId, [](C& c, uint32_t v) { c.proxy_gid = v; })},
      {"outbound-port",
       setter<uint16_t>("outbound-port", parsePort, [](C& c, uint16_t v) { c.outbound_port = v; })},
      {"inbound-port",
       setter<uint16_t>("inbound-port", parsePort, [](C& c, uint16_t v) { c.inbound_port = v; })},
      {"exclude-inbound-ports", setter<Ports>("exclude-inbound-ports", parsePortList,
                                              [](C& c, Ports v) { c.exclude_inbound_ports = v; })},
      {"exclude-outbound-ports",
       setter<Ports>("exclude-outbound-ports", parsePortList,
                     [](C& c, Ports v) { c.exclude_outbound_ports = v; })},
      {"exclude-outbound-ip-ranges",
       setter<std::vector<IpRange>>(
           "exclude-outbound-ip-ranges", parseIpRangeList,
           [](C& c, std::vector<IpRange> v) { c.exclude_outbound_ranges = std::move(v); })},
      {"include-inbound-ports", setIncludeInbound},
      {"dry-run",
       [](IptablesOptions& o, const std::string&) {
         o.dry_run = true;
         return Status::ok();
       },
       false},
      {"cleanup",
       [](IptablesOptions& o, const std::string&) {
         o.cleanup = true;
         return Status::ok();
       },
       false},
      {"help",
       [](IptablesOptions& o, const std::string&) {
         o.help = true;
         return Status::ok();
       },
       false},
  };
  return specs;
}

// What a finished program printed and how it ended.
struct ProgramResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

constexpr auto kProgramTimeout = std::chrono::seconds(30);
constexpr size_t kMaxProgramOutput = 64u << 20;  // a nat table with kube-proxy's rules fits

void closeFd(int& fd) {
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
}

// Runs argv (found on PATH, no shell) with `input` on its stdin and collects stdout and stderr.
// SIGPIPE must be ignored (main does): a program that stops reading its stdin is an EPIPE here.
// An error when it cannot be started, prints more than kMaxProgramOutput or takes longer than
// kProgramTimeout (it is killed).
Result<ProgramResult> runProgram(const std::vector<std::string>& argv, std::string_view input) {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  auto closeAll = [&] {
    for (int* p : {in, out, err}) {
      closeFd(p[0]);
      closeFd(p[1]);
    }
  };
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    Status s = Status::unavailable(argv[0] + ": pipe: " + std::strerror(errno));
    closeAll();
    return s;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  closeFd(in[0]);
  closeFd(out[1]);
  closeFd(err[1]);
  if (rc != 0) {
    closeAll();
    return Status::unavailable("cannot start " + argv[0] + ": " + std::strerror(rc) +
                               (rc == ENOENT ? " (is iptables installed and on PATH?)" : ""));
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  if (input.empty()) {
    closeFd(in[1]);
  }

  ProgramResult result;
  const auto deadline = std::chrono::steady_clock::now() + kProgramTimeout;
  std::string failure;
  while ((in[1] >= 0 || out[0] >= 0 || err[0] >= 0) && failure.empty()) {
    pollfd fds[3] = {{in[1], POLLOUT, 0}, {out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failure =
          argv[0] + " did not finish within " + std::to_string(kProgramTimeout.count()) + " s";
      break;
    }
    int n = poll(fds, 3, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      failure = argv[0] + ": poll: " + std::strerror(errno);
      break;
    }
    if (in[1] >= 0 && fds[0].revents != 0) {
      ssize_t w = write(in[1], input.data(), input.size());
      if (w > 0) {
        input.remove_prefix(static_cast<size_t>(w));
      }
      if (input.empty() || (w < 0 && errno != EAGAIN && errno != EINTR)) {
        closeFd(in[1]);  // all written, or the program stopped reading (EPIPE): it will say why
      }
    }
    int* readers[2] = {&out[0], &err[0]};
    std::string* sinks[2] = {&result.out, &result.err};
    for (int i = 0; i < 2; ++i) {
      if (*readers[i] < 0 || fds[i + 1].revents == 0) {
        continue;
      }
      char buf[65536];
      ssize_t r = read(*readers[i], buf, sizeof(buf));
      if (r > 0) {
        sinks[i]->append(buf, static_cast<size_t>(r));
        if (sinks[i]->size() > kMaxProgramOutput) {
          failure =
              argv[0] + " printed more than " + std::to_string(kMaxProgramOutput >> 20) + " MiB";
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        closeFd(*readers[i]);
      }
    }
  }
  closeAll();
  if (!failure.empty()) {
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!failure.empty()) {
    return Status::unavailable(failure);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

struct Family {
  IpFamily family;
  const char* name;  // "IPv4"
  const char* save;
  const char* restore;
};

constexpr Family kFamilies[] = {
    {IpFamily::kV4, "IPv4", "iptables-save", "iptables-restore"},
    {IpFamily::kV6, "IPv6", "ip6tables-save", "ip6tables-restore"},
};

// Why a run failed, in one line: the start error or the first line the program printed.
std::string briefFailure(const Result<ProgramResult>& run) {
  if (!run.isOk()) {
    return run.status().message();
  }
  std::string line = run.value().err.substr(0, run.value().err.find('\n'));
  return line.empty() ? "exit " + std::to_string(run.value().exit_code) : line;
}

// The problem of a run that did not exit 0, with what it printed on stderr.
std::string programFailure(const std::string& program, const Result<ProgramResult>& run) {
  if (!run.isOk()) {
    return run.status().message();
  }
  std::string err = run.value().err;
  if (!err.empty() && err.back() != '\n') {
    err += '\n';
  }
  return program + " failed (exit " + std::to_string(run.value().exit_code) + "):\n" + err;
}

bool succeeded(const Result<ProgramResult>& run) {
  return run.isOk() && run.value().exit_code == 0;
}

}  // namespace

Result<IptablesOptions> parseIptablesOptions(int argc, char** argv) {
  IptablesOptions o;
  if (Status s = common::parseFlags(argc, argv, flags(), "REMORA_", o); !s.isOk()) {
    return s;
  }
  if (o.help) {
    return o;
  }
  if (o.config.outbound_port == o.config.inbound_port) {
    return Status::invalid("--inbound-port: " + std::to_string(o.config.inbound_port) +
                           " is also the outbound port; they must differ");
  }
  return o;
}

int runIptablesCommand(int argc, char** argv) {
  auto parsed = parseIptablesOptions(argc, argv);
  if (!parsed.isOk()) {
    std::fprintf(stderr, "remora-sidecar iptables: %s\n", parsed.status().message().c_str());
    return 2;
  }
  const IptablesOptions& o = parsed.value();
  if (o.help) {
    std::fputs(iptablesUsage().c_str(), stdout);
    return 0;
  }

  // Read both tables first, so that nothing is changed when one of them cannot be read.
  std::vector<std::pair<const Family*, std::string>> batches;
  bool unreadable = false;  // dry run: the IPv4 table could not be read (not root, probably)
  for (const Family& f : kFamilies) {
    auto saved = runProgram({f.save, "-t", "nat"}, "");
    NatState state;
    if (succeeded(saved)) {
      state = parseNatState(saved.value().out);
    } else if (f.family == IpFamily::kV6 && !unreadable) {
      std::fprintf(stderr,
                   "remora-sidecar iptables: IPv6 left alone: ip6tables does not work here (%s); "
                   "IPv4 only\n",
                   briefFailure(saved).c_str());
      continue;
    } else if (o.dry_run) {
      unreadable = true;
      std::fprintf(stderr,
                   "remora-sidecar iptables: cannot read the %s nat table (%s); the batch below "
                   "assumes it holds no remora rules\n",
                   f.name, briefFailure(saved).c_str());
    } else {
      std::fprintf(stderr, "remora-sidecar iptables: %s", programFailure(f.save, saved).c_str());
      return 1;
    }
    batches.emplace_back(&f,
                         o.cleanup ? cleanupBatch(state) : installBatch(o.config, f.family, state));
  }

  for (const auto& [f, batch] : batches) {
    if (batch.empty()) {
      std::printf("# %s: no remora rules to remove\n", f->name);
      continue;
    }
    if (!o.dry_run) {
      auto restored = runProgram({f->restore, "--noflush"}, batch);
      if (!succeeded(restored)) {
        std::fprintf(stderr, "remora-sidecar iptables: %s: %s--- the batch was:\n%s", f->name,
                     programFailure(f->restore, restored).c_str(), batch.c_str());
        return 1;
      }
    }
    std::printf("# %s: %s --noflush%s\n%s", f->name, f->restore,
                o.dry_run ? " (dry run: not applied)" : "", batch.c_str());
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace remora::sidecar
