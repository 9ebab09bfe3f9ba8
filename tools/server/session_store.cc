#include "server/session_store.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "relais/hex.h"
#include "server/token_store.h"

namespace relais::server {

namespace {

std::string RandomHex() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  std::string out = ToHex(bytes, sizeof bytes);
  sodium_memzero(bytes, sizeof bytes);
  return out;
}

}  // namespace

SessionStore::SessionStore(std::shared_ptr<Clock> clock, int64_t ttl_s, size_t max)
    : clock_(std::move(clock)), ttl_s_(ttl_s), max_(max) {
  // sodium_init is idempotent and thread-safe; randombytes_buf needs it.
  if (sodium_init() < 0) std::abort();
}

void SessionStore::DropExpiredLocked(Timestamp now) {
  for (auto it = by_hash_.begin(); it != by_hash_.end();)
    it = it->second.expires <= now ? by_hash_.erase(it) : std::next(it);
}

Result<NewSession> SessionStore::Create(std::string_view token_sha256,
                                       std::optional<Timestamp> not_after) {
  Timestamp now = clock_->Now();
  NewSession out;
  out.id = RandomHex();
  out.info.token_sha256 = std::string(token_sha256);
  out.info.csrf = RandomHex();
  out.info.created = now;
  out.info.expires = Timestamp{now.micros + ttl_s_ * 1000000};
  if (not_after && not_after->micros < out.info.expires.micros) out.info.expires = *not_after;
  std::lock_guard<std::mutex> lock(mu_);
  // The same token's sessions beyond the per-token cap: the oldest goes.
  std::vector<std::unordered_map<std::string, SessionInfo>::iterator> mine;
  for (auto it = by_hash_.begin(); it != by_hash_.end(); ++it)
    if (it->second.token_sha256 == token_sha256) mine.push_back(it);
  if (mine.size() >= kSessionsPerTokenMax) {
    auto oldest = *std::min_element(mine.begin(), mine.end(), [](auto a, auto b) {
      return a->second.created < b->second.created;
    });
    by_hash_.erase(oldest);
  }
  if (by_hash_.size() >= max_) DropExpiredLocked(now);
  if (by_hash_.size() >= max_)
    return Status::ResourceExhausted("at most " + std::to_string(max_) +
                                     " sessions are open; retry later");
  by_hash_.emplace(Sha256Hex(out.id), out.info);
  return out;
}

std::optional<SessionInfo> SessionStore::Find(std::string_view id) {
  if (id.size() != kSessionIdHexChars) return std::nullopt;
  std::string hash = Sha256Hex(id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  if (it->second.expires <= clock_->Now()) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

bool SessionStore::Remove(std::string_view id) {
  std::string hash = Sha256Hex(id);
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.erase(hash) > 0;
}

size_t SessionStore::RemoveToken(std::string_view token_sha256) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    if (it->second.token_sha256 == token_sha256) {
      it = by_hash_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

size_t SessionStore::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return by_hash_.size();
}

std::optional<std::string_view> CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (part.substr(0, eq) == name) return part.substr(eq + 1);
  }
  return std::nullopt;
}

bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace relais::server
