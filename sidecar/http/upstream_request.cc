#include "sidecar/http/upstream_request.h"

#include "sidecar/http/router.h"

namespace remora::sidecar {

UpstreamRequest::UpstreamRequest(Router& router, UpstreamConnection& conn) noexcept
    : router_(&router), conn_(&conn), encoder_(&conn.attach(*this, *this)), reused_(conn.reused()) {
  encoder_->setCallbacks(*this);
}

void UpstreamRequest::detach(bool reusable) noexcept {
  router_ = nullptr;
  UpstreamConnection* c = conn_;
  conn_ = nullptr;
  if (c != nullptr) {
    c->release(*this, reusable);
  }
}

void UpstreamRequest::decode1xxHeaders(http::ResponseHead& head) noexcept {
  response_started_ = true;
  if (router_ != nullptr) {
    router_->onTry1xx(*this, head);
  }
}

void UpstreamRequest::decodeHeaders(http::ResponseHead& head, bool end_stream) noexcept {
  response_started_ = true;
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
  UpstreamConnection* c = conn_;
  conn_ = nullptr;  // its stream is over (HTTP/1: it closed itself)
  if (c != nullptr) {
    c->forget(*this);
  }
  if (router_ != nullptr) {
    bool started = response_started_ || (c != nullptr && c->responseStarted());
    router_->onTryReset(*this, reason, started, reused_);
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
