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

}  // namespace

Precedence precedence(const catalog::Decision& status, const catalog::CompiledEntry* error, int8_t error_flag,
                      const catalog::Catalog& catalog) noexcept {
  if (status.outcome == Outcome::delivered || status.outcome == Outcome::pending)
    return {&status, Decider::status, "a delivered or pending status decides: its error is no failure"};
  if (status.firm)
    return {&status, Decider::status, "the status's rule is firm: its own text names the cause"};
  if (error) {
    if (error->decision.outcome == Outcome::delivered)
      return {&status, Decider::status, "an error of group OK reports no failure: the failed status stands"};
    return {&error->decision, Decider::error, "a failed status is explained by its error"};
  }
  if (error_flag >= 0)
    return {&catalog.report_flag_decision(error_flag == 1), Decider::report_flag,
            "the error is not in the catalogue: the report's own permanent flag decides"};
  return {&status, Decider::status,
          "the error is not in the catalogue and carries no flag: the status stands"};
}

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
  const bool failed = c.decision->outcome != Outcome::delivered && c.decision->outcome != Outcome::pending;
  if (failed && f.error.present) {
    c.unknown_code |= c.error.entry == nullptr;
    c.decision = precedence(*c.decision, c.error.entry, f.error.permanent, cat).decision;
  }
  return c;
}

}  // namespace dlr::core
