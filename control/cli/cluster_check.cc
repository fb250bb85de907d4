#include "control/cli/cluster_check.h"

#include <google/protobuf/util/message_differencer.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <set>

#include "common/base64.h"
#include "common/http_client.h"
#include "control/cli/args.h"
#include "control/cli/install_command.h"
#include "control/cli/yaml_value.h"
#include "control/kube_client.h"
#include "control/kube_config.h"
#include "control/kube_watch.h"

namespace remora::control::cli {

namespace pb = google::protobuf;

namespace {

struct Reporter {
  std::FILE* out;
  int failures = 0;
  void ok(const std::string& what, const std::string& detail) {
    std::fprintf(out, "[ok]   %s: %s\n", what.c_str(), detail.c_str());
  }
  void fail(const std::string& what, const std::string& detail, const std::string& hint) {
    ++failures;
    std::fprintf(out, "[FAIL] %s: %s\n", what.c_str(), detail.c_str());
    if (!hint.empty()) {
      std::fprintf(out, "       -> %s\n", hint.c_str());
    }
  }
};

// GET `path` as JSON; a failure (transport, status, parse) is a one-line reason.
common::Result<pb::Value> getJson(KubeClient& client, const std::string& path,
                                  long* status = nullptr) {
  auto r = client.call("GET", path);
  if (!r.isOk()) {
    return r.status();
  }
  if (status != nullptr) {
    *status = r.value().status;
  }
  if (r.value().status != 200) {
    return common::Status::unavailable("HTTP " + std::to_string(r.value().status));
  }
  return parseJson(r.value().body);
}

bool conditionTrue(const pb::Value& obj, const std::string& type) {
  const pb::Value* conds = jsonAt(obj, "status.conditions");
  if (conds == nullptr || !conds->has_list_value()) {
    return false;
  }
  for (const pb::Value& c : conds->list_value().values()) {
    if (jsonString(c, "type") == type) {
      return jsonString(c, "status") == "True";
    }
  }
  return false;
}

void checkCrds(KubeClient& client, Reporter& rep) {
  for (const InstallFile& f : embeddedInstallFiles()) {
    if (f.path.rfind("k8s/crds/", 0) != 0) {
      continue;
    }
    auto docs = parseYamlDocuments(f.text, f.path);
    if (!docs.isOk()) {
      continue;
    }
    for (const YamlDocument& d : docs.value()) {
      if (jsonString(d.value, "kind") != "CustomResourceDefinition") {
        continue;
      }
      std::string name = jsonString(d.value, "metadata.name");
      bool stand_in = f.path.find("stand-in") != std::string_view::npos;
      long status = 0;
      auto live = getJson(client, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name,
                          &status);
      std::string what = "CRD " + name;
      if (!live.isOk()) {
        if (status == 404) {
          rep.fail(what, "not installed",
                   stand_in ? "install the Gateway API CRDs, or `remoractl install "
                              "--gateway-api-stand-in | kubectl apply -f -`"
                            : "remoractl install | kubectl apply -f -");
        } else {
          rep.fail(what, live.status().message(), "");
        }
        continue;
      }
      if (!conditionTrue(live.value(), "Established")) {
        rep.fail(what, "not established yet", "kubectl describe crd " + name);
        continue;
      }
      if (stand_in) {
        // Any HTTPRoute CRD that serves v1 or v1beta1 will do (the Gateway API's own is better).
        rep.ok(what, "present");
        continue;
      }
      // Current: every version this remoractl ships is served with the schema it ships.
      std::string stale;
      const pb::Value* want = jsonAt(d.value, "spec.versions");
      const pb::Value* have = jsonAt(live.value(), "spec.versions");
      static const pb::ListValue kNone;
      for (const pb::Value& w : want != nullptr ? want->list_value().values() : kNone.values()) {
        const pb::Value* match = nullptr;
        if (have != nullptr && have->has_list_value()) {
          for (const pb::Value& h : have->list_value().values()) {
            if (jsonString(h, "name") == jsonString(w, "name")) {
              match = &h;
            }
          }
        }
        const pb::Value* ws = jsonAt(w, "schema");
        const pb::Value* hs = match != nullptr ? jsonAt(*match, "schema") : nullptr;
        if (match == nullptr || ws == nullptr || hs == nullptr ||
            !pb::util::MessageDifferencer::Equals(*ws, *hs)) {
          stale += (stale.empty() ? "" : ", ") + jsonString(w, "name");
        }
      }
      if (stale.empty()) {
        rep.ok(what, "present and current");
      } else {
        rep.fail(what, "version " + stale + " differs from this remoractl's",
                 "remoractl install | kubectl apply -f -   (upgrade the CRDs)");
      }
    }
  }
}

void checkControlPlane(KubeClient& client, const std::string& ns, Reporter& rep) {
  long status = 0;
  auto d =
      getJson(client, "/apis/apps/v1/namespaces/" + ns + "/deployments/remora-control", &status);
  const std::string what = "control plane ready";
  if (!d.isOk()) {
    rep.fail(what,
             "deployment " + ns + "/remora-control: " +
                 (status == 404 ? std::string("not found") : d.status().message()),
             "remoractl install | kubectl apply -f -");
    return;
  }
  const pb::Value* want = jsonAt(d.value(), "spec.replicas");
  const pb::Value* ready = jsonAt(d.value(), "status.readyReplicas");
  int w = want != nullptr ? static_cast<int>(want->number_value()) : 1;
  int r = ready != nullptr ? static_cast<int>(ready->number_value()) : 0;
  std::string detail = "deployment " + ns + "/remora-control has " + std::to_string(r) + " of " +
                       std::to_string(w) + " replicas ready";
  if (r >= 1) {
    rep.ok(what, detail);
  } else {
    rep.fail(what, detail,
             "kubectl -n " + ns + " describe deployment remora-control; kubectl -n " + ns +
                 " logs deploy/remora-control");
  }
}

// The first certificate of a PEM bundle: whether it parses and is valid now.
std::string certificateProblem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    return "the caBundle holds no PEM certificate";
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0) {
    return "the CA certificate is not valid yet";
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    return "the CA certificate has expired";
  }
  return "";
}

