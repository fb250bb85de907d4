#include "control/resource_set.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include "remora/xds/v1/discovery.pb.h"
#include "xds/framing.h"

namespace remora::control {

namespace xv1 = remora::xds::v1;

uint64_t fnv1a64(std::string_view bytes, uint64_t seed) noexcept {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex64(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[v & 0xf];
    v >>= 4;
  }
  return out;
}

namespace {
// Deterministic serialization (map fields sorted), so equal content gives equal bytes.
std::string serializeDeterministic(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}
}  // namespace

std::shared_ptr<const VersionedResource> VersionedResource::make(
    std::string name, const google::protobuf::Message& message) {
  google::protobuf::Any any;
  any.set_type_url("type.googleapis.com/" + message.GetDescriptor()->full_name());
  any.set_value(serializeDeterministic(message));
  auto r = std::make_shared<VersionedResource>();
  r->name = std::move(name);
  r->hash = fnv1a64(any.value(), fnv1a64(any.type_url()));
  r->any_bytes = any.SerializeAsString();
  return r;
}

ResourceSet::ResourceSet(std::string_view type_url, std::vector<ResourcePtr> resources)
    : type_url_(type_url), resources_(std::move(resources)) {
  uint64_t h = fnv1a64(type_url_);
  for (size_t i = 0; i < resources_.size(); ++i) {
    const VersionedResource& r = *resources_[i];
    h = fnv1a64(r.name, h);
    h = fnv1a64(std::string_view(reinterpret_cast<const char*>(&r.hash), sizeof(r.hash)), h);
    index_.emplace(r.name, i);
    bytes_ += r.any_bytes.size();
  }
  version_ = hex64(h);
}

const VersionedResource* ResourceSet::find(std::string_view name) const noexcept {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : resources_[it->second].get();
}

std::string deltaBody(const ResourceSet& from, const ResourceSet& to) {
  xv1::DeltaDiscoveryResponse delta;
  delta.set_system_version_info(to.version());
  delta.set_type_url(to.typeUrl());
  for (const ResourcePtr& r : to.resources()) {
    const VersionedResource* old = from.find(r->name);
    if (old != nullptr && old->hash == r->hash) {
      continue;
    }
    xv1::Resource* out = delta.add_resources();
    out->set_name(r->name);
    out->set_version(hex64(r->hash));
    out->mutable_resource()->ParseFromString(r->any_bytes);
  }
  for (const ResourcePtr& r : from.resources()) {
    if (to.find(r->name) == nullptr) {
      delta.add_removed_resources(r->name);
    }
  }
  return serializeDeterministic(delta);
}

std::string responseFrame(const ResourceSet& set, std::string_view nonce) {
  // The scalar fields through the message API; the repeated `resources` field (number 2) as
  // length-delimited fields written by protobuf's wire-format helper around the stored Any bytes.
  // Concatenated serializations of one message merge, so the receiver parses one response.
  xv1::DiscoveryResponse head;
  head.set_version_info(set.version());
  head.set_type_url(set.typeUrl());
  head.set_nonce(std::string(nonce));
  std::string resources;
  {
    google::protobuf::io::StringOutputStream raw(&resources);
    google::protobuf::io::CodedOutputStream coded(&raw);
    for (const ResourcePtr& r : set.resources()) {
      google::protobuf::internal::WireFormatLite::WriteBytes(
          xv1::DiscoveryResponse::kResourcesFieldNumber, r->any_bytes, &coded);
    }
  }
  std::string frame;
  if (!xds::appendFrameParts(xds::FrameKind::kDiscoveryResponse,
                             {head.SerializeAsString(), resources}, frame)
           .isOk()) {
    return {};
  }
  return frame;
}

std::string deltaFrame(std::string_view body, std::string_view nonce) {
  xv1::DeltaDiscoveryResponse only_nonce;
  only_nonce.set_nonce(std::string(nonce));
  std::string frame;
  if (!xds::appendFrameParts(xds::FrameKind::kDeltaDiscoveryResponse,
                             {body, only_nonce.SerializeAsString()}, frame)
           .isOk()) {
    return {};
  }
  return frame;
}

}  // namespace remora::control
