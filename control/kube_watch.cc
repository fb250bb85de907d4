#include "control/kube_watch.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "control/injection.h"

namespace remora::control {

using common::Result;
using common::Status;
namespace pb = google::protobuf;

Result<pb::Value> parseJson(std::string_view text) {
  pb::Value v;
  auto st = pb::util::JsonStringToMessage(pb::StringPiece(text.data(), text.size()), &v);
  if (!st.ok()) {
    return Status::invalid("not JSON: " + std::string(st.message()));
  }
  return v;
}

std::string printJsonValue(const pb::Value& value) {
  std::string out;
  (void)pb::util::MessageToJsonString(value, &out);
  return out;
}

const pb::Value* jsonAt(const pb::Value& v, std::string_view path) {
  const pb::Value* cur = &v;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string key(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (!cur->has_struct_value()) {
      return nullptr;
    }
    auto it = cur->struct_value().fields().find(key);
    if (it == cur->struct_value().fields().end()) {
      return nullptr;
    }
    cur = &it->second;
  }
  return cur;
}

std::string jsonString(const pb::Value& v, std::string_view path) {
  const pb::Value* s = jsonAt(v, path);
  return s != nullptr && s->kind_case() == pb::Value::kStringValue ? s->string_value()
                                                                   : std::string();
}

namespace {

pb::Struct* structAt(pb::Value* v, const std::string& key) {
  if (!v->has_struct_value()) {
    return nullptr;
  }
  auto* fields = v->mutable_struct_value()->mutable_fields();
  auto it = fields->find(key);
  return it != fields->end() && it->second.has_struct_value() ? it->second.mutable_struct_value()
                                                              : nullptr;
}

// EndpointSlice discovery.k8s.io/v1beta1 -> v1: per endpoint, topology labels become nodeName
// and zone (v1 dropped the topology map).
void endpointSliceFromV1beta1(pb::Struct* slice) {
  auto it = slice->mutable_fields()->find("endpoints");
  if (it == slice->mutable_fields()->end() || !it->second.has_list_value()) {
    return;
  }
  for (pb::Value& ep : *it->second.mutable_list_value()->mutable_values()) {
    if (!ep.has_struct_value()) {
      continue;
    }
    auto* f = ep.mutable_struct_value()->mutable_fields();
    auto topo = f->find("topology");
    if (topo == f->end()) {
      continue;
    }
    if (topo->second.has_struct_value()) {
      const auto& t = topo->second.struct_value().fields();
      auto host = t.find("kubernetes.io/hostname");
      if (host != t.end() && f->find("nodeName") == f->end()) {
        (*f)["nodeName"] = host->second;
      }
      auto zone = t.find("topology.kubernetes.io/zone");
      if (zone != t.end() && f->find("zone") == f->end()) {
        (*f)["zone"] = zone->second;
      }
    }
    f->erase(topo);
  }
}

// A Pod as the mesh keeps it (see trimKubeObject); `kept_meta`: its metadata, trimmed already.
pb::Value trimmedPod(const pb::Value& object, pb::Struct kept_meta) {
  // Whether and where a sidecar intercepts (kube_sidecars.h): the status annotation (here) and
  // the remora-init container's name and args (below), nothing else of either.
  if (auto a = kept_meta.mutable_fields()->find("annotations");
      a != kept_meta.mutable_fields()->end()) {
    pb::Value injected;
    if (a->second.has_struct_value()) {
      auto it = a->second.struct_value().fields().find(kStatusAnnotation);
      if (it != a->second.struct_value().fields().end()) {
        injected = it->second;
      }
    }
    a->second.Clear();
    if (injected.has_string_value()) {
      (*a->second.mutable_struct_value()->mutable_fields())[kStatusAnnotation] = injected;
    } else {
      kept_meta.mutable_fields()->erase(a);
    }
  }
  pb::Value pod;
  auto* pf = pod.mutable_struct_value()->mutable_fields();
  (*pf)["metadata"].mutable_struct_value()->Swap(&kept_meta);
  pb::Struct spec;
  pb::Struct status;
  for (const char* key : {"serviceAccountName", "nodeName"}) {
    if (const pb::Value* v = jsonAt(object, std::string("spec.") + key); v != nullptr) {
      (*spec.mutable_fields())[key] = *v;
    }
  }
  if (const pb::Value* inits = jsonAt(object, "spec.initContainers");
      inits != nullptr && inits->has_list_value()) {
    for (const pb::Value& c : inits->list_value().values()) {
      if (jsonString(c, "name") == kInitContainerName) {
        pb::Value kept;
        auto* kf = kept.mutable_struct_value()->mutable_fields();
        (*kf)["name"].set_string_value(kInitContainerName);
        if (const pb::Value* args = jsonAt(c, "args")) {
          (*kf)["args"] = *args;
        }
        *(*spec.mutable_fields())["initContainers"].mutable_list_value()->add_values() =
            std::move(kept);
      }
    }
  }
  for (const char* key : {"podIP", "podIPs", "phase"}) {
    if (const pb::Value* v = jsonAt(object, std::string("status.") + key); v != nullptr) {
      (*status.mutable_fields())[key] = *v;
    }
  }
  (*pf)["spec"].mutable_struct_value()->Swap(&spec);
  (*pf)["status"].mutable_struct_value()->Swap(&status);
  return pod;
}

}  // namespace

Result<KubeObject> trimKubeObject(const KubeResource& resource, const std::string& served_version,
                                  pb::Value object) {
  if (!object.has_struct_value()) {
    return Status::invalid(resource.kind + ": not a JSON object");
  }
  KubeObject out;
  pb::Struct* meta = structAt(&object, "metadata");
  if (meta == nullptr) {
    return Status::invalid(resource.kind + ": no metadata");
  }
  std::string name = jsonString(object, "metadata.name");
  std::string ns = jsonString(object, "metadata.namespace");
  if (name.empty()) {
    return Status::invalid(resource.kind + ": no metadata.name");
  }
  out.key = ns.empty() ? name : ns + "/" + name;
  out.resource_version = jsonString(object, "metadata.resourceVersion");
  if (const pb::Value* g = jsonAt(object, "metadata.generation"); g != nullptr) {
    out.generation = static_cast<int64_t>(g->number_value());
  }
  pb::Struct kept_meta;
  for (const char* key : {"name", "namespace", "labels", "annotations"}) {
    auto it = meta->fields().find(key);
    if (it != meta->fields().end()) {
      (*kept_meta.mutable_fields())[key] = it->second;
    }
  }
  if (auto a = kept_meta.mutable_fields()->find("annotations");
      a != kept_meta.mutable_fields()->end() && a->second.has_struct_value()) {
    a->second.mutable_struct_value()->mutable_fields()->erase(
        "kubectl.kubernetes.io/last-applied-configuration");
  }
  auto* fields = object.mutable_struct_value()->mutable_fields();
  if (resource.kind == "Pod") {
    object = trimmedPod(object, std::move(kept_meta));
    fields = object.mutable_struct_value()->mutable_fields();
  } else {
    fields->erase("status");
    (*fields)["metadata"].mutable_struct_value()->Swap(&kept_meta);
  }
  (*fields)["apiVersion"].set_string_value(resource.mesh_api_version);
  (*fields)["kind"].set_string_value(resource.kind);
  if (resource.kind == "EndpointSlice" && served_version == "v1beta1") {
    endpointSliceFromV1beta1(object.mutable_struct_value());
  }
  out.object = std::move(object);
  return out;
}

KubeWatch::KubeWatch(KubeConfig config, KubeResource resource, Callbacks callbacks, Options options)
    : resource_(std::move(resource)),
      callbacks_(std::move(callbacks)),
      options_(std::move(options)),
      client_(std::make_unique<KubeClient>(std::move(config))),
      random_(std::random_device{}()) {}

KubeWatch::~KubeWatch() {
  stop();
}

void KubeWatch::start() {
  thread_ = std::thread([this] { run(); });
}

void KubeWatch::stop() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stopping_ = true;
  }
  sleep_cv_.notify_all();
  client_->stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void KubeWatch::sleepMs(uint64_t ms) {
  std::unique_lock<std::mutex> lock(sleep_mutex_);
  sleep_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
}

