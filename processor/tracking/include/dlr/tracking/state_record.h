// The message-state record (schemas/message-state.schema.json): what the tracker writes to its
// output topic, keyed by messageId, whenever a message's state changes.
#pragma once

#include <string>
#include <string_view>

#include "dlr/catalog/catalog.h"
#include "dlr/tracking/state.h"

namespace dlr::tracking {

/// Appends the record of `state` to `out`; names and groups come from `catalog`.
void append_state_record(std::string& out, std::string_view message_id, const MessageState& state,
                         const catalog::Catalog& catalog);

}  // namespace dlr::tracking
