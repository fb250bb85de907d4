#include "xds/yaml_to_proto.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "remora/config/v1/bootstrap.pb.h"

namespace remora::xds {
namespace {

namespace pb = google::protobuf;

// A schema with every field kind, built at run time so that the loader is exercised purely
// through reflection (as it is for any message).
constexpr const char* kTestSchema = R"pb(
  name: "yaml_to_proto_test.proto"
  package: "remora.test"
  syntax: "proto3"
  dependency: "google/protobuf/duration.proto"
  dependency: "google/protobuf/wrappers.proto"
  message_type {
    name: "Inner"
    field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "inner_value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
  }
  message_type {
    name: "Tree"
    field {
      name: "child"
      number: 1
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".remora.test.Tree"
    }
  }
  enum_type {
    name: "Color"
    value { name: "RED" number: 0 }
    value { name: "GREEN" number: 1 }
    value { name: "BLUE" number: 2 }
  }
  message_type {
    name: "Everything"
    field { name: "i32" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "i64" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
    field { name: "u32" number: 3 label: LABEL_OPTIONAL type: TYPE_UINT32 }
    field { name: "u64" number: 4 label: LABEL_OPTIONAL type: TYPE_UINT64 }
    field { name: "s32" number: 5 label: LABEL_OPTIONAL type: TYPE_SINT32 }
    field { name: "s64" number: 6 label: LABEL_OPTIONAL type: TYPE_SINT64 }
    field { name: "fx32" number: 7 label: LABEL_OPTIONAL type: TYPE_FIXED32 }
    field { name: "fx64" number: 8 label: LABEL_OPTIONAL type: TYPE_FIXED64 }
    field { name: "sfx32" number: 9 label: LABEL_OPTIONAL type: TYPE_SFIXED32 }
    field { name: "sfx64" number: 10 label: LABEL_OPTIONAL type: TYPE_SFIXED64 }
    field { name: "flt" number: 11 label: LABEL_OPTIONAL type: TYPE_FLOAT }
    field { name: "dbl" number: 12 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
    field { name: "flag" number: 13 label: LABEL_OPTIONAL type: TYPE_BOOL }
    field { name: "text" number: 14 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "blob" number: 15 label: LABEL_OPTIONAL type: TYPE_BYTES }
    field {
      name: "color"
      number: 16
      label: LABEL_OPTIONAL
      type: TYPE_ENUM
      type_name: ".remora.test.Color"
    }
    field {
      name: "inner"
      number: 17
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".remora.test.Inner"
    }
    field {
      name: "inners"
      number: 18
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".remora.test.Inner"
    }
    field { name: "numbers" number: 19 label: LABEL_REPEATED type: TYPE_INT32 }
    field {
      name: "labels"
      number: 20
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".remora.test.Everything.LabelsEntry"
    }
    field {
      name: "by_id"
      number: 21
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".remora.test.Everything.ByIdEntry"
    }
    field {
      name: "timeout"
      number: 22
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".google.protobuf.Duration"
    }
    field {
      name: "retries"
      number: 23
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".google.protobuf.UInt32Value"
    }
    field {
      name: "opt_u32"
      number: 24
      label: LABEL_OPTIONAL
      type: TYPE_UINT32
      oneof_index: 1
      proto3_optional: true
    }
    field { name: "first_choice" number: 25 label: LABEL_OPTIONAL type: TYPE_STRING oneof_index: 0 }
    field { name: "second_choice" number: 26 label: LABEL_OPTIONAL type: TYPE_INT32 oneof_index: 0 }
    field {
      name: "colors"
      number: 27
      label: LABEL_REPEATED
      type: TYPE_ENUM
      type_name: ".remora.test.Color"
    }
    field {
      name: "timeouts"
      number: 28
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".google.protobuf.Duration"
    }
    field {
      name: "tree"
      number: 29
      label: LABEL_OPTIONAL
      type: TYPE_MESSAGE
      type_name: ".remora.test.Tree"
    }
    field { name: "flags" number: 30 label: LABEL_REPEATED type: TYPE_BOOL }
    nested_type {
      name: "LabelsEntry"
      field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
      field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
      options { map_entry: true }
    }
    nested_type {
      name: "ByIdEntry"
      field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
      field {
        name: "value"
        number: 2
        label: LABEL_OPTIONAL
        type: TYPE_MESSAGE
        type_name: ".remora.test.Inner"
      }
      options { map_entry: true }
    }
    oneof_decl { name: "choice" }
    oneof_decl { name: "_opt_u32" }
  }
)pb";

class YamlToProtoTest : public ::testing::Test {
 protected:
  static const pb::DescriptorPool& pool() {
    static const pb::DescriptorPool* p = [] {
      auto* built = new pb::DescriptorPool();
      for (const pb::FileDescriptor* dep :
           {pb::Duration::descriptor()->file(), pb::UInt32Value::descriptor()->file()}) {
        pb::FileDescriptorProto fdp;
        dep->CopyTo(&fdp);
        built->BuildFile(fdp);
      }
      pb::FileDescriptorProto fdp;
      if (!pb::TextFormat::ParseFromString(kTestSchema, &fdp) || built->BuildFile(fdp) == nullptr) {
        ADD_FAILURE() << "test schema does not build";
      }
      return built;
    }();
    return *p;
  }

  // A fresh, empty dynamic message of `type` (e.g. "Everything").
  std::unique_ptr<pb::Message> make(const std::string& type = "Everything") {
    const pb::Descriptor* d = pool().FindMessageTypeByName("remora.test." + type);
    EXPECT_NE(d, nullptr) << type;
    return std::unique_ptr<pb::Message>(factory_.GetPrototype(d)->New());
  }

  // A message of `type` from protobuf text format, to compare against.
  std::unique_ptr<pb::Message> expected(const std::string& text,
                                        const std::string& type = "Everything") {
    auto m = make(type);
    EXPECT_TRUE(pb::TextFormat::ParseFromString(text, m.get())) << text;
    return m;
  }

  // Parses `yaml` into a fresh Everything and expects success.
  std::unique_ptr<pb::Message> parseOk(std::string_view yaml, SourceMap* map = nullptr) {
    auto m = make();
    common::Status s = parseYamlInto(yaml, "test.yaml", m.get(), map);
    EXPECT_TRUE(s.isOk()) << s.message();
    return m;
  }

  // Parses `yaml` into a fresh message of `type` and returns the error message ("" on success).
  std::string parseError(std::string_view yaml, const std::string& type = "Everything") {
    auto m = make(type);
    common::Status s = parseYamlInto(yaml, "test.yaml", m.get(), nullptr);
    EXPECT_FALSE(s.isOk()) << "parsed: " << m->ShortDebugString();
    if (!s.isOk()) {
      EXPECT_EQ(s.code(), common::StatusCode::kInvalidArgument);
    }
    return s.message();
  }

  static void expectEqual(const pb::Message& actual, const pb::Message& want) {
    EXPECT_TRUE(pb::util::MessageDifferencer::Equals(actual, want))
        << "actual:\n"
        << actual.DebugString() << "expected:\n"
        << want.DebugString();
  }

  pb::DynamicMessageFactory factory_{&pool()};
};

TEST_F(YamlToProtoTest, ParsesEveryScalarType) {
  auto m = parseOk(R"(i32: -2147483648
i64: -9223372036854775808
u32: 4294967295
u64: 18446744073709551615
s32: -5
s64: -6
fx32: 7
fx64: 8
sfx32: -9
sfx64: -10
flt: 1.5
dbl: -2.25e3
flag: true
text: hello world
blob: aGk=
color: BLUE
)");
  expectEqual(*m, *expected(R"(i32: -2147483648 i64: -9223372036854775808 u32: 4294967295
      u64: 18446744073709551615 s32: -5 s64: -6 fx32: 7 fx64: 8 sfx32: -9 sfx64: -10
      flt: 1.5 dbl: -2250 flag: true text: "hello world" blob: "hi" color: BLUE)"));
}

TEST_F(YamlToProtoTest, StringFieldsTakeAnyScalarAsWritten) {
  auto m = parseOk("text: 1.10\n");
  expectEqual(*m, *expected(R"(text: "1.10")"));
  m = parseOk("text: 'true'\n");
  expectEqual(*m, *expected(R"(text: "true")"));
}

TEST_F(YamlToProtoTest, QuotedNumbersAreAccepted) {
  auto m = parseOk("u64: \"18446744073709551615\"\ni32: '+12'\n");
  expectEqual(*m, *expected("u64: 18446744073709551615 i32: 12"));
}

TEST_F(YamlToProtoTest, FloatsAcceptInfinityAndNan) {
  auto m = parseOk("flt: -.inf\ndbl: Infinity\n");
  expectEqual(*m, *expected("flt: -inf dbl: inf"));
  m = parseOk("dbl: .nan\n");
  const pb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName("dbl");
  EXPECT_TRUE(std::isnan(m->GetReflection()->GetDouble(*m, f)));
}

TEST_F(YamlToProtoTest, AcceptsJsonNamesAndProtoNames) {
  expectEqual(*parseOk("inner: {inner_value: 3}\n"), *expected("inner { inner_value: 3 }"));
  expectEqual(*parseOk("inner: {innerValue: 3}\n"), *expected("inner { inner_value: 3 }"));
  expectEqual(*parseOk("firstChoice: x\nbyId: {7: {name: n}}\n"),
              *expected(R"(first_choice: "x" by_id { key: 7 value { name: "n" } })"));
}

TEST_F(YamlToProtoTest, SettingAFieldUnderBothSpellingsIsAnError) {
  EXPECT_EQ(parseError("inner:\n  inner_value: 1\n  innerValue: 2\n"),
            "test.yaml:3:3: inner.inner_value: set more than once (first at line 2)");
}

TEST_F(YamlToProtoTest, ParsesNestedAndRepeatedFields) {
  auto m = parseOk(R"(inner:
  name: a
inners:
  - name: b
    innerValue: 1
  - {name: c}
numbers: [1, -2, 3]
colors: [RED, 2]
flags:
  - true
  - false
)");
  expectEqual(*m, *expected(R"(inner { name: "a" } inners { name: "b" inner_value: 1 }
      inners { name: "c" } numbers: [1, -2, 3] colors: [RED, BLUE] flags: [true, false])"));
}

TEST_F(YamlToProtoTest, SingleScalarIsAOneElementListForRepeatedScalars) {
  SourceMap map;
  expectEqual(*parseOk("numbers: 5\ncolors: GREEN\n", &map),
              *expected("numbers: [5] colors: [GREEN]"));
  EXPECT_EQ(map.find("numbers[0]"), (SourcePos{1, 10}));
  EXPECT_EQ(parseError("numbers: x\n"),
            "test.yaml:1:10: numbers[0]: expected an integer (int32), got \"x\"");
}

TEST_F(YamlToProtoTest, ParsesMapsWithStringAndIntegerKeys) {
  auto m = parseOk(R"(labels:
  version: v1
  app: "orders"
  "1": one
by_id:
  1: {name: first}
  -2:
    name: second
)");
  expectEqual(*m, *expected(R"(
      labels { key: "version" value: "v1" } labels { key: "app" value: "orders" }
      labels { key: "1" value: "one" }
      by_id { key: 1 value { name: "first" } } by_id { key: -2 value { name: "second" } })"));
}

TEST_F(YamlToProtoTest, BadMapKeyNamesTheEntry) {
  EXPECT_EQ(parseError("by_id:\n  one: {name: x}\n"),
            "test.yaml:2:3: by_id[\"one\"]: expected an integer (int32), got \"one\"");
}

TEST_F(YamlToProtoTest, DuplicateMapKeyIsAnError) {
  EXPECT_EQ(parseError("labels:\n  a: x\n  a: y\n"),
            "test.yaml:3:3: labels[\"a\"]: duplicate map key (first at line 2)");
}

TEST_F(YamlToProtoTest, EnumsByNameOrNumber) {
  expectEqual(*parseOk("color: GREEN\n"), *expected("color: GREEN"));
  expectEqual(*parseOk("color: 2\n"), *expected("color: BLUE"));
}

TEST_F(YamlToProtoTest, BadEnumListsValidNames) {
  EXPECT_EQ(parseError("text: x\ncolor: green\n"),
            "test.yaml:2:8: color: unknown value \"green\" for enum Color (valid values: RED, "
            "GREEN, BLUE)");
  EXPECT_EQ(parseError("color: 7\n"),
            "test.yaml:1:8: color: unknown value \"7\" for enum Color (valid values: RED, GREEN, "
            "BLUE)");
  EXPECT_EQ(parseError("colors: [RED, PURPLE]\n"),
            "test.yaml:1:15: colors[1]: unknown value \"PURPLE\" for enum Color (valid values: "
            "RED, GREEN, BLUE)");
}

TEST_F(YamlToProtoTest, BadEnumInRealSchemaListsValidNames) {
  config::v1::Bootstrap b;
  common::Status s = parseYamlInto(R"(static_resources:
  clusters:
    - name: a
      type: STATIK
)",
                                   "boot.yaml", &b, nullptr);
  EXPECT_EQ(s.message(),
            "boot.yaml:4:13: static_resources.clusters[0].type: unknown value \"STATIK\" for enum "
            "Cluster.Type (valid values: STATIC, ORIGINAL_DST)");
}

TEST_F(YamlToProtoTest, OptionalScalarTracksPresence) {
  auto absent = parseOk("u32: 0\n");
  const pb::FieldDescriptor* opt = absent->GetDescriptor()->FindFieldByName("opt_u32");
  EXPECT_FALSE(absent->GetReflection()->HasField(*absent, opt));
  auto zero = parseOk("opt_u32: 0\n");
  EXPECT_TRUE(zero->GetReflection()->HasField(*zero, opt));
  EXPECT_EQ(zero->GetReflection()->GetUInt32(*zero, opt), 0u);
  auto camel = parseOk("optU32: 5\n");
  EXPECT_EQ(camel->GetReflection()->GetUInt32(*camel, opt), 5u);
}

TEST_F(YamlToProtoTest, OneofMemberIsSet) {
  expectEqual(*parseOk("second_choice: 4\n"), *expected("second_choice: 4"));
}

TEST_F(YamlToProtoTest, OneofConflictIsAnError) {
  EXPECT_EQ(parseError("first_choice: a\ntext: b\nsecondChoice: 3\n"),
            "test.yaml:3:1: second_choice: \"second_choice\" conflicts with \"first_choice\": "
            "only one of oneof \"choice\" may be set");
}

TEST_F(YamlToProtoTest, OneofConflictInRouteMatchNamesPath) {
  config::v1::RouteConfiguration rc;
  common::Status s = parseYamlInto(R"(name: r
virtual_hosts:
  - domains: ["*"]
    routes:
      - match: {prefix: /, path: /x}
        route: {cluster: c}
)",
                                   "routes.yaml", &rc, nullptr);
  EXPECT_EQ(s.message(),
            "routes.yaml:5:28: virtual_hosts[0].routes[0].match.path: \"path\" conflicts with "
            "\"prefix\": only one of oneof \"path_specifier\" may be set");
}

TEST_F(YamlToProtoTest, NullLeavesFieldsUnset) {
  auto m = parseOk("inner:\ntext: ~\nfirst_choice: null\nsecond_choice: 2\nnumbers:\n");
  expectEqual(*m, *expected("second_choice: 2"));
}

TEST_F(YamlToProtoTest, NullListElementIsAnError) {
  EXPECT_EQ(parseError("numbers: [1, ~]\n"),
            "test.yaml:1:14: numbers[1]: null is not allowed as a list element");
}

TEST_F(YamlToProtoTest, ParsesDurationStrings) {
  expectEqual(*parseOk("timeout: 250ms\n"), *expected("timeout { nanos: 250000000 }"));
  expectEqual(*parseOk("timeout: 1.5s\n"), *expected("timeout { seconds: 1 nanos: 500000000 }"));
  expectEqual(*parseOk("timeout: 2m\n"), *expected("timeout { seconds: 120 }"));
  expectEqual(*parseOk("timeout: 1h\n"), *expected("timeout { seconds: 3600 }"));
  expectEqual(*parseOk("timeout: 100us\n"), *expected("timeout { nanos: 100000 }"));
  expectEqual(*parseOk("timeout: 0\n"), *expected("timeout {}"));
  expectEqual(*parseOk("timeout: 0s\n"), *expected("timeout {}"));
  expectEqual(*parseOk("timeouts: [5s, \"10ms\"]\n"),
              *expected("timeouts { seconds: 5 } timeouts { nanos: 10000000 }"));
}

TEST_F(YamlToProtoTest, BadDurationNamesLineAndPath) {
  EXPECT_EQ(parseError("text: a\ntimeout: 5\n"),
            "test.yaml:2:10: timeout: invalid duration \"5\": missing unit (ns, us, ms, s, m, h), "
            "e.g. \"5s\"");
  EXPECT_EQ(parseError("timeout: -1s\n"),
            "test.yaml:1:10: timeout: invalid duration \"-1s\": negative durations are not "
            "allowed");
  EXPECT_EQ(parseError("timeout: soon\n"),
            "test.yaml:1:10: timeout: invalid duration \"soon\": expected a number followed by a "
            "unit (ns, us, ms, s, m, h)");
  EXPECT_EQ(parseError("timeout: {seconds: 1}\n"),
            "test.yaml:1:1: timeout: expected a duration such as \"5s\", got a mapping");
}

TEST_F(YamlToProtoTest, BadDurationInRealSchemaNamesPath) {
  config::v1::Bootstrap b;
  common::Status s = parseYamlInto(R"(listeners:
  - name: out
    address: 127.0.0.1:15001
    detect_timeout: 300
)",
                                   "boot.yaml", &b, nullptr);
  EXPECT_EQ(s.message(),
            "boot.yaml:4:21: listeners[0].detect_timeout: invalid duration \"300\": missing unit "
            "(ns, us, ms, s, m, h), e.g. \"5s\"");
}

TEST_F(YamlToProtoTest, WrapperTypesTakeBareScalars) {
  expectEqual(*parseOk("retries: 3\n"), *expected("retries { value: 3 }"));
  expectEqual(*parseOk("retries: 0\n"), *expected("retries {}"));
  EXPECT_EQ(parseError("retries: -3\n"),
            "test.yaml:1:10: retries: \"-3\" is out of range for uint32 (0..4294967295)");
}

TEST_F(YamlToProtoTest, UnknownFieldNamesFileLineAndPath) {
  config::v1::Bootstrap b;
  common::Status s = parseYamlInto(R"(node: {id: a}
static_resources:
  clusters:
    - name: one
      endpoints: [{address: 127.0.0.1:1}]
    - name: two
      endpointz:
        - address: 127.0.0.1:2
)",
                                   "boot.yaml", &b, nullptr);
  EXPECT_EQ(s.code(), common::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "boot.yaml:7:7: static_resources.clusters[1].endpointz: unknown field (Cluster has: "
            "name, type, endpoints, lb_policy, connect_timeout, idle_timeout, request_timeout, "
            "max_idle_per_endpoint, max_connections_per_endpoint, load_balancer, circuit_breakers, "
            "outlier_detection, health_check, retry_policy, fallback, protocol)");
}

TEST_F(YamlToProtoTest, UnknownFieldDeepInListNamesIndexedPath) {
  config::v1::Bootstrap b;
  common::Status s = parseYamlInto(R"(static_resources:
  clusters:
    - name: one
      endpoints: [{address: 127.0.0.1:1}]
    - name: two
      endpoints:
        - addres: 127.0.0.1:2
)",
                                   "boot.yaml", &b, nullptr);
  EXPECT_EQ(s.message(),
            "boot.yaml:7:11: static_resources.clusters[1].endpoints[0].addres: unknown field "
            "(Endpoint has: address, weight, has_sidecar)");
}

TEST_F(YamlToProtoTest, WrongTypeNamesExpectedKind) {
  EXPECT_EQ(parseError("text: {a: 1}\n"), "test.yaml:1:1: text: expected a string, got a mapping");
  EXPECT_EQ(parseError("u32: [1]\n"),
            "test.yaml:1:1: u32: expected an integer (uint32), got a sequence");
  EXPECT_EQ(parseError("inner: hello\n"),
            "test.yaml:1:8: inner: expected a mapping (Inner), got the scalar \"hello\"");
  EXPECT_EQ(parseError("inners: {name: x}\n"),
            "test.yaml:1:1: inners: expected a sequence of mappings (Inner), got a mapping");
  EXPECT_EQ(parseError("numbers: {a: 1}\n"),
            "test.yaml:1:1: numbers: expected a sequence of an integer (int32), got a mapping");
  EXPECT_EQ(parseError("inners: x\n"),
            "test.yaml:1:9: inners: expected a sequence of mappings (Inner), got the scalar \"x\"");
  EXPECT_EQ(parseError("labels: [a]\n"),
            "test.yaml:1:1: labels: expected a mapping, got a sequence");
  EXPECT_EQ(parseError("flag: yes\n"), "test.yaml:1:7: flag: expected true or false, got \"yes\"");
  EXPECT_EQ(parseError("blob: \"not base64!\"\n"),
            "test.yaml:1:7: blob: expected a base64 string, got \"not base64!\"");
}

TEST_F(YamlToProtoTest, NonNumericIntegerIsAnError) {
  EXPECT_EQ(parseError("i32: 1.5\n"),
            "test.yaml:1:6: i32: expected an integer (int32), got \"1.5\"");
  EXPECT_EQ(parseError("u64: 0x10\n"),
            "test.yaml:1:6: u64: expected an integer (uint64), got \"0x10\"");
  EXPECT_EQ(parseError("dbl: fast\n"),
            "test.yaml:1:6: dbl: expected a number (double), got \"fast\"");
}

TEST_F(YamlToProtoTest, OutOfRangeNumbersAreErrors) {
  EXPECT_EQ(parseError("u32: -1\n"),
            "test.yaml:1:6: u32: \"-1\" is out of range for uint32 (0..4294967295)");
  EXPECT_EQ(parseError("i32: 2147483648\n"),
            "test.yaml:1:6: i32: \"2147483648\" is out of range for int32 "
            "(-2147483648..2147483647)");
  EXPECT_EQ(parseError("u64: 18446744073709551616\n"),
            "test.yaml:1:6: u64: \"18446744073709551616\" is out of range for uint64 "
            "(0..18446744073709551615)");
  EXPECT_EQ(parseError("s64: 99999999999999999999999999999999999\n"),
            "test.yaml:1:6: s64: \"99999999999999999999999999999999999\" is out of range for "
            "sint64 (-9223372036854775808..9223372036854775807)");
  EXPECT_EQ(parseError("flt: 1e39\n"), "test.yaml:1:6: flt: \"1e39\" is out of range for float");
  EXPECT_EQ(parseError("dbl: 1e999\n"), "test.yaml:1:6: dbl: \"1e999\" is out of range for double");
}

TEST_F(YamlToProtoTest, OutOfRangeInRealSchemaNamesPath) {
  config::v1::Bootstrap b;
  common::Status s = parseYamlInto("concurrency: 2\nlisteners:\n  - opaque_ports: [25, -1]\n",
                                   "boot.yaml", &b, nullptr);
  EXPECT_EQ(s.message(),
            "boot.yaml:3:24: listeners[0].opaque_ports[1]: \"-1\" is out of range for uint32 "
            "(0..4294967295)");
}

TEST_F(YamlToProtoTest, FieldSetTwiceIsAnError) {
  EXPECT_EQ(parseError("u32: 1\ntext: a\nu32: 2\n"),
            "test.yaml:3:1: u32: set more than once (first at line 1)");
}

TEST_F(YamlToProtoTest, YamlSyntaxErrorNamesLineAndColumn) {
  EXPECT_EQ(parseError("text: a\nnumbers: [1, 2\n"),
            "test.yaml:3:1: YAML syntax error: end of sequence flow not found");
  EXPECT_EQ(parseError("text: a\nu32: b: c\n"),
            "test.yaml:2:7: YAML syntax error: illegal map value");
}

TEST_F(YamlToProtoTest, ParsesJsonInput) {
  auto m = parseOk(R"({
  "text": "hi",
  "inner": null,
  "inners": [{"name": "a", "innerValue": 2}],
  "labels": {"k": "v"},
  "timeout": "1.5s",
  "flag": false,
  "u64": "12",
  "color": "GREEN"
})");
  expectEqual(*m, *expected(R"(text: "hi" inners { name: "a" inner_value: 2 }
      labels { key: "k" value: "v" } timeout { seconds: 1 nanos: 500000000 } u64: 12
      color: GREEN)"));
}

TEST_F(YamlToProtoTest, JsonErrorsNameLineAndColumn) {
  EXPECT_EQ(parseError("{\n  \"text\": \"hi\",\n  \"colour\": \"RED\"\n}\n"),
            "test.yaml:3:3: colour: unknown field (Everything has: i32, i64, u32, u64, s32, s64, "
            "fx32, fx64, sfx32, sfx64, flt, dbl, flag, text, blob, color, inner, inners, numbers, "
            "labels, by_id, timeout, retries, opt_u32, first_choice, second_choice, colors, "
            "timeouts, tree, flags)");
  EXPECT_EQ(parseError("{\n  \"text\": \"hi\",\n  \"u32\": \"x\"\n}\n"),
            "test.yaml:3:10: u32: expected an integer (uint32), got \"x\"");
}

TEST_F(YamlToProtoTest, EmptyDocumentIsAnError) {
  EXPECT_EQ(parseError(""), "test.yaml: empty document");
  EXPECT_EQ(parseError("# only a comment\n\n"), "test.yaml: empty document");
  EXPECT_EQ(parseError("---\n"), "test.yaml: empty document");
}

TEST_F(YamlToProtoTest, MultipleDocumentsAreAnError) {
  EXPECT_EQ(parseError("text: a\n---\ntext: b\n"),
            "test.yaml:3:1: expected one YAML document, found 2");
}

TEST_F(YamlToProtoTest, LeadingAndTrailingDocumentMarkersAreFine) {
  expectEqual(*parseOk("---\ntext: a\n---\n"), *expected(R"(text: "a")"));
}

TEST_F(YamlToProtoTest, TopLevelMustBeAMapping) {
  EXPECT_EQ(parseError("- a\n- b\n"),
            "test.yaml:1:1: expected a mapping (Everything), got a sequence");
  EXPECT_EQ(parseError("hello\n"),
            "test.yaml:1:1: expected a mapping (Everything), got the scalar \"hello\"");
}

TEST_F(YamlToProtoTest, NonScalarKeyIsAnError) {
  EXPECT_EQ(parseError("? [a]\n: 1\n"),
            "test.yaml:1:3: expected a field name, got a sequence as a key");
}

TEST_F(YamlToProtoTest, CollectsEveryErrorInFileOrder) {
  EXPECT_EQ(
      parseError("u32: -1\nbogus: 1\ninner: {innerValue: x}\ncolor: PINK\n"),
      "test.yaml:1:6: u32: \"-1\" is out of range for uint32 (0..4294967295)\n"
      "test.yaml:2:1: bogus: unknown field (Everything has: i32, i64, u32, u64, s32, s64, "
      "fx32, fx64, sfx32, sfx64, flt, dbl, flag, text, blob, color, inner, inners, numbers, "
      "labels, by_id, timeout, retries, opt_u32, first_choice, second_choice, colors, "
      "timeouts, tree, flags)\n"
      "test.yaml:3:21: inner.inner_value: expected an integer (int32), got \"x\"\n"
      "test.yaml:4:8: color: unknown value \"PINK\" for enum Color (valid values: RED, GREEN, "
      "BLUE)");
}

TEST_F(YamlToProtoTest, StopsListingAfterFiftyErrors) {
  std::string yaml = "numbers: [";
  for (int i = 0; i < 60; ++i) {
    yaml += i == 0 ? "x" : ", x";
  }
  yaml += "]\n";
  std::string message = parseError(yaml);
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 50);
  EXPECT_NE(message.find("test.yaml: ... and 10 more errors"), std::string::npos);
}

