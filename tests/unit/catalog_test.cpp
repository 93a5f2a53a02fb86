#include "dlr/catalog/catalog.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>

#include "dlr/catalog/importer.h"
#include "dlr/catalog/loader.h"

using namespace dlr::catalog;

namespace {

const std::string kCatalogDir = DLR_SOURCE_DIR "/catalog";
const std::string kPage = kCatalogDir + "/source/infobip-response-status-and-error-codes.md";

std::string read(const std::string& path) {
  std::string text, error;
  EXPECT_TRUE(read_file(path, text, error)) << error;
  return text;
}

std::shared_ptr<const Catalog> shipped() {
  static auto loaded = load_catalog(kCatalogDir + "/codes.yaml", kCatalogDir + "/policy.yaml");
  for (const auto& d : loaded.diagnostics) ADD_FAILURE() << format(d);
  return loaded.catalog;
}

std::vector<const Entry*> entries_with(Kind kind, int id) {
  std::vector<const Entry*> found;
  for (const auto& e : shipped()->entries()) {
    if (e.entry.kind == kind && e.entry.id == id) found.push_back(&e.entry);
  }
  return found;
}

constexpr Family kChat[] = {Family::chat};
constexpr Family kVoice[] = {Family::voice, Family::voice_webrtc, Family::voice_deprecated};
constexpr Family kMms[] = {Family::mms};
constexpr Family kLiveChat[] = {Family::live_chat};
constexpr Family kMobileIdentity[] = {Family::mobile_identity};
constexpr Family kMoments[] = {Family::moments};

}  // namespace

TEST(Import, ReproducesTheShippedYamlExactly) {
  const std::string shipped_yaml = read(kCatalogDir + "/codes.yaml");
  std::vector<Diagnostic> diagnostics;
  const CodesDocument shipped_doc = parse_codes(shipped_yaml, "codes.yaml", diagnostics);
  ASSERT_TRUE(diagnostics.empty());
  const auto imported = import_page(read(kPage), shipped_doc.source.page, shipped_doc.source.date);
  ASSERT_TRUE(imported.diagnostics.empty()) << format(imported.diagnostics.front());
  EXPECT_EQ(to_yaml(imported.document), shipped_yaml)
      << "catalog/codes.yaml differs from a fresh import: re-run `dlr-enricher catalog import`";
}

TEST(Import, ShippedSourceIsTheSharedEditionWhenPresent) {
  const std::string shared =
      DLR_SOURCE_DIR "/../shared/catalog-source/infobip-response-status-and-error-codes.md";
  std::string text, error;
  if (!read_file(shared, text, error)) GTEST_SKIP() << "no shared copy of the page beside the repository";
  EXPECT_EQ(text, read(kPage));
}

TEST(Import, EveryTableRowIsOneEntry) {
  const auto imported = import_page(read(kPage), "page.md", "2026-11-27");
  EXPECT_EQ(imported.table_rows, 500);
  EXPECT_EQ(imported.document.entries.size(), 500u);
}

