#include "sidecar/app_probes.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <strings.h>

#include "filters/health_check/health_checker.h"

namespace remora::sidecar {

using common::Status;
using google::protobuf::Value;

namespace {

const Value* member(const Value& v, const char* key) {
  if (!v.has_struct_value()) {
    return nullptr;
  }
  const auto& fields = v.struct_value().fields();
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

bool hasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

Status parseOne(const std::string& key, const Value& v, AppProbe* probe) {
  const Value* get = member(v, "httpGet");
  const Value* tcp = member(v, "tcpSocket");
  if ((get == nullptr) == (tcp == nullptr)) {
    return Status::invalid(key + ": wants exactly one of httpGet and tcpSocket");
  }
  const Value& handler = get != nullptr ? *get : *tcp;
  probe->http = get != nullptr;
  const Value* port = member(handler, "port");
  if (port == nullptr || !port->has_number_value() || port->number_value() < 1 ||
      port->number_value() > 65535 ||
      port->number_value() != static_cast<double>(static_cast<int>(port->number_value()))) {
    return Status::invalid(key + ": port wants a number in 1..65535");
  }
  probe->port = static_cast<uint16_t>(port->number_value());
  if (const Value* path = member(handler, "path"); path != nullptr) {
    if (!path->has_string_value() || path->string_value().empty() ||
        path->string_value()[0] != '/' ||
        path->string_value().find_first_of(" \r\n") != std::string::npos) {
      return Status::invalid(key + ": path wants a string starting with / and without spaces");
    }
    probe->path = path->string_value();
  }
  if (const Value* headers = member(handler, "httpHeaders"); headers != nullptr) {
    if (!headers->has_list_value()) {
      return Status::invalid(key + ": httpHeaders wants a list of {name, value}");
    }
    for (const Value& h : headers->list_value().values()) {
      const Value* name = member(h, "name");
      const Value* value = member(h, "value");
      if (name == nullptr || !name->has_string_value() || name->string_value().empty() ||
          value == nullptr || !value->has_string_value() || hasLineBreak(name->string_value()) ||
          hasLineBreak(value->string_value()) ||
          name->string_value().find_first_of(": ") != std::string::npos) {
        return Status::invalid(key + ": httpHeaders wants a list of {name, value} strings");
      }
      probe->headers.emplace_back(name->string_value(), value->string_value());
    }
  }
  if (const Value* t = member(v, "timeoutSeconds"); t != nullptr) {
    if (!t->has_number_value() || t->number_value() < 1 || t->number_value() > 3600) {
      return Status::invalid(key + ": timeoutSeconds wants a number in 1..3600");
    }
    probe->timeout_ms = static_cast<uint64_t>(t->number_value() * 1000);
  }
  return Status::ok();
}

}  // namespace

common::Result<AppProbes> parseAppProbes(std::string_view json) {
  Value doc;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(json), &doc);
  if (!st.ok()) {
    return Status::invalid("not valid JSON: " + std::string(st.message()));
  }
  if (!doc.has_struct_value()) {
    return Status::invalid("wants a JSON object of /app-health/... paths");
  }
  AppProbes probes;
  for (const auto& [key, v] : doc.struct_value().fields()) {
    if (key.rfind(kAppHealthPrefix, 0) != 0 || key.find_first_of(" \r\n") != std::string::npos) {
      return Status::invalid("'" + key + "': paths start with " + std::string(kAppHealthPrefix));
    }
    AppProbe probe;
    if (Status s = parseOne(key, v, &probe); !s.isOk()) {
      return s;
    }
    probes.emplace(key, std::move(probe));
  }
  return probes;
}

void serveAppProbe(common::EventLoop& loop, const AppProbes& probes, std::string_view path,
                   common::Responder responder) {
  auto it = probes.find(path);
  if (it == probes.end()) {
    responder.respond(404, "no app probe at this path\n");
    return;
  }
  const AppProbe& p = it->second;
  filters::health_check::ProbeRequest request;
  request.host = "127.0.0.1:" + std::to_string(p.port);
  request.address = common::parseSocketAddress(request.host).value();
  request.http = p.http;
  request.path = p.path;
  for (const auto& [name, value] : p.headers) {
    if (strcasecmp(name.c_str(), "host") == 0) {
      request.host = value;  // as kubelet does: a Host header given replaces the default
    } else {
      request.headers.emplace_back(name, value);
    }
  }
  request.passes = [](int status) { return status >= 200 && status < 400; };
  request.timeout_ms = p.timeout_ms;
  auto* probe = new filters::health_check::Probe(
      loop, std::move(request), [responder](bool passed, const std::string& reason) mutable {
        if (passed) {
          responder.respond(200, "OK\n");
        } else {
          responder.respond(503, "app probe failed: " + reason + "\n");
        }
      });
  probe->start();
}

}  // namespace remora::sidecar
