#pragma once
// `remoractl inject [-f FILE|-] [--native-sidecar] [--image IMG] [--control-plane ADDR]
// [--namespace-labels K=V,...]`: adds the sidecar to the workloads of a multi-document YAML
// stream with the mutation the admission webhook applies (control/injection.h).

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "control/injection.h"

namespace remora::control::cli {

// Injects every Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob of `text`
// (items of `List` kinds too); other documents are written back unchanged in meaning. Without
// `namespace_labels` (nullptr) the namespace is unknown and a pod is injected unless it says
// remora.dev/inject: "false"; with them, as the webhook would decide in such a namespace.
// Returns the YAML stream ("---" between documents) or the first error,
// "SOURCE: document N, line L: problem". Warnings ("SOURCE: document N: ...") are appended to
// `warnings`.
common::Result<std::string> injectYaml(std::string_view text, std::string_view source,
                                       const InjectionOptions& options,
                                       const std::map<std::string, std::string>* namespace_labels,
                                       std::vector<std::string>* warnings);

// The command: reads FILE (or stdin for "-" or no -f), writes the injected YAML on `out`.
// Exit 0 done; 1 the input is not valid YAML or a workload cannot be injected (one line on
// `err`); 2 bad usage or an unreadable file.
int runInject(const std::vector<std::string>& args, std::FILE* in, std::FILE* out, std::FILE* err);

}  // namespace remora::control::cli
