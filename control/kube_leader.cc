#include "control/kube_leader.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "control/kube_watch.h"

namespace remora::control {

namespace pb = google::protobuf;

namespace {

uint64_t monotonicMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::string leasePath(const KubeLeaderElection::Options& o, bool collection) {
  std::string p = "/apis/coordination.k8s.io/v1/namespaces/" + o.namespace_ + "/leases";
  return collection ? p : p + "/" + o.name;
}

std::string leaseBody(const KubeLeaderElection::Options& o, const std::string& holder,
                      const std::string& resource_version, const std::string& acquire_time,
                      const std::string& renew_time, int64_t transitions) {
  pb::Value lease;
  auto* f = lease.mutable_struct_value()->mutable_fields();
  (*f)["apiVersion"].set_string_value("coordination.k8s.io/v1");
  (*f)["kind"].set_string_value("Lease");
  auto* meta = (*f)["metadata"].mutable_struct_value()->mutable_fields();
  (*meta)["name"].set_string_value(o.name);
  (*meta)["namespace"].set_string_value(o.namespace_);
  if (!resource_version.empty()) {
    (*meta)["resourceVersion"].set_string_value(resource_version);
  }
  auto* spec = (*f)["spec"].mutable_struct_value()->mutable_fields();
  (*spec)["holderIdentity"].set_string_value(holder);
  (*spec)["leaseDurationSeconds"].set_number_value(static_cast<double>((o.lease_ms + 999) / 1000));
  (*spec)["acquireTime"].set_string_value(acquire_time);
  (*spec)["renewTime"].set_string_value(renew_time);
  (*spec)["leaseTransitions"].set_number_value(static_cast<double>(transitions));
  return printJsonValue(lease);
}

}  // namespace

std::string kubeMicroTimeNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
            1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us));
  return buf;
}

KubeLeaderElection::KubeLeaderElection(KubeConfig config, Options options,
                                       std::function<void(bool)> changed)
    : client_(std::move(config)), options_(std::move(options)), changed_(std::move(changed)) {}

KubeLeaderElection::~KubeLeaderElection() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void KubeLeaderElection::start() {
  thread_ = std::thread([this] { run(); });
}

void KubeLeaderElection::setLeader(bool leader) {
  if (leader_.exchange(leader) != leader) {
    spdlog::info("kubernetes: {} the leader (Lease {}/{}, identity {})",
                 leader ? "became" : "is no longer", options_.namespace_, options_.name,
                 options_.identity);
    if (changed_) {
      changed_(leader);
    }
  }
}

void KubeLeaderElection::run() {
  while (!stopping_) {
    bool held = tryAcquireOrRenew();
    setLeader(held);
    // A leader renews at renew_ms; a follower retries at the same pace (it cannot win
    // before the lease lapses anyway).
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.renew_ms),
                 [this] { return stopping_.load(); });
  }
  if (leader_) {
    release();
    setLeader(false);
  }
}

bool KubeLeaderElection::tryAcquireOrRenew() {
  auto got = client_.call("GET", leasePath(options_, false));
  if (!got.isOk()) {
    spdlog::warn("kubernetes: lease: {}", got.status().message());
    // Without the API we cannot know: keep leading until the lease would have lapsed.
    return leader_ && monotonicMs() - seen_at_ms_ < options_.lease_ms;
  }
  std::string now = kubeMicroTimeNow();
  if (got.value().status == 404) {
    auto r = client_.call("POST", leasePath(options_, true),
                          leaseBody(options_, options_.identity, "", now, now, 0));
    bool won = r.isOk() && r.value().status == 201;
    if (won) {
      seen_at_ms_ = monotonicMs();
    }
    return won;
  }
  if (got.value().status != 200) {
    spdlog::warn("kubernetes: lease: HTTP {} {}", got.value().status,
                 got.value().body.substr(0, 200));
    return false;
  }
  auto lease = parseJson(got.value().body);
  if (!lease.isOk()) {
    return false;
  }
  const pb::Value& l = lease.value();
  std::string holder = jsonString(l, "spec.holderIdentity");
  std::string renew = jsonString(l, "spec.renewTime");
  std::string acquire = jsonString(l, "spec.acquireTime");
  std::string rv = jsonString(l, "metadata.resourceVersion");
  const pb::Value* tr = jsonAt(l, "spec.leaseTransitions");
  int64_t transitions = tr != nullptr ? static_cast<int64_t>(tr->number_value()) : 0;
  uint64_t now_ms = monotonicMs();
  if (holder != options_.identity) {
    if (holder != seen_holder_ || renew != seen_renew_) {
      seen_holder_ = holder;
      seen_renew_ = renew;
      seen_at_ms_ = now_ms;
    }
    // An empty holder is a released lease: free to take at once.
    if (!holder.empty() && now_ms - seen_at_ms_ < options_.lease_ms) {
      return false;
    }
    acquire = now;
    ++transitions;
  }
  auto r = client_.call("PUT", leasePath(options_, false),
                        leaseBody(options_, options_.identity, rv, acquire, now, transitions));
  if (r.isOk() && r.value().status == 200) {
    seen_holder_.clear();
    seen_at_ms_ = now_ms;
    return true;
  }
  return false;  // 409: someone else wrote first; read again next round
}

void KubeLeaderElection::release() {
  auto got = client_.call("GET", leasePath(options_, false));
  if (!got.isOk() || got.value().status != 200) {
    return;
  }
  auto lease = parseJson(got.value().body);
  if (!lease.isOk() || jsonString(lease.value(), "spec.holderIdentity") != options_.identity) {
    return;
  }
  const pb::Value* tr = jsonAt(lease.value(), "spec.leaseTransitions");
  std::string now = kubeMicroTimeNow();
  (void)client_.call(
      "PUT", leasePath(options_, false),
      leaseBody(options_, "", jsonString(lease.value(), "metadata.resourceVersion"), now, now,
                tr != nullptr ? static_cast<int64_t>(tr->number_value()) : 0));
}

}  // namespace remora::control
