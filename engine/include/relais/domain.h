// The case rules of events.md §2-§4 as pure functions (the decider pattern).
//
// Nothing here does I/O, reads a clock or logs. Cross-stream facts a rule needs
// (a dwelling's registration date, other households' occupancies of a dwelling)
// arrive through CrossStream, which the caller fills from data it has already
// loaded. Views (projections/) fold the same Evolve* functions, so a status is
// by construction the state the rules checked.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/event.h"
#include "relais/types.h"

namespace relais {

// ---------------------------------------------------------------------------
// Timeline: a stream's events as the rules and views see them.

struct TimelineEntry {
  const EventRecord* record = nullptr;  // the original event (position, id, ...)
  const Fact* fact = nullptr;           // its data, with corrections applied
  Date effective;                       // its (corrected) effective date
  bool is_new = false;                  // being appended (not yet in the log)
};

// Builds the effective order (events.md §2) of one stream from its records in
// position order: corrections and retractions with position <= known_at apply;
// retracted events and the corrections themselves are left out; events after
// `known_at` do not exist. Sorted by (effective date, position).
// `as_of`, when set, keeps only entries effective on or before it.
std::vector<TimelineEntry> BuildTimeline(const std::vector<const EventRecord*>& records,
                                         Position known_at, std::optional<Date> as_of);

// ---------------------------------------------------------------------------
// Household state. Text fields are views of interned strings (Intern).

enum class ReferralStatus : uint8_t { kOpen, kAccepted, kRefused, kExpired };
enum class EpisodeStatus : uint8_t { kActive, kPaused, kClosed };

struct ReferralState {
  std::string_view id;
  sc::Track track = sc::Track::ACCESS;
  sc::ReferralSource source = sc::ReferralSource::OTHER;
  ReferralStatus status = ReferralStatus::kOpen;
  Date referred_on;
};

struct ApplicationState {
  std::string_view referral_id;
  std::string_view dwelling_id;
};

struct DecisionState {
  std::string_view referral_id;
  std::string_view dwelling_id;
  sc::CalDecision decision = sc::CalDecision::ATTRIBUTION;
  Date decided_on;
  std::optional<Date> condition_deadline;
  bool resolved = false;  // a conditional decision's CalConditionResolved
  bool met = false;
  bool answered = false;
  sc::OfferAnswer answer = sc::OfferAnswer::NO_ANSWER;
  bool used = false;  // an accepted offer an occupancy has used
  bool IsPositive() const;  // attribution(_ranked), or conditional resolved met
};

struct ContractPeriod {
  sc::Contract contract = sc::Contract::DIRECT_LEASE;
  Date from;
};

struct OccupancyState {
  std::string_view dwelling_id;
  Date since;
  std::optional<Date> end;
  std::optional<sc::EndReason> end_reason;
  std::optional<sc::Destination> destination;
  std::vector<ContractPeriod> contracts;  // the first is the contract at start
  std::string_view association;
  std::string_view referral_id;  // the referral whose accepted offer it used
  bool preexisting = false;
  bool favourable_review = false;  // a favourable SlideReviewHeld during it
  sc::Contract contract() const { return contracts.back().contract; }
};

struct EpisodeState {
  std::string_view id;
  sc::SupportKind kind = sc::SupportKind::ASLL;
  std::string_view association;
  EpisodeStatus status = EpisodeStatus::kActive;
  Date started_on;
  std::optional<Date> closed_on;
  std::optional<sc::CloseReason> close_reason;
  std::string_view previous_episode_id;  // set when opened by SupportResumed
  std::vector<ObjectiveItem> objectives;
  int32_t paused_days = 0;  // completed pauses
  std::optional<Date> paused_since;
};

struct ArrearsState {
  bool open = false;
  int64_t amount_cents = 0;
  Date since;
  std::optional<Date> cleared_on;
  std::vector<Date> ccapex;  // CcapexReferred of this arrears episode
};

enum class ProcedureStage : uint8_t {
  kNone, kPaymentOrder, kSummons, kJudgmentTermination, kOrderToLeave, kPoliceRequested,
  kPoliceGranted, kPoliceRefused, kClosed,
};
std::string_view ProcedureStageName(ProcedureStage s);

struct HouseholdState {
  bool registered = false;
  Date registered_on;
  sc::Territory territory = sc::Territory::LILLE;
  bool consent_support = false;
  bool consent_data_sharing = false;
  bool consent_keep_history = false;
  std::vector<ReferralState> referrals;
  std::vector<ApplicationState> pending_applications;
  std::vector<DecisionState> decisions;
  std::vector<OccupancyState> occupancies;  // in start order; the last may be active
  std::vector<EpisodeState> episodes;
  std::optional<ArrearsState> arrears;      // the latest alert
  ProcedureStage stage = ProcedureStage::kNone;