void KubeWatch::backoff(const std::string& problem) {
  backoff_ms_ = backoff_ms_ == 0 ? options_.backoff_base_ms
                                 : std::min(backoff_ms_ * 2, options_.backoff_max_ms);
  // Full jitter: replicas (and kinds) that lost the server together do not come back together.
  uint64_t wait = std::uniform_int_distribution<uint64_t>(backoff_ms_ / 2, backoff_ms_)(random_);
  if (callbacks_.failed) {
    callbacks_.failed(problem, wait);
  }
  sleepMs(wait);
}

std::string KubeWatch::collectionPath() const {
  std::string p =
      resource_.group.empty() ? "/api/" + version_ : "/apis/" + resource_.group + "/" + version_;
  if (!options_.namespace_.empty()) {
    p += "/namespaces/" + options_.namespace_;
  }
  return p + "/" + resource_.plural;
}

bool KubeWatch::resolve() {
  while (!stopping_) {
    std::string problems;
    for (const std::string& v : resource_.versions) {
      version_ = v;
      auto r = client_->call("GET", collectionPath() + "?limit=1");
      if (r.isOk() && r.value().status == 200) {
        if (callbacks_.resolved) {
          callbacks_.resolved(v);
        }
        backoff_ms_ = 0;
        return true;
      }
      problems += (problems.empty() ? "" : "; ") + resource_.group + "/" + v + ": " +
                  (r.isOk() ? "HTTP " + std::to_string(r.value().status) : r.status().message());
    }
    backoff(resource_.kind + ": no served version (" + problems + ")");
  }
  return false;
}

