#pragma once
// Resources as the xDS server sends them: serialized once, hashed, shared by every proxy that
// gets them. A ResourceSet is the state of the world of one type for one proxy (several proxies
// share the same set object); its version is a hash of its content, so the same content always
// has the same version, on every replica, and a proxy is only sent a type whose content changed.
//
// All of it is immutable once built and is used on the control plane's loop thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <google/protobuf/message.h>

namespace remora::control {

// 64-bit FNV-1a of `bytes`, continuing from `seed` (deterministic across processes and builds).
uint64_t fnv1a64(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ULL) noexcept;
// 16 lowercase hex digits.
std::string hex64(uint64_t v);

// One resource: its name, the serialized google.protobuf.Any holding it, and a content hash.
struct VersionedResource {
  std::string name;
  std::string any_bytes;
  uint64_t hash = 0;

  // Packs `message` into an Any and serializes it (deterministically).
  static std::shared_ptr<const VersionedResource> make(std::string name,
                                                       const google::protobuf::Message& message);
};

using ResourcePtr = std::shared_ptr<const VersionedResource>;

class ResourceSet {
 public:
  // `resources` must be sorted by name with no name twice.
  ResourceSet(std::string_view type_url, std::vector<ResourcePtr> resources);

  const std::string& typeUrl() const noexcept { return type_url_; }
  // hex64 of a hash over the type and every (name, content hash) pair.
  const std::string& version() const noexcept { return version_; }
  const std::vector<ResourcePtr>& resources() const noexcept { return resources_; }
  // The resource of that name, or null.
  const VersionedResource* find(std::string_view name) const noexcept;
  // Total bytes of the resources.
  size_t bytes() const noexcept { return bytes_; }

 private:
  std::string type_url_;
  std::string version_;
  std::vector<ResourcePtr> resources_;
  std::unordered_map<std::string_view, size_t> index_;
  size_t bytes_ = 0;
};

using ResourceSetPtr = std::shared_ptr<const ResourceSet>;

// The serialized DeltaDiscoveryResponse (without nonce) that turns `from` into `to`: resources
// of `to` that are new or whose hash changed, and the names of `from` missing from `to`;
// system_version_info = to.version().
std::string deltaBody(const ResourceSet& from, const ResourceSet& to);

// The frame (xds/framing.h) of the DiscoveryResponse of `set` with `nonce`. The resources' Any
// bytes are copied straight into the frame (no parsing), so a set shared by many proxies costs
// one copy per send and no memory per proxy. Empty when the frame would exceed the frame limit.
std::string responseFrame(const ResourceSet& set, std::string_view nonce);

// The frame of a DeltaDiscoveryResponse: `body` from deltaBody() completed with `nonce`.
// Empty when the frame would exceed the frame limit.
std::string deltaFrame(std::string_view body, std::string_view nonce);

}  // namespace remora::control
