#pragma once
// Listening TCP sockets on a libuv loop, for the small servers (admin, echo, control API).
// The sidecar's own listeners are SO_REUSEPORT sockets made by the main thread instead.

#include <uv.h>

#include <string_view>

#include "common/event_loop.h"
#include "common/socket_address.h"
#include "common/status.h"

namespace remora::common {

// Binds "IP:PORT" (port 0: any free port) and listens. The handle's `data` is `data`, and
// `on_connection` runs for each pending connection. On success `*bound` holds the real address.
Result<uv_tcp_t*> listenTcp(EventLoop& loop, std::string_view address, int backlog,
                            uv_connection_cb on_connection, void* data, SocketAddress* bound);
// Stops listening; the handle's memory is freed in its close callback. Sets `handle` to null;
// does nothing when it already is.
void closeListener(uv_tcp_t*& handle) noexcept;

}  // namespace remora::common
