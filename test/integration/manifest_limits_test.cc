// Issue 9 B.10-B.12 against the real remora-control (and real sidecars where the effect is on
// them): alias bombs and large manifest sets, poisoned (non UTF-8) objects, and logs that stay
// bounded however many problems there are.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "common/http_client.h"
#include "support/mesh.h"
#include "support/yaml_bombs.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The control plane's RSS ceiling with a refused bomb. Unbounded expansion reached 1.19 GB (3 KB
// bomb) and 7.6 GB (8 KB bomb); a bounded refusal stays near 8 MiB in a normal build. Under
// AddressSanitizer, shadow memory and the quarantine of freed blocks (256 MiB by default) add
// ~100 MiB to the same work, so the ceiling there is higher and still far below the expansion.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssCeilingKb = 512 * 1024;
#else
constexpr long kRssCeilingKb = 100 * 1024;
#endif

// Polls `cond` every 20 ms until it holds or `timeout` passes.
template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (cond()) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

int statusVia(common::HttpClient& c, const std::string& host) {
  auto r = c.get("/", {{"host", host}});
  if (!r.isOk()) {
    c.close();
    return 0;
  }
  return r.value().status;
}

size_t countLines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    if (text.substr(start, end - start).find(needle) != std::string::npos) {
      ++n;
    }
    start = end + 1;
  }
  return n;
}

// The control plane's push count (/v1/status "pushes", a uint64: a JSON string).
long long pushesOf(const ControlPlane& cp) {
  const std::string status = cp.get("/v1/status");
  const long long n = jsonInt(status, "pushes");
  if (n >= 0) {
    return n;
  }
  const std::string text = jsonStrings(status)["pushes"];
  return text.empty() ? 0 : std::stoll(text);
}

class ManifestLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifests_ = dir_.path() + "/manifests";
    ASSERT_EQ(std::system(("mkdir -p " + manifests_).c_str()), 0);
  }
  std::string manifest(const std::string& name) const { return manifests_ + "/" + name; }

  // Service shop/catalog on a remora-echo, the control plane, one sidecar reaching catalog.
  void startMeshWithCatalog() {
    catalog_ = Echo::start(dir_, "catalog-1");
    ASSERT_FALSE(catalog_.address.empty());
    ASSERT_TRUE(
        writeAtomically(manifest("catalog.yaml"),
                        shopService("catalog") + shopSlice("c", "catalog", catalog_.address)));
    cp_ = ControlPlane::start(dir_, "control", manifests_);
    ASSERT_FALSE(cp_.xds.empty()) << readFile(cp_.stderr_file);
    sidecar_ = meshSidecar(dir_, cp_.xds, "frontend-1", "frontend", "shop");
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
    client_ = common::HttpClient(sidecar_.listeners.at("outbound"));
    ASSERT_EQ(statusVia(client_, "catalog.shop:8080"), 200);
  }

  TempDir dir_;
  std::string manifests_;
  Echo catalog_;
  ControlPlane cp_;
  Sidecar sidecar_;
  common::HttpClient client_;
};

