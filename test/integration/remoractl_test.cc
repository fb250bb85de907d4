// remoractl as users run it: `check` on good and bad manifest directories, usage errors, the
// commands still to come. Exit codes: 0 good, 1 problems found, 2 usage / missing input.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

#ifndef REMORA_REMORACTL_BIN
#error "REMORA_REMORACTL_BIN must name the remoractl binary"
#endif

class RemoractlTest : public ::testing::Test {
 protected:
  // Runs remoractl with `args`; its output files go to a scratch directory of their own.
  RunResult run(std::vector<std::string> args) {
    args.insert(args.begin(), REMORA_REMORACTL_BIN);
    return runToExit(out_dir_, "remoractl" + std::to_string(++runs_), args);
  }

  TempDir out_dir_;
  int runs_ = 0;
};

TEST_F(RemoractlTest, CheckAcceptsTheExampleShop) {
  RunResult r = run({"check", std::string(REMORA_SOURCE_DIR) + "/k8s/examples/shop"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ok: 17 objects in 4 files (services 5, endpoint slices 9, routes 1, "
            "policies 2)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(RemoractlTest, CheckPrintsEveryProblemWithItsFileAndLineAndExits1) {
  TempDir manifests;
  manifests.write("a-service.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: catalog, namespace: shop, uid: ignored}
spec:
  ports: [{name: http, port: 8080, nodePort: 30000}]
status: {}
)");
  manifests.write("b-policy.yaml", R"(# a route and a policy
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: canary, namespace: shop}
spec:
  parentRefs: [{kind: Service, name: catalog}]
  rules:
  - backendRefs: [{name: catalog, port: 8080, weight: -1}]
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: catalog, namespace: shop}
spec:
  targetRefs: [{kind: Service, name: catalog}]
  loadBalancer: {type: FASTEST}
  circuitBreaker: {}
)");
  manifests.write("c-deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n");
  RunResult r = run({"check", manifests.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  const std::string d = manifests.path() + "/";
  EXPECT_EQ(splitLines(r.err),
            (std::vector<std::string>{
                d + "b-policy.yaml:8:55: spec.rules[0].backendRefs[0].weight: weight -1 is out "
                    "of range (0..1000000)",
                d + "b-policy.yaml:15:24: spec.loadBalancer.type: unknown load balancer type "
                    "\"FASTEST\" (valid: ROUND_ROBIN, WEIGHTED_ROUND_ROBIN, RANDOM, "
                    "LEAST_REQUEST, RING_HASH, MAGLEV, PEAK_EWMA)",
                d + "b-policy.yaml:16:3: spec.circuitBreaker: unknown field (TrafficPolicySpec "
                    "has: targetRefs, loadBalancer, connectionPool, outlierDetection, "
                    "healthCheck, retry, timeout, rateLimit, faultInjection, fallback)",
                d + "c-deploy.yaml:2:7: kind: unknown kind \"Deployment\" (apiVersion apps/v1); "
                    "remora reads v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Endpoints, "
                    "gateway.networking.k8s.io/v1 HTTPRoute, policy.remora.dev/v1alpha1 "
                    "TrafficPolicy, v1 List",
            }));
}

TEST_F(RemoractlTest, CheckTakesASingleFileToo) {
  TempDir manifests;
  const std::string file = manifests.write(
      "svc.yaml",
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 1}]}\n");
  RunResult r = run({"check", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ok: 1 objects in 1 files (services 1, endpoint slices 0, routes 0, "
            "policies 0)\n");
}

TEST_F(RemoractlTest, CheckOnAMissingDirectoryExits2WithOneLine) {
  RunResult r = run({"check", "/nonexistent/manifests"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "remoractl: check: /nonexistent/manifests: no such file or directory\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(RemoractlTest, BadUsageExits2WithOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "remoractl: no command given (see remoractl --help)\n"},
      {{"frobnicate"}, "remoractl: unknown command 'frobnicate' (see remoractl --help)\n"},
      {{"--frob", "check", "."}, "remoractl: unknown flag --frob (see remoractl --help)\n"},
      {{"check"},
       "remoractl: check needs a directory: remoractl check DIR (see remoractl "
       "--help)\n"},
      {{"check", "a", "b"},
       "remoractl: check takes one directory, got 2 arguments (see "
       "remoractl --help)\n"},
      {{"check", "--strict", "."},
       "remoractl: check: unknown flag --strict (see remoractl "
       "--help)\n"},
      {{"--log-level", "loud", "check", "."},
       "remoractl: --log-level wants "
       "trace|debug|info|warn|error, got 'loud' (see "
       "remoractl --help)\n"},
      {{"--log-level"}, "remoractl: --log-level needs a value (see remoractl --help)\n"},
  };
  for (const auto& [args, message] : cases) {
    RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_EQ(r.err, message) << ::testing::PrintToString(args);
  }
}

TEST_F(RemoractlTest, HelpListsCheckAndTheCommandsToCome) {
  RunResult r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"check DIR", "inject", "status", "proxy-config", "stat",
                           "not implemented yet", "--log-level", "--version"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
  RunResult v = run({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("remoractl ", 0), 0u) << v.out;
}

TEST_F(RemoractlTest, CommandsToComeSayNotImplementedAndExit2) {
  for (const char* command : {"status", "proxy-config", "stat", "inject"}) {
    RunResult r = run({command, "-f", "-"});
    EXPECT_EQ(r.exit_code, 2) << command;
    EXPECT_EQ(r.err, std::string("remoractl: ") + command + ": not implemented yet\n");
  }
}

TEST_F(RemoractlTest, DebugLogLevelLogsToStderrAndLeavesTheSummaryAlone) {
  RunResult r =
      run({"--log-level=debug", "check", std::string(REMORA_SOURCE_DIR) + "/k8s/examples/shop"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("[debug] checking manifests under"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.rfind("ok: 15 objects", 0), 0u) << r.out;
}

}  // namespace
}  // namespace remora::test
