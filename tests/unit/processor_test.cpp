#include "dlr/core/processor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

#include "dlr/catalog/loader.h"
#include "dlr/core/timestamp.h"
#include "shipped_catalog.h"

// Counts heap allocations so a test can show the per-message path makes none once warm.
// The sanitizers bring their own operator new, so the count is left out of sanitizer builds.
static std::atomic<long> g_allocations{0};
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DLR_COUNTS_ALLOCATIONS 0
#else
#define DLR_COUNTS_ALLOCATIONS 1
void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#endif

using namespace dlr;
using catalog::Outcome;
using core::Channel;
using core::Reason;
using core::Verdict;

namespace {

using fixtures::shipped;

std::string report(const std::string& status, const std::string& error = "", const std::string& extra = "") {
  std::string r = "{\"messageId\":\"m\",\"status\":" + status;
  if (!error.empty()) r += ",\"error\":" + error;
  return r + extra + "}";
}

}  // namespace

TEST(Timestamps, EveryShapeReportsUse) {
  EXPECT_EQ(core::parse_timestamp_ms("1970-01-01T00:00:01.000+0000"), 1000);
  EXPECT_EQ(core::parse_timestamp_ms("1970-01-01T01:00:00.000+0100"), 0);
  EXPECT_EQ(core::parse_timestamp_ms("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(core::parse_timestamp_ms("1969-12-31T21:00:00.5-0300"), 500);
  EXPECT_EQ(core::parse_timestamp_ms("2019-11-09T16:00:00Z"), 1573315200000);
  EXPECT_EQ(core::parse_timestamp_ms("2019-11-09T16:00:00"), 1573315200000);
  EXPECT_EQ(core::parse_timestamp_ms("2019-11-09T16:00:00.123456Z"), 1573315200123);
  EXPECT_EQ(core::parse_timestamp_ms("1573315200000"), 1573315200000);
  EXPECT_FALSE(core::parse_timestamp_ms("2019-13-09T16:00:00Z"));
  EXPECT_FALSE(core::parse_timestamp_ms("yesterday"));
  EXPECT_FALSE(core::parse_timestamp_ms("2019-11-09T16:00:00+1"));
}

TEST(Channels, VendorSpellingsAndFamilies) {
  EXPECT_EQ(core::parse_channel("WHATSAPP"), Channel::whatsapp);
  EXPECT_EQ(core::parse_channel("VIBER_BM"), Channel::viber);
  EXPECT_EQ(core::parse_channel("live_chat"), Channel::live_chat);
  EXPECT_EQ(core::parse_channel("fax"), Channel::unknown);
  EXPECT_EQ(core::families_of(Channel::voice).size(), 3u);
  EXPECT_EQ(core::families_of(Channel::rcs).front(), catalog::Family::chat);
  EXPECT_TRUE(core::families_of(Channel::unknown).empty());
}

TEST(Process, ChannelFromReportBeatsBindingBeatsInference) {
  core::Processor p(shipped());
  core::Result r;
  const std::string status = R"({"id":5,"groupId":3})";
  p.process(report(status, "", R"(,"channel":"EMAIL","voiceCall":{})"), Channel::sms, r);
  EXPECT_NE(r.enriched_of(r.reports[0]).find(R"("channel":"email","channelSource":"report")"),
            std::string::npos);
  p.process(report(status, "", R"(,"voiceCall":{})"), Channel::sms, r);
  EXPECT_NE(r.enriched_of(r.reports[0]).find(R"("channel":"sms","channelSource":"binding")"),
            std::string::npos);
  p.process(report(status, "", R"(,"voiceCall":{})"), Channel::unknown, r);
  EXPECT_NE(r.enriched_of(r.reports[0]).find(R"("channel":"voice","channelSource":"inferred")"),
            std::string::npos);
}

TEST(Process, OriginalFieldsStayByteForByte) {
  core::Processor p(shipped());
  core::Result r;
  const std::string input =
      R"({"messageId":"x\"y","status":{"id":5,"groupId":3,"name":"DELIVERED_TO_HANDSET"},"custom":{"a":[1,2.50,"\u00e9"]}})";
  p.process(input, Channel::sms, r);
  ASSERT_EQ(r.reports.size(), 1u);
  const std::string_view out = r.enriched_of(r.reports[0]);
  EXPECT_EQ(out.substr(0, 73), input.substr(0, 73));  // up to the end of status.name
  EXPECT_NE(out.find(R"("custom":{"a":[1,2.50,"\u00e9"]})"), std::string::npos);
  EXPECT_EQ(r.key(r.reports[0]), "x\"y");
  EXPECT_EQ(r.reports[0].raw.in(input), input);
}

