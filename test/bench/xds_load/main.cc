// remora-xds-load: many lightweight xDS clients in one process, for the control plane scale
// benchmark (test/bench/xds_scale.sh, docs/benchmarks.md). Not a test: it measures and prints.
//
//   remora-xds-load --xds ADDR --clients N --services S [--namespace NS]
//                   [--trigger-endpoint HTTP_ADDR:SERVICE] [--trigger-file PATH:CONTENT_FILE]
//                   [--timeout 60s]
//
// Each client opens its own connection (the upgrade handshake of xds/framing.h), identifies as
// node "sim-<i>" of service "svc-<i % S>" and subscribes to the four types; it ACKs every
// response at once (a real sidecar would apply it first: this measures the control plane).
// Once every client holds all four types ("synced"), the tool runs each trigger in turn:
//   - endpoint: POST /v1/registry/register of one new endpoint of svc-<S/2> on the control
//     plane's HTTP API;
//   - file: copies CONTENT_FILE over PATH (a manifest change the control plane picks up by
//     polling);
// and for each, the time from the trigger until each client has received (and ACKed) the
// response that carries the change: p50 / p99 / max over the clients, and the bytes received.
// Output: one "key value" line per figure, for the script to parse.

#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/socket_address.h"
#include "remora/xds/v1/discovery.pb.h"
#include "xds/framing.h"
#include "xds/resource_types.h"
#include "xds/xds_state.h"

namespace {

namespace xv1 = remora::xds::v1;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string xds;
  int clients = 100;
  int services = 100;
  std::string ns = "bench";
  std::string trigger_endpoint;  // HTTP_ADDR:SERVICE... (http address, then service)
  std::string trigger_file;      // PATH:CONTENT_FILE
  int timeout_s = 120;
};

struct Client;

struct Bench {
  uv_loop_t* loop = nullptr;
  Options opt;
  std::vector<std::unique_ptr<Client>> clients;
  int synced = 0;
  int connected = 0;
  int failed = 0;
  // The running trigger: clients that still wait for their change.
  bool measuring = false;
  int changed_type = -1;  // index in kPushOrder expected to change
  Clock::time_point trigger_at;
  std::vector<double> latencies_ms;
  uint64_t bytes_during = 0;
  uint64_t bytes_total = 0;
};

struct Client {
  Bench* bench = nullptr;
  int index = 0;
  uv_tcp_t tcp{};
  uv_connect_t connect_req{};
  std::string head;  // the 101 answer while it is read
  bool upgraded = false;
  remora::xds::FrameDecoder decoder;
  std::vector<remora::xds::ClientTypeState> types;
  bool have[4] = {};
  bool synced = false;
  std::string versions[4];
  bool waiting = false;  // measuring: the change has not reached this client yet
};

void writeBytes(Client& c, std::string bytes) {
  auto* req = new uv_write_t;
  auto* buf = new std::string(std::move(bytes));
  req->data = buf;
  uv_buf_t b = uv_buf_init(buf->data(), static_cast<unsigned>(buf->size()));
  uv_write(req, reinterpret_cast<uv_stream_t*>(&c.tcp), &b, 1, [](uv_write_t* r, int) {
    delete static_cast<std::string*>(r->data);
    delete r;
  });
}

void sendRequest(Client& c, const xv1::DiscoveryRequest& req) {
  std::string frame;
  (void)remora::xds::appendFrame(remora::xds::FrameKind::kDiscoveryRequest, req, frame);
  writeBytes(c, std::move(frame));
}

void onFrame(Client& c, const remora::xds::Frame& f) {
  Bench& b = *c.bench;
  size_t idx = 4;
  std::string version;
  if (f.kind == remora::xds::FrameKind::kDiscoveryResponse) {
    xv1::DiscoveryResponse r;
    r.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size()));
    for (size_t i = 0; i < 4; ++i) {
      if (remora::xds::kPushOrder[i] == r.type_url()) idx = i;
    }
    if (idx == 4) return;
    version = r.version_info();
    sendRequest(c, c.types[idx].ack(r));
  } else if (f.kind == remora::xds::FrameKind::kDeltaDiscoveryResponse) {
    xv1::DeltaDiscoveryResponse r;
    r.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size()));
    idx = remora::xds::kPushOrder[1] == r.type_url() ? 1 : 4;
    if (idx == 4) return;
    version = r.system_version_info();
    if (c.types[idx].deltaApplies()) {
      sendRequest(c, c.types[idx].ack(r));
    } else {
      sendRequest(c, c.types[idx].nack(r, remora::common::Status::invalid("no base")));
    }
  } else if (f.kind == remora::xds::FrameKind::kPing) {
    xv1::Ping p;
    p.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size()));
    xv1::Pong pong;
    pong.set_id(p.id());
    std::string frame;
    (void)remora::xds::appendFrame(remora::xds::FrameKind::kPong, pong, frame);
    writeBytes(c, std::move(frame));
    return;
  } else {
    return;
  }
  c.have[idx] = true;
  if (c.waiting && static_cast<int>(idx) == b.changed_type && version != c.versions[idx]) {
    c.waiting = false;
    b.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - b.trigger_at).count());
  }
  c.versions[idx] = version;
  if (!c.synced && c.have[0] && c.have[1] && c.have[2] && c.have[3]) {
    c.synced = true;
    ++b.synced;
  }
}

void onRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* c = static_cast<Client*>(s->data);
  if (n < 0) {
    if (n != UV_EOF || true) {
      ++c->bench->failed;
    }
    uv_read_stop(s);
    delete[] buf->base;
    return;
  }
  c->bench->bytes_total += static_cast<uint64_t>(n);
  if (c->bench->measuring) c->bench->bytes_during += static_cast<uint64_t>(n);
  std::string_view data(buf->base, static_cast<size_t>(n));
  if (!c->upgraded) {
    c->head.append(data);
    size_t end = c->head.find("\r\n\r\n");
    if (end == std::string::npos) {
      delete[] buf->base;
      return;
    }
    if (c->head.rfind("HTTP/1.1 101", 0) != 0) {
      std::fprintf(stderr, "client %d: no upgrade: %s\n", c->index, c->head.substr(0, 40).c_str());
      ++c->bench->failed;
      uv_read_stop(s);
      delete[] buf->base;
      return;
    }
    c->upgraded = true;
    ++c->bench->connected;
    data = std::string_view(c->head).substr(end + 4);
    c->decoder.feed(data);
    c->head.clear();
  } else {
    c->decoder.feed(data);
  }
  for (;;) {
    auto f = c->decoder.next();
    if (!f.isOk() || !f.value()) break;
    onFrame(*c, *f.value());
  }
  delete[] buf->base;
}

void start(Client& c, const sockaddr* addr) {
  uv_tcp_init(c.bench->loop, &c.tcp);
  c.tcp.data = &c;
  c.connect_req.data = &c;
  uv_tcp_connect(&c.connect_req, &c.tcp, addr, [](uv_connect_t* req, int status) {
    auto* c = static_cast<Client*>(req->data);
    if (status != 0) {
      std::fprintf(stderr, "client %d: connect: %s\n", c->index, uv_strerror(status));
      ++c->bench->failed;
      return;
    }
    writeBytes(*c, "GET /v1/xds HTTP/1.1\r\nHost: control\r\nConnection: Upgrade\r\nUpgrade: remora-xds/1\r\n\r\n");
    remora::config::v1::Node node;
    node.set_id("sim-" + std::to_string(c->index));
    node.set_service("svc-" + std::to_string(c->index % c->bench->opt.services));
    node.set_namespace_(c->bench->opt.ns);
    for (auto& t : c->types) sendRequest(*c, t.initialRequest(node, {}));
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->tcp),
        [](uv_handle_t*, size_t, uv_buf_t* b) { *b = uv_buf_init(new char[65536], 65536); }, onRead);
  });
}

