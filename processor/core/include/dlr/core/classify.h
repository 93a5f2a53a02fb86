// Classification: a pure function of one report's fields, its input's channel binding and the
// catalogue. No I/O, no allocation; the policy rules it applies are listed in processor/core/README.md.
#pragma once

#include "dlr/catalog/catalog.h"
#include "dlr/core/channel.h"
#include "dlr/core/reason.h"
#include "dlr/core/report_fields.h"

namespace dlr::core {

struct Classification {
  /// none when classified; otherwise why not (a skip reason, MISSING_STATUS, UNKNOWN_STATUS_GROUP).
  Reason reason = Reason::none;
  const char* detail = "";                      ///< static text, when reason is set
  const catalog::Decision* decision = nullptr;  ///< when classified: the deciding decision
  catalog::Match status;
  catalog::Match error;
  Channel channel = Channel::unknown;
  ChannelSource channel_source = ChannelSource::none;
  bool unknown_code = false;  ///< status or error not (unambiguously) in the catalogue
  /// The report names a channel we do not know: classified as if it named none (binding,
  /// else the general tables), and counted.
  bool unknown_channel = false;

  [[nodiscard]] bool classified() const noexcept { return reason == Reason::none; }
};

/// The channel of a report: its own "channel" field, else the input's binding, else inferred
/// from voice or email members.
[[nodiscard]] Classification resolve_channel(const ReportFields& fields, Channel binding) noexcept;

/// Which side of a report decides, its status or its error (catalog/README.md).
enum class Decider : uint8_t { status, error, report_flag };
struct Precedence {
  const catalog::Decision* decision = nullptr;
  Decider decider = Decider::status;
  const char* why = "";  ///< static text
};
/// The one place the status and error decisions are combined, for classify() and `catalog
/// explain`: `error` is the error's entry (null when the catalogue lacks it), `error_flag` the
/// report's own permanent flag for it (-1 when none).
[[nodiscard]] Precedence precedence(const catalog::Decision& status, const catalog::CompiledEntry* error,
                                    int8_t error_flag, const catalog::Catalog& catalog) noexcept;

/// Looks the status and error up and decides. Rules, in order:
/// - no status object: a seen event or another non-delivery event is skipped; else MISSING_STATUS;
/// - the status's decision, from its entry or, for an id the catalogue lacks, its group
///   (a group that is not a status group: UNKNOWN_STATUS_GROUP);
/// - with an error object, precedence() decides between them.
/// The error object is looked up even on success, so its catalogue entry can be shown.
[[nodiscard]] Classification classify(const ReportFields& fields, Channel binding,
                                      const catalog::Catalog& catalog) noexcept;

}  // namespace dlr::core
