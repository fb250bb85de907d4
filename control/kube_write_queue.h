#pragma once
// KubeWriteQueue: writes to the API server on a thread of their own, one pending write per key
// (a newer wish for the same object replaces the older one), each retried a second later while
// it fails. The status writer and the registration store use it.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "control/kube_client.h"

namespace remora::control {

class KubeWriteQueue {
 public:
  using Write = std::function<common::Status(KubeClient& client)>;

  // `what` names the writes in log lines ("status", "registration slice"); `done` is called on
  // the queue's thread after every attempt with its outcome.
  KubeWriteQueue(KubeConfig config, std::string what, std::function<void(bool ok)> done);
  // Stops and joins; pending writes are dropped.
  ~KubeWriteQueue();

  void start();
  // Any thread. Queues `write` for `key`, replacing a pending one.
  void put(const std::string& key, Write write);
  // Any thread. Drops every pending write.
  void clear();

 private:
  void run();

  KubeClient client_;
  std::string what_;
  std::function<void(bool)> done_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, Write> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace remora::control
