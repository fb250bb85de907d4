#include "control/control_options.h"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <vector>

#include "common/cli_flags.h"
#include "common/socket_address.h"
#include "control/api_auth.h"
#include "xds/duration.h"

namespace remora::control {

using common::Result;
using common::Status;

std::string controlUsage() {
  return R"(remora-control: the remora control plane

Usage:
  remora-control --manifests DIR [flags]
  remora-control --kubernetes [--kubeconfig FILE] [--watch-namespaces a,b] [flags]

Flags (each also read from REMORA_CONTROL_<FLAG> when absent, e.g. REMORA_CONTROL_MANIFESTS):
  --manifests DIR        file mode: every *.yaml under DIR, watched (changes pushed within a second)
  --kubernetes           Kubernetes mode: list and watch the same kinds through the API server
                         (in-cluster service account, or --kubeconfig)
  --kubeconfig FILE      Kubernetes mode: the API server and credentials from this kubeconfig
  --kube-context NAME    the kubeconfig's context to use (default: its current-context)
  --watch-namespaces LIST
                         Kubernetes mode: watch only these namespaces (default: all)
  --webhook-secret NAME  Kubernetes mode: the Secret (in the lease namespace) that shares the
                         generated webhook certificate between replicas (default remora-webhook-tls)
  --inject-image IMG     the image injected pods get for remora-init and remora-proxy
                         (default remora-sidecar:VERSION)
  --inject-control-plane ADDR
                         the xDS address injected proxies use
                         (default remora-control.remora-system.svc:15010)
  --native-sidecar       inject the proxy as a native sidecar (an init container with
                         restartPolicy Always, Kubernetes 1.28+) unless a pod says otherwise
  --lease-namespace NS   Kubernetes mode: where the leader-election Lease remora-control lives
                         (default: the pod's namespace, else remora-system)
  --lease-duration DUR   how long a leader's Lease lasts without renewal (default 15s; renewed
                         every third of it); only the leader writes status
  --xds ADDR             xDS address for sidecars (default 0.0.0.0:15010)
  --http ADDR            HTTP API, /metrics and the dashboard (default 0.0.0.0:15014)
  --ready-file FILE      write {"xds":...,"http":...} here once serving the first config
  --debounce DUR         quiet period before a burst of changes is pushed (default 100ms)
  --debounce-max DUR     a burst is pushed at the latest this long after its first change (default 1s)
  --poll DUR             how often the manifest directory is checked (default 200ms)
  --max-manifest-bytes N a manifest file larger than N bytes is refused unread (default 4194304)
  --keepalive DUR        ping a silent sidecar after this long (default 5s; dead after 3x)
  --xds-max-connections N
                         xDS connections at most; more are closed at accept (default 2048)
  --xds-frame-timeout DUR
                         an xDS frame must arrive whole within this, and a new connection must
                         identify itself (a request with a node) within this (default 10s)
  --api-token-file FILE  the bearer token (first line) that API writes (registration) need;
                         without it, writes are refused when --http is not a loopback address
  --registry-allow-loopback
                         accept loopback, unspecified and link-local registered addresses
                         (tests and demos on one host; never in production)
  --webhook ADDR         serve the sidecar-injection admission webhook (HTTPS, POST /inject) on
                         ADDR, normally 0.0.0.0:15017; off without it
  --webhook-cert FILE    its serving certificate chain (PEM), with --webhook-key FILE (PEM, not
                         encrypted); without them a CA and a certificate are generated at start
  --webhook-ca FILE      with --webhook-cert: the CA bundle (PEM) that verifies it
  --webhook-san LIST     extra names (DNS names or IP addresses, comma-separated) for a generated
                         certificate, besides remora-control.remora-system.svc[.cluster.local]
  --webhook-config NAME  the MutatingWebhookConfiguration that gets a generated CA bundle
                         (default remora-sidecar-injector)
  --webhook-ca-out FILE  write the webhook's CA bundle (PEM) to FILE at start
  --webhook-handshake-timeout DUR
                         a webhook client must finish the TLS handshake within this (default 10s)
  --log-level LEVEL      trace|debug|info|warn|error (default info)
  --help, --version
)";
}

