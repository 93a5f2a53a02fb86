// XML bodies. The vendor's webhooks can post a delivery report as XML instead of JSON
// (notifyContentType=application/xml). Such a body is transcoded into the JSON form of the same
// document, which the reader then reads like any other message: the same fields, the same
// verdicts, the same enriched records. Internal to the core.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dlr/core/reader.h"

namespace dlr::core {

/// True when the body's first byte after a UTF-8 byte order mark and whitespace is '<': a JSON
/// document never starts so, hence no setting is needed to tell the two apart.
[[nodiscard]] bool looks_like_xml(std::string_view message) noexcept;

/// One per Processor: a reused copy of the body, the parsed tree, the JSON text and where each
/// element of the XML went in it. Not thread-safe.
class XmlBody {
 public:
  XmlBody();
  ~XmlBody();
  XmlBody(const XmlBody&) = delete;
  XmlBody& operator=(const XmlBody&) = delete;

  /// Transcodes `xml` into JSON: an element with elements is an object of them, in order (a
  /// repeated name stays repeated, as a repeated JSON key would); "results" is an array of its
  /// elements; a leaf is a string, or a number or boolean where the vendor's JSON has one for that
  /// name (delivery-report.schema.json) and the text is one; xsi:nil="true" is null. Attributes,
  /// comments, processing instructions and DOCTYPEs carry nothing (no entity is ever expanded
  /// beyond XML's own five and character references). Fails with INVALID_UTF8, TOO_DEEP or
  /// INVALID_XML, its position in `xml`. The JSON stays valid until the next call.
  [[nodiscard]] DocumentError transcode(std::string_view xml, size_t max_depth) noexcept;
  [[nodiscard]] std::string_view json() const noexcept;

  /// The offset in the last XML transcoded of the element whose JSON holds `json_position`, so
  /// that an error the JSON reader finds points into the bytes the sender wrote. -1 stays -1.
  [[nodiscard]] int64_t xml_position(int64_t json_position) const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // keeps pugixml out of the core's headers
};

}  // namespace dlr::core
