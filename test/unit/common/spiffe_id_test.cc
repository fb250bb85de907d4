// Mesh identities as SPIFFE IDs: the one shape accepted, and what each malformed text is told.
#include "common/spiffe_id.h"

#include <gtest/gtest.h>

#include <string>

namespace remora::common {
namespace {

TEST(SpiffeId, ParsesAndPrintsTheMeshShape) {
  auto id = parseSpiffeId("spiffe://cluster.local/ns/shop/sa/frontend");
  ASSERT_TRUE(id.isOk()) << id.status().message();
  EXPECT_EQ(id.value().trust_domain, "cluster.local");
  EXPECT_EQ(id.value().ns, "shop");
  EXPECT_EQ(id.value().service_account, "frontend");
  EXPECT_EQ(id.value().uri(), "spiffe://cluster.local/ns/shop/sa/frontend");
  auto made = makeSpiffeId(kDefaultTrustDomain, "shop", "frontend");
  ASSERT_TRUE(made.isOk());
  EXPECT_EQ(made.value(), id.value());
}

TEST(SpiffeId, RefusesEveryOtherShapeSayingWhy) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"https://cluster.local/ns/a/sa/b", "not a SPIFFE ID"},
      {"spiffe://cluster.local", "has no path"},
      {"spiffe://cluster.local/ns/a", "/ns/NS/sa/SA"},
      {"spiffe://cluster.local/ns/a/sa/b/c", "/ns/NS/sa/SA"},
      {"spiffe://cluster.local/ns/a/xx/b", "/ns/NS/sa/SA"},
      {"spiffe://cluster.local//ns/a/sa/b", "/ns/NS/sa/SA"},
      {"spiffe://Cluster.local/ns/a/sa/b", "trust domain"},
      {"spiffe://cluster.local:8080/ns/a/sa/b", "trust domain"},
      {"spiffe://user@cluster.local/ns/a/sa/b", "trust domain"},
      {"spiffe:///ns/a/sa/b", "trust domain"},
      {"spiffe://cluster.local/ns/A/sa/b", "namespace"},
      {"spiffe://cluster.local/ns/-a/sa/b", "namespace"},
      {"spiffe://cluster.local/ns/a/sa/b%20c", "service account"},
      {"spiffe://cluster.local/ns/a/sa/b?x=1", "service account"},
      {"spiffe://cluster.local/ns/a/sa/", "service account"},
  };
  for (const Case& c : cases) {
    auto id = parseSpiffeId(c.text);
    ASSERT_FALSE(id.isOk()) << c.text;
    EXPECT_NE(id.status().message().find(c.says), std::string::npos)
        << c.text << ": " << id.status().message();
  }
  EXPECT_FALSE(parseSpiffeId("spiffe://a/ns/b/sa/" + std::string(3000, 'c')).isOk());
  EXPECT_FALSE(makeSpiffeId("cluster.local", std::string(254, 'a'), "b").isOk());
  EXPECT_TRUE(makeSpiffeId("cluster.local", std::string(253, 'a'), "b").isOk());
}

}  // namespace
}  // namespace remora::common
