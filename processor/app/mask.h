// Masking of personal data in log lines: reports carry phone numbers and email addresses, and a
// log line can quote one (a detail, a key, librdkafka echoing a record). Logs leave the
// processing system (collectors, tickets), so they never carry them in clear.
#pragma once

#include <string>
#include <string_view>

namespace dlr::app {

/// Masks, in place:
///  - email addresses: the local part becomes its first character and "***" (a***@example.com);
///  - phone numbers: every digit but the last two becomes '*', for a '+' followed by 7 to 15 digits,
///    and for a quoted string ("..." or '...') holding 7 to 15 digits with an optional '+'.
/// Other numbers (offsets, partitions, counts) are left alone. True when anything was masked.
bool mask_personal_data(std::string& text);

}  // namespace dlr::app
