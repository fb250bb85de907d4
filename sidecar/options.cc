#include "sidecar/options.h"

#include <cstdlib>
#include <functional>
#include <map>

#include "common/cli_flags.h"
#include "common/socket_address.h"
#include "xds/bootstrap_loader.h"
#include "xds/duration.h"
#include "xds/resource_types.h"

namespace remora::sidecar {

using common::Result;
using common::Status;
namespace cfg = remora::config::v1;

std::string usage() {
  return R"(remora-sidecar: the remora service-mesh proxy

Usage:
  remora-sidecar --config FILE [flags]
  remora-sidecar --listen ADDR --upstream ADDR[,ADDR...] [flags]     (quick mode)
  remora-sidecar --xds ADDR[,ADDR...] --node-id ID --service NAME [flags]   (mesh mode)
  remora-sidecar wait [--health ADDR] [--timeout DUR]   (until ADDR/healthz/ready answers 200)

Flags (each has an environment twin: --foo-bar = REMORA_FOO_BAR; the flag wins):
  --config FILE          bootstrap file (YAML or JSON); see docs/configuration.md
  --listen ADDR          quick mode: listen here (IP:PORT, port 0 = any free port)
  --upstream LIST        quick mode: comma-separated IP:PORT endpoints, round robin
  --admin ADDR           admin API address (default 127.0.0.1:15000)
  --prometheus ADDR      read-only /stats/prometheus listener (default: off)
  --health ADDR          kubelet readiness listener, GET /healthz/ready (default: off)
  --app-probes JSON      the app's probes served on the health listener as
                         GET /app-health/... (set by injection; docs/injection.md "Probes")
  --concurrency N        worker threads (default 2; quick mode 1)
  --ready-file FILE      write {"listeners":{...},"admin":...} here once serving
  --access-log on|off    one line per request on stdout (default on)
  --drain-timeout DUR    how long in-flight requests may finish on SIGTERM (default 20s)
  --drain-grace DUR      how long idle keep-alive connections stay open on SIGTERM, so that
                         requests already sent are answered with connection: close (default 5s)
  --max-downstream-connections N
                         open client connections over all listeners (default: from the fd
                         limit, keeping a reserve for the admin port and upstreams)
  --node-id ID, --service NAME, --namespace NS   identity (sent to the control plane in
                         mesh mode, shown in /server_info); namespace default "default"
  --xds LIST             mesh mode: control plane HOST:PORT addresses, tried in turn
  --labels K=V,...       mesh mode: workload labels sent to the control plane
  --outbound ADDR        mesh mode: outbound capture listener (default 0.0.0.0:15001)
  --inbound ADDR         mesh mode: inbound capture listener (default 0.0.0.0:15006)
  --app IP:PORT          mesh mode: where inbound traffic goes (default: the original
                         destination port on 127.0.0.1)
  --log-level LEVEL      trace|debug|info|warn|error (default info)
  --help, --version
)";
}

namespace {

using FlagSpec = common::FlagSpec<Options>;

Status setConcurrency(Options& o, const std::string& v) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 1 || n > 128) {
    return Status::invalid("--concurrency wants a number from 1 to 128, got '" + v + "'");
  }
  o.concurrency = static_cast<int>(n);
  return Status::ok();
}

std::vector<std::string> splitComma(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string part =
        v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) {
      out.push_back(part);
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

// "k=v,k2=v2": every entry needs a non-empty key; a key given twice is an error.
Status setLabels(Options& o, const std::string& v) {
  o.labels.clear();
  for (const std::string& part : splitComma(v)) {
    size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::invalid("--labels wants KEY=VALUE[,KEY=VALUE...], got '" + part + "'");
    }
    std::string key = part.substr(0, eq);
    for (const auto& [k, unused] : o.labels) {
      if (k == key) {
        return Status::invalid("--labels: label '" + key + "' given twice");
      }
    }
    o.labels.emplace_back(std::move(key), part.substr(eq + 1));
  }
  return Status::ok();
}

