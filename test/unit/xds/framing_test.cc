#include "xds/framing.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "remora/config/v1/cluster.pb.h"
#include "remora/xds/v1/discovery.pb.h"
#include "xds/resource_types.h"

namespace remora::xds {
namespace {

using google::protobuf::util::MessageDifferencer;
namespace v1 = remora::xds::v1;

std::string frameOf(FrameKind kind, const google::protobuf::MessageLite& m) {
  auto r = encodeFrame(kind, m);
  EXPECT_TRUE(r.isOk()) << (r.isOk() ? "" : r.status().message());
  return r.isOk() ? r.value() : std::string();
}

v1::DiscoveryRequest sampleRequest() {
  v1::DiscoveryRequest req;
  req.set_version_info("7");
  req.mutable_node()->set_id("orders-7f9c");
  req.mutable_node()->set_service("orders");
  (*req.mutable_node()->mutable_labels())["version"] = "v1";
  req.add_resource_names("payments");
  req.add_resource_names("users");
  req.set_type_url(std::string(kEndpointType));
  req.set_response_nonce("12");
  req.mutable_error_detail()->set_code(3);
  req.mutable_error_detail()->set_message("cluster payments: no endpoint");
  return req;
}

v1::DiscoveryResponse sampleResponse() {
  v1::DiscoveryResponse resp;
  resp.set_version_info("8");
  resp.set_type_url(std::string(kClusterType));
  resp.set_nonce("13");
  config::v1::Cluster cluster;
  cluster.set_name("payments");
  cluster.add_endpoints()->set_address("10.0.0.1:8080");
  resp.add_resources()->PackFrom(cluster);
  return resp;
}

v1::DeltaDiscoveryResponse sampleDelta() {
  v1::DeltaDiscoveryResponse delta;
  delta.set_system_version_info("9");
  delta.set_type_url(std::string(kEndpointType));
  delta.set_nonce("14");
  config::v1::ClusterLoadAssignment cla;
  cla.set_cluster_name("payments");
  cla.add_endpoints()->set_address("10.0.0.2:8080");
  v1::Resource* r = delta.add_resources();
  r->set_name("payments");
  r->set_version("a1b2");
  r->mutable_resource()->PackFrom(cla);
  delta.add_removed_resources("users");
  return delta;
}

v1::Ping ping(uint64_t id) {
  v1::Ping p;
  p.set_id(id);
  return p;
}

v1::Pong pong(uint64_t id) {
  v1::Pong p;
  p.set_id(id);
  return p;
}

struct Decoded {
  FrameKind kind;
  std::string payload;
  bool operator==(const Decoded&) const = default;
};

// Feeds `stream` in the given chunk sizes (the remainder at the end) and collects every frame.
std::vector<Decoded> decodeInChunks(std::string_view stream, const std::vector<size_t>& chunks) {
  FrameDecoder decoder;
  std::vector<Decoded> out;
  size_t pos = 0;
  auto drain = [&] {
    for (;;) {
      auto r = decoder.next();
      EXPECT_TRUE(r.isOk()) << r.status().message();
      if (!r.isOk() || !r.value()) {
        return;
      }
      out.push_back({r.value()->kind, std::string(r.value()->payload)});
    }
  };
  for (size_t n : chunks) {
    n = std::min(n, stream.size() - pos);
    decoder.feed(stream.substr(pos, n));
    pos += n;
    drain();
  }
  decoder.feed(stream.substr(pos));
  drain();
  EXPECT_EQ(decoder.pendingBytes(), 0u);
  return out;
}

// One frame of every kind, back to back.
std::string mixedStream() {
  std::string s;
  s += frameOf(FrameKind::kDiscoveryRequest, sampleRequest());
  s += frameOf(FrameKind::kPing, ping(0));  // empty payload
  s += frameOf(FrameKind::kDiscoveryResponse, sampleResponse());
  s += frameOf(FrameKind::kDeltaDiscoveryResponse, sampleDelta());
  s += frameOf(FrameKind::kPong, pong(1ull << 40));
  s += frameOf(FrameKind::kDiscoveryResponse, v1::DiscoveryResponse());
  return s;
}

template <typename M>
void expectRoundTrip(FrameKind kind, const M& message) {
  FrameDecoder decoder;
  decoder.feed(frameOf(kind, message));
  auto r = decoder.next();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_TRUE(r.value().has_value());
  EXPECT_EQ(r.value()->kind, kind);
  M back;
  ASSERT_TRUE(
      back.ParseFromArray(r.value()->payload.data(), static_cast<int>(r.value()->payload.size())));
  EXPECT_TRUE(MessageDifferencer::Equals(back, message)) << back.DebugString();
  auto end = decoder.next();
  ASSERT_TRUE(end.isOk());
  EXPECT_FALSE(end.value().has_value());
}

TEST(FrameCodecTest, RoundTripsEveryKind) {
  expectRoundTrip(FrameKind::kDiscoveryRequest, sampleRequest());
  expectRoundTrip(FrameKind::kDiscoveryResponse, sampleResponse());
  expectRoundTrip(FrameKind::kDeltaDiscoveryResponse, sampleDelta());
  expectRoundTrip(FrameKind::kPing, ping(42));
  expectRoundTrip(FrameKind::kPong, pong(42));
}

TEST(FrameCodecTest, WritesBigEndianLengthCountingTheKindByte) {
  // Ping{id: 1} serializes to 08 01: L = 3.
  EXPECT_EQ(frameOf(FrameKind::kPing, ping(1)), std::string("\x00\x00\x00\x03\x04\x08\x01", 7));
  // An empty message is a frame of L = 1 (kind byte only).
  EXPECT_EQ(frameOf(FrameKind::kPong, pong(0)), std::string("\x00\x00\x00\x01\x05", 5));
  // A payload over 255 bytes uses the higher length bytes.
  v1::DiscoveryResponse big;
  big.set_version_info(std::string(300, 'v'));
  std::string f = frameOf(FrameKind::kDiscoveryResponse, big);
  const uint32_t l = static_cast<uint32_t>(big.ByteSizeLong() + 1);
  ASSERT_EQ(f.size(), 4 + l);
  EXPECT_EQ(static_cast<uint8_t>(f[0]), 0);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 0);
  EXPECT_EQ(static_cast<uint8_t>(f[2]), l >> 8);
  EXPECT_EQ(static_cast<uint8_t>(f[3]), l & 0xff);
  EXPECT_EQ(f[4], 2);
}

TEST(FrameCodecTest, AppendFrameAddsAfterExistingBytes) {
  std::string out = "xyz";
  ASSERT_TRUE(appendFrame(FrameKind::kPing, ping(1), out).isOk());
  EXPECT_EQ(out, std::string("xyz\x00\x00\x00\x03\x04\x08\x01", 10));
}

TEST(FrameCodecTest, EncoderRejectsOversizeAndUnknownKindLeavingOutputAlone) {
  v1::DiscoveryResponse big;
  big.set_version_info(std::string(100, 'v'));
  const auto limit = static_cast<uint32_t>(big.ByteSizeLong());  // one byte short of L
  std::string out = "keep";
  common::Status st = appendFrame(FrameKind::kDiscoveryResponse, big, out, limit);
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("over the limit"), std::string::npos) << st.message();
  EXPECT_EQ(out, "keep");
  EXPECT_TRUE(appendFrame(FrameKind::kDiscoveryResponse, big, out, limit + 1).isOk());

