#include "common/tcp_listener.h"

#include <string>

namespace remora::common {

Result<uv_tcp_t*> listenTcp(EventLoop& loop, std::string_view address, int backlog,
                            uv_connection_cb on_connection, void* data, SocketAddress* bound) {
  Result<SocketAddress> addr = parseSocketAddress(address);
  if (!addr.isOk()) {
    return addr.status();
  }
  auto* handle = new uv_tcp_t;
  uv_tcp_init(loop.uv(), handle);
  handle->data = data;
  int rc = uv_tcp_bind(handle, addr.value().sa(), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(handle), backlog, on_connection);
  }
  if (rc != 0) {
    closeListener(handle);
    return Status::unavailable("listen " + std::string(address) + ": " + uv_strerror(rc));
  }
  int len = sizeof(bound->storage);
  uv_tcp_getsockname(handle, bound->sa(), &len);
  return handle;
}

void closeListener(uv_tcp_t*& handle) noexcept {
  if (handle == nullptr) {
    return;
  }
  handle->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  handle = nullptr;
}

}  // namespace remora::common
