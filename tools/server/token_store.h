// API tokens (interfaces.md §1 `relais token`, §2 authentication).
//
// Tokens live in DIR/tokens.json, one object per token with the SHA-256 of
// its secret: the secret itself is printed once by `token add` and never
// stored. The file is replaced atomically (write to a temporary file, fsync,
// rename), under an flock of DIR/tokens.lock so that two `token` commands do
// not lose each other's change. A running server re-reads the file when its
// identity (inode, size, mtime) changes, checked at most every 500 ms, so an
// added or revoked token takes effect within a second without a restart.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "relais/projections/visibility.h"
#include "relais/role.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais::server {

inline constexpr size_t kTokensMax = 10000;            // tokens in one store
inline constexpr size_t kTokenFileBytesMax = 8 << 20;  // tokens.json
inline constexpr int64_t kTokenReloadMs = 500;

// The role `metrics` (interfaces.md §3) reads /metrics and /healthz only. It
// is a token's role, not a case role: it stays out of relais::Role, which
// stamps events' actors and grants reads in the projections, so that a
// metrics token can neither be an event's actor nor reach a handler (the
// router answers 403 before any; server/router.cc).
inline constexpr std::string_view kMetricsRoleName = "metrics";

struct TokenEntry {
  std::string name;  // [A-Za-z0-9_.-]{1,64}: becomes the actor id of writes
  std::optional<Role> role;  // nullopt: the `metrics` role
  std::string territory;
  std::string org;
  std::string sha256;  // hex of SHA-256(secret)
  std::string created_at;
  std::string expires_at;  // RFC 3339 UTC, or "" for a token that does not expire
  bool revoked = false;
};

// `--expires`: a count and a unit, h (hours), d (days) or w (weeks), from 1
// hour to 10 years; the seconds it spans, or nullopt for anything else.
inline constexpr int64_t kTokenLifetimeMaxSeconds = 3650LL * 86400;
std::optional<int64_t> ParseLifetime(std::string_view text);

std::string Sha256Hex(std::string_view data);
// "metrics" for a metrics token, else RoleName.
std::string_view TokenRoleName(const std::optional<Role>& role);

// Who a bearer token is: its name, and the case caller it acts as, or
// nullopt for a metrics token (which has none).
struct Principal {
  std::string name;
  std::optional<projections::Caller> caller;
  std::optional<Timestamp> expires;  // the token's expiry; nullopt: none
};

// Reads and writes the token file of one data directory.
Result<std::vector<TokenEntry>> LoadTokens(const std::string& data_dir);
// Adds a token; returns its secret. InvalidArgument when the name is taken by
// a token that is not revoked.
Result<std::string> AddToken(const std::string& data_dir, TokenEntry entry);
// NotFound when no live token has that name.
Status RevokeToken(const std::string& data_dir, const std::string& name);

// The server's view: secret -> caller, reloaded when the file changes.
// Thread-safe.
class TokenStore {
 public:
  explicit TokenStore(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  // Whom a bearer secret belongs to; nullopt when unknown, revoked or
  // expired (then `*expired` is set, when given).
  std::optional<Principal> Lookup(std::string_view secret, bool* expired = nullptr);
  // The same by the secret's SHA-256 (hex), as a session keeps it.
  std::optional<Principal> LookupHash(const std::string& sha256_hex, bool* expired = nullptr);

 private:
  void MaybeReload();
  std::string data_dir_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point checked_{};
  std::string identity_;  // inode/size/mtime of the file last loaded
  struct Live {
    Principal principal;
    std::optional<Timestamp> expires;
  };
  std::unordered_map<std::string, Live> by_hash_;
};

}  // namespace relais::server
