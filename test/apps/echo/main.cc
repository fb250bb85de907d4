// remora-echo: a tiny HTTP (or gRPC, or raw TCP) backend for tests and the demo. See
// echo_service.h for the HTTP behaviour, grpc_echo_call.h for gRPC and --help for the flags.

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "common/event_loop.h"
#include "common/http_server.h"
#include "test/apps/echo/echo_service.h"
#include "test/apps/echo/grpc_echo_server.h"
#include "test/apps/echo/tcp_echo_server.h"

namespace remora::echo {
namespace {

constexpr const char* kUsage = R"(usage: remora-echo [flags]

A tiny HTTP backend for tests and demos: answers with a JSON description of the request and
its instance id; latency, status, failure rate and body size come from flags or per request
from x-echo-* headers. --grpc serves a gRPC test service instead, --tcp echoes raw bytes.

flags:
  --listen ADDR          address to listen on (default 127.0.0.1:8080; port 0: any free port)
  --id NAME              instance id, sent as x-echo-id (default echo-<port>)
  --ready-file FILE      once listening, write {"listen":"IP:PORT"} to FILE
  --latency-ms N         answer every request after N ms (default 0)
  --status CODE          answer with CODE (default 200)
  --fail-rate F          answer that fraction (0..1) of requests with --fail-status
  --fail-status CODE     status of failed requests (default 503)
  --body-size N          body of N pattern bytes instead of the JSON description
  --close-on-reuse       close a connection, unanswered, when a second request arrives on it
  --idle-timeout-ms N    close idle keep-alive connections after N ms (default 60000)
  --max-body-bytes N     largest accepted request body (default 67108864)
  --seed N               seed for --fail-rate draws (default: random)
  --tcp                  raw TCP echo instead of HTTP
  --grpc                 gRPC instead of HTTP/1: HTTP/2 with prior knowledge (h2c) serving
                         remora.echo.v1.Echo (echo.proto); --latency-ms is the default delay,
                         --fail-rate fails calls with grpc-status --fail-status (default 14)
  --banner TEXT          --tcp: send TEXT and a newline on accept (server speaks first)
  --log-level LEVEL      trace|debug|info|warn|error (default info)
  --help, --version

per-request headers: x-echo-delay-ms, x-echo-status, x-echo-body-size, x-echo-fail-rate,
  x-echo-reset: 1 (RST, no answer), x-echo-chunked: 1, x-echo-close: 1,
  x-echo-header-NAME: V (answer header NAME: V)
paths: /healthz, /echo-body (body back), /bytes/N (N pattern bytes: byte i = (i*31+7)&255),
  POST /_echo/config?status=&latency-ms=&fail-rate=&body-size= (change the defaults)
requests with Upgrade get 101 and become a raw byte echo.

--grpc: methods Unary, ServerStream, ClientStream, Bidi; EchoRequest fields message, count,
  delay_ms, status_code, status_message drive the replies; metadata x-echo-fail-rate: F;
  grpc-timeout is honoured (4 DEADLINE_EXCEEDED); custom request metadata comes back as
  x-echo-md-NAME; every response has x-echo-id.
)";

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string id;
  std::string ready_file;
  EchoDefaults defaults;
  bool close_on_reuse = false;
  uint64_t idle_timeout_ms = 60000;
  uint64_t max_body_bytes = 64 * 1024 * 1024;
  uint64_t seed = 0;
  bool tcp = false;
  bool grpc = false;
  std::optional<std::string> fail_status;  // checked once the mode is known
  std::optional<std::string> banner;
  spdlog::level::level_enum log_level = spdlog::level::info;
};

[[noreturn]] void usageError(const std::string& message) {
  std::fprintf(stderr, "remora-echo: %s (see --help)\n", message.c_str());
  std::exit(2);
}

uint64_t toUint(std::string_view flag, std::string_view v) {
  uint64_t out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
    usageError(std::string(flag) + ": not a non-negative integer: '" + std::string(v) + "'");
  }
  return out;
}

int toStatus(std::string_view flag, std::string_view v) {
  uint64_t s = toUint(flag, v);
  if (s < 100 || s > 599) {
    usageError(std::string(flag) + ": not an HTTP status (100..599): '" + std::string(v) + "'");
  }
  return static_cast<int>(s);
}

