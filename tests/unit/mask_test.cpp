#include "mask.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "logging.h"

using dlr::app::mask_personal_data;

namespace {
std::string masked(std::string text) {
  mask_personal_data(text);
  return text;
}
}  // namespace

TEST(Mask, EmailKeepsFirstCharacterAndDomain) {
  EXPECT_EQ(masked("bounce from john.doe+news@example.co.uk today"), "bounce from j***@example.co.uk today");
  EXPECT_EQ(masked("a@b.io,c@d.io"), "a***@b.io,c***@d.io");
}

TEST(Mask, NotAnEmailWithoutADottedDomain) {
  EXPECT_EQ(masked("kafka rdkafka#consumer-1@broker"), "kafka rdkafka#consumer-1@broker");
  EXPECT_EQ(masked("@ alone"), "@ alone");
}

TEST(Mask, InternationalNumberKeepsLastTwoDigits) {
  EXPECT_EQ(masked("to +41793026727 failed"), "to +*********27 failed");
}

TEST(Mask, QuotedNumbersAreMasked) {
  EXPECT_EQ(masked(R"({"to":"41793026727","from":'+385911234567'})"),
            R"({"to":"*********27","from":'+**********67'})");
}

TEST(Mask, OtherNumbersStay) {
  const std::string line =
      "partition 3 offset 1234567890123 in 12 ms; +12 more; \"123456\"; 2026-11-27T10:00:00";
  EXPECT_EQ(masked(line), line);
  std::string copy = line;
  EXPECT_FALSE(mask_personal_data(copy));
}

TEST(Mask, TooLongIsNotAPhoneNumber) {
  EXPECT_EQ(masked("\"12345678901234567890\""), "\"12345678901234567890\"");
}

TEST(Mask, LogLinesAreMaskedInBothFormats) {
  for (const char* format : {"plain", "json"}) {
    dlr::app::setup_logging(format);
    testing::internal::CaptureStderr();
    spdlog::warn("report for \"41793026727\" to jane@example.com");
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_EQ(out.find("41793026727"), std::string::npos) << format << ": " << out;
    EXPECT_EQ(out.find("jane@"), std::string::npos) << format << ": " << out;
    EXPECT_NE(out.find("*********27"), std::string::npos) << format << ": " << out;
    EXPECT_NE(out.find("j***@example.com"), std::string::npos) << format << ": " << out;
  }
}
