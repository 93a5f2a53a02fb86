#include "dlr/core/classify.h"

namespace dlr::core {

using catalog::Kind;
using catalog::Outcome;

Classification resolve_channel(const ReportFields& f, Channel binding) noexcept {
  Classification c;
  c.unknown_channel = f.has_channel_field && f.channel == Channel::unknown;
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
  return c;
}

namespace {

Classification refuse(Reason reason, const char* detail) noexcept {
  Classification c;
  c.reason = reason;
  c.detail = detail;
  return c;
}

// A failed status is explained by its error: the error's decision replaces the status's.
const catalog::Decision* error_decision(const ReportFields& f, const catalog::Catalog& cat,
                                        Classification& c) noexcept {
  if (c.error.entry) {
    // An error of the OK group reports no failure: the status stands.
    return c.error.entry->decision.outcome != Outcome::delivered ? &c.error.entry->decision : c.decision;
  }
  c.unknown_code = true;
  if (f.error.permanent >= 0) return &cat.report_flag_decision(f.error.permanent == 1);
  return c.decision;
}

}  // namespace

Classification classify(const ReportFields& f, Channel binding, const catalog::Catalog& cat) noexcept {
  if (!f.status.present) {
    if (f.seen) return refuse(Reason::seen_event, "a seen event, not a delivery report");
    if (f.has_event && f.event != "DELIVERY") {
      return refuse(Reason::non_delivery_event, "an event other than DELIVERY without a status");
    }
    return refuse(Reason::missing_status, "the report has no status object");
  }
  Classification c = resolve_channel(f, binding);
  const auto families = families_of(c.channel);
  c.status = cat.find(Kind::status, families, static_cast<int>(f.status.id),
                      static_cast<int>(f.status.group_id), f.status.name);
  if (f.error.present) {
    c.error = cat.find(Kind::error, families, static_cast<int>(f.error.id),
                       static_cast<int>(f.error.group_id), f.error.name);
  }
  if (c.status.entry) {
    c.decision = &c.status.entry->decision;
  } else {
    c.decision = cat.status_group_decision(static_cast<int>(f.status.group_id));
    c.unknown_code = true;
  }
  if (!c.decision) {
    c.reason = Reason::unknown_status_group;
    c.detail = "status id unknown to the catalogue and its group is not a status group";
    return c;
  }
  // Precedence (catalog/README.md): a failed status is explained by its error, unless its own
  // rule is firm (its text already names the cause and the error cannot change it).
  const bool failed = c.decision->outcome != Outcome::delivered && c.decision->outcome != Outcome::pending;
  if (failed && f.error.present && !c.decision->firm) c.decision = error_decision(f, cat, c);
  return c;
}

}  // namespace dlr::core