  const OccupancyState* ActiveOccupancy() const;
  OccupancyState* ActiveOccupancy();
  const ReferralState* FindReferral(std::string_view id) const;
  const EpisodeState* FindEpisode(std::string_view id) const;
};

struct DwellingState {
  bool registered = false;
  Date registered_on;
  sc::Territory territory = sc::Territory::LILLE;
  sc::Typology typology = sc::Typology::T1;
  bool reserved = false;
};

// Folds one event into a state. The event must have passed the rules; on a
// view (known at T, as of D) every prefix of a valid stream is valid.
void EvolveHousehold(HouseholdState& s, const Fact& f, Date effective);
void EvolveDwelling(DwellingState& s, const Fact& f, Date effective);

// ---------------------------------------------------------------------------
// Rules.

// A rule that fails: the contract's code, and a sentence a coordinator reads.
struct RuleFailure {
  std::string code;
  std::string message;
};

// The winter truce (trêve hivernale, events.md §4): no eviction from 1 November
// to 31 March inclusive. Public so that the data set generator schedules
// evictions by the same calendar the rule checks.
bool InWinterTruce(Date d);

// An occupancy of a dwelling by a household: the days [start, end).
struct OccupancyInterval {
  std::string_view household;  // bare id, interned
  std::string_view dwelling_id;
  Date start;
  std::optional<Date> end;
  bool Overlaps(Date s, std::optional<Date> e) const;
};

// What a household's rules need to know of other streams.
class CrossStream {
 public:
  virtual ~CrossStream() = default;
  // The (corrected) effective date of the dwelling's registration, if any.
  virtual std::optional<Date> DwellingRegisteredOn(std::string_view dwelling_id) const = 0;
  // Occupancies of the dwelling by households other than `self` (bare id).
  virtual std::vector<OccupancyInterval> OtherOccupancies(std::string_view dwelling_id,
                                                          std::string_view self) const = 0;
  // Whether any household event references the dwelling.
  virtual bool DwellingReferenced(std::string_view dwelling_id) const = 0;
};

// The occupancy intervals a household timeline describes, found structurally
// (OccupancyStarted up to the matching OccupancyEnded or eviction), whatever
// the other rules say. Used for the cross-stream dwelling_occupied rule.
std::vector<OccupancyInterval> ExtractOccupancies(std::string_view household,
                                                  const std::vector<TimelineEntry>& timeline);

// The outcome of checking a whole stream.
struct StreamVerdict {
  bool ok = true;
  size_t failing_index = 0;  // into the timeline
  RuleFailure failure;
};

// Checks every event of a stream timeline in effective order and reports the
// first failure (events.md §2). `subject_id` is the stream's bare id.
StreamVerdict CheckHouseholdTimeline(std::string_view subject_id,
                                     const std::vector<TimelineEntry>& timeline,
                                     const CrossStream& cross);
StreamVerdict CheckDwellingTimeline(const std::vector<TimelineEntry>& timeline);

// The rules of a correction or retraction about its target: target_not_found,
// and registrations that cannot be retracted or moved (correction_breaks_rules).
// `records` is the stream in position order, `correction` among them.
std::optional<RuleFailure> CheckCorrectionTarget(const std::vector<const EventRecord*>& records,
                                                 const EventRecord& correction,
                                                 const CrossStream& cross);

// Single-event checks, exposed for tests and for the in-memory model.
std::optional<RuleFailure> CheckHouseholdEvent(const HouseholdState& s, const Fact& f,
                                               Date effective, const CrossStream& cross,
                                               const OccupancyInterval* own_interval,
                                               std::string_view self);
std::optional<RuleFailure> CheckDwellingEvent(const DwellingState& s, const Fact& f);

}  // namespace relais
