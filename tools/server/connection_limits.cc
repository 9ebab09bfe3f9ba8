#include "server/connection_limits.h"

#include <algorithm>

namespace relais::server {

size_t EffectiveConnectionCap(size_t requested, size_t nofile) {
  size_t usable = nofile > 2 * kDescriptorsReserved ? nofile - kDescriptorsReserved : nofile / 2;
  return std::max<size_t>(1, std::min(requested, usable));
}

size_t DefaultPerAddressCap(size_t total_cap) { return std::max<size_t>(1, total_cap / 4); }

ConnectionLimits::Verdict ConnectionLimits::Admit(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_ >= total_max_) return Verdict::kTotalFull;
  auto it = by_address_.find(address);
  if (it != by_address_.end() && it->second >= per_address_max_) return Verdict::kAddressFull;
  if (it == by_address_.end()) it = by_address_.emplace(address, 0).first;
  ++it->second;
  ++open_;
  return Verdict::kAdmitted;
}

void ConnectionLimits::Release(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return;
  --open_;
  if (--it->second == 0) by_address_.erase(it);
}

size_t ConnectionLimits::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

size_t ConnectionLimits::addresses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_address_.size();
}

}  // namespace relais::server
