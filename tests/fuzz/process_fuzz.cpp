// libFuzzer target over the per-message pipeline, JSON and XML bodies alike (the golden seeds hold
// both). Whatever the bytes, process() must not crash, must account for every report with a
// verdict, keep every range inside its buffer, and write only valid JSON records: downstream
// consumers parse everything the stage writes.
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "dlr/catalog/loader.h"
#include "dlr/core/processor.h"

namespace {

struct Harness {
  std::shared_ptr<const dlr::catalog::Catalog> catalog;
  std::unique_ptr<dlr::core::Processor> processor;
  dlr::core::Result result;
  simdjson::dom::parser checker;
  Harness() {
    auto loaded = dlr::catalog::load_catalog(DLR_SOURCE_DIR "/catalog/codes.yaml",
                                             DLR_SOURCE_DIR "/catalog/policy.yaml");
    if (!loaded.catalog) std::abort();
    catalog = loaded.catalog;
    dlr::core::ProcessorOptions options;
    options.max_document_bytes = 64 * 1024;
    processor = std::make_unique<dlr::core::Processor>(catalog, options);
  }
};

// Names the broken invariant before stopping, so a crash report says which.
#define require(condition)                                                            \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      __builtin_trap();                                                               \
    }                                                                                 \
  } while (0)

bool inside(dlr::core::Range r, size_t size) {
  return size_t{r.offset} + r.length <= size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness h;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Each byte of the first one picks a channel binding, so channel handling is fuzzed too.
  const auto channel = static_cast<dlr::core::Channel>(size ? data[0] % dlr::core::kChannelCount : 0);
  h.processor->process(input, channel, h.result);
  auto& r = h.result;
  // A whole-message failure is one invalid report; otherwise one verdict per report (an empty
  // batch has none).
  if (r.document_error != dlr::core::Reason::none) require(r.reports.size() == 1);
  for (const auto& report : r.reports) {
    require(inside(report.raw, r.body.size()));
    require(inside(report.enriched, r.enriched.size()));
    require(inside(report.analytics, r.analytics.size()));
    require(inside(report.message_id, r.keys.size()));
    if (report.verdict == dlr::core::Verdict::classified)
      require(report.decision != nullptr && report.analytics.length > 0);
    if (report.verdict != dlr::core::Verdict::classified) require(report.reason != dlr::core::Reason::none);
    for (std::string_view record : {r.enriched_of(report), r.analytics_of(report)}) {
      if (record.empty()) continue;
      simdjson::dom::element element;
      require(h.checker.parse(record.data(), record.size()).get(element) == simdjson::SUCCESS);
      require(element.is_object());
    }
  }
  // The body the reports point into is the input, or for XML the JSON it became, which must then
  // parse: it is what a failing report of the batch is dead-lettered as.
  const bool xml = !r.body.empty() && r.body.data() != input.data();
  if (!xml) require(r.body.data() == input.data() && r.body.size() == size);
  simdjson::dom::element doc;
  if (xml && r.document_error == dlr::core::Reason::none)
    require(h.checker.parse(r.body.data(), r.body.size()).get(doc) == simdjson::SUCCESS);
  // No report goes missing: a valid message has one verdict per report it holds, counted by a
  // second parser (a single report, each element of an array, or of every "results" array).
  if (r.document_error == dlr::core::Reason::none &&
      h.checker.parse(r.body.data(), r.body.size()).get(doc) == simdjson::SUCCESS) {
    size_t reports = 0;
    if (doc.is_array()) {
      reports = simdjson::dom::array(doc).size();
    } else if (doc.is_object()) {
      bool batch = false;
      for (auto field : simdjson::dom::object(doc)) {
        if (field.key != "results" || !field.value.is_array()) continue;
        batch = true;
        reports += simdjson::dom::array(field.value).size();
      }
      if (!batch) reports = 1;
    }
    require(r.reports.size() == reports);
  }
  return 0;
}
