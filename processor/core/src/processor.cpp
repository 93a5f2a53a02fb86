#include "dlr/core/processor.h"

#include <immintrin.h>
#include <simdjson.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>

#include "dlr/catalog/json.h"
#include "dlr/core/timestamp.h"

namespace dlr::core {
namespace {

namespace ond = simdjson::ondemand;
using catalog::Decision;
using catalog::Kind;
using catalog::Match;

// A status or error object as found in a report. Views point into the input or the parser.
struct CodeObject {
  bool keyed = false;    // the key was met (null included): a second one is ambiguous
  bool present = false;
  bool has_id = false;
  bool has_group = false;
  int64_t id = 0;
  int64_t group_id = -1;
  int8_t permanent = -1;  // -1 absent, 0 false, 1 true
  std::string_view name;
  std::string_view raw;  // the object's bytes, '{' to '}'
};

struct Fields {
  CodeObject status;
  CodeObject error;
  bool has_message_id = false;
  std::string_view message_id;
  Channel channel = Channel::unknown;
  bool has_channel_field = false;
  bool voice_call = false;
  bool smtp = false;
  bool seen = false;
  bool has_event = false;
  std::string_view event;
  std::optional<int64_t> sent_ms;
  std::optional<int64_t> done_ms;
  char mcc_mnc[24] = {};
  uint8_t mcc_mnc_len = 0;
  double price = NAN;
  std::string_view currency;
};

// A failure while reading one report; `document` failures condemn the whole message.
struct Failure {
  Reason reason = Reason::none;
  const char* detail = "";
  bool document = false;
  [[nodiscard]] bool failed() const noexcept { return reason != Reason::none; }
};

Reason document_reason(simdjson::error_code error) noexcept {
  switch (error) {
    case simdjson::UTF8_ERROR: return Reason::invalid_utf8;
    case simdjson::DEPTH_ERROR: return Reason::too_deep;
    case simdjson::CAPACITY: return Reason::too_large;
    case simdjson::EMPTY: return Reason::empty_input;
    default: return Reason::invalid_json;
  }
}

// Type mismatches concern one report; anything else means the bytes are not valid JSON.
bool is_semantic(simdjson::error_code error) noexcept {
  return error == simdjson::INCORRECT_TYPE || error == simdjson::NO_SUCH_FIELD ||
         error == simdjson::NUMBER_OUT_OF_RANGE || error == simdjson::NUMBER_ERROR;
}

std::string_view trim_right(std::string_view text) noexcept {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Keys of delivery reports never need unescaping; a key with an escape simply matches nothing.
std::string_view key_of(ond::field& field) noexcept {
  const char* start = field.key().raw();
  const void* end = std::memchr(start, '"', 64);
  return end ? std::string_view(start, static_cast<size_t>(static_cast<const char*>(end) - start)) : std::string_view();
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

// Copies JSON text, dropping whitespace outside strings when it spans lines, so that every
// output record is one line. Compact input (the usual case on Kafka) is copied as it is.
void append_compact(std::string& out, const char* p, size_t n) {
  if (!std::memchr(p, '\n', n) && !std::memchr(p, '\r', n)) {
    out.append(p, n);
    return;
  }
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < n) out.push_back(p[++i]);
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      out.push_back(c);
    }
  }
}

struct NestingState {
  size_t depth = 0;
  bool in_string = false;
};

// Scans [i, end) byte by byte; `i` may end past `end` when the last byte escapes the next.
int64_t nesting_scalar(const char* p, size_t& i, size_t end, size_t limit, NestingState& s) noexcept {
  static constexpr auto kSpecial = [] {
    std::array<bool, 256> table{};
    for (unsigned char c : {'"', '\\', '[', '{', ']', '}'}) table[c] = true;
    return table;
  }();
  for (; i < end; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (!kSpecial[c]) continue;
    if (s.in_string) {
      if (c == '\\') ++i;
      else if (c == '"') s.in_string = false;
    } else if (c == '"') {
      s.in_string = true;
    } else if (c == '[' || c == '{') {
      if (++s.depth > limit) return static_cast<int64_t>(i);
    } else if (c != '\\' && s.depth > 0) {  // a close; a backslash outside a string is just bad JSON
      --s.depth;
    }
  }
  return -1;
}

#if defined(__AVX2__) && defined(__PCLMUL__)
uint64_t byte_mask(__m256i lo, __m256i hi, char c) noexcept {
  const __m256i v = _mm256_set1_epi8(c);
  const auto a = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, v)));
  const auto b = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, v)));
  return a | (static_cast<uint64_t>(b) << 32);
}
// Bit k = XOR of bits 0..k: 1 from an opening quote up to (not including) its closing quote.
uint64_t prefix_xor(uint64_t bits) noexcept {
  const __m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<long long>(bits)), _mm_set1_epi8(-1), 0);
  return static_cast<uint64_t>(_mm_cvtsi128_si64(r));
}
#endif

