#include "xml_body.h"

#include <algorithm>
#include <array>
#include <pugixml.hpp>
#include <utility>
#include <vector>

#include "dlr/json/writer.h"
#include "text.h"
#include "utf8.h"

namespace dlr::core {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// The names whose value the vendor's JSON writes as a number or a boolean (the report schema and
// the vendor's samples); every other leaf is a string there, digits or not ("to", "mccMnc").
constexpr std::array<std::string_view, 12> kNumberNames = {
    "groupId",        "id",       "smsCount",        "messageCount", "pricePerMessage",
    "pricePerSecond", "duration", "chargedDuration", "fileDuration", "timeToFirstAttempt",
    "attemptCount",   "networkId"};
constexpr std::array<std::string_view, 2> kBooleanNames = {"permanent", "canInitiate"};
// The one list in a delivery report; XML writes its items as elements of a wrapper element.
constexpr std::string_view kArrayName = "results";

bool is_json_number(std::string_view t) noexcept {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i - from;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == t.size() && !t.empty();
}

// The name without a namespace prefix: <ns:status> is a status.
std::string_view local_name(const pugi::xml_node& node) noexcept {
  const std::string_view name = node.name();
  const size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool is_nil(const pugi::xml_node& node) noexcept {
  for (const pugi::xml_attribute& attribute : node.attributes()) {
    const std::string_view name = attribute.name();
    if ((name == "nil" || name.ends_with(":nil")) && std::string_view(attribute.value()) == "true")
      return true;
  }
  return false;
}

const char* parse_detail(pugi::xml_parse_status status) noexcept {
  switch (status) {
    case pugi::status_no_document_element:
      return "the XML has no root element";
    case pugi::status_end_element_mismatch:
      return "an XML end tag does not match its start tag";
    case pugi::status_unrecognized_tag:
    case pugi::status_bad_start_element:
    case pugi::status_bad_end_element:
      return "a malformed XML tag";
    case pugi::status_bad_attribute:
      return "a malformed XML attribute";
    case pugi::status_bad_cdata:
    case pugi::status_bad_comment:
    case pugi::status_bad_pi:
    case pugi::status_bad_doctype:
    case pugi::status_bad_pcdata:
      return "a malformed XML section (CDATA, comment, processing instruction or DOCTYPE)";
    case pugi::status_out_of_memory:
      return "out of memory reading the XML";
    default:
      return "the body is not well-formed XML";
  }
}

}  // namespace

bool looks_like_xml(std::string_view message) noexcept {
  if (message.starts_with(kByteOrderMark)) message.remove_prefix(kByteOrderMark.size());
  const size_t first = message.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && message[first] == '<';
}

struct XmlBody::Impl {
  std::string copy;  ///< pugixml parses in place, into a buffer we reuse
  pugi::xml_document document;
  std::string json;
  std::string pieces_text;                            ///< a leaf's text when it comes in pieces
  std::vector<std::pair<uint32_t, uint32_t>> places;  ///< (JSON offset, XML offset) per element
  size_t skipped = 0;                                 ///< bytes before the copy (a byte order mark)
  size_t max_depth = 0;
  DocumentError error;

  int64_t offset_of(const pugi::xml_node& node) const noexcept {
    const ptrdiff_t at = node.offset_debug();  // an element's name, or a text's first byte
    if (at < 0) return -1;
    return static_cast<int64_t>(skipped) + at - (node.type() == pugi::node_element && at > 0 ? 1 : 0);
  }
  bool fail(Reason reason, const char* detail, const pugi::xml_node& node) noexcept {
    error = {reason, detail, offset_of(node)};
    return false;
  }

