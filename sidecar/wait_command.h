#pragma once
// `remora-sidecar wait [--health ADDR] [--timeout DUR]`: blocks until the proxy's readiness
// endpoint (GET http://ADDR/healthz/ready, default 127.0.0.1:15021) answers 200, polling every
// 100 ms. An injected pod's remora-proxy container runs it as its postStart hook: kubelet starts
// the app's containers only after the hook returns, so the app starts with its proxy ready
// (docs/injection.md). Needs no shell, wget or curl in the image.

namespace remora::sidecar {

// `argv[0]` is "wait". Exit codes: 0 ready; 1 not ready by the deadline (default 60s; one line
// on stderr with the last answer or error); 2 bad usage.
int runWait(int argc, char** argv);

}  // namespace remora::sidecar