// On-Demand checks depth only in what it visits; a deep array it skips passes unchecked, and
// consumers parse everything we pass through, so the whole message is held to the limit.
// 64 bytes at a time: strings masked out with a carry-less multiply, brackets counted; a block
// with a backslash, or whose brackets could reach the limit, goes byte by byte.
// Returns the offset of the first bracket beyond `limit`, or -1.
int64_t nesting_beyond(const char* p, size_t n, size_t limit) noexcept {
  NestingState s;
  size_t i = 0;
#if defined(__AVX2__) && defined(__PCLMUL__)
  const __m256i case_bit = _mm256_set1_epi8(0x20);  // '[' | 0x20 == '{', ']' | 0x20 == '}'
  while (i + 64 <= n) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    if (byte_mask(lo, hi, '\\') != 0) {
      if (const int64_t at = nesting_scalar(p, i, i + 64, limit, s); at >= 0) return at;
      continue;
    }
    const uint64_t inside = prefix_xor(byte_mask(lo, hi, '"')) ^ (s.in_string ? ~0ULL : 0ULL);
    const __m256i lo_folded = _mm256_or_si256(lo, case_bit), hi_folded = _mm256_or_si256(hi, case_bit);
    const auto opens = static_cast<size_t>(std::popcount(byte_mask(lo_folded, hi_folded, '{') & ~inside));
    const auto closes = static_cast<size_t>(std::popcount(byte_mask(lo_folded, hi_folded, '}') & ~inside));
    if (s.depth + opens > limit || closes > s.depth) {  // near the limit, or a close at depth 0 (clamped)
      if (const int64_t at = nesting_scalar(p, i, i + 64, limit, s); at >= 0) return at;
      continue;
    }
    s.depth = s.depth + opens - closes;
    s.in_string = (inside >> 63) != 0;
    i += 64;
  }
#endif
  return nesting_scalar(p, i, n, limit, s);
}

Failure fail(Reason reason, const char* detail) noexcept { return {reason, detail, false}; }
Failure fail_document(simdjson::error_code error) noexcept {
  return {document_reason(error), simdjson::error_message(error), true};
}

