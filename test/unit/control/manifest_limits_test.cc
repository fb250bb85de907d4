// ManifestLoader's bounds (issue 9 B.10): alias bombs, file size, errors per file.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "control/manifest_loader.h"
#include "test/integration/support/yaml_bombs.h"

namespace remora::control {
namespace {

constexpr const char* kCatalog =
    "apiVersion: v1\nkind: Service\nmetadata: {name: catalog, namespace: shop}\n"
    "spec:\n  ports: [{name: http, port: 8080}]\n";

TEST(ManifestLimits, AliasBombRoutesAreRefusedWithFileAndLineAndTheRestLoads) {
  for (int fanout : {100, 270}) {  // 3 KB and 8 KB: 1,000,000 and 19,683,000 header matches
    ManifestLoader loader;
    loader.addText(kCatalog, "catalog.yaml");
    const std::string bomb = test::aliasBombRoute(fanout);
    EXPECT_LT(bomb.size(), fanout == 100 ? 3300u : 8500u);
    loader.addText(bomb, "bomb.yaml");
    ManifestLoad load = loader.finish();
    ASSERT_EQ(load.errors.size(), 1u) << fanout;
    EXPECT_EQ(load.errors[0].rfind("bomb.yaml:", 0), 0u) << load.errors[0];
    EXPECT_NE(load.errors[0].find("YAML aliases expand to more than 100000 nodes"),
              std::string::npos)
        << load.errors[0];
    EXPECT_EQ(load.manifests.services.size(), 1u);
    EXPECT_TRUE(load.manifests.routes.empty());
    EXPECT_EQ(load.manifests.files, 2u);
  }
}

TEST(ManifestLimits, BillionLaughsIsRefused) {
  ManifestLoader loader;
  loader.addText(test::billionLaughsService(9, 10), "lol.yaml");
  ManifestLoad load = loader.finish();
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].rfind("lol.yaml:", 0), 0u) << load.errors[0];
  EXPECT_TRUE(load.manifests.services.empty());
}

TEST(ManifestLimits, ErrorsPerFileAreCappedWithACountOfTheRest) {
  // 300 Services without a name: 300 errors, in one file.
  std::string text;
  for (int i = 0; i < 300; ++i) {
    text += "---\napiVersion: v1\nkind: Service\nmetadata: {namespace: shop}\nspec: {}\n";
  }
  ManifestLimits limits;
  limits.max_errors_per_file = 20;
  ManifestLoader loader(limits);
  loader.addText(text, "many.yaml");
  loader.addText(kCatalog, "catalog.yaml");
  ManifestLoad load = loader.finish();
  ASSERT_EQ(load.errors.size(), 21u);
  EXPECT_EQ(load.errors[0].rfind("many.yaml:4:1: metadata.name: required", 0), 0u) << load.errors[0];
  EXPECT_EQ(load.errors[20],
            "many.yaml: ... and 280 more problems in this file (the first 20 are listed)");
  EXPECT_EQ(load.manifests.services.size(), 1u);
}