  out = "keep";
  EXPECT_FALSE(appendFrame(static_cast<FrameKind>(9), ping(1), out).isOk());
  EXPECT_EQ(out, "keep");
  EXPECT_FALSE(encodeFrame(static_cast<FrameKind>(0), ping(1)).isOk());
}

TEST(FrameDecoderTest, ByteAtATimeDecodesLikeOnePass) {
  const std::string stream = mixedStream();
  const std::vector<Decoded> whole = decodeInChunks(stream, {});
  ASSERT_EQ(whole.size(), 6u);
  EXPECT_EQ(whole[0].kind, FrameKind::kDiscoveryRequest);
  EXPECT_EQ(whole[1].kind, FrameKind::kPing);
  EXPECT_EQ(whole[1].payload, "");
  EXPECT_EQ(whole[3].kind, FrameKind::kDeltaDiscoveryResponse);
  EXPECT_EQ(whole[4].kind, FrameKind::kPong);
  EXPECT_EQ(decodeInChunks(stream, std::vector<size_t>(stream.size(), 1)), whole);
}

TEST(FrameDecoderTest, EverySplitPointDecodesLikeOnePass) {
  const std::string stream = mixedStream();
  const std::vector<Decoded> whole = decodeInChunks(stream, {});
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    ASSERT_EQ(decodeInChunks(stream, {cut}), whole) << "split at " << cut;
  }
}

