#include "control/kube_registrations.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/time_format.h"

namespace remora::control {

namespace pb = google::protobuf;

namespace {

// FNV-1a: a short stable suffix, so that one workload always maps to the same slice.
std::string hash8(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h = (h ^ c) * 16777619u;
  }
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

std::time_t parseRfc3339(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) {
    return 0;
  }
  return timegm(&tm);
}

}  // namespace

KubeRegistrations::KubeRegistrations(KubeConfig config, common::StatsStore& stats)
    : stats_(stats),
      ok_(stats_.counter("remora_control_kube_registration_writes_total", {{"result", "ok"}})),
      failed_(
          stats_.counter("remora_control_kube_registration_writes_total", {{"result", "error"}})),
      queue_(std::move(config), "registration slice", [this](bool ok) {
        ++writes_;
        stats_.shard(kStatsShard).add(ok ? ok_ : failed_);
      }) {}

void KubeRegistrations::enqueue(Op op) {
  std::string key = op.ns + "/" + op.name;
  queue_.put(key, [op = std::move(op)](KubeClient& client) { return apply(client, op); });
}

std::string KubeRegistrations::sliceName(const RegisteredEndpoint& e) {
  std::string name = "remora-reg-" + e.service;
  if (name.size() > 52) {
    name.resize(52);
  }
  return name + "-" + hash8(e.address + ":" + std::to_string(e.port));
}

std::optional<KubeRegistrations::Stored> KubeRegistrations::registration(const KubeObject& slice) {
  // Label keys hold dots: look the label up in the map, not by a dotted path.
  const pb::Value* labels = jsonAt(slice.object, "metadata.labels");
  if (labels == nullptr || !labels->has_struct_value()) {
    return std::nullopt;
  }
  auto it = labels->struct_value().fields().find("endpointslice.kubernetes.io/managed-by");
  if (it == labels->struct_value().fields().end() || it->second.string_value() != kManagedBy) {
    return std::nullopt;
  }
  Stored s;
  const pb::Value* ann = jsonAt(slice.object, "metadata.annotations");
  if (ann != nullptr && ann->has_struct_value()) {
    const auto& f = ann->struct_value().fields();
    if (auto it = f.find("remora.dev/expires-at"); it != f.end()) {
      s.expires_at = parseRfc3339(it->second.string_value());
    }
    if (auto it = f.find("remora.dev/ttl-seconds"); it != f.end()) {
      s.ttl_seconds = static_cast<uint32_t>(std::atoi(it->second.string_value().c_str()));
    }
  }
  return s;
}

void KubeRegistrations::store(const RegisteredEndpoint& e, const std::string& port_name,
                              uint32_t ttl_seconds, const std::string& api_version) {
  pb::Value slice;
  auto* f = slice.mutable_struct_value()->mutable_fields();
  (*f)["apiVersion"].set_string_value(api_version);
  (*f)["kind"].set_string_value("EndpointSlice");
  auto* meta = (*f)["metadata"].mutable_struct_value()->mutable_fields();
  (*meta)["name"].set_string_value(sliceName(e));
  (*meta)["namespace"].set_string_value(e.ns);
  auto* labels = (*meta)["labels"].mutable_struct_value()->mutable_fields();
  (*labels)["kubernetes.io/service-name"].set_string_value(e.service);
  (*labels)["endpointslice.kubernetes.io/managed-by"].set_string_value(kManagedBy);
  auto* ann = (*meta)["annotations"].mutable_struct_value()->mutable_fields();
  (*ann)["remora.dev/expires-at"].set_string_value(
      common::rfc3339Utc(std::time(nullptr) + static_cast<std::time_t>(ttl_seconds)));
  (*ann)["remora.dev/ttl-seconds"].set_string_value(std::to_string(ttl_seconds));
  std::string workload_labels;
  for (const auto& [k, v] : e.labels) {
    workload_labels += (workload_labels.empty() ? "" : ",") + k + "=" + v;
  }
  if (!workload_labels.empty()) {
    (*ann)["remora.dev/workload-labels"].set_string_value(workload_labels);
  }
  (*f)["addressType"].set_string_value(e.address.find(':') == std::string::npos ? "IPv4" : "IPv6");
  pb::Value endpoint;
  auto* ef = endpoint.mutable_struct_value()->mutable_fields();
  (*ef)["addresses"].mutable_list_value()->add_values()->set_string_value(e.address);
  (*(*ef)["conditions"].mutable_struct_value()->mutable_fields())["ready"].set_bool_value(true);
  *(*f)["endpoints"].mutable_list_value()->add_values() = std::move(endpoint);
  pb::Value port;
  auto* pf = port.mutable_struct_value()->mutable_fields();
  (*pf)["name"].set_string_value(port_name);
  (*pf)["port"].set_number_value(e.port);
  (*pf)["protocol"].set_string_value("TCP");
  *(*f)["ports"].mutable_list_value()->add_values() = std::move(port);
  enqueue(Op{api_version, e.ns, sliceName(e), printJsonValue(slice)});
}

void KubeRegistrations::remove(const RegisteredEndpoint& e, const std::string& api_version) {
  removeSlice(e.ns, sliceName(e), api_version);
}

void KubeRegistrations::removeSlice(const std::string& ns, const std::string& name,
                                    const std::string& api_version) {
  enqueue(Op{api_version, ns, name, ""});
}

common::Status KubeRegistrations::apply(KubeClient& client, const Op& op) {
  std::string path =
      "/apis/" + op.api_version + "/namespaces/" + op.ns + "/endpointslices/" + op.name;
  auto r = op.body.empty() ? client.call("DELETE", path)
                           : client.call("PATCH", path + "?fieldManager=remora-control&force=true",
                                         op.body, "application/apply-patch+yaml");
  if (!r.isOk()) {
    return r.status();
  }
  long s = r.value().status;
  if (s == 200 || s == 201 || (op.body.empty() && s == 404)) {
    return common::Status::ok();
  }
  return common::Status::unavailable("HTTP " + std::to_string(s) + " " +
                                     r.value().body.substr(0, 300));
}

}  // namespace remora::control
