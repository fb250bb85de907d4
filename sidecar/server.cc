#include "sidecar/server.h"

#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/json_writer.h"
#include "sidecar/access_log.h"
#include "sidecar/admin.h"
#include "sidecar/mesh_config.h"

namespace remora::sidecar {

using common::Status;

namespace {
constexpr uint64_t kDrainPollMs = 50;
// How long after a config update the freed memory is returned to the kernel (a burst of updates
// trims once).
constexpr uint64_t kTrimDelayMs = 500;

// A listening socket with SO_REUSEPORT, so every worker can have its own.
common::Result<int> bindReusePort(const common::SocketAddress& addr) {
  int fd = socket(addr.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Status::unavailable(std::string("socket: ") + std::strerror(errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    int e = errno;
    ::close(fd);
    return Status::unavailable(std::string("SO_REUSEPORT: ") + std::strerror(e));
  }
  if (::bind(fd, addr.sa(), addr.len()) != 0 || ::listen(fd, 4096) != 0) {
    int e = errno;
    ::close(fd);
    return Status::unavailable("cannot listen on " + addr.toString() + ": " + std::strerror(e));
  }
  return fd;
}

// File descriptors kept out of the downstream connections' reach: the admin port and its
// probes, the xDS connection, health checks, DNS, logs. At least kMinFdReserve, or a sixteenth of
// a large limit.
constexpr uint64_t kMinFdReserve = 64;

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in force.
uint64_t raiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return 1024;
  }
  if (rl.rlim_cur < rl.rlim_max && rl.rlim_max != RLIM_INFINITY) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      rl = raised;
    }
  }
  return rl.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : static_cast<uint64_t>(rl.rlim_cur);
}

uint64_t openFds() {
  std::error_code ec;
  uint64_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}
}  // namespace

Server::Server(config::v1::Bootstrap bootstrap, std::string ready_file)
    : bootstrap_(std::move(bootstrap)), ready_file_(std::move(ready_file)) {}

Server::~Server() = default;

uint64_t Server::uptimeSeconds() const noexcept {
  return (uv_now(const_cast<uv_loop_t*>(const_cast<common::EventLoop&>(loop_).uv())) - start_ms_) /
         1000;
}

Status Server::bindListeners(std::vector<std::vector<int>>& fds_per_worker) {
  size_t n = workers_.size();
  fds_per_worker.assign(n, {});
  for (const ListenerConfig& lc : snapshot_->listeners) {
    common::SocketAddress addr = lc.address;
    for (size_t w = 0; w < n; ++w) {
      auto fd = bindReusePort(addr);
      if (!fd.isOk()) {
        return Status::unavailable("listener '" + lc.name + "': " + fd.status().message());
      }
      if (w == 0 && addr.port() == 0) {
        // Port 0: the kernel picked one; the other workers join it.
        addr = common::SocketAddress{};
        socklen_t len = sizeof(addr.storage);
        getsockname(fd.value(), addr.sa(), &len);
      }
      fds_per_worker[w].push_back(fd.value());
    }
    if (n == 0 || addr.port() == 0) {
      socklen_t len = sizeof(addr.storage);
      getsockname(fds_per_worker[0].back(), addr.sa(), &len);
    }
    listener_addresses_.push_back(addr);
  }
  return Status::ok();
}

Status Server::startAdmin() {
  struct Endpoint {
    std::string address;
    AdminScope scope;
  };
  std::vector<Endpoint> endpoints = {{bootstrap_.admin().address(), AdminScope::kFull}};
  if (bootstrap_.admin().has_prometheus_address() &&
      !bootstrap_.admin().prometheus_address().empty()) {
    endpoints.push_back({bootstrap_.admin().prometheus_address(), AdminScope::kPrometheusOnly});
  }
  if (bootstrap_.admin().has_health_address() && !bootstrap_.admin().health_address().empty()) {
    endpoints.push_back({bootstrap_.admin().health_address(), AdminScope::kHealthOnly});
  }
  for (const Endpoint& e : endpoints) {
    AdminScope scope = e.scope;
    auto server = std::make_unique<common::HttpServer>(
        loop_, [this, scope](common::HttpRequest& req, common::Responder r) {
          handleAdminRequest(*this, scope, req, std::move(r));
        });
    Status s = server->listen(e.address);
    if (!s.isOk()) {
      return Status::unavailable("admin: " + s.message());
    }
    if (e.scope == AdminScope::kFull) {
      admin_address_ = server->boundAddress();
    }
    admin_servers_.push_back(std::move(server));
  }
  return Status::ok();
}

