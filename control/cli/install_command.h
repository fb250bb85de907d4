#pragma once
// `remoractl install [--namespace NS] [--replicas N] [--image IMG] [--gateway-api-stand-in]`:
// prints remora's whole installation for `kubectl apply -f -`. The text is the files of k8s/crds
// and k8s/install as they were at build time (compiled in by embed_install_files.cmake): with
// the defaults the output is byte for byte `cat k8s/crds/trafficpolicy.yaml k8s/install/*.yaml`.

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace remora::control::cli {

// One file of the installation: its path under the source tree ("k8s/install/20-rbac.yaml")
// and its bytes. Each file starts a YAML document ("---"), so files concatenate.
struct InstallFile {
  std::string_view path;
  std::string_view text;
};

// Every *.yaml of k8s/crds, then every *.yaml of k8s/install, each folder sorted by name
// (generated at build time).
const std::vector<InstallFile>& embeddedInstallFiles();

inline constexpr std::string_view kDefaultInstallNamespace = "remora-system";
inline constexpr int kDefaultInstallReplicas = 2;

struct InstallOptions {
  std::string ns{kDefaultInstallNamespace};  // every namespaced object and every reference to it
  int replicas = kDefaultInstallReplicas;    // of the control plane; 1 drops the disruption budget
  std::string image;                         // the control plane's image; empty: the files' own
  bool gateway_api_stand_in = false;         // also print k8s/crds/httproute-stand-in.yaml
};

// The options from the arguments that follow "install". Errors are one-line usage messages
// ("install: --replicas wants a whole number from 1 to 100, got 'x'"): the namespace must be a
// DNS-1123 label, the image a reference without spaces or quotes.
common::Result<InstallOptions> parseInstallArgs(const std::vector<std::string>& args);

// The installation from `files` (as embeddedInstallFiles()) with `options` applied: the CRDs
// first (the stand-in only when asked), then k8s/install. With the default options the files
// are printed unchanged. Each option replaces exactly the values it names, and fails
// (kInternal) when the files do not hold them where expected, so that a change to k8s/install
// that the command does not follow is caught by its tests, never printed half-substituted:
//  - namespace: every "remora-system" that stands alone (not part of a longer name), which
//    covers metadata.namespace, the Namespace itself, RBAC subjects and the webhook's service;
//  - replicas: the one "replicas:" line; with 1 the PodDisruptionBudget's file is left out
//    (minAvailable 1 of one replica would block every node drain);
//  - image: the one "image:" line.
common::Result<std::string> renderInstall(const std::vector<InstallFile>& files,
                                          const InstallOptions& options);

// The command: prints renderInstall(embeddedInstallFiles(), ...) on `out`; returns 0, 2 with a
// usage line on `err` for bad arguments, 1 for an internal error.
int runInstall(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace remora::control::cli