TEST_F(YamlToProtoTest, DeepNestingIsRefused) {
  std::string yaml = "tree: ";
  for (int i = 0; i < 100; ++i) {
    yaml += "{child: ";
  }
  yaml += "{}";
  yaml += std::string(100, '}');
  std::string message = parseError(yaml);
  EXPECT_NE(message.find("nested more than 64 levels deep"), std::string::npos) << message;
}

TEST_F(YamlToProtoTest, SelfReferentialAliasDoesNotLoopForever) {
  std::string message = parseError("tree: &t {child: *t}\n");
  EXPECT_FALSE(message.empty());
}

TEST_F(YamlToProtoTest, ClearsTheOutputFirst) {
  auto m = make();
  ASSERT_TRUE(parseYamlInto("text: a\nu32: 1\n", "t", m.get(), nullptr).isOk());
  ASSERT_TRUE(parseYamlInto("u32: 2\n", "t", m.get(), nullptr).isOk());
  expectEqual(*m, *expected("u32: 2"));
}

TEST_F(YamlToProtoTest, SourceMapRecordsEveryField) {
  SourceMap map;
  parseOk(R"(text: a
inner:
  name: b
inners:
  - name: c
  - {name: d, innerValue: 4}
labels: {k: v}
)",
          &map);
  EXPECT_EQ(map.find(""), (SourcePos{1, 1}));
  EXPECT_EQ(map.find("text"), (SourcePos{1, 7}));
  EXPECT_EQ(map.find("inner"), (SourcePos{2, 1}));
  EXPECT_EQ(map.find("inner.name"), (SourcePos{3, 9}));
  EXPECT_EQ(map.find("inners"), (SourcePos{4, 1}));
  EXPECT_EQ(map.find("inners[0]"), (SourcePos{5, 5}));
  EXPECT_EQ(map.find("inners[0].name"), (SourcePos{5, 11}));
  EXPECT_EQ(map.find("inners[1]"), (SourcePos{6, 5}));
  EXPECT_EQ(map.find("inners[1].inner_value"), (SourcePos{6, 27}));
  EXPECT_EQ(map.find("labels"), (SourcePos{7, 1}));
  EXPECT_EQ(map.find("labels[\"k\"]"), (SourcePos{7, 13}));
  EXPECT_TRUE(map.contains("inners[1].name"));
}

