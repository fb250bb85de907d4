// remora-echo's gRPC wire rules: message framing split at every byte, the limits, grpc-timeout
// and the status fields.

#include "test/apps/echo/grpc_framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace remora::echo {
namespace {

std::string framed(const std::vector<std::string>& payloads) {
  std::string out;
  for (const auto& p : payloads) {
    appendMessage(p, out);
  }
  return out;
}

TEST(GrpcFraming, PrefixIsFlagAndBigEndianLength) {
  std::string out;
  appendMessage(std::string(0x010203, 'x'), out);
  ASSERT_EQ(out.size(), 5u + 0x010203);
  // Flag 0 (not compressed), then the length 0x00010203 big-endian.
  EXPECT_EQ(out.substr(0, 5), std::string("\x00\x00\x01\x02\x03", 5));
}

TEST(GrpcFraming, ReaderYieldsTheSameMessagesWhateverTheSplit) {
  std::vector<std::string> sent = {"hello", "", std::string(300, 'a'), "z"};
  std::string wire = framed(sent);
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    MessageReader reader(1024);
    std::vector<std::string> got;
    auto keep = [&](std::string_view m) {
      got.emplace_back(m);
      return true;
    };
    EXPECT_EQ(reader.feed(std::string_view(wire).substr(0, cut), keep),
              MessageReader::Error::kNone);
    EXPECT_EQ(reader.feed(std::string_view(wire).substr(cut), keep), MessageReader::Error::kNone);
    EXPECT_EQ(got, sent) << "cut at " << cut;
    EXPECT_FALSE(reader.midMessage());
  }
}

TEST(GrpcFraming, ReaderFedOneByteAtATimeSeesEveryMessage) {
  std::vector<std::string> sent = {"ab", "", "cde"};
  std::string wire = framed(sent);
  MessageReader reader;
  std::vector<std::string> got;
  for (char c : wire) {
    reader.feed(std::string_view(&c, 1), [&](std::string_view m) {
      got.emplace_back(m);
      return true;
    });
  }
  EXPECT_EQ(got, sent);
}

TEST(GrpcFraming, TruncatedMessageIsLeftMidMessage) {
  std::string wire = framed({"hello"});
  MessageReader reader;
  int n = 0;
  reader.feed(std::string_view(wire).substr(0, wire.size() - 1), [&](std::string_view) {
    ++n;
    return true;
  });
  EXPECT_EQ(n, 0);
  EXPECT_TRUE(reader.midMessage());
}

TEST(GrpcFraming, OversizedPrefixIsRefusedBeforeItsPayload) {
  MessageReader reader(100);
  std::string wire = framed({std::string(101, 'x')});
  int n = 0;
  // Only the prefix: the refusal must not wait for (or buffer) the payload.
  EXPECT_EQ(reader.feed(std::string_view(wire).substr(0, 5),
                        [&](std::string_view) {
                          ++n;
                          return true;
                        }),
            MessageReader::Error::kTooLarge);
  EXPECT_EQ(reader.refusedLength(), 101u);
  EXPECT_EQ(reader.feed("more", [&](std::string_view) { return true; }),
            MessageReader::Error::kTooLarge);
  EXPECT_EQ(n, 0);
  EXPECT_FALSE(reader.midMessage());
  // Exactly the limit passes.
  MessageReader exact(100);
  std::string ok = framed({std::string(100, 'x')});
  EXPECT_EQ(exact.feed(ok, [&](std::string_view m) { return m.size() == 100; }),
            MessageReader::Error::kNone);
}

TEST(GrpcFraming, FourGibibyteAnnouncementIsRefused) {
  MessageReader reader;
  EXPECT_EQ(
      reader.feed(std::string("\x00\xff\xff\xff\xff", 5), [](std::string_view) { return true; }),
      MessageReader::Error::kTooLarge);
  EXPECT_EQ(reader.refusedLength(), 0xffffffffu);
}

TEST(GrpcFraming, CompressedFlagIsAnError) {
  MessageReader reader;
  std::string wire = framed({"abc"});
  wire[0] = 1;
  EXPECT_EQ(reader.feed(wire, [](std::string_view) { return true; }),
            MessageReader::Error::kCompressed);
}

TEST(GrpcFraming, ReaderStopsWhenTheCallbackSaysSo) {
  MessageReader reader;
  std::string wire = framed({"a", "b", "c"});
  int n = 0;
  reader.feed(wire, [&](std::string_view) { return ++n < 2; });
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace remora::echo