const std::vector<FlagSpec>& flags() {
  static const std::vector<FlagSpec> specs = {
      {"config",
       [](Options& o, const std::string& v) {
         o.config_file = v;
         return Status::ok();
       }},
      {"listen",
       [](Options& o, const std::string& v) {
         o.listen = v;
         return Status::ok();
       }},
      {"upstream",
       [](Options& o, const std::string& v) {
         o.upstreams = splitComma(v);
         return Status::ok();
       }},
      {"admin",
       [](Options& o, const std::string& v) {
         o.admin = v;
         return Status::ok();
       }},
      {"prometheus",
       [](Options& o, const std::string& v) {
         o.prometheus = v;
         return Status::ok();
       }},
      {"health",
       [](Options& o, const std::string& v) {
         o.health = v;
         return Status::ok();
       }},
      {"app-probes",
       [](Options& o, const std::string& v) {
         auto parsed = parseAppProbes(v);
         if (!parsed.isOk()) {
           return Status::invalid("REMORA_APP_PROBES (--app-probes): " + parsed.status().message());
         }
         o.app_probes = std::move(parsed).value();
         return Status::ok();
       }},
      {"concurrency", setConcurrency},
      {"ready-file",
       [](Options& o, const std::string& v) {
         o.ready_file = v;
         return Status::ok();
       }},
      {"access-log",
       [](Options& o, const std::string& v) {
         if (v != "on" && v != "off") {
           return Status::invalid("--access-log wants on or off, got '" + v + "'");
         }
         o.access_log = v;
         return Status::ok();
       }},
      {"log-level",
       [](Options& o, const std::string& v) {
         static const char* kLevels[] = {"trace", "debug", "info", "warn", "error"};
         for (const char* l : kLevels) {
           if (v == l) {
             o.log_level = v;
             return Status::ok();
           }
         }
         return Status::invalid("--log-level wants trace|debug|info|warn|error, got '" + v + "'");
       }},
      {"drain-timeout",
       [](Options& o, const std::string& v) {
         auto d = xds::parseDuration(v);
         if (!d.isOk()) {
           return Status::invalid("--drain-timeout: " + d.status().message());
         }
         o.drain_timeout = v;
         return Status::ok();
       }},
      {"drain-grace",
       [](Options& o, const std::string& v) {
         auto d = xds::parseDuration(v);
         if (!d.isOk()) {
           return Status::invalid("--drain-grace: " + d.status().message());
         }
         o.drain_grace = v;
         return Status::ok();
       }},
      {"max-downstream-connections",
       [](Options& o, const std::string& v) {
         char* end = nullptr;
         long n = std::strtol(v.c_str(), &end, 10);
         if (v.empty() || *end != '\0' || n < 1 || n > 100000000) {
           return Status::invalid(
               "--max-downstream-connections wants a number from 1 to 100000000, got '" + v + "'");
         }
         o.max_downstream_connections = n;
         return Status::ok();
       }},
      {"node-id",
       [](Options& o, const std::string& v) {
         o.node_id = v;
         return Status::ok();
       }},
      {"xds",
       [](Options& o, const std::string& v) {
         o.xds = splitComma(v);
         if (o.xds.empty()) {
           return Status::invalid("--xds wants HOST:PORT[,HOST:PORT...], got '" + v + "'");
         }
         return Status::ok();
       }},
      {"labels", setLabels},
      {"outbound",
       [](Options& o, const std::string& v) {
         o.outbound = v;
         return Status::ok();
       }},
      {"inbound",
       [](Options& o, const std::string& v) {
         o.inbound = v;
         return Status::ok();
       }},
      {"app",
       [](Options& o, const std::string& v) {
         o.app = v;
         return Status::ok();
       }},
      {"service",
       [](Options& o, const std::string& v) {
         o.service = v;
         return Status::ok();
       }},
      {"namespace",
       [](Options& o, const std::string& v) {
         o.ns = v;
         return Status::ok();
       }},
      {"help",
       [](Options& o, const std::string&) {
         o.help = true;
         return Status::ok();
       },
       false},
      {"version",
       [](Options& o, const std::string&) {
         o.version = true;
         return Status::ok();
       },
       false},
  };
  return specs;
}

// The listener `name` of `b`, added with `direction` and `default_address` when missing.
cfg::Listener* meshListener(cfg::Bootstrap& b, const std::string& name,
                            cfg::Listener::Direction direction, const char* default_address) {
  for (cfg::Listener& l : *b.mutable_listeners()) {
    if (l.name() == name) {
      return &l;
    }
  }
  cfg::Listener* l = b.add_listeners();
  l->set_name(name);
  l->set_direction(direction);
  l->set_address(default_address);
  return l;
}