TEST_F(YamlToProtoTest, SourceMapFallsBackToClosestAncestor) {
  SourceMap map;
  parseOk("text: a\ninners:\n  - name: c\n", &map);
  EXPECT_FALSE(map.contains("inners[0].inner_value"));
  EXPECT_EQ(map.find("inners[0].inner_value"), (SourcePos{3, 5}));
  EXPECT_EQ(map.find("inners[3].name"), (SourcePos{2, 1}));
  EXPECT_EQ(map.find("nothing.here"), (SourcePos{1, 1}));
}

TEST_F(YamlToProtoTest, IgnoredUnknownKeysAreSkippedWithTheirValues) {
  ParseOptions options;
  options.ignore_unknown = ignoreUnknownUnder({"inner", "status"});
  auto m = make();
  SourceMap map;
  common::Status s = parseYamlInto(R"(text: a
status: {anything: [1, 2, {deep: true}]}
inner: {name: n, uid: 7, managed: [{x: 1}]}
inners: [{name: c, extra: 1}]
bogus: 1
)",
                                   "test.yaml", m.get(), &map, options);
  const std::string& text = s.message();
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "test.yaml:4:20: inners[0].extra: unknown field (Inner has: name, inner_value)");
  EXPECT_EQ(text.rfind("\ntest.yaml:5:1: bogus: unknown field (Everything has: i32, i64, "),
            text.find('\n'))
      << text;
  EXPECT_FALSE(map.contains("status"));
  EXPECT_FALSE(map.contains("inner.uid"));
  EXPECT_TRUE(map.contains("inner.name"));
}

