// A coordinator's caseload (issue 12, GET /v1/caseload): the households of a
// territory with their state at a glance and what needs action, as of D and
// known at T (time-and-indicators.md §1).
//
// A household belongs to the territory its fold says *now* (the access rule
// of visibility.h: a transferred household leaves its former coordinator),
// and its row shows its state at (D, T). The actions:
//   situation_review_overdue      an active support episode whose latest
//                                 SituationReviewed (or, without one, its
//                                 start) is more than 182 days before D;
//   slide_review_missing          an active occupancy under contract
//                                 `sublease` for 18 months or more (from the
//                                 start of that contract) with no favourable
//                                 SlideReviewHeld during the occupancy;
//   ccapex_referral_missing       open arrears alerted two calendar months or
//                                 more before D with no CcapexReferred of
//                                 that arrears episode;
//   conditional_decision_overdue  an `attribution_conditional` CAL decision
//                                 not resolved by CalConditionResolved whose
//                                 conditionDeadline is before D.
// Each action carries `dueSince`, the first day it was due.
//
// Rows are in subject order and paged: `limit` rows after `cursor` (the last
// subject of the previous page), so that a body stays small however large the
// territory.
#pragma once

#include <array>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "relais/engine.h"
#include "relais/projections/views.h"
#include "relais/projections/visibility.h"
#include "relais/status.h"

namespace relais::projections {

inline constexpr int32_t kReviewOverdueDays = 182;
inline constexpr int kSlideReviewMonths = 18;
inline constexpr int kCcapexMonths = 2;
inline constexpr size_t kCaseloadLimitDefault = 50;
inline constexpr size_t kCaseloadLimitMax = 500;

// Admin, or the coordinator of `territory` (a JSON name: "lille"...).
bool MayReadCaseload(const Caller& caller, std::string_view territory);

struct CaseloadAction {
  std::string code;  // "situation_review_overdue", ...
  Date due_since;
  std::string about;  // the episode, dwelling or referral concerned
};

// One household's row: a pure function of its timeline at (D, T).
struct CaseloadRow {
  std::string subject;
  Date registered_on;
  std::optional<sc::Track> track;  // of its latest referral
  struct Occupancy {
    std::string dwelling_id;
    Date since;
    sc::Contract contract;
  };
  std::optional<Occupancy> occupancy;  // the active one
  struct Episode {
    std::string id;
    sc::SupportKind kind;
    EpisodeStatus status;
    std::optional<Date> last_review;
  };
  std::optional<Episode> episode;  // the latest not closed
  struct Arrears {
    int64_t amount_cents;
    Date since;
    bool ccapex_referred;
  };
  std::optional<Arrears> arrears;  // open arrears only
  ProcedureStage stage = ProcedureStage::kNone;
  std::vector<CaseloadAction> actions;
};
CaseloadRow JudgeCaseload(std::string subject, const std::vector<TimelineEntry>& timeline, Date D);

// The rows already judged, by household, so that a warm caseload re-judges
// only the households whose stream changed (or all of them when D or today
// changed). An entry is valid for a view when the stream's last record known
// at T and D are those it was judged with (a row is a function of exactly
// these), and its territory-now when the stream's last record and today are.
// One entry per household (the latest view asked): bounded by the number of
// household streams. Thread-safe: each of the fold's two shards has its own
// lock, held while that shard is visited.
class CaseloadCache {
 public:
  struct Entry {
    Position view_last = 0;  // the stream's last position <= T when judged
    Date view_date;
    Position now_last = 0;  // the stream's last position when its territory was read
    Date now_date;
    std::optional<sc::Territory> territory_now;
    CaseloadRow row;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> entries;
  };
  Shard& shard(int k) { return shards_[k]; }

 private:
  std::array<Shard, 2> shards_;
};

struct CaseloadRequest {
  sc::Territory territory = sc::Territory::LILLE;
  ViewTime time;
  Date today;
  size_t limit = kCaseloadLimitDefault;
  std::string cursor;  // a household subject; "" for the first page
  bool needs_action = false;  // only the rows with an action
  CaseloadCache* cache = nullptr;  // optional: reuse rows judged before
};

struct CaseloadPage {
  Date as_of;
  std::optional<Timestamp> known_at;
  Position log_position = 0;
  size_t total = 0;          // households of the territory (after needs_action)
  size_t needing_action = 0;  // of them, with at least one action
  std::vector<CaseloadRow> rows;
  std::optional<std::string> next;  // the cursor of the next page
};

Result<CaseloadPage> ComputeCaseload(Engine& engine, const CaseloadRequest& request);
std::string RenderCaseload(const CaseloadPage& page, sc::Territory territory);

// "lille" -> Territory::LILLE; nullopt for anything else.
std::optional<sc::Territory> TerritoryFromName(std::string_view name);

}  // namespace relais::projections
