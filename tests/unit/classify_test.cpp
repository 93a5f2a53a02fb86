// classify() on its own: one test per policy rule, on fields built by hand (no parser).
#include "dlr/core/classify.h"

#include <gtest/gtest.h>

#include "dlr/catalog/loader.h"

using namespace dlr;
using catalog::MatchKind;
using catalog::Outcome;
using core::Channel;
using core::ChannelSource;
using core::Reason;
using core::ReportFields;

namespace {

const catalog::Catalog& shipped() {
  static auto loaded =
      catalog::load_catalog(DLR_SOURCE_DIR "/catalog/codes.yaml", DLR_SOURCE_DIR "/catalog/policy.yaml");
  return *loaded.catalog;
}

ReportFields with_status(int64_t id, int64_t group) {
  ReportFields f;
  f.status.present = f.status.keyed = f.status.has_id = f.status.has_group = true;
  f.status.id = id;
  f.status.group_id = group;
  return f;
}

ReportFields with_error(ReportFields f, int64_t id, int8_t permanent = -1) {
  f.error.present = f.error.keyed = f.error.has_id = true;
  f.error.id = id;
  f.error.permanent = permanent;
  return f;
}

constexpr int64_t kDeliveredToHandset = 5, kDelivered = 3;
constexpr int64_t kPendingEnroute = 7, kPending = 1;
constexpr int64_t kExpired = 15, kExpiredGroup = 4;
constexpr int64_t kUndeliverableRejected = 4, kUndeliverable = 2;
constexpr int64_t kNoError = 0, kUnknownSubscriber = 1;

}  // namespace

TEST(Classify, SeenEventWithoutStatusIsSkipped) {
  ReportFields f;
  f.seen = true;
  EXPECT_EQ(core::classify(f, Channel::sms, shipped()).reason, Reason::seen_event);
}

TEST(Classify, OtherEventWithoutStatusIsSkipped) {
  ReportFields f;
  f.has_event = true;
  f.event = "CLICKED";
  EXPECT_EQ(core::classify(f, Channel::sms, shipped()).reason, Reason::non_delivery_event);
  f.event = "DELIVERY";
  EXPECT_EQ(core::classify(f, Channel::sms, shipped()).reason, Reason::missing_status);
}

TEST(Classify, NoStatusIsMissingStatus) {
  const auto c = core::classify(ReportFields{}, Channel::sms, shipped());
  EXPECT_EQ(c.reason, Reason::missing_status);
  EXPECT_FALSE(c.classified());
  EXPECT_EQ(c.decision, nullptr);
}

TEST(Classify, KnownStatusDecidesByItsEntry) {
  const auto c = core::classify(with_status(kDeliveredToHandset, kDelivered), Channel::sms, shipped());
  ASSERT_TRUE(c.classified());
  ASSERT_NE(c.status.entry, nullptr);
  EXPECT_EQ(c.decision, &c.status.entry->decision);
  EXPECT_EQ(c.decision->outcome, Outcome::delivered);
  EXPECT_FALSE(c.unknown_code);
}

TEST(Classify, PendingStatusIsNotFinal) {
  const auto c = core::classify(with_status(kPendingEnroute, kPending), Channel::sms, shipped());
  ASSERT_TRUE(c.classified());
  EXPECT_EQ(c.decision->outcome, Outcome::pending);
  EXPECT_FALSE(c.decision->final);
}

TEST(Classify, UnknownStatusIdDecidesByItsGroup) {
  const auto c = core::classify(with_status(9999, kDelivered), Channel::sms, shipped());
  ASSERT_TRUE(c.classified());
  EXPECT_EQ(c.status.entry, nullptr);
  EXPECT_EQ(c.decision, shipped().status_group_decision(kDelivered));
  EXPECT_EQ(c.decision->outcome, Outcome::delivered);
  EXPECT_TRUE(c.unknown_code);
}

TEST(Classify, UnknownStatusInANonStatusGroupIsRefused) {
  const auto c = core::classify(with_status(999, 9), Channel::sms, shipped());
  EXPECT_EQ(c.reason, Reason::unknown_status_group);
  EXPECT_TRUE(c.unknown_code);
}

TEST(Classify, FailedStatusTakesTheErrorsDecision) {
  const auto c =
      core::classify(with_error(with_status(kUndeliverableRejected, kUndeliverable), kUnknownSubscriber),
                     Channel::sms, shipped());
  ASSERT_TRUE(c.classified());
  ASSERT_NE(c.error.entry, nullptr);
  EXPECT_EQ(c.decision, &c.error.entry->decision);
  EXPECT_EQ(c.decision->outcome, Outcome::permanent);
}

TEST(Classify, OkGroupErrorLeavesAFailedStatusStanding) {
  const auto c =
      core::classify(with_error(with_status(kExpired, kExpiredGroup), kNoError), Channel::sms, shipped());
  ASSERT_TRUE(c.classified());
  EXPECT_EQ(c.decision, &c.status.entry->decision);
  EXPECT_EQ(c.decision->outcome, Outcome::retryable);
}

