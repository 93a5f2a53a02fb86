// `catalog explain` and `catalog review`: a code's decision with the vendor's words it rests on,
// and every decision that departs from the vendor's flag (catalog/REVIEW.md).
#pragma once

#include "args.h"
#include "dlr/catalog/catalog.h"

namespace dlr::app {

/// --kind K --id N [--family F] [--group G] [--status S [--status-group G]]. Exit 0, 1 when no
/// entry matches, 2 a usage error.
int explain_command(const Args& args, const catalog::Catalog& catalog);
/// The review report, Markdown, on stdout.
int review_command(const catalog::Catalog& catalog);

}  // namespace dlr::app
