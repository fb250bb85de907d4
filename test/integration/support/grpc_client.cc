#include "grpc_client.h"

#include <chrono>

namespace remora::test {

namespace {

constexpr const char* kPython = "/usr/bin/python3";

}  // namespace

std::string grpcClientScript() {
  return std::string(REMORA_SOURCE_DIR) + "/test/grpc/echo_client.py";
}

std::string grpcClientMissing(const TempDir& dir) {
  RunResult probe = runToExit(dir, "grpc-probe", {kPython, "-c", "import grpc, google.protobuf"},
                              std::chrono::seconds(20));
  if (probe.exit_code == 0) {
    return "";
  }
  return std::string(kPython) +
         " cannot import grpc and google.protobuf (install python3-grpcio and python3-protobuf: "
         "scripts/setup.sh): " +
         probe.err;
}

RunResult runGrpcScenario(const TempDir& dir, const std::string& target,
                          const std::string& scenario, const std::vector<std::string>& extra) {
  static int runs = 0;
  std::vector<std::string> argv = {kPython, grpcClientScript(), target, scenario};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return runToExit(dir, "grpc-client" + std::to_string(++runs), argv, std::chrono::seconds(60));
}

}  // namespace remora::test
