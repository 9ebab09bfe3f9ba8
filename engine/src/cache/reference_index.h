// The dwelling -> households index (log family kRef), cached per dwelling.
//
// Filled lazily from the store, one dwelling at a time; the writer adds the
// references of each group it committed (Publish). Thread-safe.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "log/store.h"
#include "relais/status.h"

namespace relais::cache {

class ReferenceIndex {
 public:
  explicit ReferenceIndex(log::Store* store) : store_(store) {}

  // The households referencing `dwelling`, sorted.
  Result<std::set<std::string>> Households(const std::string& dwelling);
  Result<bool> Has(const std::string& dwelling, const std::string& household);
  // After a group's write: the (dwelling, household) pairs it added. Only
  // dwellings already cached are updated (the others load from the store).
  void Publish(const std::set<std::pair<std::string, std::string>>& new_refs);

 private:
  // refs_mu_ held.
  Result<const std::set<std::string>*> Locked(const std::string& dwelling);

  log::Store* store_;
  std::mutex refs_mu_;
  std::unordered_map<std::string, std::set<std::string>> refs_;
};

}  // namespace relais::cache