// Mesh mode on top of the file (or nothing): identity, the two capture listeners, local-app.
Status applyMeshMode(const Options& o, cfg::Bootstrap& b) {
  cfg::Node* node = b.mutable_node();
  for (const auto& [k, v] : o.labels) {
    (*node->mutable_labels())[k] = v;
  }
  if (node->id().empty()) {
    return Status::invalid("mesh mode needs a node id: --node-id ID (or REMORA_NODE_ID)");
  }
  if (node->service().empty()) {
    return Status::invalid("mesh mode needs a service name: --service NAME (or REMORA_SERVICE)");
  }
  if (node->namespace_().empty()) {
    node->set_namespace_("default");
  }
  cfg::Listener* out = meshListener(b, "outbound", cfg::Listener::OUTBOUND, "0.0.0.0:15001");
  if (!o.outbound.empty()) {
    out->set_address(o.outbound);
  }
  cfg::Listener* in = meshListener(b, "inbound", cfg::Listener::INBOUND, "0.0.0.0:15006");
  if (!o.inbound.empty()) {
    in->set_address(o.inbound);
  }
  auto out_address = common::parseSocketAddress(out->address());
  if (out->address() == in->address() && out_address.isOk() && out_address.value().port() != 0) {
    return Status::invalid("the outbound and inbound listeners cannot share " + out->address());
  }
  for (const cfg::Cluster& c : b.static_resources().clusters()) {
    if (c.name() == xds::kLocalAppCluster) {
      if (!o.app.empty()) {
        return Status::invalid("--app conflicts with the cluster '" + c.name() +
                               "' of the config file");
      }
      return Status::ok();  // the file defines the app's cluster itself
    }
  }
  cfg::Cluster* app = b.mutable_static_resources()->add_clusters();
  app->set_name(std::string(xds::kLocalAppCluster));
  // The app speaks what its clients speak: h2c (gRPC) stays HTTP/2, HTTP/1 stays HTTP/1, also
  // when another sidecar carried it over HTTP/2 (x-remora-orig-proto).
  app->set_protocol(cfg::Cluster::USE_DOWNSTREAM);
  if (o.app.empty()) {
    app->set_type(cfg::Cluster::ORIGINAL_DST);
  } else {
    app->set_type(cfg::Cluster::STATIC);
    app->add_endpoints()->set_address(o.app);
  }
  return Status::ok();
}

}  // namespace

Result<Options> parseOptions(int argc, char** argv) {
  Options o;
  if (Status s = common::parseFlags(argc, argv, flags(), "REMORA_", o); !s.isOk()) {
    return s;
  }
  if (o.help || o.version) {
    return o;
  }
  bool quick = !o.listen.empty() || !o.upstreams.empty();
  bool mesh_flags =
      !o.outbound.empty() || !o.inbound.empty() || !o.app.empty() || !o.labels.empty();
  if (quick && !o.config_file.empty()) {
    return Status::invalid("--config and quick mode (--listen/--upstream) are exclusive");
  }
  if (quick && !o.xds.empty()) {
    return Status::invalid("--xds (mesh mode) and quick mode (--listen/--upstream) are exclusive");
  }
  if (quick && mesh_flags) {
    return Status::invalid(
        "--outbound, --inbound, --app and --labels are mesh-mode flags (they need --xds)");
  }
  if (quick && (o.listen.empty() || o.upstreams.empty())) {
    return Status::invalid("quick mode needs both --listen and --upstream");
  }
  if (!quick && o.config_file.empty() && o.xds.empty()) {
    return Status::invalid(
        "nothing to do: give --config FILE, --xds ADDR (mesh mode) or --listen/--upstream "
        "(see --help)");
  }
  for (const std::string* a :
       {&o.listen, &o.admin, &o.prometheus, &o.health, &o.outbound, &o.inbound}) {
    if (!a->empty()) {
      auto parsed = common::parseSocketAddress(*a);
      if (!parsed.isOk()) {
        return Status::invalid("bad address: " + parsed.status().message());
      }
    }
  }
  if (!o.app.empty()) {
    auto parsed = common::parseSocketAddress(o.app);
    if (!parsed.isOk()) {
      return Status::invalid("--app: " + parsed.status().message());
    }
    if (parsed.value().port() == 0) {
      return Status::invalid("--app: port must be in 1..65535, got '" + o.app + "'");
    }
  }
  for (const std::string& x : o.xds) {
    // Host names are allowed (a Kubernetes Service name); they are resolved at each connect.
    if (!xds::isControlPlaneAddress(x)) {
      return Status::invalid("--xds: invalid control plane address '" + x +
                             "' (expected HOST:PORT with a port in 1..65535)");
    }
  }
  for (const std::string& u : o.upstreams) {
    auto parsed = common::parseSocketAddress(u);
    if (!parsed.isOk()) {
      return Status::invalid("--upstream: " + parsed.status().message());
    }
  }
  return o;
}

