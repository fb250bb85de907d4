// Retry decisions: retry_on conditions, backoff bounds, the retry budget, and the policy built
// from its proto. Pure functions on explicit time.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "filters/retry/config.h"
#include "filters/retry/retry_budget.h"
#include "filters/retry/retry_policy.h"

namespace remora::filters::retry {
namespace {

constexpr uint64_t kSecond = 1000000000;

RetryPolicy policyOn(uint32_t bits) {
  RetryPolicy p;
  p.retry_on = bits;
  p.num_retries = 2;
  return p;
}

TEST(RetryPolicyTest, ParsesEveryRetryOnNameAndRejectsOthers) {
  EXPECT_EQ(parseRetryOn("5xx"), kRetryOn5xx);
  EXPECT_EQ(parseRetryOn("gateway-error"), kRetryOnGatewayError);
  EXPECT_EQ(parseRetryOn("reset"), kRetryOnReset);
  EXPECT_EQ(parseRetryOn("connect-failure"), kRetryOnConnectFailure);
  EXPECT_EQ(parseRetryOn("retriable-status-codes"), kRetryOnRetriableStatusCodes);
  for (std::string_view bad : {"", "5XX", "gateway_error", "resets", " reset", "4xx"}) {
    EXPECT_EQ(parseRetryOn(bad), 0u) << bad;
  }
}

TEST(RetryPolicyTest, EnabledOnlyWithRetries) {
  RetryPolicy p;
  EXPECT_FALSE(p.enabled());
  p.num_retries = 1;
  EXPECT_TRUE(p.enabled());
}

TEST(RetryPolicyTest, FiveXxRetriesEveryStatusFrom500) {
  RetryPolicy p = policyOn(kRetryOn5xx);
  for (uint16_t s : {500, 501, 502, 503, 504, 599}) {
    EXPECT_TRUE(p.retriesStatus(s)) << s;
  }
  for (uint16_t s : {200, 204, 404, 429, 499}) {
    EXPECT_FALSE(p.retriesStatus(s)) << s;
  }
}

TEST(RetryPolicyTest, GatewayErrorRetriesOnly502To504) {
  RetryPolicy p = policyOn(kRetryOnGatewayError);
  for (uint16_t s : {502, 503, 504}) {
    EXPECT_TRUE(p.retriesStatus(s)) << s;
  }
  for (uint16_t s : {200, 429, 500, 501, 505, 599}) {
    EXPECT_FALSE(p.retriesStatus(s)) << s;
  }
}

TEST(RetryPolicyTest, RetriableStatusCodesNeedTheBitAndTheList) {
  RetryPolicy p = policyOn(kRetryOnRetriableStatusCodes);
  p.retriable_status_codes = {409, 503};
  EXPECT_TRUE(p.retriesStatus(409));
  EXPECT_TRUE(p.retriesStatus(503));
  EXPECT_FALSE(p.retriesStatus(500));
  EXPECT_FALSE(p.retriesStatus(502));
  p.retry_on = kRetryOnReset;  // the list alone retries nothing
  EXPECT_FALSE(p.retriesStatus(409));
}

TEST(RetryPolicyTest, ResetAndConnectFailureRetryNoStatus) {
  for (uint32_t bits : {0u, uint32_t{kRetryOnReset}, uint32_t{kRetryOnConnectFailure}}) {
    RetryPolicy p = policyOn(bits);
    for (uint16_t s : {200, 500, 502, 503, 504}) {
      EXPECT_FALSE(p.retriesStatus(s)) << bits << " " << s;
    }
  }
}

TEST(RetryPolicyTest, FailuresRetriedPerRetryOnBit) {
  struct Row {
    uint32_t bits;
    bool connect_failure, reset, timeout;
  };
  const Row rows[] = {
      {0, false, false, false},
      {kRetryOn5xx, true, true, true},
      {kRetryOnGatewayError, true, false, true},
      {kRetryOnReset, false, true, false},
      {kRetryOnConnectFailure, true, false, false},
      {kRetryOnRetriableStatusCodes, false, false, false},
      {kRetryOnReset | kRetryOnConnectFailure, true, true, false},
  };
  for (const Row& r : rows) {
    RetryPolicy p = policyOn(r.bits);
    EXPECT_EQ(p.retriesFailure(TryFailure::kConnectFailure), r.connect_failure) << r.bits;
    EXPECT_EQ(p.retriesFailure(TryFailure::kReset), r.reset) << r.bits;
    EXPECT_EQ(p.retriesFailure(TryFailure::kTimeout), r.timeout) << r.bits;
  }
}

TEST(RetryBackoffTest, NeverAboveTheExponentialCeilingCappedByMax) {
  RetryPolicy p;  // 25ms base, 250ms max
  std::mt19937_64 rng(1);
  const uint64_t ceilings[] = {25, 25, 50, 100, 200, 250, 250, 250};  // retry 0..7
  for (uint32_t retry = 0; retry < 8; ++retry) {
    EXPECT_EQ(backoffMs(p, retry, UINT64_MAX), ceilings[retry]) << retry;
    EXPECT_EQ(backoffMs(p, retry, 0), 0u) << retry;
    for (int i = 0; i < 2000; ++i) {
      EXPECT_LE(backoffMs(p, retry, rng()), ceilings[retry]) << retry;
    }
  }
}

TEST(RetryBackoffTest, SpansTheWholeRangeUniformly) {
  RetryPolicy p;
  p.backoff_base_ms = 25;
  p.backoff_max_ms = 1000;
  std::mt19937_64 rng(7);
  uint64_t lo = UINT64_MAX, hi = 0;
  double sum = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    uint64_t v = backoffMs(p, 3, rng());  // [0, 100]
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += static_cast<double>(v);
  }
  EXPECT_EQ(lo, 0u);
  EXPECT_EQ(hi, 100u);
  EXPECT_NEAR(sum / kDraws, 50.0, 2.0);
}

TEST(RetryBackoffTest, HugeRetryNumbersAndDurationsDoNotOverflow) {
  RetryPolicy p;
  p.backoff_base_ms = 3;
  p.backoff_max_ms = UINT64_MAX;
  EXPECT_EQ(backoffMs(p, 63, UINT64_MAX), uint64_t{3} << 62);  // still exact
  EXPECT_EQ(backoffMs(p, 64, UINT64_MAX), UINT64_MAX);         // 3 << 63 would overflow
  EXPECT_EQ(backoffMs(p, 65, 12345), 12345u);
  EXPECT_EQ(backoffMs(p, UINT32_MAX, 777), 777u);

  p.backoff_base_ms = (uint64_t{1} << 63) + 1;
  EXPECT_EQ(backoffMs(p, 2, UINT64_MAX), UINT64_MAX);

  p.backoff_base_ms = 100;
  p.backoff_max_ms = 400;
  EXPECT_EQ(backoffMs(p, UINT32_MAX, UINT64_MAX), 400u);
  EXPECT_EQ(backoffMs(p, 1000, UINT64_MAX), 400u);
  p.backoff_max_ms = 60;  // max below base: max wins
  EXPECT_EQ(backoffMs(p, 1, UINT64_MAX), 60u);
  p.backoff_base_ms = 0;
  EXPECT_EQ(backoffMs(p, 5, UINT64_MAX), 0u);
}

RetryPolicy budgetPolicy(double percent, uint32_t min_per_second) {
  RetryPolicy p = policyOn(kRetryOn5xx);
  p.budget = true;
  p.budget_percent = percent;
  p.budget_min_per_second = min_per_second;
  return p;
}

TEST(RetryBudgetTest, WithoutABudgetEveryRetryIsAllowedAndNothingRecorded) {
  RetryBudget b;
  RetryPolicy p = policyOn(kRetryOn5xx);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(b.tryAcquire(p, 5 * kSecond, 0, 1000));
  }
  EXPECT_EQ(b.allowedInWindow(5 * kSecond), 0u);
}

