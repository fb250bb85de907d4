#pragma once
// AccessLogWriter: the one thread that writes the access log. Workers hand it batches of whole
// lines (AccessLogBuffer); it writes what has come in since its last write with one writev(2),
// in the order the batches came. Being the only writer of the access log in the process, no two
// workers' lines can be mixed inside a line, whatever the output is (file, pipe, terminal).
//
// A slow or stuck output blocks this thread, never a worker: the writer holds at most
// `max_queued_bytes` unwritten and refuses further batches (the workers then keep, and past
// their own cap drop, their lines). A batch it cannot write at all (the output is closed or
// full) is dropped and its lines counted.

#include <sys/uio.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/stats.h"
#include "sidecar/access_log_buffer.h"

namespace remora::sidecar {

class AccessLogWriter final : public AccessLogSink {
 public:
  // Starts the thread. Writes to `fd` (not owned; blocking or not). Lines lost to a write error
  // are counted in `dropped` in `shard`, which no other thread writes.
  AccessLogWriter(int fd, size_t max_queued_bytes, common::StatsShard& shard,
                  common::Counter dropped);
  // Writes everything taken so far and ends the thread, however long the output takes.
  ~AccessLogWriter() override;
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Thread-safe. Refuses (returns false) while it holds batches and `lines` would take it past
  // max_queued_bytes, unless `force`.
  bool take(std::string& lines, bool force) override;
  // Writes everything taken so far, then ends the thread. Call it after the last take(). Returns
  // false when the output has not taken it all within `timeout` (a stuck pipe): the thread is
  // still blocked in a write, and the writer must then be left alive (leaked) at exit.
  bool stop(std::chrono::milliseconds timeout);

 private:
  void run();
  // Writes `batch` whole (retrying short writes, waiting while the output is full); on an error
  // counts the lines left unwritten as dropped.
  void writeBatch(const std::vector<std::string>& batch);
  // Counts the lines of iov_[first..] as dropped and logs `error` (once per kind of error).
  void dropRest(size_t first, int error);

  const int fd_;
  const size_t max_queued_bytes_;
  common::StatsShard& shard_;
  const common::Counter dropped_;
  std::mutex mu_;
  std::condition_variable wake_;    // the writer thread: work or stop
  std::condition_variable done_;    // stop(): everything written
  std::vector<std::string> queue_;  // guarded by mu_
  size_t queued_bytes_ = 0;         // guarded by mu_: taken and not yet written
  bool stopping_ = false;           // guarded by mu_
  bool finished_ = false;           // guarded by mu_: the thread wrote everything and returned
  std::vector<iovec> iov_;          // writer thread
  int last_errno_ = 0;              // writer thread: the error last logged
  std::thread thread_;
};

}  // namespace remora::sidecar
