#pragma once
// Command-line options of remora-sidecar, and how they become a bootstrap config.
//
// Every flag --foo-bar has an environment twin REMORA_FOO_BAR (the flag wins), so an injected
// container can be configured from the pod's downward API.

#include <string>
#include <vector>

#include "common/status.h"
#include "remora/config/v1/bootstrap.pb.h"

namespace remora::sidecar {

struct Options {
  std::string config_file;
  std::string listen;                   // quick mode
  std::vector<std::string> upstreams;   // quick mode
  std::string admin;
  std::string prometheus;
  std::string health;
  int concurrency = -1;
  std::string ready_file;
  std::string access_log;  // "", "on", "off"
  std::string log_level = "info";
  std::string node_id;
  std::string service;
  std::string ns;
  std::string drain_timeout;
  bool help = false;
  bool version = false;
};

// Parses argv (and REMORA_* environment variables). Errors are one line, for exit code 2.
common::Result<Options> parseOptions(int argc, char** argv);
std::string usage();

// The bootstrap for these options: the --config file (loaded and validated) or the quick-mode
// config, with flags applied on top. Errors name the file, line and field.
common::Result<config::v1::Bootstrap> bootstrapFromOptions(const Options& options);

}  // namespace remora::sidecar
