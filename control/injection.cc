#include "control/injection.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <regex>

#include "common/json_writer.h"
#include "control/json_patch.h"

namespace remora::control {

using common::Status;
using google::protobuf::Value;

namespace {

constexpr int kOutboundPort = 15001;
constexpr int kInboundPort = 15006;
constexpr int kHealthPort = 15021;
constexpr int kPrometheusPort = 15090;
constexpr const char* kReadyPath = "/healthz/ready";
constexpr const char* kAppHealthPrefix = "/app-health/";
constexpr const char* kPrometheusPath = "/stats/prometheus";

// --- reading -----------------------------------------------------------------------------

// A scalar as text (annotations and labels are strings, but a hand-written manifest may say
// `remora.dev/inject: true` unquoted); nullopt for absent, null, objects and lists.
std::optional<std::string> scalarText(const Value* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  switch (v->kind_case()) {
    case Value::kStringValue:
      return v->string_value();
    case Value::kBoolValue:
      return std::string(v->bool_value() ? "true" : "false");
    case Value::kNumberValue: {
      const double d = v->number_value();
      return d == static_cast<double>(static_cast<long long>(d))
                 ? std::to_string(static_cast<long long>(d))
                 : std::to_string(d);
    }
    default:
      return std::nullopt;
  }
}

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) {
    return "";
  }
  const size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> splitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    std::string item =
        trim(s.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (!item.empty()) {
      out.push_back(std::move(item));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

std::optional<int> portNumber(std::string_view s) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const int p = std::atoi(std::string(s).c_str());
  return p >= 1 && p <= 65535 ? std::optional<int>(p) : std::nullopt;
}

bool validCidr(const std::string& s) {
  const size_t slash = s.find('/');
  const std::string ip = s.substr(0, slash);
  unsigned char buf[16];
  int max_prefix = 32;
  if (inet_pton(AF_INET, ip.c_str(), buf) != 1) {
    if (inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
      return false;
    }
    max_prefix = 128;
  }
  if (slash == std::string::npos) {
    return true;
  }
  const std::string prefix = s.substr(slash + 1);
  if (prefix.empty() || prefix.size() > 3 ||
      prefix.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  return std::atoi(prefix.c_str()) <= max_prefix;
}

bool validQuantity(const std::string& s) {
  static const std::regex r(
      R"(\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][-+]?[0-9]+)?)");
  return std::regex_match(s, r);
}

// --- the pod's settings, read and checked before anything changes --------------------------

struct PodSettings {
  std::vector<int> exclude_inbound;  // the user's
  std::string exclude_outbound;      // normalized "a,b" lists; empty: not given
  std::string exclude_outbound_ranges;
  std::optional<std::string> include_inbound;  // "*" or a list
  std::string cpu;
  std::string memory;
  std::string log_level = "info";
  bool native = false;
  bool rewrite_probes = true;
};

class Annotations {
 public:
  Annotations(const Value* annotations, std::string pointer)
      : annotations_(annotations), pointer_(std::move(pointer)) {}

  std::optional<std::string> text(const char* name) const {
    return scalarText(jsonMember(annotations_, name));
  }

  Status bad(const char* name, const std::string& wants, InjectionReport* report) const {
    report->error_pointer = pointer_ + "/" + escapePointerToken(name);
    return Status::invalid("annotation " + std::string(name) + " wants " + wants + ", got '" +
                           text(name).value_or("") + "'");
  }

 private:
  const Value* annotations_;
  std::string pointer_;
};

Status portList(const Annotations& a, const char* name, bool star_ok, std::vector<int>* ports,
                bool* star, InjectionReport* report) {
  const auto text = a.text(name);
  if (!text) {
    return Status::ok();
  }
  const std::string wants = star_ok ? "'*' or a comma-separated list of ports (1-65535)"
                                    : "a comma-separated list of ports (1-65535)";
  if (star_ok && trim(*text) == "*") {
    *star = true;
    return Status::ok();
  }
  for (const std::string& item : splitList(*text)) {
    auto p = portNumber(item);
    if (!p) {
      return a.bad(name, wants, report);
    }
    ports->push_back(*p);
  }
  return Status::ok();
}

std::string joinPorts(std::vector<int> ports) {
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  std::string out;
  for (int p : ports) {
    out += (out.empty() ? "" : ",") + std::to_string(p);
  }
  return out;
}

Status readSettings(const Annotations& a, const InjectionOptions& options, PodSettings* s,
                    InjectionReport* report) {
  bool star = false;
  if (Status st =
          portList(a, kExcludeInboundPortsAnnotation, false, &s->exclude_inbound, &star, report);
      !st.isOk()) {
    return st;
  }
  std::vector<int> outbound;
  if (Status st = portList(a, kExcludeOutboundPortsAnnotation, false, &outbound, &star, report);
      !st.isOk()) {
    return st;
  }
  s->exclude_outbound = joinPorts(outbound);
  std::vector<int> include;
  if (Status st = portList(a, kIncludeInboundPortsAnnotation, true, &include, &star, report);
      !st.isOk()) {
    return st;
  }
  if (star) {
    s->include_inbound = "*";
  } else if (!include.empty()) {
    s->include_inbound = joinPorts(include);
  } else if (a.text(kIncludeInboundPortsAnnotation)) {
    s->include_inbound = "";  // given but empty: no inbound capture at all, as in Istio
  }
  if (auto ranges = a.text(kExcludeOutboundIpRangesAnnotation)) {
    for (const std::string& r : splitList(*ranges)) {
      if (!validCidr(r)) {
        return a.bad(kExcludeOutboundIpRangesAnnotation,
                     "a comma-separated list of IP ranges (10.0.0.0/8, fd00::/8)", report);
      }
      s->exclude_outbound_ranges += (s->exclude_outbound_ranges.empty() ? "" : ",") + r;
    }
  }
  s->cpu = a.text(kProxyCpuAnnotation).value_or(options.proxy_cpu);
  if (!validQuantity(s->cpu)) {
    return a.bad(kProxyCpuAnnotation, "a Kubernetes quantity (100m, 0.5, 1)", report);
  }
  s->memory = a.text(kProxyMemoryAnnotation).value_or(options.proxy_memory);
  if (!validQuantity(s->memory)) {
    return a.bad(kProxyMemoryAnnotation, "a Kubernetes quantity (64Mi, 1Gi)", report);
  }
  if (auto level = a.text(kLogLevelAnnotation)) {
    static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error"};
    if (std::find_if(std::begin(kLevels), std::end(kLevels),
                     [&](const char* l) { return *level == l; }) == std::end(kLevels)) {
      return a.bad(kLogLevelAnnotation, "trace, debug, info, warn or error", report);
    }
    s->log_level = *level;
  }
  s->native = options.native_sidecar;
  if (auto native = a.text(kNativeSidecarAnnotation)) {
    if (*native != "true" && *native != "false") {
      return a.bad(kNativeSidecarAnnotation, "\"true\" or \"false\"", report);
    }
    s->native = *native == "true";
  }
  if (auto rewrite = a.text(kRewriteAppProbesAnnotation)) {
    if (*rewrite != "true" && *rewrite != "false") {
      return a.bad(kRewriteAppProbesAnnotation, "\"true\" or \"false\"", report);
    }
    s->rewrite_probes = *rewrite == "true";
  }
  return Status::ok();
}

// --- building ------------------------------------------------------------------------------

Value str(std::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  return v;
}

Value num(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value boolean(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}

// An object built member by member: obj({{"a", str("x")}, ...}).
Value obj(std::initializer_list<std::pair<const char*, Value>> members) {
  Value v;
  auto* fields = v.mutable_struct_value()->mutable_fields();
  for (const auto& [k, m] : members) {
    (*fields)[k] = m;
  }
  return v;
}

Value list(std::initializer_list<Value> items) {
  Value v;
  auto* l = v.mutable_list_value();
  for (const Value& i : items) {
    *l->add_values() = i;
  }
  return v;
}

Value strings(const std::vector<std::string>& items) {
  Value v;
  auto* l = v.mutable_list_value();
  for (const std::string& i : items) {
    l->add_values()->set_string_value(i);
  }
  return v;
}

Value envVar(const char* name, std::string_view value) {
  return obj({{"name", str(name)}, {"value", str(value)}});
}

Value fieldEnv(const char* name, const char* field_path) {
  return obj(
      {{"name", str(name)},
       {"valueFrom",
        obj({{"fieldRef", obj({{"apiVersion", str("v1")}, {"fieldPath", str(field_path)}})}})}});
}

Value readyProbe(int period, int failures) {
  return obj({{"httpGet", obj({{"path", str(kReadyPath)}, {"port", num(kHealthPort)}})},
              {"initialDelaySeconds", num(period == 1 ? 0 : 1)},
              {"periodSeconds", num(period)},
              {"timeoutSeconds", num(3)},
              {"failureThreshold", num(failures)}});
}

// A probe's port as a number: a number, a numeric string, or the name of one of the
// container's ports; nullopt when it resolves to nothing.
std::optional<int> resolvePort(const Value& container, const Value* port) {
  if (port == nullptr) {
    return std::nullopt;
  }
  if (port->has_number_value()) {
    return portNumber(std::to_string(static_cast<long long>(port->number_value())));
  }
  if (!port->has_string_value()) {
    return std::nullopt;
  }
  if (auto n = portNumber(port->string_value())) {
    return n;
  }
  const Value* ports = jsonMember(&container, "ports");
  if (ports == nullptr || !ports->has_list_value()) {
    return std::nullopt;
  }
  for (const Value& cp : ports->list_value().values()) {
    const Value* name = jsonMember(&cp, "name");
    const Value* number = jsonMember(&cp, "containerPort");
    if (name != nullptr && name->has_string_value() &&
        name->string_value() == port->string_value() && number != nullptr &&
        number->has_number_value()) {
      return portNumber(std::to_string(static_cast<long long>(number->number_value())));
    }
  }
  return std::nullopt;
}

constexpr std::pair<const char*, const char*> kProbeKinds[] = {
    {"livenessProbe", "livez"}, {"readinessProbe", "readyz"}, {"startupProbe", "startupz"}};

bool isRewrittenProbe(const Value* probe) {
  const Value* get = jsonMember(probe, "httpGet");
  const Value* port = jsonMember(get, "port");
  const auto path = scalarText(jsonMember(get, "path"));
  return port != nullptr && port->has_number_value() && port->number_value() == kHealthPort &&
         path && path->rfind(kAppHealthPrefix, 0) == 0;
}

// The probe as REMORA_APP_PROBES keeps it (docs/injection.md "Probes"), when the sidecar can
// run it: httpGet over plain HTTP or tcpSocket, without `host:`, on a port that resolves.
std::optional<std::string> appProbeJson(const Value& container, const Value* probe) {
  const Value* get = jsonMember(probe, "httpGet");
  const Value* tcp = jsonMember(probe, "tcpSocket");
  const Value* handler = get != nullptr ? get : tcp;
  if (handler == nullptr || !handler->has_struct_value() ||
      jsonMember(handler, "host") != nullptr) {
    return std::nullopt;
  }
  const auto scheme = scalarText(jsonMember(get, "scheme"));
  if (scheme && *scheme != "HTTP") {
    return std::nullopt;  // HTTPS: the sidecar links no TLS for probes
  }
  const auto port = resolvePort(container, jsonMember(handler, "port"));
  if (!port) {
    return std::nullopt;
  }
  common::JsonWriter w;
  w.beginObject();
  w.key(get != nullptr ? "httpGet" : "tcpSocket");
  w.beginObject();
  if (get != nullptr) {
    w.field("path", scalarText(jsonMember(get, "path")).value_or("/"));
  }
  w.field("port", *port);
  const Value* headers = jsonMember(get, "httpHeaders");
  if (headers != nullptr && headers->has_list_value() && headers->list_value().values_size() > 0) {
    w.key("httpHeaders");
    w.beginArray();
    for (const Value& h : headers->list_value().values()) {
      w.beginObject();
      w.field("name", scalarText(jsonMember(&h, "name")).value_or(""));
      w.field("value", scalarText(jsonMember(&h, "value")).value_or(""));
      w.endObject();
    }
    w.endArray();
  }
  w.endObject();
  // Always given, with Kubernetes' default of 1 s: the webhook sees the API server's defaults
  // filled in, `remoractl inject` does not, and both must give the same pod.
  const Value* timeout = jsonMember(probe, "timeoutSeconds");
  w.field("timeoutSeconds", timeout != nullptr && timeout->has_number_value()
                                ? static_cast<int64_t>(timeout->number_value())
                                : int64_t{1});
  w.endObject();
  return w.take();
}

// Rewrites the probes of `containers` that the sidecar can run to its health port (when
// `rewrite`), appending them to `app_probes` ("path":{...} members), and collects the ports of
// the others (httpGet, tcpSocket, grpc) so that kubelet reaches them directly.
void rewriteProbes(Value* containers, bool rewrite, std::string* app_probes,
                   std::vector<int>* excluded) {
  if (containers == nullptr || !containers->has_list_value()) {
    return;
  }
  for (Value& c : *containers->mutable_list_value()->mutable_values()) {
    const std::string name = scalarText(jsonMember(&c, "name")).value_or("");
    for (const auto& [field, kind] : kProbeKinds) {
      Value* probe = findPointer(&c, std::string("/") + field);
      if (probe == nullptr || !probe->has_struct_value() || isRewrittenProbe(probe)) {
        continue;
      }
      if (auto original = rewrite ? appProbeJson(c, probe) : std::nullopt) {
        const std::string path = std::string(kAppHealthPrefix) + name + "/" + kind;
        *app_probes += (app_probes->empty() ? "" : ",") + common::jsonQuote(path) + ":" + *original;
        auto* fields = probe->mutable_struct_value()->mutable_fields();
        fields->erase("tcpSocket");
        (*fields)["httpGet"] =
            obj({{"path", str(path)}, {"port", num(kHealthPort)}, {"scheme", str("HTTP")}});
        continue;
      }
      for (const char* handler : {"httpGet", "tcpSocket", "grpc"}) {
        if (auto port = resolvePort(c, jsonMember(jsonMember(probe, handler), "port"))) {
          excluded->push_back(*port);
        }
      }
    }
  }
}

Value initContainer(const InjectionOptions& o, const PodSettings& s,
                    const std::string& exclude_inbound) {
  std::vector<std::string> args = {"iptables",
                                   "--proxy-uid",
                                   std::to_string(o.proxy_uid),
                                   "--outbound-port",
                                   std::to_string(kOutboundPort),
                                   "--inbound-port",
                                   std::to_string(kInboundPort),
                                   "--exclude-inbound-ports",
                                   exclude_inbound};
  if (!s.exclude_outbound.empty()) {
    args.insert(args.end(), {"--exclude-outbound-ports", s.exclude_outbound});
  }
  if (!s.exclude_outbound_ranges.empty()) {
    args.insert(args.end(), {"--exclude-outbound-ip-ranges", s.exclude_outbound_ranges});
  }
  if (s.include_inbound && s.include_inbound->empty()) {
    args.push_back("--include-inbound-ports=");  // an empty separate argument reads as missing
  } else if (s.include_inbound) {
    args.insert(args.end(), {"--include-inbound-ports", *s.include_inbound});
  }
  return obj({
      {"name", str(kInitContainerName)},
      {"image", str(o.proxy_image)},
      {"imagePullPolicy", str("IfNotPresent")},
      {"command", strings({"remora-sidecar"})},
      {"args", strings(args)},
      {"resources", obj({{"requests", obj({{"cpu", str("10m")}, {"memory", str("16Mi")}})}})},
      {"securityContext", obj({{"allowPrivilegeEscalation", boolean(false)},
                               {"capabilities", obj({{"add", strings({"NET_ADMIN", "NET_RAW"})},
                                                     {"drop", strings({"ALL"})}})},
                               {"privileged", boolean(false)},
                               {"readOnlyRootFilesystem", boolean(false)},
                               {"runAsGroup", num(0)},
                               {"runAsNonRoot", boolean(false)},
                               {"runAsUser", num(0)}})},
  });
}

// "k=v,..." in key order.
std::string labelList(const Value* labels) {
  std::map<std::string, std::string> sorted;
  if (labels != nullptr && labels->has_struct_value()) {
    for (const auto& [k, v] : labels->struct_value().fields()) {
      if (auto t = scalarText(&v)) {
        sorted[k] = *t;
      }
    }
  }
  std::string out;
  for (const auto& [k, v] : sorted) {
    out += (out.empty() ? "" : ",") + k + "=" + v;
  }
  return out;
}

Value proxyContainer(const InjectionOptions& o, const PodSettings& s, const std::string& service,
                     const Value* labels, const std::string& app_probes) {
  Value env = list({
      fieldEnv("REMORA_POD_NAME", "metadata.name"),
      fieldEnv("REMORA_NAMESPACE", "metadata.namespace"),
      fieldEnv("REMORA_SERVICE_ACCOUNT", "spec.serviceAccountName"),
      fieldEnv("REMORA_POD_IP", "status.podIP"),
      envVar("REMORA_XDS", o.control_plane),
      envVar("REMORA_NODE_ID", "$(REMORA_POD_NAME).$(REMORA_NAMESPACE)"),
      envVar("REMORA_SERVICE", service),
      envVar("REMORA_HEALTH", "0.0.0.0:" + std::to_string(kHealthPort)),
      envVar("REMORA_PROMETHEUS", "0.0.0.0:" + std::to_string(kPrometheusPort)),
      envVar("REMORA_LOG_LEVEL", s.log_level),
  });
  if (std::string l = labelList(labels); !l.empty()) {
    *env.mutable_list_value()->add_values() = envVar("REMORA_LABELS", l);
  }
  if (!app_probes.empty()) {
    *env.mutable_list_value()->add_values() = envVar("REMORA_APP_PROBES", "{" + app_probes + "}");
  }
  Value c = obj({
      {"name", str(kProxyContainerName)},
      {"image", str(o.proxy_image)},
      {"imagePullPolicy", str("IfNotPresent")},
      {"command", strings({"remora-sidecar"})},
      {"env", env},
      {"ports", list({obj({{"containerPort", num(kPrometheusPort)},
                           {"name", str("remora-metrics")},
                           {"protocol", str("TCP")}})})},
      {"readinessProbe", readyProbe(2, 30)},
      {"resources", obj({{"requests", obj({{"cpu", str(s.cpu)}, {"memory", str(s.memory)}})}})},
      {"securityContext", obj({{"allowPrivilegeEscalation", boolean(false)},
                               {"capabilities", obj({{"drop", strings({"ALL"})}})},
                               {"privileged", boolean(false)},
                               {"readOnlyRootFilesystem", boolean(true)},
                               {"runAsGroup", num(static_cast<double>(o.proxy_uid))},
                               {"runAsNonRoot", boolean(true)},
                               {"runAsUser", num(static_cast<double>(o.proxy_uid))}})},
  });
  auto* fields = c.mutable_struct_value()->mutable_fields();
  if (s.native) {
    // Kubelet starts the next init container (and then the app) only once this probe passes.
    (*fields)["restartPolicy"] = str("Always");
    (*fields)["startupProbe"] = readyProbe(1, 600);
  } else {
    // Kubelet runs a postStart hook before it starts the next container, so the app's
    // containers start once the proxy is ready (or the wait gave up: then the hook fails and
    // kubelet restarts the proxy, while the app starts anyway).
    (*fields)["lifecycle"] = obj(
        {{"postStart", obj({{"exec", obj({{"command", strings({"remora-sidecar", "wait"})}})}})}});
  }
  return c;
}

// --- selection and naming ------------------------------------------------------------------

bool isTrue(const std::optional<std::string>& s) {
  return s && *s == "true";
}

bool hasContainer(const Value* containers, const char* name) {
  if (containers == nullptr || !containers->has_list_value()) {
    return false;
  }
  for (const Value& c : containers->list_value().values()) {
    auto n = scalarText(jsonMember(&c, "name"));
    if (n && *n == name) {
      return true;
    }
  }
  return false;
}

bool isJob(std::string_view kind, const Value* object, const Value* labels) {
  if (kind == "Job" || kind == "CronJob") {
    return true;
  }
  if (jsonMember(labels, "job-name") != nullptr ||
      jsonMember(labels, "batch.kubernetes.io/job-name") != nullptr) {
    return true;
  }
  const Value* owners = jsonMember(jsonMember(object, "metadata"), "ownerReferences");
  if (owners != nullptr && owners->has_list_value()) {
    for (const Value& o : owners->list_value().values()) {
      if (scalarText(jsonMember(&o, "kind")).value_or("") == "Job") {
        return true;
      }
    }
  }
  return false;
}

std::string stripSuffix(std::string name, std::string_view suffix) {
  if (!suffix.empty() && name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    name.resize(name.size() - suffix.size());
  }
  return name;
}

// The service name: the app.kubernetes.io/name or app label; else the workload's name; for a
// bare Pod its generateName without the ReplicaSet hash, or its name without a StatefulSet
// ordinal.
std::string serviceName(std::string_view kind, const Value* object, const Value* labels) {
  for (const char* label : {"app.kubernetes.io/name", "app"}) {
    if (auto v = scalarText(jsonMember(labels, label)); v && !v->empty()) {
      return *v;
    }
  }
  const Value* metadata = jsonMember(object, "metadata");
  const std::string name = scalarText(jsonMember(metadata, "name")).value_or("");
  if (kind != "Pod") {
    return name;
  }
  const std::string generate = scalarText(jsonMember(metadata, "generateName")).value_or("");
  if (!generate.empty()) {
    std::string base = stripSuffix(generate, "-");
    if (auto hash = scalarText(jsonMember(labels, "pod-template-hash"))) {
      base = stripSuffix(base, "-" + *hash);
    }
    return base;
  }
  if (jsonMember(labels, "statefulset.kubernetes.io/pod-name") != nullptr) {
    const size_t dash = name.rfind('-');
    if (dash != std::string::npos && dash + 1 < name.size() &&
        name.find_first_not_of("0123456789", dash + 1) == std::string::npos) {
      return name.substr(0, dash);
    }
  }
  return name;
}

Value* mutableObject(Value* parent, const char* key) {
  Value& v = (*parent->mutable_struct_value()->mutable_fields())[key];
  if (!v.has_struct_value()) {
    v.mutable_struct_value();
  }
  return &v;
}

Value* mutableList(Value* parent, const char* key) {
  Value& v = (*parent->mutable_struct_value()->mutable_fields())[key];
  if (!v.has_list_value()) {
    v.mutable_list_value();
  }
  return &v;
}

Status checkContainerList(const Value* spec, const char* key, const std::string& spec_pointer,
                          InjectionReport* report) {
  const Value* l = jsonMember(spec, key);
  if (l == nullptr || l->has_null_value()) {
    return Status::ok();
  }
  bool ok = l->has_list_value();
  for (int i = 0; ok && i < l->list_value().values_size(); ++i) {
    ok = l->list_value().values(i).has_struct_value();
  }
  if (!ok) {
    report->error_pointer = spec_pointer + "/" + key;
    return Status::invalid(std::string("spec.") + key + " must be a list of containers");
  }
  return Status::ok();
}

}  // namespace

const char* outcomeName(InjectOutcome outcome) {
  switch (outcome) {
    case InjectOutcome::kInjected:
      return "injected";
    case InjectOutcome::kAlreadyInjected:
      return "already-injected";
    case InjectOutcome::kDisabledByAnnotation:
      return "disabled-by-annotation";
    case InjectOutcome::kNotSelected:
      return "not-selected";
    case InjectOutcome::kHostNetwork:
      return "host-network";
  }
  return "unknown";
}

std::optional<std::string> podTemplatePointer(std::string_view kind) {
  if (kind == "Pod") {
    return std::string();
  }
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
      kind == "ReplicaSet" || kind == "Job") {
    return std::string("/spec/template");
  }
  if (kind == "CronJob") {
    return std::string("/spec/jobTemplate/spec/template");
  }
  return std::nullopt;
}

Status injectObject(Value* object, NamespaceSelection ns, const InjectionOptions& options,
                    InjectionReport* report) {
  *report = InjectionReport{};
  const std::string kind = scalarText(jsonMember(object, "kind")).value_or("");
  const auto pointer = podTemplatePointer(kind);
  if (!pointer) {
    return Status::ok();
  }
  Value* pod = findPointer(object, *pointer);
  if (pod == nullptr || !pod->has_struct_value()) {
    report->error_pointer = *pointer;
    return Status::invalid(kind + " has no pod template object at " +
                           (pointer->empty() ? std::string("/") : *pointer));
  }
  const Value* metadata = jsonMember(pod, "metadata");
  const Value* annotations = jsonMember(metadata, "annotations");
  const Value* labels = jsonMember(metadata, "labels");
  const Value* spec = jsonMember(pod, "spec");
  const std::string spec_pointer = *pointer + "/spec";
  if (spec == nullptr || !spec->has_struct_value()) {
    report->error_pointer = *pointer;
    return Status::invalid(kind + ": the pod has no spec object");
  }
  for (const char* key : {"containers", "initContainers"}) {
    if (Status s = checkContainerList(spec, key, spec_pointer, report); !s.isOk()) {
      return s;
    }
  }
  const Annotations a(annotations, *pointer + "/metadata/annotations");
  const Value* host_network = jsonMember(spec, "hostNetwork");
  if (host_network != nullptr && host_network->has_bool_value() && host_network->bool_value()) {
    report->outcome = InjectOutcome::kHostNetwork;
    return Status::ok();
  }
  if (a.text(kStatusAnnotation).value_or("") == kInjectedStatus ||
      hasContainer(jsonMember(spec, "containers"), kProxyContainerName) ||
      hasContainer(jsonMember(spec, "initContainers"), kProxyContainerName)) {
    report->outcome = InjectOutcome::kAlreadyInjected;
    return Status::ok();
  }
  const auto inject = a.text(kInjectAnnotation);
  if (inject && *inject != "true" && *inject != "false") {
    return a.bad(kInjectAnnotation, "\"true\" or \"false\"", report);
  }
  if (inject && *inject == "false") {
    report->outcome = InjectOutcome::kDisabledByAnnotation;
    return Status::ok();
  }
  if (!isTrue(inject) && ns == NamespaceSelection::kNotEnabled) {
    report->outcome = InjectOutcome::kNotSelected;
    return Status::ok();
  }

  PodSettings settings;
  if (Status s = readSettings(a, options, &settings, report); !s.isOk()) {
    return s;
  }
  const std::string service = serviceName(kind, object, labels);
  if (service.empty()) {
    report->error_pointer = *pointer + "/metadata";
    return Status::invalid(kind +
                           " has no app.kubernetes.io/name or app label and no name to take "
                           "the service name from");
  }
  std::vector<int> inbound = settings.exclude_inbound;
  inbound.push_back(kHealthPort);
  inbound.push_back(kPrometheusPort);
  // Kubelet probes the app through the sidecar, or directly on an excluded port when the sidecar
  // cannot run the probe: see docs/injection.md "Probes".
  Value* mutable_spec = mutableObject(pod, "spec");
  std::string app_probes;
  std::vector<int> probe_ports;
  rewriteProbes(findPointer(mutable_spec, "/containers"), settings.rewrite_probes, &app_probes,
                &probe_ports);
  rewriteProbes(findPointer(mutable_spec, "/initContainers"), false, &app_probes, &probe_ports);
  if (!settings.include_inbound || *settings.include_inbound == "*") {
    inbound.insert(inbound.end(), probe_ports.begin(), probe_ports.end());
  }
  if (isJob(kind, object, labels) && !settings.native) {
    report->warnings.push_back(
        kind + ": a Job's pod completes only when remora-proxy exits too: set " +
        kNativeSidecarAnnotation +
        ": \"true\" (Kubernetes 1.28+), or have the app POST http://127.0.0.1:15000/drain "
        "when it is done");
  }

  const Value init = initContainer(options, settings, joinPorts(inbound));
  const Value proxy = proxyContainer(options, settings, service, labels, app_probes);
  Value* init_list = mutableList(mutable_spec, "initContainers");
  auto* inits = init_list->mutable_list_value()->mutable_values();
  if (settings.native) {
    // remora-init, then remora-proxy, then the app's own init containers (they get the mesh).
    *inits->Add() = init;
    *inits->Add() = proxy;
    std::rotate(inits->begin(), inits->end() - 2, inits->end());
  } else {
    // Last: the app's init containers keep a plain network, as no proxy runs yet.
    *inits->Add() = init;
    auto* containers =
        mutableList(mutable_spec, "containers")->mutable_list_value()->mutable_values();
    *containers->Add() = proxy;
    std::rotate(containers->begin(), containers->end() - 1, containers->end());
  }
  Value* meta = mutableObject(pod, "metadata");
  auto* ann = mutableObject(meta, "annotations")->mutable_struct_value()->mutable_fields();
  (*ann)[kStatusAnnotation] = str(kInjectedStatus);
  (*ann)["prometheus.io/scrape"] = str("true");
  (*ann)["prometheus.io/port"] = str(std::to_string(kPrometheusPort));
  (*ann)["prometheus.io/path"] = str(kPrometheusPath);
  report->outcome = InjectOutcome::kInjected;
  report->service = service;
  return Status::ok();
}

}  // namespace remora::control
