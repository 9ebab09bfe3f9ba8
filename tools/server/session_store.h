// Browser sessions of the console (docs/server.md "Sessions"): a token
// exchanged once by POST /v1/session for a random session id carried in the
// `relais_session` cookie, so that the secret never sits in the page's
// JavaScript and EventSource (which cannot send an Authorization header) can
// open /v1/feed.
//
// Kept in memory only (a restart signs everyone out), and even there only the
// SHA-256 of each id: a memory dump does not yield a usable cookie. A session
// holds its token's hash, not its caller: every request re-reads the token
// store, so a revoked token's sessions die with it within the store's reload
// delay, and a session never outlives its token.
//
// Limits: kSessionsMax in all (beyond: ResourceExhausted, 503), at most
// kSessionsPerTokenMax per token (the oldest of that token goes), each for
// `ttl_s` seconds from sign-in (absolute, not sliding).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "relais/engine.h"
#include "relais/status.h"

namespace relais::server {

inline constexpr size_t kSessionsMax = 10000;
inline constexpr size_t kSessionsPerTokenMax = 16;
inline constexpr int64_t kSessionTtlS = 8 * 3600;  // a working day
inline constexpr size_t kSessionIdHexChars = 64;   // 256 random bits
inline constexpr std::string_view kSessionCookie = "relais_session";

struct SessionInfo {
  std::string token_sha256;  // the token it was signed in with
  std::string csrf;          // the value X-CSRF-Token must carry (hex, 256 bits)
  Timestamp created;
  Timestamp expires;
};

struct NewSession {
  std::string id;  // the cookie's value: shown once, never stored
  SessionInfo info;
};

class SessionStore {
 public:
  SessionStore(std::shared_ptr<Clock> clock, int64_t ttl_s, size_t max = kSessionsMax);

  // A session of `ttl_s` seconds, cut at `not_after` (its token's expiry):
  // a session never outlives its token.
  Result<NewSession> Create(std::string_view token_sha256,
                            std::optional<Timestamp> not_after = std::nullopt);
  // The live session of a cookie value; nullopt when unknown or expired (an
  // expired one is removed).
  std::optional<SessionInfo> Find(std::string_view id);
  // Ends the session of a cookie value; false when there was none.
  bool Remove(std::string_view id);
  // Ends every session of a token (after it is revoked); returns how many.
  size_t RemoveToken(std::string_view token_sha256);
  size_t size();
  int64_t ttl_s() const { return ttl_s_; }

 private:
  void DropExpiredLocked(Timestamp now);
  std::shared_ptr<Clock> clock_;
  int64_t ttl_s_;
  size_t max_;
  std::mutex mu_;
  std::unordered_map<std::string, SessionInfo> by_hash_;  // SHA-256(id) hex -> session
};

// The value of cookie `name` in a Cookie header ("a=b; c=d"), or nullopt.
std::optional<std::string_view> CookieValue(std::string_view header, std::string_view name);

// Whether two secrets are equal, in time independent of where they differ.
bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace relais::server