Failure read_code_object(ond::value& value, bool is_status, CodeObject& out) noexcept {
  // Which of two status (or error) objects counts is up to each reader of the JSON: refused
  // rather than classified on one while consumers read the other.
  if (out.keyed) {
    return fail(Reason::duplicate_field, is_status ? "the report has two status objects" : "the report has two error objects");
  }
  out.keyed = true;
  ond::json_type type;
  if (auto error = value.type().get(type)) return fail_document(error);
  if (type == ond::json_type::null) return {};
  if (type != ond::json_type::object) {
    return is_status ? fail(Reason::status_not_object, "status must be an object")
                     : fail(Reason::error_not_object, "error must be an object or null");
  }
  ond::object object;
  if (auto error = value.get_object().get(object)) return fail_document(error);
  std::string_view raw;
  if (auto error = object.raw_json().get(raw)) return fail_document(error);
  out.raw = trim_right(raw);
  out.present = true;
  if (auto error = object.reset().error()) return fail_document(error);
  Failure failure;
  for (auto field_result : object) {
    ond::field field;
    if (auto error = std::move(field_result).get(field)) return fail_document(error);
    const std::string_view key = key_of(field);
    ond::value& v = field.value();
    if (key == "id") {
      if (out.has_id && !failure.failed()) failure = fail(Reason::duplicate_field, is_status ? "status has two ids" : "error has two ids");
      auto error = v.get_int64().get(out.id);
      if (error && !is_semantic(error)) return fail_document(error);
      if (error || out.id < INT32_MIN || out.id > INT32_MAX) {
        if (!failure.failed()) failure = fail(Reason::bad_field_type, is_status ? "status.id must be an integer" : "error.id must be an integer");
      } else {
        out.has_id = true;
      }
    } else if (key == "groupId") {
      if (out.has_group && !failure.failed()) failure = fail(Reason::duplicate_field, is_status ? "status has two groupIds" : "error has two groupIds");
      auto error = v.get_int64().get(out.group_id);
      if (error && !is_semantic(error)) return fail_document(error);
      if (error || out.group_id < 0 || out.group_id > INT32_MAX) {
        if (!failure.failed()) failure = fail(Reason::bad_field_type, is_status ? "status.groupId must be an integer" : "error.groupId must be an integer");
        out.group_id = -1;
      } else {
        out.has_group = true;
      }
    } else if (key == "name") {
      auto error = v.get_string().get(out.name);
      if (error && !is_semantic(error)) return fail_document(error);
    } else if (key == "permanent" && !is_status) {
      ond::json_type t;
      if (auto error = v.type().get(t)) return fail_document(error);
      if (t == ond::json_type::boolean) {
        bool flag = false;
        if (auto error = v.get_bool().get(flag)) return fail_document(error);
        out.permanent = flag ? 1 : 0;
      } else if (t != ond::json_type::null && !failure.failed()) {
        failure = fail(Reason::bad_field_type, "error.permanent must be true or false");
      }
    }
  }
  if (!failure.failed() && !out.has_id) {
    failure = is_status ? fail(Reason::missing_status_id, "status has no id") : fail(Reason::missing_error_id, "error has no id");
  }
  return failure;
}

Failure read_timestamp(ond::value& v, std::optional<int64_t>& out) noexcept {
  ond::json_type type;
  if (auto error = v.type().get(type)) return fail_document(error);
  if (type == ond::json_type::string) {
    std::string_view text;
    if (auto error = v.get_string().get(text)) return fail_document(error);
    out = parse_timestamp_ms(text);
  } else if (type == ond::json_type::number) {
    int64_t ms = 0;
    if (!v.get_int64().get(ms)) out = ms;  // epoch milliseconds, as voice reports send them
  }
  return {};
}

Failure read_fields(ond::object& object, Fields& f) noexcept {
  Failure failure;
  auto note = [&failure](Failure next) {
    if (next.document || !failure.failed()) failure = next;  // the first report-level failure, or a document one
  };
  for (auto field_result : object) {
    ond::field field;
    if (auto error = std::move(field_result).get(field)) return fail_document(error);
    const std::string_view key = key_of(field);
    ond::value& v = field.value();
    if (key.empty()) continue;
    switch (key[0]) {
      case 's':
        if (key == "status") note(read_code_object(v, true, f.status));
        else if (key == "sentAt") note(read_timestamp(v, f.sent_ms));
        else if (key == "seenAt") f.seen = true;
        else if (key == "smtp") f.smtp = true;
        break;
      case 'e':
        if (key == "error") note(read_code_object(v, false, f.error));
        else if (key == "event") f.has_event = !v.get_string().get(f.event);
        break;
      case 'm':
        if (key == "messageId") {
          ond::json_type type;
          if (auto error = v.type().get(type)) return fail_document(error);
          if (type == ond::json_type::string) {
            if (auto error = v.get_string().get(f.message_id)) return fail_document(error);
            f.has_message_id = true;
          } else if (type == ond::json_type::number) {
            std::string_view token = trim_right(v.raw_json_token());
            f.message_id = token;
            f.has_message_id = true;
          }
        } else if (key == "mccMnc") {
          ond::json_type type;
          if (auto error = v.type().get(type)) return fail_document(error);
          std::string_view text;
          if (type == ond::json_type::string) {
            if (auto error = v.get_string().get(text)) return fail_document(error);
          } else if (type == ond::json_type::number) {
            text = trim_right(v.raw_json_token());  // some reports send it as a number
          }
          f.mcc_mnc_len = static_cast<uint8_t>(std::min(text.size(), sizeof f.mcc_mnc));
          if (f.mcc_mnc_len) std::memcpy(f.mcc_mnc, text.data(), f.mcc_mnc_len);  // null or {} leave text empty
        }
        break;
      case 'c':
        if (key == "channel") {
          std::string_view text;
          if (!v.get_string().get(text)) {
            f.channel = parse_channel(text);
            f.has_channel_field = true;
          }
        }
        break;
      case 'd':
        if (key == "doneAt") note(read_timestamp(v, f.done_ms));
        break;
      case 'v':
        if (key == "voiceCall") f.voice_call = true;
        break;
      case 'p':
        if (key == "price") {
          ond::object price;
          if (!v.get_object().get(price)) {
            for (auto price_field_result : price) {
              ond::field pf;
              if (auto error = std::move(price_field_result).get(pf)) return fail_document(error);
              const std::string_view pkey = key_of(pf);
              if (pkey == "pricePerMessage" || pkey == "pricePerSecond") {
                double amount = NAN;
                if (!pf.value().get_double().get(amount)) f.price = amount;
              } else if (pkey == "currency") {
                std::string_view currency;
                if (!pf.value().get_string().get(currency)) f.currency = currency;
              }
            }
          }
        }
        break;
      default: break;
    }
    if (failure.document) return failure;
  }
  return failure;
}

