// remoractl proxy-config's views of canned admin API bodies (the shapes sidecar/admin.cc
// writes), the JSON indenter, and the argument helpers shared by the commands.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "control/cli/api_client.h"
#include "control/cli/args.h"
#include "control/cli/json_pretty.h"
#include "control/cli/proxy_config_render.h"

namespace remora::control::cli {
namespace {

google::protobuf::Value json(const std::string& text) {
  auto v = parseJsonValue(text, "test");
  EXPECT_TRUE(v.isOk()) << v.status().message();
  return v.isOk() ? v.value() : google::protobuf::Value();
}

TEST(RemoractlProxyConfig, ClustersShowHealthyOverTotalThenEveryEndpoint) {
  const auto clusters = json(R"({"clusters":[
    {"name":"catalog","type":"STATIC","lb_policy":"ROUND_ROBIN","circuit_breakers":{},
     "endpoints":[
       {"address":"127.0.0.1:9001","weight":1,"health":"healthy","times_ejected":0,
        "active_requests":2,"requests_total":100,"errors_total":1,"success_rate":0.990,
        "ewma_latency_ms":3.250},
       {"address":"127.0.0.1:9002","weight":3,"health":"ejected","ejected_for_ms":11200,
        "times_ejected":1,"active_requests":0,"requests_total":100,"errors_total":99,
        "success_rate":0.010,"ewma_latency_ms":null}]},
    {"name":"empty","type":"ORIGINAL_DST","lb_policy":"RANDOM","endpoints":[]}]})");
  EXPECT_EQ(renderClusters(clusters),
            "CLUSTER   TYPE           LB            ENDPOINTS   ACTIVE   REQUESTS   SUCCESS\n"
            "catalog   STATIC         ROUND_ROBIN   1/2              2        200     50.0%\n"
            "empty     ORIGINAL_DST   RANDOM        0/0              0          0         -\n"
            "\n"
            "ENDPOINT         CLUSTER   WEIGHT   HEALTH        ACTIVE   REQUESTS   SUCCESS   "
            "LATENCY\n"
            "127.0.0.1:9001   catalog        1   healthy            2        100     99.0%     "
            "3.2ms\n"
            "127.0.0.1:9002   catalog        3   ejected 12s        0        100      1.0%         "
            "-\n");
  EXPECT_EQ(renderClusters(json(R"({"clusters":[]})")), "no clusters\n");
  EXPECT_EQ(renderClusters(json("[]")), "no clusters\n");
}

TEST(RemoractlProxyConfig, ListenersTable) {
  const auto listeners = json(R"({"listeners":[
    {"name":"main","address":"127.0.0.1:8081","direction":"INBOUND","protocol":"HTTP",
     "route_config":"quick","downstream_cx_active":3},
    {"name":"tcp","address":"127.0.0.1:8082","direction":"OUTBOUND","protocol":"OPAQUE",
     "route_config":"","downstream_cx_active":0}]})");
  EXPECT_EQ(renderListeners(listeners),
            "NAME   ADDRESS          DIRECTION   PROTOCOL   ROUTE CONFIG   CONNECTIONS\n"
            "main   127.0.0.1:8081   INBOUND     HTTP       quick                    3\n"
            "tcp    127.0.0.1:8082   OUTBOUND    OPAQUE     -                        0\n");
  EXPECT_EQ(renderListeners(json("{}")), "no listeners\n");
}

TEST(RemoractlProxyConfig, RoutesFromEveryRouteConfigurationOfTheDump) {
  // A static route configuration in the bootstrap and a pushed one elsewhere in the dump.
  const auto dump = json(R"({"version_info":"3","resources":{},
    "bootstrap":{"static_resources":{"clusters":[{"name":"v1"}],"routes":[
      {"name":"main","virtual_hosts":[
        {"name":"shop","domains":["catalog","catalog.shop","catalog.shop.svc",
                                   "catalog.shop.svc.cluster.local"],
         "routes":[
           {"name":"canary","match":{"prefix":"/api/","methods":["GET","HEAD"],
              "headers":[{"name":"x-user","exact":"alice"},{"name":"x-debug","present":true,
                          "invert":true},{"name":"x-v","prefix":"2"}]},
            "route":{"weighted_clusters":[{"cluster":"v1","weight":9},
                                          {"cluster":"v2","weight":1}]}},
           {"match":{"path":"/healthz","query_params":[{"name":"deep","exact":"1"}]},
            "route":{"cluster":"v1"}},
           {"match":{"regex":"^/img/.*$"},"route":{"cluster":"v1","timeout":"2s"}},
           {"route":{"cluster":"v1"}}]},
        {"name":"idle","domains":[]}]}]}},
    "dynamic":{"routes":[{"name":"outbound","virtual_hosts":[
        {"name":"any","domains":["*"],"routes":[{"match":{"prefix":"/"},
         "route":{"cluster":"catalog.shop:8080"}}]}]},
      {"name":"main","virtual_hosts":[]}]}})");
  auto routes = renderRoutes(dump);
  ASSERT_TRUE(routes.isOk()) << routes.status().message();
  EXPECT_EQ(routes.value(),
            "ROUTE CONFIG   VIRTUAL HOST   DOMAINS                                         "
            "MATCH                                          CLUSTERS\n"
            "main           shop           catalog,catalog.shop,catalog.shop.svc +1 more   "
            "GET,HEAD /api/* x-user=alice !x-debug x-v=2*   v1 90%, v2 10%\n"
            "main           shop           catalog,catalog.shop,catalog.shop.svc +1 more   "
            "/healthz ?deep=1                               v1\n"
            "main           shop           catalog,catalog.shop,catalog.shop.svc +1 more   "
            "regex:^/img/.*$                                v1\n"
            "main           shop           catalog,catalog.shop,catalog.shop.svc +1 more   "
            "/*                                             v1\n"
            "main           idle           -                                               "
            "-                                              -\n"
            "outbound       any            *                                               "
            "/*                                             catalog.shop:8080\n");
}

