// remora-control: parse flags, run the control plane. Exit codes: 0 after SIGTERM/SIGINT,
// 1 on a runtime failure (a port in use), 2 on usage errors or a missing manifests directory.

#include <signal.h>

#include <cstdio>

#include "common/logging.h"
#include "control/control_options.h"
#include "control/control_plane.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  auto parsed = remora::control::parseControlOptions(argc, argv);
  if (!parsed.isOk()) {
    std::fprintf(stderr, "remora-control: %s\n", parsed.status().message().c_str());
    return 2;
  }
  const remora::control::ControlOptions& opts = parsed.value();
  if (opts.help) {
    std::fputs(remora::control::controlUsage().c_str(), stdout);
    return 0;
  }
  if (opts.version) {
    std::printf("remora-control %s\n", REMORA_VERSION);
    return 0;
  }
  remora::common::initStderrLogging("remora", opts.log_level);
  remora::control::ControlPlane plane(opts.plane);
  return plane.run();
}
