// checkYamlExpansion (alias bombs, depth) and the UTF-8 rule of string fields.

#include <gtest/gtest.h>

#include <string>

#include "common/utf8.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "test/integration/support/yaml_bombs.h"
#include "xds/yaml_to_proto.h"

namespace remora::xds {
namespace {

TEST(YamlExpansion, PlainTextAndModestAliasesPass) {
  EXPECT_TRUE(checkYamlExpansion("a: 1\nb: [x, y]\n", "f.yaml").isOk());
  EXPECT_TRUE(checkYamlExpansion("base: &b {timeout: 1s, retries: 3}\n"
                                 "one: *b\ntwo: *b\nthree: *b\n",
                                 "f.yaml")
                  .isOk());
}

TEST(YamlExpansion, AliasBombRouteIsRefusedAtTheAliasThatCrossesTheLimit) {
  for (int fanout : {100, 270}) {  // the 3 KB and the 8 KB shapes
    const std::string text = test::aliasBombRoute(fanout);
    common::Status s = checkYamlExpansion(text, "bomb.yaml");
    ASSERT_FALSE(s.isOk()) << fanout;
    // Headers add 99 nodes (3 each), then each *m adds ~300: the limit falls among the *m
    // aliases, which start on line 13 + fanout - 1.
    EXPECT_NE(s.message().find("bomb.yaml:"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("YAML aliases expand to more than 100000 nodes"), std::string::npos)
        << s.message();
    const int line = std::stoi(s.message().substr(std::string("bomb.yaml:").size()));
    EXPECT_GT(line, 12 + fanout - 1) << s.message();
    EXPECT_LT(line, 12 + 3 * fanout) << s.message();
  }
}

TEST(YamlExpansion, BillionLaughsIsRefused) {
  common::Status s = checkYamlExpansion(test::billionLaughsService(9, 10), "lol.yaml");
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message().rfind("lol.yaml:", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("YAML aliases expand to more than"), std::string::npos) << s.message();
}

TEST(YamlExpansion, EachLimitHasItsOwnMessage) {
  YamlLimits tight;
  tight.max_aliases = 2;
  common::Status s = checkYamlExpansion("a: &x 1\nb: *x\nc: *x\nd: *x\n", "f.yaml", tight);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(), "f.yaml:4:4: more than 2 YAML alias uses (limit of aliases per file)");

  tight = {};
  tight.max_alias_bytes = 10;
  s = checkYamlExpansion("a: &x 0123456789a\nb: *x\n", "f.yaml", tight);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("f.yaml:2:4: YAML aliases expand to more than 10 bytes"),
            std::string::npos)
      << s.message();

  tight = {};
  tight.max_depth = 3;
  EXPECT_TRUE(checkYamlExpansion("a: {b: {c: 1}}\n", "f.yaml", tight).isOk());
  s = checkYamlExpansion("a: {b: {c: {d: 1}}}\n", "f.yaml", tight);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("nested more than 3 levels deep"), std::string::npos) << s.message();
  // Depth counts what an alias brings along.
  s = checkYamlExpansion("x: &n {b: {c: 1}}\ny: {z: *n}\n", "f.yaml", tight);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("f.yaml:2:8: YAML nested more than 3 levels deep once aliases"),
            std::string::npos)
      << s.message();
}

TEST(YamlExpansion, SyntaxErrorsAreReportedWithTheirPlace) {
  common::Status s = checkYamlExpansion("a: [1, 2\n", "f.yaml");
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("f.yaml:"), std::string::npos);
  EXPECT_NE(s.message().find("YAML syntax error"), std::string::npos) << s.message();
}

TEST(YamlExpansion, ParseYamlIntoRefusesABombBeforeWalkingIt) {
  config::v1::Bootstrap b;
  std::string text = "node: {id: &i x}\nlisteners:\n";
  text += "- &l {name: a, address: \"127.0.0.1:0\"}\n";
  for (int i = 0; i < 20000; ++i) {
    text += "- *l\n";  // 20,000 aliases: over the alias-use limit
  }
  common::Status s = parseYamlInto(text, "boot.yaml", &b, nullptr);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("more than 10000 YAML alias uses"), std::string::npos)
      << s.message().substr(0, 300);
  EXPECT_EQ(b.listeners_size(), 0);
}

TEST(Utf8, ValidAndInvalidSequences) {
  EXPECT_TRUE(common::isValidUtf8(""));
  EXPECT_TRUE(common::isValidUtf8("plain ascii"));
  EXPECT_TRUE(common::isValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(common::isValidUtf8("\xff"));
  EXPECT_FALSE(common::isValidUtf8("a\xc3"));             // truncated
  EXPECT_FALSE(common::isValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(common::isValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(common::isValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(common::isValidUtf8("\xe2\x28\xa1"));      // bad continuation
}

TEST(Utf8, StringFieldThatIsNotUtf8IsAnErrorAtItsPlace) {
  config::v1::Bootstrap b;
  common::Status s =
      parseYamlInto("node:\n  id: ok\n  service: \"a\xff\"\n", "boot.yaml", &b, nullptr);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(),
            "boot.yaml:3:12: node.service: not valid UTF-8 (a text field must be: a sidecar "
            "cannot parse it)");
  // Escapes are characters, so they are fine.
  EXPECT_TRUE(parseYamlInto("node: {id: \"caf\\xe9\"}\n", "boot.yaml", &b, nullptr).isOk());
}

}  // namespace
}  // namespace remora::xds