TEST(ManifestLimits, FileOverTheSizeLimitIsRefusedUnread) {
  std::string templ = ::testing::TempDir() + "/limits.XXXXXX";
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  const std::string dir = templ;
  std::ofstream(dir + "/a-catalog.yaml") << kCatalog;
  {
    std::ofstream big(dir + "/b-big.yaml");
    big << "apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: shop}\n"
           "spec:\n  ports: [{port: 80}]\n  x: \"";
    big << std::string(2000, 'x') << "\"\n";
  }
  ManifestLimits limits;
  limits.max_file_bytes = 1000;
  auto load = loadManifests(dir, limits);
  ASSERT_TRUE(load.isOk());
  ASSERT_EQ(load.value().errors.size(), 1u);
  const std::string& e = load.value().errors[0];
  EXPECT_EQ(e.rfind(dir + "/b-big.yaml: ", 0), 0u) << e;
  EXPECT_NE(e.find("bytes is over the limit of 1000 bytes per manifest file "
                   "(--max-manifest-bytes); the file is not read"),
            std::string::npos)
      << e;
  EXPECT_EQ(load.value().manifests.services.size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(ManifestLimits, InvalidUtf8InAHeaderValueIsReportedWithFileLineAndField) {
  ManifestLoader loader;
  loader.addText(kCatalog, "catalog.yaml");
  loader.addText(
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
      "metadata: {name: r, namespace: shop}\nspec:\n  parentRefs: [{group: \"\", kind: Service, name: catalog}]\n"
      "  rules:\n  - filters:\n    - type: RequestHeaderModifier\n"
      "      requestHeaderModifier:\n        set: [{name: x-a, value: \"bad\xff\"}]\n",
      "route.yaml");
  ManifestLoad load = loader.finish();
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0],
            "route.yaml:10:34: spec.rules[0].filters[0].requestHeaderModifier.set[0].value: not "
            "valid UTF-8 (a text field must be: a sidecar cannot parse it)");
  EXPECT_EQ(load.manifests.services.size(), 1u);
  EXPECT_TRUE(load.manifests.routes.empty());
}

// A scratch directory for LastGoodLoader.
class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = ::testing::TempDir() + "/lastgood.XXXXXX";
    EXPECT_NE(::mkdtemp(templ.data()), nullptr);
    path_ = templ;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name) << text;
  }
  void remove(const std::string& name) const { std::filesystem::remove(path_ + "/" + name); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string serviceNamed(const std::string& name, const std::string& extra = "") {
  return "---\napiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: shop}\nspec:\n  ports: [{name: http, port: 8080}]\n" + extra;
}

std::vector<std::string> serviceNames(const MeshManifests& m) {
  std::vector<std::string> out;
  for (const auto& s : m.services) {
    out.push_back(s.object.metadata().name());
  }
  return out;
}

TEST(LastGoodLoader, ABrokenFileKeepsItsLastGoodVersionAndOtherFilesStillApply) {
  ScratchDir dir;
  dir.write("a.yaml", serviceNamed("catalog"));
  LastGoodLoader loader;
  auto first = loader.load(dir.path());
  ASSERT_TRUE(first.isOk());
  EXPECT_EQ(serviceNames(first.value().manifests), (std::vector<std::string>{"catalog"}));

  // a.yaml breaks (catalog renamed, plus a bad field) while b.yaml adds orders: catalog stays
  // as it was, orders arrives, the problem is reported.
  dir.write("a.yaml", serviceNamed("catalog2", "  bogus: [\n"));
  dir.write("b.yaml", serviceNamed("orders"));
  auto second = loader.load(dir.path());
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(serviceNames(second.value().manifests),
            (std::vector<std::string>{"catalog", "orders"}));
  ASSERT_EQ(second.value().errors.size(), 1u);
  EXPECT_EQ(second.value().files_with_errors, (std::set<std::string>{dir.path() + "/a.yaml"}));

  // A new file with a bad object and a good one: the good one is served.
  dir.write("c.yaml", serviceNamed("cart") + "---\napiVersion: v1\nkind: Service\n"
                                             "metadata: {namespace: shop}\nspec: {}\n");
  auto third = loader.load(dir.path());
  ASSERT_TRUE(third.isOk());
  EXPECT_EQ(serviceNames(third.value().manifests),
            (std::vector<std::string>{"catalog", "orders", "cart"}));
  EXPECT_EQ(third.value().errors.size(), 2u);

  // Fixed: everything current; a removed file is forgotten.
  dir.write("a.yaml", serviceNamed("catalog3"));
  dir.remove("c.yaml");
  auto fourth = loader.load(dir.path());
  ASSERT_TRUE(fourth.isOk());
  EXPECT_TRUE(fourth.value().ok());
  EXPECT_EQ(serviceNames(fourth.value().manifests),
            (std::vector<std::string>{"catalog3", "orders"}));
}

}  // namespace
}  // namespace remora::control
