// The reader: one message (a report, a {"results":[...]} batch or an array of reports) into the
// fields of each report, with On-Demand. Every problem is a Reason: a report-level one refuses
// that report, a document-level one the whole message. No exceptions, no allocation once warm.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "dlr/core/reason.h"
#include "dlr/core/report_fields.h"

namespace dlr::core {

/// A problem with one report; the batch's other reports still flow.
struct FieldError {
  Reason reason = Reason::none;
  const char* detail = "";  ///< static text
  [[nodiscard]] bool failed() const noexcept { return reason != Reason::none; }
};

/// A problem with the whole message: nothing in it is processed.
struct DocumentError {
  Reason reason = Reason::none;
  const char* detail = "";  ///< static text
  int64_t position = -1;    ///< byte offset where the parser stopped, when it says
  [[nodiscard]] bool failed() const noexcept { return reason != Reason::none; }
};

/// Receives the reports of a message as the reader meets them, in order.
class ReportSink {
 public:
  /// One report object: its fields, the first report-level problem met reading them, its index in
  /// the batch and its bytes. Returns false when the report's spans are inconsistent (broken text
  /// that still parsed): the whole message is then invalid.
  virtual bool on_report(const ReportFields& fields, FieldError error, uint32_t index,
                         std::string_view raw) noexcept = 0;
  /// An element of "results" that is not an object.
  virtual void on_not_object(uint32_t index, std::string_view raw) noexcept = 0;

 protected:
  ~ReportSink() = default;
};

/// One per worker: owns the parsers and the padded copy of the message. Not thread-safe.
class DocumentReader {
 public:
  DocumentReader(size_t max_document_bytes, size_t max_depth);

  /// Reads `message`, handing each report to `sink`. After the reports, the whole message is
  /// validated (On-Demand skips what it does not read); a failure then means the reports already
  /// handed over must be discarded.
  [[nodiscard]] DocumentError read(std::string_view message, ReportSink& sink) noexcept;

  /// TOO_LARGE for a message over max_document_bytes (JSON, or XML before it is transcoded).
  [[nodiscard]] DocumentError check_size(std::string_view message) const noexcept {
    if (message.size() > max_document_bytes_)
      return {Reason::too_large, "the message is larger than max_document_bytes", -1};
    return {};
  }

  /// Offset within the current message of a view given to the sink.
  [[nodiscard]] uint32_t offset_of(std::string_view view) const noexcept {
    return static_cast<uint32_t>(view.data() - buffer_.get());
  }

 private:
  DocumentError walk(std::string_view message, ReportSink& sink) noexcept;
  DocumentError validate(size_t size) noexcept;
  int64_t fault_position(size_t size) noexcept;
  int64_t second_results_position(size_t size) noexcept;

  simdjson::ondemand::parser parser_;
  simdjson::dom::parser validator_;  ///< checks what On-Demand skipped
  std::unique_ptr<char[]> buffer_;
  size_t buffer_capacity_ = 0;
  size_t max_document_bytes_;
  size_t max_depth_;
};

}  // namespace dlr::core