TEST(RetryBudgetTest, RetriesInFlightStayUnderThePercentOfActiveRequests) {
  RetryBudget b;
  RetryPolicy p = budgetPolicy(20, 0);
  const uint64_t t = 100 * kSecond;
  EXPECT_TRUE(b.tryAcquire(p, t, 10, 0));  // 20% of 10: up to 2 in flight
  EXPECT_TRUE(b.tryAcquire(p, t, 10, 1));
  EXPECT_FALSE(b.tryAcquire(p, t, 10, 2));  // would make 3
  EXPECT_FALSE(b.tryAcquire(p, t, 0, 0));   // nothing active: no share
  EXPECT_FALSE(b.tryAcquire(p, t, 4, 0));   // 20% of 4 = 0.8: not a whole retry
  EXPECT_TRUE(b.tryAcquire(p, t, 5, 0));    // 20% of 5 = 1
  EXPECT_TRUE(b.tryAcquire(p, t, 100, 19));
  EXPECT_FALSE(b.tryAcquire(p, t, 100, 20));
  EXPECT_FALSE(b.tryAcquire(p, t, -3, -1));  // nonsense counts allow nothing

  RetryBudget all;
  RetryPolicy full = budgetPolicy(100, 0);
  EXPECT_TRUE(all.tryAcquire(full, t, 3, 2));
  EXPECT_FALSE(all.tryAcquire(full, t, 3, 3));
}