TEST(Import, EntriesPerFamilyAndGroupMatchThePageTables) {
  // Row counts of each table of the page, in page order: (family, kind, group id or -1, rows).
  const std::vector<std::tuple<Family, Kind, int, int>> tables = {
      {Family::general, Kind::status, 1, 3},
      {Family::general, Kind::status, 2, 6},
      {Family::general, Kind::status, 3, 2},
      {Family::general, Kind::status, 4, 3},
      {Family::general, Kind::status, 5, 20},
      {Family::voice, Kind::status, 5, 15},
      {Family::mms, Kind::status, 5, 2},
      {Family::email, Kind::status, 5, 4},
      {Family::push, Kind::status, 2, 1},
      {Family::push, Kind::status, 5, 1},
      {Family::moments, Kind::status, -1, 1},
      {Family::general, Kind::error, 0, 1},
      {Family::general, Kind::error, 1, 76},
      {Family::general, Kind::error, 2, 34},
      {Family::voice_deprecated, Kind::error, 0, 2},
      {Family::voice_deprecated, Kind::error, 1, 2},
      {Family::voice_deprecated, Kind::error, 3, 20},
      {Family::voice_webrtc, Kind::error, 0, 5},
      {Family::voice_webrtc, Kind::error, 1, 4},
      {Family::voice_webrtc, Kind::error, 2, 5},
      {Family::voice_webrtc, Kind::error, 3, 17},
      {Family::push, Kind::error, 1, 4},
      {Family::push, Kind::error, 3, 9},
      {Family::mms, Kind::error, -1, 30},
      {Family::email, Kind::error, 1, 31},
      {Family::email, Kind::error, 2, 16},
      {Family::email, Kind::error, 3, 1},
      {Family::chat, Kind::error, 1, 36},
      {Family::chat, Kind::error, 2, 6},
      {Family::chat, Kind::error, 3, 7},
      {Family::mobile_identity, Kind::error, -1, 19},
      {Family::dlt, Kind::error, -1, 51},
      {Family::live_chat, Kind::error, -1, 28},
      {Family::moments, Kind::error, -1, 6},
      {Family::people_api, Kind::error, -1, 32},
  };
  std::map<std::tuple<Family, Kind, int>, int> counted;
  for (const auto& e : shipped()->entries())
    ++counted[{e.entry.family, e.entry.kind, e.entry.group_id.value_or(-1)}];
  int total = 0;
  for (const auto& [family, kind, group, rows] : tables) {
    EXPECT_EQ(counted[std::make_tuple(family, kind, group)], rows)
        << to_string(family) << " " << to_string(kind) << " group " << group;
    total += rows;
  }
  EXPECT_EQ(total, 500);
  EXPECT_EQ(counted.size(), tables.size()) << "entries in a group the page does not have";
}

TEST(Import, FieldsAreAsWrittenOnThePage) {
  const auto found = shipped()->find(Kind::error, {}, 27, 1);
  ASSERT_NE(found.entry, nullptr);
  const Entry& e = found.entry->entry;
  EXPECT_EQ(e.name, "EC_ABSENT_SUBSCRIBER");
  EXPECT_EQ(e.group_id, 1);
  EXPECT_EQ(e.group_name, "HANDSET_ERRORS");
  EXPECT_EQ(e.permanent, false);
  EXPECT_EQ(e.description,
            "Indicates the destination numbers were unreachable, powered off, or in an area with limited "
            "coverage.");
  EXPECT_EQ(e.resolution, "Ensure the subscriber's device is turned on and has a stable network connection.");

  const auto mi = shipped()->find(Kind::error, kMobileIdentity, 101, -1);
  ASSERT_NE(mi.entry, nullptr);
  ASSERT_EQ(mi.entry->entry.extra.size(), 1u);
  EXPECT_EQ(mi.entry->entry.extra[0].key, "response_type");
  EXPECT_EQ(mi.entry->entry.extra[0].value, "SYNC & CALLBACK");
  EXPECT_FALSE(mi.entry->entry.permanent.has_value());
}

TEST(Import, PeopleApi40404KeepsBothNamesAsAliases) {
  const auto rows = entries_with(Kind::error, 40404);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]->aliases, std::vector<std::string>{rows[1]->name});
  EXPECT_EQ(rows[1]->aliases, std::vector<std::string>{rows[0]->name});
  constexpr Family people[] = {Family::people_api};
  EXPECT_EQ(shipped()
                ->find(Kind::error, people, 40404, -1, "CUSTOM_ATTRIBUTE_DOES_NOT_EXIST")
                .entry->entry.description,
            "The custom attribute does not exist.");
  EXPECT_EQ(shipped()->find_by_name("custom_attribute_does_not_exist").size(), 2u);
}

TEST(Markup, LinksKeepTextAndUrlAndTagsGo) {
  EXPECT_EQ(strip_markup("contact [Support](mailto:support@infobip.com)."),
            "contact Support (support@infobip.com).");
  EXPECT_EQ(strip_markup("see [SMS](https://www.infobip.com/docs/api/channels/sms) section"),
            "see SMS (https://www.infobip.com/docs/api/channels/sms) section");
  EXPECT_EQ(strip_markup("Go to the <portallink href=\"login\">web interface</portallink> now"),
            "Go to the web interface (https://portal.infobip.com/login) now");
  EXPECT_EQ(strip_markup("the `to` parameter is **required**"), "the to parameter is required");
  EXPECT_EQ(strip_markup("_Note that EC_FOO_BAR is new._"), "Note that EC_FOO_BAR is new.");
  EXPECT_EQ(strip_markup("a<br/>• one<br/>• two"), "a\n• one\n• two");
}

