// remora-sidecar: parse flags, load config, run the server. Exit codes: 0 after a drain or
// /quitquitquit, 1 on a runtime failure (a port in use), 2 on usage or config errors.
// `remora-sidecar iptables ...` installs the interception rules instead (iptables_command.h);
// `remora-sidecar wait` waits for the proxy to be ready (wait_command.h).

#include <signal.h>

#include <cstdio>
#include <string_view>

#include "common/logging.h"
#include "sidecar/iptables_command.h"
#include "sidecar/options.h"
#include "sidecar/server.h"
#include "sidecar/wait_command.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && std::string_view(argv[1]) == "iptables") {  // the init container's job
    return remora::sidecar::runIptablesCommand(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string_view(argv[1]) == "wait") {  // an injected pod's postStart hook
    return remora::sidecar::runWait(argc - 1, argv + 1);
  }
  auto parsed = remora::sidecar::parseOptions(argc, argv);
  if (!parsed.isOk()) {
    std::fprintf(stderr, "remora-sidecar: %s\n", parsed.status().message().c_str());
    return 2;
  }
  const remora::sidecar::Options& opts = parsed.value();
  if (opts.help) {
    std::fputs(remora::sidecar::usage().c_str(), stdout);
    return 0;
  }
  if (opts.version) {
    std::printf("remora-sidecar %s\n", REMORA_VERSION);
    return 0;
  }
  remora::common::initStderrLogging("remora", opts.log_level);

  auto bootstrap = remora::sidecar::bootstrapFromOptions(opts);
  if (!bootstrap.isOk()) {
    std::fprintf(stderr, "remora-sidecar: %s\n", bootstrap.status().message().c_str());
    return 2;
  }
  remora::sidecar::Server server(std::move(bootstrap).value(), opts.ready_file);
  server.setAppProbes(opts.app_probes);
  return server.run();
}
