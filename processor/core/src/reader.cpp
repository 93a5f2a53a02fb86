#include "dlr/core/reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "depth_scan.h"
#include "field_reader.h"
#include "utf8.h"

namespace dlr::core {
namespace {

namespace ond = simdjson::ondemand;

// What one byte of JSON text is, read left to right: outside every string, a string's quote, its
// content, or the byte after a backslash. For the byte loops on the error path.
class StringScan {
 public:
  enum class Byte : uint8_t { outside, quote, content, escaped };
  Byte next(char c) noexcept {
    if (!in_string_) {
      in_string_ = c == '"';
      return in_string_ ? Byte::quote : Byte::outside;
    }
    if (escaped_) {
      escaped_ = false;
      return Byte::escaped;
    }
    escaped_ = c == '\\';
    if (c == '"') in_string_ = false;
    return c == '"' ? Byte::quote : Byte::content;
  }

 private:
  bool in_string_ = false;
  bool escaped_ = false;
};

// Where a document the parser found unbalanced breaks: the first byte after its top-level value
// closes (content follows it), or its end (cut short). A byte loop, on the error path only.
int64_t where_it_breaks(std::string_view text) noexcept {
  text = trim_right(text);
  int depth = 0;
  bool started = false;
  StringScan strings;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (strings.next(c) != StringScan::Byte::outside) continue;
    if (c == '{' || c == '[') {
      ++depth;
      started = true;
    } else if ((c == '}' || c == ']') && --depth <= 0 && started) {
      const size_t next = text.find_first_not_of(" \t\r\n", i + 1);
      if (next != std::string_view::npos) return static_cast<int64_t>(next);
    }
  }
  return static_cast<int64_t>(text.size());
}

// The offset of the first control byte inside a string (JSON wants it escaped), or -1. A byte
// loop, on the error path only.
int64_t first_unescaped_control(std::string_view text) noexcept {
  StringScan strings;
  for (size_t i = 0; i < text.size(); ++i) {
    if (strings.next(text[i]) == StringScan::Byte::content && static_cast<unsigned char>(text[i]) < 0x20)
      return static_cast<int64_t>(i);
  }
  return -1;
}

// A parse error with where it is: for an unbalanced document, an unclosed string or a control
// byte in a string the parser's own location is where it stopped looking (or none), not where the
// fault is.
DocumentError parse_error(simdjson::error_code error, std::string_view message, int64_t parser_at) noexcept {
  if (error == simdjson::UTF8_ERROR)
    return {document_reason(error), simdjson::error_message(error), first_invalid_utf8(message)};
  if (error == simdjson::UNESCAPED_CHARS)
    return {document_reason(error), simdjson::error_message(error), first_unescaped_control(message)};
  if (error != simdjson::INCOMPLETE_ARRAY_OR_OBJECT && error != simdjson::UNCLOSED_STRING)
    return {document_reason(error), simdjson::error_message(error), parser_at};
  const int64_t at = where_it_breaks(message);
  if (at < static_cast<int64_t>(trim_right(message).size()))
    return {Reason::invalid_json, "content after the end of the JSON document", at};
  return {document_reason(error), simdjson::error_message(error), at};
}

// One parsed document, walked once: the reports go to the sink in order.
class Walk {
 public:
  Walk(ond::document& doc, std::string_view message, const char* base, ReportSink& sink)
      : doc_(doc), message_(message), base_(base), sink_(sink) {}

  DocumentError root(std::string_view message) noexcept;

 private:
  DocumentError object_root(std::string_view message) noexcept;
  DocumentError array(ond::array& array) noexcept;
  DocumentError scalar(ond::json_type type) noexcept;
  Failure report(ond::object& object, uint32_t index) noexcept;

  int64_t position() noexcept {
    const char* at = nullptr;
    if (doc_.current_location().get(at)) return -1;
    return at - base_;
  }
  DocumentError failed(simdjson::error_code error) noexcept {
    return parse_error(error, message_, position());
  }
  DocumentError failed(const Failure& failure) noexcept {
    return {failure.reason, failure.detail, position()};
  }