void checkWebhook(KubeClient& client, const KubeConfig& kc, const std::string& ns,
                  const std::string& config_name, Reporter& rep) {
  long status = 0;
  auto mwc = getJson(
      client, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + config_name,
      &status);
  const std::string what = "injector webhook";
  if (!mwc.isOk()) {
    rep.fail(what,
             "MutatingWebhookConfiguration " + config_name + ": " +
                 (status == 404 ? std::string("not found") : mwc.status().message()),
             "remoractl install | kubectl apply -f -");
    return;
  }
  const pb::Value* hooks = jsonAt(mwc.value(), "webhooks");
  if (hooks == nullptr || !hooks->has_list_value() || hooks->list_value().values_size() == 0) {
    rep.fail(what, config_name + " has no webhooks", "remoractl install | kubectl apply -f -");
    return;
  }
  const pb::Value& hook = hooks->list_value().values(0);
  std::string bundle;
  if (!common::decodeBase64(jsonString(hook, "clientConfig.caBundle"), &bundle) || bundle.empty()) {
    rep.fail(what, config_name + " has no CA bundle yet (the control plane sets it at start)",
             "kubectl -n " + ns + " logs deploy/remora-control | grep webhook");
    return;
  }
  if (std::string p = certificateProblem(bundle); !p.empty()) {
    rep.fail(what, p,
             "kubectl -n " + ns + " delete secret remora-webhook-tls; kubectl -n " + ns +
                 " rollout restart deploy/remora-control");
    return;
  }
  // Reachable, with that CA: directly for a URL webhook, through the API server's service proxy
  // (which cannot check the certificate; the bundle was checked above) for a Service one.
  std::string url = jsonString(hook, "clientConfig.url");
  common::Result<KubeClient::Response> r = common::Status::unavailable("not tried");
  std::string target;
  if (!url.empty()) {
    size_t path = url.find('/', url.find("://") + 3);
    KubeConfig direct;
    direct.server = url.substr(0, path);
    direct.ca_pem = bundle;
    KubeClient c(direct);
    target = direct.server;
    r = c.call("GET", "/healthz");
  } else {
    std::string svc_ns = jsonString(hook, "clientConfig.service.namespace");
    std::string svc = jsonString(hook, "clientConfig.service.name");
    const pb::Value* port = jsonAt(hook, "clientConfig.service.port");
    std::string p = std::to_string(port != nullptr ? static_cast<int>(port->number_value()) : 443);
    target = "service " + svc_ns + "/" + svc + ":" + p;
    r = client.call("GET", "/api/v1/namespaces/" + svc_ns + "/services/https:" + svc + ":" + p +
                               "/proxy/healthz");
  }
  (void)kc;
  if (r.isOk() && r.value().status == 200) {
    rep.ok(what, config_name + " has a valid CA bundle and " + target + " answers");
  } else {
    rep.fail(what,
             target + " does not answer /healthz: " +
                 (r.isOk() ? "HTTP " + std::to_string(r.value().status) : r.status().message()),
             "kubectl -n " + ns + " get endpoints remora-control; kubectl -n " + ns +
                 " logs deploy/remora-control");
  }
}