Result<cfg::Bootstrap> bootstrapFromOptions(const Options& o) {
  cfg::Bootstrap b;
  if (!o.config_file.empty()) {
    auto loaded = xds::loadBootstrap(o.config_file);
    if (!loaded.isOk()) {
      return loaded.status();
    }
    b = std::move(loaded).value();
  } else if (!o.listen.empty()) {
    b.set_concurrency(1);
    cfg::Listener* l = b.add_listeners();
    l->set_name("main");
    l->set_address(o.listen);
    l->set_direction(cfg::Listener::INBOUND);
    l->set_protocol(cfg::Listener::HTTP);  // quick mode proxies HTTP only: garbage gets a 400
    l->set_route_config("quick");
    cfg::Cluster* c = b.mutable_static_resources()->add_clusters();
    c->set_name("upstream");
    for (const std::string& u : o.upstreams) {
      c->add_endpoints()->set_address(u);
    }
    cfg::RouteConfiguration* rc = b.mutable_static_resources()->add_routes();
    rc->set_name("quick");
    cfg::VirtualHost* vh = rc->add_virtual_hosts();
    vh->set_name("any");
    vh->add_domains("*");
    cfg::Route* r = vh->add_routes();
    r->set_name("all");
    r->mutable_match()->set_prefix("/");
    r->mutable_route()->set_cluster("upstream");
  }
  if (!o.admin.empty()) {
    b.mutable_admin()->set_address(o.admin);
  }
  if (b.admin().address().empty()) {
    b.mutable_admin()->set_address("127.0.0.1:15000");
  }
  if (!o.prometheus.empty()) {
    b.mutable_admin()->set_prometheus_address(o.prometheus);
  }
  if (!o.health.empty()) {
    b.mutable_admin()->set_health_address(o.health);
  }
  if (o.concurrency > 0) {
    b.set_concurrency(static_cast<uint32_t>(o.concurrency));
  }
  if (b.concurrency() == 0) {
    b.set_concurrency(2);
  }
  if (!o.access_log.empty()) {
    b.mutable_access_log()->set_enabled(o.access_log == "on");
  }
  auto setDuration = [](const std::string& text, google::protobuf::Duration* out) {
    auto ns = xds::parseDuration(text).value().count();  // checked when the flag was parsed
    out->set_seconds(ns / 1000000000);
    out->set_nanos(static_cast<int32_t>(ns % 1000000000));
  };
  if (!o.drain_timeout.empty()) {
    setDuration(o.drain_timeout, b.mutable_drain_timeout());
  }
  if (!o.drain_grace.empty()) {
    setDuration(o.drain_grace, b.mutable_drain_grace());
  }
  if (o.max_downstream_connections > 0) {
    b.set_max_downstream_connections(static_cast<uint32_t>(o.max_downstream_connections));
  }
  if (!o.node_id.empty()) {
    b.mutable_node()->set_id(o.node_id);
  }
  if (!o.service.empty()) {
    b.mutable_node()->set_service(o.service);
  }
  if (!o.ns.empty()) {
    b.mutable_node()->set_namespace_(o.ns);
  }
  if (!o.xds.empty()) {
    b.mutable_xds()->clear_address();
    for (const std::string& x : o.xds) {
      b.mutable_xds()->add_address(x);
    }
  }
  bool mesh = b.xds().address_size() > 0;
  if (!mesh) {
    if (!o.outbound.empty() || !o.inbound.empty() || !o.app.empty() || !o.labels.empty()) {
      return Status::invalid(
          "--outbound, --inbound, --app and --labels are mesh-mode flags (they need --xds or "
          "xds.address)");
    }
    return b;
  }
  Status s = applyMeshMode(o, b);
  if (!s.isOk()) {
    return s;
  }
  return b;
}

}  // namespace remora::sidecar
