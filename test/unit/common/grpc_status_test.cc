#include "common/grpc/grpc_status.h"

#include <gtest/gtest.h>

namespace remora::grpc {
namespace {

TEST(GrpcStatus, ContentTypesThatMeanGrpc) {
  EXPECT_TRUE(isGrpcContentType("application/grpc"));
  EXPECT_TRUE(isGrpcContentType("application/grpc+proto"));
  EXPECT_TRUE(isGrpcContentType("Application/GRPC;charset=utf-8"));
  EXPECT_FALSE(isGrpcContentType("application/grpc-web"));
  EXPECT_FALSE(isGrpcContentType("application/grpcx"));
  EXPECT_FALSE(isGrpcContentType("application/json"));
  EXPECT_FALSE(isGrpcContentType(""));
}

TEST(GrpcStatus, TimeoutUnitsRoundUpToMilliseconds) {
  EXPECT_EQ(parseTimeoutMs("2H"), 2u * 3600 * 1000);
  EXPECT_EQ(parseTimeoutMs("3M"), 180000u);
  EXPECT_EQ(parseTimeoutMs("5S"), 5000u);
  EXPECT_EQ(parseTimeoutMs("250m"), 250u);
  EXPECT_EQ(parseTimeoutMs("1500u"), 2u);
  EXPECT_EQ(parseTimeoutMs("1n"), 1u);
  EXPECT_EQ(parseTimeoutMs("0m"), 0u);
  EXPECT_EQ(parseTimeoutMs("99999999m"), 99999999u);
  EXPECT_EQ(parseTimeoutMs("99999999H"), 99999999ull * 3600 * 1000);
}

TEST(GrpcStatus, MalformedTimeoutsAreRefused) {
  for (const char* bad :
       {"", "m", "10", "10x", "10s", "10 m", "-1m", "123456789m", "1.5S", " 1S", "m10"}) {
    EXPECT_FALSE(parseTimeoutMs(bad).has_value()) << bad;
  }
}

TEST(GrpcStatus, StatusValues) {
  EXPECT_EQ(parseStatus("0"), 0u);
  EXPECT_EQ(parseStatus("14"), 14u);
  EXPECT_EQ(parseStatus("42"), 42u);
  EXPECT_FALSE(parseStatus("").has_value());
  EXPECT_FALSE(parseStatus("1x").has_value());
  EXPECT_FALSE(parseStatus("-1").has_value());
}

TEST(GrpcStatus, ProxyAnswersMapOntoGrpcCodes) {
  EXPECT_EQ(statusForHttp(503), Status::kUnavailable);
  EXPECT_EQ(statusForHttp(502), Status::kUnavailable);
  EXPECT_EQ(statusForHttp(504), Status::kDeadlineExceeded);
  EXPECT_EQ(statusForHttp(429), Status::kResourceExhausted);
  EXPECT_EQ(statusForHttp(404), Status::kUnimplemented);
  EXPECT_EQ(statusForHttp(403), Status::kPermissionDenied);
  EXPECT_EQ(statusForHttp(401), Status::kUnauthenticated);
  EXPECT_EQ(statusForHttp(400), Status::kInternal);
  EXPECT_EQ(statusForHttp(418), Status::kUnknown);
}

TEST(GrpcStatus, StatusFieldsPercentEncodeTheMessage) {
  common::HeaderMap h;
  addStatusFields(h, 14, "no-healthy-upstream: 100% down\n\xc3\xa9");
  EXPECT_EQ(h.get("grpc-status"), "14");
  EXPECT_EQ(h.get("grpc-message"), "no-healthy-upstream: 100%25 down%0A%C3%A9");
  common::HeaderMap ok;
  addStatusFields(ok, 0, "");
  EXPECT_EQ(ok.get("grpc-status"), "0");
  EXPECT_FALSE(ok.has("grpc-message"));
}

}  // namespace
}  // namespace remora::grpc
