// The real remoractl binary's `install`: stdout is `cat k8s/crds/trafficpolicy.yaml
// k8s/install/*.yaml` read from the tree now (so a stale build is caught too), nothing on
// stderr; a bad option is exit 2 with one line and nothing on stdout.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

namespace fs = std::filesystem;

RunResult remoractl(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), REMORA_REMORACTL_BIN);
  return runToExit(dir, "remoractl", args);
}

TEST(RemoractlInstallBinary, PrintsTheTrafficPolicyCrdAndTheInstallFilesAsTheyAreInTheTree) {
  const fs::path root(REMORA_SOURCE_DIR);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(root / "k8s/install")) {
    if (e.path().extension() == ".yaml") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 7u);
  std::string expected = readFile((root / "k8s/crds/trafficpolicy.yaml").string());
  for (const fs::path& f : files) {
    expected += readFile(f.string());
  }
  TempDir dir;
  RunResult r = remoractl(dir, {"install"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(r.out == expected) << "remoractl install differs from the files (" << r.out.size()
                                 << " bytes printed, " << expected.size()
                                 << " in the files): rebuild remoractl";
}

TEST(RemoractlInstallBinary, BadOptionIsExit2WithOneLineAndNoYaml) {
  TempDir dir;
  RunResult r = remoractl(dir, {"install", "--replicas", "zero"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "remoractl: install: --replicas wants a whole number from 1 to 100, got 'zero' (see "
            "remoractl --help)\n");
}

}  // namespace
}  // namespace remora::test
