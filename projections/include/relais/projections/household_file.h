// The household's own file (lifecycle.md §3): everything relais holds about
// one household, for an access request (RGPD art. 15) or to hand over at a
// situation review (loi 2002-2, CASF L311-3).
//
// The file is assembled from views the caller has already made for its
// reader (the whole status and history for the command line; the
// role-filtered ones of visibility.h over HTTP), so that the file never shows
// more than those views do. The HTML is rendered from the file's JSON, so the
// two never disagree. Pure functions of their inputs plus engine reads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/engine.h"
#include "relais/projections/visibility.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais::projections {

// One access-journal entry about the household (tools/server/access_journal).
struct AccessLogEntry {
  Timestamp at;
  std::string role, org, endpoint;
  bool allowed = false;
};

struct HouseholdFileInput {
  Subject subject;
  std::optional<Timestamp> known_at;
  // `relais status` at the default D (the UTC date of known_at, else today)
  // and `relais history` known at T, as the reader may see them.
  std::string status_json;
  std::string history_json;
  // The journal's entries about the subject, before this read, in order.
  std::vector<AccessLogEntry> access_log;
};

// Who may ask for a household's file over HTTP (lifecycle.md §3): admin,
// auditor, coordinator and social_worker, each within what their history
// view lets them read (StatusFor / HistoryFor then say whether this
// household is theirs); tenancy_staff and evaluator never (403).
bool MayReadHouseholdFile(const Caller& caller);

// Limits: the events of one stream are bounded by kStreamEventsMax; the
// access log shown is the latest kFileAccessLogMax entries (older ones are
// summarised by their count, `accessLogOmitted`, only when there are some).
inline constexpr size_t kFileAccessLogMax = 10000;

// `{"subject", "knownAt", "logPosition", "logHash", "status", "events",
// "accessLog"}`. `events` are the history's events in effective order:
// (corrected effective date as known at T, position), each correction and
// retraction right after the event it targets. NotFound when no event of the
// subject is known at T.
Result<std::string> HouseholdFileJson(Engine& engine, const HouseholdFileInput& in);

// The printable French page for the household, from HouseholdFileJson's
// output. InvalidArgument when `file_json` is not such a file.
Result<std::string> RenderHouseholdFileHtml(std::string_view file_json);

}  // namespace relais::projections
