#include "sidecar/http/upstream_request.h"

#include "sidecar/http/router.h"

namespace remora::sidecar {

UpstreamRequest::UpstreamRequest(Router& router, Http1UpstreamConnection& conn) noexcept
    : router_(&router), conn_(&conn), encoder_(&conn.attach(*this, *this)) {
  encoder_->setCallbacks(*this);
}

void UpstreamRequest::detach(bool reusable) noexcept {
  router_ = nullptr;
  Http1UpstreamConnection* c = conn_;
  conn_ = nullptr;
  if (c != nullptr) {
    c->release(reusable);
  }
}

void UpstreamRequest::decode1xxHeaders(http::ResponseHead& head) noexcept {
  if (router_ != nullptr) {
    router_->onTry1xx(*this, head);
  }
}

void UpstreamRequest::decodeHeaders(http::ResponseHead& head, bool end_stream) noexcept {
  if (router_ != nullptr) {
    router_->onTryHeaders(*this, head, end_stream);
  }
}

void UpstreamRequest::decodeData(std::string_view data, bool end_stream) noexcept {
  if (router_ != nullptr) {
    router_->onTryData(*this, data, end_stream);
  }
}

void UpstreamRequest::decodeTrailers(common::HeaderMap& trailers) noexcept {
  if (router_ != nullptr) {
    router_->onTryTrailers(*this, trailers);
  }
}

void UpstreamRequest::onResetStream(http::StreamResetReason reason) noexcept {
  Http1UpstreamConnection* c = conn_;
  conn_ = nullptr;  // it closed itself
  if (router_ != nullptr) {
    bool started = c != nullptr && c->responseStarted();
    bool reused = c != nullptr && c->reused();
    router_->onTryReset(*this, reason, started, reused);
  }
}

void UpstreamRequest::onAboveWriteBufferHighWatermark() noexcept {
  if (router_ != nullptr) {
    router_->onTryWriteBlocked(*this, true);
  }
}

void UpstreamRequest::onBelowWriteBufferLowWatermark() noexcept {
  if (router_ != nullptr) {
    router_->onTryWriteBlocked(*this, false);
  }
}

void UpstreamRequest::onUpstreamConnected() noexcept {
  if (router_ != nullptr) {
    router_->onTryConnected(*this);
  }
}

void UpstreamRequest::onUpstreamReadEnd() noexcept {
  if (router_ != nullptr) {
    router_->onTryReadEnd(*this);
  }
}

void UpstreamRequest::onUpstreamDrained() noexcept {
  if (router_ != nullptr) {
    router_->onTryDrained(*this);
  }
}

}  // namespace remora::sidecar
