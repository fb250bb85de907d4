#pragma once
// Test support for the mesh: a real remora-control on 127.0.0.1 (ports picked by the kernel
// unless given) and sidecars in mesh mode connected to it.

#include <string>
#include <vector>

#include "common/http_client.h"
#include "process.h"

namespace remora::test {

struct ControlPlane {
  Process process;
  std::string xds;   // "127.0.0.1:PORT"
  std::string http;  // "127.0.0.1:PORT"
  std::string stderr_file;

  // Starts remora-control --manifests `manifests_dir` (none when empty: Kubernetes mode
  // flags come in `extra`) (plus `extra` flags; --xds/--http default
  // to 127.0.0.1:0, --debounce to 20ms, --poll to 50ms unless given). Tests register
  // 127.0.0.1 endpoints, so --registry-allow-loopback is passed unless `allow_loopback` is
  // false. Empty xds on failure.
  static ControlPlane start(const TempDir& dir, const std::string& name,
                            const std::string& manifests_dir, std::vector<std::string> extra = {},
                            bool allow_loopback = true);
  // GET on the HTTP API; "" on failure.
  std::string get(const std::string& path) const;
  // POST a JSON body on the HTTP API; returns the status (0 on failure).
  int post(const std::string& path, const std::string& body) const;
};

// A sidecar in mesh mode: --xds XDS --node-id ID --service SERVICE --namespace NS, outbound and
// inbound on 127.0.0.1:0, plus `extra`. Waits for ready (= the first complete config).
Sidecar meshSidecar(const TempDir& dir, const std::string& xds, const std::string& id,
                    const std::string& service, const std::string& ns,
                    std::vector<std::string> extra = {});

std::string controlBin();

// One GET of `path` through a sidecar's outbound listener to `host`; (status, x-echo-id), or
// (0, "") when the call failed (the connection is then closed).
std::pair<int, std::string> callVia(common::HttpClient& c, const std::string& host,
                                    const std::string& path = "/");

// Manifests for the tests: a "---" document of Service `name` in namespace shop with one port
// "http" (port and targetPort `port`).
std::string shopService(const std::string& name, int port = 8080);
// A "---" document of an EndpointSlice `name` of Service shop/`svc` with one "IP:PORT" endpoint.
std::string shopSlice(const std::string& name, const std::string& svc, const std::string& address);
// Writes a file atomically (the control plane polls; it must never read half a file). False
// when the rename failed.
bool writeAtomically(const std::string& path, const std::string& text);

}  // namespace remora::test