TEST(Process, ABadReportDoesNotSpoilTheBatch) {
  core::Processor p(shipped());
  core::Result r;
  p.process(
      R"({"results":[{"messageId":"a","status":{"id":5,"groupId":3}},{"messageId":"b"},{"messageId":"c","status":{"id":3,"groupId":1}}]})",
      Channel::sms, r);
  EXPECT_EQ(r.document_error, Reason::none);
  ASSERT_EQ(r.reports.size(), 3u);
  EXPECT_EQ(r.reports[0].outcome, Outcome::delivered);
  EXPECT_EQ(r.reports[1].verdict, Verdict::invalid);
  EXPECT_EQ(r.reports[1].reason, Reason::missing_status);
  EXPECT_EQ(r.key(r.reports[1]), "b");
  EXPECT_EQ(r.reports[2].outcome, Outcome::pending);
  EXPECT_FALSE(r.reports[2].final);
}

TEST(Process, TwoStatusOrErrorObjectsOrIdsAreRefusedAsAmbiguous) {
  core::Processor p(shipped());
  core::Result r;
  const auto verdict_of = [&](const std::string& input) {
    p.process(input, Channel::sms, r);
    EXPECT_EQ(r.reports.size(), 1u);
    return std::pair{r.reports[0].reason, std::string(r.reports[0].detail)};
  };
  const std::string delivered = R"({"id":5,"groupId":3})";
  EXPECT_EQ(verdict_of(report(delivered, "", R"(,"status":{})")),
            std::pair(Reason::duplicate_field, std::string("the report has two status objects")));
  EXPECT_EQ(verdict_of(report(delivered, "null", R"(,"error":{"id":0,"groupId":0})")),
            std::pair(Reason::duplicate_field, std::string("the report has two error objects")));
  EXPECT_EQ(verdict_of(report(R"({"id":5,"groupId":3,"id":2})")).first, Reason::duplicate_field);
  EXPECT_EQ(verdict_of(report(delivered, R"({"id":0,"groupId":0,"groupId":1})")).first,
            Reason::duplicate_field);
  // Two batches in one message: the whole message, since On-Demand would read only the first.
  p.process(
      R"({"results":[{"messageId":"a","status":{"id":5,"groupId":3}}],"results":[{"messageId":"b","status":{"id":5,"groupId":3}}]})",
      Channel::sms, r);
  EXPECT_EQ(r.document_error, Reason::duplicate_field);
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_EQ(r.reports[0].verdict, Verdict::invalid);
  // The same report without the repeat is delivered: the refusal is about the repeat alone.
  EXPECT_EQ(verdict_of(report(delivered)).first, Reason::none);
  EXPECT_EQ(r.reports[0].outcome, Outcome::delivered);
}

TEST(Process, DocumentErrorsCondemnTheWholeMessageWithAReason) {
  core::Processor p(shipped(), core::ProcessorOptions{64, 8});
  core::Result r;
  const auto reason = [&](std::string_view input) {
    p.process(input, Channel::sms, r);
    EXPECT_EQ(r.reports.size(), 1u);
    EXPECT_EQ(r.reports[0].raw.length, input.size());
    return r.document_error;
  };
  EXPECT_EQ(reason(""), Reason::empty_input);
  EXPECT_EQ(reason("  \n"), Reason::empty_input);
  EXPECT_EQ(reason(std::string(65, ' ') + "{}"), Reason::too_large);
  EXPECT_EQ(reason(R"({"results":[{"status":{"id":5)"), Reason::invalid_json);
  EXPECT_EQ(reason("\"\xff\""), Reason::invalid_utf8);
  EXPECT_EQ(reason("[[[[[[[[[[1]]]]]]]]]]"), Reason::too_deep);
  EXPECT_EQ(reason("true"), Reason::not_a_report);
  EXPECT_EQ(reason(R"({"results":7})"), Reason::results_not_array);
}

