// printJson: protobuf's JSON printer on messages whose strings hold ill-formed UTF-8 (a peer's
// node id or labels, a manifest value) still gives valid UTF-8, with U+FFFD for the bad bytes.

#include "xds/proto_json.h"

#include <gtest/gtest.h>

#include "common/utf8.h"
#include "remora/config/v1/bootstrap.pb.h"

namespace remora::xds {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(ProtoJsonTest, IllFormedStringsInFieldsRepeatedFieldsAndMapsBecomeReplacementCharacters) {
  config::v1::Bootstrap b;
  b.mutable_node()->set_id("node\xC0\xAF");                          // overlong: passed through raw
  (*b.mutable_node()->mutable_labels())["k\xFF"] = "v\xED\xA0\x80";  // map key and value
  b.mutable_xds()->add_address("a\xE2\x82");                         // repeated, truncated
  ASSERT_TRUE(hasInvalidUtf8(b));
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  std::string out;
  ASSERT_TRUE(printJson(b, opts, &out));
  EXPECT_TRUE(common::isValidUtf8(out)) << out;
  EXPECT_NE(out.find("\"node" + kFffd + kFffd + "\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"k" + kFffd + "\":\"v" + kFffd + kFffd + kFffd + "\""), std::string::npos)
      << out;
  EXPECT_NE(out.find("\"a" + kFffd + "\""), std::string::npos) << out;
  // The caller's message is left as it was.
  EXPECT_EQ(b.node().id(), "node\xC0\xAF");
}

TEST(ProtoJsonTest, ValidMessagesPrintAsProtobufPrintsThem) {
  config::v1::Bootstrap b;
  b.mutable_node()->set_id("caf\xC3\xA9");
  EXPECT_FALSE(hasInvalidUtf8(b));
  google::protobuf::util::JsonPrintOptions opts;
  std::string ours;
  std::string theirs;
  ASSERT_TRUE(printJson(b, opts, &ours));
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(b, &theirs, opts).ok());
  EXPECT_EQ(ours, theirs);
}

}  // namespace
}  // namespace remora::xds
