// Retention (lifecycle.md §2): which households are due for erasure on a
// date D, in the view as of D, known at T.
//
// The rule itself is pure (IsClosed, LastContact, AddYears, JudgeRetention:
// no engine, no clock); ComputeRetention folds every household stream of the
// log through it. Applying the result (erasing) is the caller's: the command
// line and the server do it through the engine's erasure API.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "relais/domain.h"
#include "relais/engine.h"
#include "relais/projections/views.h"
#include "relais/projections/visibility.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais::projections {

// The two durations (`--years`, `--keep-history-years`).
struct RetentionPolicy {
  // From the last contact to erasure. Default: 2 (CNIL délibération 2023-095).
  int32_t years = 2;
  // The same when the household's keep_history consent is given as of D.
  // Default: 5 (CNIL délibération 2014-124: kept for a possible resumption).
  int32_t keep_history_years = 5;
};
// The accepted range of both durations (a usage error outside it).
inline constexpr int32_t kRetentionYearsMin = 0;
inline constexpr int32_t kRetentionYearsMax = 100;

// "+ N years": the same month and day N years later, 29 February becoming
// 28 February when that year has none.
Date AddYears(Date d, int32_t years);

// Closed on D (lifecycle.md §2), from the household's state folded as of D:
// registered; no referral open; no episode active or paused; no open
// arrears; procedure stage none or closed; no active hosting or sublease.
bool IsClosed(const HouseholdState& s);

// The latest (corrected) effective date of the timeline (which holds only
// the events that take part in the effective order); nullopt when empty.
std::optional<Date> LastContact(const std::vector<TimelineEntry>& timeline);

struct RetentionDue {
  std::string subject;
  Date last_contact;
  Date due_on;
  bool keep_history = false;
  // The stream's last version in the view: applying erases the household
  // only if the stream is still there (nothing recorded since the judgement).
  StreamVersion version = -1;
};

// One household: `timeline` as of D known at T, `erased` whether a
// PersonalDataErased is known at T (whatever its date). The household when
// it is due on `as_of`, else nullopt.
std::optional<RetentionDue> JudgeRetention(const std::string& subject,
                                           const std::vector<TimelineEntry>& timeline, bool erased,
                                           Date as_of, const RetentionPolicy& policy);

struct RetentionRequest {
  ViewTime time;
  Date today;  // D when neither as_of nor known_at is given
  RetentionPolicy policy;
};

struct RetentionResult {
  Date as_of;
  std::optional<Timestamp> known_at;
  Position log_position = 0;  // the position the view was read at
  std::vector<RetentionDue> due;  // sorted by subject
};

// Every household of the log, judged. Reads the engine only.
Result<RetentionResult> ComputeRetention(Engine& engine, const RetentionRequest& request);

// `{"asOf", "knownAt", "due": [{"subject", "lastContact", "dueOn",
// "keepHistory"}]}`, plus `"applied": n` when `applied` is set.
std::string RenderRetention(const RetentionResult& r, std::optional<int64_t> applied);

// Applies the schedule (`--apply`, POST /v1/retention): computes it as of
// request.time.as_of (known at the head: request.time.known_at must be
// unset), then erases each due household through Engine::Erase (reason
// retention_expired, effective on D, actor {"retention", "admin", "-"}).
// Idempotent: an erased household is never due again, and one erased
// between the judgement and its erasure (household_erased) is skipped, as
// is one that got any event since (version_conflict: judged again next run).
// `applied` counts the erasures made by this call. Stops at the first
// engine error (what was erased stays erased).
struct RetentionApplied {
  RetentionResult result;
  int64_t applied = 0;
};
Result<RetentionApplied> ApplyRetention(Engine& engine, const RetentionRequest& request);
// The erasing half of ApplyRetention: erases each household of `result` (a
// view at the head, no known-at) and returns how many it erased.
Result<int64_t> ApplyRetentionDue(Engine& engine, const RetentionResult& result);

// GET /v1/retention: admin and auditor. POST (applying it): admin.
bool MayReadRetention(const Caller& caller);
bool MayApplyRetention(const Caller& caller);

// Whether a record is a PersonalDataErased (the erasure's event type).
bool IsErasure(const EventRecord& r);

}  // namespace relais::projections