// Runs the loop until `done()` or the timeout; false on timeout.
template <typename Done>
bool runUntil(Bench& b, Done done, double timeout_s) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    uv_run(b.loop, UV_RUN_ONCE);
  }
  return true;
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Starts a measurement for a change of type `type`, runs `trigger`, waits for every client.
template <typename Trigger>
void measure(Bench& b, const char* name, int type, Trigger trigger) {
  b.latencies_ms.clear();
  b.bytes_during = 0;
  b.changed_type = type;
  for (auto& c : b.clients) c->waiting = true;
  b.measuring = true;
  b.trigger_at = Clock::now();
  trigger();
  // A keepalive timer keeps uv_run(ONCE) from blocking forever when nothing arrives.
  uv_timer_t tick;
  uv_timer_init(b.loop, &tick);
  uv_timer_start(&tick, [](uv_timer_t*) {}, 50, 50);
  bool ok = runUntil(b, [&] { return b.latencies_ms.size() == b.clients.size(); }, b.opt.timeout_s);
  uv_timer_stop(&tick);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(b.loop, UV_RUN_NOWAIT);
  b.measuring = false;
  std::printf("%s_reached %zu\n", name, b.latencies_ms.size());
  std::printf("%s_complete %d\n", name, ok ? 1 : 0);
  std::printf("%s_p50_ms %.1f\n", name, pct(b.latencies_ms, 0.50));
  std::printf("%s_p99_ms %.1f\n", name, pct(b.latencies_ms, 0.99));
  std::printf("%s_max_ms %.1f\n", name, pct(b.latencies_ms, 1.0));
  std::printf("%s_bytes %llu\n", name, static_cast<unsigned long long>(b.bytes_during));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Bench b;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--xds") b.opt.xds = v;
    else if (k == "--clients") b.opt.clients = std::atoi(v.c_str());
    else if (k == "--services") b.opt.services = std::atoi(v.c_str());
    else if (k == "--namespace") b.opt.ns = v;
    else if (k == "--trigger-endpoint") b.opt.trigger_endpoint = v;
    else if (k == "--trigger-file") b.opt.trigger_file = v;
    else if (k == "--timeout") b.opt.timeout_s = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "remora-xds-load: unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  auto addr = remora::common::parseSocketAddress(b.opt.xds);
  if (!addr.isOk() || b.opt.clients < 1 || b.opt.services < 1) {
    std::fprintf(stderr, "remora-xds-load: --xds IP:PORT --clients N --services S required\n");
    return 2;
  }
  b.loop = uv_default_loop();
  auto t0 = Clock::now();
  for (int i = 0; i < b.opt.clients; ++i) {
    auto c = std::make_unique<Client>();
    c->bench = &b;
    c->index = i;
    for (std::string_view t : remora::xds::kPushOrder) c->types.emplace_back(t);
    start(*c, addr.value().sa());
    b.clients.push_back(std::move(c));
    // Connect in batches so the listen backlog never overflows.
    if (i % 100 == 99) uv_run(b.loop, UV_RUN_NOWAIT);
  }
  uv_timer_t tick;
  uv_timer_init(b.loop, &tick);
  uv_timer_start(&tick, [](uv_timer_t*) {}, 50, 50);
  bool ok = runUntil(b, [&] { return b.synced + b.failed >= b.opt.clients; }, b.opt.timeout_s);
  uv_timer_stop(&tick);
  std::printf("clients %d\nsynced %d\nfailed %d\n", b.opt.clients, b.synced, b.failed);
  std::printf("initial_sync_ms %.0f\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  std::printf("initial_bytes %llu\n", static_cast<unsigned long long>(b.bytes_total));
  std::fflush(stdout);
  if (!ok || b.synced != b.opt.clients) {
    std::fprintf(stderr, "remora-xds-load: only %d of %d clients synced\n", b.synced, b.opt.clients);
    return 1;
  }
  // Settle: let ACKs of the initial push land.
  runUntil(b, [] { return false; }, 1.0);
  if (!b.opt.trigger_endpoint.empty()) {
    // HTTP_ADDR,SERVICE,NAMESPACE
    std::string spec = b.opt.trigger_endpoint;
    size_t c1 = spec.find(','), c2 = spec.find(',', c1 + 1);
    std::string http = spec.substr(0, c1), svc = spec.substr(c1 + 1, c2 - c1 - 1),
                ns = spec.substr(c2 + 1);
    measure(b, "endpoint_change", 1, [&] {
      remora::common::HttpClient client(http);
      auto r = client.post("/v1/registry/register",
                           "{\"service\":\"" + svc + "\",\"namespace\":\"" + ns +
                               "\",\"address\":\"10.255.0.1\",\"port\":8080,\"ttl_seconds\":600}",
                           {{"content-type", "application/json"}});
      if (!r.isOk() || r.value().status != 200) {
        std::fprintf(stderr, "register failed\n");
      }
    });
    runUntil(b, [] { return false; }, 1.0);
  }
  if (!b.opt.trigger_file.empty()) {
    size_t colon = b.opt.trigger_file.find(':');
    std::string path = b.opt.trigger_file.substr(0, colon), content = b.opt.trigger_file.substr(colon + 1);
    measure(b, "policy_change", 0, [&] {
      std::ifstream in(content);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string tmp = path + ".tmp";
      std::ofstream(tmp) << ss.str();
      std::rename(tmp.c_str(), path.c_str());
    });
  }
  return 0;
}