// B.10: the 3 KB and 8 KB bombs of issue 9 (1,000,000 and 19,683,000 header matches once
// expanded) present at start: the control plane starts, refuses the file with its line, keeps
// a small RSS, and serves the rest.
TEST_F(ManifestLimitsTest, AliasBombPresentAtStartIsRefusedWithFileAndLineAndRssStaysSmall) {
  for (int fanout : {100, 270}) {
    SCOPED_TRACE("fanout " + std::to_string(fanout));
    TempDir dir;
    const std::string m = dir.path() + "/m";
    ASSERT_EQ(std::system(("mkdir -p " + m).c_str()), 0);
    ASSERT_TRUE(writeAtomically(
        m + "/catalog.yaml", shopService("catalog") + shopSlice("c", "catalog", "10.0.0.1:8080")));
    ASSERT_TRUE(writeAtomically(m + "/bomb.yaml", aliasBombRoute(fanout)));
    const auto t0 = Clock::now();
    ControlPlane cp = ControlPlane::start(dir, "control", m);
    ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file).substr(0, 2000);
    const auto took = Clock::now() - t0;
    EXPECT_LT(took, 5s);
    std::string status = cp.get("/v1/status");
    EXPECT_NE(status.find(m + "/bomb.yaml:"), std::string::npos) << status.substr(0, 2000);
    EXPECT_NE(status.find("YAML aliases expand to more than 100000 nodes"), std::string::npos)
        << status.substr(0, 2000);
    EXPECT_NE(cp.get("/v1/services").find("\"name\":\"catalog\""), std::string::npos);
    EXPECT_TRUE(cp.process.running());
    const long rss_kb = cp.process.rssKb();
    RecordProperty("rss_kb_fanout_" + std::to_string(fanout), std::to_string(rss_kb));
    RecordProperty(
        "start_ms_fanout_" + std::to_string(fanout),
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
    EXPECT_GT(rss_kb, 0);
    EXPECT_LT(rss_kb, kRssCeilingKb) << "RSS " << rss_kb << " KiB";
    EXPECT_EQ(cp.get("/healthz"), "ok\n");
  }
}

// B.10: a bomb added while the mesh runs is refused; the config in force keeps serving.
TEST_F(ManifestLimitsTest, AliasBombAddedLaterLeavesTheConfigInForce) {
  ASSERT_NO_FATAL_FAILURE(startMeshWithCatalog());
  ControlPlane& cp = cp_;
  common::HttpClient& c = client_;

  ASSERT_TRUE(writeAtomically(manifest("bomb.yaml"), aliasBombRoute(270)));
  ASSERT_TRUE(eventually([&] {
    return cp.get("/v1/status").find("bomb.yaml:") != std::string::npos;
  })) << cp.get("/v1/status");
  EXPECT_TRUE(cp.process.running());
  EXPECT_LT(cp.process.rssKb(), kRssCeilingKb);
  EXPECT_EQ(statusVia(c, "catalog.shop:8080"), 200);
  EXPECT_EQ(cp.get("/healthz"), "ok\n");
}

// B.10: a large manifest set loads off the API's thread: /healthz answers within 200 ms all
// along, and a file over the size limit is refused unread.
TEST_F(ManifestLimitsTest, ApiAnswersQuicklyWhileALargeSetLoads) {
  ASSERT_TRUE(writeAtomically(manifest("catalog.yaml"), shopService("catalog")));
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);

  // 4 files of ~3.9 MB (a Service with a big annotation each) plus one 50 MB file, made
  // elsewhere and moved in with one rename so that they load as one set.
  const std::string staged = dir_.path() + "/big";
  ASSERT_EQ(std::system(("mkdir -p " + staged).c_str()), 0);
  const std::string filler(3900 * 1000, 'x');
  for (int i = 0; i < 4; ++i) {
    std::ofstream(staged + "/big-" + std::to_string(i) + ".yaml")
        << "apiVersion: v1\nkind: Service\nmetadata:\n  name: big-" << i
        << "\n  namespace: shop\n  annotations:\n    filler: " << filler
        << "\nspec:\n  ports: [{port: 80}]\n";
  }
  {
    std::ofstream huge(staged + "/huge.yaml");
    huge << "apiVersion: v1\nkind: Service\nmetadata: {name: huge, namespace: shop}\n"
            "spec:\n  ports: [{port: 80}]\n  x: ";
    for (int i = 0; i < 13; ++i) {
      huge << filler;
    }
    huge << "\n";
  }
  ASSERT_EQ(std::rename(staged.c_str(), (manifests_ + "/big").c_str()), 0);

  // Probe until the set is in (the huge file refused, so the status shows that error).
  auto worst = 0ms;
  int probes = 0;
  bool loaded = false;
  const auto deadline = Clock::now() + 60s;
  common::HttpClient api(cp.http, 10s);
  while (!loaded && Clock::now() < deadline) {
    const auto t0 = Clock::now();
    auto r = api.get("/healthz");
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    ASSERT_TRUE(r.isOk());
    worst = std::max(worst, took);
    ++probes;
    auto s = api.get("/v1/status");
    ASSERT_TRUE(s.isOk());
    loaded = s.value().body.find("huge.yaml: ") != std::string::npos;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(loaded) << cp.get("/v1/status").substr(0, 2000);
  RecordProperty("worst_healthz_ms", std::to_string(worst.count()));
  RecordProperty("probes", std::to_string(probes));
  EXPECT_LT(worst, 200ms) << probes << " probes";
  std::string status = cp.get("/v1/status");
  EXPECT_NE(status.find("bytes is over the limit of 4194304 bytes per manifest file"),
            std::string::npos)
      << status.substr(0, 2000);
  // The big files are in force; huge.yaml is not.
  EXPECT_NE(cp.get("/v1/services").find("\"name\":\"big-3\""), std::string::npos);
  EXPECT_EQ(cp.get("/v1/services").find("\"name\":\"huge\""), std::string::npos);
  EXPECT_TRUE(cp.process.running());
}

