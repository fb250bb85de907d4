// remoractl: the remora operator CLI. Exit codes: 0 success, 1 the command found problems
// (`check`: bad manifests) or failed (cannot reach the control plane or a sidecar), 2 usage
// errors, missing inputs and commands not implemented yet. Each command lives in its own file.

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/logging.h"
#include "control/cli/args.h"
#include "control/cli/check_command.h"
#include "control/cli/cluster_check.h"
#include "control/cli/inject_command.h"
#include "control/cli/install_command.h"
#include "control/cli/proxy_config_command.h"
#include "control/cli/stat_command.h"
#include "control/cli/status_command.h"

namespace {

constexpr const char* kUsage = R"(remoractl: the remora operator CLI

Usage:
  remoractl [flags] COMMAND [ARGS]

Commands:
  check --kubernetes [--kubeconfig FILE] [--namespace NS] [--control ADDR]
                 check a live installation, one line per check (API, CRDs, control plane,
                 webhook, every injected proxy in sync); exit 1 when one fails
  check DIR      validate the manifests under DIR (every *.yaml / *.yml, recursively; or one
                 file) offline. Exit 0 and a one-line summary when all are good; exit 1 with one
                 FILE:LINE:COL: FIELD: problem line per problem on stderr; exit 2 on bad usage

  status [--control ADDR]
                 the sidecars connected to the control plane (GET /v1/proxies): per proxy its
                 service, the sync state and version of clusters, endpoints, routes and
                 listeners (SYNCED, STALE, NACKED, NOT SENT), admin address and age; then one
                 "NODE TYPE: error" line per NACKed type

  proxy-config ADMIN_ADDR [clusters|listeners|routes|config]
                 one sidecar's configuration from its admin API (e.g. 127.0.0.1:15000):
                 clusters (default) with their endpoints and health, listeners, the routes of
                 every route configuration, or the whole config dump as indented JSON

  stat [--control ADDR] [--window DURATION]
                 per destination service: requests per second, success rate, p50 and p99
                 latency and request count over DURATION (default 2s), from two samples of the
                 control plane's GET /v1/stats taken DURATION apart

  inject [-f FILE|-] [--native-sidecar] [--image IMG] [--control-plane ADDR]
         [--namespace-labels K=V,...]
                 add the sidecar to the Pods, Deployments, StatefulSets, DaemonSets,
                 ReplicaSets, Jobs and CronJobs of a multi-document YAML file (or stdin) and
                 print the result; other kinds pass through. A pod is injected unless it is
                 annotated remora.dev/inject: "false" (with --namespace-labels: as the webhook
                 decides in a namespace with those labels). See docs/injection.md

  install [--namespace NS] [--replicas N] [--image IMG] [--gateway-api-stand-in]
                 print the whole Kubernetes installation for `kubectl apply -f -`: the
                 TrafficPolicy CRD, then namespace NS (default remora-system), service
                 account, RBAC, the control plane Deployment (N replicas, default 2; 1 drops
                 the PodDisruptionBudget) and Service, and the sidecar injector webhook.
                 --image replaces the control plane image; --gateway-api-stand-in adds an
                 HTTPRoute CRD for clusters without the Gateway API (never over the real one)

  --control ADDR is the control plane's HTTP API, IP:PORT (default $REMORA_CONTROL, else
  127.0.0.1:15014).

Flags:
  --log-level LEVEL   trace|debug|info|warn|error (default info)
  --help, --version

Exit codes: 0 success; 1 the command failed (problems found, cannot reach the control plane or
the sidecar); 2 bad usage, missing inputs, commands not implemented yet.
)";

int usageError(const std::string& message) {
  return remora::control::cli::usageError(stderr, message);
}

bool validLevel(std::string_view level) {
  for (std::string_view l : {"trace", "debug", "info", "warn", "error"}) {
    if (level == l) {
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string log_level = "info";
  std::vector<std::string> args;  // the command and its arguments
  bool help = false;
  bool version = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      args.insert(args.end(), argv + i + 1, argv + argc);
      break;
    }
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--version") {
      version = true;
    } else if (arg == "--log-level" || arg.rfind("--log-level=", 0) == 0) {
      if (arg == "--log-level") {
        if (i + 1 == argc) {
          return usageError("--log-level needs a value");
        }
        log_level = argv[++i];
      } else {
        log_level = arg.substr(arg.find('=') + 1);
      }
      if (!validLevel(log_level)) {
        return usageError("--log-level wants trace|debug|info|warn|error, got '" + log_level + "'");
      }
    } else if (arg.size() > 1 && arg[0] == '-' && args.empty()) {
      return usageError("unknown flag " + arg);
    } else {  // the command, then its own arguments and flags
      args.push_back(arg);
    }
  }
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (version) {
    std::printf("remoractl %s\n", REMORA_VERSION);
    return 0;
  }
  remora::common::initStderrLogging("remoractl", log_level);

  if (args.empty()) {
    return usageError("no command given");
  }
  const std::string& command = args[0];
  if (command == "check" &&
      std::find(args.begin(), args.end(), std::string("--kubernetes")) != args.end()) {
    return remora::control::cli::runClusterCheck(
        std::vector<std::string>(args.begin() + 1, args.end()), stdout, stderr);
  }
  if (command == "check") {
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i].size() > 1 && args[i][0] == '-') {
        return usageError("check: unknown flag " + args[i]);
      }
    }
    if (args.size() != 2) {
      return usageError(args.size() < 2 ? "check needs a directory: remoractl check DIR"
                                        : "check takes one directory, got " +
                                              std::to_string(args.size() - 1) + " arguments");
    }
    return remora::control::cli::runCheck(args[1], stdout, stderr);
  }
  const std::vector<std::string> command_args(args.begin() + 1, args.end());
  if (command == "status") {
    return remora::control::cli::runStatus(command_args, stdout, stderr);
  }
  if (command == "proxy-config") {
    return remora::control::cli::runProxyConfig(command_args, stdout, stderr);
  }
  if (command == "stat") {
    return remora::control::cli::runStat(command_args, stdout, stderr);
  }
  if (command == "inject") {
    return remora::control::cli::runInject(command_args, stdin, stdout, stderr);
  }
  if (command == "install") {
    return remora::control::cli::runInstall(command_args, stdout, stderr);
  }
  return usageError("unknown command '" + command + "'");
}
