#include "sidecar/wait_command.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "common/host_port.h"
#include "xds/duration.h"

namespace remora::sidecar {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: remora-sidecar wait [--health IP:PORT] [--timeout DURATION]\n"
    "  waits until GET http://IP:PORT/healthz/ready (default 127.0.0.1:15021) answers 200;\n"
    "  exit 0 ready, 1 not ready within the timeout (default 60s), 2 bad usage\n";

int usage(const std::string& message) {
  std::fprintf(stderr, "remora-sidecar: wait: %s\n%s", message.c_str(), kUsage);
  return 2;
}

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      return false;
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) {
      return true;
    }
    if (n < 0 && errno != EINTR) {
      return false;
    }
  }
}

// One GET; "" when it answered 200, else what went wrong (for the final message).
std::string probe(const common::ParsedAddress& a, Clock::time_point deadline) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (a.ipv6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a.port);
    inet_pton(AF_INET6, a.host.c_str(), &s6->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a.port);
    inet_pton(AF_INET, a.host.c_str(), &s4->sin_addr);
    len = sizeof(sockaddr_in);
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return std::string("socket: ") + std::strerror(errno);
  }
  std::string result = "no answer";
  do {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
      result = std::string("connect: ") + std::strerror(errno);
      break;
    }
    if (!waitFor(fd, POLLOUT, deadline)) {
      result = "connect: timed out";
      break;
    }
    int err = 0;
    socklen_t err_len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
    if (err != 0) {
      result = std::string("connect: ") + std::strerror(err);
      break;
    }
    const std::string request = "GET /healthz/ready HTTP/1.0\r\nHost: " + a.host + "\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      result = "send failed";
      break;
    }
    // The status line is all that matters: "HTTP/1.x 200 ...".
    std::string head;
    char buf[256];
    while (head.find("\r\n") == std::string::npos && head.size() < 1024 &&
           waitFor(fd, POLLIN, deadline)) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      head.append(buf, static_cast<size_t>(n));
    }
    const std::string line = head.substr(0, head.find("\r\n"));
    const size_t sp = line.find(' ');
    const bool ok = line.rfind("HTTP/", 0) == 0 && sp != std::string::npos &&
                    line.compare(sp, 4, " 200") == 0 &&
                    (line.size() == sp + 4 || line[sp + 4] == ' ');
    result = ok ? "" : "answer: " + (line.empty() ? std::string("none") : line);
  } while (false);
  ::close(fd);
  return result;
}

}  // namespace

int runWait(int argc, char** argv) {
  std::string health = "127.0.0.1:15021";
  std::string timeout_text = "60s";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (arg == "--health" || arg == "--timeout") {
      if (i + 1 == argc) {
        return usage(arg + " needs a value");
      }
      value = argv[++i];
    }
    if (arg == "--health") {
      health = value;
    } else if (arg == "--timeout") {
      timeout_text = value;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      return usage("unknown argument " + arg);
    }
  }
  auto address = common::parseHostPort(health);
  if (!address.isOk() || address.value().port == 0) {
    return usage("--health wants IP:PORT, got '" + health + "'");
  }
  auto timeout = xds::parseDuration(timeout_text);
  if (!timeout.isOk()) {
    return usage("--timeout: " + timeout.status().message());
  }
  const auto deadline = Clock::now() + timeout.value();
  std::string last;
  while (true) {
    const auto attempt_deadline = std::min(deadline, Clock::now() + std::chrono::seconds(1));
    last = probe(address.value(), attempt_deadline);
    if (last.empty()) {
      return 0;
    }
    const auto next = Clock::now() + std::chrono::milliseconds(100);
    if (next >= deadline) {
      break;
    }
    std::this_thread::sleep_until(next);
  }
  std::fprintf(stderr, "remora-sidecar: wait: http://%s/healthz/ready not ready after %s (%s)\n",
               health.c_str(), timeout_text.c_str(), last.c_str());
  return 1;
}

}  // namespace remora::sidecar
