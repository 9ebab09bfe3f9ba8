#include "cache/reference_index.h"

namespace relais::cache {

Result<const std::set<std::string>*> ReferenceIndex::Locked(const std::string& dwelling) {
  auto it = refs_.find(dwelling);
  if (it != refs_.end()) return &it->second;
  std::set<std::string> set;
  std::string prefix = dwelling;
  prefix.push_back('\0');
  RETURN_IF_ERROR(store_->Scan(log::Store::kRef, prefix, {}, [&](std::string_view k, std::string_view) {
    set.insert(std::string(k.substr(prefix.size())));
    return true;
  }));
  return &refs_.emplace(dwelling, std::move(set)).first->second;
}

Result<std::set<std::string>> ReferenceIndex::Households(const std::string& dwelling) {
  std::lock_guard<std::mutex> lock(refs_mu_);
  ASSIGN_OR_RETURN(const std::set<std::string>* set, Locked(dwelling));
  return *set;
}

Result<bool> ReferenceIndex::Has(const std::string& dwelling, const std::string& household) {
  std::lock_guard<std::mutex> lock(refs_mu_);
  ASSIGN_OR_RETURN(const std::set<std::string>* set, Locked(dwelling));
  return set->count(household) > 0;
}

void ReferenceIndex::Publish(const std::set<std::pair<std::string, std::string>>& new_refs) {
  std::lock_guard<std::mutex> lock(refs_mu_);
  for (const auto& [d, h] : new_refs)
    if (auto it = refs_.find(d); it != refs_.end()) it->second.insert(h);
}

}  // namespace relais::cache
