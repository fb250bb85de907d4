#pragma once
// ConnectionManager: one downstream HTTP connection. It owns the socket and the server codec,
// opens an ActiveStream for each request the codec decodes, and keeps what belongs to the
// connection rather than to a request: the idle timeout, the header-read timeout (slowloris),
// the lingering close, the drain, the end of an upgrade's tunnel.
//
// The codec is chosen from the first bytes: the HTTP/2 connection preface ("PRI * HTTP/2.0
// ...", h2c with prior knowledge) selects HTTP/2, anything else HTTP/1. Until the bytes read so
// far stop being a prefix of the preface they are held (the header-read timeout bounds the
// wait). HTTP/1 has at most one open stream; HTTP/2 up to the codec's max_concurrent_streams,
// each an independent ActiveStream.
//
// Nothing of a request the proxy rejects reaches the upstream: llhttp finds some errors only
// after the head was routed (an invalid Transfer-Encoding) or in the middle of a body, so what
// one downstream read produces for the upstream stays corked until the whole read has parsed
// (ActiveStream::onDispatchEnd); on an error the try's connection is closed with those bytes
// unsent.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/codec.h"
#include "common/http1/server_connection.h"
#include "common/http2/preface.h"
#include "common/recycled.h"
#include "common/tcp_connection.h"
#include "common/timer.h"
#include "sidecar/connection_info.h"
#include "sidecar/worker.h"

namespace remora::sidecar {

class ActiveStream;

class ConnectionManager final : public common::Recycled<ConnectionManager>,
                                public DownstreamConnection,
                                public common::TcpConnection::Handler,
                                public http::ServerConnectionCallbacks {
 public:
  // Takes over `conn` (already accepted, reading) and handles `initial` (bytes read during
  // protocol detection) first. `listener` belongs to `listener_snapshot`, which the connection
  // keeps alive.
  ConnectionManager(Worker& worker, std::shared_ptr<const Snapshot> listener_snapshot,
                    const ListenerConfig& listener, ListenerRuntime& runtime,
                    std::unique_ptr<common::TcpConnection> conn, const ConnectionInfo& info);
  ~ConnectionManager() override;
  void start(std::string_view initial) noexcept;

  // DownstreamConnection
  void onDrain() noexcept override;
  void closeNow() noexcept override;

  // TcpConnection::Handler
  void onData(const char* data, size_t len) noexcept override;
  void onEof() noexcept override;
  void onError(int uv_err) noexcept override;
  void onHighWatermark() noexcept override;
  void onLowWatermark() noexcept override;
  void onDrained() noexcept override;

  // http::ServerConnectionCallbacks
  http::RequestDecoder& newStream(http::ResponseEncoder& encoder) noexcept override;

  // ---- for streams ----
  Worker& worker() noexcept { return worker_; }
  // The newest snapshot, for a stream that starts now; listener() then is that snapshot's
  // listener of this connection (its route table and cluster indexes belong to it).
  std::shared_ptr<const Snapshot> pinSnapshot() noexcept;
  const ListenerConfig& listener() const noexcept { return *listener_; }
  const ConnectionInfo& info() const noexcept { return info_; }
  common::SocketAddress peerAddress() const noexcept { return conn_->peerAddress(); }
  // The client's address without port, computed once.
  std::string_view peerHost() noexcept;
  http::ServerConnection& codec() noexcept { return *codec_; }
  http::Protocol protocol() const noexcept { return codec_->protocol(); }
  // Inside codec dispatch: upstream writes stay corked until the read has parsed.
  bool inDispatch() const noexcept { return in_dispatch_; }
  bool draining() const noexcept { return draining_; }
  bool reading() const noexcept { return conn_->reading(); }
  // The stream is over (it has been recorded): it is freed after this loop iteration.
  // (Not re-entrant into the codec: HTTP/2 may call it from inside an encode or a reset.)
  void onStreamDone(ActiveStream& stream) noexcept;
  // Bytes moved through the tunnel: the idle timeout starts again.
  void noteTunnelActivity() noexcept;
  // A tunnel ends once both sides sent EOF and every byte was delivered.
  void maybeFinishTunnel() noexcept;

 private:
  enum class TimerMode : uint8_t { kIdle, kHeaderRead, kLinger };

  // Before the codec is chosen: holds bytes while they may still be the HTTP/2 preface; false
  // while undecided. Then creates the codec and feeds it what was held; true: `data` goes next.
  bool chooseCodec(const char* data, size_t len) noexcept;
  // Feeds bytes to the codec and handles what it says.
  void dispatch(const char* data, size_t len) noexcept;
  // The HTTP/1 stream (HTTP/1 has at most one), or null.
  ActiveStream* h1Stream() const noexcept {
    return h1_ != nullptr && !streams_.empty() ? streams_.front() : nullptr;
  }
  // HTTP/2: the connection's input failed (GOAWAY queued) or was cut: every stream is reset.
  void resetAllStreams() noexcept;
  // After the codec ran: a parse error answered, a close asked for, the header timer.
  void afterCodec(bool ok) noexcept;
  void onCodecError() noexcept;
  void armTimer(TimerMode mode, uint64_t ms) noexcept;
  // The idle timer: the listener's idle timeout, or while draining what is left of the grace.
  void armIdleTimer() noexcept;
  void onTimer() noexcept;
  void closeGracefully() noexcept;
  void destroy() noexcept;

  Worker& worker_;
  std::shared_ptr<const Snapshot>
      listener_snapshot_;                     // the snapshot the connection was accepted on
  std::shared_ptr<const Snapshot> snapshot_;  // the latest stream's
  const ListenerConfig* listener_;
  ListenerRuntime& runtime_;
  std::unique_ptr<common::TcpConnection> conn_;
  ConnectionInfo info_;
  std::string peer_host_;
  http2::PrefaceSniffer sniffer_;                  // first bytes held until the codec is chosen
  std::unique_ptr<http::ServerConnection> codec_;  // null until chosen
  http1::ServerConnection* h1_ = nullptr;          // codec_ when it is HTTP/1
  common::Timer timer_;
  TimerMode timer_mode_ = TimerMode::kIdle;
  std::vector<ActiveStream*> streams_;  // the open streams (HTTP/1: at most one)
  std::vector<ActiveStream*> scratch_;  // a copy of streams_ to iterate while they change
  bool in_dispatch_ = false;
  bool down_eof_ = false;
  bool closing_ = false;
  bool destroyed_ = false;
  bool draining_ = false;
  bool close_when_drained_ = false;  // closing without a lingering close (closeGracefully)
};

}  // namespace remora::sidecar
