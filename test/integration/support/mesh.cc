#include "mesh.h"

#include <cstdio>
#include <fstream>

#include "common/http_client.h"

namespace remora::test {

std::string controlBin() {
  return REMORA_CONTROL_BIN;
}

std::pair<int, std::string> callVia(common::HttpClient& c, const std::string& host,
                                    const std::string& path) {
  auto r = c.get(path, {{"host", host}});
  if (!r.isOk()) {
    c.close();
    return {0, ""};
  }
  return {r.value().status, std::string(r.value().header("x-echo-id"))};
}

std::string shopService(const std::string& name, int port) {
  return "---\napiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: shop}\nspec:\n  ports: [{name: http, port: " + std::to_string(port) +
         ", targetPort: " + std::to_string(port) + "}]\n";
}

std::string shopSlice(const std::string& name, const std::string& svc, const std::string& address) {
  size_t colon = address.rfind(':');
  return "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + name +
         "\n  namespace: shop\n  labels: {kubernetes.io/service-name: " + svc +
         "}\naddressType: IPv4\nendpoints:\n- addresses: [" + address.substr(0, colon) +
         "]\nports: [{name: http, port: " + address.substr(colon + 1) + "}]\n";
}

bool writeAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

ControlPlane ControlPlane::start(const TempDir& dir, const std::string& name,
                                 const std::string& manifests_dir, std::vector<std::string> extra,
                                 bool allow_loopback) {
  ControlPlane cp;
  std::string ready = dir.file(name + ".ready");
  std::vector<std::string> argv = {controlBin(), "--ready-file", ready};
  if (!manifests_dir.empty()) {
    argv.insert(argv.end(), {"--manifests", manifests_dir});
  }
  auto has = [&](const std::string& flag) {
    for (const std::string& a : extra) {
      if (a == flag)
        return true;
    }
    return false;
  };
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--xds", "127.0.0.1:0"},
                                                        {"--http", "127.0.0.1:0"},
                                                        {"--debounce", "20ms"},
                                                        {"--poll", "50ms"}}) {
    if (!has(flag)) {
      argv.insert(argv.end(), {flag, value});
    }
  }
  if (allow_loopback && !has("--registry-allow-loopback")) {
    argv.push_back("--registry-allow-loopback");
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  cp.stderr_file = dir.file(name + ".err");
  if (!cp.process.start(argv, dir.file(name + ".out"), cp.stderr_file)) {
    return cp;
  }
  std::string text = waitForReadyFile(ready);
  if (text.empty()) {
    return cp;
  }
  auto kv = jsonStrings(text);
  cp.xds = kv["xds"];
  cp.http = kv["http"];
  return cp;
}

std::string ControlPlane::get(const std::string& path) const {
  common::HttpClient c(http);
  auto r = c.get(path);
  return r.isOk() && r.value().status == 200 ? r.value().body : "";
}

int ControlPlane::post(const std::string& path, const std::string& body) const {
  common::HttpClient c(http);
  auto r = c.post(path, body, {{"content-type", "application/json"}});
  return r.isOk() ? r.value().status : 0;
}

Sidecar meshSidecar(const TempDir& dir, const std::string& xds, const std::string& id,
                    const std::string& service, const std::string& ns,
                    std::vector<std::string> extra) {
  std::vector<std::string> args = {"--xds",         xds,
                                   "--node-id",     id,
                                   "--service",     service,
                                   "--namespace",   ns,
                                   "--outbound",    "127.0.0.1:0",
                                   "--inbound",     "127.0.0.1:0",
                                   "--concurrency", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return Sidecar::start(dir, id, args);
}

}  // namespace remora::test