  ond::document& doc_;
  std::string_view message_;
  const char* base_;
  ReportSink& sink_;
};

Failure Walk::report(ond::object& object, uint32_t index) noexcept {
  std::string_view raw;
  if (auto error = object.raw_json().get(raw)) return fail_document(error);
  raw = trim_right(raw);
  if (auto error = object.reset().error()) return fail_document(error);
  ReportFields fields;
  const Failure failure = read_fields(object, fields);
  if (failure.document) return failure;
  if (!sink_.on_report(fields, FieldError{failure.reason, failure.detail}, index, raw)) {
    return fail_document(simdjson::TAPE_ERROR);
  }
  return {};
}

DocumentError Walk::array(ond::array& array) noexcept {
  uint32_t index = 0;
  for (auto element_result : array) {
    ond::value element;
    if (auto error = element_result.get(element)) return failed(error);
    ond::json_type type;
    if (auto error = element.type().get(type)) return failed(error);
    if (type != ond::json_type::object) {
      sink_.on_not_object(index++, trim_right(element.raw_json_token()));
      continue;
    }
    ond::object object;
    if (auto error = element.get_object().get(object)) return failed(error);
    if (const Failure failure = report(object, index); failure.document) return failed(failure);
    ++index;
  }
  return {};
}

DocumentError Walk::object_root(std::string_view message) noexcept {
  ond::object root;
  if (auto error = doc_.get_object().get(root)) return failed(error);
  // Walk the whole document once first: truncation and unbalanced brackets show here, before
  // any report of it is emitted.
  std::string_view root_raw;
  if (auto error = root.raw_json().get(root_raw)) return failed(error);
  const auto end = static_cast<size_t>(root_raw.data() + root_raw.size() - base_);
  if (end < message.size() && !trim_right(std::string_view(base_ + end, message.size() - end)).empty()) {
    return {Reason::invalid_json, "content after the end of the JSON document", static_cast<int64_t>(end)};
  }
  if (auto error = root.reset().error()) return failed(error);
  ond::value results;
  auto error = root.find_field_unordered("results").get(results);
  if (error == simdjson::NO_SUCH_FIELD) {
    if (auto reset_error = root.reset().error()) return failed(reset_error);
    if (const Failure failure = report(root, 0); failure.document) return failed(failure);
    return {};
  }
  if (error) return failed(error);
  ond::array reports;
  if (auto array_error = results.get_array().get(reports)) {
    if (array_error == simdjson::INCORRECT_TYPE) {
      return {Reason::results_not_array, "\"results\" must be an array of reports", position()};
    }
    return failed(array_error);
  }
  return array(reports);
}

// A scalar is never a report, but text that merely starts like one is not JSON at all.
DocumentError Walk::scalar(ond::json_type type) noexcept {
  simdjson::error_code error = simdjson::SUCCESS;
  switch (type) {
    case ond::json_type::number:
      error = doc_.get_number().error();
      break;
    case ond::json_type::string:
      error = doc_.get_string().error();
      break;
    case ond::json_type::boolean:
      error = doc_.get_bool().error();
      break;
    case ond::json_type::null: {
      bool is_null = false;
      error = doc_.is_null().get(is_null);
      if (!error && !is_null) error = simdjson::N_ATOM_ERROR;
      break;
    }
    default:
      break;
  }
  if (error) return failed(error);
  return {Reason::not_a_report,
          "the message is neither a report, a {\"results\":[...]} batch nor an array of reports", 0};
}

DocumentError Walk::root(std::string_view message) noexcept {
  ond::json_type type;
  if (auto error = doc_.type().get(type)) return failed(error);
  if (type == ond::json_type::object) return object_root(message);
  if (type != ond::json_type::array) return scalar(type);
  ond::array reports;
  if (auto error = doc_.get_array().get(reports)) return failed(error);
  std::string_view array_raw;
  if (auto error = reports.raw_json().get(array_raw)) return failed(error);
  if (auto error = reports.reset().error()) return failed(error);
  return array(reports);
}

// Every value read, none skipped, so On-Demand checks them all and stops at the first fault.
// Depth is bounded by the max_depth check before any parse.
simdjson::error_code visit(ond::value value) noexcept {
  ond::json_type type{};
  if (auto error = value.type().get(type)) return error;
  switch (type) {
    case ond::json_type::array: {
      ond::array array;
      if (auto error = value.get_array().get(array)) return error;
      for (auto element : array) {
        ond::value item;
        if (auto error = element.get(item)) return error;
        if (auto error = visit(item)) return error;
      }
      return simdjson::SUCCESS;
    }
    case ond::json_type::object: {
      ond::object object;
      if (auto error = value.get_object().get(object)) return error;
      for (auto member : object) {
        ond::field field;
        if (auto error = std::move(member).get(field)) return error;
        std::string_view key;
        if (auto error = field.unescaped_key().get(key)) return error;
        if (auto error = visit(field.value())) return error;
      }
      return simdjson::SUCCESS;
    }
    case ond::json_type::number:
      return value.get_number().error();
    case ond::json_type::string:
      return value.get_string().error();
    case ond::json_type::boolean:
      return value.get_bool().error();
    case ond::json_type::null: {
      bool null = false;
      if (auto error = value.is_null().get(null)) return error;
      return null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::SUCCESS;
}

}  // namespace

DocumentReader::DocumentReader(size_t max_document_bytes, size_t max_depth)
    : max_document_bytes_(max_document_bytes), max_depth_(max_depth) {
  if (parser_.allocate(4096, max_depth) != simdjson::SUCCESS) max_depth_ = 1024;
}

DocumentError DocumentReader::read(std::string_view message, ReportSink& sink) noexcept {
  if (message.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return {Reason::empty_input, "the message is empty", -1};
  }
  if (const DocumentError error = check_size(message); error.failed()) return error;
  if (const int64_t at = nesting_beyond(message.data(), message.size(), max_depth_); at >= 0) {
    return {Reason::too_deep, "nesting deeper than max_depth", at};
  }
  const size_t needed = message.size() + simdjson::SIMDJSON_PADDING;
  if (buffer_capacity_ < needed) {
    buffer_capacity_ = std::max(needed, buffer_capacity_ * 2);
    buffer_ = std::make_unique<char[]>(buffer_capacity_);
  }
  std::memcpy(buffer_.get(), message.data(), message.size());
  std::memset(buffer_.get() + message.size(), 0, simdjson::SIMDJSON_PADDING);
  if (const DocumentError error = walk(message, sink); error.failed()) return error;
  return validate(message.size());
}

DocumentError DocumentReader::walk(std::string_view message, ReportSink& sink) noexcept {
  ond::document doc;
  if (auto error = parser_.iterate(buffer_.get(), message.size(), buffer_capacity_).get(doc)) {
    return parse_error(error, message, -1);
  }
  return Walk(doc, message, buffer_.get(), sink).root(message);
}

// On-Demand reads what classification needs and skips the rest without checking it; a record
// we write downstream must parse, so the whole message is validated as well.
DocumentError DocumentReader::validate(size_t size) noexcept {
  simdjson::dom::element root;
  if (auto error = validator_.parse(buffer_.get(), size, false).get(root)) {
    return parse_error(error, {buffer_.get(), size}, fault_position(size));
  }
  // On-Demand stops at the first "results": the reports of a second one would go nowhere.
  if (simdjson::dom::object object; root.get_object().get(object) == simdjson::SUCCESS) {
    int batches = 0;
    for (auto field : object) batches += field.key == "results";
    if (batches > 1) {
      return {Reason::duplicate_field, "the batch has two \"results\" arrays", second_results_position(size)};
    }
  }
  return {};
}

// The DOM parser says what is wrong, not where: a second, complete On-Demand walk finds where.
// On the error path only.
int64_t DocumentReader::fault_position(size_t size) noexcept {
  ond::document doc;
  if (parser_.iterate(buffer_.get(), size, buffer_capacity_).get(doc)) return -1;
  ond::value root;
  simdjson::error_code error = doc.get_value().get(root);
  if (!error) error = visit(root);
  const char* at = nullptr;
  if (!error || doc.current_location().get(at)) return -1;
  return at - buffer_.get();
}

// Where the second "results" key begins (its opening quote).
int64_t DocumentReader::second_results_position(size_t size) noexcept {
  ond::document doc;
  ond::object object;
  if (parser_.iterate(buffer_.get(), size, buffer_capacity_).get(doc) || doc.get_object().get(object))
    return -1;
  int seen = 0;
  for (auto member : object) {
    ond::field field;
    if (std::move(member).get(field)) return -1;
    if (field.key() == "results" && ++seen == 2) return field.key().raw() - 1 - buffer_.get();
  }
  return -1;
}

}  // namespace dlr::core
