// JSON Patch (control/json_patch.h): the diff the webhook answers with, applied back.

#include "control/json_patch.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

namespace remora::control {
namespace {

using google::protobuf::Value;

Value json(const std::string& text) {
  Value v;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &v).ok()) << text;
  return v;
}

std::string print(const google::protobuf::ListValue& patch) {
  Value v;
  *v.mutable_list_value() = patch;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(v, &out);
  return out;
}

void expectRoundTrip(const std::string& from, const std::string& to) {
  Value a = json(from);
  const Value b = json(to);
  const auto patch = diffJson(a, b);
  ASSERT_TRUE(applyJsonPatch(patch, &a).isOk()) << print(patch);
  EXPECT_TRUE(jsonEqual(a, b)) << from << " -> " << to << " via " << print(patch);
}

TEST(JsonPatchTest, DiffAppliedToTheSourceGivesTheTarget) {
  expectRoundTrip(R"({})", R"({})");
  expectRoundTrip(R"({"a":1})", R"({"a":2,"b":{"c":[1]}})");
  expectRoundTrip(R"({"a":1,"b":2})", R"({"b":2})");
  expectRoundTrip(R"({"l":[{"name":"x","v":1}]})",
                  R"({"l":[{"name":"p"},{"name":"x","v":2},{"name":"q"}]})");
  expectRoundTrip(R"({"l":[1,2,3]})", R"({"l":[3,2,1]})");
  expectRoundTrip(R"({"l":[1,2,3]})", R"({"l":[]})");
  expectRoundTrip(R"({"l":[]})", R"({"l":[1]})");
  expectRoundTrip(R"({"l":"s"})", R"({"l":[1]})");
  expectRoundTrip(R"({"a/b":{"c~d":1}})", R"({"a/b":{"c~d":2,"e":null}})");
}

TEST(JsonPatchTest, InsertionsAreAddsAndKeysAreEscaped) {
  const auto patch =
      diffJson(json(R"({"m":{"k/1":1},"l":[{"name":"app"}]})"),
               json(R"({"m":{"k/1":1,"a~b":2},"l":[{"name":"proxy"},{"name":"app"}]})"));
  Value got;
  *got.mutable_list_value() = patch;
  EXPECT_TRUE(jsonEqual(got, json(R"([{"op":"add","path":"/l/0","value":{"name":"proxy"}},)"
                                  R"({"op":"add","path":"/m/a~0b","value":2}])")))
      << print(patch);
  EXPECT_EQ(escapePointerToken("a/b~c"), "a~1b~0c");
}

TEST(JsonPatchTest, ApplyRefusesOpsThatDoNotResolve) {
  const std::pair<std::string, std::string> bad[] = {
      {R"([{"op":"replace","path":"/x","value":1}])", "path does not exist"},
      {R"([{"op":"add","path":"/a/b","value":1}])", "parent path does not exist"},
      {R"([{"op":"add","path":"/l/5","value":1}])", "out of range"},
      {R"([{"op":"add","path":"/l/01","value":1}])", "out of range"},
      {R"([{"op":"remove","path":"/l/1"}])", "path does not exist"},
      {R"([{"op":"test","path":"/l/0","value":2}])", "test failed"},
      {R"([{"op":"jump","path":"/l"}])", "unknown op"},
      {R"([{"path":"/l"}])", "needs a string"},
      {R"([{"op":"add","path":"l","value":1}])", "needs a string"},
      {R"([{"op":"add","path":"/k"}])", "needs a \"value\""},
  };
  for (const auto& [patch, want] : bad) {
    Value doc = json(R"({"l":[1]})");
    auto s = applyJsonPatch(json(patch).list_value(), &doc);
    ASSERT_FALSE(s.isOk()) << patch;
    EXPECT_NE(s.message().find(want), std::string::npos) << s.message();
  }
  Value doc = json(R"({"l":[1],"m":{"a":1}})");
  ASSERT_TRUE(applyJsonPatch(json(R"([{"op":"add","path":"/l/-","value":2},
      {"op":"move","from":"/m/a","path":"/l/0"},{"op":"copy","from":"/l","path":"/c"},
      {"op":"test","path":"/c/2","value":2}])")
                                 .list_value(),
                             &doc)
                  .isOk());
  EXPECT_TRUE(jsonEqual(doc, json(R"({"l":[1,1,2],"m":{},"c":[1,1,2]})")));
}

}  // namespace
}  // namespace remora::control
