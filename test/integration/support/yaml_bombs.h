#pragma once
// Generated YAML "alias bombs" for the manifest limit tests (unit and integration): a few KB of
// text whose aliases stand for millions of nodes once expanded. Header-only so that both test
// binaries can use it.

#include <string>

namespace remora::test {

// An HTTPRoute of shop/bomb attached to Service shop/catalog port 8080 whose rules, matches and
// headers are all aliases of the first one: `fanout` rules of `fanout` matches of `fanout`
// headers, i.e. fanout^3 header matches from about 30 * fanout bytes. fanout 100 is the 3 KB
// shape of issue 9 (1,000,000 headers), fanout 270 the 8 KB one (19,683,000 headers).
// The first alias is on line 13.
inline std::string aliasBombRoute(int fanout) {
  std::string s =
      "apiVersion: gateway.networking.k8s.io/v1\n"
      "kind: HTTPRoute\n"
      "metadata: {name: bomb, namespace: shop}\n"
      "spec:\n"
      "  parentRefs: [{group: \"\", kind: Service, name: catalog, port: 8080}]\n"
      "  rules:\n"
      "  - &r\n"
      "    matches:\n"
      "    - &m\n"
      "      path: {type: PathPrefix, value: /}\n"
      "      headers:\n"
      "      - &h {name: x-bomb, value: v}\n";
  for (int i = 1; i < fanout; ++i) {
    s += "      - *h\n";
  }
  for (int i = 1; i < fanout; ++i) {
    s += "    - *m\n";
  }
  for (int i = 1; i < fanout; ++i) {
    s += "  - *r\n";
  }
  return s;
}

// The classic "billion laughs": `levels` anchored lists, each holding `width` aliases of the
// previous one, under a Service's metadata.labels (a map of strings: the walker reaches it).
// width^levels strings from about levels * width * 5 bytes.
inline std::string billionLaughsService(int levels, int width) {
  std::string s =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: laughs\n  namespace: shop\n"
      "  annotations:\n    l0: &l0 lol\n";
  for (int l = 1; l <= levels; ++l) {
    s += "    l" + std::to_string(l) + ": &l" + std::to_string(l) + " [";
    for (int w = 0; w < width; ++w) {
      s += (w ? ", *l" : "*l") + std::to_string(l - 1);
    }
    s += "]\n";
  }
  s += "spec:\n  ports: [{port: 80}]\n";
  return s;
}

}  // namespace remora::test