Status KubeWatch::list(const std::string& why) {
  std::vector<KubeObject> objects;
  std::string cont;
  std::string rv;
  do {
    std::string path = collectionPath() + "?limit=" + std::to_string(options_.page_size);
    if (!cont.empty()) {
      path += "&continue=" + cont;
    }
    auto r = client_->call("GET", path);
    if (!r.isOk()) {
      return r.status();
    }
    if (r.value().status != 200) {
      // 410 on a continue token: the snapshot it pointed at is compacted; list again whole.
      return Status::unavailable("list " + resource_.plural + ": HTTP " +
                                 std::to_string(r.value().status) + " " +
                                 r.value().body.substr(0, 300));
    }
    auto doc = parseJson(r.value().body);
    if (!doc.isOk()) {
      return Status::unavailable("list " + resource_.plural + ": " + doc.status().message());
    }
    rv = jsonString(doc.value(), "metadata.resourceVersion");
    cont = jsonString(doc.value(), "metadata.continue");
    if (const pb::Value* items = jsonAt(doc.value(), "items");
        items != nullptr && items->has_list_value()) {
      for (const pb::Value& item : items->list_value().values()) {
        auto obj = trimKubeObject(resource_, version_, item);
        if (obj.isOk()) {
          objects.push_back(std::move(obj.value()));
        }
      }
    }
  } while (!cont.empty() && !stopping_);
  rv_ = rv;
  relist_ = false;
  if (callbacks_.listed) {
    callbacks_.listed(std::move(objects), why);
  }
  return Status::ok();
}

Status KubeWatch::watch() {
  uint32_t timeout = options_.watch_timeout_s + std::uniform_int_distribution<uint32_t>(
                                                    0, options_.watch_timeout_s / 4)(random_);
  std::string path = collectionPath() + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv_ +
                     "&timeoutSeconds=" + std::to_string(timeout);
  Status problem;
  auto r = client_->stream(
      path,
      [&](std::string_view line) {
        if (line.empty()) {
          return true;
        }
        auto ev = parseJson(line);
        if (!ev.isOk()) {
          problem = Status::unavailable("watch " + resource_.plural + ": " + ev.status().message());
          return false;
        }
        std::string type = jsonString(ev.value(), "type");
        const pb::Value* object = jsonAt(ev.value(), "object");
        if (object == nullptr) {
          return true;
        }
        if (type == "ERROR") {
          const pb::Value* code = jsonAt(*object, "code");
          if (code != nullptr && code->number_value() == 410) {
            relist_ = true;  // expired: the window moved past rv_
          } else {
            problem = Status::unavailable("watch " + resource_.plural + ": " +
                                          jsonString(*object, "message"));
          }
          return false;
        }
        std::string rv = jsonString(*object, "metadata.resourceVersion");
        if (type == "BOOKMARK") {
          rv_ = rv;
          return true;
        }
        auto obj = trimKubeObject(resource_, version_, *object);
        if (obj.isOk()) {
          rv_ = rv;
          if (callbacks_.changed) {
            callbacks_.changed(std::move(obj.value()), type == "DELETED");
          }
        }
        return true;
      },
      options_.idle_timeout_ms);
  if (!r.isOk()) {
    return r.status();
  }
  if (!problem.isOk()) {
    return problem;
  }
  if (r.value().status == 410) {
    relist_ = true;
  } else if (r.value().status != 200) {
    return Status::unavailable("watch " + resource_.plural + ": HTTP " +
                               std::to_string(r.value().status) + " " +
                               r.value().body.substr(0, 300));
  }
  return Status::ok();
}

void KubeWatch::run() {
  if (!resolve()) {
    return;
  }
  std::string why = "initial list";
  while (!stopping_) {
    if (relist_) {
      Status s = list(why);
      if (!s.isOk()) {
        if (!stopping_) {
          backoff(s.message());
        }
        continue;
      }
      backoff_ms_ = 0;
    }
    Status s = watch();
    if (stopping_) {
      break;
    }
    if (relist_) {
      why = "410 Gone";
      spdlog::info("kubernetes: {} watch expired (410 Gone): listing again", resource_.plural);
      continue;
    }
    if (!s.isOk()) {
      backoff(s.message());
    } else {
      backoff_ms_ = 0;  // the server ended the watch: resume from rv_ at once
    }
  }
}

}  // namespace remora::control
