#pragma once
// Test support: start the real binaries on 127.0.0.1, wait for their ready files, stop them.
// Every wait has a deadline; a process still running when its object dies is killed.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace remora::test {

// A scratch directory removed with its contents when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` to `name` inside the directory; returns the full path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

class Process {
 public:
  Process() = default;
  ~Process();
  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts `argv[0]` with stdout/stderr sent to files. Returns false if fork/exec failed.
  bool start(const std::vector<std::string>& argv, const std::string& stdout_file,
             const std::string& stderr_file);
  pid_t pid() const { return pid_; }
  bool running();
  // Sends a signal.
  void signal(int sig);
  // Waits for the exit; returns the exit code (128+N for signal N), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // Resident set size in KiB (from /proc), 0 when unknown.
  long rssKb() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Waits for `path` to exist with a complete JSON object; returns its text or "" on timeout.
std::string waitForReadyFile(const std::string& path,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
// `"key":"value"` string values of a flat or nested JSON text (first occurrence of each key).
std::map<std::string, std::string> jsonStrings(const std::string& json);
// The integer value of the first `"key":N` in a JSON text; `fallback` when absent.
long long jsonInt(const std::string& json, const std::string& key, long long fallback = -1);
std::string readFile(const std::string& path);
// The path of a program found in PATH (curl, openssl, h2load...); "" when absent.
std::string programPath(const std::string& name);

// A remora-echo instance.
struct Echo {
  Process process;
  std::string address;  // "127.0.0.1:PORT"
  // Starts remora-echo with `--listen 127.0.0.1:0` plus `extra` flags; empty address on failure.
  static Echo start(const TempDir& dir, const std::string& id,
                    const std::vector<std::string>& extra = {});
};

// A remora-sidecar instance.
struct Sidecar {
  Process process;
  std::string admin;                             // "127.0.0.1:PORT"
  std::map<std::string, std::string> listeners;  // name -> "127.0.0.1:PORT"
  std::string stdout_file;
  std::string stderr_file;
  // Starts remora-sidecar with `args` (plus --ready-file and, unless given, --admin
  // 127.0.0.1:0); empty admin on failure.
  static Sidecar start(const TempDir& dir, const std::string& name, std::vector<std::string> args);
  // Quick mode: one listener "main" in front of `upstreams`.
  static Sidecar quick(const TempDir& dir, const std::vector<std::string>& upstreams,
                       std::vector<std::string> extra = {});
  // Config mode: `yaml` is written to a file; "PORT0" style placeholders are the caller's job.
  static Sidecar config(const TempDir& dir, const std::string& yaml,
                        std::vector<std::string> extra = {});
  const std::string& main() const { return listeners.at("main"); }
  // GET on the admin port; returns the body ("" on failure).
  std::string adminGet(const std::string& path) const;
  // A counter or gauge from /stats, e.g. stat("remora_upstream_rq_total{cluster=\"c\",...}"):
  // the sum of every series of that name whose labels include the given ones; -1 when none.
  long long stat(const std::string& series) const;
  // A number of one endpoint in /clusters (e.g. "active_requests", "requests_total",
  // "errors_total"); -1 when the cluster or endpoint is not there.
  long long endpointStat(const std::string& cluster, const std::string& endpoint,
                         const std::string& field) const;
};

// Starts the sidecar on `yaml` (written to DIR/bad.yaml), expects exit code 2 within 5 s and
// returns its stderr; on any other outcome returns "exit N: <stderr>" so assertions show it.
std::string configErrorOf(const TempDir& dir, const std::string& yaml);

std::string sidecarBin();
std::string echoBin();

}  // namespace remora::test