Config parseFlags(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    auto value = [&]() -> std::string_view {
      if (inline_value) {
        return *inline_value;
      }
      if (i + 1 >= argc) {
        usageError(std::string(name) + " needs a value");
      }
      return argv[++i];
    };
    auto noValue = [&] {
      if (inline_value) {
        usageError(std::string(name) + " takes no value");
      }
    };
    if (name == "--help" || name == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (name == "--version") {
      std::printf("remora-echo %s\n", REMORA_VERSION);
      std::exit(0);
    } else if (name == "--listen") {
      c.listen = value();
    } else if (name == "--id") {
      c.id = value();
      if (c.id.empty()) {
        usageError("--id: empty");
      }
    } else if (name == "--ready-file") {
      c.ready_file = value();
    } else if (name == "--latency-ms") {
      c.defaults.latency_ms = toUint(name, value());
    } else if (name == "--status") {
      c.defaults.status = toStatus(name, value());
    } else if (name == "--fail-rate") {
      std::string v(value());
      char* end = nullptr;
      double f = std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size() || !(f >= 0.0 && f <= 1.0)) {
        usageError("--fail-rate: not a number in 0..1: '" + v + "'");
      }
      c.defaults.fail_rate = f;
    } else if (name == "--fail-status") {
      c.fail_status = std::string(value());
    } else if (name == "--body-size") {
      c.defaults.body_size = static_cast<int64_t>(toUint(name, value()));
    } else if (name == "--close-on-reuse") {
      noValue();
      c.close_on_reuse = true;
    } else if (name == "--idle-timeout-ms") {
      c.idle_timeout_ms = toUint(name, value());
    } else if (name == "--max-body-bytes") {
      c.max_body_bytes = toUint(name, value());
    } else if (name == "--seed") {
      c.seed = toUint(name, value());
    } else if (name == "--tcp") {
      noValue();
      c.tcp = true;
    } else if (name == "--grpc") {
      noValue();
      c.grpc = true;
    } else if (name == "--banner") {
      c.banner = std::string(value());
    } else if (name == "--log-level") {
      std::string_view v = value();
      if (v == "trace") {
        c.log_level = spdlog::level::trace;
      } else if (v == "debug") {
        c.log_level = spdlog::level::debug;
      } else if (v == "info") {
        c.log_level = spdlog::level::info;
      } else if (v == "warn") {
        c.log_level = spdlog::level::warn;
      } else if (v == "error") {
        c.log_level = spdlog::level::err;
      } else {
        usageError("--log-level: expected trace|debug|info|warn|error, got '" + std::string(v) +
                   "'");
      }
    } else if (arg.rfind("-", 0) == 0) {
      usageError("unknown flag " + std::string(name));
    } else {
      usageError("unexpected argument '" + std::string(arg) + "'");
    }
  }
  if (c.banner && !c.tcp) {
    usageError("--banner needs --tcp");
  }
  if (c.tcp && c.grpc) {
    usageError("--tcp and --grpc exclude each other");
  }
  if (c.fail_status && c.grpc) {
    uint64_t s = toUint("--fail-status", *c.fail_status);
    if (s < 1 || s > grpc::kMaxStatus) {
      usageError("--fail-status: not a gRPC status (1..16) for --grpc: '" + *c.fail_status + "'");
    }
  } else if (c.fail_status) {
    c.defaults.fail_status = toStatus("--fail-status", *c.fail_status);
  }
  auto addr = common::parseSocketAddress(c.listen);
  if (!addr.isOk()) {
    usageError("--listen: " + addr.status().message());
  }
  return c;
}

// Written to a temporary name and renamed, so a reader never sees half a file.
bool writeReadyFile(const std::string& path, const std::string& address) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) {
      return false;
    }
    f << "{\"listen\":\"" << address << "\"}\n";
    if (!f.flush()) {
      return false;
    }
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

struct Signals {
  uv_signal_t term;
  uv_signal_t intr;
  std::function<void()> on_signal;
};

