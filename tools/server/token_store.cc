#include "server/token_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "relais/engine.h"
#include "relais/files.h"
#include "relais/hex.h"
#include "relais/json_writer.h"
#include "relais/types.h"

namespace relais::server {

namespace {

std::string TokensPath(const std::string& dir) { return dir + "/tokens.json"; }

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

Result<std::vector<TokenEntry>> Parse(const std::string& text) {
  std::vector<TokenEntry> out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text).get(root)) return Status::Corruption("tokens.json is not valid JSON");
  simdjson::dom::array arr;
  if (root["tokens"].get_array().get(arr))
    return Status::Corruption("tokens.json: no 'tokens' array");
  for (auto t : arr) {
    TokenEntry e;
    std::string_view s;
    bool revoked = false;
    if (t["name"].get_string().get(s))
      return Status::Corruption("tokens.json: a token has no name");
    e.name = s;
    if (t["role"].get_string().get(s))
      return Status::Corruption("tokens.json: " + e.name + " has no role");
    if (s != kMetricsRoleName) {
      auto role = RoleFromName(s);
      if (!role) return Status::Corruption("tokens.json: " + e.name + " has an unknown role");
      e.role = *role;
    }
    if (!t["territory"].get_string().get(s)) e.territory = s;
    if (!t["org"].get_string().get(s)) e.org = s;
    if (t["sha256"].get_string().get(s))
      return Status::Corruption("tokens.json: " + e.name + " has no hash");
    e.sha256 = s;
    if (!t["createdAt"].get_string().get(s)) e.created_at = s;
    if (!t["expiresAt"].get_string().get(s)) {
      if (!ParseTimestamp(s))
        return Status::Corruption("tokens.json: " + e.name + " has an unreadable expiresAt");
      e.expires_at = s;
    }
    if (!t["revoked"].get_bool().get(revoked)) e.revoked = revoked;
    out.push_back(std::move(e));
  }
  return out;
}

std::string Render(const std::vector<TokenEntry>& tokens) {
  JsonWriter w(true);
  w.BeginObject();
  w.Key("tokens").BeginArray();
  for (const auto& t : tokens) {
    w.BeginObject();
    w.Key("name").String(t.name);
    w.Key("role").String(TokenRoleName(t.role));
    w.Key("territory").String(t.territory);
    w.Key("org").String(t.org);
    w.Key("sha256").String(t.sha256);
    w.Key("createdAt").String(t.created_at);
    if (!t.expires_at.empty()) w.Key("expiresAt").String(t.expires_at);
    w.Key("revoked").Bool(t.revoked);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::string s = w.Take();
  s.push_back('\n');
  return s;
}

// Atomic replacement (files::WriteFileAtomic): readers see the old file or
// the new one, never half, and a crash never leaves an empty tokens.json.
Status WriteAtomically(const std::string& dir, const std::string& text) {
  return files::WriteFileAtomic(TokensPath(dir), text);
}

// Serialises token commands of one directory (held until destruction).
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    fd_ = ::open((dir + "/tokens.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC,
                 files::kPrivateFileMode);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace

std::optional<int64_t> ParseLifetime(std::string_view text) {
  if (text.size() < 2 || text.size() > 8) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return std::nullopt;
  }
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n == 0 || n * unit > kTokenLifetimeMaxSeconds) return std::nullopt;
  return n * unit;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return ToHex(md, len);
}

Result<std::vector<TokenEntry>> LoadTokens(const std::string& data_dir) {
  auto text = files::ReadFile(TokensPath(data_dir), kTokenFileBytesMax);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::vector<TokenEntry>{};
    return text.status();
  }
  return Parse(*text);
}

Result<std::string> AddToken(const std::string& data_dir, TokenEntry entry) {
  if (!ValidName(entry.name))
    return Status::InvalidArgument("--name: '" + entry.name + "' must match [A-Za-z0-9_.-]{1,64}");
  RETURN_IF_ERROR(files::MakePrivateDirectory(data_dir));
  DirLock lock(data_dir);
  if (!lock.ok()) return Status::IoError("cannot lock " + data_dir + "/tokens.lock");
  ASSIGN_OR_RETURN(std::vector<TokenEntry> tokens, LoadTokens(data_dir));
  for (const auto& t : tokens)
    if (t.name == entry.name && !t.revoked)
      return Status::InvalidArgument("--name: a token named '" + entry.name + "' exists");
  if (tokens.size() >= kTokensMax) return Status::ResourceExhausted("at most 10000 tokens");
  unsigned char secret[32];
  if (RAND_bytes(secret, sizeof secret) != 1) return Status::Internal("no random bytes");
  std::string token = "rls_" + ToHex(secret, sizeof secret);
  entry.sha256 = Sha256Hex(token);
  entry.created_at = FormatTimestamp(SystemClock()->Now());
  entry.revoked = false;
  // A revoked token's name may be reused: the old entry goes.
  tokens.erase(std::remove_if(tokens.begin(), tokens.end(),
                              [&](const TokenEntry& t) { return t.name == entry.name; }),
               tokens.end());
  tokens.push_back(std::move(entry));
  RETURN_IF_ERROR(WriteAtomically(data_dir, Render(tokens)));
  return token;
}

Status RevokeToken(const std::string& data_dir, const std::string& name) {
  DirLock lock(data_dir);
  if (!lock.ok()) return Status::NotFound("no token named '" + name + "'");
  ASSIGN_OR_RETURN(std::vector<TokenEntry> tokens, LoadTokens(data_dir));
  bool found = false;
  for (auto& t : tokens)
    if (t.name == name && !t.revoked) {
      t.revoked = true;
      found = true;
    }
  if (!found) return Status::NotFound("no live token named '" + name + "'");
  return WriteAtomically(data_dir, Render(tokens));
}

std::string_view TokenRoleName(const std::optional<Role>& role) {
  return role ? RoleName(*role) : kMetricsRoleName;
}

std::optional<Principal> TokenStore::Lookup(std::string_view secret, bool* expired) {
  return LookupHash(Sha256Hex(secret), expired);
}

std::optional<Principal> TokenStore::LookupHash(const std::string& hash, bool* expired) {
  std::lock_guard<std::mutex> lock(mu_);
  MaybeReload();
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  if (it->second.expires && SystemClock()->Now() >= *it->second.expires) {
    if (expired) *expired = true;
    return std::nullopt;
  }
  return it->second.principal;
}

void TokenStore::MaybeReload() {
  auto now = std::chrono::steady_clock::now();
  if (now - checked_ < std::chrono::milliseconds(kTokenReloadMs)) return;
  checked_ = now;
  struct stat st;
  std::string identity;
  if (::stat(TokensPath(data_dir_).c_str(), &st) == 0)
    identity = std::to_string(st.st_ino) + "/" + std::to_string(st.st_size) + "/" +
               std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  if (identity == identity_) return;
  auto tokens = LoadTokens(data_dir_);
  // A file that does not parse keeps the previous tokens (and is retried).
  if (!tokens.ok()) return;
  identity_ = identity;
  by_hash_.clear();
  for (const auto& t : *tokens) {
    if (t.revoked) continue;
    Principal p{t.name, std::nullopt, ParseTimestamp(t.expires_at)};
    if (t.role) p.caller = projections::Caller{t.name, *t.role, t.territory, t.org};
    auto expires = p.expires;
    by_hash_[t.sha256] = Live{std::move(p), expires};
  }
}

}  // namespace relais::server
