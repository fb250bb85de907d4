#include "sidecar/http/request_id.h"

#include <gtest/gtest.h>

#include <string>

namespace remora::sidecar {
namespace {

TEST(RequestIdTest, IsAVersion4UuidOfTheRandomWords) {
  std::string id;
  formatRequestId(0x0123456789abcdefULL, 0xfedcba9876543210ULL, id);
  // Version nibble 4, variant bits 10: 0xfe -> 0xbe.
  EXPECT_EQ(id, "01234567-89ab-4def-bedc-ba9876543210");
  formatRequestId(0, 0, id);
  EXPECT_EQ(id, "00000000-0000-4000-8000-000000000000");
  formatRequestId(~0ULL, ~0ULL, id);
  EXPECT_EQ(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

}  // namespace
}  // namespace remora::sidecar
