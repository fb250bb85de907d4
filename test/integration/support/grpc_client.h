#pragma once
// The grpcio test client (test/grpc/echo_client.py, Debian's python3-grpcio) run from tests:
// one scenario against remora-echo --grpc or a proxy in front of it, one JSON line out.

#include <string>
#include <vector>

#include "process.h"
#include "sockets.h"

namespace remora::test {

// The client's path, for tests that run it themselves.
std::string grpcClientScript();

// Empty when /usr/bin/python3 can import grpc and google.protobuf; else why not (tests skip).
std::string grpcClientMissing(const TempDir& dir);

// Runs `scenario` (unary, server-stream, client-stream, bidi, metadata, deadline, cancel,
// error, unimplemented, unavailable, too-large, concurrent, slow-reader) against `target`
// ("IP:PORT") with `extra` flags (--metadata N=V, --expect-code CODE, --timeout S,
// --authority HOST:PORT).
RunResult runGrpcScenario(const TempDir& dir, const std::string& target,
                          const std::string& scenario, const std::vector<std::string>& extra = {});

}  // namespace remora::test
