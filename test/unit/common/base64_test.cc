#include "common/base64.h"

#include <gtest/gtest.h>

namespace remora::common {
namespace {

TEST(Base64Test, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(encodeBase64(""), "");
  EXPECT_EQ(encodeBase64("f"), "Zg==");
  EXPECT_EQ(encodeBase64("fo"), "Zm8=");
  EXPECT_EQ(encodeBase64("foo"), "Zm9v");
  EXPECT_EQ(encodeBase64("foob"), "Zm9vYg==");
  EXPECT_EQ(encodeBase64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encodeBase64("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodesWhatItEncodesForEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::string in = all.substr(0, n);
    std::string out;
    ASSERT_TRUE(decodeBase64(encodeBase64(in), &out)) << n;
    EXPECT_EQ(out, in);
  }
}

TEST(Base64Test, DecodesUnpaddedUrlSafeAndLineBrokenInput) {
  std::string out;
  ASSERT_TRUE(decodeBase64("Zm9vYg", &out));
  EXPECT_EQ(out, "foob");
  out.clear();
  ASSERT_TRUE(decodeBase64("-_8=", &out));
  EXPECT_EQ(out, "\xfb\xff");
  out.clear();
  ASSERT_TRUE(decodeBase64("Zm9v\nYmFy\n", &out));
  EXPECT_EQ(out, "foobar");
}

TEST(Base64Test, RefusesForeignCharactersImpossibleLengthsAndDataAfterPadding) {
  std::string out;
  EXPECT_FALSE(decodeBase64("Zm9v!", &out));
  EXPECT_FALSE(decodeBase64("Zm9vY", &out));
  EXPECT_FALSE(decodeBase64("Zg==Zg==", &out));
  EXPECT_FALSE(decodeBase64("Zg===", &out));
}

}  // namespace
}  // namespace remora::common
