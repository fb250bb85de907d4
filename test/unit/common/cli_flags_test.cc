// Flag value helpers shared by the binaries.

#include "common/cli_flags.h"

#include <gtest/gtest.h>

namespace remora::common {
namespace {

TEST(CliFlagsTest, CommaListIsTrimmedAndDropsEmptyItems) {
  EXPECT_EQ(splitCommaList("a, b,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(splitCommaList(" 127.0.0.1 ,\twebhook.test\t"),
            (std::vector<std::string>{"127.0.0.1", "webhook.test"}));
  EXPECT_EQ(splitCommaList("one"), (std::vector<std::string>{"one"}));
  EXPECT_TRUE(splitCommaList("").empty());
  EXPECT_TRUE(splitCommaList(" , ,").empty());
}

}  // namespace
}  // namespace remora::common