void checkProxies(KubeClient& client, const std::string& ns, const std::string& control,
                  Reporter& rep) {
  auto pods = getJson(client, "/api/v1/pods");
  const std::string what = "injected proxies in sync";
  if (!pods.isOk()) {
    rep.fail(what, "listing pods: " + pods.status().message(), "");
    return;
  }
  std::set<std::string> injected;  // node ids "name.namespace"
  const pb::Value* items = jsonAt(pods.value(), "items");
  if (items != nullptr && items->has_list_value()) {
    for (const pb::Value& p : items->list_value().values()) {
      const pb::Value* ann = jsonAt(p, "metadata.annotations");
      if (ann == nullptr || !ann->has_struct_value()) {
        continue;
      }
      auto it = ann->struct_value().fields().find("remora.dev/status");
      if (it != ann->struct_value().fields().end() && it->second.string_value() == "injected" &&
          jsonString(p, "status.phase") == "Running") {
        injected.insert(jsonString(p, "metadata.name") + "." + jsonString(p, "metadata.namespace"));
      }
    }
  }
  // Each proxy is connected to one replica: read /v1/proxies from every running replica
  // (through the API server's pod proxy), or from --control.
  std::vector<std::string> bodies;
  size_t replicas = 0;
  if (!control.empty()) {
    common::HttpClient c(control);
    auto r = c.get("/v1/proxies");
    if (r.isOk() && r.value().status == 200) {
      bodies.push_back(r.value().body);
    }
  } else {
    auto cp =
        getJson(client, "/api/v1/namespaces/" + ns + "/pods?labelSelector=app%3Dremora-control");
    const pb::Value* list = cp.isOk() ? jsonAt(cp.value(), "items") : nullptr;
    if (list != nullptr && list->has_list_value()) {
      for (const pb::Value& p : list->list_value().values()) {
        if (jsonString(p, "status.phase") != "Running") {
          continue;
        }
        ++replicas;
        auto r = client.call("GET", "/api/v1/namespaces/" + ns + "/pods/http:" +
                                        jsonString(p, "metadata.name") + ":15014/proxy/v1/proxies");
        if (r.isOk() && r.value().status == 200) {
          bodies.push_back(r.value().body);
        }
      }
    }
  }
  if (bodies.empty() || (control.empty() && bodies.size() < replicas)) {
    rep.fail(what,
             control.empty() ? "read /v1/proxies from " + std::to_string(bodies.size()) + " of " +
                                   std::to_string(replicas) + " running control plane replica(s)"
                             : "cannot read /v1/proxies from " + control,
             "kubectl -n " + ns + " port-forward svc/remora-control 15014 & remoractl status");
    return;
  }
  std::map<std::string, std::string> state;  // node id -> status (SYNCED on any replica wins)
  for (const std::string& body : bodies) {
    auto proxies = parseJson(body);
    const pb::Value* list = proxies.isOk() ? jsonAt(proxies.value(), "proxies") : nullptr;
    if (list == nullptr || !list->has_list_value()) {
      continue;
    }
    for (const pb::Value& p : list->list_value().values()) {
      std::string& s = state[jsonString(p, "node_id")];
      if (s != "SYNCED") {
        s = jsonString(p, "status");
      }
    }
  }
  std::string missing;
  size_t bad = 0;
  for (const std::string& node : injected) {
    auto it = state.find(node);
    if (it == state.end() || it->second != "SYNCED") {
      ++bad;
      if (bad <= 5) {
        missing += (missing.empty() ? "" : ", ") + node +
                   (it == state.end() ? " (not connected)" : " (" + it->second + ")");
      }
    }
  }
  if (bad == 0) {
    rep.ok(what, std::to_string(injected.size()) +
                     " running injected pod(s), all connected and synced" +
                     (replicas > 0 ? " (" + std::to_string(replicas) + " replica(s) asked)" : ""));
  } else {
    rep.fail(what,
             std::to_string(bad) + " of " + std::to_string(injected.size()) + ": " + missing +
                 (bad > 5 ? ", ..." : ""),
             "remoractl status; kubectl logs POD -c remora-proxy");
  }
}

}  // namespace