TEST(FrameDecoderTest, RandomSplitsDecodeLikeOnePass) {
  const std::string stream = mixedStream();
  const std::vector<Decoded> whole = decodeInChunks(stream, {});
  std::mt19937 rng(20240611);
  for (int round = 0; round < 200; ++round) {
    std::uniform_int_distribution<size_t> size(0, 1 + static_cast<size_t>(round % 40));
    std::vector<size_t> chunks;
    for (size_t total = 0; total < stream.size();) {
      chunks.push_back(size(rng));
      total += chunks.back();
    }
    ASSERT_EQ(decodeInChunks(stream, chunks), whole) << "round " << round;
  }
}

TEST(FrameDecoderTest, PartialFrameStaysPending) {
  const std::string f = frameOf(FrameKind::kDiscoveryResponse, sampleResponse());
  FrameDecoder decoder;
  decoder.feed(std::string_view(f).substr(0, f.size() - 1));
  for (int i = 0; i < 2; ++i) {  // asking again changes nothing
    auto r = decoder.next();
    ASSERT_TRUE(r.isOk());
    EXPECT_FALSE(r.value().has_value());
    EXPECT_EQ(decoder.pendingBytes(), f.size() - 1);
  }
  decoder.feed(std::string_view(f).substr(f.size() - 1));
  auto r = decoder.next();
  ASSERT_TRUE(r.isOk());
  ASSERT_TRUE(r.value().has_value());
  EXPECT_EQ(r.value()->kind, FrameKind::kDiscoveryResponse);
  EXPECT_EQ(decoder.pendingBytes(), 0u);
}

TEST(FrameDecoderTest, PayloadViewsStayValidAcrossNextUntilFeed) {
  std::string two = frameOf(FrameKind::kPing, ping(7)) + frameOf(FrameKind::kPong, pong(8));
  FrameDecoder decoder;
  decoder.feed(two);
  auto a = decoder.next();
  auto b = decoder.next();
  ASSERT_TRUE(a.isOk() && a.value().has_value());
  ASSERT_TRUE(b.isOk() && b.value().has_value());
  v1::Ping p;
  v1::Pong q;
  ASSERT_TRUE(p.ParseFromArray(a.value()->payload.data(), int(a.value()->payload.size())));
  ASSERT_TRUE(q.ParseFromArray(b.value()->payload.data(), int(b.value()->payload.size())));
  EXPECT_EQ(p.id(), 7u);
  EXPECT_EQ(q.id(), 8u);
}

TEST(FrameDecoderTest, RejectsOversizeAsSoonAsTheLengthArrives) {
  FrameDecoder decoder(100);
  decoder.feed(std::string("\x00\x00\x00\x65", 4));  // L = 101, no payload yet
  auto r = decoder.next();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "frame of 101 bytes is over the limit of 100");
  EXPECT_TRUE(decoder.failed());
}

TEST(FrameDecoderTest, AcceptsAFrameExactlyAtTheLimit) {
  v1::DiscoveryResponse m;
  m.set_version_info(std::string(50, 'v'));
  const auto l = static_cast<uint32_t>(m.ByteSizeLong() + 1);
  FrameDecoder decoder(l);
  decoder.feed(frameOf(FrameKind::kDiscoveryResponse, m));
  auto r = decoder.next();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(r.value().has_value());
}

TEST(FrameDecoderTest, DefaultLimitIs16MiB) {
  FrameDecoder decoder;
  decoder.feed(std::string("\x01\x00\x00\x00\x02", 5));  // L = 16 MiB: allowed, pending
  auto r = decoder.next();
  ASSERT_TRUE(r.isOk());
  EXPECT_FALSE(r.value().has_value());
  FrameDecoder over;
  over.feed(std::string("\x01\x00\x00\x01\x02", 5));  // L = 16 MiB + 1
  EXPECT_FALSE(over.next().isOk());
}

