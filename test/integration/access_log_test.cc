// The access log's output path: the writer thread against real pipes (short writes, a full
// output, a closed one), and a real remora-sidecar whose access log costs a few write(2) calls
// per burst rather than one per request and is complete after SIGTERM.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"
#include "common/stats.h"
#include "sidecar/access_log_writer.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

// A pipe whose ends close with the object; its buffer is as small as the kernel allows (one
// page), so writes come up short.
struct SmallPipe {
  int read_fd = -1;
  int write_fd = -1;
  size_t capacity = 0;
  explicit SmallPipe(int write_flags) {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    read_fd = fds[0];
    write_fd = fds[1];
    int size = fcntl(write_fd, F_SETPIPE_SZ, 4096);
    EXPECT_GT(size, 0);
    capacity = static_cast<size_t>(size);
    fcntl(write_fd, F_SETFL, fcntl(write_fd, F_GETFL) | write_flags);
  }
  ~SmallPipe() {
    closeRead();
    closeWrite();
  }
  void closeRead() {
    if (read_fd >= 0) {
      ::close(read_fd);
      read_fd = -1;
    }
  }
  void closeWrite() {
    if (write_fd >= 0) {
      ::close(write_fd);
      write_fd = -1;
    }
  }
};

// Reads `fd` to EOF on its own thread (bounded: the test closes the write end).
class PipeReader {
 public:
  explicit PipeReader(int fd)
      : thread_([this, fd] {
          char buf[1000];  // smaller than a batch: the writer outruns the reader
          ssize_t n;
          while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
            text_.append(buf, static_cast<size_t>(n));
          }
        }) {}
  ~PipeReader() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  // Waits for EOF; then the text read.
  const std::string& text() {
    thread_.join();
    return text_;
  }

 private:
  std::string text_;
  std::thread thread_;
};

// Whole lines naming batch `b`, at least `bytes` bytes in all.
std::string batchOf(int b, size_t bytes) {
  std::string s;
  for (int l = 0; s.size() < bytes; ++l) {
    s += "batch " + std::to_string(b) + " line " + std::to_string(l) + " " + std::string(60, 'x') +
         "\n";
  }
  return s;
}

class AccessLogWriterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }
  int64_t dropped() const { return stats_.valueOf("remora_access_log_dropped_total"); }

  common::StatsStore stats_{1};
  common::Counter dropped_ = stats_.counter("remora_access_log_dropped_total");
};

TEST_F(AccessLogWriterTest, EveryBatchIsWrittenWholeAndInOrderThroughShortNonBlockingWrites) {
  SmallPipe pipe(O_NONBLOCK);
  PipeReader reader(pipe.read_fd);
  sidecar::AccessLogWriter writer(pipe.write_fd, size_t{1} << 26, stats_.shard(0), dropped_);
  std::string expected;
  for (int b = 0; b < 40; ++b) {
    std::string batch = batchOf(b, 2 * pipe.capacity);
    expected += batch;
    ASSERT_TRUE(writer.take(batch, /*force=*/false)) << "under the cap";
    EXPECT_TRUE(batch.empty()) << "the writer took the lines";
  }
  ASSERT_TRUE(writer.stop(10s));
  pipe.closeWrite();
  const std::string& got = reader.text();
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the bytes differ (sizes " << got.size() << ", "
                               << expected.size() << ")";
  EXPECT_EQ(dropped(), 0);
}

TEST_F(AccessLogWriterTest, AStuckOutputRefusesBatchesPastTheCapButTakesTheShutdownOnes) {
  SmallPipe pipe(0);  // blocking, and nobody reads yet: the writer blocks in write(2)
  std::string first = batchOf(0, 2 * pipe.capacity);
  std::string second = batchOf(1, 2 * pipe.capacity);
  const std::string expected = first + second;
  sidecar::AccessLogWriter writer(pipe.write_fd, first.size() + second.size() - 1, stats_.shard(0),
                                  dropped_);
  ASSERT_TRUE(writer.take(first, false));
  // `first` cannot have left through a pipe half its size that nobody reads: with `second` the
  // writer would hold more than its cap.
  EXPECT_FALSE(writer.take(second, false));
  EXPECT_FALSE(second.empty()) << "a refused batch stays with the worker";
  EXPECT_TRUE(writer.take(second, /*force=*/true));

  PipeReader reader(pipe.read_fd);
  ASSERT_TRUE(writer.stop(10s));
  pipe.closeWrite();
  EXPECT_TRUE(reader.text() == expected);
  EXPECT_EQ(dropped(), 0);
}

TEST_F(AccessLogWriterTest, LinesAnOutputNoLongerTakesAreDroppedAndCounted) {
  SmallPipe pipe(0);
  pipe.closeRead();  // EPIPE
  sidecar::AccessLogWriter writer(pipe.write_fd, 1 << 20, stats_.shard(0), dropped_);
  for (int b = 0; b < 3; ++b) {
    std::string batch;
    for (int l = 0; l < 10; ++l) {
      batch += "batch " + std::to_string(b) + " line " + std::to_string(l) + "\n";
    }
    ASSERT_TRUE(writer.take(batch, false));
  }
  ASSERT_TRUE(writer.stop(10s));
  EXPECT_EQ(dropped(), 30);
}

// ---- remora-sidecar -----------------------------------------------------------------------

// write(2)-family calls made by every thread of `pid` so far (the kernel's syscw), -1 when
// /proc does not say. The proxy's socket writes are send(2)/sendmsg(2), which syscw does not
// count (they bypass the VFS): what it counts here is the access log's writes.
long long writeCalls(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  long long value = -1;
  while (in >> key >> value) {
    if (key == "syscw:") {
      return value;
    }
  }
  return -1;
}

size_t linesContaining(const std::string& path, const std::string& needle) {
  size_t n = 0;
  for (const std::string& l : splitLines(readFile(path))) {
    n += l.find(needle) != std::string::npos ? 1 : 0;
  }
  return n;
}

class AccessLogSidecarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "echo");
    ASSERT_FALSE(echo_.address.empty());
  }

  // The write calls a sidecar makes for `kRequests` keep-alive requests on one connection,
  // counted until all their access log lines are out when the log is on.
  long long writeCallsForBurst(const std::string& access_log) {
    Sidecar s = Sidecar::start(
        dir_, "sidecar-" + access_log,
        {"--listen", "127.0.0.1:0", "--upstream", echo_.address, "--access-log", access_log});
    EXPECT_FALSE(s.admin.empty()) << readFile(s.stderr_file);
    if (s.admin.empty()) {
      return -1;
    }
    HttpClient c(s.main(), 3s);
    auto warm = c.get("/warm");  // connections to the sidecar and to the upstream are open
    EXPECT_TRUE(warm.isOk() && warm.value().status == 200);
    const long long before = writeCalls(s.process.pid());
    for (size_t i = 0; i < kRequests; ++i) {
      auto r = c.get("/burst/" + std::to_string(i));
      EXPECT_TRUE(r.isOk() && r.value().status == 200) << i;
    }
    if (access_log == "on") {
      EXPECT_TRUE(eventually(
          [&] { return linesContaining(s.stdout_file, "\"GET /burst/") == kRequests; }, 5s, 20ms))
          << linesContaining(s.stdout_file, "\"GET /burst/") << " lines";
    }
    const long long after = writeCalls(s.process.pid());
    c.close();  // the drain need not wait out its grace for this connection
    s.process.stop();
    return before < 0 || after < 0 ? -1 : after - before;
  }

  static constexpr size_t kRequests = 200;
  TempDir dir_;
  Echo echo_;
};

