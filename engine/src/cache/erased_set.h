// The households whose personal data is erased (lifecycle.md §1), in memory:
// loaded from the erasure index at open, added to as erasures commit. Readers
// consult it to omit personal fields before, during and after the key's
// destruction alike. Thread-safe.
#pragma once

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace relais::cache {

class ErasedSet {
 public:
  bool Contains(std::string_view subject) const {
    if (size_.load(std::memory_order_acquire) == 0) return false;  // most logs: no erasure
    std::shared_lock<std::shared_mutex> lock(mu_);
    return set_.count(std::string(subject)) > 0;
  }
  void Add(const std::string& subject) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    set_.insert(subject);
    size_.store(set_.size(), std::memory_order_release);
  }

 private:
  mutable std::shared_mutex mu_;
  std::unordered_set<std::string> set_;
  std::atomic<size_t> size_{0};
};

}  // namespace relais::cache
