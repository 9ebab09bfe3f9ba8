// What every handler shares: the engine, the access journal, the tokens, the
// pseudonym key and the metrics of one `relais serve`. Outlives every
// session and stream. Nothing here knows about sockets or threads of the
// transport, so that tests and the fuzzer open a State on a data directory
// and call the handlers directly (server/router.h HandleRequest).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "relais/engine.h"
#include "relais/projections/caseload.h"
#include "relais/projections/visibility.h"
#include "relais/status.h"
#include "server/access_journal.h"
#include "server/http_server.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "server/session_store.h"
#include "server/server_log.h"
#include "server/token_store.h"

namespace relais::server {

struct State {
  ServerOptions options;
  // The one log of the server (first: everything below may log while it opens).
  std::unique_ptr<ServerLog> log;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<AccessJournal> journal;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<SessionStore> sessions;
  projections::CaseloadCache caseload_cache;  // rows of GET /v1/caseload, by household
  std::string pseudonym_key;
  Metrics metrics;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight_writes{0};

  // Journals one read of a household's or dwelling's data (territories are
  // not a person's data). An error means the read must not be answered.
  Status Journal(const projections::Caller& c, const Subject& subject, std::string_view endpoint,
                 bool allowed);
  Status JournalText(const projections::Caller& c, std::string_view subject,
                     std::string_view endpoint, bool allowed);
};

// Opens the log, the engine (warmed), the journal (its torn tail repaired), the token
// store and the pseudonym key of `options.data_dir`, and makes the data
// directory owner-only.
Result<std::unique_ptr<State>> OpenState(const ServerOptions& options);

// The installation secret of the pseudonyms (DIR/pseudonym.key, 32 bytes):
// created once, atomically, so that a crash never leaves an empty key; a key
// file of another size is a Corruption naming the file.
Result<std::string> LoadPseudonymKey(const std::string& data_dir);

// Whom a request's `Authorization: Bearer` names; nullopt when absent or
// unknown. `*expired` is set when the token is known but past its expiresAt.
std::optional<Principal> Authenticate(State& s, std::optional<std::string_view> auth,
                                      bool* expired = nullptr);

// Who sent a request: its bearer token, or else its `relais_session` cookie
// (server/handler_session.cc). A bearer header is never overridden by a
// cookie: a bad bearer is a 401 even beside a good cookie.
struct Authn {
  // Whom: its `caller` is empty for a metrics token (no case data right).
  std::optional<Principal> principal;
  bool by_cookie = false;
  std::string session_id;             // the cookie's value, by_cookie only
  std::optional<SessionInfo> session;  // by_cookie only
  std::string token_sha256;           // of the token (bearer) or of the session's token
  bool sent_credentials = false;  // a bearer header or a session cookie was present
  bool expired = false;           // the token is known but past its expiresAt
};
Authn AuthenticateRequest(State& s, const Request& req);

std::string ActorOrg(const projections::Caller& c);

}  // namespace relais::server