std::shared_ptr<const OwnPorts> Server::collectOwnPorts() const {
  auto own = std::make_shared<OwnPorts>();
  std::string list;
  auto add = [&](uint16_t port) {
    if (!own->hasPort(port)) {
      own->addPort(port);
      list.append(list.empty() ? "" : ", ").append(std::to_string(port));
    }
  };
  for (const common::SocketAddress& a : listener_addresses_) {
    add(a.port());
  }
  for (const auto& server : admin_servers_) {
    add(server->boundAddress().port());
  }
  own->addInterfaceAddresses();
  spdlog::info("own ports, never forwarded to from any listener: {}", list);
  return own;
}

void Server::writeReadyFile() {
  if (ready_file_.empty()) {
    return;
  }
  common::JsonWriter w;
  w.beginObject();
  w.key("listeners");
  w.beginObject();
  for (size_t i = 0; i < listener_addresses_.size(); ++i) {
    w.field(snapshot_->listeners[i].name, listener_addresses_[i].toString());
  }
  w.endObject();
  w.field("admin", admin_address_.toString());
  w.endObject();
  // Write then rename, so a reader never sees half a file.
  std::string tmp = ready_file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << w.str() << "\n";
  }
  if (std::rename(tmp.c_str(), ready_file_.c_str()) != 0) {
    spdlog::error("cannot write ready file {}: {}", ready_file_, std::strerror(errno));
  }
}

