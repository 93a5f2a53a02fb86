// Micro-benchmarks of the per-message core, beside a bare simdjson On-Demand walk over the same
// documents as the reference. Each benchmark checks its output once before timing.
//
//   dlr_micro --corpus=FILE [Google Benchmark flags]    FILE: one message per line (bench/run.sh makes it)
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "dlr/catalog/loader.h"
#include "dlr/core/channel.h"
#include "dlr/core/classify.h"
#include "dlr/core/processor.h"
#include "dlr/core/reader.h"

namespace {

namespace ond = simdjson::ondemand;

struct Corpus {
  std::vector<std::string> messages;
  std::vector<simdjson::padded_string> padded;
  size_t bytes = 0;
  size_t reports = 0;
};

Corpus g_corpus;
std::shared_ptr<const dlr::catalog::Catalog> g_catalog;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "dlr_micro: %s\n", why.c_str());
  std::exit(2);
}

// The reference: what any consumer of these reports must do at least. Visit every report of the
// batch and read the fields classification needs (messageId, status and error ids, group, name,
// permanent), skipping the rest.
size_t walk(ond::parser& parser, const simdjson::padded_string& message, uint64_t& checksum) {
  ond::document doc;
  if (parser.iterate(message).get(doc)) return 0;
  ond::array results;
  if (doc["results"].get_array().get(results)) return 0;
  size_t n = 0;
  for (auto element : results) {
    ond::object report;
    if (element.get_object().get(report)) return 0;
    for (auto field : report) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return 0;
      if (key == "messageId") {
        std::string_view id;
        if (!field.value().get_string().get(id)) checksum += id.size();
      } else if (key == "status" || key == "error") {
        ond::object code;
        if (field.value().get_object().get(code)) return 0;
        for (auto member : code) {
          std::string_view name;
          if (member.unescaped_key().get(name)) return 0;
          if (name == "id" || name == "groupId") {
            int64_t v = 0;
            if (!member.value().get_int64().get(v)) checksum += static_cast<uint64_t>(v);
          } else if (name == "name") {
            std::string_view s;
            if (!member.value().get_string().get(s)) checksum += s.size();
          } else if (name == "permanent") {
            bool b = false;
            if (!member.value().get_bool().get(b)) checksum += b;
          }
        }
      }
    }
    ++n;
  }
  return n;
}

void BM_SimdjsonWalk(benchmark::State& state) {
  ond::parser parser;
  uint64_t checksum = 0;
  size_t reports = 0;
  for (const auto& m : g_corpus.padded) reports += walk(parser, m, checksum);
  if (reports != g_corpus.reports) state.SkipWithError("the walk did not see every report");
  for (auto _ : state) {
    for (const auto& m : g_corpus.padded) benchmark::DoNotOptimize(walk(parser, m, checksum));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g_corpus.reports));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_corpus.bytes));
}

// Classified reports of one pass; -1 when any report was not classified.
int64_t classify_all(dlr::core::Processor& processor, dlr::core::Result& result) {
  int64_t n = 0;
  for (const auto& m : g_corpus.messages) {
    processor.process(m, dlr::core::Channel::sms, result);
    for (const auto& r : result.reports) {
      if (r.verdict != dlr::core::Verdict::classified) return -1;
      ++n;
    }
  }
  return n;
}

// The whole per-message pipeline: copy to the padded buffer, depth check, parse, look up,
// classify, serialize the enriched and analytics records.
void BM_Pipeline(benchmark::State& state) {
  dlr::core::Processor processor(g_catalog);
  dlr::core::Result result;
  if (classify_all(processor, result) != static_cast<int64_t>(g_corpus.reports))
    state.SkipWithError("not every report was classified");
  if (result.enriched.empty() || result.analytics.empty()) state.SkipWithError("no output records");
  for (auto _ : state) {
    for (const auto& m : g_corpus.messages) {
      processor.process(m, dlr::core::Channel::sms, result);
      benchmark::DoNotOptimize(result.reports.data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g_corpus.reports));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_corpus.bytes));
}

