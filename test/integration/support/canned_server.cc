#include "canned_server.h"

#include <uv.h>

#include <algorithm>
#include <future>

namespace remora::test {

CannedServer::~CannedServer() {
  if (thread_.joinable()) {
    loop_.stop();
    thread_.join();
  }
}

void CannedServer::serve(const std::string& path, std::vector<Answer> answers) {
  std::lock_guard<std::mutex> lock(mu_);
  answers_[path] = std::move(answers);
}

size_t CannedServer::hits(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hits_.find(path);
  return it == hits_.end() ? 0 : it->second;
}

void CannedServer::handle(common::HttpRequest& req, common::Responder r) {
  Answer answer{404, "{\"error\":\"not found\"}"};
  {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t n = hits_[req.path]++;
    auto it = answers_.find(req.path);
    if (it != answers_.end() && !it->second.empty()) {
      answer = it->second[std::min(n, it->second.size() - 1)];
    }
  }
  r.respond(common::HttpResponse::json(answer.status, answer.body));
}

bool CannedServer::start() {
  std::promise<std::string> bound;
  std::future<std::string> bound_future = bound.get_future();
  thread_ = std::thread([this, &bound] {
    server_ = std::make_unique<common::HttpServer>(
        loop_, [this](common::HttpRequest& req, common::Responder r) { handle(req, r); });
    common::Status s = server_->listen("127.0.0.1:0");
    bound.set_value(s.isOk() ? server_->boundAddress().toString() : std::string());
    loop_.run();
    server_->close();
    server_.reset();
    for (int i = 0; i < 5; ++i) {  // close callbacks and deferred deletions
      uv_run(loop_.uv(), UV_RUN_NOWAIT);
    }
    loop_.closeAll();
  });
  address_ = bound_future.get();
  return !address_.empty();
}

}  // namespace remora::test