TEST(Import, ATableUnderAnUnknownSectionIsAnError) {
  const std::string page =
      "# Codes\n## Brand new error codes\n| ID | Permanent | Error | Description |\n|:--|--|--|--|\n"
      "| 1 | true | `X` | y |\n";
  const auto result = import_page(page, "new.md", "2026-01-01");
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].line, 3);
  EXPECT_NE(result.diagnostics[0].message.find("Brand new error codes"), std::string::npos);
}

TEST(Import, BadIdsAndFlagsAreAllReportedWithLines) {
  const std::string page =
      "## General error codes\n### OK [#ok]\n**Group ID: 0**\n| ID | Permanent | Error | Description |\n"
      "|:--|--|--|--|\n| x1 | false | `A` | a |\n| 2 | maybe | `B` | b |\n| 3 | true | `C` |\n";
  const auto result = import_page(page, "bad.md", "2026-01-01");
  ASSERT_EQ(result.diagnostics.size(), 3u);
  EXPECT_EQ(result.diagnostics[0].line, 6);
  EXPECT_EQ(result.diagnostics[1].line, 7);
  EXPECT_EQ(result.diagnostics[2].line, 8);
}

// Each id the page uses twice resolves, per family and group, to what the page says.
TEST(Ambiguity, Status87IsThreeDifferentCodes) {
  EXPECT_EQ(entries_with(Kind::status, 87).size(), 3u);
  const auto expired = shipped()->find(Kind::status, {}, 87, 4);
  const auto rejected = shipped()->find(Kind::status, {}, 87, 5);
  ASSERT_TRUE(expired.entry && rejected.entry);
  EXPECT_EQ(expired.entry->entry.group_name, "EXPIRED");
  EXPECT_EQ(rejected.entry->entry.group_name, "REJECTED");
  EXPECT_NE(expired.entry->entry.description, rejected.entry->entry.description);
  const auto voice = shipped()->find(Kind::status, kVoice, 87, 5);
  ASSERT_TRUE(voice.entry);
  EXPECT_EQ(voice.entry->entry.name, "REJECTED_INVALID_DELIVERY_TIME_WINDOW");
  EXPECT_EQ(voice.how, MatchKind::channel);
}

TEST(Ambiguity, Status56IsVoiceOrMms) {
  const auto voice = shipped()->find(Kind::status, kVoice, 56, 5);
  const auto mms = shipped()->find(Kind::status, kMms, 56, 5);
  ASSERT_TRUE(voice.entry && mms.entry);
  EXPECT_EQ(voice.entry->entry.family, Family::voice);
  EXPECT_EQ(mms.entry->entry.family, Family::mms);
  EXPECT_EQ(shipped()->find(Kind::status, {}, 56, 5).how, MatchKind::ambiguous);
}

TEST(Ambiguity, Error1031IsGeneralUnlessLiveChat) {
  EXPECT_EQ(shipped()->find(Kind::error, {}, 1031, 1).entry->entry.name, "EC_OR_REMOTENODENOTREACHABLE");
  EXPECT_EQ(shipped()->find(Kind::error, kChat, 1031, 1).how, MatchKind::general);
  const auto live = shipped()->find(Kind::error, kLiveChat, 1031, -1);
  EXPECT_EQ(live.entry->entry.name, "Widget visibility error");
  EXPECT_EQ(live.how, MatchKind::channel);
}

TEST(Ambiguity, Errors200And202DependOnTheFamily) {
  EXPECT_EQ(shipped()->find(Kind::error, kMoments, 200, -1).entry->entry.name, "REJECTED_INVALID_CONTACT");
  EXPECT_EQ(shipped()->find(Kind::error, kMobileIdentity, 200, -1).entry->entry.name, "EC_INVALID_REQUEST");
  EXPECT_EQ(shipped()->find(Kind::error, kMoments, 202, -1).entry->entry.name, "REJECTED_VARIABLE_MISSED");
  EXPECT_EQ(shipped()->find(Kind::error, kMobileIdentity, 202, -1).entry->entry.name,
            "EC_CONSENT_NOT_GRANTED");
  // Without a channel there is no telling which: not guessed.
  const auto unbound = shipped()->find(Kind::error, {}, 200, -1);
  EXPECT_EQ(unbound.entry, nullptr);
  EXPECT_EQ(unbound.how, MatchKind::ambiguous);
}