TEST_F(YamlToProtoTest, IgnoringEverythingAcceptsAnyUnknownKey) {
  ParseOptions options;
  options.ignore_unknown = [](std::string_view) { return true; };
  auto m = make();
  ASSERT_TRUE(parseYamlInto("text: a\nnope: 1\ninner: {name: n, nope: {x: 1}}\n", "test.yaml",
                            m.get(), nullptr, options)
                  .isOk());
  expectEqual(*m, *expected(R"(text: "a" inner { name: "n" })"));
}

TEST_F(YamlToProtoTest, IgnoringDoesNotForgiveBadValuesOfKnownFields) {
  ParseOptions options;
  options.ignore_unknown = [](std::string_view) { return true; };
  auto m = make();
  common::Status s = parseYamlInto("i32: x\n", "test.yaml", m.get(), nullptr, options);
  EXPECT_EQ(s.message(), "test.yaml:1:6: i32: expected an integer (int32), got \"x\"");
}

TEST_F(YamlToProtoTest, PredicateSeesThePathOfTheUnknownKey) {
  std::vector<std::string> seen;
  ParseOptions options;
  options.json_paths = true;
  options.ignore_unknown = [&seen](std::string_view path) {
    seen.emplace_back(path);
    return true;
  };
  auto m = make();
  ASSERT_TRUE(parseYamlInto("nope: 1\ninners: [{}, {innerValue: 1, x_y: 2}]\nbyId: {7: {q: 1}}\n",
                            "test.yaml", m.get(), nullptr, options)
                  .isOk());
  EXPECT_EQ(seen, (std::vector<std::string>{"nope", "inners[1].x_y", "byId[\"7\"].q"}));
}