int Server::run() {
  start_ms_ = uv_now(loop_.uv());
  const uint64_t fd_limit = raiseFdLimit();
  size_t concurrency = bootstrap_.concurrency() ? bootstrap_.concurrency() : 2;
  concurrency_ = static_cast<uint32_t>(concurrency);
  // Shard 0: this thread; 1..concurrency: the workers; the last: the access log writer.
  stats_ = std::make_unique<common::StatsStore>(concurrency + 2);
  applyDefaultListeners(bootstrap_);
  SnapshotContext ctx{*stats_, pool_ids_, cluster_runtimes_, static_cast<uint32_t>(concurrency)};
  auto snap = buildSnapshot(bootstrap_, ctx, 1);
  if (!snap.isOk()) {
    spdlog::error("config: {}", snap.status().message());
    return 2;
  }
  snapshot_ = snap.value();
  if (snapshot_->access_log) {
    initAccessLog(*stats_, concurrency + 1);
  }
  for (size_t i = 0; i < concurrency; ++i) {
    workers_.push_back(std::make_unique<Worker>(static_cast<uint32_t>(i), *stats_,
                                                bootstrap_.admin().recent_requests()
                                                    ? bootstrap_.admin().recent_requests()
                                                    : 100));
  }
  std::vector<std::vector<int>> fds;
  Status s = bindListeners(fds);
  if (s.isOk()) {
    s = startAdmin();
  }
  if (!s.isOk()) {
    spdlog::error("{}", s.message());
    for (auto& per : fds) {
      for (int fd : per) {
        ::close(fd);
      }
    }
    admin_servers_.clear();
    loop_.closeAll();
    return 1;
  }
  setConnectionBudget(fd_limit);
  for (const ListenerConfig& lc : snapshot_->listeners) {
    (void)lc;
    runtimes_.push_back(std::make_unique<ListenerRuntime>());
    runtimes_.back()->budget = &budget_;
  }
  std::vector<ListenerRuntime*> rts;
  for (auto& r : runtimes_) {
    rts.push_back(r.get());
  }
  std::shared_ptr<const OwnPorts> own_ports = collectOwnPorts();
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->setOwnPorts(own_ports);
    workers_[i]->start(snapshot_, fds[i], rts);
  }

  signals_ = std::make_unique<common::StopSignals>(loop_.uv(), [this](int signum) {
    spdlog::info("signal {}: draining", signum);
    beginDrain();
  });

  state_ = ServerState::kLive;
  for (size_t i = 0; i < listener_addresses_.size(); ++i) {
    spdlog::info("listener {} on {} ({})", snapshot_->listeners[i].name,
                 listener_addresses_[i].toString(),
                 snapshot_->listeners[i].inbound ? "inbound" : "outbound");
  }
  // Ready once the config is applied (static: now; mesh: every xDS type accepted), after the
  // first round of health checks (an endpoint that is down is known before the first request
  // could reach it).
  maintenance_ = std::make_unique<ClusterMaintenance>(loop_.uv(), *stats_, stats_->shard(0));
  maintenance_->onInitialHealthChecksDone([this] { maybeBecomeReady(); });
  maintenance_->apply(snapshot_);
  if (bootstrap_.xds().address_size() > 0) {
    XdsClient::Options xo;
    xo.addresses.assign(bootstrap_.xds().address().begin(), bootstrap_.xds().address().end());
    xo.node = bootstrap_.node();
    xo.node.set_admin_address(admin_address_.toString());
    XdsClient::Delegate& delegate = *this;
    xds_client_ =
        std::make_unique<XdsClient>(loop_, *stats_, stats_->shard(0), std::move(xo), delegate);
    spdlog::info("mesh mode: waiting for the config from the control plane ({})",
                 bootstrap_.xds().address(0));
    xds_client_->start();
  } else if (!maintenance_->initialHealthChecksDone()) {
    spdlog::info("waiting for the first health checks before reporting ready");
  }
  maybeBecomeReady();

  loop_.run();
  shutdown();
  return 0;
}

void Server::setConnectionBudget(uint64_t fd_limit) {
  // Every fd open now (listeners, loops, admin) stays open; each downstream connection may hold
  // one upstream connection too.
  uint64_t in_use = openFds();
  uint64_t reserve = std::max(kMinFdReserve, fd_limit / 16);
  uint64_t spare = fd_limit > in_use + reserve ? fd_limit - in_use - reserve : 0;
  uint64_t fit = std::max<uint64_t>(1, std::min<uint64_t>(spare / 2, UINT32_MAX - 1));
  if (bootstrap_.max_downstream_connections() > 0) {
    budget_.limit = bootstrap_.max_downstream_connections();
    if (budget_.limit > fit) {
      spdlog::warn(
          "max_downstream_connections {} is more than the fd limit {} leaves room for "
          "({}): at the limit the admin port and probes may find no free fd",
          budget_.limit, fd_limit, fit);
    }
  } else {
    budget_.limit = static_cast<uint32_t>(fit);
    if (spare / 2 == 0) {
      spdlog::warn(
          "the fd limit {} is too small ({} in use, {} reserved): one downstream "
          "connection at a time",
          fd_limit, in_use, reserve);
    }
  }
  spdlog::info(
      "fd limit {}: {} downstream connections at most ({} fds kept for the admin port, "
      "probes and upstreams)",
      fd_limit, budget_.limit, reserve);
}

Status Server::applyResources(const DynamicResources& resources) {
  auto merged = mergeMeshBootstrap(bootstrap_, resources);
  if (!merged.isOk()) {
    return merged.status();
  }
  Status valid = validateMeshBootstrap(merged.value());
  if (!valid.isOk()) {
    return valid;
  }
  SnapshotContext ctx{*stats_, pool_ids_, cluster_runtimes_, concurrency_};
  auto snap = buildSnapshot(merged.value(), ctx, snapshot_->version + 1);
  if (!snap.isOk()) {
    return snap.status();
  }
  install(std::move(snap).value());
  return Status::ok();
}

