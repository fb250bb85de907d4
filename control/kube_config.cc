#include "control/kube_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "common/base64.h"

namespace remora::control {

using common::Result;
using common::Status;

namespace {

bool readFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return static_cast<bool>(in) || in.eof();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

std::string scalar(const YAML::Node& node, const char* key) {
  YAML::Node v = node[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// The entry of `list` (clusters, users, contexts) called `name`: its inner mapping.
YAML::Node named(const YAML::Node& list, const std::string& name, const char* inner) {
  if (!list || !list.IsSequence()) {
    return YAML::Node();
  }
  for (const YAML::Node& item : list) {
    if (item.IsMap() && scalar(item, "name") == name) {
      return item[inner];
    }
  }
  return YAML::Node();
}

// `FIELD` (a path relative to `dir`) or `FIELD-data` (base64) of `node` into `out`.
Status fileOrData(const YAML::Node& node, const std::string& field, const std::string& dir,
                  const std::string& where, std::string* out) {
  std::string data = scalar(node, (field + "-data").c_str());
  if (!data.empty()) {
    if (!common::decodeBase64(data, out)) {
      return Status::invalid(where + "." + field + "-data: not valid base64");
    }
    return Status::ok();
  }
  std::string path = scalar(node, field.c_str());
  if (path.empty()) {
    return Status::ok();
  }
  if (path[0] != '/') {
    path = dir + "/" + path;
  }
  if (!readFile(path, out)) {
    return Status::invalid(where + "." + field + ": cannot read " + path);
  }
  return Status::ok();
}

}  // namespace

Result<KubeConfig> loadKubeconfig(const std::string& path, const std::string& context) {
  std::string text;
  if (!readFile(path, &text)) {
    return Status::notFound(path + ": cannot read the kubeconfig");
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::invalid(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) {
    return Status::invalid(path + ": not a kubeconfig (a mapping with clusters, users, contexts)");
  }
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  std::string ctx_name = context.empty() ? scalar(root, "current-context") : context;
  if (ctx_name.empty()) {
    return Status::invalid(path + ": no current-context (and no --kube-context given)");
  }
  YAML::Node ctx = named(root["contexts"], ctx_name, "context");
  if (!ctx || !ctx.IsMap()) {
    return Status::invalid(path + ": contexts: no context named \"" + ctx_name + "\"");
  }
  KubeConfig out;
  out.origin = "kubeconfig " + path + " (context " + ctx_name + ")";
  out.namespace_ = scalar(ctx, "namespace");
  std::string cluster_name = scalar(ctx, "cluster");
  YAML::Node cluster = named(root["clusters"], cluster_name, "cluster");
  if (!cluster || !cluster.IsMap()) {
    return Status::invalid(path + ": clusters: no cluster named \"" + cluster_name + "\"");
  }
  std::string where = path + ": clusters[" + cluster_name + "]";
  out.server = scalar(cluster, "server");
  while (!out.server.empty() && out.server.back() == '/') {
    out.server.pop_back();
  }
  if (out.server.rfind("https://", 0) != 0 && out.server.rfind("http://", 0) != 0) {
    return Status::invalid(where + ".server: wants an https:// URL, got \"" + out.server + "\"");
  }
  out.insecure_skip_tls_verify = scalar(cluster, "insecure-skip-tls-verify") == "true";
  if (Status s = fileOrData(cluster, "certificate-authority", dir, where, &out.ca_pem); !s.isOk()) {
    return s;
  }
  std::string user_name = scalar(ctx, "user");
  YAML::Node user = named(root["users"], user_name, "user");
  where = path + ": users[" + user_name + "]";
  if (user && user.IsMap()) {
    if (user["exec"] || user["auth-provider"]) {
      return Status::invalid(where +
                             ": exec and auth-provider credential plugins are not supported; "
                             "use a token, a tokenFile or a client certificate");
    }
    out.token = scalar(user, "token");
    std::string token_file = scalar(user, "tokenFile");
    if (!token_file.empty()) {
      out.token_file = token_file[0] == '/' ? token_file : dir + "/" + token_file;
    }
    if (Status s = fileOrData(user, "client-certificate", dir, where, &out.client_cert_pem);
        !s.isOk()) {
      return s;
    }
    if (Status s = fileOrData(user, "client-key", dir, where, &out.client_key_pem); !s.isOk()) {
      return s;
    }
    if (out.client_cert_pem.empty() != out.client_key_pem.empty()) {
      return Status::invalid(where +
                             ": a client certificate needs its key, and a key its certificate");
    }
  }
  return out;
}

Result<KubeConfig> inClusterConfig(const std::function<const char*(const char*)>& env,
                                   const std::string& dir) {
  const char* host = env("KUBERNETES_SERVICE_HOST");
  const char* port = env("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return Status::notFound(
        "not running in a pod (KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are not set); "
        "give --kubeconfig FILE");
  }
  KubeConfig out;
  out.origin = "in-cluster";
  std::string h = host;
  out.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  out.token_file = dir + "/token";
  std::string token;
  if (!readFile(out.token_file, &token)) {
    return Status::invalid(out.token_file + ": cannot read the service account token");
  }
  if (!readFile(dir + "/ca.crt", &out.ca_pem)) {
    return Status::invalid(dir + "/ca.crt: cannot read the cluster's CA");
  }
  std::string ns;
  if (readFile(dir + "/namespace", &ns)) {
    out.namespace_ = trimmed(ns);
  }
  return out;
}

}  // namespace remora::control
