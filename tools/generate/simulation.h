// Synthetic data set generator: a discrete-event simulation of households,
// dwellings and territories, written as an NDJSON admin import.
//
// Design. Each household runs a few independent processes (access pipeline,
// support episodes, slide to a direct lease, arrears and eviction procedure,
// difficulties, departure, paperwork). A process is a small state machine that
// wakes up on a day, emits the events of that day and schedules its next wake-up
// on a single agenda ordered by (day, sequence). Because days are processed in
// increasing order and every event is recorded on the day it is emitted, the
// generator's own state is always the state the engine will have after the
// events so far, so each event is checked against exactly what the engine will
// check it against. recordedAt times are spread over office hours in emission
// order, so file order, position order and recordedAt order coincide.
//
// Late entries (effectiveDate before the recording day) are only made for facts
// that no rule of events.md reads back (DifficultyReported, PriorityRecognised,
// ConsentRecorded data_sharing, territory activity) or whose rules only look at
// state that has not changed since the back-dated day (SituationReviewed).
//
// This header holds the simulation's state and its class; the processes are
// defined one track per file (population.cc, access.cc, maintien.cc,
// support.cc, tenancy.cc, paperwork.cc, fixes.cc, territory.cc).

#ifndef RELAIS_TOOLS_GENERATE_SIMULATION_H_
#define RELAIS_TOOLS_GENERATE_SIMULATION_H_

#include <array>
#include <cstdint>
#include <ostream>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "generate/calendar.h"
#include "generate/catalogues.h"
#include "generate/emitter.h"
#include "generate/generator.h"
#include "generate/rng.h"
#include "relais/json_writer.h"

namespace relais::tools::gen {

// ------------------------------------------------------------- simulation state

enum class Track : uint8_t { kAccess, kMaintien };
enum class Contract : uint8_t { kHosting, kSublease, kDirectLease };
inline constexpr const char* kContractNames[] = {"hosting", "sublease", "direct_lease"};
enum class EpisodeStatus : uint8_t { kNone, kActive, kPaused, kClosed };
enum class AccessStep : uint8_t {
  kRefer,
  kDecideReferral,
  kApply,
  kCalDecision,
  kResolveCondition,
  kAnswerOffer,
  kMoveIn
};
enum class SupportStep : uint8_t { kStart, kObjectives, kReview, kResume };
enum class ArrearsStep : uint8_t { kRaise, kManage, kClear, kProcedure };
// Procedure stages of events.md §4.
enum class Stage : uint8_t {
  kNone,
  kPaymentOrder,
  kSummons,
  kJudgmentTermination,
  kOrderToLeave,
  kPoliceRequested,
  kPoliceRefused,
  kPoliceGranted,
  kClosed
};

// Processes a household runs; each has at most one pending wake-up.
enum class Process : uint8_t {
  kRegister,
  kAccess,
  kMaintien,
  kSupport,
  kSlide,
  kDeparture,
  kArrears,
  kDifficulty,
  kAdmin,
  kFix,        // not a household process: a correction or retraction
  kTerritory,  // not a household process: a coordinator's activity
};
inline constexpr int kHouseholdProcesses = 9;

struct Objective {
  int number;
  int status;  // index into kObjectiveStatuses
};

struct Household {
  Track track = Track::kAccess;
  int number = 0;
  std::string subject;
  int territory = 0;
  int commune = 0;
  int adults = 1;
  int children = 0;
  int registered_on = 0;
  const char* source = "";
  bool active = true;  // false once the programme no longer follows the household
  bool support_consent = false;
  bool data_sharing = false;
  bool transferred = false;
  // Wake-up tokens: a scheduled wake-up only runs if its token is still current,
  // which cancels stale wake-ups without searching the agenda.
  std::array<uint32_t, kHouseholdProcesses> tokens{};

  int referrals = 0;  // referral ids are R1, R2...
  int referral_day = 0;
  int refused_referrals = 0;
  bool maintien_referral = false;
  bool pending_priority = false;

  AccessStep access_step = AccessStep::kRefer;
  int applications = 0;
  int candidate = -1;  // dwelling claimed for the application in progress
  int condition_deadline = 0;

  int home = -1;  // dwelling of the active occupancy
  Contract contract = Contract::kDirectLease;
  bool favourable_review = false;

  SupportStep support_step = SupportStep::kStart;
  EpisodeStatus episode_status = EpisodeStatus::kNone;
  int episodes = 0;  // episode ids are E1, E2...
  const char* episode_kind = "";
  const char* episode_association = "";
  int episode_last_change = 0;  // last day its status or objectives changed
  int episode_planned_end = 0;
  std::vector<Objective> objectives;  // those set in the current episode
  int objective_count = 0;            // objective ids are O1, O2... across episodes

