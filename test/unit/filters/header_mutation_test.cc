// Header mutation: remove, then set, then add; set replaces every header of the name.

#include "filters/header_mutation/header_mutation_filter.h"

#include <gtest/gtest.h>

namespace remora::filters::header_mutation {
namespace {

TEST(HeaderMutationFilterTest, RemoveThenSetThenAdd) {
  Mutation m;
  m.remove = {"x-drop"};
  m.set = {{"x-one", "set"}};
  m.add = {{"x-one", "added"}, {"x-drop", "back"}};
  common::HeaderMap h;
  h.add("X-One", "a");
  h.add("x-one", "b");
  h.add("X-Drop", "gone");
  h.add("x-keep", "k");
  m.apply(h);
  std::vector<std::string> seen;
  h.forEach([&](std::string_view n, std::string_view v) {
    seen.push_back(std::string(n) + "=" + std::string(v));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"x-keep=k", "x-one=set", "x-one=added", "x-drop=back"}));
}

}  // namespace
}  // namespace remora::filters::header_mutation