// The reader and classify alone, without the serializers: what the pipeline costs before it
// writes a byte.
struct ClassifyOnly final : dlr::core::ReportSink {
  int64_t classified = 0;
  int64_t refused = 0;
  bool on_report(const dlr::core::ReportFields& fields, dlr::core::FieldError error, uint32_t,
                 std::string_view) noexcept override {
    if (!error.failed() && dlr::core::classify(fields, dlr::core::Channel::sms, *g_catalog).classified())
      ++classified;
    else
      ++refused;
    return true;
  }
  void on_not_object(uint32_t, std::string_view) noexcept override { ++refused; }
};

void BM_ParseClassify(benchmark::State& state) {
  dlr::core::DocumentReader reader(1 << 20, 64);
  ClassifyOnly sink;
  for (const auto& m : g_corpus.messages) (void)reader.read(m, sink);
  if (sink.refused != 0 || sink.classified != static_cast<int64_t>(g_corpus.reports)) {
    state.SkipWithError("not every report was classified");
  }
  for (auto _ : state) {
    for (const auto& m : g_corpus.messages) benchmark::DoNotOptimize(reader.read(m, sink));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g_corpus.reports));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_corpus.bytes));
}

// Catalogue lookups alone: the status and error code of every report, as the pipeline does them.
void BM_Lookup(benchmark::State& state) {
  struct Codes {
    int status_id, status_group, error_id, error_group;
  };
  std::vector<Codes> codes;
  ond::parser parser;
  for (const auto& m : g_corpus.padded) {
    ond::document doc;
    if (parser.iterate(m).get(doc)) continue;
    for (auto element : doc["results"]) {
      ond::object report = element.get_object();
      Codes c{};
      c.status_group = static_cast<int>(int64_t(report["status"]["groupId"]));
      c.status_id = static_cast<int>(int64_t(report["status"]["id"]));
      c.error_group = static_cast<int>(int64_t(report["error"]["groupId"]));
      c.error_id = static_cast<int>(int64_t(report["error"]["id"]));
      codes.push_back(c);
    }
  }
  const auto families = dlr::core::families_of(dlr::core::Channel::sms);
  size_t found = 0;
  for (const auto& c : codes) {
    found += g_catalog->find(dlr::catalog::Kind::status, families, c.status_id, c.status_group, {}).entry !=
             nullptr;
    found +=
        g_catalog->find(dlr::catalog::Kind::error, families, c.error_id, c.error_group, {}).entry != nullptr;
  }
  if (codes.size() != g_corpus.reports || found != 2 * codes.size())
    state.SkipWithError("lookups missed codes");
  for (auto _ : state) {
    for (const auto& c : codes) {
      benchmark::DoNotOptimize(
          g_catalog->find(dlr::catalog::Kind::status, families, c.status_id, c.status_group, {}));
      benchmark::DoNotOptimize(
          g_catalog->find(dlr::catalog::Kind::error, families, c.error_id, c.error_group, {}));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * codes.size()));
}

}  // namespace

BENCHMARK(BM_SimdjsonWalk)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseClassify)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Pipeline)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Lookup)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  std::string corpus_path;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--corpus=", 9) == 0)
      corpus_path = argv[i] + 9;
    else
      rest.push_back(argv[i]);
  }
  if (corpus_path.empty()) die("--corpus=FILE is required (one message per line; bench/run.sh makes one)");
  std::ifstream in(corpus_path);
  if (!in) die("cannot read " + corpus_path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    g_corpus.bytes += line.size();
    g_corpus.padded.emplace_back(line);
    g_corpus.messages.push_back(std::move(line));
  }
  auto loaded =
      dlr::catalog::load_catalog(dlr::catalog::default_codes_path(), dlr::catalog::default_policy_path());
  if (!loaded.catalog) die("the catalogue does not load");
  g_catalog = loaded.catalog;
  ond::parser parser;
  uint64_t checksum = 0;
  for (const auto& m : g_corpus.padded) g_corpus.reports += walk(parser, m, checksum);
  if (g_corpus.reports == 0) die("no reports in " + corpus_path);
  std::fprintf(stderr, "corpus: %zu messages, %zu reports, %zu bytes\n", g_corpus.messages.size(),
               g_corpus.reports, g_corpus.bytes);
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(count, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