// The whole message is unprocessable: one invalid report covering all of it.
Reason fail_whole(Result& out, std::string_view message, Reason reason, const char* detail, int64_t position) noexcept {
  out.reports.clear();
  out.enriched.clear();
  out.analytics.clear();
  out.keys.clear();
  out.document_error = reason;
  out.document_position = position;
  out.document_detail = detail;
  Report report;
  report.verdict = Verdict::invalid;
  report.reason = reason;
  report.detail = detail;
  report.position = position;
  report.raw = Range{0, static_cast<uint32_t>(message.size())};
  const size_t start = out.enriched.size();
  out.enriched += "{\"outcome\":\"invalid\",\"reason\":";
  json::append_plain(out.enriched, to_string(reason));
  out.enriched += ",\"detail\":";
  json::append_string(out.enriched, detail);
  if (position >= 0) {
    out.enriched += ",\"position\":";
    json::append_int(out.enriched, position);
  }
  out.enriched += '}';
  report.enriched = Range{static_cast<uint32_t>(start), static_cast<uint32_t>(out.enriched.size() - start)};
  out.reports.push_back(report);
  return reason;
}

}  // namespace

struct Processor::Impl {
  ond::parser parser;
  simdjson::dom::parser validator;  ///< checks what On-Demand skipped
  std::unique_ptr<char[]> buffer;
  size_t buffer_capacity = 0;
  ProcessorOptions options;
  // Decisions for codes the catalogue does not know, taken from the report's own flag.
  Decision report_flag_permanent;
  Decision report_flag_temporary;

  const char* base = nullptr;  // the padded copy of the current message

  uint32_t offset_of(std::string_view view) const noexcept { return static_cast<uint32_t>(view.data() - base); }
};

void Result::clear() noexcept {
  document_error = Reason::none;
  document_position = -1;
  document_detail.clear();
  reports.clear();
  enriched.clear();
  analytics.clear();
  keys.clear();
}

Processor::Processor(std::shared_ptr<const catalog::Catalog> catalog, ProcessorOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  if (impl_->parser.allocate(4096, options.max_depth) != simdjson::SUCCESS) impl_->options.max_depth = 1024;
  set_catalog(std::move(catalog));
}

Processor::~Processor() = default;

void Processor::set_catalog(std::shared_ptr<const catalog::Catalog> catalog) {
  catalog_ = std::move(catalog);
  for (bool permanent : {true, false}) {
    Decision& d = permanent ? impl_->report_flag_permanent : impl_->report_flag_temporary;
    d.outcome = permanent ? Outcome::permanent : Outcome::retryable;
    d.final = true;
    d.rule = "report-flag";
    d.reason = permanent ? "Code unknown to the catalogue: the report flags it permanent."
                         : "Code unknown to the catalogue: the report flags it temporary.";
    d.retry = catalog_->policy().default_retry;
    catalog::render_json(d);
  }
}