  ArrearsStep arrears_step = ArrearsStep::kRaise;
  bool arrears_open = false;
  int arrears_cents = 0;
  int ccapex_day = -1;  // CcapexReferred of the current arrears episode
  bool need_ccapex = false;
  bool need_plan = false;
  bool need_fsl = false;
  bool procedure = false;
  Stage stage = Stage::kNone;
};

struct Dwelling {
  std::string id;
  std::string subject;
  int territory = 0;
  int commune = 0;
  int typology = 0;  // 0 = T1
  int rent_cents = 0;
  bool reserved = false;
  int occupant = -1;
  int vacant_slot = -1;  // index in the territory's vacant list, or -1
};

enum class FixKind : uint8_t {
  kSeverity,
  kDifficultyDate,
  kRetract,
  kRent,
  kAmount,
  kNotes,
  kCount,
  kTerritoryDate
};

// A correction or retraction decided when its target was emitted.
struct Fix {
  int64_t target;  // ordinal of the target event
  int owner;       // household index, or -1 - territory
  FixKind kind;
  int value;
  int effective_day;  // the target's effective day
  int floor_day;      // a corrected effectiveDate may not go before it
  const char* field;
};

struct Wakeup {
  int day;
  int64_t seq;
  int who;  // household, fix or territory index
  Process process;
  uint32_t token;
};
struct Later {
  bool operator()(const Wakeup& a, const Wakeup& b) const {
    return a.day != b.day ? a.day > b.day : a.seq > b.seq;
  }
};

struct SimStats {
  GenStats gen;
  int64_t territory_events = 0;  // not scaled with households
};

class Simulation {
 public:
  Simulation(const GenOptions& options, double scale, std::ostream* out)
      : options_(options),
        scale_(scale),
        rng_(options.seed),
        emitter_(options.seed, out),
        start_day_(FirstOfJanuary(options.start_year)),
        end_day_(FirstOfJanuary(options.start_year + options.years)),
        today_(start_day_),
        serials_(kCommuneCount, 0) {}

  SimStats Run();

 private:
  // Plumbing.
  void Schedule(int who, Process process, int day);
  void Cancel(int who, Process process);
  void Dispatch(const Wakeup& wakeup);
  int64_t Emit(std::string_view type, std::string_view subject, int effective_day,
               const Extras& extras = {});
  // The data object of the next Emit, begun; Emit ends it.
  JsonWriter& Data() {
    data_.Clear();
    return data_.BeginObject();
  }
  int Late(double probability, int floor_day);
  void PlanFix(int64_t target, int owner, FixKind kind, int value, int effective_day, int floor_day,
               const char* field = "");
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return rng_.Pick(items);
  }

  // Population.
  void PlanArrivals();
  void RegisterStock();
  int PickCommune(int territory);
  int TypologyFor(const Household& h);
  int NewDwelling(int territory, int commune, int typology, int effective_day, bool may_reserve);
  void AddVacant(int dwelling);
  void RemoveVacant(int dwelling);
  int ClaimDwelling(int who);
  void MoveIn(int who, int dwelling, Contract contract);
  void Vacate(int who);
  const char* Association(int territory);
  std::string Referrer(const char* source, int commune);

  // Household processes.
  void Register(int who);
  void Consent(int who, const char* purpose, bool given, int effective_day);
  void StartMaintien(int who, int home);
  void DecideMaintienReferral(int who);
  void AccessFlow(int who);
  void Refer(int who);
  void DecideReferral(int who);
  void Apply(int who);
  void RecordCalDecision(int who);
  void ResolveCondition(int who);
  void AnswerOffer(int who);
  void ApplyAgain(int who);
  void StartOccupancy(int who);
  void Support(int who);
  void StartEpisode(int who);
  void SetObjectives(int who, int count);
  void ReviewEpisode(int who);
  void ResumeEpisode(int who);
  void CloseEpisode(int who, const char* reason);
  void Slide(int who);
  void Depart(int who);
  void Arrears(int who);
  void RaiseArrears(int who);
  void ManageArrears(int who);
  void ClearArrears(int who);
  void ProcedureStep(int who);
  void RecordStep(int who, const char* step, Stage next, int hearing_day = -1);
  void EndProcedure(int who, const char* step);
  void Evict(int who);
  void ReportDifficulty(int who);
  void Admin(int who);

  // Not household processes.
  void ApplyFix(const Fix& fix);
  void TerritoryActivity(int territory);

  const GenOptions& options_;
  const double scale_;
  Rng rng_;
  Emitter emitter_;
  JsonWriter data_;
  const int start_day_;
  const int end_day_;  // first day after the simulated period
  int today_;
  int64_t next_seq_ = 0;
  int64_t territory_events_ = 0;
  std::priority_queue<Wakeup, std::vector<Wakeup>, Later> agenda_;
  std::vector<Household> households_;
  std::vector<Dwelling> dwellings_;
  std::array<std::vector<int>, 3> vacant_;  // per territory, dwellings free to offer
  std::vector<int> serials_;                // per commune, last dwelling number
  std::vector<Fix> fixes_;
  int registered_ = 0;
};

}  // namespace relais::tools::gen

#endif  // RELAIS_TOOLS_GENERATE_SIMULATION_H_
