// remoractl install: the embedded k8s/ files printed unchanged by default, and each option
// substituted everywhere it belongs (checked on the parsed YAML), or refused with a clear line.

#include "control/cli/install_command.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace remora::control::cli {
namespace {

namespace fs = std::filesystem;

#ifndef REMORA_SOURCE_DIR
#error "REMORA_SOURCE_DIR must point at the repository root"
#endif

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `cat DIR/*.yaml`, sorted by name, skipping `skip`.
std::string catYaml(const std::string& dir, const std::string& skip = "") {
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(fs::path(REMORA_SOURCE_DIR) / dir)) {
    if (e.path().extension() == ".yaml" && e.path().filename() != skip) {
      paths.push_back(e.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::string out;
  for (const fs::path& p : paths) {
    out += readFile(p);
  }
  return out;
}

std::string render(const std::vector<std::string>& args) {
  auto options = parseInstallArgs(args);
  EXPECT_TRUE(options.isOk()) << options.status().message();
  if (!options.isOk()) {
    return "";
  }
  auto text = renderInstall(embeddedInstallFiles(), options.value());
  EXPECT_TRUE(text.isOk()) << text.status().message();
  return text.isOk() ? text.value() : "";
}

std::vector<YAML::Node> documents(const std::string& yaml) {
  std::vector<YAML::Node> docs;
  for (const YAML::Node& d : YAML::LoadAll(yaml)) {
    if (d.IsMap()) {
      docs.push_back(d);
    }
  }
  return docs;
}

std::vector<std::string> kinds(const std::vector<YAML::Node>& docs) {
  std::vector<std::string> out;
  for (const YAML::Node& d : docs) {
    out.push_back(d["kind"].as<std::string>());
  }
  return out;
}

const YAML::Node* find(const std::vector<YAML::Node>& docs, const std::string& kind) {
  for (const YAML::Node& d : docs) {
    if (d["kind"].as<std::string>() == kind) {
      return &d;
    }
  }
  return nullptr;
}

std::string parseError(const std::vector<std::string>& args) {
  auto options = parseInstallArgs(args);
  return options.isOk() ? "" : options.status().message();
}

TEST(RemoractlInstall, DefaultsPrintTheTrafficPolicyCrdThenEveryInstallFileByteForByte) {
  const std::string expected =
      readFile(fs::path(REMORA_SOURCE_DIR) / "k8s/crds/trafficpolicy.yaml") +
      catYaml("k8s/install");
  EXPECT_EQ(render({}), expected);
}

TEST(RemoractlInstall, EmbeddedFilesAreEveryCrdAndInstallFileOfTheTree) {
  std::vector<std::string> embedded;
  for (const InstallFile& f : embeddedInstallFiles()) {
    embedded.emplace_back(f.path);
    EXPECT_EQ(std::string(f.text), readFile(fs::path(REMORA_SOURCE_DIR) / f.path)) << f.path;
    EXPECT_EQ(f.text.substr(0, 4), "---\n") << f.path << " must start a document";
  }
  std::vector<std::string> on_disk;
  for (const std::string dir : {"k8s/crds", "k8s/install"}) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(fs::path(REMORA_SOURCE_DIR) / dir)) {
      if (e.path().extension() == ".yaml") {
        names.push_back(dir + "/" + e.path().filename().string());
      }
    }
    std::sort(names.begin(), names.end());
    on_disk.insert(on_disk.end(), names.begin(), names.end());
  }
  EXPECT_EQ(embedded, on_disk);
}

TEST(RemoractlInstall, PrintsCrdsFirstThenNamespaceBeforeEveryNamespacedObject) {
  const std::vector<YAML::Node> docs = documents(render({"--gateway-api-stand-in"}));
  EXPECT_EQ(kinds(docs),
            (std::vector<std::string>{
                "CustomResourceDefinition", "CustomResourceDefinition", "Namespace",
                "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                "Deployment", "PodDisruptionBudget", "Service", "MutatingWebhookConfiguration"}));
  EXPECT_EQ(docs[0]["metadata"]["name"].as<std::string>(), "httproutes.gateway.networking.k8s.io");
  EXPECT_EQ(docs[1]["metadata"]["name"].as<std::string>(), "trafficpolicies.policy.remora.dev");
}

TEST(RemoractlInstall, LeavesTheHttpRouteStandInOutUnlessAsked) {
  const std::string out = render({});
  EXPECT_EQ(out.find("httproutes.gateway.networking.k8s.io"), std::string::npos);
  EXPECT_EQ(kinds(documents(out)).front(), "CustomResourceDefinition");
}

TEST(RemoractlInstall, NamespaceReachesEveryObjectSubjectAndTheWebhookService) {
  const std::string out = render({"--namespace", "mesh-control"});
  EXPECT_EQ(out.find("remora-system"), std::string::npos);
  const std::vector<YAML::Node> docs = documents(out);
  int namespaced = 0;
  for (const YAML::Node& d : docs) {
    const std::string kind = d["kind"].as<std::string>();
    const bool cluster_scoped = kind == "CustomResourceDefinition" || kind == "Namespace" ||
                                kind == "ClusterRole" || kind == "ClusterRoleBinding" ||
                                kind == "MutatingWebhookConfiguration";
    if (cluster_scoped) {
      EXPECT_FALSE(d["metadata"]["namespace"]) << kind;
    } else {
      EXPECT_EQ(d["metadata"]["namespace"].as<std::string>(), "mesh-control") << kind;
      ++namespaced;
    }
    if (d["subjects"]) {
      for (const YAML::Node& s : d["subjects"]) {
        EXPECT_EQ(s["namespace"].as<std::string>(), "mesh-control") << kind;
      }
    }
  }
  EXPECT_EQ(namespaced, 6);  // ServiceAccount, Role, RoleBinding, Deployment, PDB, Service
  EXPECT_EQ((*find(docs, "Namespace"))["metadata"]["name"].as<std::string>(), "mesh-control");
  const YAML::Node& webhook = *find(docs, "MutatingWebhookConfiguration");
  EXPECT_EQ(webhook["webhooks"][0]["clientConfig"]["service"]["namespace"].as<std::string>(),
            "mesh-control");
  EXPECT_EQ(webhook["webhooks"][0]["clientConfig"]["service"]["name"].as<std::string>(),
            "remora-control");
}

TEST(RemoractlInstall, ReplicasAndImageChangeOnlyTheDeployment) {
  const std::string defaults = render({});
  const std::string out =
      render({"--replicas=3", "--image", "registry.example.com/rc@sha256:ab12"});
  const std::vector<YAML::Node> docs = documents(out);
  const YAML::Node& deployment = *find(docs, "Deployment");
  EXPECT_EQ(deployment["spec"]["replicas"].as<int>(), 3);
  EXPECT_EQ(deployment["spec"]["template"]["spec"]["containers"][0]["image"].as<std::string>(),
            "registry.example.com/rc@sha256:ab12");
  EXPECT_NE(find(docs, "PodDisruptionBudget"), nullptr);
  // Nothing else moved: the two texts differ by those two lines only.
  std::istringstream a(defaults);
  std::istringstream b(out);
  std::string la;
  std::string lb;
  int differing = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    differing += la != lb ? 1 : 0;
  }
  EXPECT_EQ(differing, 2);
  EXPECT_EQ(std::count(defaults.begin(), defaults.end(), '\n'),
            std::count(out.begin(), out.end(), '\n'));
}

TEST(RemoractlInstall, OneReplicaDropsTheDisruptionBudgetThatWouldBlockDrains) {
  const std::vector<YAML::Node> docs = documents(render({"--replicas", "1"}));
  EXPECT_EQ(find(docs, "PodDisruptionBudget"), nullptr);
  EXPECT_EQ((*find(docs, "Deployment"))["spec"]["replicas"].as<int>(), 1);
}

TEST(RemoractlInstall, RefusesBadValuesWithOneLineNamingTheFlag) {
  EXPECT_EQ(parseError({"--namespace", "Remora"}).rfind("install: --namespace wants", 0), 0u);
  EXPECT_NE(parseError({"--namespace", "a.b"}), "");
  EXPECT_NE(parseError({"--namespace", std::string(64, 'a')}), "");
  for (const char* bad : {"0", "-1", "101", "2x", "", "1.5"}) {
    EXPECT_EQ(parseError({"--replicas", bad}).rfind("install: --replicas wants", 0), 0u) << bad;
  }
  for (const char* bad : {"", "a b", "img\"", "-x", "img\n", "image:tag'"}) {
    EXPECT_EQ(parseError({"--image", bad}).rfind("install: --image wants", 0), 0u) << bad;
  }
  EXPECT_EQ(parseError({"--replica", "2"}), "install: unknown flag --replica");
  EXPECT_EQ(parseError({"--namespace"}), "install: --namespace needs a value");
  EXPECT_EQ(parseError({"extra"}), "install takes no arguments, got 'extra'");
  EXPECT_EQ(parseError({"--", "--gateway-api-stand-in"}),
            "install takes no arguments, got '--gateway-api-stand-in'");
}

TEST(RemoractlInstall, FilesWithoutTheValuesAnOptionNamesAreAnErrorNotAHalfSubstitution) {
  const std::vector<InstallFile> files = {
      {"k8s/install/a.yaml", "---\nkind: Deployment\nspec:\n  replicas: 2\n"},
      {"k8s/install/b.yaml", "---\nkind: Deployment\nspec:\n  replicas: 2\n"}};
  InstallOptions o;
  o.replicas = 3;
  auto twice = renderInstall(files, o);
  ASSERT_FALSE(twice.isOk());
  EXPECT_EQ(twice.status().message(),
            "the embedded installation has 2 'replicas: ' lines, expected exactly 1");
  InstallOptions image;
  image.image = "x:1";
  EXPECT_FALSE(renderInstall(files, image).isOk());
  InstallOptions ns;
  ns.ns = "other";
  EXPECT_FALSE(renderInstall(files, ns).isOk());
}

TEST(RemoractlInstall, NamespaceReplacesOnlyTheWholeName) {
  const std::vector<InstallFile> files = {
      {"k8s/install/a.yaml",
       "---\nmetadata: {namespace: remora-system}\n# remora-system-old stays, "
       "remora-control.remora-system.svc moves, xremora-system stays\n"}};
  InstallOptions o;
  o.ns = "mesh";
  auto out = renderInstall(files, o);
  ASSERT_TRUE(out.isOk());
  EXPECT_EQ(out.value(),
            "---\nmetadata: {namespace: mesh}\n# remora-system-old stays, "
            "remora-control.mesh.svc moves, xremora-system stays\n");
}

TEST(RemoractlInstall, DefaultImageTagIsThisVersion) {
  const std::vector<YAML::Node> docs = documents(render({}));
  const YAML::Node& deployment = *find(docs, "Deployment");
  const std::string image =
      deployment["spec"]["template"]["spec"]["containers"][0]["image"].as<std::string>();
  EXPECT_EQ(image, std::string("remora-control:") + REMORA_VERSION);
}

TEST(RemoractlInstall, RunInstallWritesTheYamlOrAUsageLine) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(runInstall({"--replicas", "0"}, out, err), 2);
  EXPECT_EQ(std::ftell(out), 0);
  EXPECT_GT(std::ftell(err), 0);
  EXPECT_EQ(runInstall({}, out, err), 0);
  EXPECT_EQ(static_cast<size_t>(std::ftell(out)), render({}).size());
  std::fclose(out);
  std::fclose(err);
}

}  // namespace
}  // namespace remora::control::cli