namespace {

struct Classification {
  const Decision* decision = nullptr;
  Match status;
  Match error;
  bool error_counts = false;  // an error object that is not "no error"
  Channel channel = Channel::unknown;
  ChannelSource channel_source = ChannelSource::none;
};

void append_catalog_member(std::string& out, const CodeObject& code, const Match& match) {
  out += ",\"catalog\":{";
  if (match.entry) {
    out += match.entry->json_members;
    out += ",\"match\":";
    json::append_plain(out, catalog::to_string(match.how));
    bool name_mismatch = false;
    if (!code.name.empty() && !iequals(code.name, match.entry->entry.name)) {
      name_mismatch = true;
      for (const auto& alias : match.entry->entry.aliases) name_mismatch &= !iequals(code.name, alias);
    }
    out += ",\"nameMismatch\":";
    json::append_bool(out, name_mismatch);
    out += ",\"groupMismatch\":";
    json::append_bool(out, match.group_mismatch);
  } else {
    out += "\"match\":";
    json::append_plain(out, catalog::to_string(match.how));
  }
  out += '}';
}

}  // namespace

Reason Processor::process(std::string_view message, Channel binding, Result& out) noexcept {
  const Reason reason = process_document(message, binding, out);
  if (reason != Reason::none) return reason;
  // On-Demand reads what classification needs and skips the rest without checking it; a record
  // we write downstream must parse, so the whole message is validated as well.
  Impl& im = *impl_;
  simdjson::dom::element root;
  if (auto error = im.validator.parse(im.buffer.get(), message.size(), false).get(root)) {
    return fail_whole(out, message, document_reason(error), simdjson::error_message(error), -1);
  }
  // On-Demand stops at the first "results": the reports of a second one would go nowhere.
  if (simdjson::dom::object object; root.get_object().get(object) == simdjson::SUCCESS) {
    int batches = 0;
    for (auto field : object) batches += field.key == "results";
    if (batches > 1) return fail_whole(out, message, Reason::duplicate_field, "the batch has two \"results\" arrays", -1);
  }
  return Reason::none;
}