TEST(RetryBudgetTest, MinPerSecondAllowsAFewRetriesPerWindowThatResetsEachSecond) {
  RetryBudget b;
  RetryPolicy p = budgetPolicy(20, 3);
  const uint64_t t = 42 * kSecond + kSecond / 2;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(b.tryAcquire(p, t + static_cast<uint64_t>(i), 0, 5)) << i;
  }
  EXPECT_FALSE(b.tryAcquire(p, t + 10, 0, 5));
  EXPECT_FALSE(b.tryAcquire(p, 43 * kSecond - 1, 0, 5));  // the last ns of the window
  EXPECT_EQ(b.allowedInWindow(43 * kSecond - 1), 3u);
  // A new window: three more.
  EXPECT_EQ(b.allowedInWindow(43 * kSecond), 0u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(b.tryAcquire(p, 43 * kSecond, 0, 5)) << i;
  }
  EXPECT_FALSE(b.tryAcquire(p, 43 * kSecond + 1, 0, 5));
  // Many seconds later: three more again.
  EXPECT_TRUE(b.tryAcquire(p, 1000 * kSecond, 0, 5));
  EXPECT_EQ(b.allowedInWindow(1000 * kSecond), 1u);
}

TEST(RetryBudgetTest, RetriesAllowedByThePercentCountInTheWindow) {
  RetryBudget b;
  RetryPolicy p = budgetPolicy(50, 3);
  const uint64_t t = 7 * kSecond;
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(b.tryAcquire(p, t, 10, 0));
  }
  EXPECT_EQ(b.allowedInWindow(t), 4u);
  EXPECT_FALSE(b.tryAcquire(p, t, 0, 0));  // the floor of 3 per second is used up
  EXPECT_TRUE(b.tryAcquire(p, t + kSecond, 0, 0));
}

TEST(RetryBudgetTest, AThreadLateByAWindowDoesNotResetTheNewOne) {
  RetryBudget b;
  RetryPolicy p = budgetPolicy(0, 2);
  EXPECT_TRUE(b.tryAcquire(p, 11 * kSecond, 0, 0));       // opens window 11
  EXPECT_TRUE(b.tryAcquire(p, 11 * kSecond - 1, 0, 0));   // read its clock just before
  EXPECT_FALSE(b.tryAcquire(p, 11 * kSecond - 2, 0, 0));  // window 11 is full
  EXPECT_EQ(b.allowedInWindow(11 * kSecond), 2u);
}

TEST(RetryBudgetTest, ZeroMinAndZeroPercentAllowNothing) {
  RetryBudget b;
  RetryPolicy p = budgetPolicy(0, 0);
  EXPECT_FALSE(b.tryAcquire(p, kSecond, 100, 0));
}