TEST_F(AccessLogSidecarTest, ABurstOfRequestsIsLoggedWithAFewWritesNotOnePerRequest) {
  const long long without_log = writeCallsForBurst("off");
  const long long with_log = writeCallsForBurst("on");
  if (without_log < 0 || with_log < 0) {
    GTEST_SKIP() << "/proc/PID/io has no syscw here";
  }
  // The log's lines went out with write(2), and the counter saw them.
  EXPECT_GE(with_log, 1);
  EXPECT_LE(with_log - without_log, static_cast<long long>(kRequests / 10))
      << with_log << " write calls with the access log, " << without_log << " without, for "
      << kRequests << " requests";
}

TEST_F(AccessLogSidecarTest, EveryRequestIsLoggedWholeAndInOrderWhenSigtermEndsTheProcess) {
  Sidecar s = Sidecar::quick(dir_, {echo_.address}, {"--concurrency", "2"});
  ASSERT_FALSE(s.admin.empty()) << readFile(s.stderr_file);
  constexpr int kConnections = 4;
  constexpr int kPerConnection = 50;
  std::vector<HttpClient> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back(s.main(), 3s);
  }
  // Round after round, so that the connections' lines are mixed in time.
  for (int i = 0; i < kPerConnection; ++i) {
    for (int c = 0; c < kConnections; ++c) {
      auto r = clients[c].get("/seq/c" + std::to_string(c) + "/" + std::to_string(i));
      ASSERT_TRUE(r.isOk() && r.value().status == 200) << c << " " << i;
    }
  }
  for (HttpClient& c : clients) {
    c.close();
  }
  s.process.signal(SIGTERM);
  ASSERT_EQ(s.process.wait(10s), 0) << readFile(s.stderr_file);

  const std::regex whole(
      R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET /seq/c(\d)/(\d+) HTTP/1\.1" 200 - .* listener=main)");
  std::vector<std::vector<int>> seen(kConnections);
  size_t lines = 0;
  for (const std::string& l : splitLines(readFile(s.stdout_file))) {
    if (l.find("/seq/") == std::string::npos) {
      continue;
    }
    ++lines;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, whole)) << "not one whole line: " << l;
    seen[std::stoi(m[1])].push_back(std::stoi(m[2]));
  }
  EXPECT_EQ(lines, static_cast<size_t>(kConnections * kPerConnection));
  std::vector<int> in_order(kPerConnection);
  for (int i = 0; i < kPerConnection; ++i) {
    in_order[i] = i;
  }
  for (int c = 0; c < kConnections; ++c) {
    EXPECT_EQ(seen[c], in_order) << "connection " << c;
  }
}

}  // namespace
}  // namespace remora::test