TEST(Ambiguity, Id100IsAStatusAndAMobileIdentityError) {
  EXPECT_EQ(shipped()->find(Kind::status, {}, 100, 5).entry->entry.name, "UNDELIVERABLE_REJECTED_PLATFORM");
  EXPECT_EQ(shipped()->find(Kind::error, kMobileIdentity, 100, -1).entry->entry.name, "EC_NO_COVERAGE");
  EXPECT_EQ(shipped()->find(Kind::error, {}, 100, -1).how, MatchKind::unique);
}

TEST(Lookup, ChannelFamilyFirstThenGeneralThenASingleOtherFamily) {
  const auto in_chat = shipped()->find(Kind::error, kChat, 7002, 1);
  EXPECT_EQ(in_chat.how, MatchKind::channel);
  const auto general = shipped()->find(Kind::error, kChat, 27, 1);
  EXPECT_EQ(general.how, MatchKind::general);
  const auto inferred = shipped()->find(Kind::error, {}, 7002, 1);
  EXPECT_EQ(inferred.how, MatchKind::unique);
  EXPECT_EQ(inferred.entry->entry.name, "EC_UNKNOWN_USER");
  const auto unknown = shipped()->find(Kind::error, {}, 999999, 1);
  EXPECT_EQ(unknown.entry, nullptr);
  EXPECT_EQ(unknown.how, MatchKind::unknown);
}

TEST(Lookup, AGroupTheCatalogueDisagreesWithIsFlagged) {
  const auto found = shipped()->find(Kind::error, {}, 27, 2);
  ASSERT_NE(found.entry, nullptr);
  EXPECT_TRUE(found.group_mismatch);
  EXPECT_FALSE(shipped()->find(Kind::error, {}, 27, 1).group_mismatch);
}

TEST(Version, StampsSourceDateAndContentHash) {
  const std::string version(shipped()->version());
  EXPECT_EQ(version.substr(0, 11), "2026-11-27+");
  EXPECT_EQ(version.size(), 23u);
  EXPECT_NE(content_hash("a"), content_hash("b"));
}

TEST(Loader, ReportsEveryProblemWithItsLine) {
  const std::string yaml =
      "source: {date: \"2026-01-01\"}\n"
      "entries:\n"
      "  - {kind: error, family: general, group_id: 1, id: 1, name: A, description: x}\n"
      "  - {kind: error, family: nowhere, group_id: 1, id: 2, name: B, description: x}\n"
      "  - {kind: error, family: general, group_id: 1, id: one, name: C, description: x}\n"
      "  - {kind: error, family: general, group_id: 1, id: 1, name: D, description: x}\n"
      "  - {kind: error, family: general, id: 4, description: x, colour: red}\n"
      "  - {kind: error, family: general, id: 5, name: E, description: x, permanent: perhaps}\n";
  std::vector<Diagnostic> diagnostics;
  const auto doc = parse_codes(yaml, "codes.yaml", diagnostics);
  std::map<int, std::string> by_line;
  for (const auto& d : diagnostics) by_line[d.line] += d.message + "; ";
  EXPECT_NE(by_line[4].find("unknown family 'nowhere'"), std::string::npos) << by_line[4];
  EXPECT_NE(by_line[5].find("'id' must be an integer"), std::string::npos) << by_line[5];
  EXPECT_NE(by_line[6].find("duplicate entry"), std::string::npos) << by_line[6];
  EXPECT_NE(by_line[7].find("unknown key 'colour'"), std::string::npos) << by_line[7];
  EXPECT_NE(by_line[7].find("missing required field 'name'"), std::string::npos) << by_line[7];
  EXPECT_NE(by_line[8].find("'permanent' must be true or false"), std::string::npos) << by_line[8];
  EXPECT_EQ(doc.entries.size(), 1u);
}

TEST(Loader, YamlSyntaxErrorsCarryTheLine) {
  std::vector<Diagnostic> diagnostics;
  (void)parse_codes("source: {date: x}\nentries:\n  - [unclosed\n", "codes.yaml", diagnostics);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_GE(diagnostics[0].line, 3);
  EXPECT_NE(diagnostics[0].message.find("YAML syntax"), std::string::npos);
}

TEST(Loader, MissingFilesAreReportedNotThrown) {
  const auto loaded = load_catalog("/nonexistent/codes.yaml", "/nonexistent/policy.yaml");
  EXPECT_EQ(loaded.catalog, nullptr);
  EXPECT_EQ(loaded.diagnostics.size(), 2u);
}

