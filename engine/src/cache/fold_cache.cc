#include "cache/fold_cache.h"

namespace relais::cache {

Result<FoldState*> FoldCache::For(
    const std::string& subject,
    const std::function<Result<std::vector<const EventRecord*>>()>& records) {
  auto it = folds_.find(subject);
  if (it != folds_.end()) return &it->second;
  ASSIGN_OR_RETURN(std::vector<const EventRecord*> rs, records());
  FoldState fs;
  bool household = subject.rfind("household/", 0) == 0;
  for (const auto& t : BuildTimeline(rs, UINT64_MAX, std::nullopt)) {
    if (household) {
      EvolveHousehold(fs.household, *t.fact, t.effective);
    } else {
      EvolveDwelling(fs.dwelling, *t.fact, t.effective);
    }
    fs.last_effective = t.effective;
  }
  return &folds_.emplace(subject, std::move(fs)).first->second;
}

void FoldCache::Evolve(FoldState& fs, StreamKind kind, const Fact& fact, Date effective) {
  if (kind == StreamKind::kHousehold) {
    EvolveHousehold(fs.household, fact, effective);
  } else {
    EvolveDwelling(fs.dwelling, fact, effective);
  }
  fs.last_effective = effective;
}

}  // namespace relais::cache