Reason Processor::process_document(std::string_view message, Channel binding, Result& out) noexcept {
  out.clear();
  Impl& im = *impl_;
  const catalog::Catalog& cat = *catalog_;

  auto document_failure = [&](Reason reason, const char* detail, int64_t position) {
    return fail_whole(out, message, reason, detail, position);
  };

  if (message.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return document_failure(Reason::empty_input, "the message is empty", -1);
  }
  if (message.size() > im.options.max_document_bytes) {
    return document_failure(Reason::too_large, "the message is larger than max_document_bytes", -1);
  }
  const size_t needed = message.size() + simdjson::SIMDJSON_PADDING;
  if (im.buffer_capacity < needed) {
    im.buffer_capacity = std::max(needed, im.buffer_capacity * 2);
    im.buffer = std::make_unique<char[]>(im.buffer_capacity);
  }
  if (const int64_t at = nesting_beyond(message.data(), message.size(), im.options.max_depth); at >= 0) {
    return document_failure(Reason::too_deep, "nesting deeper than max_depth", at);
  }
  std::memcpy(im.buffer.get(), message.data(), message.size());
  std::memset(im.buffer.get() + message.size(), 0, simdjson::SIMDJSON_PADDING);
  im.base = im.buffer.get();

  ond::document doc;
  if (auto error = im.parser.iterate(im.buffer.get(), message.size(), im.buffer_capacity).get(doc)) {
    return document_failure(document_reason(error), simdjson::error_message(error), -1);
  }
  auto position = [&]() -> int64_t {
    const char* at = nullptr;
    if (doc.current_location().get(at)) return -1;
    return at - im.base;
  };
  auto fail_doc = [&](simdjson::error_code error) {
    return document_failure(document_reason(error), simdjson::error_message(error), position());
  };

  // Classifies one report object; returns a document-level failure, if any.
  auto handle_report = [&](ond::object& object, uint32_t index) -> Failure {
    std::string_view raw;
    if (auto error = object.raw_json().get(raw)) return fail_document(error);
    raw = trim_right(raw);
    if (auto error = object.reset().error()) return fail_document(error);
    Fields f;
    Failure failure = read_fields(object, f);
    if (failure.document) return failure;

    Report report;
    report.index = index;
    report.raw = Range{im.offset_of(raw), static_cast<uint32_t>(raw.size())};
    if (f.has_message_id) {
      report.message_id = Range{static_cast<uint32_t>(out.keys.size()), static_cast<uint32_t>(f.message_id.size())};
      out.keys.append(f.message_id);
    }
    if (!failure.failed() && !f.status.present) {
      if (f.seen) failure = fail(Reason::seen_event, "a seen event, not a delivery report");
      else if (f.has_event && f.event != "DELIVERY") failure = fail(Reason::non_delivery_event, "an event other than DELIVERY without a status");
      else failure = fail(Reason::missing_status, "the report has no status object");
    }

    Classification c;
    if (!failure.failed()) {
      if (f.has_channel_field && f.channel != Channel::unknown) {
        c.channel = f.channel;
        c.channel_source = ChannelSource::report;
      } else if (binding != Channel::unknown) {
        c.channel = binding;
        c.channel_source = ChannelSource::binding;
      } else if (f.voice_call || f.smtp) {
        c.channel = f.voice_call ? Channel::voice : Channel::email;
        c.channel_source = ChannelSource::inferred;
      }
      const auto families = families_of(c.channel);
      c.status = cat.find(Kind::status, families, static_cast<int>(f.status.id),
                          static_cast<int>(f.status.group_id), f.status.name);
      // The error object is enriched even on a success, so readers see what it was.
      if (f.error.present) {
        c.error = cat.find(Kind::error, families, static_cast<int>(f.error.id), static_cast<int>(f.error.group_id),
                           f.error.name);
      }
      const catalog::Decision* status_decision = nullptr;
      if (c.status.entry) {
        status_decision = &c.status.entry->decision;
      } else {
        status_decision = cat.status_group_decision(static_cast<int>(f.status.group_id));
        report.unknown_code = true;
      }
      if (!status_decision) {
        failure = fail(Reason::unknown_status_group, "status id unknown to the catalogue and its group is not a status group");
      } else {
        c.decision = status_decision;
        const bool failed = status_decision->outcome != Outcome::delivered && status_decision->outcome != Outcome::pending;
        if (failed && f.error.present) {
          if (c.error.entry) {
            // An error of the OK group reports no failure: the status stands.
            if (c.error.entry->decision.outcome != Outcome::delivered) c.decision = &c.error.entry->decision;
          } else {
            report.unknown_code = true;
            if (f.error.permanent >= 0) {
              c.decision = f.error.permanent ? &im.report_flag_permanent : &im.report_flag_temporary;
            }
          }
        }
      }
    }

    std::string& e = out.enriched;
    const size_t start = e.size();
    if (failure.failed()) {
      report.verdict = is_skip_reason(failure.reason) ? Verdict::skipped : Verdict::invalid;
      report.reason = failure.reason;
      report.detail = failure.detail;
      e += '{';
      if (f.has_message_id) {
        e += "\"messageId\":";
        json::append_string(e, f.message_id);
        e += ',';
      }
      e += "\"outcome\":";
      json::append_plain(e, report.verdict == Verdict::skipped ? "skipped" : "invalid");
      e += ",\"reason\":";
      json::append_plain(e, to_string(failure.reason));
      e += ",\"detail\":";
      json::append_string(e, failure.detail);
      e += ",\"index\":";
      json::append_int(e, index);
      e += '}';
    } else {
      report.verdict = Verdict::classified;
      report.decision = c.decision;
      report.outcome = c.decision->outcome;
      report.final = c.decision->final;
      if (!im.options.serialize) {
        out.reports.push_back(report);
        return {};
      }
      // The original bytes, with a "catalog" member spliced into status and error, and the
      // classification appended: the report's own fields stay exactly as they came.
      const CodeObject* spliced[2] = {&f.status, f.error.present ? &f.error : nullptr};
      const Match* matches[2] = {&c.status, &c.error};
      if (spliced[1] && spliced[1]->raw.data() < spliced[0]->raw.data()) {
        std::swap(spliced[0], spliced[1]);
        std::swap(matches[0], matches[1]);
      }
      const char* cursor = raw.data();
      for (int i = 0; i < 2; ++i) {
        if (!spliced[i]) continue;
        // In valid JSON status and error are disjoint values inside the report; broken text can
        // make them overlap, and the whole message is invalid then.
        const char* close = spliced[i]->raw.data() + spliced[i]->raw.size() - 1;
        if (spliced[i]->raw.empty() || spliced[i]->raw.data() < cursor || close >= raw.data() + raw.size()) {
          return fail_document(simdjson::TAPE_ERROR);
        }
        append_compact(e, cursor, static_cast<size_t>(close - cursor));
        append_catalog_member(e, *spliced[i], *matches[i]);
        cursor = close;
      }
      append_compact(e, cursor, static_cast<size_t>(raw.data() + raw.size() - 1 - cursor));
      e += ",\"outcome\":";
      json::append_plain(e, catalog::to_string(report.outcome));
      e += ",\"classification\":{";
      e += c.decision->json_members;
      e += ",\"unknownCode\":";
      json::append_bool(e, report.unknown_code);
      e += ",\"channel\":";
      json::append_plain(e, to_string(c.channel));
      e += ",\"channelSource\":";
      json::append_plain(e, to_string(c.channel_source));
      e += ",\"catalogVersion\":";
      json::append_plain(e, cat.version());
      e += "}}";

      std::string& a = out.analytics;
      const size_t a_start = a.size();
      a += "{\"time\":";
      if (f.done_ms) json::append_int(a, *f.done_ms);
      else a += "null";
      a += ",\"messageId\":";
      if (f.has_message_id) json::append_string(a, f.message_id);
      else a += "null";
      a += ",\"channel\":";
      json::append_plain(a, to_string(c.channel));
      a += ",\"family\":";
      if (c.status.entry) json::append_plain(a, catalog::to_string(c.status.entry->entry.family));
      else a += "null";
      a += ",\"statusGroupId\":";
      if (f.status.has_group) json::append_int(a, f.status.group_id);
      else if (c.status.entry && c.status.entry->entry.group_id) json::append_int(a, *c.status.entry->entry.group_id);
      else a += "null";
      a += ",\"statusId\":";
      json::append_int(a, f.status.id);
      a += ",\"errorFamily\":";
      if (c.error.entry) json::append_plain(a, catalog::to_string(c.error.entry->entry.family));
      else a += "null";
      a += ",\"errorId\":";
      if (f.error.present) json::append_int(a, f.error.id);
      else a += "null";
      a += ",\"outcome\":";
      json::append_plain(a, catalog::to_string(report.outcome));
      a += ",\"final\":";
      json::append_bool(a, report.final);
      a += ",\"rule\":";
      json::append_string(a, c.decision->rule);
      a += ",\"unknownCode\":";
      json::append_bool(a, report.unknown_code);
      a += ",\"mccMnc\":";
      if (f.mcc_mnc_len) json::append_string(a, std::string_view(f.mcc_mnc, f.mcc_mnc_len));
      else a += "null";
      a += ",\"price\":";
      json::append_double(a, f.price);
      a += ",\"currency\":";
      if (!f.currency.empty()) json::append_string(a, f.currency);
      else a += "null";
      a += ",\"latencyMs\":";
      if (f.sent_ms && f.done_ms) json::append_int(a, *f.done_ms - *f.sent_ms);
      else a += "null";
      a += ",\"catalogVersion\":";
      json::append_plain(a, cat.version());
      a += '}';
      report.analytics = Range{static_cast<uint32_t>(a_start), static_cast<uint32_t>(a.size() - a_start)};
    }
    report.enriched = Range{static_cast<uint32_t>(start), static_cast<uint32_t>(e.size() - start)};
    out.reports.push_back(report);
    return {};
  };

  auto handle_array = [&](ond::array& array) -> Reason {
    uint32_t index = 0;
    for (auto element_result : array) {
      ond::value element;
      if (auto error = element_result.get(element)) return fail_doc(error);
      ond::json_type type;
      if (auto error = element.type().get(type)) return fail_doc(error);
      if (type != ond::json_type::object) {
        Report report;
        report.index = index;
        report.verdict = Verdict::invalid;
        report.reason = Reason::report_not_object;
        report.detail = "an element of results is not an object";
        const std::string_view token = trim_right(element.raw_json_token());
        report.raw = Range{im.offset_of(token), static_cast<uint32_t>(token.size())};
        const size_t start = out.enriched.size();
        out.enriched += "{\"outcome\":\"invalid\",\"reason\":\"REPORT_NOT_OBJECT\",\"detail\":\"an element of results is not an object\",\"index\":";
        json::append_int(out.enriched, index);
        out.enriched += '}';
        report.enriched = Range{static_cast<uint32_t>(start), static_cast<uint32_t>(out.enriched.size() - start)};
        out.reports.push_back(report);
        ++index;
        continue;
      }
      ond::object object;
      if (auto error = element.get_object().get(object)) return fail_doc(error);
      if (Failure failure = handle_report(object, index); failure.document) {
        return document_failure(failure.reason, failure.detail, position());
      }
      ++index;
    }
    return Reason::none;
  };

  ond::json_type type;
  if (auto error = doc.type().get(type)) return fail_doc(error);
  if (type == ond::json_type::object) {
    ond::object root;
    if (auto error = doc.get_object().get(root)) return fail_doc(error);
    // Walk the whole document once first: truncation and unbalanced brackets show here, before
    // any report of it is emitted.
    std::string_view root_raw;
    if (auto error = root.raw_json().get(root_raw)) return fail_doc(error);
    if (const char* rest = root_raw.data() + root_raw.size();
        static_cast<size_t>(rest - im.base) < message.size() &&
        !trim_right(std::string_view(rest, message.size() - static_cast<size_t>(rest - im.base))).empty()) {
      return document_failure(Reason::invalid_json, "content after the end of the JSON document", rest - im.base);
    }
    if (auto error = root.reset().error()) return fail_doc(error);
    ond::value results;
    auto error = root.find_field_unordered("results").get(results);
    if (error == simdjson::NO_SUCH_FIELD) {
      if (auto reset_error = root.reset().error()) return fail_doc(reset_error);
      if (Failure failure = handle_report(root, 0); failure.document) {
        return document_failure(failure.reason, failure.detail, position());
      }
      return Reason::none;
    }
    if (error) return fail_doc(error);
    ond::array array;
    if (auto array_error = results.get_array().get(array)) {
      if (array_error == simdjson::INCORRECT_TYPE) {
        return document_failure(Reason::results_not_array, "\"results\" must be an array of reports", position());
      }
      return fail_doc(array_error);
    }
    return handle_array(array);
  }
  if (type == ond::json_type::array) {
    ond::array array;
    if (auto error = doc.get_array().get(array)) return fail_doc(error);
    std::string_view array_raw;
    if (auto error = array.raw_json().get(array_raw)) return fail_doc(error);
    if (auto error = array.reset().error()) return fail_doc(error);
    return handle_array(array);
  }
  // A scalar is never a report, but text that merely starts like one is not JSON at all.
  simdjson::error_code scalar_error = simdjson::SUCCESS;
  switch (type) {
    case ond::json_type::number: scalar_error = doc.get_number().error(); break;
    case ond::json_type::string: scalar_error = doc.get_string().error(); break;
    case ond::json_type::boolean: scalar_error = doc.get_bool().error(); break;
    case ond::json_type::null: {
      bool is_null = false;
      scalar_error = doc.is_null().get(is_null);
      if (!scalar_error && !is_null) scalar_error = simdjson::N_ATOM_ERROR;
      break;
    }
    default: break;
  }
  if (scalar_error) return fail_doc(scalar_error);
  return document_failure(Reason::not_a_report,
                          "the message is neither a report, a {\"results\":[...]} batch nor an array of reports", 0);
}

}  // namespace dlr::core
