// The catalogue the project ships, loaded once per test binary.
#pragma once

#include <memory>

#include "dlr/catalog/loader.h"

namespace dlr::fixtures {

inline std::shared_ptr<const catalog::Catalog> shipped() {
  static auto loaded =
      catalog::load_catalog(DLR_SOURCE_DIR "/catalog/codes.yaml", DLR_SOURCE_DIR "/catalog/policy.yaml");
  return loaded.catalog;
}

}  // namespace dlr::fixtures