TEST(RemoractlProxyConfig, RoutesWithoutAnyRouteConfigurationOrOfTheWrongShape) {
  auto none = renderRoutes(json(R"({"bootstrap":{"static_resources":{}}})"));
  ASSERT_TRUE(none.isOk());
  EXPECT_EQ(none.value(), "no route configurations\n");
  auto bad = renderRoutes(json(R"({"routes":[{"name":"r","virtual_hosts":[{"domains":7}]}]})"));
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message().rfind("bad JSON from route configuration 'r': ", 0), 0u)
      << bad.status().message();
}

TEST(RemoractlProxyConfig, PrettyJsonIndentsAndKeepsOrderAndScalars) {
  EXPECT_EQ(prettyJson(R"({"b":1.500,"a":[1, {"s":"x, {y}: \"z\""}],"e":{},"l":[ ]})"),
            "{\n"
            "  \"b\": 1.500,\n"
            "  \"a\": [\n"
            "    1,\n"
            "    {\n"
            "      \"s\": \"x, {y}: \\\"z\\\"\"\n"
            "    }\n"
            "  ],\n"
            "  \"e\": {},\n"
            "  \"l\": []\n"
            "}\n");
  EXPECT_EQ(prettyJson("true"), "true\n");
}

TEST(RemoractlArgs, FlagsTakeValuesWithSpaceOrEquals) {
  auto a = parseCommandArgs("stat", {"--window=5s", "--control", "127.0.0.1:1", "x"},
                            {"--control", "--window"});
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a.value().flags.at("--window"), "5s");
  EXPECT_EQ(a.value().flags.at("--control"), "127.0.0.1:1");
  EXPECT_EQ(a.value().positionals, std::vector<std::string>{"x"});

  auto unknown = parseCommandArgs("status", {"--frob"}, {"--control"});
  ASSERT_FALSE(unknown.isOk());
  EXPECT_EQ(unknown.status().message(), "status: unknown flag --frob");
  auto missing = parseCommandArgs("status", {"--control"}, {"--control"});
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().message(), "status: --control needs a value");
  auto dashdash = parseCommandArgs("x", {"--", "--not-a-flag", "-"}, {});
  ASSERT_TRUE(dashdash.isOk());
  EXPECT_EQ(dashdash.value().positionals, (std::vector<std::string>{"--not-a-flag", "-"}));
}

TEST(RemoractlArgs, AddressesAreIpPortWithAnOptionalScheme) {
  EXPECT_EQ(normalizeAddress("127.0.0.1:15000", "a").value(), "127.0.0.1:15000");
  EXPECT_EQ(normalizeAddress("http://127.0.0.1:15014/", "a").value(), "127.0.0.1:15014");
  EXPECT_EQ(normalizeAddress("[::1]:15000", "a").value(), "[::1]:15000");
  for (const char* bad : {"localhost:15000", "127.0.0.1", "127.0.0.1:0", "", "1.2.3.4:99999"}) {
    auto r = normalizeAddress(bad, "--control");
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().message(), std::string("--control wants IP:PORT, got '") + bad + "'");
  }
}

TEST(RemoractlArgs, ControlAddressFromFlagThenEnvironmentThenDefault) {
  ::unsetenv("REMORA_CONTROL");
  CommandArgs none;
  EXPECT_EQ(controlAddress(none).value(), "127.0.0.1:15014");
  ::setenv("REMORA_CONTROL", "127.0.0.9:9000", 1);
  EXPECT_EQ(controlAddress(none).value(), "127.0.0.9:9000");
  CommandArgs flag;
  flag.flags["--control"] = "127.0.0.2:1";
  EXPECT_EQ(controlAddress(flag).value(), "127.0.0.2:1");
  ::setenv("REMORA_CONTROL", "nope", 1);
  EXPECT_EQ(controlAddress(none).status().message(), "REMORA_CONTROL wants IP:PORT, got 'nope'");
  ::unsetenv("REMORA_CONTROL");
}

}  // namespace
}  // namespace remora::control::cli