// B.11: bytes that are not UTF-8 in a header value and in a fallback body are reported with
// file:line:field, and a Service added at the same time still reaches a real sidecar.
TEST_F(ManifestLimitsTest, InvalidUtf8IsReportedAndANewServiceStillReachesTheSidecar) {
  ASSERT_NO_FATAL_FAILURE(startMeshWithCatalog());
  ControlPlane& cp = cp_;
  common::HttpClient& c = client_;
  Echo orders = Echo::start(dir_, "orders-1");
  ASSERT_FALSE(orders.address.empty());

  ASSERT_TRUE(
      writeAtomically(manifest("poison.yaml"),
                      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                      "metadata: {name: poison, namespace: shop}\nspec:\n"
                      "  parentRefs: [{group: \"\", kind: Service, name: catalog, port: 8080}]\n  "
                      "rules:\n  - filters:\n"
                      "    - type: RequestHeaderModifier\n      requestHeaderModifier:\n"
                      "        set: [{name: x-a, value: \"bad\xff\"}]\n"
                      "---\napiVersion: policy.remora.dev/v1alpha1\nkind: TrafficPolicy\n"
                      "metadata: {name: p, namespace: shop}\nspec:\n"
                      "  targetRefs: [{group: \"\", kind: Service, name: catalog}]\n"
                      "  fallback: {status: 200, body: \"sorry \xc3\"}\n"));
  ASSERT_TRUE(writeAtomically(manifest("orders.yaml"),
                              shopService("orders") + shopSlice("o", "orders", orders.address)));

  ASSERT_TRUE(eventually([&] { return statusVia(c, "orders.shop:8080") == 200; }))
      << cp.get("/v1/status").substr(0, 2000) << "\n"
      << readFile(sidecar_.stderr_file).substr(0, 2000);
  std::string status = cp.get("/v1/status");
  const std::string file = manifest("poison.yaml");
  EXPECT_NE(status.find(file + ":10:"), std::string::npos) << status;
  EXPECT_NE(status.find("spec.rules[0].filters[0].requestHeaderModifier.set[0].value: not valid "
                        "UTF-8"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find(file + ":17:"), std::string::npos) << status;
  EXPECT_NE(status.find("spec.fallback.body: not valid UTF-8"), std::string::npos) << status;
  // Nothing was NACKed, catalog still answers.
  std::string proxies = cp.get("/v1/proxies");
  EXPECT_EQ(proxies.find("NACKED"), std::string::npos) << proxies;
  EXPECT_EQ(statusVia(c, "catalog.shop:8080"), 200);
}

// B.11: a resource set over the 16 MiB frame limit is a problem in /v1/status and the metrics,
// not only a log line.
TEST_F(ManifestLimitsTest, ResourceSetOverTheFrameLimitIsReportedInStatusAndMetrics) {
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  // Five Services whose policies carry a 3.5 MB fallback body each: 17.5 MB of clusters, moved
  // in at once.
  const std::string staged = dir_.path() + "/big";
  ASSERT_EQ(std::system(("mkdir -p " + staged).c_str()), 0);
  const std::string body(3500 * 1000, 'b');
  for (int i = 0; i < 5; ++i) {
    const std::string name = "s" + std::to_string(i);
    std::ofstream(staged + "/" + name + ".yaml")
        << shopService(name)
        << "---\napiVersion: policy.remora.dev/v1alpha1\nkind: TrafficPolicy\n"
           "metadata: {name: "
        << name
        << ", namespace: shop}\nspec:\n  targetRefs: [{group: \"\", kind: Service, name: " << name
        << "}]\n  fallback: {status: 200, body: " << body << "}\n";
  }
  ASSERT_EQ(std::rename(staged.c_str(), (manifests_ + "/big").c_str()), 0);
  ASSERT_TRUE(eventually(
      [&] { return cp.get("/v1/status").find("over the xDS frame limit") != std::string::npos; },
      60s))
      << cp.get("/v1/status").substr(0, 2000);
  std::string status = cp.get("/v1/status");
  EXPECT_NE(status.find("clusters: 5 resources, "), std::string::npos) << status.substr(0, 2000);
  EXPECT_NE(status.find("over the xDS frame limit of 16777216 bytes, not sent"), std::string::npos)
      << status.substr(0, 2000);
  std::string metrics = cp.get("/metrics");
  EXPECT_NE(metrics.find("remora_control_unsent_resource_sets 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("remora_control_config_errors 1\n"), std::string::npos) << metrics;
}

// B.12: 1,000 registrations for a Service that does not exist, over 5 pushes: the log says so
// in a bounded number of lines (it used to repeat every error on every push), /v1/status lists
// them all.
TEST_F(ManifestLimitsTest, ManyRegistrationsForAnAbsentServiceLogABoundedNumberOfLines) {
  ASSERT_TRUE(writeAtomically(manifest("catalog.yaml"), shopService("catalog")));
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  common::HttpClient api(cp.http);
  int registered = 0;
  for (int push = 0; push < 5; ++push) {
    const long long before = pushesOf(cp);
    for (int i = 0; i < 200; ++i, ++registered) {
      const std::string body = "{\"service\":\"gone\",\"namespace\":\"shop\",\"address\":\"10.9." +
                               std::to_string(registered / 250) + "." +
                               std::to_string(registered % 250 + 1) + "\",\"port\":8080}";
      auto r = api.post("/v1/registry/register", body, {{"content-type", "application/json"}});
      ASSERT_TRUE(r.isOk());
      ASSERT_EQ(r.value().status, 200) << r.value().body;
    }
    ASSERT_TRUE(eventually([&] { return pushesOf(cp) > before; }));
  }
  ASSERT_TRUE(eventually([&] {
    return cp.get("/v1/status").find("10.9.3.250:8080 of shop/gone") != std::string::npos;
  }));
  const std::string log = readFile(cp.stderr_file);
  const size_t lines = countLines(log, "no such Service");
  RecordProperty("log_lines", std::to_string(lines));
  EXPECT_GT(lines, 0u);
  EXPECT_LT(lines, 20u) << log.substr(0, 3000);
  const std::string status = cp.get("/v1/status");
  EXPECT_NE(status.find("10.9.0.1:8080 of shop/gone: no such Service"), std::string::npos);
  EXPECT_NE(cp.get("/metrics").find("remora_control_config_errors 1000\n"), std::string::npos);
}

}  // namespace
}  // namespace remora::test
