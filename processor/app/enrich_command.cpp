// `dlr-enricher enrich [--channel NAME] [FILE...]`: the per-message core on files or stdin.
#include <array>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include "args.h"
#include "commands.h"
#include "dlr/catalog/loader.h"
#include "dlr/core/processor.h"
#include "help.h"

namespace dlr::app {
namespace {

using core::Verdict;

struct Tally {
  size_t documents = 0;
  std::array<size_t, 4> outcomes{};
  size_t invalid = 0;
  size_t skipped = 0;
  std::map<std::string_view, size_t> reasons;
};

bool g_analytics = false;  // --analytics: print the analytics records instead of the enriched reports

void emit(core::Processor& processor, std::string_view document, core::Channel channel,
          const std::string& source, core::Result& result, std::string& out, Tally& tally) {
  ++tally.documents;
  processor.process(document, channel, result, source);
  for (const auto& report : result.reports) {
    const std::string_view json = result.enriched_of(report);
    if (report.verdict == Verdict::skipped) {
      ++tally.skipped;
      ++tally.reasons[core::to_string(report.reason)];
      continue;
    }
    if (report.verdict == Verdict::invalid) {
      ++tally.invalid;
      ++tally.reasons[core::to_string(report.reason)];
      if (g_analytics) continue;
      out.append(json);
      out += '\n';
      continue;
    }
    ++tally.outcomes[static_cast<size_t>(report.outcome)];
    out.append(g_analytics ? result.analytics_of(report) : json);
    out += '\n';
  }
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// A file holds one JSON document, or one document per line: it is line-delimited when it has
// several non-blank lines and the first of them is a whole document by itself.
void process_text(core::Processor& processor, std::string_view text, core::Channel channel,
                  const std::string& name, core::Result& result, std::string& out, Tally& tally) {
  std::vector<std::pair<size_t, std::string_view>> lines;
  size_t start = 0, number = 1;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!is_blank(line)) lines.emplace_back(number, line);
    start = end + 1;
    ++number;
  }
  bool line_delimited = false;
  if (lines.size() > 1) {
    processor.process(lines.front().second, channel, result);
    line_delimited = result.document_error == core::Reason::none;
  }
  if (!line_delimited) {
    emit(processor, text, channel, name, result, out, tally);
    return;
  }
  for (const auto& [line_number, line] : lines) {
    emit(processor, line, channel, name + ":" + std::to_string(line_number), result, out, tally);
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
}

}  // namespace

int enrich_command(int argc, char** argv) {
  Args args(argc, argv, 2, {"channel", "codes", "policy", "max-bytes"}, {"analytics"});
  if (const int code = help_or_usage_error(args, "enrich"); code >= 0) return code;
  core::Channel channel = core::Channel::unknown;
  if (auto name = args.get("channel")) {
    channel = core::parse_channel(*name);
    if (channel == core::Channel::unknown) {
      return usage_error("enrich",
                         "unknown channel '" + *name + "'; known: " + std::string(core::channel_names()));
    }
  }
  g_analytics = args.has("analytics");
  core::ProcessorOptions options;
  if (auto max = args.get("max-bytes")) {
    int bytes = 0;
    if (!parse_int(*max, bytes) || bytes <= 0) {
      std::fprintf(stderr, "dlr-enricher enrich: --max-bytes must be a positive number\n");
      return 2;
    }
    options.max_document_bytes = static_cast<size_t>(bytes);
  }
  auto loaded = catalog::load_catalog(args.get("codes").value_or(catalog::default_codes_path()),
                                      args.get("policy").value_or(catalog::default_policy_path()));
  for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", catalog::format(d).c_str());
  if (!loaded.catalog) return 2;

  core::Processor processor(loaded.catalog, options);
  core::Result result;
  std::string out;
  Tally tally;
  int status = 0;
  std::vector<std::string> files = args.positionals();
  if (files.empty()) files.push_back("-");
  for (const auto& file : files) {
    std::string text, error;
    if (file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else if (!catalog::read_file(file, text, error)) {
      std::fprintf(stderr, "dlr-enricher enrich: %s\n", error.c_str());
      status = 2;
      continue;
    }
    process_text(processor, text, channel, file == "-" ? "stdin" : file, result, out, tally);
    std::fwrite(out.data(), 1, out.size(), stdout);
    out.clear();
  }
  std::fflush(stdout);
  size_t reports = tally.invalid + tally.skipped;
  for (auto n : tally.outcomes) reports += n;
  std::fprintf(stderr,
               "enrich: %zu document(s), %zu report(s): %zu delivered, %zu pending, %zu retryable, %zu "
               "permanent, %zu invalid, %zu skipped",
               tally.documents, reports, tally.outcomes[0], tally.outcomes[1], tally.outcomes[2],
               tally.outcomes[3], tally.invalid, tally.skipped);
  if (!tally.reasons.empty()) {
    std::fprintf(stderr, " (");
    bool first = true;
    for (const auto& [reason, count] : tally.reasons) {
      std::fprintf(stderr, "%s%.*s %zu", first ? "" : ", ", static_cast<int>(reason.size()), reason.data(),
                   count);
      first = false;
    }
    std::fprintf(stderr, ")");
  }
  std::fprintf(stderr, "; catalogue %.*s\n", static_cast<int>(loaded.catalog->version().size()),
               loaded.catalog->version().data());
  return status;
}

}  // namespace dlr::app
