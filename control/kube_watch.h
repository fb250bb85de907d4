#pragma once
// KubeWatch: list + watch of one kind of Kubernetes object (a "reflector"), on its own thread.
//
// It picks the first API version the server serves (EndpointSlice: v1, else v1beta1), lists
// every object (in pages), then watches from the list's resourceVersion with bookmarks. A
// watch that the server ends is resumed from the last resourceVersion seen; a 410 Gone (an
// ERROR event in the stream, or the HTTP status) or an expired continue token lists again
// from scratch; a broken connection or an error answer is retried after a backoff with full
// jitter (base 200 ms, doubling, at most 30 s, reset after a success). Every object handed on
// is trimmed to what the mesh reads (see trim()), so that a change the mesh does not see (a
// status update, a new resourceVersion) compares equal to the object before it.
//
// Threading: the callbacks run on the watch's thread; the owner posts them to its loop.

#include <google/protobuf/struct.pb.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "control/kube_client.h"

namespace remora::control {

// What to watch: a kind and the API versions to try, in order.
struct KubeResource {
  std::string kind;                   // "EndpointSlice"
  std::string group;                  // "" for the core group
  std::string plural;                 // "endpointslices"
  std::vector<std::string> versions;  // {"v1", "v1beta1"}: the first one served is used
  // "group/version" the mesh reads it as (apiVersion given to the manifest loader); objects
  // served in an older version are converted to it (see trim()).
  std::string mesh_api_version;
};

// One object as the mesh sees it.
struct KubeObject {
  std::string key;                 // "namespace/name" ("name" for cluster-scoped objects)
  std::string resource_version;    // metadata.resourceVersion (not part of `object`)
  int64_t generation = 0;          // metadata.generation (0 when the kind has none)
  google::protobuf::Value object;  // trimmed: apiVersion (mesh_api_version), kind, metadata
                                   // (name, namespace, labels, annotations), spec and the
                                   // kind's other top-level fields; never status
};

// Trims a JSON object of `resource`, served as `served_version`, into a KubeObject: drops
// status and volatile metadata (resourceVersion, managedFields, uid, timestamps, the
// last-applied annotation), sets apiVersion and kind, and converts discovery.k8s.io/v1beta1
// EndpointSlices to v1 (topology kubernetes.io/hostname -> nodeName,
// topology.kubernetes.io/zone -> zone). Pods keep only what identity and the sidecar mark
// (kube_sidecars.h) need: labels, the remora.dev/status annotation (no other annotation),
// spec.serviceAccountName, spec.nodeName, the remora-init init container's name and args,
// status.podIP(s) and status.phase.
common::Result<KubeObject> trimKubeObject(const KubeResource& resource,
                                          const std::string& served_version,
                                          google::protobuf::Value object);

// JSON text <-> Value (protobuf's JSON parser and printer).
common::Result<google::protobuf::Value> parseJson(std::string_view text);
std::string printJsonValue(const google::protobuf::Value& value);
// A member of an object Value by a dotted path ("metadata.name"); nullptr when absent.
const google::protobuf::Value* jsonAt(const google::protobuf::Value& v, std::string_view path);
std::string jsonString(const google::protobuf::Value& v, std::string_view path);

class KubeWatch {
 public:
  struct Callbacks {
    // The version chosen ("v1beta1"), once per start.
    std::function<void(const std::string& version)> resolved;
    // Every object there is, after a (re)list; `why`: "initial", "410 Gone", ...
    std::function<void(std::vector<KubeObject> objects, const std::string& why)> listed;
    // One change from the watch (`deleted`: the object is gone).
    std::function<void(KubeObject object, bool deleted)> changed;
    // A failure that will be retried after `retry_ms` (for logs and metrics).
    std::function<void(const std::string& problem, uint64_t retry_ms)> failed;
  };
  struct Options {
    std::string namespace_;  // "" = all namespaces
    uint64_t backoff_base_ms = 200;
    uint64_t backoff_max_ms = 30000;
    uint32_t page_size = 500;
    uint32_t watch_timeout_s = 300;  // asked of the server (randomized by up to +25%)
    long idle_timeout_ms = 600000;   // no byte for this long: the connection is dead
  };

  KubeWatch(KubeConfig config, KubeResource resource, Callbacks callbacks, Options options);
  // Stops and joins the thread.
  ~KubeWatch();

  void start();
  // Ends the thread's work as soon as possible (a stream in progress is interrupted).
  void stop();

  const KubeResource& resource() const noexcept { return resource_; }

 private:
  void run();
  // Picks the served version; false when stopping.
  bool resolve();
  // Lists every object; sets rv_. An error (or 410 on a continue token) is a Status.
  common::Status list(const std::string& why);
  // Watches from rv_ until the stream ends; sets relist_ on a 410.
  common::Status watch();
  std::string collectionPath() const;
  void backoff(const std::string& problem);
  void sleepMs(uint64_t ms);

  KubeResource resource_;
  Callbacks callbacks_;
  Options options_;
  std::unique_ptr<KubeClient> client_;
  std::string version_;
  std::string rv_;
  bool relist_ = true;
  uint64_t backoff_ms_ = 0;
  std::mt19937_64 random_;
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  std::thread thread_;
};

}  // namespace remora::control