TEST(RetryConfigTest, EmptyProtoIsRetriesOffWithDefaults) {
  RetryPolicy p = retryPolicyFromProto(config::v1::RetryPolicy());
  EXPECT_FALSE(p.enabled());
  EXPECT_EQ(p.retry_on, 0u);
  EXPECT_EQ(p.per_try_timeout_ms, 0u);
  EXPECT_TRUE(p.retriable_status_codes.empty());
  EXPECT_EQ(p.backoff_base_ms, 25u);
  EXPECT_EQ(p.backoff_max_ms, 250u);
  EXPECT_FALSE(p.budget);
  EXPECT_EQ(p.buffer_limit_bytes, 65536u);
}

TEST(RetryConfigTest, RetriesWithoutRetryOnDefaultToGatewayErrorConnectFailureAndReset) {
  config::v1::RetryPolicy m;
  m.set_num_retries(2);
  RetryPolicy p = retryPolicyFromProto(m);
  EXPECT_TRUE(p.enabled());
  EXPECT_EQ(p.num_retries, 2u);
  EXPECT_EQ(p.retry_on, kRetryOnGatewayError | kRetryOnConnectFailure | kRetryOnReset);
}

TEST(RetryConfigTest, EveryFieldIsCarriedOver) {
  config::v1::RetryPolicy m;
  m.set_num_retries(3);
  m.add_retry_on("5xx");
  m.add_retry_on("retriable-status-codes");
  m.add_retriable_status_codes(409);
  m.add_retriable_status_codes(503);
  m.mutable_per_try_timeout()->set_seconds(1);
  m.mutable_per_try_timeout()->set_nanos(500000000);
  m.mutable_backoff()->mutable_base_interval()->set_nanos(100000000);
  m.mutable_backoff()->mutable_max_interval()->set_seconds(2);
  m.mutable_budget()->set_percent(35.5);
  m.mutable_budget()->set_min_retries_per_second(7);
  m.set_buffer_limit_bytes(1024);
  RetryPolicy p = retryPolicyFromProto(m);
  EXPECT_EQ(p.retry_on, kRetryOn5xx | kRetryOnRetriableStatusCodes);
  EXPECT_EQ(p.retriable_status_codes, (std::vector<uint16_t>{409, 503}));
  EXPECT_EQ(p.per_try_timeout_ms, 1500u);
  EXPECT_EQ(p.backoff_base_ms, 100u);
  EXPECT_EQ(p.backoff_max_ms, 2000u);
  EXPECT_TRUE(p.budget);
  EXPECT_DOUBLE_EQ(p.budget_percent, 35.5);
  EXPECT_EQ(p.budget_min_per_second, 7u);
  EXPECT_EQ(p.buffer_limit_bytes, 1024u);
  EXPECT_TRUE(p.retriesStatus(409));
  EXPECT_TRUE(p.retriesStatus(500));
}

TEST(RetryConfigTest, BackoffAndBudgetDefaults) {
  config::v1::RetryPolicy m;
  m.set_num_retries(1);
  m.mutable_backoff()->mutable_base_interval()->set_nanos(40000000);  // 40ms, no max
  m.mutable_budget();                                                 // present, empty
  m.set_buffer_limit_bytes(0);                                        // set: 0 means none buffered
  RetryPolicy p = retryPolicyFromProto(m);
  EXPECT_EQ(p.backoff_base_ms, 40u);
  EXPECT_EQ(p.backoff_max_ms, 400u);  // 10 x base
  EXPECT_TRUE(p.budget);
  EXPECT_DOUBLE_EQ(p.budget_percent, 20);
  EXPECT_EQ(p.budget_min_per_second, 3u);
  EXPECT_EQ(p.buffer_limit_bytes, 0u);

  m.mutable_backoff()->mutable_max_interval()->set_nanos(10000000);  // 10ms < base
  m.mutable_budget()->set_percent(0);
  m.mutable_budget()->set_min_retries_per_second(0);
  p = retryPolicyFromProto(m);
  EXPECT_EQ(p.backoff_max_ms, 40u);  // never below base
  EXPECT_DOUBLE_EQ(p.budget_percent, 0);
  EXPECT_EQ(p.budget_min_per_second, 0u);
}

}  // namespace
}  // namespace remora::filters::retry
