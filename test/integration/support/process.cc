#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/http_client.h"

namespace remora::test {

using namespace std::chrono_literals;

TempDir::TempDir() {
  char tmpl[] = "/tmp/remora-it-XXXXXX";
  char* p = mkdtemp(tmpl);
  path_ = p ? p : "/tmp";
}

TempDir::~TempDir() {
  // REMORA_TEST_KEEP_DIRS=1 keeps them (the binaries' logs) for a look after a failure.
  const char* keep = std::getenv("REMORA_TEST_KEEP_DIRS");
  if (keep != nullptr && std::string(keep) == "1") {
    std::fprintf(stderr, "kept %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  std::string p = file(name);
  std::ofstream out(p, std::ios::trunc);
  out << text;
  return p;
}

Process::~Process() {
  stop(1000ms);
}

Process::Process(Process&& o) noexcept : pid_(o.pid_), exit_code_(o.exit_code_) {
  o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    stop(1000ms);
    pid_ = o.pid_;
    exit_code_ = o.exit_code_;
    o.pid_ = -1;
  }
  return *this;
}

bool Process::start(const std::vector<std::string>& argv, const std::string& stdout_file,
                    const std::string& stderr_file) {
  pid_t pid = fork();
  if (pid < 0) {
    return false;
  }
  if (pid == 0) {
    int out = open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) {
      dup2(out, 1);
    }
    if (err >= 0) {
      dup2(err, 2);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
  exit_code_ = -1;
  return true;
}

bool Process::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (pid_ > 0) {
    kill(pid_, sig);
  }
}

int Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      return exit_code_;
    }
    std::this_thread::sleep_for(10ms);
  }
  return running() ? -1 : exit_code_;
}

void Process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) {
    return;
  }
  signal(SIGTERM);
  if (wait(grace) == -1 && pid_ > 0) {
    signal(SIGKILL);
    wait(2000ms);
  }
}

long Process::rssKb() const {
  if (pid_ <= 0) {
    return 0;
  }
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtol(line.c_str() + 6, nullptr, 10);
    }
  }
  return 0;
}

std::string programPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) {
      colon = dirs.size();
    }
    const std::string candidate = dirs.substr(start, colon - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = colon + 1;
  }
  return "";
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string waitForReadyFile(const std::string& path, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = readFile(path);
    if (!text.empty() && text.find('}') != std::string::npos) {
      return text;
    }
    std::this_thread::sleep_for(10ms);
  }
  return {};
}

std::map<std::string, std::string> jsonStrings(const std::string& json) {
  std::map<std::string, std::string> out;
  static const std::regex kv("\"([^\"]+)\"\\s*:\\s*\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), kv); it != std::sregex_iterator();
       ++it) {
    out.emplace((*it)[1].str(), (*it)[2].str());
  }
  return out;
}

long long jsonInt(const std::string& json, const std::string& key, long long fallback) {
  std::regex re("\"" + key + "\"\\s*:\\s*(-?[0-9]+)");
  std::smatch m;
  if (std::regex_search(json, m, re)) {
    return std::stoll(m[1].str());
  }
  return fallback;
}

std::string configErrorOf(const TempDir& dir, const std::string& yaml) {
  std::string path = dir.write("bad.yaml", yaml);
  Process p;
  if (!p.start({sidecarBin(), "--config", path}, dir.file("bad.out"), dir.file("bad.err"))) {
    return "could not start the sidecar";
  }
  int code = p.wait(5000ms);
  std::string err = readFile(dir.file("bad.err"));
  return code == 2 ? err : "exit " + std::to_string(code) + ": " + err;
}

std::string sidecarBin() {
  return REMORA_SIDECAR_BIN;
}
std::string echoBin() {
  return REMORA_ECHO_BIN;
}