TEST_F(YamlToProtoTest, JsonPathsSpellErrorsAndSourceMapInLowerCamelCase) {
  ParseOptions options;
  options.json_paths = true;
  config::v1::Bootstrap b;
  SourceMap map;
  common::Status s = parseYamlInto(R"(static_resources:
  clusters:
    - name: one
      connect_timeout: soon
      lbPolicy: ROUND_ROBIN
      endpoints: [{adress: x}]
)",
                                   "boot.yaml", &b, &map, options);
  const std::string& m = s.message();
  const size_t nl = m.find('\n');
  ASSERT_NE(nl, std::string::npos) << m;
  EXPECT_EQ(m.rfind("boot.yaml:4:24: staticResources.clusters[0].connectTimeout: invalid duration "
                    "\"soon\"",
                    0),
            0u)
      << m;
  EXPECT_EQ(m.substr(nl + 1),
            "boot.yaml:6:20: staticResources.clusters[0].endpoints[0].adress: unknown field "
            "(Endpoint has: address, weight, hasSidecar)");
  EXPECT_TRUE(map.contains("staticResources.clusters[0].lbPolicy"));
  EXPECT_FALSE(map.contains("static_resources.clusters[0].lb_policy"));
}

TEST_F(YamlToProtoTest, JsonPathsNameOneofConflictsInLowerCamelCase) {
  ParseOptions options;
  options.json_paths = true;
  auto m = make();
  common::Status s =
      parseYamlInto("firstChoice: a\nsecondChoice: 2\n", "test.yaml", m.get(), nullptr, options);
  EXPECT_EQ(
      s.message(),
      "test.yaml:2:1: secondChoice: \"secondChoice\" conflicts with \"firstChoice\": only one "
      "of oneof \"choice\" may be set");
}

