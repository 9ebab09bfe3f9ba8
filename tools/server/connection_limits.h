// Connection admission (docs/server.md "Limits"): a cap on open connections
// in total and per client address, so that one address holding connections
// (idle, or trickling a request head) never locks the others out, and a
// total cap kept below the process's descriptor limit, so that accept()
// never fails for want of a descriptor while idle connections hold them all.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace relais::server {

// Descriptors kept for everything but connections: the feed and export
// streams (which leave the count when detached), RocksDB's files, the
// journal, the listener.
inline constexpr size_t kDescriptorsReserved = 256 + 256;

// The total cap for `requested` under a descriptor limit of `nofile`.
size_t EffectiveConnectionCap(size_t requested, size_t nofile);
// The per-address cap when none is given: a quarter of the total, so that
// at least four addresses always get in.
size_t DefaultPerAddressCap(size_t total_cap);

class ConnectionLimits {
 public:
  ConnectionLimits(size_t total_max, size_t per_address_max)
      : total_max_(total_max), per_address_max_(per_address_max) {}
  enum class Verdict { kAdmitted, kTotalFull, kAddressFull };
  // Counts the connection when admitted; Release() it when it closes.
  Verdict Admit(const std::string& address);
  void Release(const std::string& address);
  size_t open() const;
  size_t addresses() const;  // entries of the table: at most total_max
  size_t total_max() const { return total_max_; }
  size_t per_address_max() const { return per_address_max_; }

 private:
  const size_t total_max_, per_address_max_;
  mutable std::mutex mu_;
  size_t open_ = 0;
  // Only addresses with an open connection: erased at zero, so the table is
  // bounded by the connection cap whatever the clients do.
  std::unordered_map<std::string, size_t> by_address_;
};

}  // namespace relais::server