TEST(Policy, UndecidedEntriesAndDeadRulesRefuseToBuild) {
  std::vector<Diagnostic> diagnostics;
  CodesDocument codes;
  codes.source.date = "2026-01-01";
  Entry flagless;
  flagless.kind = Kind::error;
  flagless.family = Family::dlt;
  flagless.id = 4106;
  flagless.name = "EC_BLOCKED_BY_DLT";
  codes.entries.push_back(flagless);
  Policy policy = parse_policy(
      "rules:\n  - {name: typo, match: {kind: error, family: dlt, id: 9999}, outcome: permanent, reason: "
      "r}\n",
      "policy.yaml", diagnostics);
  ASSERT_TRUE(diagnostics.empty());
  const auto catalog = Catalog::build(codes, policy, "v", diagnostics, "policy.yaml");
  EXPECT_EQ(catalog, nullptr);
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_NE(diagnostics[0].message.find("no outcome for dlt error 4106"), std::string::npos);
  EXPECT_NE(diagnostics[1].message.find("rule 'typo' decides no catalogue entry"), std::string::npos);
  EXPECT_EQ(diagnostics[1].line, 2);
}

// An override of the vendor's flag must quote the vendor's words, and the quote must be the entry's.
TEST(Policy, AnOverrideOfTheVendorsFlagMustQuoteTheEntrysText) {
  CodesDocument codes;
  codes.source.date = "2026-01-01";
  Entry temporary;
  temporary.kind = Kind::error;
  temporary.family = Family::general;
  temporary.id = 628;
  temporary.name = "EC_TEMPORARY_HANDSET_FAILURE";
  temporary.permanent = true;
  temporary.description = "There is a temporary handset failure";
  codes.entries.push_back(temporary);
  const auto build = [&](const std::string& rule) {
    std::vector<Diagnostic> diagnostics;
    Policy policy = parse_policy(
        "rules:\n  - {name: t, match: {kind: error, id: 628}, outcome: retryable, reason: r" + rule + "}\n",
        "policy.yaml", diagnostics);
    EXPECT_TRUE(diagnostics.empty());
    (void)Catalog::build(codes, policy, "v", diagnostics, "policy.yaml");
    return diagnostics;
  };
  auto unquoted = build("");
  ASSERT_EQ(unquoted.size(), 1u);
  EXPECT_NE(unquoted[0].message.find("overrides the vendor's flag of general error 628"), std::string::npos);
  EXPECT_NE(unquoted[0].message.find("(flagged permanent, decided retryable)"), std::string::npos);
  EXPECT_NE(unquoted[0].message.find("without quoting"), std::string::npos);
  EXPECT_EQ(unquoted[0].line, 2);
  auto elsewhere = build(", quote: \"a handset failure that lasts\"");
  ASSERT_EQ(elsewhere.size(), 1u);
  EXPECT_NE(elsewhere[0].message.find("none of its quotes is in that entry's text"), std::string::npos);
  EXPECT_TRUE(build(", quote: [\"nowhere\", \"temporary handset failure\"]").empty());
}

// Where the page gives no flag, a family's default is ours to state; a rule for one code rests on
// that code's own words.
TEST(Policy, ARuleForOneCodeWithoutAVendorFlagMustQuoteItsText) {
  CodesDocument codes;
  codes.source.date = "2026-01-01";
  for (const auto& [id, text] : {std::pair{4106, "Blocked by the DLT Provider."},
                                 std::pair{4107, "Timeout while performing DLT Scrubbing."}}) {
    Entry e;
    e.kind = Kind::error;
    e.family = Family::dlt;
    e.id = id;
    e.name = "E" + std::to_string(id);
    e.description = text;
    codes.entries.push_back(e);
  }
  const auto build = [&](const std::string& quote) {
    std::vector<Diagnostic> diagnostics;
    Policy policy = parse_policy(
        "rules:\n"
        "  - {name: dlt-default, match: {family: dlt}, outcome: permanent, reason: r}\n"
        "  - {name: timeout, match: {family: dlt, id: 4107}, outcome: retryable, reason: r" +
            quote + "}\n",
        "policy.yaml", diagnostics);
    EXPECT_TRUE(diagnostics.empty());
    (void)Catalog::build(codes, policy, "v", diagnostics, "policy.yaml");
    return diagnostics;
  };
  const auto unquoted = build("");
  ASSERT_EQ(unquoted.size(), 1u) << "the family default needs no quote, the one-code rule does";
  EXPECT_NE(
      unquoted[0].message.find("rule 'timeout' decides dlt error 4107 E4107, which the page gives no flag, "
                               "retryable without quoting"),
      std::string::npos)
      << unquoted[0].message;
  EXPECT_EQ(unquoted[0].line, 3);
  const auto elsewhere = build(", quote: \"Blocked by\"");
  ASSERT_EQ(elsewhere.size(), 1u);
  EXPECT_NE(elsewhere[0].message.find("none of its quotes is in that entry's text"), std::string::npos);
  EXPECT_TRUE(build(", quote: \"Timeout while performing\"").empty());
}

