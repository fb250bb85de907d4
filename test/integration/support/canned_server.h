#pragma once
// Test support: an HTTP server on 127.0.0.1:0 that answers GETs with canned bodies, for running
// clients (remoractl) against a fake control plane API. It runs on its own EventLoop thread;
// every method may be called from the test's thread.

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "common/http_server.h"

namespace remora::test {

class CannedServer {
 public:
  struct Answer {
    int status = 200;
    std::string body;  // sent as application/json
  };

  CannedServer() = default;
  ~CannedServer();  // stops the loop thread
  CannedServer(const CannedServer&) = delete;
  CannedServer& operator=(const CannedServer&) = delete;

  // The answers to GET `path` (query ignored), served in this order; the last one repeats.
  // Paths without answers get 404. May be called before or after start().
  void serve(const std::string& path, std::vector<Answer> answers);
  // Binds 127.0.0.1:0 and starts the loop thread; false when it could not listen.
  bool start();
  const std::string& address() const { return address_; }
  // Requests seen for `path` so far.
  size_t hits(const std::string& path) const;

 private:
  void handle(common::HttpRequest& req, common::Responder r);

  common::EventLoop loop_;
  std::unique_ptr<common::HttpServer> server_;
  std::thread thread_;
  std::string address_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Answer>> answers_;
  std::map<std::string, size_t> hits_;
};

}  // namespace remora::test
