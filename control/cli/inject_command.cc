#include "control/cli/inject_command.h"

#include <algorithm>

#include "control/cli/args.h"
#include "control/cli/json_value.h"
#include "control/cli/yaml_value.h"
#include "xds/yaml_to_proto.h"

namespace remora::control::cli {

using common::Result;
using common::Status;
using google::protobuf::Value;

namespace {

// Bounds the memory a huge or endless input can take.
constexpr size_t kMaxInputBytes = 64 * 1024 * 1024;

std::string kindOf(const Value& v) {
  const Value* k = member(&v, "kind");
  return k != nullptr && k->has_string_value() ? k->string_value() : std::string();
}

bool isList(const Value& v) {
  const std::string kind = kindOf(v);
  const Value* items = member(&v, "items");
  return kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0 && items != nullptr &&
         items->has_list_value();
}

NamespaceSelection selectionFrom(const std::map<std::string, std::string>* labels) {
  if (labels == nullptr) {
    return NamespaceSelection::kUnknown;
  }
  auto it = labels->find(kNamespaceInjectLabel);
  return it != labels->end() && it->second == kNamespaceInjectEnabled
             ? NamespaceSelection::kEnabled
             : NamespaceSelection::kNotEnabled;
}

Result<std::map<std::string, std::string>> parseLabels(const std::string& text) {
  std::map<std::string, std::string> labels;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
    const size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::invalid("inject: --namespace-labels wants KEY=VALUE[,KEY=VALUE...], got '" +
                             text + "'");
    }
    labels[part.substr(0, eq)] = part.substr(eq + 1);
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return labels;
}

Result<std::string> readAll(std::FILE* f, const std::string& name) {
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxInputBytes) {
      return Status::invalid(name + ": input is larger than " +
                             std::to_string(kMaxInputBytes >> 20) + " MiB");
    }
  }
  if (std::ferror(f)) {
    return Status::invalid(name + ": read error");
  }
  return text;
}

}  // namespace

Result<std::string> injectYaml(std::string_view text, std::string_view source,
                               const InjectionOptions& options,
                               const std::map<std::string, std::string>* namespace_labels,
                               std::vector<std::string>* warnings) {
  auto docs = parseYamlDocuments(text, source);
  if (!docs.isOk()) {
    return docs.status();
  }
  const NamespaceSelection selection = selectionFrom(namespace_labels);
  std::string out;
  for (YamlDocument& doc : docs.value()) {
    const std::string prefix =
        std::string(source) + ": document " + std::to_string(doc.index) + ", line ";
    // A List's items are injected one by one; pointers below are relative to the document.
    std::vector<std::pair<Value*, std::string>> objects;
    if (isList(doc.value)) {
      auto* items = (*doc.value.mutable_struct_value()->mutable_fields())["items"]
                        .mutable_list_value()
                        ->mutable_values();
      for (int i = 0; i < items->size(); ++i) {
        objects.emplace_back(items->Mutable(i), "/items/" + std::to_string(i));
      }
    } else {
      objects.emplace_back(&doc.value, "");
    }
    for (auto& [object, base] : objects) {
      InjectionReport report;
      if (Status s = injectObject(object, selection, options, &report); !s.isOk()) {
        return Status::invalid(prefix + std::to_string(lineOf(doc, base + report.error_pointer)) +
                               ": " + s.message());
      }
      for (const std::string& w : report.warnings) {
        warnings->push_back(std::string(source) + ": document " + std::to_string(doc.index) + ": " +
                            w);
      }
    }
    if (!out.empty()) {
      out += "---\n";
    }
    out += emitYaml(doc.value);
  }
  return out;
}

int runInject(const std::vector<std::string>& args, std::FILE* in, std::FILE* out, std::FILE* err) {
  std::vector<std::string> rest;
  InjectionOptions options;
  for (const std::string& a : args) {
    if (a == "--native-sidecar") {
      options.native_sidecar = true;
    } else {
      rest.push_back(a);
    }
  }
  auto parsed =
      parseCommandArgs("inject", rest, {"-f", "--image", "--control-plane", "--namespace-labels"});
  if (!parsed.isOk()) {
    return usageError(err, parsed.status().message());
  }
  const CommandArgs& a = parsed.value();
  if (!a.positionals.empty()) {
    return usageError(err, "inject: unexpected argument '" + a.positionals[0] +
                               "' (the input is -f FILE, or - for stdin)");
  }
  for (const char* flag : {"--image", "--control-plane"}) {
    if (a.has(flag) && a.flags.at(flag).empty()) {
      return usageError(err, std::string("inject: ") + flag + " needs a value");
    }
  }
  if (a.has("--image")) {
    options.proxy_image = a.flags.at("--image");
  }
  if (a.has("--control-plane")) {
    options.control_plane = a.flags.at("--control-plane");
  }
  std::map<std::string, std::string> labels;
  if (a.has("--namespace-labels")) {
    auto l = parseLabels(a.flags.at("--namespace-labels"));
    if (!l.isOk()) {
      return usageError(err, l.status().message());
    }
    labels = std::move(l).value();
  }
  const std::string file = a.has("-f") ? a.flags.at("-f") : "-";
  std::string text;
  if (file == "-") {
    auto r = readAll(in, "stdin");
    if (!r.isOk()) {
      return commandFailure(err, "inject", r.status().message());
    }
    text = std::move(r).value();
  } else {
    auto r = xds::readConfigFile(file);
    if (!r.isOk()) {
      std::fprintf(err, "remoractl: inject: %s\n", r.status().message().c_str());
      return kExitUsage;
    }
    text = std::move(r).value();
  }
  std::vector<std::string> warnings;
  auto result = injectYaml(text, file == "-" ? "stdin" : file, options,
                           a.has("--namespace-labels") ? &labels : nullptr, &warnings);
  for (const std::string& w : warnings) {
    std::fprintf(err, "remoractl: inject: warning: %s\n", w.c_str());
  }
  if (!result.isOk()) {
    return commandFailure(err, "inject", result.status().message());
  }
  std::fwrite(result.value().data(), 1, result.value().size(), out);
  return std::fflush(out) == 0 ? kExitOk : kExitFailure;
}

}  // namespace remora::control::cli