TEST(Policy, EveryOverrideInTheShippedPolicyQuotesItsEntry) {
  size_t overrides = 0;
  for (const auto& e : shipped()->entries()) {
    if (!e.entry.permanent) continue;
    const Outcome flagged = *e.entry.permanent ? Outcome::permanent : Outcome::retryable;
    if (e.decision.outcome == flagged) continue;
    ++overrides;
    const auto rule = std::find_if(shipped()->policy().rules.begin(), shipped()->policy().rules.end(),
                                   [&](const Rule& r) { return r.name == e.decision.rule; });
    ASSERT_NE(rule, shipped()->policy().rules.end()) << e.entry.name;
    EXPECT_FALSE(rule->quotes.empty()) << e.entry.name;
  }
  EXPECT_GE(overrides, 40u) << "the reviewed overrides in both directions";
}

TEST(Policy, BadRulesAreAllReported) {
  std::vector<Diagnostic> diagnostics;
  (void)parse_policy(
      "rules:\n"
      "  - {name: a, match: {kind: error}, outcome: maybe, reason: r}\n"
      "  - {name: b, match: {}, reason: r}\n"
      "  - {name: a, match: {id: 1}, reason: r, retry: {not_before_s: -1, max_attempts: 0}}\n",
      "policy.yaml", diagnostics);
  ASSERT_EQ(diagnostics.size(), 4u);
  EXPECT_EQ(diagnostics[0].line, 2);
  EXPECT_EQ(diagnostics[1].line, 3);
  EXPECT_EQ(diagnostics[2].line, 4);
}

TEST(Policy, MostSpecificRuleWinsAndOthersFollowTheVendorFlag) {
  const auto out_of_credit = shipped()->find(Kind::error, {}, 581, 1);
  EXPECT_EQ(out_of_credit.entry->decision.rule, "user-out-of-credit");
  EXPECT_EQ(out_of_credit.entry->decision.retry.not_before_s, 86400);
  const auto unknown_subscriber = shipped()->find(Kind::error, {}, 1, 1);
  EXPECT_EQ(unknown_subscriber.entry->decision.rule, "vendor-flag");
  EXPECT_EQ(unknown_subscriber.entry->decision.outcome, Outcome::permanent);
  constexpr Family dlt[] = {Family::dlt};
  EXPECT_EQ(shipped()->find(Kind::error, dlt, 4107, -1).entry->decision.outcome, Outcome::retryable);
  EXPECT_EQ(shipped()->find(Kind::error, dlt, 4106, -1).entry->decision.outcome, Outcome::permanent);
}

TEST(Policy, EveryEntryHasADecidedOutcome) {
  std::map<Outcome, int> outcomes;
  for (const auto& e : shipped()->entries()) {
    EXPECT_FALSE(e.decision.rule.empty()) << e.entry.name;
    EXPECT_FALSE(e.decision.reason.empty()) << e.entry.name;
    ++outcomes[e.decision.outcome];
  }
  EXPECT_EQ(shipped()->entries().size(), 500u);
  for (Outcome o : {Outcome::delivered, Outcome::pending, Outcome::retryable, Outcome::permanent}) {
    EXPECT_GT(outcomes[o], 0) << to_string(o);
  }
  for (int group = 1; group <= 5; ++group) EXPECT_NE(shipped()->status_group_decision(group), nullptr);
  EXPECT_EQ(shipped()->status_group_decision(0), nullptr);
  EXPECT_EQ(shipped()->status_group_decision(9), nullptr);
}
