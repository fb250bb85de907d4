#pragma once
// Test support beyond process.h: deadline loops, raw socket helpers, running a binary to its
// exit. Every wait here is bounded.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "process.h"

namespace remora::test {

// Polls `pred` every `step` until it returns true or `timeout` passes. Returns the last result.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(10));

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, closed).
uint16_t pickFreePort();

// Milliseconds since `t` (steady clock).
long long msSince(std::chrono::steady_clock::time_point t);

// Writes all of `data` to a connected socket (non-blocking or blocking) within `timeout`.
// For writer threads that feed a connection another thread reads from. False on error/deadline.
bool sendAllFd(int fd, std::string_view data, std::chrono::milliseconds timeout);

// True when a TCP connect to "IP:PORT" is refused within `timeout`; false when it connects
// (the probe connection is closed at once) or the deadline passes.
bool connectRefused(const std::string& address,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

// `n` deterministic pseudo-random bytes (every byte value occurs, including 0 and CR/LF).
std::string randomBytes(size_t n, uint32_t seed);

// The port of "IP:PORT".
uint16_t portOf(const std::string& address);

// A binary run to its exit.
struct RunResult {
  int exit_code = -1;  // -1: still running at the deadline (it was killed)
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};
RunResult runToExit(const TempDir& dir, const std::string& name,
                    const std::vector<std::string>& argv,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Lines of `text` (without the newline); the last line is kept when not newline-terminated.
std::vector<std::string> splitLines(const std::string& text);

}  // namespace remora::test
