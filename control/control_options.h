#pragma once
// Command-line options of remora-control (docs/control-plane.md "remora-control"). Every flag --foo-bar
// also reads the environment variable REMORA_CONTROL_FOO_BAR when the flag is absent (prefixed
// with CONTROL_ so that it never picks up a sidecar's REMORA_XDS in the same environment).

#include <string>

#include "common/status.h"
#include "control/control_plane.h"

namespace remora::control {

struct ControlOptions {
  ControlPlaneOptions plane;
  std::string log_level = "info";
  bool help = false;
  bool version = false;
};

// Errors are one line (exit code 2).
common::Result<ControlOptions> parseControlOptions(int argc, char** argv);
std::string controlUsage();

}  // namespace remora::control
