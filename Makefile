# The two commands of the README, plus a few for developers. Each installs what it needs first
# (scripts/setup.sh: apt packages, idempotent and quiet).
#   make demo   build, run the shop mesh (control plane + sidecars + apps), drive traffic, summarize
#   make test   build, run the whole ctest suite, then the same suite under ASan+UBSan (the
#               Kubernetes tests against a real kube-apiserver included: test/k8s/)
# Developer targets: build, unit, asan, bench, format, clean, test-cluster.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
DEMO_ARGS  ?=

.PHONY: setup build test unit asan asan-build demo bench fuzz format clean test-cluster

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) 2>&1 | grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^Consolidate|^Scanning|^g?make\[[0-9]+\]' || true
	@test -x $(BUILD)/sidecar/remora-sidecar

# scripts/test.sh: the Release suite, then `make asan`; the kube-apiserver for the Kubernetes
# tests builds (once, cached) in the background meanwhile.
test:
	@bash scripts/test.sh

# -g1: line tables are all the sanitizers' stack traces need, and full debug info costs about
# a tenth more compile time. clang: it compiles this tree with ASan+UBSan in about two thirds of
# GCC's time (measured per file: 30-55% less), and CI's time is mostly compiling.
asan: asan-build
	@echo "== ctest (ASan+UBSan) =="
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j2 --timeout 600 -LE '^k8s$$'

asan-build: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DREMORA_SANITIZE=ON -DREMORA_STATIC_DEPS=OFF \
		-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS_DEBUG=-g1 >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS) 2>&1 | grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^Consolidate|^Scanning|^g?make\[[0-9]+\]' || true

unit: build
	@cd $(BUILD) && ctest -L unit --output-on-failure -j2

demo: build
	@bash scripts/demo.sh $(DEMO_ARGS)

# remora in a real single-node Kubernetes cluster (kubelet, containerd, real pods): install,
# the shop, traffic through the injected sidecars. Needs root; not part of `make test` or CI
# (docs/kubernetes.md "The test in a real cluster").
test-cluster:
	@bash scripts/setup.sh --cluster
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target remora-sidecar remora-control remoractl remora-echo 2>&1 | grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^Consolidate|^Scanning|^g?make\[[0-9]+\]' || true
	@bash test/cluster/run.sh $(BUILD)

bench: build
	@bash scripts/setup.sh --bench
	@bash test/bench/run.sh

# libFuzzer on the HTTP/1 parser and the HTTP/1 and HTTP/2 server codecs, FUZZ_SECONDS (default
# 60) each.
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/setup.sh --fuzz
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREMORA_FUZZ=ON \
		-DREMORA_STATIC_DEPS=OFF >/dev/null
	@cmake --build build-fuzz -j$(JOBS) --target http1_parser_fuzz http1_server_fuzz \
		http2_server_fuzz 2>&1 | grep -E 'error|warning' || true
	@mkdir -p build-fuzz/corpus build-fuzz/corpus-http1-server build-fuzz/corpus-http2 && cp -n test/fuzz/corpus/* build-fuzz/corpus/ 2>/dev/null || true
	@build-fuzz/test/fuzz/http1_parser_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz/corpus 2>&1 | tail -3
	@build-fuzz/test/fuzz/http1_server_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		build-fuzz/corpus-http1-server test/fuzz/corpus/http1_server 2>&1 | tail -3
	@build-fuzz/test/fuzz/http2_server_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
		build-fuzz/corpus-http2 test/fuzz/corpus/http2_server 2>&1 | tail -3

format:
	@find common xds filters sidecar test -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
