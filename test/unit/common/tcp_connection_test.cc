// TcpConnection on a socketpair-backed loop: cork/uncork, watermarks, FIN after flush, and
// a clean loop close. (A loop and real sockets, no threads or sleeps: deadlines via uv_run.)

#include "common/tcp_connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common/event_loop.h"

namespace remora::common {
namespace {

class Recorder final : public TcpConnection::Handler {
 public:
  void onData(const char* data, size_t len) noexcept override { received.append(data, len); }
  void onEof() noexcept override { eof = true; }
  void onError(int) noexcept override { error = true; }
  void onHighWatermark() noexcept override { ++high; }
  void onLowWatermark() noexcept override { ++low; }
  void onDrained() noexcept override { ++drained; }
  std::string received;
  bool eof = false;
  bool error = false;
  int high = 0;
  int low = 0;
  int drained = 0;
};

// Runs the loop until `done` or 2000 iterations (each waits at most for pending I/O).
template <typename F>
void runUntil(EventLoop& loop, F done) {
  for (int i = 0; i < 2000 && !done(); ++i) {
    uv_run(loop.uv(), UV_RUN_NOWAIT);
  }
}

class TcpConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    a_ = std::make_unique<TcpConnection>(loop_, ra_);
    b_ = std::make_unique<TcpConnection>(loop_, rb_);
    ASSERT_EQ(a_->open(fds[0]), 0);
    ASSERT_EQ(b_->open(fds[1]), 0);
    a_->readStart();
    b_->readStart();
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    EXPECT_EQ(loop_.closeAll(), 0);
  }

  EventLoop loop_;
  Recorder ra_;
  Recorder rb_;
  std::unique_ptr<TcpConnection> a_;
  std::unique_ptr<TcpConnection> b_;
};

TEST_F(TcpConnectionTest, WritesArriveInOrderAcrossSlices) {
  a_->write("one ");
  a_->write("two ", "three ");
  a_->write("four ", "five ", "six");
  runUntil(loop_, [&] { return rb_.received.size() == 27; });
  EXPECT_EQ(rb_.received, "one two three four five six");
}

TEST_F(TcpConnectionTest, CorkedWritesWaitForUncork) {
  a_->cork();
  a_->write("head|");
  a_->write("body");
  EXPECT_EQ(a_->pendingBytes(), 9u);  // queued, not sent
  for (int i = 0; i < 20; ++i) {
    uv_run(loop_.uv(), UV_RUN_NOWAIT);
  }
  EXPECT_TRUE(rb_.received.empty());
  a_->uncork();
  EXPECT_EQ(a_->pendingBytes(), 0u);  // one write took everything
  runUntil(loop_, [&] { return rb_.received.size() == 9; });
  EXPECT_EQ(rb_.received, "head|body");
}

TEST_F(TcpConnectionTest, UncorkWithExtraSendsBothInOrderWithoutQueueing) {
  a_->cork();
  a_->write("head|");
  a_->uncork("body-without-copy");
  EXPECT_FALSE(a_->corked());
  EXPECT_EQ(a_->pendingBytes(), 0u);
  a_->uncork("|more");  // not corked: a plain write
  runUntil(loop_, [&] { return rb_.received.size() == 27; });
  EXPECT_EQ(rb_.received, "head|body-without-copy|more");
}

TEST_F(TcpConnectionTest, ShutdownWhileCorkedSendsFinAfterTheData) {
  a_->cork();
  a_->write("last words");
  a_->shutdownAfterFlush();
  a_->uncork();
  runUntil(loop_, [&] { return rb_.eof; });
  EXPECT_EQ(rb_.received, "last words");
  EXPECT_TRUE(rb_.eof);
}

TEST_F(TcpConnectionTest, WatermarksFireWhenThePeerStopsReadingAndResumes) {
  b_->readStop();  // the peer does not read: the kernel buffers fill, then ours
  a_->setWatermarks(64 * 1024, 16 * 1024);
  std::string chunk(64 * 1024, 'x');
  size_t written = 0;
  for (int i = 0; i < 200 && ra_.high == 0; ++i) {
    a_->write(chunk);
    written += chunk.size();
  }
  ASSERT_EQ(ra_.high, 1) << "no high watermark after " << written << " bytes";
  EXPECT_TRUE(a_->aboveHighWatermark());
  b_->readStart();
  runUntil(loop_, [&] { return rb_.received.size() == written; });
  EXPECT_EQ(rb_.received.size(), written);
  EXPECT_EQ(ra_.low, 1);
  EXPECT_GE(ra_.drained, 1);
  EXPECT_FALSE(a_->aboveHighWatermark());
}

TEST_F(TcpConnectionTest, DestroyingTheOwnerWithQueuedBytesIsSafe) {
  b_->readStop();
  std::string chunk(256 * 1024, 'y');
  for (int i = 0; i < 40; ++i) {
    a_->write(chunk);
  }
  EXPECT_GT(a_->pendingBytes(), 0u);
  a_.reset();  // the uv handle and buffers outlive the owner until libuv's close callback
  b_->readStart();
  runUntil(loop_, [&] { return rb_.eof || rb_.error; });
  EXPECT_TRUE(rb_.eof || rb_.error);
}

}  // namespace
}  // namespace remora::common