TEST(FrameDecoderTest, RaisedLimitAppliesToLaterFramesOnly) {
  // Small until the peer identified itself, then the full limit.
  FrameDecoder decoder(64);
  v1::DiscoveryResponse big;
  big.set_version_info(std::string(1000, 'v'));
  const std::string small = frameOf(FrameKind::kPing, v1::Ping());
  decoder.feed(small);
  auto a = decoder.next();
  ASSERT_TRUE(a.isOk());
  EXPECT_TRUE(a.value().has_value());
  decoder.setMaxFrameBytes(kDefaultMaxFrameBytes);
  EXPECT_EQ(decoder.maxFrameBytes(), kDefaultMaxFrameBytes);
  decoder.feed(frameOf(FrameKind::kDiscoveryResponse, big));
  auto b = decoder.next();
  ASSERT_TRUE(b.isOk()) << b.status().message();
  ASSERT_TRUE(b.value().has_value());
  EXPECT_EQ(b.value()->payload.size(), big.ByteSizeLong());

  FrameDecoder strict(64);
  strict.feed(frameOf(FrameKind::kDiscoveryResponse, big));
  auto c = strict.next();
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().message(), "frame of " + std::to_string(big.ByteSizeLong() + 1) +
                                      " bytes is over the limit of 64");
}

TEST(FrameDecoderTest, BufferOfATakenLargeFrameIsReleased) {
  FrameDecoder decoder;
  v1::DiscoveryResponse big;
  big.set_version_info(std::string(1024 * 1024, 'v'));
  decoder.feed(frameOf(FrameKind::kDiscoveryResponse, big));
  auto r = decoder.next();
  ASSERT_TRUE(r.isOk());
  ASSERT_TRUE(r.value().has_value());
  EXPECT_EQ(decoder.pendingBytes(), 0u);
  decoder.feed(frameOf(FrameKind::kPing, v1::Ping()));
  EXPECT_EQ(decoder.pendingBytes(), 5u);
  EXPECT_LT(decoder.bufferCapacity(), 64u * 1024);
}

TEST(FrameDecoderTest, RejectsUnknownKinds) {
  for (char kind : {'\x00', '\x06', '\xff'}) {
    FrameDecoder decoder;
    decoder.feed(std::string("\x00\x00\x00\x01", 4) + kind);
    auto r = decoder.next();
    ASSERT_FALSE(r.isOk()) << int(kind);
    EXPECT_EQ(r.status().message(),
              "unknown frame kind " + std::to_string(static_cast<uint8_t>(kind)));
  }
}

TEST(FrameDecoderTest, RejectsZeroLength) {
  FrameDecoder decoder;
  decoder.feed(std::string("\x00\x00\x00\x00", 4));
  auto r = decoder.next();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "frame length 0");
}

TEST(FrameDecoderTest, ErrorIsFinalAndLaterBytesAreIgnored) {
  FrameDecoder decoder;
  // A good frame, then a bad one: the good one is still delivered first.
  decoder.feed(frameOf(FrameKind::kPing, ping(1)) + std::string("\x00\x00\x00\x01\x09", 5));
  auto good = decoder.next();
  ASSERT_TRUE(good.isOk() && good.value().has_value());
  ASSERT_FALSE(decoder.next().isOk());
  decoder.feed(frameOf(FrameKind::kPing, ping(2)));
  auto again = decoder.next();
  ASSERT_FALSE(again.isOk());
  EXPECT_EQ(again.status().message(), "unknown frame kind 9");
}

TEST(FrameCodecTest, KindNamesForLogs) {
  EXPECT_EQ(frameKindName(FrameKind::kDeltaDiscoveryResponse), "DeltaDiscoveryResponse");
  EXPECT_EQ(frameKindName(FrameKind::kPong), "Pong");
  EXPECT_EQ(frameKindName(static_cast<FrameKind>(0)), "unknown");
}

}  // namespace
}  // namespace remora::xds
