#include <cstdio>
#include "server/state.h"

#include <openssl/rand.h>

#include "relais/files.h"
#include "relais/json_writer.h"

namespace relais::server {

inline constexpr size_t kPseudonymKeyBytes = 32;

Status State::Journal(const projections::Caller& c, const Subject& subject,
                      std::string_view endpoint, bool allowed) {
  if (subject.kind == StreamKind::kTerritory) return Status::Ok();
  return JournalText(c, subject.text, endpoint, allowed);
}

Status State::JournalText(const projections::Caller& c, std::string_view subject,
                          std::string_view endpoint, bool allowed) {
  AccessEntry e{SystemClock()->Now(),  c.name,
                std::string(RoleName(c.role)), std::string(subject),
                std::string(endpoint), allowed,
                ActorOrg(c)};
  Status st = journal->Record(e);
  if (!st.ok())
    log->Error("access journal", [&](JsonWriter& w) { w.Key("error").String(st.message()); });
  return st;
}

std::string ActorOrg(const projections::Caller& c) {
  if (!c.org.empty()) return c.org;
  if (!c.territory.empty()) return c.territory;
  return "-";
}

std::optional<Principal> Authenticate(State& s, std::optional<std::string_view> auth,
                                      bool* expired) {
  if (!auth) return std::nullopt;
  std::string_view v = *auth;
  if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer "))
    return s.tokens->Lookup(v.substr(7), expired);
  return std::nullopt;
}

Result<std::string> LoadPseudonymKey(const std::string& dir) {
  std::string path = dir + "/pseudonym.key";
  auto key = files::ReadFile(path, 4096);
  if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
    unsigned char bytes[kPseudonymKeyBytes];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
      return Status::Internal("no random bytes for the pseudonym key");
    // Temp file + fsync + rename + directory fsync: a crash leaves no key
    // or the whole key, never an empty file.
    RETURN_IF_ERROR(files::WriteFileAtomic(
        path, std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes)));
    key = files::ReadFile(path, 4096);
  }
  if (!key.ok()) return key.status();
  if (key->size() != kPseudonymKeyBytes)
    return Status::Corruption(path + " holds " + std::to_string(key->size()) +
                              " bytes, not a 32-byte key (torn by a crash?): restore it from a "
                              "backup; a new key would break the joins of past exports");
  return std::move(*key);
}

Result<std::unique_ptr<State>> OpenState(const ServerOptions& options) {
  auto s = std::make_unique<State>();
  s->options = options;
  s->log = std::make_unique<ServerLog>(options.log_level);
  ServerLog* log = s->log.get();
  RETURN_IF_ERROR(files::MakePrivateDirectory(options.data_dir));
  Options eo;
  eo.data_dir = options.data_dir;
  eo.origin = options.origin;
  eo.tree_progress = [log](Position done, Position total) {
    log->Info("building the Merkle tree of the log", [&](JsonWriter& w) {
      w.Key("done").Uint(done);
      w.Key("total").Uint(total);
    });
  };
  ASSIGN_OR_RETURN(s->engine, Engine::Open(eo));
  RETURN_IF_ERROR(s->engine->WarmAll({}));
  JournalOptions jo;
  jo.limits.max_bytes = options.journal_max_bytes;
  jo.limits.max_age_days = options.journal_max_age_days;
  jo.log = log;
  ASSIGN_OR_RETURN(s->journal, AccessJournal::Open(options.data_dir, std::move(jo)));
  ASSIGN_OR_RETURN(s->pseudonym_key, LoadPseudonymKey(options.data_dir));
  s->tokens = std::make_unique<TokenStore>(options.data_dir);
  s->sessions = std::make_unique<SessionStore>(SystemClock(), options.session_ttl_s);
  // Files created before this server (older versions, a umask of 022) are
  // made owner-only too; what the server creates from now on is, by umask.
  RETURN_IF_ERROR(files::RestrictTree(options.data_dir));
  return s;
}

}  // namespace relais::server