void Server::onUpdateAccepted() { maybeBecomeReady(); }

void Server::install(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  for (auto& w : workers_) {
    w->updateSnapshot(snapshot_);
  }
  maintenance_->apply(snapshot_);
  // A config update frees the previous snapshot (once the workers moved on) and the build's
  // temporaries; glibc keeps freed memory in its arenas, so the process would stay at its peak
  // (two configs at once) for good. Hand it back to the kernel once the update has settled.
  if (!trim_timer_) {
    trim_timer_ = std::make_unique<common::Timer>(loop_.uv(), [] { malloc_trim(0); });
  }
  trim_timer_->start(kTrimDelayMs);
}

void Server::maybeBecomeReady() {
  if (ready_ || (xds_client_ && !xds_client_->allTypesAccepted())) {
    return;
  }
  if (!maintenance_->initialHealthChecksDone()) {
    if (xds_client_) {
      spdlog::info("config complete; waiting for the first health checks before reporting ready");
    }
    return;
  }
  becomeReady();
}

void Server::becomeReady() {
  if (ready_) {
    return;
  }
  ready_ = true;
  spdlog::info("admin on {}; {} worker(s); ready", admin_address_.toString(), workers_.size());
  writeReadyFile();
}

void Server::beginDrain() {
  if (state_ == ServerState::kDraining || stopping_) {
    return;
  }
  state_ = ServerState::kDraining;
  uint64_t now = uv_now(loop_.uv());
  drain_deadline_ms_ = now + snapshot_->drain_timeout_ms;
  drain_grace_end_ms_ = now + snapshot_->drain_grace_ms;
  spdlog::info(
      "draining: up to {} ms for in-flight requests; idle keep-alive connections kept "
      "{} ms for requests already on the wire",
      snapshot_->drain_timeout_ms, snapshot_->drain_grace_ms);
  for (auto& w : workers_) {
    w->beginDrain(snapshot_->drain_grace_ms);
  }
  drain_timer_ = std::make_unique<common::Timer>(loop_.uv(), [this] { checkDrained(); });
  drain_timer_->start(kDrainPollMs, kDrainPollMs);
}

void Server::checkDrained() {
  uint64_t active = 0;
  uint64_t closing = 0;
  for (auto& w : workers_) {
    active += w->activeStreams();
    closing += w->closingConnections();
  }
  // Client connections that may still send a request (lingering closes do not count).
  uint64_t open = 0;
  for (auto& r : runtimes_) {
    open += r->connections.load(std::memory_order_relaxed);
  }
  open = open > closing ? open - closing : 0;
  uint64_t now = uv_now(loop_.uv());
  // Done when nothing is in flight and no client connection is left to answer: at once when the
  // clients closed theirs, else once the grace for idle ones is over.
  if ((active == 0 && (open == 0 || now >= drain_grace_end_ms_)) || now >= drain_deadline_ms_) {
    if (active > 0) {
      spdlog::warn("drain timeout: {} request(s) still in flight are cut", active);
    } else {
      spdlog::info("drained: no request in flight");
    }
    quit();
  }
}

void Server::quit() {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  // Let the answer to POST /quitquitquit leave before the loop stops.
  loop_.post([this] { uv_stop(loop_.uv()); });
}

void Server::shutdown() {
  for (auto& w : workers_) {
    w->stop();
  }
  stopAccessLog();  // the workers handed their last lines over as they stopped
  drain_timer_.reset();
  trim_timer_.reset();
  xds_client_.reset();
  maintenance_.reset();
  for (auto& a : admin_servers_) {
    a->close();
  }
  admin_servers_.clear();
  signals_.reset();
  loop_.closeAll();
  spdlog::info("exit");
}

}  // namespace remora::sidecar
