#include "control/cli/install_command.h"

#include <charconv>

#include "control/cli/args.h"
#include "control/field_checks.h"

namespace remora::control::cli {
namespace {

using common::Result;
using common::Status;

constexpr std::string_view kStandInPath = "k8s/crds/httproute-stand-in.yaml";
constexpr int kMaxReplicas = 100;
constexpr size_t kMaxImageLength = 512;

bool isCrd(const InstallFile& f) {
  return f.path.rfind("k8s/crds/", 0) == 0;
}

bool nameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A container image reference as registries spell them (name, ":tag", "@sha256:..."): what
// can be printed as a plain YAML scalar without quoting.
bool isImageReference(std::string_view image) {
  if (image.empty() || image.size() > kMaxImageLength || !nameChar(image.front()) ||
      image.front() == '-') {
    return false;
  }
  for (char c : image) {
    if (!nameChar(c) && c != '.' && c != '/' && c != ':' && c != '@') {
      return false;
    }
  }
  return true;
}

// The offsets of the lines of `text` that, once their indentation is stripped, start with `key`.
std::vector<size_t> linesStartingWith(std::string_view text, std::string_view key) {
  std::vector<size_t> found;
  size_t line = 0;
  while (line < text.size()) {
    size_t end = text.find('\n', line);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const size_t first = text.find_first_not_of(' ', line);
    if (first < end && text.substr(first, key.size()) == key) {
      found.push_back(first);
    }
    line = end + 1;
  }
  return found;
}

// Replaces the value of the only line "KEY VALUE" (indented or not) in `texts` by `value`.
Status replaceOnlyValue(std::vector<std::string>& texts, std::string_view key,
                        std::string_view value) {
  std::string* target = nullptr;
  size_t at = 0;
  int count = 0;
  for (std::string& text : texts) {
    for (size_t offset : linesStartingWith(text, key)) {
      target = &text;
      at = offset;
      ++count;
    }
  }
  if (count != 1) {
    return Status::internal("the embedded installation has " + std::to_string(count) + " '" +
                            std::string(key) + "' lines, expected exactly 1");
  }
  const size_t start = at + key.size();
  const size_t end = target->find('\n', start);
  target->replace(start, (end == std::string::npos ? target->size() : end) - start, value);
  return Status::ok();
}

// Replaces every "remora-system" that is not part of a longer name.
size_t replaceNamespace(std::string& text, std::string_view ns) {
  size_t replaced = 0;
  size_t pos = 0;
  while ((pos = text.find(kDefaultInstallNamespace, pos)) != std::string::npos) {
    const size_t end = pos + kDefaultInstallNamespace.size();
    const bool alone =
        (pos == 0 || !nameChar(text[pos - 1])) && (end == text.size() || !nameChar(text[end]));
    if (alone) {
      text.replace(pos, kDefaultInstallNamespace.size(), ns);
      pos += ns.size();
      ++replaced;
    } else {
      pos = end;
    }
  }
  return replaced;
}

bool holdsKind(std::string_view text, std::string_view kind) {
  for (size_t offset : linesStartingWith(text, "kind: ")) {
    const size_t end = text.find('\n', offset);
    const bool top_level = offset == 0 || text[offset - 1] == '\n';
    if (top_level && text.substr(offset, end - offset) == "kind: " + std::string(kind)) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<InstallOptions> parseInstallArgs(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  InstallOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<long>(i), args.end());
      break;
    }
    if (args[i] == "--gateway-api-stand-in") {
      o.gateway_api_stand_in = true;
    } else {
      rest.push_back(args[i]);
    }
  }
  auto parsed = parseCommandArgs("install", rest, {"--namespace", "--replicas", "--image"});
  if (!parsed.isOk()) {
    return parsed.status();
  }
  const CommandArgs& a = parsed.value();
  if (!a.positionals.empty()) {
    return Status::invalid("install takes no arguments, got '" + a.positionals.front() + "'");
  }
  if (auto it = a.flags.find("--namespace"); it != a.flags.end()) {
    if (!isDnsLabel(it->second)) {
      return Status::invalid(
          "install: --namespace wants a namespace name (a DNS-1123 label: "
          "at most 63 of a-z, 0-9 and '-', alphanumeric at both ends), got '" +
          it->second + "'");
    }
    o.ns = it->second;
  }
  if (auto it = a.flags.find("--replicas"); it != a.flags.end()) {
    const std::string& v = it->second;
    int n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || n < 1 ||
        n > kMaxReplicas) {
      return Status::invalid("install: --replicas wants a whole number from 1 to " +
                             std::to_string(kMaxReplicas) + ", got '" + v + "'");
    }
    o.replicas = n;
  }
  if (auto it = a.flags.find("--image"); it != a.flags.end()) {
    if (!isImageReference(it->second)) {
      return Status::invalid(
          "install: --image wants an image reference such as "
          "registry.example.com/remora-control:0.1.0 (letters, digits and ._-/:@), got '" +
          it->second + "'");
    }
    o.image = it->second;
  }
  return o;
}

Result<std::string> renderInstall(const std::vector<InstallFile>& files,
                                  const InstallOptions& options) {
  // CRDs first: objects of their kinds could follow in the same `kubectl apply`.
  std::vector<std::string> texts;
  for (bool crds : {true, false}) {
    for (const InstallFile& f : files) {
      if (isCrd(f) != crds || (f.path == kStandInPath && !options.gateway_api_stand_in)) {
        continue;
      }
      if (options.replicas == 1 && holdsKind(f.text, "PodDisruptionBudget")) {
        continue;
      }
      texts.emplace_back(f.text);
    }
  }
  if (options.ns != kDefaultInstallNamespace) {
    size_t replaced = 0;
    for (std::string& text : texts) {
      replaced += replaceNamespace(text, options.ns);
    }
    if (replaced == 0) {
      return Status::internal("the embedded installation never names the namespace " +
                              std::string(kDefaultInstallNamespace));
    }
  }
  if (options.replicas != kDefaultInstallReplicas) {
    if (Status s = replaceOnlyValue(texts, "replicas: ", std::to_string(options.replicas));
        !s.isOk()) {
      return s;
    }
  }
  if (!options.image.empty()) {
    if (Status s = replaceOnlyValue(texts, "image: ", options.image); !s.isOk()) {
      return s;
    }
  }
  std::string out;
  for (const std::string& text : texts) {
    out += text;
  }
  return out;
}

int runInstall(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  auto options = parseInstallArgs(args);
  if (!options.isOk()) {
    return usageError(err, options.status().message());
  }
  auto text = renderInstall(embeddedInstallFiles(), options.value());
  if (!text.isOk()) {
    return commandFailure(err, "install", text.status().message());
  }
  const std::string& yaml = text.value();
  if (std::fwrite(yaml.data(), 1, yaml.size(), out) != yaml.size() || std::fflush(out) != 0) {
    return commandFailure(err, "install", "cannot write the output");
  }
  return kExitOk;
}

}  // namespace remora::control::cli