TEST(Process, UnknownErrorFallsBackToTheReportsFlagAndIsMarked) {
  core::Processor p(shipped());
  core::Result r;
  p.process(report(R"({"id":9,"groupId":2})", R"({"id":424242,"groupId":1,"permanent":true})"), Channel::sms,
            r);
  ASSERT_EQ(r.reports[0].verdict, Verdict::classified);
  EXPECT_EQ(r.reports[0].outcome, Outcome::permanent);
  EXPECT_TRUE(r.reports[0].unknown_code);
  EXPECT_EQ(r.reports[0].decision->rule, "report-flag");
  p.process(report(R"({"id":9,"groupId":2})", R"({"id":424242,"groupId":1,"permanent":false})"), Channel::sms,
            r);
  EXPECT_EQ(r.reports[0].outcome, Outcome::retryable);
}

TEST(Process, SuccessesFlaggedPermanentAreSuccesses) {
  core::Processor p(shipped());
  core::Result r;
  p.process(report(R"({"id":5,"groupId":3})",
                   R"({"id":5000,"groupId":0,"name":"VOICE_ANSWERED","permanent":true})"),
            Channel::voice, r);
  EXPECT_EQ(r.reports[0].outcome, Outcome::delivered);
  p.process(report(R"({"id":2,"groupId":3})"), Channel::sms, r);
  EXPECT_EQ(r.reports[0].outcome, Outcome::pending);
  EXPECT_FALSE(r.reports[0].final);
}

// Every code of the catalogue, put in a report of its family's channel, gets the outcome the
// policy decided for it: none is left undecided or misrouted by the lookup.
TEST(Process, ClassifiesEveryCatalogueEntryAsDecided) {
  core::Processor p(shipped());
  core::Result r;
  const auto channel_of = [](catalog::Family f) {
    switch (f) {
      case catalog::Family::voice:
      case catalog::Family::voice_webrtc:
      case catalog::Family::voice_deprecated:
        return Channel::voice;
      case catalog::Family::mms:
        return Channel::mms;
      case catalog::Family::email:
        return Channel::email;
      case catalog::Family::push:
        return Channel::push;
      case catalog::Family::chat:
        return Channel::whatsapp;
      case catalog::Family::mobile_identity:
        return Channel::mobile_identity;
      case catalog::Family::dlt:
        return Channel::sms;
      case catalog::Family::live_chat:
        return Channel::live_chat;
      case catalog::Family::moments:
        return Channel::moments;
      case catalog::Family::people_api:
        return Channel::people;
      case catalog::Family::general:
        break;
    }
    return Channel::unknown;
  };
  int checked = 0;
  for (const auto& c : shipped()->entries()) {
    const auto& e = c.entry;
    const std::string group = e.group_id ? ",\"groupId\":" + std::to_string(*e.group_id) : "";
    const std::string code = "{\"id\":" + std::to_string(e.id) + group + ",\"name\":\"" + e.name + "\"}";
    Outcome expected = c.decision.outcome;
    if (e.kind == catalog::Kind::status) {
      p.process(report(code), channel_of(e.family), r);
    } else {
      // A failed status, so the error decides; an error of the OK group leaves the status standing.
      p.process(report(R"({"id":9,"groupId":2})", code), channel_of(e.family), r);
      if (expected == Outcome::delivered) expected = Outcome::permanent;
    }
    ASSERT_EQ(r.reports.size(), 1u) << e.name;
    ASSERT_EQ(r.reports[0].verdict, Verdict::classified) << e.name << " " << r.enriched_of(r.reports[0]);
    EXPECT_EQ(r.reports[0].outcome, expected) << catalog::to_string(e.family) << " " << e.id << " " << e.name;
    EXPECT_FALSE(r.reports[0].unknown_code) << e.name;
    ++checked;
  }
  EXPECT_EQ(checked, 500);
}