TEST(IgnoreUnknownUnderTest, MatchesRootsAndWhatIsBelowThem) {
  auto under = ignoreUnknownUnder({"metadata", "status"});
  EXPECT_TRUE(under("metadata"));
  EXPECT_TRUE(under("metadata.uid"));
  EXPECT_TRUE(under("metadata.managedFields[0].x"));
  EXPECT_TRUE(under("status"));
  EXPECT_FALSE(under("metadataX"));
  EXPECT_FALSE(under("spec.metadata"));
  EXPECT_FALSE(under("spec"));
  auto everywhere = ignoreUnknownUnder({""});
  EXPECT_TRUE(everywhere("anything.at[3].all"));
  auto nowhere = ignoreUnknownUnder({});
  EXPECT_FALSE(nowhere("x"));
}

TEST_F(YamlToProtoTest, NodesOfAMultiDocumentStreamReportTheStreamsLines) {
  std::vector<YAML::Node> docs = YAML::LoadAll("text: a\n---\n# two\ntext: b\n---\ni32: x\n");
  ASSERT_EQ(docs.size(), 3u);
  auto m = make();
  SourceMap map;
  ASSERT_TRUE(parseYamlNodeInto(docs[1], "multi.yaml", m.get(), &map).isOk());
  expectEqual(*m, *expected(R"(text: "b")"));
  EXPECT_EQ(map.find("text"), (SourcePos{4, 7}));
  EXPECT_EQ(parseYamlNodeInto(docs[2], "multi.yaml", m.get(), nullptr).message(),
            "multi.yaml:6:6: i32: expected an integer (int32), got \"x\"");
}

