#include "control/manifest_loader.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <climits>
#include <map>
#include <tuple>
#include <type_traits>

#include "control/http_route_validation.h"
#include "control/manifest_files.h"
#include "control/manifest_references.h"
#include "control/service_validation.h"
#include "control/traffic_policy_validation.h"
#include "xds/yaml_to_proto.h"

namespace remora::control {
namespace {

struct Kind {
  std::string_view api_version;
  std::string_view kind;
};
constexpr Kind kService{"v1", "Service"};
constexpr Kind kEndpointSlice{"discovery.k8s.io/v1", "EndpointSlice"};
constexpr Kind kEndpoints{"v1", "Endpoints"};
constexpr Kind kHttpRoute{"gateway.networking.k8s.io/v1", "HTTPRoute"};
constexpr Kind kTrafficPolicy{"policy.remora.dev/v1alpha1", "TrafficPolicy"};
constexpr Kind kList{"v1", "List"};
constexpr Kind kKinds[] = {kService, kEndpointSlice, kEndpoints, kHttpRoute, kTrafficPolicy, kList};

xds::SourcePos toPos(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0 || m.column < 0) {
    return {};
  }
  return {m.line + 1, m.column + 1};
}

const xds::ParseOptions& kubernetesOwnedOptions() {
  static const xds::ParseOptions options{.json_paths = true,
                                         .ignore_unknown = [](std::string_view) { return true; }};
  return options;
}

const xds::ParseOptions& meshOwnedOptions() {
  static const xds::ParseOptions options{
      .json_paths = true, .ignore_unknown = xds::ignoreUnknownUnder({"metadata", "status"})};
  return options;
}

// Reads "LINE:COL: " back from the front of `rest`; false (and `rest` untouched) without one.
bool takePosition(std::string_view* rest, xds::SourcePos* pos) {
  int values[2] = {0, 0};
  std::string_view s = *rest;
  for (int& v : values) {
    size_t digits = 0;
    while (digits < s.size() && digits < 9 && s[digits] >= '0' && s[digits] <= '9') {
      v = v * 10 + (s[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits == s.size() || s[digits] != ':') {
      return false;
    }
    s.remove_prefix(digits + 1);
  }
  *pos = {values[0], values[1]};
  *rest = s;
  return true;
}

// The path at the front of `rest` ("PATH: problem"): up to the first ": " outside quotes.
std::string takePath(std::string_view rest) {
  bool quoted = false;
  for (size_t i = 0; i + 1 < rest.size(); ++i) {
    if (quoted && rest[i] == '\\') {
      ++i;
    } else if (rest[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && rest[i] == ':' && rest[i + 1] == ' ') {
      return std::string(rest.substr(0, i));
    }
  }
  return "";
}

// Adds the parser's error lines ("FILE:LINE:COL: PATH: problem" or "FILE: problem") to
// `errors` with their positions read back, so that they sort with the validators' errors.
// Returns their paths ("" where none could be read, which quiets every semantic check).
std::vector<std::string> addParseErrors(const common::Status& status, const std::string& file,
                                        std::vector<ManifestError>* errors) {
  std::vector<std::string> paths;
  const std::string& text = status.message();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(start, end - start);
    xds::SourcePos pos;
    std::string path;
    std::string_view rest(line);
    if (rest.compare(0, file.size(), file) == 0 && rest.substr(file.size(), 1) == ":") {
      rest.remove_prefix(file.size() + 1);
      if (takePosition(&rest, &pos) && rest.substr(0, 1) == " ") {
        path = takePath(rest.substr(1));
      }
    }
    paths.push_back(std::move(path));
    errors->push_back({file, pos, std::move(line)});
    start = end + 1;
  }
  return paths;
}

// Loads one document of a file into `manifests`.
class DocumentLoader {
 public:
  DocumentLoader(const std::string& file, MeshManifests& manifests,
                 std::vector<ManifestError>* errors, std::set<std::string>* broken_services)
      : file_(file), manifests_(manifests), errors_(errors), broken_services_(broken_services) {}

  void document(const YAML::Node& doc, bool in_list);

 private:
  void error(xds::SourcePos pos, std::string_view path, std::string_view problem) {
    errors_->push_back({file_, pos, xds::formatConfigError(file_, pos, path, problem)});
  }

  template <typename T>
  void add(const YAML::Node& doc, const xds::ParseOptions& options,
           void (*validate)(const T&, ObjectChecker&), std::vector<Manifest<T>>* out) {
    Manifest<T> m;
    m.file = file_;
    common::Status parsed = xds::parseYamlNodeInto(doc, file_, &m.object, &m.map, options);
    std::vector<std::string> parse_error_paths;
    if (!parsed.isOk()) {
      parse_error_paths = addParseErrors(parsed, file_, errors_);
    }
    // Checked even after a parse error, so that every problem of the object shows at once.
    ObjectChecker check(file_, m.map, errors_, std::move(parse_error_paths));
    validate(m.object, check);
    if (m.object.metadata().namespace_().empty()) {
      m.object.mutable_metadata()->set_namespace_("default");
    }
    if (!parsed.isOk() || check.errorCount() > 0) {
      if constexpr (std::is_same_v<T, mesh::Service>) {
        if (!m.object.metadata().name().empty()) {
          broken_services_->insert(m.object.metadata().namespace_() + "/" +
                                   m.object.metadata().name());
        }
      }
      return;
    }
    m.pos = m.map.find("");
    out->push_back(std::move(m));
  }

  const std::string& file_;
  MeshManifests& manifests_;
  std::vector<ManifestError>* errors_;
  std::set<std::string>* broken_services_;
};

void DocumentLoader::document(const YAML::Node& doc, bool in_list) {
  const xds::SourcePos pos = toPos(doc.Mark());
  if (!doc.IsMap()) {
    error(pos, "", "expected a Kubernetes object (a mapping with apiVersion and kind)");
    return;
  }
  const YAML::Node api = doc["apiVersion"];
  const YAML::Node kind = doc["kind"];
  const bool has_api = api.IsDefined() && api.IsScalar();
  const bool has_kind = kind.IsDefined() && kind.IsScalar();
  if (!has_api) {
    error(api.IsDefined() ? toPos(api.Mark()) : pos, "apiVersion", "required (a string)");
  }
  if (!has_kind) {
    error(kind.IsDefined() ? toPos(kind.Mark()) : pos, "kind", "required (a string)");
  }
  if (!has_api || !has_kind) {
    return;
  }
  const Kind* known = nullptr;
  for (const Kind& k : kKinds) {
    if (k.kind == kind.Scalar()) {
      known = &k;
    }
  }
  if (known == nullptr || (known->kind == kList.kind && in_list)) {
    std::string names;
    for (const Kind& k : kKinds) {
      names += (names.empty() ? "" : ", ") + std::string(k.api_version) + " " + std::string(k.kind);
    }
    error(toPos(kind.Mark()), "kind",
          "unknown kind " + quote(kind.Scalar()) + " (apiVersion " + api.Scalar() +
              "); remora reads " + names);
    return;
  }
  if (known->api_version != api.Scalar()) {
    error(toPos(api.Mark()), "apiVersion",
          std::string(known->kind) + " is read as " + std::string(known->api_version) + ", got " +
              quote(api.Scalar()));
    return;
  }
  if (known->kind == kService.kind) {
    add(doc, kubernetesOwnedOptions(), validateService, &manifests_.services);
  } else if (known->kind == kEndpointSlice.kind) {
    add(doc, kubernetesOwnedOptions(), validateEndpointSlice, &manifests_.endpoint_slices);
  } else if (known->kind == kEndpoints.kind) {
    add(doc, kubernetesOwnedOptions(), validateEndpoints, &manifests_.endpoints);
  } else if (known->kind == kHttpRoute.kind) {
    add(doc, meshOwnedOptions(), validateHttpRoute, &manifests_.routes);
  } else if (known->kind == kTrafficPolicy.kind) {
    add(doc, meshOwnedOptions(), validateTrafficPolicy, &manifests_.policies);
  } else {
    const YAML::Node items = doc["items"];
    if (!items.IsDefined() || items.IsNull()) {
      return;  // an empty List
    }
    if (!items.IsSequence()) {
      error(toPos(items.Mark()), "items", "expected a sequence of objects");
      return;
    }
    for (const YAML::Node& item : items) {
      document(item, /*in_list=*/true);
    }
  }
}

// By file, then position; problems without a position last in their file.
bool byPosition(const ManifestError& a, const ManifestError& b) {
  auto key = [](const ManifestError& e) {
    return std::tuple(std::string_view(e.file), e.pos.known() ? e.pos.line : INT_MAX,
                      e.pos.known() ? e.pos.col : INT_MAX);
  };
  return key(a) < key(b);
}

}  // namespace

void ManifestLoader::addText(std::string_view text, const std::string& file) {
  const size_t first_error = errors_.size();
  addDocuments(text, file);
  capErrors(file, first_error);
}

void ManifestLoader::capErrors(const std::string& file, size_t first_error) {
  const size_t added = errors_.size() - first_error;
  if (added <= limits_.max_errors_per_file) {
    return;
  }
  auto first = errors_.begin() + static_cast<std::ptrdiff_t>(first_error);
  std::stable_sort(first, errors_.end(), byPosition);
  errors_.resize(first_error + limits_.max_errors_per_file);
  errors_.push_back({file,
                     {},
                     file + ": ... and " + std::to_string(added - limits_.max_errors_per_file) +
                         " more problems in this file (the first " +
                         std::to_string(limits_.max_errors_per_file) + " are listed)"});
}

void ManifestLoader::addDocuments(std::string_view text, const std::string& file) {
  ++manifests_.files;
  common::Status bounded = xds::checkYamlExpansion(text, file, limits_.yaml);
  if (!bounded.isOk()) {
    addParseErrors(bounded, file, &errors_);
    return;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    const xds::SourcePos pos = toPos(e.mark);
    errors_.push_back(
        {file, pos, xds::formatConfigError(file, pos, "", "YAML syntax error: " + e.msg)});
    return;
  }
  DocumentLoader loader(file, manifests_, &errors_, &broken_services_);
  for (const YAML::Node& doc : docs) {
    if (doc.IsNull()) {
      continue;  // blank documents: a leading or trailing "---", or a comment only
    }
    try {
      loader.document(doc, /*in_list=*/false);
    } catch (const YAML::Exception& e) {
      const xds::SourcePos pos = toPos(e.mark);
      errors_.push_back({file, pos, xds::formatConfigError(file, pos, "", e.msg)});
    }
  }
}

void ManifestLoader::addFile(const std::string& path, std::string* text_out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) > limits_.max_file_bytes) {
    ++manifests_.files;
    errors_.push_back({path, {}, tooLarge(path, static_cast<uint64_t>(st.st_size))});
    return;
  }
  auto text = xds::readConfigFile(path);
  if (text.isOk() && text.value().size() > limits_.max_file_bytes) {  // grew since stat()
    ++manifests_.files;
    errors_.push_back({path, {}, tooLarge(path, text.value().size())});
    return;
  }
  if (!text.isOk()) {
    ++manifests_.files;
    errors_.push_back({path, {}, text.status().message()});
    return;
  }
  addText(text.value(), path);
  if (text_out != nullptr) {
    *text_out = std::move(text.value());
  }
}