Echo Echo::start(const TempDir& dir, const std::string& id, const std::vector<std::string>& extra) {
  Echo e;
  std::string ready = dir.file(id + ".ready");
  std::vector<std::string> argv = {echoBin(),      "--listen", "127.0.0.1:0", "--id", id,
                                   "--ready-file", ready,      "--log-level", "warn"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (!e.process.start(argv, dir.file(id + ".out"), dir.file(id + ".err"))) {
    return e;
  }
  std::string text = waitForReadyFile(ready);
  auto kv = jsonStrings(text);
  e.address = kv["listen"];
  return e;
}

Sidecar Sidecar::start(const TempDir& dir, const std::string& name, std::vector<std::string> args) {
  Sidecar s;
  std::string ready = dir.file(name + ".ready");
  std::vector<std::string> argv = {sidecarBin()};
  bool has_admin = false;
  for (const std::string& a : args) {
    has_admin = has_admin || a == "--admin";
  }
  argv.insert(argv.end(), args.begin(), args.end());
  if (!has_admin) {
    argv.insert(argv.end(), {"--admin", "127.0.0.1:0"});
  }
  argv.insert(argv.end(), {"--ready-file", ready});
  s.stdout_file = dir.file(name + ".out");
  s.stderr_file = dir.file(name + ".err");
  if (!s.process.start(argv, s.stdout_file, s.stderr_file)) {
    return s;
  }
  std::string text = waitForReadyFile(ready);
  if (text.empty()) {
    return s;
  }
  auto kv = jsonStrings(text);
  s.admin = kv["admin"];
  kv.erase("admin");
  s.listeners = kv;
  return s;
}

Sidecar Sidecar::quick(const TempDir& dir, const std::vector<std::string>& upstreams,
                       std::vector<std::string> extra) {
  std::string list;
  for (const std::string& u : upstreams) {
    list += (list.empty() ? "" : ",") + u;
  }
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--upstream", list};
  args.insert(args.end(), extra.begin(), extra.end());
  return start(dir, "sidecar", args);
}

Sidecar Sidecar::config(const TempDir& dir, const std::string& yaml,
                        std::vector<std::string> extra) {
  std::string path = dir.write("bootstrap.yaml", yaml);
  std::vector<std::string> args = {"--config", path};
  args.insert(args.end(), extra.begin(), extra.end());
  return start(dir, "sidecar", args);
}

std::string Sidecar::adminGet(const std::string& path) const {
  auto r = common::HttpClient::fetch(admin, "GET", path);
  return r.isOk() ? r.value().body : std::string();
}

long long Sidecar::stat(const std::string& series) const {
  // `name{a="x",b="y"}`: the sum of the series of that name whose labels include these (as a
  // Prometheus selector does), so a query keeps working when a metric gains a label.
  size_t brace = series.find('{');
  std::string name = series.substr(0, brace);
  std::vector<std::string> wanted;
  if (brace != std::string::npos && series.size() > brace + 2) {
    std::string labels = series.substr(brace + 1, series.size() - brace - 2);
    size_t start = 0;
    while (start < labels.size()) {
      size_t end = labels.find("\",", start);
      end = end == std::string::npos ? labels.size() : end + 1;
      wanted.push_back(labels.substr(start, end - start));
      start = end + 1;
    }
  }
  std::string stats = adminGet("/stats");
  std::istringstream in(stats);
  std::string line;
  long long sum = 0;
  bool found = false;
  while (std::getline(in, line)) {
    size_t space = line.rfind(' ');
    if (space == std::string::npos) {
      continue;
    }
    std::string key = line.substr(0, space);
    size_t kb = key.find('{');
    if (key.substr(0, kb) != name) {
      continue;
    }
    std::string have = kb == std::string::npos ? "" : key.substr(kb);
    bool all = true;
    for (const std::string& w : wanted) {
      // (each wanted pair ends with its closing quote; match it with a delimiter before)
      all = all &&
            (have.find("{" + w) != std::string::npos || have.find("," + w) != std::string::npos);
    }
    if (all) {
      sum += std::stoll(line.substr(space + 1));
      found = true;
    }
  }
  return found ? sum : -1;
}

long long Sidecar::endpointStat(const std::string& cluster, const std::string& endpoint,
                                const std::string& field) const {
  std::string json = adminGet("/clusters");
  size_t c = json.find("\"name\":\"" + cluster + "\"");
  if (c == std::string::npos) {
    return -1;
  }
  size_t e = json.find("\"address\":\"" + endpoint + "\"", c);
  if (e == std::string::npos) {
    return -1;
  }
  size_t end = json.find('}', e);
  return jsonInt(json.substr(e, end - e), field);
}

}  // namespace remora::test