int runClusterCheck(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  std::string kubeconfig;
  std::string context;
  std::string ns = "remora-system";
  std::string webhook_config = "remora-sidecar-injector";
  std::string control;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* to) {
      if (i + 1 >= args.size()) {
        return false;
      }
      *to = args[++i];
      return true;
    };
    bool ok = a == "--kubernetes"       ? true
              : a == "--kubeconfig"     ? value(&kubeconfig)
              : a == "--kube-context"   ? value(&context)
              : a == "--namespace"      ? value(&ns)
              : a == "--webhook-config" ? value(&webhook_config)
              : a == "--control"        ? value(&control)
                                        : false;
    if (!ok) {
      std::fprintf(err, "remoractl: check --kubernetes: unknown flag or missing value: %s\n",
                   a.c_str());
      return 2;
    }
  }
  if (kubeconfig.empty()) {
    if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
      kubeconfig = env;
    } else if (const char* home = std::getenv("HOME"); home != nullptr) {
      kubeconfig = std::string(home) + "/.kube/config";
    }
  }
  auto config = loadKubeconfig(kubeconfig, context);
  if (!config.isOk()) {
    auto in_cluster = inClusterConfig([](const char* n) { return std::getenv(n); });
    if (!in_cluster.isOk()) {
      std::fprintf(err, "remoractl: check --kubernetes: %s\n", config.status().message().c_str());
      return 2;
    }
    config = std::move(in_cluster);
  }
  Reporter rep{out};
  KubeClient client(config.value());
  auto version = getJson(client, "/version");
  if (!version.isOk()) {
    rep.fail("Kubernetes API reachable", config.value().server + ": " + version.status().message(),
             "kubectl --kubeconfig " + kubeconfig + " version");
    return 1;
  }
  rep.ok("Kubernetes API reachable",
         jsonString(version.value(), "gitVersion") + " at " + config.value().server);
  checkCrds(client, rep);
  checkControlPlane(client, ns, rep);
  checkWebhook(client, config.value(), ns, webhook_config, rep);
  checkProxies(client, ns, control, rep);
  std::fprintf(out, rep.failures == 0 ? "all checks passed\n" : "%d check(s) failed\n",
               rep.failures);
  return rep.failures == 0 ? 0 : 1;
}

}  // namespace remora::control::cli