TEST_F(YamlToProtoTest, NullOrUndefinedNodeIsAnEmptyDocument) {
  auto m = make();
  EXPECT_EQ(parseYamlNodeInto(YAML::Node(), "n.yaml", m.get(), nullptr).message(),
            "n.yaml: empty document");
  const YAML::Node map = YAML::Load("a: 1");
  EXPECT_EQ(parseYamlNodeInto(map["missing"], "n.yaml", m.get(), nullptr).message(),
            "n.yaml: empty document");
}

TEST(ReadConfigFileTest, ReadsWholeFilesAndNamesMissingOnes) {
  const std::string path = ::testing::TempDir() + "/read_config_file_test.yaml";
  {
    std::ofstream out(path);
    out << "a: 1\n---\nb: 2\n";
  }
  auto text = readConfigFile(path);
  ASSERT_TRUE(text.isOk());
  EXPECT_EQ(text.value(), "a: 1\n---\nb: 2\n");
  std::remove(path.c_str());
  auto missing = readConfigFile(path);
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), common::StatusCode::kNotFound);
}

TEST(SourceMapTest, ParentPathHandlesIndexesAndQuotedKeys) {
  EXPECT_EQ(parentPath("a.b[2].c"), "a.b[2]");
  EXPECT_EQ(parentPath("a.b[2]"), "a.b");
  EXPECT_EQ(parentPath("a"), "");
  EXPECT_EQ(parentPath(""), "");
  EXPECT_EQ(parentPath(mapEntryPath("node.labels", "x.y[\"z")), "node.labels");
  EXPECT_EQ(mapEntryPath("m", "a\"b\\c"), "m[\"a\\\"b\\\\c\"]");
}

