#include "dlr/core/processor.h"

#include "dlr/core/classify.h"
#include "dlr/core/reader.h"
#include "dlr/core/serialize.h"
#include "xml_body.h"

namespace dlr::core {

struct Processor::Impl {
  explicit Impl(const ProcessorOptions& given)
      : options(given), reader(given.max_document_bytes, given.max_depth) {}
  ProcessorOptions options;
  DocumentReader reader;
  XmlBody xml;
  Fragments fragments;  ///< of catalog_
};

// Turns each report the reader hands over into its Report and records.
class Processor::Sink final : public ReportSink {
 public:
  Sink(const Processor& processor, Channel binding, Result& out, std::string_view source)
      : reader_(processor.impl_->reader),
        fragments_(processor.impl_->fragments),
        catalog_(*processor.catalog_),
        binding_(binding),
        out_(out),
        source_(source),
        record_source_(processor.impl_->options.source_in_every_record ? source : std::string_view()) {}

  bool on_report(const ReportFields& f, FieldError error, uint32_t index,
                 std::string_view raw) noexcept override {
    Report report;
    report.index = index;
    report.raw = Range{reader_.offset_of(raw), static_cast<uint32_t>(raw.size())};
    if (f.has_message_id) {
      report.message_id =
          Range{static_cast<uint32_t>(out_.keys.size()), static_cast<uint32_t>(f.message_id.size())};
      out_.keys.append(f.message_id);
    }
    Classification c;
    if (error.failed()) {
      c.reason = error.reason;
      c.detail = error.detail;
    } else {
      c = classify(f, binding_, catalog_);
    }
    report.unknown_code = c.unknown_code;
    report.unknown_channel = c.unknown_channel;
    const size_t start = out_.enriched.size();
    if (!c.classified()) {
      report.verdict = is_skip_reason(c.reason) ? Verdict::skipped : Verdict::invalid;
      report.reason = c.reason;
      report.detail = c.detail;
      append_invalid(out_.enriched,
                     {f.has_message_id ? &f.message_id : nullptr, report.verdict == Verdict::skipped,
                      c.reason, c.detail, index, -1, source_});
    } else {
      report.verdict = Verdict::classified;
      report.decision = c.decision;
      report.outcome = c.decision->outcome;
      report.final = c.decision->final;
      if (f.error.present && f.error.has_id && f.error.id > 0 && f.error.id <= INT32_MAX) {
        report.error_id = static_cast<int32_t>(f.error.id);
        report.error_known = c.error.entry != nullptr;
        if (c.error.entry) report.error_family = c.error.entry->entry.family;
      }
      if (!append_enriched(out_.enriched, raw, f, c, fragments_, catalog_.version(), record_source_))
        return false;
      const size_t a_start = out_.analytics.size();
      append_analytics(out_.analytics, f, c, catalog_.version(), record_source_);
      report.analytics =
          Range{static_cast<uint32_t>(a_start), static_cast<uint32_t>(out_.analytics.size() - a_start)};
    }
    report.enriched =
        Range{static_cast<uint32_t>(start), static_cast<uint32_t>(out_.enriched.size() - start)};
    out_.reports.push_back(report);
    return true;
  }

  void on_not_object(uint32_t index, std::string_view raw) noexcept override {
    Report report;
    report.index = index;
    report.verdict = Verdict::invalid;
    report.reason = Reason::report_not_object;
    report.detail = "an element of results is not an object";
    report.raw = Range{reader_.offset_of(raw), static_cast<uint32_t>(raw.size())};
    const size_t start = out_.enriched.size();
    append_invalid(out_.enriched, {nullptr, false, report.reason, report.detail, index, -1, source_});
    report.enriched =
        Range{static_cast<uint32_t>(start), static_cast<uint32_t>(out_.enriched.size() - start)};
    out_.reports.push_back(report);
  }

 private:
  const DocumentReader& reader_;
  const Fragments& fragments_;
  const catalog::Catalog& catalog_;
  Channel binding_;
  Result& out_;
  std::string_view source_;
  std::string_view record_source_;  ///< for enriched and analytics records: "" unless the options ask
};

namespace {

// The whole message is unprocessable: one invalid report covering all of it.
Reason fail_whole(Result& out, std::string_view message, const DocumentError& error,
                  std::string_view source) noexcept {
  out.clear();
  out.body = message;
  out.document_error = error.reason;
  out.document_position = error.position;
  out.document_detail = error.detail;
  Report report;
  report.verdict = Verdict::invalid;
  report.reason = error.reason;
  report.detail = error.detail;
  report.position = error.position;
  report.raw = Range{0, static_cast<uint32_t>(message.size())};
  append_invalid(out.enriched, {nullptr, false, error.reason, error.detail, -1, error.position, source});
  report.enriched = Range{0, static_cast<uint32_t>(out.enriched.size())};
  out.reports.push_back(report);
  return error.reason;
}

}  // namespace

void Result::clear() noexcept {
  document_error = Reason::none;
  document_position = -1;
  document_detail.clear();
  body = {};
  reports.clear();
  enriched.clear();
  analytics.clear();
  keys.clear();
}

Processor::Processor(std::shared_ptr<const catalog::Catalog> catalog, ProcessorOptions options)
    : impl_(std::make_unique<Impl>(options)) {
  set_catalog(std::move(catalog));
}

Processor::~Processor() = default;

void Processor::set_catalog(std::shared_ptr<const catalog::Catalog> catalog) {
  impl_->fragments.build(*catalog);
  catalog_ = std::move(catalog);
}

Reason Processor::process(std::string_view message, Channel binding, Result& out,
                          std::string_view source) noexcept {
  out.clear();
  out.body = message;
  const bool xml = looks_like_xml(message);
  if (xml) {
    if (const DocumentError error = impl_->reader.check_size(message); error.failed())
      return fail_whole(out, message, error, source);
    if (const DocumentError error = impl_->xml.transcode(message, impl_->options.max_depth); error.failed()) {
      return fail_whole(out, message, error, source);
    }
    out.body = impl_->xml.json();
  }
  Sink sink(*this, binding, out, source);
  if (DocumentError error = impl_->reader.read(out.body, sink); error.failed()) {
    if (xml) error.position = impl_->xml.xml_position(error.position);
    return fail_whole(out, message, error, source);
  }
  return Reason::none;
}

}  // namespace dlr::core