  // Where the JSON of `element` (its key included) begins.
  void place(const pugi::xml_node& element) {
    places.emplace_back(static_cast<uint32_t>(json.size()),
                        static_cast<uint32_t>(std::max<int64_t>(0, offset_of(element))));
  }
  bool value(const pugi::xml_node& element, size_t depth) noexcept;
  bool leaf(const pugi::xml_node& element, std::string_view text) noexcept;
};

bool XmlBody::Impl::leaf(const pugi::xml_node& element, std::string_view text) noexcept {
  const std::string_view name = local_name(element);
  const std::string_view trimmed = trim(text);
  const auto named = [name](const auto& names) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  const bool typed = (named(kNumberNames) && is_json_number(trimmed)) ||
                     (named(kBooleanNames) && (trimmed == "true" || trimmed == "false"));
  if (typed) {
    json += trimmed;
  } else {
    json::append_string(json, text);
  }
  return true;
}

bool XmlBody::Impl::value(const pugi::xml_node& element, size_t depth) noexcept {
  if (depth > max_depth) return fail(Reason::too_deep, "XML nesting deeper than max_depth", element);
  if (is_nil(element)) {
    json += "null";
    return true;
  }
  bool has_elements = false;
  std::string_view text;
  int pieces = 0;  // text and CDATA sections side by side are one text
  for (const pugi::xml_node& child : element.children()) {
    if (child.type() == pugi::node_element) {
      has_elements = true;
    } else if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
      if (++pieces == 1) {
        text = child.value();
        continue;
      }
      if (pieces == 2) pieces_text.assign(text);
      pieces_text += child.value();
      text = pieces_text;
    }
  }
  const bool array = local_name(element) == kArrayName;
  if (!has_elements && !(array && trim(text).empty())) return leaf(element, text);
  if (!trim(text).empty())
    return fail(Reason::invalid_xml, "an XML element holds both text and elements", element);
  json.push_back(array ? '[' : '{');
  bool first = true;
  for (const pugi::xml_node& child : element.children()) {
    if (child.type() != pugi::node_element) continue;
    if (!first) json.push_back(',');
    first = false;
    place(child);
    if (!array) {
      json::append_string(json, local_name(child));
      json.push_back(':');
    }
    if (!value(child, depth + 1)) return false;
  }
  json.push_back(array ? ']' : '}');
  return true;
}

XmlBody::XmlBody() : impl_(std::make_unique<Impl>()) {}
XmlBody::~XmlBody() = default;

std::string_view XmlBody::json() const noexcept {
  return impl_->json;
}

DocumentError XmlBody::transcode(std::string_view xml, size_t max_depth) noexcept {
  Impl& s = *impl_;
  s.json.clear();
  s.places.clear();
  s.error = {};
  s.max_depth = max_depth;
  if (const int64_t at = first_invalid_utf8(xml); at < static_cast<int64_t>(xml.size())) {
    return {Reason::invalid_utf8, "the XML is not UTF-8", at};
  }
  s.skipped = xml.starts_with(kByteOrderMark) ? kByteOrderMark.size() : 0;
  s.copy.assign(xml.substr(s.skipped));
  const pugi::xml_parse_result parsed = s.document.load_buffer_inplace(
      s.copy.data(), s.copy.size(), pugi::parse_default | pugi::parse_fragment, pugi::encoding_utf8);
  if (!parsed) {
    // pugixml puts a document cut short at its last byte; JSON positions say the end.
    if (parsed.status == pugi::status_end_element_mismatch &&
        static_cast<size_t>(parsed.offset) + 1 >= s.copy.size()) {
      return {Reason::invalid_xml, "the XML is cut short: an element is never closed",
              static_cast<int64_t>(xml.size())};
    }
    return {Reason::invalid_xml, parse_detail(parsed.status),
            static_cast<int64_t>(s.skipped) + parsed.offset};
  }
  // Parsed as a fragment so that text around the root element is kept, and refused like content
  // after a JSON document.
  pugi::xml_node root;
  for (const pugi::xml_node& node : s.document.children()) {
    if (node.type() == pugi::node_pcdata || node.type() == pugi::node_cdata)
      return {Reason::invalid_xml, "text outside the root element of the XML", s.offset_of(node)};
    if (node.type() != pugi::node_element) continue;
    if (root) return {Reason::invalid_xml, "a second root element in the XML", s.offset_of(node)};
    root = node;
  }
  if (!root) return {Reason::invalid_xml, parse_detail(pugi::status_no_document_element), 0};
  s.place(root);
  if (!s.value(root, 1)) return s.error;
  return {};
}

int64_t XmlBody::xml_position(int64_t json_position) const noexcept {
  const auto& places = impl_->places;
  if (json_position < 0 || places.empty()) return -1;
  auto after = std::upper_bound(places.begin(), places.end(), static_cast<uint32_t>(json_position),
                                [](uint32_t at, const auto& place) { return at < place.first; });
  if (after == places.begin()) return places.front().second;
  return std::prev(after)->second;
}

}  // namespace dlr::core