TEST(SourceMapTest, JoinAndIndexPaths) {
  EXPECT_EQ(joinPath("", "spec"), "spec");
  EXPECT_EQ(joinPath("spec.rules[0]", "name"), "spec.rules[0].name");
  EXPECT_EQ(indexPath("spec.rules", 3), "spec.rules[3]");
  EXPECT_EQ(parentPath(indexPath(joinPath("a", "b"), 2)), "a.b");
}

TEST(SourceMapTest, EmptyMapFindsNothing) {
  SourceMap map;
  EXPECT_FALSE(map.find("a.b").known());
}

TEST(SourceMapTest, FormatLeavesOutUnknownPositionAndEmptyPath) {
  EXPECT_EQ(formatConfigError("f.yaml", {3, 4}, "a.b", "bad"), "f.yaml:3:4: a.b: bad");
  EXPECT_EQ(formatConfigError("f.yaml", {}, "a.b", "bad"), "f.yaml: a.b: bad");
  EXPECT_EQ(formatConfigError("f.yaml", {1, 1}, "", "bad"), "f.yaml:1:1: bad");
}

TEST_F(YamlToProtoTest, LoadsAFile) {
  const std::string path = ::testing::TempDir() + "/yaml_to_proto_test_load.yaml";
  {
    std::ofstream out(path);
    out << "text: from file\ncolor: RED\nbogus: 1\n";
  }
  auto m = make();
  common::Status s = loadYamlFile(path, m.get(), nullptr);
  EXPECT_EQ(s.message().rfind(path + ":3:1: bogus: unknown field", 0), 0u) << s.message();
  {
    std::ofstream out(path);
    out << "text: from file\n";
  }
  ASSERT_TRUE(loadYamlFile(path, m.get(), nullptr).isOk());
  expectEqual(*m, *expected(R"(text: "from file")"));
  std::remove(path.c_str());
}

TEST_F(YamlToProtoTest, MissingFileIsNotFound) {
  auto m = make();
  common::Status s = loadYamlFile("/nonexistent/remora.yaml", m.get(), nullptr);
  EXPECT_EQ(s.code(), common::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "/nonexistent/remora.yaml: cannot open: No such file or directory");
}

TEST_F(YamlToProtoTest, DirectoryIsAnError) {
  auto m = make();
  common::Status s = loadYamlFile(::testing::TempDir(), m.get(), nullptr);
  EXPECT_EQ(s.code(), common::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace remora::xds
