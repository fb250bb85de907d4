#include "control/kube_status.h"

#include <spdlog/spdlog.h>

#include "control/kube_leader.h"
#include "control/kube_watch.h"

namespace remora::control {

namespace pb = google::protobuf;

namespace {

constexpr size_t kMaxMessageBytes = 4096;  // Condition.message allows 32768; keep it readable

std::string keyOf(const ObjectStanding& s) {
  return s.kind + " " + s.namespace_ + "/" + s.name;
}

pb::Value condition(const std::string& type, bool ok, const std::string& reason,
                    const std::string& message, int64_t generation, const std::string& time) {
  pb::Value c;
  auto* f = c.mutable_struct_value()->mutable_fields();
  (*f)["type"].set_string_value(type);
  (*f)["status"].set_string_value(ok ? "True" : "False");
  (*f)["reason"].set_string_value(reason);
  (*f)["message"].set_string_value(message);
  (*f)["observedGeneration"].set_number_value(static_cast<double>(generation));
  (*f)["lastTransitionTime"].set_string_value(time);
  return c;
}

}  // namespace

KubeStatusWriter::KubeStatusWriter(KubeConfig config, common::StatsStore& stats)
    : stats_(stats),
      writes_ok_(stats_.counter("remora_control_kube_status_writes_total", {{"result", "ok"}})),
      writes_failed_(
          stats_.counter("remora_control_kube_status_writes_total", {{"result", "error"}})),
      queue_(std::move(config), "status of", [this](bool ok) {
        if (ok) {
          ++written_;
        }
        stats_.shard(kStatsShard).add(ok ? writes_ok_ : writes_failed_);
      }) {}

void KubeStatusWriter::enqueue(const std::string& key, const Verdict& v) {
  queue_.put(key, [v](KubeClient& client) { return write(client, v); });
}

void KubeStatusWriter::update(const std::vector<ObjectStanding>& standings) {
  std::map<std::string, Verdict> next;
  std::vector<Verdict> changed;
  for (const ObjectStanding& s : standings) {
    Verdict v;
    v.standing = s;
    v.accepted = s.problems.empty();
    for (const std::string& p : s.problems) {
      v.message += (v.message.empty() ? "" : "; ") + p;
    }
    if (v.message.size() > kMaxMessageBytes) {
      v.message.resize(kMaxMessageBytes - 3);
      v.message += "...";
    }
    if (v.accepted) {
      v.message = "accepted by the remora control plane";
    }
    std::string key = keyOf(s);
    auto old = last_.find(key);
    bool same = old != last_.end() && old->second.accepted == v.accepted &&
                old->second.message == v.message && old->second.standing.generation == s.generation;
    v.transition_time = old != last_.end() && old->second.accepted == v.accepted
                            ? old->second.transition_time
                            : kubeMicroTimeNow().substr(0, 19) + "Z";
    if (!same) {
      changed.push_back(v);
    }
    next.emplace(std::move(key), std::move(v));
  }
  last_ = std::move(next);
  if (!leader_ || changed.empty()) {
    return;
  }
  for (const Verdict& v : changed) {
    enqueue(keyOf(v.standing), v);
  }
}

void KubeStatusWriter::setLeader(bool leader) {
  leader_ = leader;
  if (!leader) {
    queue_.clear();
    return;
  }
  // Another replica may have judged differently (an older version): write everything.
  for (const auto& [key, v] : last_) {
    enqueue(key, v);
  }
}

std::string KubeStatusWriter::statusPatch(const Verdict& v) {
  const ObjectStanding& s = v.standing;
  pb::Value cond = condition("Accepted", v.accepted, v.accepted ? "Accepted" : "Invalid", v.message,
                             s.generation, v.transition_time);
  pb::Value patch;
  auto* status = (*patch.mutable_struct_value()->mutable_fields())["status"].mutable_struct_value();
  if (s.kind == "HTTPRoute") {
    // Gateway API: one entry per parent, written by this controller. A merge patch replaces
    // the whole list: entries of other controllers for the same route are not kept.
    pb::ListValue* parents = (*status->mutable_fields())["parents"].mutable_list_value();
    if (s.parent_refs.has_list_value()) {
      for (const pb::Value& ref : s.parent_refs.list_value().values()) {
        pb::Value entry;
        auto* f = entry.mutable_struct_value()->mutable_fields();
        (*f)["parentRef"] = ref;
        (*f)["controllerName"].set_string_value(kControllerName);
        *(*f)["conditions"].mutable_list_value()->add_values() = cond;
        *parents->add_values() = std::move(entry);
      }
    }
  } else {
    *(*status->mutable_fields())["conditions"].mutable_list_value()->add_values() = cond;
  }
  return printJsonValue(patch);
}

common::Status KubeStatusWriter::write(KubeClient& client, const Verdict& v) {
  const ObjectStanding& s = v.standing;
  std::string path = "/apis/" + s.group + "/" + s.version + "/namespaces/" + s.namespace_ + "/" +
                     s.plural + "/" + s.name + "/status";
  auto r = client.call("PATCH", path, statusPatch(v), "application/merge-patch+json");
  if (!r.isOk()) {
    return r.status();
  }
  if (r.value().status == 404) {
    return common::Status::ok();  // deleted meanwhile
  }
  if (r.value().status != 200) {
    return common::Status::unavailable("HTTP " + std::to_string(r.value().status) + " " +
                                       r.value().body.substr(0, 300));
  }
  return common::Status::ok();
}

}  // namespace remora::control