namespace {

using FlagSpec = common::FlagSpec<ControlOptions>;

Status setDuration(const std::string& flag, const std::string& v, uint64_t& out, bool allow_zero) {
  auto d = xds::parseDuration(v);
  if (!d.isOk()) {
    return Status::invalid("--" + flag + ": " + d.status().message());
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d.value()).count();
  if (ms < 0 || (!allow_zero && ms == 0)) {
    return Status::invalid("--" + flag + " must be " + (allow_zero ? "at least 0" : "positive") +
                           ", got '" + v + "'");
  }
  out = static_cast<uint64_t>(ms);
  return Status::ok();
}

Status setAddress(const std::string& flag, const std::string& v, std::string& out) {
  auto parsed = common::parseSocketAddress(v);
  if (!parsed.isOk()) {
    return Status::invalid("--" + flag + ": " + parsed.status().message());
  }
  out = v;
  return Status::ok();
}

Status setNonEmpty(const std::string& flag, const std::string& v, std::string& out) {
  if (v.empty()) {
    return Status::invalid("--" + flag + " needs a value");
  }
  out = v;
  return Status::ok();
}

// A --webhook-* flag that sets a string (a file or a name) of the webhook options.
FlagSpec webhookStringFlag(const char* name, std::string WebhookOptions::*field) {
  return {name, [name, field](ControlOptions& o, const std::string& v) {
            return setNonEmpty(name, v, o.plane.webhook.*field);
          }};
}

// The --webhook-* flags only make sense together in certain ways; say which when they do not.
Status checkWebhookFlags(const WebhookOptions& w) {
  const bool given = !w.cert_file.empty();
  const char* extra = !w.cert_file.empty()     ? "--webhook-cert"
                      : !w.key_file.empty()    ? "--webhook-key"
                      : !w.ca_file.empty()     ? "--webhook-ca"
                      : !w.extra_sans.empty()  ? "--webhook-san"
                      : !w.ca_out_file.empty() ? "--webhook-ca-out"
                                               : nullptr;
  if (!w.enabled()) {
    return extra == nullptr ? Status::ok()
                            : Status::invalid(std::string(extra) + " needs --webhook ADDR");
  }
  if (given != !w.key_file.empty()) {
    return Status::invalid(
        "--webhook-cert and --webhook-key go together (or neither: a certificate is generated)");
  }
  if (!given && !w.ca_file.empty()) {
    return Status::invalid(
        "--webhook-ca goes with --webhook-cert (a generated certificate brings its own CA)");
  }
  if (given && !w.extra_sans.empty()) {
    return Status::invalid("--webhook-san names a generated certificate, not --webhook-cert");
  }
  if (given && w.ca_file.empty() && !w.ca_out_file.empty()) {
    return Status::invalid("--webhook-ca-out needs --webhook-ca with --webhook-cert");
  }
  return Status::ok();
}

const std::vector<FlagSpec>& flags() {
  static const std::vector<FlagSpec> specs = {
      {"manifests",
       [](ControlOptions& o, const std::string& v) {
         o.plane.manifests_dir = v;
         return Status::ok();
       }},
      {"kubernetes",
       [](ControlOptions& o, const std::string&) {
         o.plane.kubernetes = true;
         return Status::ok();
       },
       false},
      {"kubeconfig",
       [](ControlOptions& o, const std::string& v) {
         o.plane.kubeconfig = v;
         return Status::ok();
       }},
      {"kube-context",
       [](ControlOptions& o, const std::string& v) {
         o.plane.kube_context = v;
         return Status::ok();
       }},
      {"webhook-secret",
       [](ControlOptions& o, const std::string& v) {
         return setNonEmpty("webhook-secret", v, o.plane.webhook_secret);
       }},
      {"inject-image",
       [](ControlOptions& o, const std::string& v) {
         return setNonEmpty("inject-image", v, o.plane.injection.proxy_image);
       }},
      {"inject-control-plane",
       [](ControlOptions& o, const std::string& v) {
         return setNonEmpty("inject-control-plane", v, o.plane.injection.control_plane);
       }},
      {"native-sidecar",
       [](ControlOptions& o, const std::string&) {
         o.plane.injection.native_sidecar = true;
         return Status::ok();
       },
       false},
      {"lease-namespace",
       [](ControlOptions& o, const std::string& v) {
         o.plane.lease_namespace = v;
         return Status::ok();
       }},
      {"lease-duration",
       [](ControlOptions& o, const std::string& v) {
         return setDuration("lease-duration", v, o.plane.lease_ms, false);
       }},
      {"watch-namespaces",
       [](ControlOptions& o, const std::string& v) {
         o.plane.watch_namespaces = common::splitCommaList(v);
         return o.plane.watch_namespaces.empty()
                    ? Status::invalid(
                          "--watch-namespaces wants a comma-separated list of namespaces")
                    : Status::ok();
       }},
      {"xds", [](ControlOptions& o,
                 const std::string& v) { return setAddress("xds", v, o.plane.xds_address); }},
      {"http", [](ControlOptions& o,
                  const std::string& v) { return setAddress("http", v, o.plane.http_address); }},
      {"ready-file",
       [](ControlOptions& o, const std::string& v) {
         o.plane.ready_file = v;
         return Status::ok();
       }},
      {"debounce",
       [](ControlOptions& o, const std::string& v) {
         return setDuration("debounce", v, o.plane.debounce_ms, true);
       }},
      {"debounce-max",
       [](ControlOptions& o, const std::string& v) {
         return setDuration("debounce-max", v, o.plane.debounce_max_ms, true);
       }},
      {"poll", [](ControlOptions& o,
                  const std::string& v) { return setDuration("poll", v, o.plane.poll_ms, false); }},
      {"max-manifest-bytes",
       [](ControlOptions& o, const std::string& v) {
         uint64_t n = 0;
         auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
         if (ec != std::errc() || end != v.data() + v.size() || n == 0) {
           return Status::invalid("--max-manifest-bytes wants a positive number of bytes, got '" +
                                  v + "'");
         }
         o.plane.manifest_limits.max_file_bytes = n;
         return Status::ok();
       }},
      {"keepalive",
       [](ControlOptions& o, const std::string& v) {
         Status s = setDuration("keepalive", v, o.plane.xds.ping_interval_ms, false);
         o.plane.xds.peer_timeout_ms = o.plane.xds.ping_interval_ms * 3;
         return s;
       }},
      {"xds-max-connections",
       [](ControlOptions& o, const std::string& v) {
         char* end = nullptr;
         const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
         if (v.empty() || *end != '\0' || v[0] == '-' || n < 1 || n > 1000000) {
           return Status::invalid("--xds-max-connections wants a number in 1..1000000, got '" + v +
                                  "'");
         }
         o.plane.xds.max_connections = static_cast<size_t>(n);
         return Status::ok();
       }},
      {"xds-frame-timeout",
       [](ControlOptions& o, const std::string& v) {
         return setDuration("xds-frame-timeout", v, o.plane.xds.frame_timeout_ms, false);
       }},
      {"api-token-file",
       [](ControlOptions& o, const std::string& v) {
         auto token = readTokenFile(v);
         if (!token.isOk()) {
           return token.status();
         }
         o.plane.api_token = token.value();
         return Status::ok();
       }},
      {"registry-allow-loopback",
       [](ControlOptions& o, const std::string&) {
         o.plane.registry_allow_loopback = true;
         return Status::ok();
       },
       false},
      {"webhook",
       [](ControlOptions& o, const std::string& v) {
         return setAddress("webhook", v, o.plane.webhook.address);
       }},
      webhookStringFlag("webhook-cert", &WebhookOptions::cert_file),
      webhookStringFlag("webhook-key", &WebhookOptions::key_file),
      webhookStringFlag("webhook-ca", &WebhookOptions::ca_file),
      {"webhook-san",
       [](ControlOptions& o, const std::string& v) {
         o.plane.webhook.extra_sans = common::splitCommaList(v);
         if (o.plane.webhook.extra_sans.empty()) {
           return Status::invalid("--webhook-san wants a comma-separated list of names, got '" + v +
                                  "'");
         }
         return Status::ok();
       }},
      webhookStringFlag("webhook-config", &WebhookOptions::config_name),
      webhookStringFlag("webhook-ca-out", &WebhookOptions::ca_out_file),
      {"webhook-handshake-timeout",
       [](ControlOptions& o, const std::string& v) {
         return setDuration("webhook-handshake-timeout", v, o.plane.webhook.handshake_timeout_ms,
                            false);
       }},
      {"log-level",
       [](ControlOptions& o, const std::string& v) {
         for (const char* l : {"trace", "debug", "info", "warn", "error"}) {
           if (v == l) {
             o.log_level = v;
             return Status::ok();
           }
         }
         return Status::invalid("--log-level wants trace|debug|info|warn|error, got '" + v + "'");
       }},
      {"help",
       [](ControlOptions& o, const std::string&) {
         o.help = true;
         return Status::ok();
       },
       false},
      {"version",
       [](ControlOptions& o, const std::string&) {
         o.version = true;
         return Status::ok();
       },
       false},
  };
  return specs;
}

}  // namespace

Result<ControlOptions> parseControlOptions(int argc, char** argv) {
  ControlOptions o;
  if (Status s = common::parseFlags(argc, argv, flags(), "REMORA_CONTROL_", o); !s.isOk()) {
    return s;
  }
  if (o.help || o.version) {
    return o;
  }
  if (o.plane.kubernetes && !o.plane.manifests_dir.empty()) {
    return Status::invalid("--kubernetes and --manifests exclude each other: choose one source");
  }
  if (!o.plane.kubernetes && (!o.plane.kubeconfig.empty() || !o.plane.watch_namespaces.empty())) {
    return Status::invalid("--kubeconfig and --watch-namespaces need --kubernetes");
  }
  if (!o.plane.kubernetes && o.plane.manifests_dir.empty()) {
    return Status::invalid("nothing to watch: give --manifests DIR or --kubernetes (see --help)");
  }
  if (Status s = checkWebhookFlags(o.plane.webhook); !s.isOk()) {
    return s;
  }
  return o;
}

}  // namespace remora::control