TEST(Process, MakesNoHeapAllocationPerMessageOnceWarm) {
  if (!DLR_COUNTS_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under the sanitizers";
  core::Processor p(shipped());
  core::Result r;
  std::string batch = R"({"results":[)";
  for (int i = 0; i < 100; ++i) {
    if (i) batch += ',';
    batch +=
        R"({"messageId":"m-)" + std::to_string(i) +
        R"(","mccMnc":22801,"sentAt":"2026-01-01T00:00:00.000+0000","doneAt":"2026-01-01T00:00:02.000+0000","price":{"pricePerMessage":0.01,"currency":"EUR"},"status":{"groupId":2,"groupName":"UNDELIVERABLE","id":9,"name":"UNDELIVERABLE_NOT_DELIVERED"},"error":{"groupId":1,"groupName":"HANDSET_ERRORS","id":27,"name":"EC_ABSENT_SUBSCRIBER","permanent":false}})";
  }
  batch += "]}";
  p.process(batch, Channel::sms, r);  // warm-up: buffers grow to size
  p.process(batch, Channel::sms, r);
  ASSERT_EQ(r.reports.size(), 100u);
  const long before = g_allocations.load();
  for (int i = 0; i < 10; ++i) p.process(batch, Channel::sms, r);
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(r.reports[99].outcome, Outcome::retryable);
}

// The depth check scans 64 bytes at a time; it must agree with a plain byte-by-byte scan on any
// text, whatever falls on a block boundary: quotes, escapes, brackets inside strings.
namespace {
int64_t reference_nesting_beyond(const std::string& text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return static_cast<int64_t>(i);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return -1;
}
}  // namespace

TEST(Process, DepthCheckAgreesWithAByteByByteScanOnRandomText) {
  constexpr size_t kLimit = 6;
  core::ProcessorOptions options;
  options.max_depth = kLimit;
  core::Processor processor(shipped(), options);
  core::Result result;
  std::srand(12345);
  const char alphabet[] = {'[', ']', '{', '}', '"', '\\', 'a', ' ', ':', ','};
  int deep = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const size_t length = static_cast<size_t>(std::rand() % 400);
    // Mostly plain bytes with a few specials, so whole 64-byte blocks take the fast path.
    for (size_t i = 0; i < length; ++i)
      text += (std::rand() % 4 == 0) ? alphabet[std::rand() % 10] : alphabet[6 + std::rand() % 4];
    const int64_t expected = reference_nesting_beyond(text, kLimit);
    processor.process(text, Channel::sms, result);
    if (expected >= 0) {
      ++deep;
      ASSERT_EQ(result.document_error, Reason::too_deep) << text;
      ASSERT_EQ(result.document_position, expected) << text;
    } else {
      ASSERT_NE(result.document_error, Reason::too_deep) << text;
    }
  }
  EXPECT_GT(deep, 1000);  // both answers were exercised
}

// Whatever breaks a document, the error says where: one byte of a valid batch replaced, at every
// offset, by each byte that JSON forbids there or that changes its structure.
TEST(Process, EveryDocumentErrorHasAPositionInsideTheMessage) {
  core::Processor processor(shipped(), {});
  core::Result result;
  const std::string valid =
      R"({"results":[{"messageId":"a","status":{"id":5,"groupId":3},"conversation":{"canInitiate":false,"id":null},"x":[1,2.5,"s"]}]})";
  int errors = 0;
  for (size_t at = 0; at < valid.size(); ++at) {
    for (const char byte : {'\x1a', ':', ',', '}', ']', '"', 'x'}) {
      std::string text = valid;
      text[at] = byte;
      processor.process(text, Channel::sms, result);
      if (result.document_error == Reason::none) continue;
      ++errors;
      ASSERT_GE(result.document_position, 0) << core::to_string(result.document_error) << " in " << text;
      ASSERT_LE(result.document_position, static_cast<int64_t>(text.size())) << text;
    }
  }
  EXPECT_GT(errors, 200);  // most replacements break the document
}
