// Who may see and write what (interfaces.md §2, events.md §1 and §3): the
// role filtering of every read path (status, history, feed, export) and the
// authorisation of every write. The HTTP server only authenticates a caller
// and asks here; no role rule lives in the handlers.
//
// Roles:
//   admin          everything.
//   coordinator    (territory) reads and writes the households, dwellings and
//                  territory stream of its territory; a household's territory
//                  is the one of its fold as of now (CaseTransferred moves it).
//   social_worker  (org) class S and M events of the households where its
//                  association holds or held a support episode, a hosting or a
//                  sublease; class H only when the household's data_sharing
//                  consent is given. No dwelling or territory stream.
//   tenancy_staff  (territory) class M events of its territory's households and
//                  dwellings, household status reduced to management facts
//                  plus "supportInPlace"; never free-text reasons of
//                  corrections, support details, referrals or health.
//   evaluator      aggregate reports and the pseudonymised export only.
//   auditor        reads everything, writes nothing, reads the access journal.
//
// Thread-safety: every function is safe to call concurrently (they only read
// the engine).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "relais/engine.h"
#include "relais/projections/tenancy.h"
#include "relais/projections/views.h"
#include "relais/role.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais::projections {

// The roles are the engine's one enum (relais/role.h).

// An authenticated caller. `territory` is set for coordinator and
// tenancy_staff, `org` for social_worker.
struct Caller {
  std::string name;
  Role role = Role::kAuditor;
  std::string territory;
  std::string org;
};

// What a read produced.
enum class Access : uint8_t {
  kAllowed,    // the whole view
  kFiltered,   // some events or fields hidden ("filtered": true in the body)
  kForbidden,  // 403: the caller may not read this subject at all
};

struct FilteredView {
  Access access = Access::kAllowed;
  std::string json;  // empty when kForbidden
};

// `relais status` for a caller. NotFound as StatusJson. A subject the caller may
// not read is kForbidden whether or not it exists (no existence oracle).
Result<FilteredView> StatusFor(Engine& engine, const Caller& caller, const Subject& subject,
                               const ViewTime& t, Date today);

// `relais history` for a caller, with "filtered" set when events or fields
// were hidden. An event's class is the strictest of its original and every
// corrected form known at `known_at`, and each correction or retraction of it
// has that class too.
Result<FilteredView> HistoryFor(Engine& engine, const Caller& caller, const Subject& subject,
                                std::optional<Timestamp> known_at);

// The tenancy record of a dwelling (tenancy.h) for a caller: readable by whoever
// may read the dwelling (admin, auditor; coordinator and tenancy_staff of its
// territory), each event shown by its class as in history (tenancy_staff: M
// only, without the reasons of corrections). kForbidden as HistoryFor.
struct TenancyView {
  Access access = Access::kAllowed;
  TenancyRecord record;  // empty when kForbidden
  TenancyShown shown;
  bool filtered = false;
};
Result<TenancyView> TenancyFor(Engine& engine, const Caller& caller, const Subject& dwelling,
                               const ViewTime& t, Date today);

// Whether the caller may read the subject at all (before any field filtering).
Result<bool> MayReadSubject(Engine& engine, const Caller& caller, const Subject& subject);

// Reports (aggregates): admin, coordinator, evaluator, auditor.
bool MayReadReports(const Caller& caller);
// The chain check: admin and auditor.
bool MayVerify(const Caller& caller);
// The live feed: everyone but the evaluator (who has the export).
bool MayReadFeed(const Caller& caller);

// Authorises a write request body (one event object or an array) before it is
// appended. Ok when allowed; PermissionDenied-like kFailedPrecondition with a
// message naming the first event the caller may not write. A body that does
// not parse is allowed here: the engine refuses it as malformed with the
// contract's message.
Status AuthoriseWrite(Engine& engine, const Caller& caller, std::string_view body);

// The feed: renders one stored event as the caller may see it, in the
// history's envelope shape (without correctedBy/retractedBy). nullopt when
// the event is hidden from the caller; `*filtered` tells whether the event was
// reduced. Subject rights are judged as of now, on each call, and so is the
// event's class: the strictest of its forms after every correction recorded
// by then (events.md §3), so a replay after a correction to mental_health no
// longer delivers the corrected event or its corrections to a role without H.
std::optional<std::string> FeedEventFor(Engine& engine, const Caller& caller,
                                        const StoredEventView& event, bool* filtered);

// The evaluator's export (interfaces §2 GET /v1/export): every event known at
// `known_at` (all when unset), one NDJSON envelope per line to `emit`, with
// every identifier replaced by HMAC-SHA256(key, identifier) (hex, first 32
// digits: stable across exports with the same key so joins still work) and
// every personal-data field removed. `emit` returns false to stop.
Status ExportPseudonymised(Engine& engine, std::optional<Timestamp> known_at, std::string_view key,
                           const std::function<bool(std::string_view)>& emit);

// The same export in pieces, for a server that writes each piece before it
// renders the next (tools/server, the streamed GET /v1/export): each Next()
// renders the events after the last one it rendered, in position order,
// until the piece holds at least `bytes_min` bytes (so at most that plus one
// line) or the export is done. The pieces put end to end are the lines
// ExportPseudonymised emits, byte for byte. The position known at
// `known_at` is taken by the first Next(). Memory: one piece, plus the type
// of every event rendered so far (corrections need their target's type).
// One caller at a time.
class PseudonymisedExport {
 public:
  PseudonymisedExport(Engine& engine, std::optional<Timestamp> known_at, std::string key);
  ~PseudonymisedExport();
  PseudonymisedExport(PseudonymisedExport&&) noexcept;
  // Appends the next lines to `*out`; `*done` when none is left. An error
  // ends the export (what `*out` received of this piece is to be dropped).
  Status Next(size_t bytes_min, std::string* out, bool* done);

 private:
  struct State;
  Engine* engine_;
  std::optional<Timestamp> known_at_;
  std::string key_;
  std::unique_ptr<State> state_;  // from the first Next()
};

// One line of that export (without its newline): the event with every
// identifier pseudonymised and its personal fields removed. For an
// EventCorrected, `target_type` is its target's type (the corrected fields
// are the target's); the sink's evaluator scope renders its events by it.
Result<std::string> PseudonymisedEvent(std::string_view key, const StoredEventView& v,
                                       std::optional<EventType> target_type);

// The keyed pseudonym of one identifier (exposed for tests).
std::string Pseudonym(std::string_view key, std::string_view id);

}  // namespace relais::projections