std::string ManifestLoader::tooLarge(const std::string& path, uint64_t size) const {
  return path + ": " + std::to_string(size) + " bytes is over the limit of " +
         std::to_string(limits_.max_file_bytes) +
         " bytes per manifest file (--max-manifest-bytes); the file is not read";
}

ManifestLoad ManifestLoader::finish() {
  checkReferences(manifests_, broken_services_, &errors_);
  std::stable_sort(errors_.begin(), errors_.end(), byPosition);
  ManifestLoad load;
  load.manifests = std::move(manifests_);
  for (ManifestError& e : errors_) {
    load.files_with_errors.insert(e.file);
    load.errors.push_back(std::move(e.text));
  }
  manifests_ = MeshManifests{};
  errors_.clear();
  broken_services_.clear();
  return load;
}

common::Result<ManifestLoad> loadManifests(const std::string& path, const ManifestLimits& limits) {
  auto files = listManifestFiles(path);
  if (!files.isOk()) {
    return files.status();
  }
  ManifestLoader loader(limits);
  for (const std::string& file : files.value()) {
    loader.addFile(file);
  }
  return loader.finish();
}

common::Result<ManifestLoad> LastGoodLoader::load(const std::string& path) {
  auto files = listManifestFiles(path);
  if (!files.isOk()) {
    return files.status();
  }
  std::vector<std::pair<std::string, std::string>> texts;  // what could be read
  ManifestLoader current(limits_);
  for (const std::string& f : files.value()) {
    std::string text;
    current.addFile(f, &text);
    texts.emplace_back(f, std::move(text));
  }
  return keepLastGood(current.finish(), std::move(texts));
}

