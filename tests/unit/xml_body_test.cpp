// XML bodies through the whole core: the same reports, verdicts and records as the JSON twin.
#include <gtest/gtest.h>

#include <string>

#include "dlr/catalog/loader.h"
#include "dlr/core/processor.h"
#include "shipped_catalog.h"

using namespace dlr;
using core::Channel;
using core::Reason;
using core::Verdict;

namespace {

using fixtures::shipped;

// Every record of a result, in order, for comparing two results.
std::string records_of(const core::Result& r) {
  std::string all;
  for (const core::Report& report : r.reports) {
    all += r.enriched_of(report);
    all += '\n';
    all += r.analytics_of(report);
    all += '\n';
  }
  return all;
}

constexpr const char* kJson =
    R"({"results":[{"bulkId":"b","price":{"pricePerMessage":0.01,"currency":"EUR"},)"
    R"("status":{"groupId":2,"groupName":"UNDELIVERABLE","id":4,"name":"UNDELIVERABLE_REJECTED_OPERATOR"},)"
    R"("error":{"groupId":1,"groupName":"HANDSET_ERRORS","id":7002,"name":"EC_UNKNOWN_USER","permanent":true},)"
    R"("messageId":"m1","to":"41793026727","doneAt":"2019-11-09T16:00:00.000+0100","smsCount":1,)"
    R"("callbackData":"a<b&c","platform":{"entityId":null}}]})";
constexpr const char* kXml =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DeliveryReports xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
    "  <results>\n"
    "    <result>\n"
    "      <bulkId>b</bulkId>\n"
    "      <price><pricePerMessage>0.01</pricePerMessage><currency>EUR</currency></price>\n"
    "      <status><groupId>2</groupId><groupName>UNDELIVERABLE</groupName><id>4</id>"
    "<name>UNDELIVERABLE_REJECTED_OPERATOR</name></status>\n"
    "      <error><groupId>1</groupId><groupName>HANDSET_ERRORS</groupName><id>7002</id>"
    "<name>EC_UNKNOWN_USER</name><permanent>true</permanent></error>\n"
    "      <messageId>m1</messageId>\n"
    "      <to>41793026727</to>\n"
    "      <doneAt>2019-11-09T16:00:00.000+0100</doneAt>\n"
    "      <smsCount>1</smsCount>\n"
    "      <callbackData><![CDATA[a<b]]>&amp;c</callbackData>\n"
    "      <platform><entityId xsi:nil=\"true\"/></platform>\n"
    "    </result>\n"
    "  </results>\n"
    "</DeliveryReports>\n";

}  // namespace

TEST(XmlBody, GivesTheSameRecordsAsItsJsonTwin) {
  core::Processor p(shipped());
  core::Result from_json;
  core::Result from_xml;
  ASSERT_EQ(p.process(kJson, Channel::sms, from_json), Reason::none);
  const std::string json_records = records_of(from_json);
  ASSERT_EQ(p.process(kXml, Channel::sms, from_xml), Reason::none);
  ASSERT_EQ(from_xml.reports.size(), 1u);
  EXPECT_EQ(from_xml.reports[0].outcome, catalog::Outcome::permanent);
  EXPECT_EQ(from_xml.key(from_xml.reports[0]), "m1");
  EXPECT_EQ(records_of(from_xml), json_records);
  // Digits stay a string where the vendor's JSON has one; numbers, booleans and nil are typed.
  const std::string_view enriched = from_xml.enriched_of(from_xml.reports[0]);
  EXPECT_NE(enriched.find(R"("to":"41793026727")"), std::string::npos);
  EXPECT_NE(enriched.find(R"("smsCount":1,)"), std::string::npos);
  EXPECT_NE(enriched.find(R"("entityId":null)"), std::string::npos);
}

TEST(XmlBody, AFailingReportOfAnXmlBatchIsDeadLetteredAsItsJson) {
  core::Processor p(shipped());
  core::Result r;
  p.process(
      "<r><results><result><messageId>a</messageId><status><groupId>3</groupId><id>5</id></status>"
      "</result><result><messageId>b</messageId></result></results></r>",
      Channel::sms, r);
  ASSERT_EQ(r.reports.size(), 2u);
  EXPECT_EQ(r.reports[0].verdict, Verdict::classified);
  EXPECT_EQ(r.reports[1].reason, Reason::missing_status);
  EXPECT_EQ(r.original_of(r.reports[1]), R"({"messageId":"b"})");
}

TEST(XmlBody, MalformedXmlIsItsOwnReasonWithThePositionOfTheFault) {
  core::Processor p(shipped());
  core::Result r;
  const auto refused = [&](const std::string& xml) {
    p.process(xml, Channel::sms, r);
    EXPECT_EQ(r.reports.size(), 1u);
    EXPECT_EQ(r.original_of(r.reports.at(0)), xml);  // the dead letter is the bytes as sent
    return std::pair{r.document_error, r.document_position};
  };
  const std::string cut = "<r><results><result><messageId>abc</messageId><status><groupId>3";
  EXPECT_EQ(refused(cut), std::pair(Reason::invalid_xml, static_cast<int64_t>(cut.size())));
  EXPECT_EQ(refused("<r><status></r>"), std::pair(Reason::invalid_xml, int64_t{13}));
  EXPECT_EQ(refused("<r/>tail"), std::pair(Reason::invalid_xml, int64_t{4}));
  EXPECT_EQ(refused("<r/><r/>"), std::pair(Reason::invalid_xml, int64_t{4}));
  EXPECT_EQ(refused("<r>x<status/></r>"), std::pair(Reason::invalid_xml, int64_t{0}));
  EXPECT_EQ(refused("<r><m>\xC3</m></r>"), std::pair(Reason::invalid_utf8, int64_t{6}));
  std::string deep;
  for (int i = 0; i < 100; ++i) deep.insert(0, "<a>").append("</a>");
  EXPECT_EQ(refused(deep).first, Reason::too_deep);
}

TEST(XmlBody, ErrorsTheJsonReaderFindsPointIntoTheXml) {
  core::Processor p(shipped());
  core::Result r;
  const std::string xml = "<r><results/><results/></r>";
  p.process(xml, Channel::sms, r);
  EXPECT_EQ(r.document_error, Reason::duplicate_field);
  EXPECT_EQ(r.document_position, static_cast<int64_t>(xml.find("<results/><")) + 10);
  p.process("<r>just text</r>", Channel::sms, r);
  EXPECT_EQ(r.document_error, Reason::not_a_report);
}

TEST(XmlBody, NoEntityIsExpandedBeyondXmlsOwn) {
  core::Processor p(shipped());
  core::Result r;
  p.process(R"(<!DOCTYPE r [<!ENTITY a "AAAA"><!ENTITY b "&a;&a;&a;">]>)"
            "<r><messageId>&b;&lt;&#65;</messageId><status><groupId>3</groupId><id>5</id></status></r>",
            Channel::sms, r);
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_EQ(r.key(r.reports[0]), "&b;<A");
}
