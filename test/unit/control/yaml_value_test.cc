// YAML <-> JSON document conversion for remoractl inject (control/cli/yaml_value.h): the core
// schema, quoting on output, round trips, and errors that name the document and line.

#include "control/cli/yaml_value.h"

#include <gtest/gtest.h>

#include <string>

#include "control/json_patch.h"

namespace remora::control::cli {
namespace {

using google::protobuf::Value;

Value one(const std::string& text) {
  auto docs = parseYamlDocuments(text, "t.yaml");
  EXPECT_TRUE(docs.isOk()) << docs.status().message();
  return docs.isOk() && docs.value().size() == 1 ? docs.value()[0].value : Value();
}

const Value& field(const Value& v, const std::string& key) {
  return v.struct_value().fields().at(key);
}

TEST(YamlValueTest, PlainScalarsAreTypedByTheCoreSchemaQuotedOnesStayStrings) {
  Value v =
      one("a: true\nb: 'true'\nc: 8080\nd: \"8080\"\ne: 1.5\nf: ~\ng:\nh: null\ni: yes\nj: 0x1F\n"
          "k: !!str 12\nl: -3\nm: 1e3\nn: |\n  x\n");
  EXPECT_TRUE(field(v, "a").bool_value());
  EXPECT_EQ(field(v, "b").string_value(), "true");
  EXPECT_EQ(field(v, "c").number_value(), 8080);
  EXPECT_EQ(field(v, "d").string_value(), "8080");
  EXPECT_EQ(field(v, "e").number_value(), 1.5);
  EXPECT_TRUE(field(v, "f").has_null_value());
  EXPECT_TRUE(field(v, "g").has_null_value());
  EXPECT_TRUE(field(v, "h").has_null_value());
  EXPECT_EQ(field(v, "i").string_value(), "yes");  // YAML 1.2: not a boolean
  EXPECT_EQ(field(v, "j").number_value(), 31);
  EXPECT_EQ(field(v, "k").string_value(), "12");
  EXPECT_EQ(field(v, "l").number_value(), -3);
  EXPECT_EQ(field(v, "m").number_value(), 1000);
  EXPECT_EQ(field(v, "n").string_value(), "x\n");
}

TEST(YamlValueTest, StringsThatWouldReadBackAsAnotherTypeAreQuotedAndRoundTrip) {
  Value v;
  auto* f = v.mutable_struct_value()->mutable_fields();
  const char* tricky[] = {"true",
                          "False",
                          "8080",
                          "1.0",
                          "-1",
                          "+5",
                          ".5",
                          "null",
                          "~",
                          "yes",
                          "on",
                          "Off",
                          "y",
                          "",
                          "12:30",
                          "0x10",
                          "1e3",
                          "<<",
                          "=",
                          "- item",
                          "a: b",
                          "#x",
                          "multi\nline\n",
                          " lead",
                          "trail ",
                          "--flag",
                          "ünï",
                          "\"q\"",
                          "'s'",
                          "{x}",
                          "[y]",
                          "*a",
                          "&b",
                          "!t",
                          "%p",
                          "@at",
                          "`bt"};
  int i = 0;
  for (const char* s : tricky) {
    (*f)["k" + std::to_string(i++)].set_string_value(s);
    (*f)[s].set_number_value(i);  // and as keys
  }
  const std::string text = emitYaml(v);
  EXPECT_NE(text.find("k0: \"true\""), std::string::npos) << text;
  EXPECT_NE(text.find("k2: \"8080\""), std::string::npos) << text;
  EXPECT_NE(text.find("k3: \"1.0\""), std::string::npos) << text;
  EXPECT_NE(text.find("k25: --flag"), std::string::npos) << text;
  Value back = one(text);
  EXPECT_TRUE(jsonEqual(back, v)) << text;
  EXPECT_EQ(emitYaml(back), text);
}

TEST(YamlValueTest, NumbersBoolsNullsAndEmptyCollectionsRoundTrip) {
  const std::string text =
      "a: 1\nb: -2.5\nc: true\nd: null\ne: {}\nf: []\ng:\n  - 1\n  - x\nh: 9007199254740992\n"
      "i: 0.1\n";
  Value v = one(text);
  EXPECT_EQ(emitYaml(v), text);
}

TEST(YamlValueTest, ErrorsNameTheSourceTheDocumentAndTheLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"a: 1\n---\nb: [1\n", "t.yaml: document 2, line "},
      {"a: 1\n---\nb: 2\n---\nc: 3\nc: 4\n", "t.yaml: document 3, line 6: key 'c' appears twice"},
      {"---\nx: 12345678901234567890\n", "t.yaml: document 1, line 2: integer"},
      {"x: .inf\n", "t.yaml: document 1, line 1: '.inf': infinities"},
      {"x: !!binary aGk=\n", "t.yaml: document 1, line 1: tag"},
      {"? [a]\n: b\n", "t.yaml: document 1, line 1: a mapping key must be a scalar"},
      {"x: \"\xff\"\n", "t.yaml: document 1, line 1: value is not valid UTF-8"},
  };
  for (const auto& [text, want] : cases) {
    auto r = parseYamlDocuments(text, "t.yaml");
    ASSERT_FALSE(r.isOk()) << text;
    EXPECT_EQ(r.status().message().rfind(want, 0), 0u) << r.status().message();
  }
}

TEST(YamlValueTest, AliasBombsAreRefusedBeforeExpansion) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) {
      bomb += std::string(i ? ", " : "") + "*" + prev;
    }
    bomb += "]\n";
    prev = c;
  }
  auto r = parseYamlDocuments(bomb, "bomb.yaml");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message().rfind("bomb.yaml: document 1, line ", 0), 0u)
      << r.status().message();
}

TEST(YamlValueTest, EmptyDocumentsAreSkippedButCountedAndLinesFound) {
  auto r =
      parseYamlDocuments("# only a comment\n---\n---\nkind: Pod\nspec:\n  x: [a, b]\n", "t.yaml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r.value().size(), 1u);
  EXPECT_EQ(r.value()[0].index, 2);  // a comment alone is no document
  EXPECT_EQ(r.value()[0].line, 4);
  EXPECT_EQ(lineOf(r.value()[0], "/spec/x"), 6);
  EXPECT_EQ(lineOf(r.value()[0], "/spec/missing/deeper"), 5);
  EXPECT_EQ(lineOf(r.value()[0], ""), 4);
}

}  // namespace
}  // namespace remora::control::cli