// A firm status's own text names the cause: its error does not soften it.
TEST(Classify, AFirmStatusStandsAgainstATemporaryError) {
  constexpr int64_t kSignalsBlocked = 87, kRejectedGroup = 5, kErrorSignalsBlocked = 608, kAbsent = 27;
  for (const int64_t group : {kExpiredGroup, kRejectedGroup}) {
    ReportFields f = with_status(kSignalsBlocked, group);
    f.status.name = "SIGNALS_BLOCKED";  // group 5 has a second status 87
    const auto c = core::classify(with_error(f, kErrorSignalsBlocked), Channel::sms, shipped());
    ASSERT_TRUE(c.classified());
    ASSERT_NE(c.error.entry, nullptr);
    EXPECT_EQ(c.error.entry->decision.outcome, Outcome::retryable) << "the error alone is retryable";
    EXPECT_EQ(c.decision, &c.status.entry->decision) << "group " << group;
    EXPECT_EQ(c.decision->outcome, Outcome::permanent);
  }
  // A failure known only by its group takes its error's explanation.
  const auto absent =
      core::classify(with_error(with_status(9, kUndeliverable), kAbsent), Channel::sms, shipped());
  EXPECT_EQ(absent.decision->outcome, Outcome::retryable);
  EXPECT_EQ(absent.decision->rule, "absent-subscriber");
}

// EXPIRED says the validity period ran out; 4100 and 4101 say the same: one outcome.
TEST(Classify, ExpiredIsRetriedTheSameWithOrWithoutItsValidityError) {
  const auto bare =
      core::classify(with_error(with_status(kExpired, kExpiredGroup), kNoError), Channel::sms, shipped());
  for (const int64_t error : {4100, 4101}) {
    const auto c =
        core::classify(with_error(with_status(kExpired, kExpiredGroup), error), Channel::sms, shipped());
    EXPECT_EQ(c.decision->outcome, bare.decision->outcome) << error;
    EXPECT_EQ(c.decision->retry.not_before_s, bare.decision->retry.not_before_s) << error;
    EXPECT_EQ(c.decision->retry.max_attempts, bare.decision->retry.max_attempts) << error;
  }
}

TEST(Classify, ErrorOfASuccessIsLookedUpButDoesNotDecide) {
  const auto c = core::classify(with_error(with_status(kDeliveredToHandset, kDelivered), kUnknownSubscriber),
                                Channel::sms, shipped());
  ASSERT_TRUE(c.classified());
  EXPECT_NE(c.error.entry, nullptr);
  EXPECT_EQ(c.decision->outcome, Outcome::delivered);
}

TEST(Classify, UnknownErrorWithItsOwnFlagTakesTheReportFlagDecision) {
  const auto failed = with_status(kUndeliverableRejected, kUndeliverable);
  const auto permanent = core::classify(with_error(failed, 987654, 1), Channel::sms, shipped());
  EXPECT_EQ(permanent.decision, &shipped().report_flag_decision(true));
  EXPECT_EQ(permanent.decision->outcome, Outcome::permanent);
  EXPECT_TRUE(permanent.unknown_code);
  const auto temporary = core::classify(with_error(failed, 987654, 0), Channel::sms, shipped());
  EXPECT_EQ(temporary.decision->outcome, Outcome::retryable);
  EXPECT_EQ(temporary.decision->rule, "report-flag");
}

TEST(Classify, UnknownErrorWithoutAFlagLeavesTheStatusDeciding) {
  const auto c =
      core::classify(with_error(with_status(kExpired, kExpiredGroup), 987654), Channel::sms, shipped());
  ASSERT_TRUE(c.classified());
  EXPECT_EQ(c.decision, &c.status.entry->decision);
  EXPECT_TRUE(c.unknown_code);
}

TEST(Classify, ChannelFromReportBeatsBindingBeatsInference) {
  ReportFields f = with_status(kDeliveredToHandset, kDelivered);
  f.voice_call = true;
  EXPECT_EQ(core::classify(f, Channel::unknown, shipped()).channel_source, ChannelSource::inferred);
  EXPECT_EQ(core::classify(f, Channel::unknown, shipped()).channel, Channel::voice);
  EXPECT_EQ(core::classify(f, Channel::sms, shipped()).channel_source, ChannelSource::binding);
  f.has_channel_field = true;
  f.channel = Channel::email;
  const auto c = core::classify(f, Channel::sms, shipped());
  EXPECT_EQ(c.channel, Channel::email);
  EXPECT_EQ(c.channel_source, ChannelSource::report);
}

TEST(Classify, CodesAreLookedUpInTheChannelsFamiliesFirst) {
  constexpr int64_t kTemporaryGatewayError = 7082;  // chat only
  const auto failed = with_status(kUndeliverableRejected, kUndeliverable);
  EXPECT_EQ(
      core::classify(with_error(failed, kTemporaryGatewayError), Channel::whatsapp, shipped()).error.how,
      MatchKind::channel);
  EXPECT_EQ(core::classify(with_error(failed, kTemporaryGatewayError), Channel::unknown, shipped()).error.how,
            MatchKind::unique);
  EXPECT_EQ(core::classify(with_error(failed, kUnknownSubscriber), Channel::whatsapp, shipped()).error.how,
            MatchKind::general);
}