int run(int argc, char** argv) {
  Config cfg = parseFlags(argc, argv);

  auto logger = spdlog::stderr_color_mt("remora-echo");
  spdlog::set_default_logger(logger);
  spdlog::set_level(cfg.log_level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [echo] %v");
  // A peer that vanished must not kill the process through a write.
  ::signal(SIGPIPE, SIG_IGN);

  common::EventLoop loop;
  std::unique_ptr<EchoService> echo;
  std::unique_ptr<common::HttpServer> http;
  std::unique_ptr<TcpEchoServer> tcp;
  std::unique_ptr<GrpcEchoServer> grpc;
  common::SocketAddress bound;
  if (cfg.grpc) {
    GrpcEchoOptions o;
    o.default_delay_ms = cfg.defaults.latency_ms;
    o.fail_rate = cfg.defaults.fail_rate;
    if (cfg.fail_status) {
      o.fail_status = static_cast<uint32_t>(toUint("--fail-status", *cfg.fail_status));
    }
    o.seed = cfg.seed;
    grpc = std::make_unique<GrpcEchoServer>(loop, o);
    common::Status s = grpc->listen(cfg.listen);
    if (!s.isOk()) {
      spdlog::error("{}", s.message());
      return 1;
    }
    bound = grpc->boundAddress();
  } else if (cfg.tcp) {
    tcp = std::make_unique<TcpEchoServer>(loop, cfg.banner);
    common::Status s = tcp->listen(cfg.listen);
    if (!s.isOk()) {
      spdlog::error("{}", s.message());
      return 1;
    }
    bound = tcp->boundAddress();
  } else {
    echo = std::make_unique<EchoService>(loop, cfg.id, cfg.defaults, cfg.close_on_reuse, cfg.seed);
    common::HttpServer::Options o;
    o.idle_timeout_ms = cfg.idle_timeout_ms;
    o.max_body_bytes = cfg.max_body_bytes;
    EchoService* svc = echo.get();
    http = std::make_unique<common::HttpServer>(
        loop, [svc](common::HttpRequest& req, common::Responder r) { svc->handle(req, r); }, o);
    common::Status s = http->listen(cfg.listen);
    if (!s.isOk()) {
      spdlog::error("{}", s.message());
      return 1;
    }
    bound = http->boundAddress();
  }
  std::string id = cfg.id.empty() ? "echo-" + std::to_string(bound.port()) : cfg.id;
  if (echo) {
    echo->setId(id);
  }
  if (grpc) {
    grpc->setId(id);
  }
  std::string address = bound.toString();
  if (!cfg.ready_file.empty() && !writeReadyFile(cfg.ready_file, address)) {
    spdlog::error("cannot write the ready file {}", cfg.ready_file);
    return 1;
  }
  spdlog::info("{} listening on {} ({})", id, address,
               cfg.tcp    ? "tcp echo"
               : cfg.grpc ? "grpc, h2c"
                          : "http");

  Signals sig;
  sig.on_signal = [&] {
    spdlog::info("{} stopping", id);
    if (http) {
      http->close();
    }
    if (echo) {
      echo->close();
    }
    if (tcp) {
      tcp->close();
    }
    if (grpc) {
      grpc->close();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&sig.term), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sig.intr), nullptr);
    loop.stop();  // the loop's own async handle would keep run() going
  };
  auto onSignal = [](uv_signal_t* h, int) { (*static_cast<std::function<void()>*>(h->data))(); };
  for (auto [h, signum] : {std::pair{&sig.term, SIGTERM}, std::pair{&sig.intr, SIGINT}}) {
    uv_signal_init(loop.uv(), h);
    h->data = &sig.on_signal;
    uv_signal_start(h, onSignal, signum);
  }

  loop.run();

  if (http) {
    http->close();
  }
  if (echo) {
    echo->close();
    echo->logCounters();
  }
  if (tcp) {
    tcp->close();
  }
  if (grpc) {
    grpc->close();
    grpc->logCounters();
  }
  http.reset();
  tcp.reset();
  grpc.reset();
  int rc = loop.closeAll();
  if (rc != 0) {
    spdlog::warn("event loop closed with {}", uv_strerror(rc));
  }
  return 0;
}

}  // namespace
}  // namespace remora::echo

int main(int argc, char** argv) {
  return remora::echo::run(argc, argv);
}
