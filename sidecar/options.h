#pragma once
// Command-line options of remora-sidecar, and how they become a bootstrap config.
//
// Every flag --foo-bar has an environment twin REMORA_FOO_BAR (the flag wins), so an injected
// container can be configured from the pod's downward API.

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sidecar/app_probes.h"
#include "remora/config/v1/bootstrap.pb.h"

namespace remora::sidecar {

struct Options {
  std::string config_file;
  std::string listen;                   // quick mode
  std::vector<std::string> upstreams;   // quick mode
  std::string admin;
  std::string prometheus;
  std::string health;
  AppProbes app_probes;  // --app-probes / REMORA_APP_PROBES, served on the health listener
  int concurrency = -1;
  std::string ready_file;
  std::string access_log;  // "", "on", "off"
  std::string log_level = "info";
  std::string node_id;
  std::string service;
  std::string ns;
  std::string drain_timeout;
  std::string drain_grace;
  long max_downstream_connections = 0;  // 0: from the fd limit
  // Mesh mode (docs/control-plane.md "Sidecar in mesh mode").
  std::vector<std::string> xds;                              // control plane HOST:PORT list
  std::vector<std::pair<std::string, std::string>> labels;  // --labels k=v,...
  std::string outbound;                                      // "" = 0.0.0.0:15001
  std::string inbound;                                       // "" = 0.0.0.0:15006
  std::string app;                                           // "" = original destination
  bool help = false;
  bool version = false;
};

// Parses argv (and REMORA_* environment variables). Errors are one line, for exit code 2.
common::Result<Options> parseOptions(int argc, char** argv);
std::string usage();

// The bootstrap for these options: the --config file (loaded and validated), the quick-mode
// config or the mesh-mode config, with flags applied on top. Errors name the file, line and
// field.
//
// Mesh mode is on when control plane addresses are given (--xds, or xds.address in the file;
// --xds replaces the file's list). Its bootstrap has node {id, service, namespace, labels} (a
// node id and a service are required; the namespace defaults to "default"), listeners named
// "outbound" (OUTBOUND, --outbound, default 0.0.0.0:15001) and "inbound" (INBOUND, --inbound,
// default 0.0.0.0:15006) (a file's own listeners are kept, and get these two added when they
// lack them), and the sidecar's own cluster xds::kLocalAppCluster in static_resources: STATIC to
// --app, else ORIGINAL_DST (unless the file defines one itself). --outbound, --inbound, --app
// and --labels outside mesh mode are errors.
common::Result<config::v1::Bootstrap> bootstrapFromOptions(const Options& options);

}  // namespace remora::sidecar