ManifestLoad LastGoodLoader::loadTexts(std::vector<std::pair<std::string, std::string>> texts) {
  ManifestLoader current(limits_);
  for (const auto& [name, text] : texts) {
    current.addText(text, name);
  }
  return keepLastGood(current.finish(), std::move(texts));
}

ManifestLoad LastGoodLoader::keepLastGood(ManifestLoad load,
                                          std::vector<std::pair<std::string, std::string>> texts) {
  std::map<std::string, std::string> good;
  bool substitute = false;
  for (const std::string& f : load.files_with_errors) {
    substitute = substitute || last_good_.count(f) > 0;
  }
  if (substitute) {
    // Parts with problems take their last good version (when there is one) instead.
    ManifestLoader in_force(limits_);
    for (const auto& [f, text] : texts) {
      auto last = last_good_.find(f);
      if (load.files_with_errors.count(f) > 0 && last != last_good_.end()) {
        in_force.addText(last->second, f);
        good.insert(*last);
      } else {
        in_force.addText(text, f);
      }
    }
    ManifestLoad mixed = in_force.finish();
    load.manifests = std::move(mixed.manifests);
    // Problems that only the mix has (an old version naming what is gone) are reported too.
    std::set<std::string> seen(load.errors.begin(), load.errors.end());
    for (std::string& e : mixed.errors) {
      if (seen.insert(e).second) {
        load.errors.push_back(std::move(e));
      }
    }
  }
  for (auto& [f, text] : texts) {
    if (load.files_with_errors.count(f) == 0) {
      good[f] = std::move(text);
    }
  }
  last_good_ = std::move(good);  // parts gone are forgotten
  return load;
}

}  // namespace remora::control
