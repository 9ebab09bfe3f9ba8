// The writer's folded state of each stream after its committed and in-flight
// events, so that an append at the end of a stream's effective order (the
// common case) is checked against it in O(1) instead of re-folding the whole
// stream. Back-dated events and corrections take the full path and drop the
// stream's fold. Writer only (no lock); cleared whenever what it was folded
// from may not have landed (a failed write, a resume, a dropped cache).
#pragma once

#include <climits>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "relais/domain.h"
#include "relais/status.h"

namespace relais::cache {

struct FoldState {
  HouseholdState household;
  DwellingState dwelling;
  Date last_effective{INT32_MIN};
};

class FoldCache {
 public:
  // The stream's fold, folded from `records` (committed + in flight, in
  // position order) when it has none yet.
  Result<FoldState*> For(const std::string& subject,
                         const std::function<Result<std::vector<const EventRecord*>>()>& records);
  // The stream's fold, default-initialized when it has none.
  FoldState& operator[](const std::string& subject) { return folds_[subject]; }
  // Folds one accepted event into the stream's state.
  static void Evolve(FoldState& fs, StreamKind kind, const Fact& fact, Date effective);
  void Erase(const std::string& subject) { folds_.erase(subject); }
  void Clear() { folds_.clear(); }

 private:
  std::unordered_map<std::string, FoldState> folds_;
};

}  // namespace relais::cache
